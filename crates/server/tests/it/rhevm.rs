//! The rhevm driver end to end: the real `deltacloudd -i rhevm -P '<engine>/ovirt-engine/api;DC'`
//! in front of the stateful fake oVirt engine (`deltacloud_testkit::ovirt`, answers shaped
//! like the recorded v4 inventory). The scenario the project was first presented with: EC2 and
//! CIMI tooling against an oVirt engine, where availability zones are clusters, images are
//! templates and instances are VMs; then `/api`, and the engine's faults in each frontend's
//! format.

use crate::common::{Resp, client, send, xml};
use crate::ec2_backend::Server;
use deltacloud_testkit::ovirt::{self as fake, FakeEngine};
use serde_json::{Value, json};
use std::time::Duration;

const USER: &str = fake::USER;
const PASSWORD: &str = fake::PASSWORD;

/// `deltacloudd -i rhevm -P <engine>;<dc> -t 2` on an ephemeral port, in front of a fresh
/// fake engine.
fn start() -> (FakeEngine, Server) {
    let engine = FakeEngine::start().unwrap();
    let server = Server::start_driver("rhevm", &engine.provider(), 2);
    (engine, server)
}

/// Texts of every element named `name` anywhere in the document.
fn texts(body: &str, name: &str) -> Vec<String> {
    let doc = xml(body);
    doc.descendants()
        .filter(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect()
}

/// Poll `f` until it returns `Some`, for up to ~5 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..50 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

// ---------------------------------------------------------------------------------------------
// /ec2

fn ec2_as(s: &Server, user: &str, password: &str, params: &[(&str, &str)]) -> Resp {
    let mut all = vec![("Version", "2016-11-15")];
    all.extend_from_slice(params);
    send(
        client()
            .post(s.url("/ec2"))
            .basic_auth(user, Some(password))
            .form(&all),
    )
}

fn ec2(s: &Server, params: &[(&str, &str)]) -> Resp {
    ec2_as(s, USER, PASSWORD, params)
}

fn ec2_error(r: &Resp) -> (String, u16) {
    let code = texts(&r.body, "Code");
    assert_eq!(code.len(), 1, "{}", r.body);
    (code[0].clone(), r.status)
}

fn ec2_state(s: &Server, id: &str) -> String {
    let r = ec2(s, &[("Action", "DescribeInstances"), ("InstanceId.1", id)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    let state = doc
        .descendants()
        .find(|n| n.has_tag_name("instanceState"))
        .and_then(|n| n.children().find(|c| c.has_tag_name("name")))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("no instanceState in {}", r.body));
    state.to_owned()
}

#[test]
fn ec2_tooling_against_an_ovirt_engine() {
    let (engine, s) = start();

    let r = ec2(&s, &[("Action", "DescribeAvailabilityZones")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(texts(&r.body, "zoneName"), [fake::CLUSTER_ID]);

    let r = ec2(&s, &[("Action", "DescribeImages")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut images = texts(&r.body, "imageId");
    images.sort();
    let mut want = vec![fake::TEMPLATE2_ID.to_owned(), fake::TEMPLATE_ID.to_owned()];
    want.sort();
    assert_eq!(images, want);

    let r = ec2(
        &s,
        &[
            ("Action", "RunInstances"),
            ("ImageId", fake::TEMPLATE_ID),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("Placement.AvailabilityZone", fake::CLUSTER_ID),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = texts(&r.body, "instanceId");
    assert_eq!(ids.len(), 1, "{}", r.body);
    let id = ids[0].clone();
    assert!(engine.vm_ids().contains(&id), "the engine has the new VM");

    let r = ec2(&s, &[("Action", "DescribeInstances")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let all = texts(&r.body, "instanceId");
    assert!(
        all.contains(&id) && all.contains(&fake::VM_ON_ID.to_owned()),
        "{all:?}"
    );
    assert!(
        r.body.contains("10.46.8.199"),
        "vm_on's guest IP: {}",
        r.body
    );

    eventually("the new VM to be stopped", || {
        (ec2_state(&s, &id) == "stopped").then_some(())
    });

    let r = ec2(&s, &[("Action", "StartInstances"), ("InstanceId.1", &id)]);
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("the VM to run", || {
        (ec2_state(&s, &id) == "running").then_some(())
    });
    assert_eq!(engine.vm_status(&id).as_deref(), Some("up"));

    let r = ec2(&s, &[("Action", "StopInstances"), ("InstanceId.1", &id)]);
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("the VM to stop", || {
        (ec2_state(&s, &id) == "stopped").then_some(())
    });
    assert_eq!(engine.vm_status(&id).as_deref(), Some("down"));

    let r = ec2(
        &s,
        &[("Action", "TerminateInstances"), ("InstanceId.1", &id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!engine.vm_ids().contains(&id), "the engine deleted the VM");
}

// ---------------------------------------------------------------------------------------------
// /cimi

fn cimi(s: &Server, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client()
        .request(m, s.url(path))
        .header("Accept", "application/json")
        .basic_auth(USER, Some(PASSWORD));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    send(rb)
}

fn machine_state(s: &Server, id: &str) -> Option<String> {
    let r = cimi(s, "GET", &format!("/cimi/machines/{id}"), None);
    (r.status == 200).then(|| r.json()["state"].as_str().unwrap_or("").to_owned())
}

#[test]
fn cimi_tooling_against_an_ovirt_engine() {
    let (engine, s) = start();

    let r = cimi(&s, "GET", "/cimi/machine_images", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(fake::TEMPLATE_ID) && r.body.contains(fake::TEMPLATE2_ID),
        "{}",
        r.body
    );

    let create = json!({
        "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineCreate",
        "name": "cimi-vm",
        "machineTemplate": {
            "machineConfig": { "href": s.url("/cimi/machine_configurations/SERVER") },
            "machineImage": { "href": s.url(&format!("/cimi/machine_images/{}", fake::TEMPLATE_ID)) }
        }
    });
    let r = cimi(&s, "POST", "/cimi/machines", Some(&create));
    assert_eq!(r.status, 201, "{}", r.body);
    let before: Vec<String> = [fake::VM_OFF_ID, fake::VM_ON_ID]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let id = engine
        .vm_ids()
        .into_iter()
        .find(|i| !before.contains(i))
        .expect("a new VM");
    assert_eq!(engine.vm_name(&id).as_deref(), Some("cimi-vm"));

    eventually("the machine to be stopped", || {
        (machine_state(&s, &id)? == "STOPPED").then_some(())
    });
    let r = cimi(&s, "POST", &format!("/cimi/machines/{id}/start"), None);
    assert!(
        r.status == 202 || r.status == 200,
        "{} {}",
        r.status,
        r.body
    );
    eventually("the machine to start", || {
        (machine_state(&s, &id)? == "STARTED").then_some(())
    });
    let r = cimi(&s, "POST", &format!("/cimi/machines/{id}/stop"), None);
    assert!(
        r.status == 202 || r.status == 200,
        "{} {}",
        r.status,
        r.body
    );
    eventually("the machine to stop", || {
        (machine_state(&s, &id)? == "STOPPED").then_some(())
    });
    let r = cimi(&s, "DELETE", &format!("/cimi/machines/{id}"), None);
    assert!(r.status < 300, "{} {}", r.status, r.body);
    eventually("the engine to delete the VM", || {
        (!engine.vm_ids().contains(&id)).then_some(())
    });
}

// ---------------------------------------------------------------------------------------------
// /api

fn api(s: &Server, method: &str, path: &str, form: &[(&str, &str)]) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client()
        .request(m, s.url(path))
        .header("Accept", "application/xml")
        .basic_auth(USER, Some(PASSWORD));
    if !form.is_empty() {
        rb = rb.form(form);
    }
    send(rb)
}

fn api_state(s: &Server, id: &str) -> String {
    let r = api(s, "GET", &format!("/api/instances/{id}"), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    texts(&r.body, "state").first().cloned().unwrap_or_default()
}

#[test]
fn deltacloud_api_against_an_ovirt_engine() {
    let (engine, s) = start();

    let r = api(&s, "GET", "/api/realms", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(fake::CLUSTER_ID) && r.body.contains("newd1_cluster"));
    assert!(
        !r.body.contains(fake::OTHER_CLUSTER_ID),
        "other data center"
    );

    let r = api(&s, "GET", "/api/images", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("template_cd1") && r.body.contains("template_cd2"));

    let r = api(&s, "GET", "/api/hardware_profiles", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("SERVER") && r.body.contains("DESKTOP"));

    let r = api(
        &s,
        "POST",
        "/api/instances",
        &[
            ("image_id", fake::TEMPLATE_ID),
            ("realm_id", fake::CLUSTER_ID),
            ("name", "api-vm"),
            ("hwp_id", "SERVER"),
            ("hwp_memory", "2048"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = xml(&r.body);
    let id = doc
        .root_element()
        .attribute("id")
        .unwrap_or_else(|| panic!("{}", r.body))
        .to_owned();
    assert_eq!(engine.vm_name(&id).as_deref(), Some("api-vm"));

    eventually("STOPPED", || {
        (api_state(&s, &id) == "STOPPED").then_some(())
    });
    let r = api(&s, "POST", &format!("/api/instances/{id}/start"), &[]);
    assert!(matches!(r.status, 202 | 303), "{} {}", r.status, r.body);
    eventually("RUNNING", || {
        (api_state(&s, &id) == "RUNNING").then_some(())
    });
    let r = api(&s, "POST", &format!("/api/instances/{id}/reboot"), &[]);
    assert!(matches!(r.status, 202 | 303), "{} {}", r.status, r.body);
    eventually("RUNNING again", || {
        (api_state(&s, &id) == "RUNNING").then_some(())
    });
    let r = api(&s, "POST", &format!("/api/instances/{id}/stop"), &[]);
    assert!(matches!(r.status, 202 | 303), "{} {}", r.status, r.body);
    eventually("STOPPED again", || {
        (api_state(&s, &id) == "STOPPED").then_some(())
    });
    let r = api(&s, "DELETE", &format!("/api/instances/{id}"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!engine.vm_ids().contains(&id));
}

// ---------------------------------------------------------------------------------------------
// Engine faults, in each frontend's format

#[test]
fn engine_faults_in_each_frontend() {
    let (engine, s) = start();

    // 401 from the engine.
    let r = send(
        client()
            .get(s.url("/api/instances"))
            .header("Accept", "application/xml")
            .basic_auth(USER, Some("wrong")),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let r = ec2_as(&s, USER, "wrong", &[("Action", "DescribeInstances")]);
    assert_eq!(ec2_error(&r), ("AuthFailure".to_owned(), 401));
    let r = send(
        client()
            .get(s.url("/cimi/machines"))
            .header("Accept", "application/json")
            .basic_auth(USER, Some("wrong")),
    );
    assert_eq!(r.status, 401, "{}", r.body);

    // A VM the engine does not have (404 there).
    let missing = "0bad0bad-0000-4000-8000-000000000000";
    let r = api(&s, "GET", &format!("/api/instances/{missing}"), &[]);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = ec2(
        &s,
        &[("Action", "DescribeInstances"), ("InstanceId.1", missing)],
    );
    let (code, status) = ec2_error(&r);
    assert_eq!((code.as_str(), status), ("InvalidInstanceID.NotFound", 400));
    let r = cimi(&s, "GET", &format!("/cimi/machines/{missing}"), None);
    assert_eq!(r.status, 404, "{}", r.body);

    // An action the VM's state does not allow (vm_on is running).
    let r = api(
        &s,
        "POST",
        &format!("/api/instances/{}/start", fake::VM_ON_ID),
        &[],
    );
    assert_eq!(r.status, 405, "{}", r.body);
    let r = cimi(
        &s,
        "POST",
        &format!("/cimi/machines/{}/start", fake::VM_ON_ID),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.body);
    // /ec2 does not consult the state machine: the engine refuses, and its refusal maps
    // (vm_off is down, the engine cannot reboot it).
    let r = ec2(
        &s,
        &[
            ("Action", "RebootInstances"),
            ("InstanceId.1", fake::VM_OFF_ID),
        ],
    );
    let (code, status) = ec2_error(&r);
    assert_eq!(status, 400, "{code}: {}", r.body);
    assert!(code.starts_with("Incorrect"), "{code}");
    // TerminateInstances of a running VM: the engine refuses to delete it, so the frontend
    // shuts it down first (EC2 semantics), and the VM is gone.
    let r = ec2(
        &s,
        &[
            ("Action", "TerminateInstances"),
            ("InstanceId.1", fake::VM_ON_ID),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!engine.vm_ids().contains(&fake::VM_ON_ID.to_owned()));

    // A hung engine: 504 within the configured timeout (2 s), in each format.
    engine.set_hang(true);
    let started = std::time::Instant::now();
    let r = api(&s, "GET", "/api/realms", &[]);
    assert_eq!(r.status, 504, "{}", r.body);
    // EC2 has no 504: its frontend answers the provider timeout as `Unavailable`.
    let r = ec2(&s, &[("Action", "DescribeAvailabilityZones")]);
    let (code, status) = ec2_error(&r);
    assert_eq!(code, "Unavailable");
    assert!(status >= 500, "{status}");
    let r = cimi(&s, "GET", "/cimi/machines", None);
    assert_eq!(r.status, 504, "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "three calls, 2 s timeout each: {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Volumes: the engine's disks, through each frontend

/// The engine disk ids that were not there in `before`.
fn new_disks(engine: &FakeEngine, before: &[String]) -> Vec<String> {
    engine
        .disk_ids()
        .into_iter()
        .filter(|d| !before.contains(d))
        .collect()
}

#[test]
fn volumes_are_engine_disks_in_every_frontend() {
    let (engine, s) = start();

    // /api: create, wait for the engine to unlock it, attach to the running VM, detach, delete.
    let before = engine.disk_ids();
    let r = api(
        &s,
        "POST",
        "/api/storage_volumes",
        &[("capacity", "1"), ("name", "api-vol")],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let vol = xml(&r.body)
        .root_element()
        .attribute("id")
        .unwrap_or_else(|| panic!("{}", r.body))
        .to_owned();
    assert_eq!(new_disks(&engine, &before), std::slice::from_ref(&vol));
    let vstate = |s: &Server| {
        let r = api(s, "GET", &format!("/api/storage_volumes/{vol}"), &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        texts(&r.body, "state").first().cloned().unwrap_or_default()
    };
    eventually("the disk to be available", || {
        (vstate(&s) == "AVAILABLE").then_some(())
    });
    let r = api(
        &s,
        "POST",
        &format!("/api/storage_volumes/{vol}/attach"),
        &[("instance_id", fake::VM_ON_ID), ("device", "/dev/vdb")],
    );
    assert!(matches!(r.status, 200 | 202), "{} {}", r.status, r.body);
    assert_eq!(
        engine.disk_attached_to(&vol).as_deref(),
        Some(fake::VM_ON_ID)
    );
    assert_eq!(vstate(&s), "IN-USE");
    let r = api(&s, "DELETE", &format!("/api/storage_volumes/{vol}"), &[]);
    assert_eq!(
        r.status, 409,
        "the engine refuses to delete a disk in use: {}",
        r.body
    );
    let r = api(
        &s,
        "POST",
        &format!("/api/storage_volumes/{vol}/detach"),
        &[],
    );
    assert!(matches!(r.status, 200 | 202), "{} {}", r.status, r.body);
    assert_eq!(engine.disk_attached_to(&vol), None);
    let r = api(&s, "DELETE", &format!("/api/storage_volumes/{vol}"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!engine.disk_ids().contains(&vol));

    // /ec2: CreateVolume, DescribeVolumes, Attach/Detach/DeleteVolume.
    let before = engine.disk_ids();
    let r = ec2(
        &s,
        &[
            ("Action", "CreateVolume"),
            ("Size", "2"),
            ("AvailabilityZone", fake::CLUSTER_ID),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let vol = texts(&r.body, "volumeId").remove(0);
    assert_eq!(new_disks(&engine, &before), std::slice::from_ref(&vol));
    assert_eq!(texts(&r.body, "size"), ["2"], "{}", r.body);
    eventually("the volume to be available", || {
        let r = ec2(&s, &[("Action", "DescribeVolumes"), ("VolumeId.1", &vol)]);
        assert_eq!(r.status, 200, "{}", r.body);
        (texts(&r.body, "status").first().map(String::as_str) == Some("available")).then_some(())
    });
    let r = ec2(
        &s,
        &[
            ("Action", "AttachVolume"),
            ("VolumeId", &vol),
            ("InstanceId", fake::VM_ON_ID),
            ("Device", "/dev/vdc"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        engine.disk_attached_to(&vol).as_deref(),
        Some(fake::VM_ON_ID)
    );
    let r = ec2(&s, &[("Action", "DescribeVolumes"), ("VolumeId.1", &vol)]);
    assert!(r.body.contains(fake::VM_ON_ID), "{}", r.body);
    let r = ec2(&s, &[("Action", "DetachVolume"), ("VolumeId", &vol)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(engine.disk_attached_to(&vol), None);
    let r = ec2(&s, &[("Action", "DeleteVolume"), ("VolumeId", &vol)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!engine.disk_ids().contains(&vol));
    let r = ec2(&s, &[("Action", "DeleteVolume"), ("VolumeId", &vol)]);
    assert_eq!(ec2_error(&r).1, 400, "{}", r.body);

    // /cimi: create a volume by value, attach it to the machine, detach, delete.
    let before = engine.disk_ids();
    let create = json!({
        "resourceURI": "http://schemas.dmtf.org/cimi/1/VolumeCreate",
        "name": "cimi-vol",
        // An inline capacity goes to the driver as GB, as in the original (`cimi.md` §6).
        "volumeTemplate": { "volumeConfig": { "capacity": 1 } }
    });
    let r = cimi(&s, "POST", "/cimi/volumes", Some(&create));
    assert_eq!(r.status, 201, "{}", r.body);
    let fresh = new_disks(&engine, &before);
    assert_eq!(fresh.len(), 1, "{}", r.body);
    let vol = fresh[0].clone();
    eventually("the CIMI volume to be available", || {
        let r = cimi(&s, "GET", &format!("/cimi/volumes/{vol}"), None);
        (r.status == 200 && r.json()["state"] == "AVAILABLE").then_some(())
    });
    let attach = json!({
        "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineVolume",
        "initialLocation": "/dev/vdd",
        "volume": { "href": s.url(&format!("/cimi/volumes/{vol}")) }
    });
    let r = cimi(
        &s,
        "POST",
        &format!("/cimi/machines/{}/volume_attach", fake::VM_ON_ID),
        Some(&attach),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        engine.disk_attached_to(&vol).as_deref(),
        Some(fake::VM_ON_ID)
    );
    let r = cimi(
        &s,
        "DELETE",
        &format!("/cimi/machines/{}/volumes/{vol}", fake::VM_ON_ID),
        None,
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    assert_eq!(engine.disk_attached_to(&vol), None);
    let r = cimi(&s, "DELETE", &format!("/cimi/volumes/{vol}"), None);
    assert!(r.status < 300, "{} {}", r.status, r.body);
    assert!(!engine.disk_ids().contains(&vol));
}
