"""boto3 -> deltacloudd /ec2 -> the ec2 backend -> moto, end to end (issue 6).

Usage: python boto3_e2e.py GATEWAY_EC2_URL ACCESS_KEY SECRET MOTO_URL BACKEND_KEY BACKEND_SECRET

The gateway runs `-i ec2 -P $MOTO_URL -f ec2,deltacloud`; ACCESS_KEY is a key of the gateway's
EC2 credential store whose backend identity is BACKEND_KEY (a key pair moto accepts). Metrics
are checked through the gateway's /api after putting CloudWatch data into moto directly. Prints one `ok`/`not ok` line per
check and a summary; exits non-zero on any failure.
"""

import base64
import json
import sys
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
moto_url, backend_key, backend_secret = sys.argv[4], sys.argv[5], sys.argv[6]
api_url = url.rsplit("/ec2", 1)[0] + "/api"
results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok   {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        results.append((name, e))
        print(f"not ok {name}: {e!r}", flush=True)


def client(secret_key=secret):
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}),
    )


ec2 = client()
state = {}
tag = uuid.uuid4().hex[:8]


def zones_and_images():
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert "us-east-1a" in zones, zones
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert images, "moto ships Amazon images"
    state["image"] = images[0]["ImageId"]


def run_and_describe():
    r = ec2.run_instances(
        ImageId=state["image"],
        MinCount=1,
        MaxCount=1,
        InstanceType="m1.small",
        Placement={"AvailabilityZone": "us-east-1a"},
    )
    iid = r["Instances"][0]["InstanceId"]
    state["instance"] = iid
    found = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
    ids = [i["InstanceId"] for res in found for i in res["Instances"]]
    assert ids == [iid], ids
    # The ec2 driver's realms are `zone:subnet` for instances in a VPC subnet (drivers.md);
    # moto launches into the default VPC.
    zone = found[0]["Instances"][0]["Placement"]["AvailabilityZone"]
    assert zone.split(":")[0] == "us-east-1a", zone


def instance_state():
    r = ec2.describe_instances(InstanceIds=[state["instance"]])
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


def stop_start_reboot():
    ec2.stop_instances(InstanceIds=[state["instance"]])
    ec2.get_waiter("instance_stopped").wait(
        InstanceIds=[state["instance"]], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    ec2.start_instances(InstanceIds=[state["instance"]])
    ec2.get_waiter("instance_running").wait(
        InstanceIds=[state["instance"]], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    ec2.reboot_instances(InstanceIds=[state["instance"]])
    assert instance_state() == "running", instance_state()


def key_pairs():
    name = f"e2e-{tag}"
    created = ec2.create_key_pair(KeyName=name)
    assert created["KeyName"] == name and "BEGIN" in created["KeyMaterial"]
    names = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    assert name in names, names
    ec2.delete_key_pair(KeyName=name)
    names = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    assert name not in names, names


def volume():
    v = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
    vid = v["VolumeId"]
    vols = [x["VolumeId"] for x in ec2.describe_volumes(VolumeIds=[vid])["Volumes"]]
    assert vols == [vid], vols
    ec2.delete_volume(VolumeId=vid)


def security_group():
    name = f"e2e-sg-{tag}"
    g = ec2.create_security_group(GroupName=name, Description="boto3 end to end")
    groups = ec2.describe_security_groups(GroupNames=[name])["SecurityGroups"]
    assert [x["GroupName"] for x in groups] == [name], groups
    ec2.delete_security_group(GroupId=g["GroupId"])


def address():
    a = ec2.allocate_address()
    ip = a["PublicIp"]
    ips = [x["PublicIp"] for x in ec2.describe_addresses()["Addresses"]]
    assert ip in ips, ips
    ec2.release_address(PublicIp=ip)


def api_get(path):
    req = urllib.request.Request(api_url + path, headers={"Accept": "application/json"})
    token = base64.b64encode(f"{backend_key}:{backend_secret}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def metrics_from_cloudwatch():
    cw = boto3.client(
        "cloudwatch",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=backend_key,
        aws_secret_access_key=backend_secret,
    )
    iid = state["instance"]
    cw.put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": iid}],
                "Value": v,
                "Unit": "Percent",
            }
            for v in (10.0, 30.0)
        ],
    )
    listed = api_get("/metrics")
    ids = [m["id"] for m in listed["metrics"]]
    assert iid in ids, listed
    shown = api_get(f"/metrics/{iid}")
    text = json.dumps(shown)
    assert "CPUUtilization" in text, shown
    assert "30" in text and "10" in text, shown


def terminate():
    ec2.terminate_instances(InstanceIds=[state["instance"]])
    assert instance_state() in ("shutting-down", "terminated"), instance_state()


def wrong_secret():
    try:
        client("not-the-secret").describe_availability_zones()
    except ClientError as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (code, status) == ("SignatureDoesNotMatch", 403), (code, status)
        return
    raise AssertionError("a wrong secret was accepted")


check("zones_and_images", zones_and_images)
check("run_and_describe", run_and_describe)
check("stop_start_reboot", stop_start_reboot)
check("key_pairs", key_pairs)
check("volume", volume)
check("security_group", security_group)
check("address", address)
check("metrics_from_cloudwatch", metrics_from_cloudwatch)
check("terminate", terminate)
check("wrong_secret", wrong_secret)

failed = [n for n, e in results if e is not None]
print(f"boto3-e2e: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
