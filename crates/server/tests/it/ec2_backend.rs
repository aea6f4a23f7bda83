//! The ec2 backend end to end: the real `deltacloudd -i ec2 -P <endpoint URL>`.
//!
//! * Against **moto** (a local EC2 emulator; `.ci/moto/run.sh` installs a pinned `moto[server]`,
//!   starts it on a loopback port and sets `MOTO_URL`): instance lifecycle, volumes, snapshots,
//!   keys, addresses and firewalls through `/api`, machines through `/cimi`, and `/ec2` (our
//!   gateway's EC2 API → the ec2 backend → moto). Without `MOTO_URL` these tests print a skip
//!   note and return. moto keeps one state for the whole run and tests run in parallel, so every
//!   test uses names of its own and never assumes an empty cloud.
//! * Against **misbehaving servers** (testkit): a hanging, refusing, failing or babbling
//!   provider gives 504/502 in each frontend's format within the configured timeout, and the
//!   gateway keeps serving. These need nothing and always run.

use crate::common::{Resp, client, send, xml};
use deltacloud_testkit::{Fault, FaultServer, refused_url};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Any key pair works with moto; the secret only has to sign consistently.
pub(crate) const KEY: &str = "AKIDEC2BACKENDTEST";
pub(crate) const SECRET: &str = "ec2-backend-test-secret";

/// The emulator's URL, or `None` (with a note) when the tests run without one.
pub(crate) fn moto_url(test: &str) -> Option<String> {
    match std::env::var("MOTO_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_owned()),
        _ => {
            eprintln!(
                "SKIP {test}: MOTO_URL is not set (run .ci/moto/run.sh to test against moto)"
            );
            None
        }
    }
}

/// A name no other test (or earlier run against the same moto) uses.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// `deltacloudd -i ec2 -P <provider> -t <timeout>` on an ephemeral port. (The shared harness
/// always passes `-i mock`, and `-i` may be given once only.)
pub(crate) struct Server {
    child: Child,
    base: String,
    _tmp: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start(provider: &str, timeout_secs: u32) -> Self {
        Self::start_driver("ec2", provider, timeout_secs)
    }

    /// `deltacloudd -i <driver> -P <provider> -t <timeout>` (the rhevm tests use it too).
    pub(crate) fn start_driver(driver: &str, provider: &str, timeout_secs: u32) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_deltacloudd"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOSTNAME", "testhost")
            .env("RUST_LOG", "warn")
            .args([
                "-i",
                driver,
                "-P",
                provider,
                "-t",
                &timeout_secs.to_string(),
            ])
            .args(["-f", "deltacloud,cimi,ec2"])
            .args(["-p", "0", "-r", "127.0.0.1", "--data-dir"])
            .arg(tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("deltacloudd -i {driver} did not start: {e}"));
        Self {
            child,
            base,
            _tmp: tmp,
        }
    }

    /// The server process's id (for reading `/proc/<pid>/status`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn api(s: &Server, method: &str, path: &str, form: &[(&str, &str)]) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client()
        .request(m, s.url(path))
        .header("Accept", "application/json")
        .basic_auth(KEY, Some(SECRET));
    if !form.is_empty() {
        rb = rb.form(form);
    }
    send(rb)
}

pub(crate) fn api_ok(
    s: &Server,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    status: u16,
) -> Value {
    let r = api(s, method, path, form);
    assert_eq!(r.status, status, "{method} {path}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn cimi(s: &Server, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client()
        .request(m, s.url(path))
        .header("Accept", "application/json")
        .basic_auth(KEY, Some(SECRET));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    send(rb)
}

fn ec2(s: &Server, params: &[(&str, &str)]) -> Resp {
    let mut all = vec![("Version", "2016-11-15")];
    all.extend_from_slice(params);
    send(
        client()
            .post(s.url("/ec2"))
            .basic_auth(KEY, Some(SECRET))
            .form(&all),
    )
}

/// Texts of every element named `name` anywhere in the document.
fn texts(body: &str, name: &str) -> Vec<String> {
    xml(body)
        .descendants()
        .filter(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect()
}

/// Poll `f` until it returns `Some`, for up to ~10 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// An Amazon-owned machine image moto ships.
fn some_image(s: &Server) -> String {
    let j = api_ok(s, "GET", "/api/images?owner_id=amazon", &[], 200);
    j["images"][0]["id"].as_str().expect("an image").to_owned()
}

fn instance_state(s: &Server, id: &str) -> String {
    let j = api_ok(s, "GET", &format!("/api/instances/{id}"), &[], 200);
    j["instance"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn run_instance(s: &Server, image: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![
        ("image_id", image),
        ("hwp_id", "m1.small"),
        ("realm_id", "us-east-1a"),
    ];
    form.extend_from_slice(extra);
    api_ok(s, "POST", "/api/instances", &form, 201)
}

// ---------------------------------------------------------------------------------------------
// moto through /api

#[test]
fn api_instance_lifecycle_against_moto() {
    let Some(moto) = moto_url("api_instance_lifecycle_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let key = unique("lifecycle-key");
    let k = api_ok(&s, "POST", "/api/keys", &[("name", key.as_str())], 201);
    assert!(
        k["key"]["pem_rsa_key"]
            .as_str()
            .is_some_and(|p| p.contains("PRIVATE KEY")),
        "{k}"
    );
    let image = some_image(&s);
    let created = run_instance(
        &s,
        &image,
        &[
            ("keyname", key.as_str()),
            ("user_data", "aGVsbG8gd29ybGQ="),
            ("firewalls1", "default"),
        ],
    );
    let inst = &created["instance"];
    let id = inst["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("i-"), "{created}");
    assert_eq!(inst["authentication"]["keyname"], key.as_str());
    assert!(
        inst["realm"]["id"]
            .as_str()
            .is_some_and(|r| r.starts_with("us-east-1a")),
        "{created}"
    );
    assert_eq!(inst["firewalls"][0]["id"], "default");
    assert_eq!(inst["hardware_profile"]["id"], "m1.small");

    eventually("the instance to run", || {
        (instance_state(&s, &id) == "RUNNING").then_some(())
    });
    // The XML form of the same instance.
    let r = send(
        client()
            .get(s.url(&format!("/api/instances/{id}")))
            .header("Accept", "application/xml")
            .basic_auth(KEY, Some(SECRET)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(texts(&r.body, "state"), ["RUNNING"]);

    // Action answers are the bare instance in JSON.
    let j = api_ok(&s, "POST", &format!("/api/instances/{id}/stop"), &[], 202);
    assert!(
        ["STOPPING", "STOPPED"].contains(&j["state"].as_str().unwrap_or("")),
        "{j}"
    );
    eventually("the instance to stop", || {
        (instance_state(&s, &id) == "STOPPED").then_some(())
    });
    // Stopped: no reboot (405 from the state machine, before any provider call).
    assert_eq!(
        api(&s, "POST", &format!("/api/instances/{id}/reboot"), &[]).status,
        405
    );
    api_ok(&s, "POST", &format!("/api/instances/{id}/start"), &[], 202);
    eventually("the instance to run again", || {
        (instance_state(&s, &id) == "RUNNING").then_some(())
    });
    let j = api_ok(&s, "POST", &format!("/api/instances/{id}/reboot"), &[], 202);
    assert_eq!(j["id"], id.as_str(), "{j}");
    api_ok(&s, "DELETE", &format!("/api/instances/{id}"), &[], 204);
    eventually("the instance to be terminated", || {
        let st = instance_state(&s, &id);
        (st == "FINISH" || st == "SHUTTING_DOWN").then_some(())
    });

    // instance_count=2 starts two.
    let two = api(
        &s,
        "POST",
        "/api/instances",
        &[
            ("image_id", image.as_str()),
            ("instance_count", "2"),
            ("hwp_id", "m1.small"),
        ],
    );
    assert!(two.status == 201 || two.status == 202, "{}", two.body);
    let mut started: Vec<&str> = two
        .body
        .split("\"i-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    started.sort_unstable();
    started.dedup();
    assert_eq!(started.len(), 2, "{}", two.body);

    api_ok(&s, "DELETE", &format!("/api/keys/{key}"), &[], 204);
    assert_eq!(api(&s, "GET", &format!("/api/keys/{key}"), &[]).status, 404);
    assert_eq!(
        api(&s, "GET", "/api/instances/i-0000000000000dead", &[]).status,
        404
    );
}

#[test]
fn api_volumes_and_snapshots_against_moto() {
    let Some(moto) = moto_url("api_volumes_and_snapshots_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let v = api_ok(
        &s,
        "POST",
        "/api/storage_volumes",
        &[("capacity", "2"), ("realm_id", "us-east-1a")],
        201,
    );
    let vol = v["storage_volume"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["storage_volume"]["capacity"], "2", "{v}");
    let vstate = |s: &Server| {
        api_ok(s, "GET", &format!("/api/storage_volumes/{vol}"), &[], 200)["storage_volume"]
            ["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    eventually("the volume to be available", || {
        (vstate(&s) == "AVAILABLE").then_some(())
    });

    let image = some_image(&s);
    let inst = run_instance(&s, &image, &[]);
    let iid = inst["instance"]["id"].as_str().unwrap().to_owned();
    let r = api(
        &s,
        "POST",
        &format!("/api/storage_volumes/{vol}/attach"),
        &[("instance_id", iid.as_str()), ("device", "/dev/sdh")],
    );
    assert!(r.status == 202 || r.status == 200, "{}", r.body);
    eventually("the volume to be in use", || {
        (vstate(&s) == "IN-USE").then_some(())
    });
    let r = api(
        &s,
        "POST",
        &format!("/api/storage_volumes/{vol}/detach"),
        &[],
    );
    assert!(r.status == 202 || r.status == 200, "{}", r.body);
    eventually("the volume to be available again", || {
        (vstate(&s) == "AVAILABLE").then_some(())
    });

    let snap = api_ok(
        &s,
        "POST",
        "/api/storage_snapshots",
        &[("volume_id", vol.as_str())],
        201,
    );
    let sid = snap["storage_snapshot"]["id"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("snap-"), "{snap}");
    let list = api(&s, "GET", "/api/storage_snapshots", &[]);
    assert!(
        list.body.contains(&sid),
        "own snapshots are listed: {}",
        list.body
    );
    let one = api_ok(
        &s,
        "GET",
        &format!("/api/storage_snapshots/{sid}"),
        &[],
        200,
    );
    assert_eq!(
        one["storage_snapshot"]["storage_volume"]["id"],
        vol.as_str()
    );
    api_ok(
        &s,
        "DELETE",
        &format!("/api/storage_snapshots/{sid}"),
        &[],
        204,
    );
    assert_eq!(
        api(&s, "GET", &format!("/api/storage_snapshots/{sid}"), &[]).status,
        404
    );
    api_ok(
        &s,
        "DELETE",
        &format!("/api/storage_volumes/{vol}"),
        &[],
        204,
    );
    assert_eq!(
        api(&s, "GET", &format!("/api/storage_volumes/{vol}"), &[]).status,
        404
    );
    api_ok(&s, "DELETE", &format!("/api/instances/{iid}"), &[], 204);
}

#[test]
fn api_addresses_and_firewalls_against_moto() {
    let Some(moto) = moto_url("api_addresses_and_firewalls_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);

    // Addresses: allocate, associate, disassociate, release.
    let a = api_ok(&s, "POST", "/api/addresses", &[], 201);
    let ip = a["address"]["id"].as_str().unwrap().to_owned();
    let image = some_image(&s);
    let inst = run_instance(&s, &image, &[]);
    let iid = inst["instance"]["id"].as_str().unwrap().to_owned();
    eventually("the instance to run", || {
        (instance_state(&s, &iid) == "RUNNING").then_some(())
    });
    let r = api(
        &s,
        "POST",
        &format!("/api/addresses/{ip}/associate"),
        &[("instance_id", iid.as_str())],
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    let shown = api_ok(&s, "GET", &format!("/api/addresses/{ip}"), &[], 200);
    assert_eq!(shown["address"]["instance_id"], iid.as_str(), "{shown}");
    let r = api(
        &s,
        "POST",
        &format!("/api/addresses/{ip}/disassociate"),
        &[],
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    api_ok(&s, "DELETE", &format!("/api/addresses/{ip}"), &[], 204);
    assert_eq!(
        api(&s, "GET", &format!("/api/addresses/{ip}"), &[]).status,
        404
    );
    api_ok(&s, "DELETE", &format!("/api/instances/{iid}"), &[], 204);

    // Firewalls: create, add a rule, see it, remove it, delete.
    let name = unique("fw");
    let f = api_ok(
        &s,
        "POST",
        "/api/firewalls",
        &[("name", name.as_str()), ("description", "ec2 backend test")],
        201,
    );
    assert_eq!(f["firewall"]["id"], name.as_str());
    let r = api(
        &s,
        "POST",
        &format!("/api/firewalls/{name}/rules"),
        &[
            ("protocol", "tcp"),
            ("port_from", "22"),
            ("port_to", "22"),
            ("ip_address1", "10.1.0.0/16"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let fw = api_ok(&s, "GET", &format!("/api/firewalls/{name}"), &[], 200);
    let rules = fw["firewall"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rules.len(), 1, "{fw}");
    assert_eq!(rules[0]["allow_protocol"], "tcp");
    assert_eq!(rules[0]["port_from"], "22");
    let rule_id = rules[0]["id"].as_str().unwrap().to_owned();
    assert!(
        rule_id.ends_with("~tcp~22~22~@address,ipv4,10.1.0.0,16"),
        "{rule_id}"
    );
    api_ok(
        &s,
        "DELETE",
        &format!("/api/firewalls/{name}/{rule_id}"),
        &[],
        204,
    );
    let fw = api_ok(&s, "GET", &format!("/api/firewalls/{name}"), &[], 200);
    assert_eq!(
        fw["firewall"]["rules"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "{fw}"
    );
    // A second group of the same name is refused (403, as the original's "exists" rule).
    let dup = api(
        &s,
        "POST",
        "/api/firewalls",
        &[("name", name.as_str()), ("description", "again")],
    );
    assert_eq!(dup.status, 403, "{}", dup.body);
    api_ok(&s, "DELETE", &format!("/api/firewalls/{name}"), &[], 204);
    assert_eq!(
        api(&s, "GET", &format!("/api/firewalls/{name}"), &[]).status,
        404
    );
}

// ---------------------------------------------------------------------------------------------
// moto through /cimi and /ec2

#[test]
fn cimi_machines_against_moto() {
    let Some(moto) = moto_url("cimi_machines_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let image = some_image(&s);
    let create = json!({
        "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineCreate",
        "name": "cimi-ec2",
        "machineTemplate": {
            "machineConfig": { "href": s.url("/cimi/machine_configurations/m1.small") },
            "machineImage": { "href": s.url(&format!("/cimi/machine_images/{image}")) }
        }
    });
    let r = cimi(&s, "POST", "/cimi/machines", Some(&create));
    assert_eq!(r.status, 201, "{}", r.body);
    let href = r
        .header("location")
        .map(str::to_owned)
        .or_else(|| r.json()["id"].as_str().map(str::to_owned))
        .expect("the new machine's URL");
    let id = href.rsplit('/').next().unwrap().to_owned();
    assert!(id.starts_with("i-"), "{href}");
    let state = |s: &Server| {
        let r = cimi(s, "GET", &format!("/cimi/machines/{id}"), None);
        (r.status == 200).then(|| r.json()["state"].as_str().unwrap_or("").to_owned())
    };
    eventually("the machine to start", || {
        (state(&s)? == "STARTED").then_some(())
    });
    let list = cimi(&s, "GET", "/cimi/machines", None);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&id), "{}", list.body);
    let r = cimi(
        &s,
        "POST",
        &format!("/cimi/machines/{id}/stop"),
        Some(
            &json!({"resourceURI": "http://schemas.dmtf.org/cimi/1/Action", "action": "http://schemas.dmtf.org/cimi/1/action/stop"}),
        ),
    );
    assert!(
        r.status == 202 || r.status == 200,
        "{} {}",
        r.status,
        r.body
    );
    eventually("the machine to stop", || {
        (state(&s)? == "STOPPED").then_some(())
    });
    let r = cimi(&s, "DELETE", &format!("/cimi/machines/{id}"), None);
    assert!(r.status < 300, "{} {}", r.status, r.body);
}

/// boto3-shaped EC2 calls to our `/ec2`, served by the ec2 backend from moto.
#[test]
fn ec2_frontend_end_to_end_against_moto() {
    let Some(moto) = moto_url("ec2_frontend_end_to_end_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let r = ec2(&s, &[("Action", "DescribeAvailabilityZones")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        texts(&r.body, "zoneName").contains(&"us-east-1a".to_owned()),
        "{}",
        r.body
    );
    let image = some_image(&s);
    let r = ec2(
        &s,
        &[
            ("Action", "RunInstances"),
            ("ImageId", image.as_str()),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("InstanceType", "m1.small"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = texts(&r.body, "instanceId");
    assert_eq!(ids.len(), 1, "{}", r.body);
    let id = ids[0].clone();
    let r = ec2(
        &s,
        &[
            ("Action", "DescribeInstances"),
            ("InstanceId.1", id.as_str()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(texts(&r.body, "instanceId"), std::slice::from_ref(&id));
    let r = ec2(
        &s,
        &[
            ("Action", "TerminateInstances"),
            ("InstanceId.1", id.as_str()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = ec2(
        &s,
        &[
            ("Action", "DescribeInstances"),
            ("InstanceId.1", "i-0000000000000dead"),
        ],
    );
    assert_eq!(
        texts(&r.body, "Code"),
        ["InvalidInstanceID.NotFound"],
        "{}",
        r.body
    );
}

// ---------------------------------------------------------------------------------------------
// Faults: no emulator needed

/// Each frontend's status for one provider fault, and proof the gateway still serves.
fn fault_statuses(provider: &str, timeout_secs: u32) -> (u16, u16, u16, Duration) {
    let s = Server::start(provider, timeout_secs);
    let started = Instant::now();
    let a = api(&s, "GET", "/api/realms", &[]);
    let took = started.elapsed();
    // Deltacloud error document.
    if a.status >= 500 {
        assert!(
            a.body.contains("message") || a.body.contains("error"),
            "{}",
            a.body
        );
    }
    let c = cimi(&s, "GET", "/cimi/machines", None);
    let e = ec2(&s, &[("Action", "DescribeAvailabilityZones")]);
    if e.status >= 500 {
        assert_eq!(
            texts(&e.body, "Code").len(),
            1,
            "an EC2 error document: {}",
            e.body
        );
    }
    // Still serving: a call that needs no provider.
    let ok = api(&s, "GET", "/api/hardware_profiles", &[]);
    assert_eq!(ok.status, 200, "{}", ok.body);
    (a.status, c.status, e.status, took)
}

#[test]
fn a_hanging_provider_is_504_within_the_timeout() {
    let hang = FaultServer::start(Fault::Hang).unwrap();
    let (a, c, e, took) = fault_statuses(&hang.base_url(), 1);
    assert_eq!((a, c), (504, 504));
    // /ec2 reports every provider failure as EC2's own 503 Unavailable.
    assert_eq!(e, 503);
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn refused_failing_and_garbage_providers_are_502() {
    let refused = refused_url().unwrap();
    let boom = FaultServer::start(Fault::Status(500, "<html>oops</html>".into())).unwrap();
    let junk = FaultServer::start(Fault::Garbage).unwrap();
    let bad = FaultServer::start(Fault::Undecodable).unwrap();
    for url in [refused, boom.base_url(), junk.base_url(), bad.base_url()] {
        let (a, c, e, took) = fault_statuses(&url, 2);
        assert_eq!((a, c, e), (502, 502, 503), "{url}");
        assert!(took < Duration::from_secs(3), "{url}: {took:?}");
    }
}

#[test]
fn provider_auth_failure_is_401_everywhere() {
    let body = "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>x</RequestID></Response>";
    let denied = FaultServer::start(Fault::Status(401, body.into())).unwrap();
    let (a, c, e, _) = fault_statuses(&denied.base_url(), 2);
    assert_eq!((a, c, e), (401, 401, 401));
}

#[test]
fn a_throttling_provider_is_503_with_its_message_everywhere() {
    let body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>";
    let slow_down = FaultServer::start(Fault::Status(503, body.into())).unwrap();
    let s = Server::start(&slow_down.base_url(), 1);
    let a = api(&s, "GET", "/api/realms", &[]);
    assert_eq!(a.status, 503, "{}", a.body);
    // Index routes carry the status's generic message (§7.3); member routes the provider's.
    let a = api(&s, "GET", "/api/realms/us-east-1a", &[]);
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.body.contains("Request limit exceeded."), "{}", a.body);
    let c = cimi(&s, "GET", "/cimi/machines", None);
    assert_eq!(c.status, 503, "{}", c.body);
    assert!(c.body.contains("Request limit exceeded."), "{}", c.body);
    let e = ec2(&s, &[("Action", "DescribeAvailabilityZones")]);
    assert_eq!(e.status, 503, "{}", e.body);
    assert_eq!(
        texts(&e.body, "Code"),
        ["RequestLimitExceeded"],
        "{}",
        e.body
    );
    assert_eq!(texts(&e.body, "Message"), ["Request limit exceeded."]);
}
