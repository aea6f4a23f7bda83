//! The loaders and the replay server on the real recordings in `../shared/recordings`.
//! Every test here skips (with a note on stderr) when that tree is absent, since the project
//! must build and test without it.

use std::path::PathBuf;
use std::time::Duration;

use deltacloud_testkit::{Cassette, MatchRules, ReplayServer, shared_dir, shared_recording};

fn recording(relative: &str) -> Option<PathBuf> {
    let found = shared_recording(relative);
    if found.is_none() {
        eprintln!(
            "note: shared/recordings/{relative} not found; skipping (the project must build without ../shared)"
        );
    }
    found
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn every_shared_recording_loads() {
    let Some(shared) = shared_dir() else {
        eprintln!("note: ../shared not found; skipping");
        return;
    };
    let mut loaded = 0;
    let mut interactions = 0;
    for provider in ["ec2", "openstack", "rhevm", "ovirt-v4"] {
        let dir = shared.join("recordings").join(provider);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            // preferences.yml is the rhevm test settings, not a recording.
            if path.extension().is_none_or(|e| e != "yml") || path.ends_with("preferences.yml") {
                continue;
            }
            let c = Cassette::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!c.is_empty(), "{}", path.display());
            for i in &c.interactions {
                assert!(
                    (100..600).contains(&i.response.status),
                    "{}",
                    path.display()
                );
                assert!(!i.request.uri.is_empty());
            }
            loaded += 1;
            interactions += c.len();
        }
    }
    assert!(loaded >= 80, "only {loaded} cassettes found");
    eprintln!("loaded {loaded} cassettes with {interactions} interactions");
    // A non-recording YAML file is rejected with a message, not loaded as nothing.
    let prefs = shared.join("recordings/rhevm/preferences.yml");
    if prefs.is_file() {
        assert!(Cassette::load(prefs).is_err());
    }
}

#[test]
fn ec2_polling_replays_state_changes_in_order() {
    let Some(path) = recording("ec2/test_0008_must_allow_to_reboot_instance_in_running_state.yml")
    else {
        return;
    };
    let server =
        ReplayServer::start([Cassette::load(path).unwrap()], MatchRules::aws_query()).unwrap();
    let c = client();
    let describe = || {
        c.post(server.url("/"))
            .form(&[
                ("Action", "DescribeInstances"),
                ("InstanceId.1", "i-768c640c"),
                ("Version", "2016-11-15"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
            ])
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let state = |xml: &str| {
        // The first <instanceState><code>..</code><name>X</name> in the reply.
        let start = xml.find("<instanceState>").unwrap();
        let name = xml[start..].find("<name>").unwrap() + start + 6;
        xml[name..name + xml[name..].find('<').unwrap()].to_owned()
    };
    let reboot =
        c.get(server.url(
            "/?Action=RebootInstances&InstanceId.1=i-768c640c&Version=2010-08-31&Signature=x",
        ))
        .send()
        .unwrap();
    assert_eq!(reboot.status(), 200);
    assert!(reboot.text().unwrap().contains("<return>true</return>"));
    let states: Vec<String> = (0..4).map(|_| state(&describe())).collect();
    assert_eq!(
        states,
        ["running", "running", "shutting-down", "shutting-down"]
    );
    server.assert_all_matched();
    // RunInstances and TerminateInstances were recorded but not replayed.
    assert_eq!(server.unused().len(), 2);
}

#[test]
fn rhevm_v3_replays_the_401_and_lists() {
    let (Some(wrong), Some(realms)) = (
        recording("rhevm/test_0001_must_throw_error_when_wrong_credentials.yml"),
        recording("rhevm/test_0002_must_return_list_of_realms.yml"),
    ) else {
        return;
    };
    let server =
        ReplayServer::start([Cassette::load(wrong).unwrap()], MatchRules::default()).unwrap();
    let resp = client()
        .get(server.url("/api/datacenters?search="))
        .basic_auth("fakeuser", Some("wrong"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"ENGINE\"");
    assert!(
        resp.text()
            .unwrap()
            .contains("This request requires HTTP authentication")
    );

    let server =
        ReplayServer::start([Cassette::load(realms).unwrap()], MatchRules::default()).unwrap();
    let resp = client()
        .get(server.url("/api/clusters?search=datacenter%3Discsi"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("<cluster"));
    // Without `search=` the request is not the recorded one, and the report says why.
    let resp = client().get(server.url("/api/datacenters")).send().unwrap();
    assert_eq!(resp.status().as_u16(), deltacloud_testkit::UNMATCHED_STATUS);
    assert!(
        resp.text()
            .unwrap()
            .contains("parameters missing from the request: search=")
    );
}

#[test]
fn ovirt_v4_inventory_replays_by_url_query_and_method() {
    let Some(path) = recording("ovirt-v4/inventory.yml") else {
        return;
    };
    let inventory = Cassette::load(path).unwrap();
    assert_eq!(inventory.name, "inventory");
    let server = ReplayServer::start([inventory], MatchRules::default()).unwrap();
    let c = client();
    let resp = c
        .get(server.url("/ovirt-engine/api/datacenters?search=status%3Dup"))
        .header("Accept", "application/xml")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The recording says gzip, but its body is stored decoded: the header must not be replayed.
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(
        resp.headers()["content-type"],
        "application/xml;charset=UTF-8"
    );
    assert!(resp.text().unwrap().contains("<data_center"));
    let resp = c
        .get(server.url("/ovirt-engine/api/clusters"))
        .send()
        .unwrap();
    assert!(resp.text().unwrap().contains("<name>Default</name>"));
    server.assert_all_matched();
}

#[test]
fn s3_virtual_host_recordings_replay_path_style() {
    let Some(path) = recording("ec2/test_0002_must_handle_us-east_buckets_from_other_regions.yml")
    else {
        return;
    };
    let rules = MatchRules::aws_query().s3_path_style(true);
    let server = ReplayServer::start([Cassette::load(path).unwrap()], rules).unwrap();
    let c = client();
    let bucket = "deltacloud-unit-test-bucket-2012-08-20-1704";
    let created = c.put(server.url(&format!("/{bucket}"))).send().unwrap();
    assert_eq!(created.status(), 200);
    let listing = c.get(server.url(&format!("/{bucket}/"))).send().unwrap();
    assert!(listing.text().unwrap().contains("<ListBucketResult"));
    let location = c
        .get(server.url(&format!("/{bucket}?location")))
        .send()
        .unwrap();
    assert!(location.text().unwrap().contains("<LocationConstraint"));
    server.assert_all_matched();
}
