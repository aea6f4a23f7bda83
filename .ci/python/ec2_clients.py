"""Unmodified EC2 clients against deltacloudd's /ec2 (issue 4).

Usage: python ec2_clients.py http://127.0.0.1:PORT/ec2

Runs boto3 (SigV4 and SigV2), aws-cli and libcloud through the mock backend's whole lifecycle,
plus the rejections clients must see. Prints one line per check and a closing
"ec2-clients: N passed, N failed" line; exits non-zero on any failure.
"""

import base64
import json
import os
import subprocess
import sys
import time
import traceback
import urllib.request

import boto3
import botocore
from botocore.config import Config

ENDPOINT = sys.argv[1]
USER, PASSWORD = "mockuser", "mockpassword"
RESULTS = []


def check(fn):
    try:
        fn()
        RESULTS.append((fn.__name__, None))
        print(f"ok   {fn.__name__}", flush=True)
    except Exception:  # noqa: BLE001 - report every failure and keep going
        RESULTS.append((fn.__name__, traceback.format_exc()))
        print(f"FAIL {fn.__name__}\n{traceback.format_exc()}", flush=True)
    return fn


def client(secret=PASSWORD, key=USER, region="us-east-1", **cfg):
    return boto3.client(
        "ec2",
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **cfg),
    )


def error_of(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("expected an error")


EC2 = client()


@check
def boto3_regions_and_zones():
    regions = EC2.describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["us-east-1"], regions
    zones = EC2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us", "eu"], zones
    assert all(z["State"] == "available" for z in zones)
    one = EC2.describe_availability_zones(ZoneNames=["eu"])["AvailabilityZones"]
    assert [z["ZoneName"] for z in one] == ["eu"]


@check
def boto3_images_with_owners_ids_and_filters():
    ids = [i["ImageId"] for i in EC2.describe_images()["Images"]]
    assert ids == ["img1", "img2", "img3"], ids
    mine = EC2.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in mine] == ["img3"], mine
    arch = EC2.describe_images(Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"]
    assert [i["ImageId"] for i in arch] == ["img1"], arch
    one = EC2.describe_images(ImageIds=["img2"])["Images"]
    assert one[0]["State"] == "available" and one[0]["Architecture"] == "i386"
    assert error_of(lambda: EC2.describe_images(ImageIds=["img9"])) == ("InvalidAMIID.NotFound", 400)


@check
def boto3_instance_lifecycle_with_waiters_and_tags():
    r = EC2.run_instances(
        ImageId="img1",
        MinCount=1,
        MaxCount=1,
        InstanceType="m1-large",
        Placement={"AvailabilityZone": "eu"},
        UserData="echo hello",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "b3"}]}],
    )
    inst = r["Instances"][0]
    iid = inst["InstanceId"]
    assert inst["InstanceType"] == "m1-large" and inst["Placement"]["AvailabilityZone"] == "eu"
    assert {"Key": "Name", "Value": "b3"} in inst["Tags"]
    EC2.get_waiter("instance_exists").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    EC2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    by_tag = EC2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["b*"]}])
    assert [i["InstanceId"] for res in by_tag["Reservations"] for i in res["Instances"]] == [iid]
    stop = EC2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stop["PreviousState"]["Name"] == "running" and stop["CurrentState"]["Code"] in (64, 80)
    EC2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    start = EC2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert start["PreviousState"]["Code"] == 80 and start["CurrentState"]["Code"] in (0, 16)
    EC2.reboot_instances(InstanceIds=[iid])
    status = EC2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert status[0]["InstanceState"]["Name"] == "running", status
    attr = EC2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")
    assert attr["InstanceType"]["Value"] == "m1-large"
    term = EC2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert term["PreviousState"]["Name"] == "running" and term["CurrentState"]["Code"] in (32, 48)
    EC2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 10})


@check
def boto3_describe_ids_filters_and_paginator():
    r = EC2.describe_instances(InstanceIds=["inst0", "inst2"])
    got = [i["InstanceId"] for res in r["Reservations"] for i in res["Instances"]]
    assert got == ["inst0", "inst2"], got
    running = EC2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}, {"Name": "availability-zone", "Values": ["us"]}]
    )
    got = [i["InstanceId"] for res in running["Reservations"] for i in res["Instances"]]
    assert got == ["inst0", "inst1", "inst2"], got
    pages = list(EC2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    seen = [i["InstanceId"] for p in pages for res in p["Reservations"] for i in res["Instances"]]
    assert seen[:4] == ["inst0", "inst1", "inst2", "inst3"], seen
    # Force several pages with MaxResults 5 on a longer list.
    extra = EC2.run_instances(ImageId="img2", MinCount=3, MaxCount=3)["Instances"]
    pages = list(EC2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    seen = [i["InstanceId"] for p in pages for res in p["Reservations"] for i in res["Instances"]]
    assert len(pages) >= 2 and len(seen) == len(set(seen)) and {"inst0", "inst3"} <= set(seen), (len(pages), seen)
    EC2.terminate_instances(InstanceIds=[i["InstanceId"] for i in extra])
    code = error_of(lambda: EC2.describe_instances(InstanceIds=["inst99"]))
    assert code == ("InvalidInstanceID.NotFound", 400), code


@check
def boto3_key_pairs():
    k = EC2.create_key_pair(KeyName="b3key")
    assert k["KeyName"] == "b3key" and "BEGIN" in k["KeyMaterial"]
    EC2.get_waiter("key_pair_exists").wait(KeyNames=["b3key"], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error_of(lambda: EC2.create_key_pair(KeyName="b3key")) == ("InvalidKeyPair.Duplicate", 400)
    pub = b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 test@example\n"
    imp = EC2.import_key_pair(KeyName="b3imported", PublicKeyMaterial=pub)
    assert imp["KeyName"] == "b3imported"
    names = [k["KeyName"] for k in EC2.describe_key_pairs()["KeyPairs"]]
    assert {"test-key", "b3key", "b3imported"} <= set(names), names
    EC2.delete_key_pair(KeyName="b3key")
    EC2.delete_key_pair(KeyName="b3imported")
    EC2.delete_key_pair(KeyName="never-existed")
    assert error_of(lambda: EC2.describe_key_pairs(KeyNames=["b3key"])) == ("InvalidKeyPair.NotFound", 400)


@check
def boto3_volumes_attach_detach_and_snapshots():
    v = EC2.create_volume(
        AvailabilityZone="us",
        Size=2,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}],
    )
    vid = v["VolumeId"]
    assert v["Size"] == 2
    EC2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    a = EC2.attach_volume(VolumeId=vid, InstanceId="inst0", Device="/dev/sdf")
    assert a["State"] == "attached" and a["InstanceId"] == "inst0"
    EC2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    vol = EC2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert vol["Attachments"][0]["Device"] == "/dev/sdf" and {"Key": "Name", "Value": "data"} in vol["Tags"]
    d = EC2.detach_volume(VolumeId=vid)
    assert d["State"] == "detached"
    s = EC2.create_snapshot(VolumeId=vid, Description="nightly")
    sid = s["SnapshotId"]
    EC2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    snaps = EC2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vid]}])["Snapshots"]
    assert [x["SnapshotId"] for x in snaps] == [sid], snaps
    EC2.delete_snapshot(SnapshotId=sid)
    EC2.delete_volume(VolumeId=vid)
    assert error_of(lambda: EC2.describe_volumes(VolumeIds=[vid])) == ("InvalidVolume.NotFound", 400)


@check
def boto3_addresses():
    a = EC2.allocate_address()
    ip = a["PublicIp"]
    assoc = EC2.associate_address(InstanceId="inst1", AllocationId=a["AllocationId"])
    got = EC2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert got["InstanceId"] == "inst1", got
    EC2.disassociate_address(AssociationId=assoc["AssociationId"])
    assert "InstanceId" not in EC2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    EC2.release_address(AllocationId=a["AllocationId"])
    assert error_of(lambda: EC2.describe_addresses(PublicIps=[ip])) == ("InvalidAddress.NotFound", 400)


@check
def boto3_tags():
    EC2.create_tags(Resources=["inst0", "img1"], Tags=[{"Key": "env", "Value": "ci"}])
    tags = EC2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert {(t["ResourceId"], t["ResourceType"]) for t in tags} == {("inst0", "instance"), ("img1", "image")}, tags
    EC2.delete_tags(Resources=["inst0", "img1"], Tags=[{"Key": "env"}])
    assert EC2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"] == []


@check
def boto3_security_groups_answer_unsupported_on_the_mock():
    # The mock backend has no firewalls (mock-driver.md 2.12): every security-group action is
    # UnsupportedOperation, never a 500.
    assert error_of(lambda: EC2.describe_security_groups()) == ("UnsupportedOperation", 400)
    assert error_of(lambda: EC2.create_security_group(GroupName="web", Description="d")) == ("UnsupportedOperation", 400)


@check
def boto3_images_create_and_deregister():
    img = EC2.create_image(InstanceId="inst1", Name="b3image")["ImageId"]
    EC2.get_waiter("image_available").wait(ImageIds=[img], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    EC2.deregister_image(ImageId=img)
    assert error_of(lambda: EC2.describe_images(ImageIds=[img])) == ("InvalidAMIID.NotFound", 400)


@check
def boto3_sigv2():
    v2 = client(signature_version="v2")
    assert [z["ZoneName"] for z in v2.describe_availability_zones()["AvailabilityZones"]] == ["us", "eu"]
    bad = client(secret="nope", signature_version="v2")
    assert error_of(bad.describe_regions) == ("SignatureDoesNotMatch", 403)


@check
def rejections():
    assert error_of(client(secret="wrong").describe_regions) == ("SignatureDoesNotMatch", 403)
    assert error_of(client(key="AKIDUNKNOWN").describe_regions) == ("AuthFailure", 401)
    assert error_of(client(region="eu-west-9").describe_regions)[0] == "AuthFailure"
    assert error_of(lambda: EC2.describe_instances(DryRun=True)) == ("DryRunOperation", 412)

    # A request signed an hour ago: botocore takes the signing time from this function.
    import datetime

    import botocore.auth as bauth

    real = bauth.get_current_datetime
    bauth.get_current_datetime = lambda *a, **k: real(*a, **k) - datetime.timedelta(hours=1)
    try:
        assert error_of(client().describe_regions) == ("RequestExpired", 400)
    finally:
        bauth.get_current_datetime = real


@check
def unknown_action_is_invalid_action():
    # botocore only sends actions it knows; sign an unknown one by hand with botocore's signer.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=ENDPOINT + "/", data="Action=FlyToTheMoon&Version=2016-11-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(USER, PASSWORD), "ec2", "us-east-1").add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body,
                               headers=dict(prepared.headers), method="POST")
    try:
        urllib.request.urlopen(r)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        assert e.code == 400 and "<Code>InvalidAction</Code>" in body, (e.code, body)


def aws(*args, secret=PASSWORD, check_rc=True):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=USER, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1")
    p = subprocess.run(["aws", "ec2", *args, "--endpoint-url", ENDPOINT, "--output", "json"],
                       capture_output=True, text=True, env=env, timeout=120)
    if check_rc:
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        return json.loads(p.stdout) if p.stdout.strip() else {}
    return p


@check
def awscli_lifecycle():
    assert [r["RegionName"] for r in aws("describe-regions")["Regions"]] == ["us-east-1"]
    assert len(aws("describe-availability-zones")["AvailabilityZones"]) == 2
    assert len(aws("describe-images", "--owners", "self")["Images"]) == 1
    run = aws("run-instances", "--image-id", "img3", "--count", "1", "--instance-type", "m1-small",
              "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=cli}]")
    iid = run["Instances"][0]["InstanceId"]
    got = aws("describe-instances", "--instance-ids", iid)
    assert got["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    filt = aws("describe-instances", "--filters", "Name=tag:Name,Values=cli")
    assert [i["InstanceId"] for r in filt["Reservations"] for i in r["Instances"]] == [iid]
    paged = aws("describe-instances", "--page-size", "5")
    assert iid in [i["InstanceId"] for r in paged["Reservations"] for i in r["Instances"]]
    assert aws("stop-instances", "--instance-ids", iid)["StoppingInstances"][0]["CurrentState"]["Name"] in ("stopping", "stopped")
    aws("wait", "instance-stopped", "--instance-ids", iid)
    assert aws("start-instances", "--instance-ids", iid)["StartingInstances"][0]["PreviousState"]["Name"] == "stopped"
    aws("reboot-instances", "--instance-ids", iid)
    aws("create-key-pair", "--key-name", "clikey")
    aws("delete-key-pair", "--key-name", "clikey")
    vol = aws("create-volume", "--availability-zone", "us", "--size", "1")["VolumeId"]
    aws("attach-volume", "--volume-id", vol, "--instance-id", iid, "--device", "/dev/sdg")
    aws("detach-volume", "--volume-id", vol)
    snap = aws("create-snapshot", "--volume-id", vol)["SnapshotId"]
    aws("delete-snapshot", "--snapshot-id", snap)
    aws("delete-volume", "--volume-id", vol)
    ip = aws("allocate-address")["PublicIp"]
    aws("associate-address", "--instance-id", iid, "--public-ip", ip)
    aws("disassociate-address", "--public-ip", ip)
    aws("release-address", "--public-ip", ip)
    aws("create-tags", "--resources", iid, "--tags", "Key=team,Value=ops")
    assert aws("describe-tags", "--filters", f"Name=resource-id,Values={iid}")["Tags"][0]["Value"] in ("ops", "cli")
    term = aws("terminate-instances", "--instance-ids", iid)
    assert term["TerminatingInstances"][0]["CurrentState"]["Name"] in ("shutting-down", "terminated")
    aws("wait", "instance-terminated", "--instance-ids", iid)


@check
def awscli_rejections():
    p = aws("describe-regions", secret="wrong", check_rc=False)
    assert p.returncode == 255 and "SignatureDoesNotMatch" in p.stderr, (p.returncode, p.stderr)
    p = aws("describe-instances", "--instance-ids", "inst42", check_rc=False)
    assert p.returncode == 255 and "InvalidInstanceID.NotFound" in p.stderr, p.stderr


def libcloud_driver(version):
    from libcloud.compute.drivers.ec2 import EC2NodeDriver

    host, port = ENDPOINT.split("//", 1)[1].split("/", 1)[0].split(":")

    class GatewayEC2(EC2NodeDriver):
        path = "/ec2/"
        signature_version = version

    return GatewayEC2(USER, PASSWORD, region="us-east-1", host=host, port=int(port), secure=False)


@check
def libcloud_sigv4_and_sigv2():
    for version in ("4", "2"):
        d = libcloud_driver(version)
        nodes = d.list_nodes()
        assert {"inst0", "inst1"} <= {n.id for n in nodes}, [n.id for n in nodes]
        assert {i.id for i in d.list_images(ex_owner="self")} == {"img3"}
        assert [z.name for z in d.ex_list_availability_zones()] == ["us", "eu"]
        keys = [k.name for k in d.list_key_pairs()]
        assert "test-key" in keys, keys
    d = libcloud_driver("4")
    img = [i for i in d.list_images(ex_image_ids=["img1"])][0]
    from libcloud.compute.base import NodeSize
    from libcloud.compute.types import NodeState

    # libcloud's size list is Amazon's static catalogue; name the gateway's profile directly.
    size = NodeSize("m1-small", "m1-small", 1740, 160, 0, 0, d)

    node = d.create_node(name="lc", image=img, size=size, ex_mincount=1, ex_maxcount=1)
    assert node.state == NodeState.RUNNING, node.state
    assert d.ex_stop_node(node)
    assert d.ex_start_node(node)
    assert d.reboot_node(node)
    assert d.destroy_node(node)


def main():
    failed = [n for n, err in RESULTS if err]
    print(f"ec2-clients: {len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
