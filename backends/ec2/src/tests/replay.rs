//! The recorded conversations with real EC2 (`fixtures/ec2/recordings/`, 2012, API 2010-08-31)
//! replayed through the testkit's replay server: the backend sends SigV4-signed POST forms, the
//! server matches them against the recorded SigV2 GETs with the volatile signing parameters
//! stripped, and answers what EC2 answered. Every test ends with `assert_all_matched`, so a
//! parameter we send that EC2 was not sent fails loudly.

use super::*;
use deltacloud_core::driver::{Images, Instances, Keys, Realms, StorageSnapshots};
use deltacloud_core::{
    CreateKey, CreateStorageSnapshot, Driver, ErrorKind, Filter, InstanceState, KeyId,
    StorageSnapshotId,
};
use deltacloud_testkit::{Cassette, MatchRules, ReplayServer, fixtures_dir};

fn replay(names: &[&str]) -> ReplayServer {
    let cassettes = names
        .iter()
        .map(|n| Cassette::load(fixtures_dir().join("ec2/recordings").join(n)).expect("cassette"));
    ReplayServer::start(cassettes, MatchRules::aws_query()).expect("replay server")
}

fn by_id(id: &str) -> Filter {
    Filter::by_id(id)
}

fn owner(o: &str) -> Filter {
    Filter {
        owner_id: Some(vec![o.to_owned()]),
        ..Filter::default()
    }
}

/// Every request was a SigV4-signed POST for the ec2 service of the default region, with the
/// host (and port) signed.
fn assert_signed(s: &ReplayServer) {
    let seen = s.requests_seen();
    assert!(!seen.is_empty());
    for r in seen {
        assert_eq!(r.method, "POST");
        let auth = r.header("authorization").expect("authorization header");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/ec2/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date"),
            "{auth}"
        );
        assert!(r.header("x-amz-date").is_some());
        assert!(!auth.contains("wJalrXUtnFEMI"), "the secret never travels");
    }
}

#[tokio::test]
async fn realms_are_zones_plus_vpc_subnets() {
    let s = replay(&["test_0002_must_return_list_of_realms.yml"]);
    let d = driver(Duration::from_secs(10));
    let realms = d
        .realms(&ctx(&s.base_url()), &Filter::default())
        .await
        .unwrap();
    let ids: Vec<&str> = realms.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        &ids[..5],
        [
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
            "us-east-1d",
            "us-east-1e"
        ]
    );
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(
        ids[5].starts_with("us-east-1") && ids[5].contains(":subnet-"),
        "{ids:?}"
    );
    assert!(
        realms
            .iter()
            .take(5)
            .all(|r| r.state == "available" && r.limit.is_none())
    );
    s.assert_all_matched();
    assert_signed(&s);
}

#[tokio::test]
async fn one_realm_and_an_unknown_one() {
    let s = replay(&["test_0004_must_allow_to_retrieve_single_realm.yml"]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let a = d.realms(&c, &by_id("us-east-1a")).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].id, "us-east-1a");
    // EC2 answers 400 "Invalid availability zone: [unknown]": for a filter that is no match.
    assert!(d.realms(&c, &by_id("unknown")).await.unwrap().is_empty());
    s.assert_all_matched();
}

#[tokio::test]
async fn the_large_public_image_list_of_amazon() {
    let s = replay(&["test_0002_must_return_list_of_images.yml"]);
    let d = driver(Duration::from_secs(20));
    let images = d
        .images(&ctx(&s.base_url()), &owner("amazon"))
        .await
        .unwrap();
    assert_eq!(images.len(), 332);
    assert!(
        images
            .iter()
            .all(|i| !i.owner_id.is_empty() && !i.name.is_empty())
    );
    // Machine images only: the request filtered on image-type=machine.
    assert!(images.iter().all(|i| i.id.starts_with("ami-")), "only AMIs");
    let ebs = images
        .iter()
        .find(|i| i.root_type.as_deref() == Some("persistent"))
        .expect("an EBS image");
    let hwps = ebs.hardware_profiles.as_ref().unwrap();
    assert!(!hwps.is_empty());
    let store = images
        .iter()
        .find(|i| i.root_type.as_deref() == Some("transient") && i.architecture == "i386")
        .expect("an instance-store i386 image");
    let hwps: Vec<&str> = store
        .hardware_profiles
        .as_ref()
        .unwrap()
        .iter()
        .map(|h| h.as_str())
        .collect();
    assert!(!hwps.contains(&"t1.micro"), "t1.micro boots from EBS only");
    assert!(hwps.contains(&"m1.small"));
    s.assert_all_matched();
}

#[tokio::test]
async fn images_by_owner_and_by_id() {
    let s = replay(&["test_0003_must_allow_to_filter_images.yml"]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let mine = d.images(&c, &owner("137112412989")).await.unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|i| i.owner_id == "137112412989"));
    let one = d.images(&c, &by_id("ami-aecd60c7")).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, "ami-aecd60c7");
    assert!(
        d.images(&c, &by_id("ami-aaaaaaaa"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(d.images(&c, &by_id("unknown")).await.unwrap().is_empty());
    s.assert_all_matched();
}

#[tokio::test]
async fn instances_list_and_show() {
    let s = replay(&[
        "test_0002_must_return_list_of_instances.yml",
        "test_0004_must_allow_to_retrieve_single_instance.yml",
    ]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let all = d.instances(&c, &Filter::default()).await.unwrap();
    assert_eq!(all.len(), 7);
    for i in &all {
        assert!(i.id.starts_with("i-"));
        assert_ne!(i.state, InstanceState::Unknown, "{}", i.id);
        assert!(i.owner_id.is_some());
        assert!(i.profile.is_some());
        assert!(
            !i.firewalls.as_ref().unwrap().is_empty(),
            "{}: classic groups per reservation",
            i.id
        );
    }
    let one = d
        .instance(&c, &"i-4d15f036".into())
        .await
        .unwrap()
        .expect("i-4d15f036");
    assert_eq!(one.id, "i-4d15f036");
    assert!(
        d.instance(&c, &"i-00000000".into())
            .await
            .unwrap()
            .is_none()
    );
    assert!(d.instance(&c, &"unknown".into()).await.unwrap().is_none());
    s.assert_all_matched();
}

#[tokio::test]
async fn reboot_and_terminate_a_recorded_instance() {
    let s = replay(&["test_0008_must_allow_to_reboot_instance_in_running_state.yml"]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let id = "i-768c640c".into();
    let after = d.reboot_instance(&c, &id).await.unwrap();
    assert_eq!(after.id, "i-768c640c");
    d.destroy_instance(&c, &id).await.unwrap();
    s.assert_all_matched();
    let actions: Vec<String> = s
        .requests_seen()
        .iter()
        .filter_map(|r| r.param("Action"))
        .collect();
    assert_eq!(
        actions,
        ["RebootInstances", "DescribeInstances", "TerminateInstances"]
    );
}

#[tokio::test]
async fn keys_list_show_create_destroy() {
    let s = replay(&[
        "test_0002_must_return_list_of_keys.yml",
        "test_0004_must_allow_to_retrieve_single_key.yml",
        "test_0005_must_allow_to_create_a_new_key.yml",
    ]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let names: Vec<String> = d
        .keys(&c, &Filter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["test1", "test2"]);
    let one = d.keys(&c, &by_id("test1")).await.unwrap();
    assert_eq!(one.len(), 1);
    assert!(
        one[0]
            .fingerprint
            .as_deref()
            .is_some_and(|f| f.contains(':'))
    );
    assert!(d.keys(&c, &by_id("unknown")).await.unwrap().is_empty());
    let created = d
        .create_key(
            &c,
            &CreateKey {
                name: "test-key-1".into(),
                public_key: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.id, "test-key-1");
    assert!(
        created
            .pem_rsa_key
            .as_deref()
            .is_some_and(|k| k.contains("BEGIN RSA PRIVATE KEY"))
    );
    d.destroy_key(&c, &KeyId::new("test-key-1")).await.unwrap();
    s.assert_all_matched();
}

#[tokio::test]
async fn the_large_public_snapshot_list() {
    let s = replay(&["test_0002_must_return_list_of_storage_snapshots.yml"]);
    let d = driver(Duration::from_secs(30));
    let snaps = d
        .storage_snapshots(&ctx(&s.base_url()), &owner("all"))
        .await
        .unwrap();
    assert_eq!(snaps.len(), 2135);
    assert!(snaps.iter().all(|s| s.id.starts_with("snap-")));
    assert!(
        snaps
            .iter()
            .all(|s| s.state.is_some() && s.storage_volume_id.is_some())
    );
    s.assert_all_matched();
}

#[tokio::test]
async fn snapshots_by_id_and_create_destroy() {
    let s = replay(&[
        "test_0003_must_allow_to_filter_storage_snapshots.yml",
        "test_0004_must_allow_to_create_and_destroy_the_storage_snapshot.yml",
    ]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    let one = d
        .storage_snapshots(&c, &by_id("snap-e5bc8d95"))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert!(
        d.storage_snapshots(&c, &by_id("snap-00000000"))
            .await
            .unwrap()
            .is_empty()
    );
    let created = d
        .create_storage_snapshot(
            &c,
            &CreateStorageSnapshot {
                volume_id: "vol-732cf013".into(),
                name: None,
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.id, "snap-31427e41");
    assert_eq!(created.storage_volume_id.as_deref(), Some("vol-732cf013"));
    assert_eq!(created.state.as_deref(), Some("PENDING"));
    d.destroy_storage_snapshot(&c, &StorageSnapshotId::new("snap-31427e41"))
        .await
        .unwrap();
    s.assert_all_matched();
}

#[tokio::test]
async fn wrong_credentials_are_auth_failures() {
    let s = replay(&["test_0001_must_throw_error_when_wrong_credentials.yml"]);
    let d = driver(Duration::from_secs(10));
    let c = ctx(&s.base_url());
    assert!(!d.valid_credentials(&c).await.unwrap());
    let e = d.images(&c, &owner("amazon")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("AWS was not able to validate"), "{e}");
    s.assert_all_matched();
}

#[tokio::test]
async fn missing_credentials_ask_for_them_without_calling_out() {
    let s = replay(&[]);
    let d = driver(Duration::from_secs(10));
    let c = RequestContext::new(None, Some(s.base_url()));
    let e = d.realms(&c, &Filter::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthRequired);
    assert!(s.requests_seen().is_empty());
}
