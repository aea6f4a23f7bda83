//! Storage volumes and snapshots.

use super::*;
use deltacloud_core::Driver as _;
use deltacloud_core::driver::{StorageSnapshots, StorageVolumes};
use deltacloud_core::{CreateStorageSnapshot, CreateStorageVolume, ErrorKind, Filter};

#[tokio::test]
async fn create_and_destroy_volumes() {
    let c = Cloud::new();
    let before = crate::util::now_secs();
    let v =
        c.d.create_storage_volume(&ctx(), &CreateStorageVolume::default())
            .await
            .expect("create");
    let n: i64 =
        v.id.strip_prefix("volume_")
            .and_then(|n| n.parse().ok())
            .expect("volume_<epoch>");
    assert!(n >= before);
    assert_eq!(v.name.as_deref(), Some(format!("Volume{}", v.id).as_str()));
    assert_eq!(
        (v.capacity.as_deref(), v.state.as_deref()),
        (Some("1"), Some("AVAILABLE"))
    );
    assert!(v.created.as_deref().is_some_and(|c| c.ends_with(" +0000")));
    assert_eq!(
        (
            v.realm_id.as_ref(),
            v.description.as_ref(),
            v.instance_id.as_ref()
        ),
        (None, None, None)
    );

    let named = CreateStorageVolume {
        name: Some("data".into()),
        capacity: Some("10".into()),
        realm_id: Some("eu".into()),
        description: Some("d".into()),
        snapshot_id: None,
    };
    let w =
        c.d.create_storage_volume(&ctx(), &named)
            .await
            .expect("named");
    assert_eq!(
        (w.name.as_deref(), w.capacity.as_deref()),
        (Some("data"), Some("10"))
    );
    assert_ne!(
        w.id, v.id,
        "two creates in the same second get different ids"
    );
    assert_eq!(
        w.realm_id, None,
        "realm and description are not stored, as in the original"
    );

    for bad in ["0", "-1", "lots", ""] {
        let r = CreateStorageVolume {
            capacity: Some(bad.into()),
            ..CreateStorageVolume::default()
        };
        assert_eq!(
            kind(c.d.create_storage_volume(&ctx(), &r).await),
            ErrorKind::Validation,
            "{bad}"
        );
    }

    c.d.destroy_storage_volume(&ctx(), &v.id)
        .await
        .expect("destroy");
    c.d.destroy_storage_volume(&ctx(), &v.id)
        .await
        .expect("missing is fine");
    let left = ids(
        &c.d.storage_volumes(&ctx(), &Filter::default())
            .await
            .expect("list"),
        |v| v.id.to_string(),
    );
    assert_eq!(left, ["vol1", "vol2", "vol3", w.id.as_str()]);
    assert_eq!(
        c.d.storage_volumes(&ctx(), &Filter::by_id("vol2"))
            .await
            .expect("by id")
            .len(),
        1
    );
}

#[tokio::test]
async fn attach_and_detach() {
    let c = Cloud::new();
    let v =
        c.d.attach_storage_volume(&ctx(), &"vol1".into(), &"inst0".into(), "/dev/sdb")
            .await
            .expect("attach");
    assert_eq!(
        (
            v.state.as_deref(),
            v.instance_id.as_deref(),
            v.device.as_deref()
        ),
        (Some("IN-USE"), Some("inst0"), Some("/dev/sdb"))
    );
    let i =
        c.d.instance(&ctx(), &"inst0".into())
            .await
            .expect("show")
            .expect("inst0");
    assert_eq!(
        i.storage_volumes,
        Some(vec![("vol1".into(), "/dev/sdb".to_owned())])
    );
    // inst3 has no list at all in the seed: attaching creates it.
    c.d.attach_storage_volume(&ctx(), &"vol2".into(), &"inst3".into(), "/dev/sdc")
        .await
        .expect("attach 2");
    let i3 =
        c.d.instance(&ctx(), &"inst3".into())
            .await
            .expect("show")
            .expect("inst3");
    assert_eq!(
        i3.storage_volumes,
        Some(vec![("vol2".into(), "/dev/sdc".to_owned())])
    );

    assert_eq!(
        kind(
            c.d.attach_storage_volume(&ctx(), &"vol1".into(), &"inst1".into(), "/dev/sdd")
                .await
        ),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(
            c.d.attach_storage_volume(&ctx(), &"nope".into(), &"inst1".into(), "/dev/sdd")
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.attach_storage_volume(&ctx(), &"vol1".into(), &"nope".into(), "/dev/sdd")
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.attach_storage_volume(&ctx(), &"vol1".into(), &"inst1".into(), "")
                .await
        ),
        ErrorKind::Validation
    );

    let v =
        c.d.detach_storage_volume(&ctx(), &"vol1".into())
            .await
            .expect("detach");
    assert_eq!(
        (
            v.state.as_deref(),
            v.instance_id.as_ref(),
            v.device.as_ref()
        ),
        (Some("AVAILABLE"), None, None)
    );
    let i =
        c.d.instance(&ctx(), &"inst0".into())
            .await
            .expect("show")
            .expect("inst0");
    assert_eq!(i.storage_volumes, Some(vec![]));
    assert_eq!(
        kind(c.d.detach_storage_volume(&ctx(), &"vol1".into()).await),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(c.d.detach_storage_volume(&ctx(), &"nope".into()).await),
        ErrorKind::NotFound
    );
    // vol3 claims inst1, whose list is empty (seed quirk): detaching still works.
    let v3 =
        c.d.detach_storage_volume(&ctx(), &"vol3".into())
            .await
            .expect("detach vol3");
    assert_eq!(v3.state.as_deref(), Some("AVAILABLE"));
}

#[tokio::test]
async fn snapshots() {
    let c = Cloud::new();
    let req = |v: &str| CreateStorageSnapshot {
        volume_id: v.into(),
        name: Some("n".into()),
        description: Some("d".into()),
    };
    let s =
        c.d.create_storage_snapshot(&ctx(), &req("vol1"))
            .await
            .expect("create");
    assert!(s.id.starts_with("store_snapshot_"));
    assert_eq!(
        (s.state.as_deref(), s.storage_volume_id.as_deref()),
        (Some("COMPLETED"), Some("vol1"))
    );
    assert_eq!(
        (s.name.as_deref(), s.description.as_deref()),
        (Some("n"), Some("d"))
    );
    let t =
        c.d.create_storage_snapshot(&ctx(), &req("vol2"))
            .await
            .expect("second");
    assert_ne!(s.id, t.id);
    assert_eq!(
        kind(c.d.create_storage_snapshot(&ctx(), &req("nope")).await),
        ErrorKind::NotFound
    );
    c.d.destroy_storage_snapshot(&ctx(), &"snap1".into())
        .await
        .expect("destroy");
    c.d.destroy_storage_snapshot(&ctx(), &"snap1".into())
        .await
        .expect("missing is fine");
    let left = ids(
        &c.d.storage_snapshots(&ctx(), &Filter::default())
            .await
            .expect("list"),
        |s| s.id.to_string(),
    );
    assert_eq!(
        left,
        [
            "snap2".to_owned(),
            "snap3".to_owned(),
            s.id.to_string(),
            t.id.to_string()
        ]
    );
}
