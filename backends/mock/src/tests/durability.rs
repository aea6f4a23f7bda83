//! Persistence, concurrency, the transition delay, reset, options and the database setup.

use super::*;
use crate::{MockFactory, MockOptions, OPT_TRANSITION_DELAY_MS};
use deltacloud_core::driver::{Instances, Keys, Networks, StorageSnapshots, StorageVolumes};
use deltacloud_core::{
    CreateInstance, CreateKey, CreateStorageSnapshot, CreateStorageVolume, Driver, DriverFactory,
    DriverSettings, ErrorKind, Filter, InstanceState as S,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn create(image: &str) -> CreateInstance {
    CreateInstance {
        image_id: image.into(),
        ..CreateInstance::default()
    }
}

#[tokio::test]
async fn state_survives_reopening() {
    let c = Cloud::new();
    let i =
        c.d.create_instance(
            &ctx(),
            &CreateInstance {
                name: Some("keeper".into()),
                ..create("img2")
            },
        )
        .await
        .expect("create");
    c.d.stop_instance(&ctx(), &i[0].id).await.expect("stop");
    c.d.create_key(
        &ctx(),
        &CreateKey {
            name: "kept".into(),
            public_key: None,
        },
    )
    .await
    .expect("key");
    c.d.destroy_key(&ctx(), &"test-key".into())
        .await
        .expect("destroy key");
    let c = c.reopen();
    let again =
        c.d.instance(&ctx(), &"inst4".into())
            .await
            .expect("show")
            .expect("persisted");
    assert_eq!(
        (again.name.as_deref(), again.state),
        (Some("keeper"), S::Stopped)
    );
    let keys = ids(
        &c.d.keys(&ctx(), &Filter::default()).await.expect("keys"),
        |k| k.id.to_string(),
    );
    assert_eq!(keys, ["kept"]);
}

#[tokio::test]
async fn committed_writes_survive_an_unclean_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = MockDriver::open(dir.path(), MockOptions::default()).expect("open");
    d.create_key(
        &ctx(),
        &CreateKey {
            name: "acked".into(),
            public_key: None,
        },
    )
    .await
    .expect("key");
    // No orderly close and no checkpoint: the connections are leaked as a killed process would.
    std::mem::forget(d);
    let d = MockDriver::open(dir.path(), MockOptions::default()).expect("reopen");
    assert_eq!(
        d.keys(&ctx(), &Filter::by_id("acked"))
            .await
            .expect("keys")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ids_never_collide_under_concurrent_creates() {
    let c = Cloud::new();
    let d = Arc::new(c.d);
    type Ids = deltacloud_core::Result<(String, String, String, String)>;
    let mut tasks: Vec<tokio::task::JoinHandle<Ids>> = Vec::new();
    for n in 0..50 {
        let d = Arc::clone(&d);
        tasks.push(tokio::spawn(async move {
            let i = d
                .create_instance(
                    &ctx(),
                    &CreateInstance {
                        name: Some(format!("c{n}")),
                        ..create("img1")
                    },
                )
                .await?;
            let v = d
                .create_storage_volume(&ctx(), &CreateStorageVolume::default())
                .await?;
            let s = d
                .create_storage_snapshot(
                    &ctx(),
                    &CreateStorageSnapshot {
                        volume_id: "vol1".into(),
                        name: None,
                        description: None,
                    },
                )
                .await?;
            let net = d.create_network(&ctx(), "10.50.0.0/16", None).await?;
            Ok((
                i[0].id.to_string(),
                v.id.to_string(),
                s.id.to_string(),
                net.id.to_string(),
            ))
        }));
    }
    let mut sets: [BTreeSet<String>; 4] = Default::default();
    for t in tasks {
        let (i, v, s, n) = t.await.expect("join").expect("create");
        for (set, id) in sets.iter_mut().zip([i, v, s, n]) {
            assert!(set.insert(id.clone()), "duplicate id {id}");
        }
    }
    let expected: BTreeSet<String> = (4..54).map(|n| format!("inst{n}")).collect();
    assert_eq!(sets[0], expected, "inst4..inst53, smallest free numbers");
    assert_eq!(
        d.instances(&ctx(), &Filter::default())
            .await
            .expect("list")
            .len(),
        54
    );
    assert_eq!(
        d.storage_volumes(&ctx(), &Filter::default())
            .await
            .expect("list")
            .len(),
        53
    );
    assert_eq!(
        d.storage_snapshots(&ctx(), &Filter::default())
            .await
            .expect("list")
            .len(),
        53
    );
    assert!(sets[1].iter().all(|v| v.starts_with("volume_")));
}

#[tokio::test]
async fn transition_delay_shows_transitional_states() {
    let c = Cloud::with(MockOptions {
        transition_delay_ms: 200,
    });
    let i =
        c.d.create_instance(&ctx(), &create("img1"))
            .await
            .expect("create")
            .remove(0);
    assert_eq!((i.state, i.actions.len()), (S::Pending, 0));
    let shown =
        c.d.instance(&ctx(), &i.id)
            .await
            .expect("show")
            .expect("exists");
    assert_eq!(shown.state, S::Pending);
    let pending = Filter {
        state: Some(vec!["PENDING".into()]),
        ..Filter::default()
    };
    assert_eq!(
        c.d.instances(&ctx(), &pending).await.expect("list").len(),
        1
    );
    assert_eq!(
        kind(c.d.stop_instance(&ctx(), &i.id).await),
        ErrorKind::InvalidState,
        "nothing allowed while pending"
    );
    assert_eq!(
        kind(c.d.destroy_instance(&ctx(), &i.id).await),
        ErrorKind::InvalidState
    );

    tokio::time::sleep(Duration::from_millis(260)).await;
    let shown =
        c.d.instance(&ctx(), &i.id)
            .await
            .expect("show")
            .expect("exists");
    assert_eq!((shown.state, shown.actions.len()), (S::Running, 2));

    let stopping = c.d.stop_instance(&ctx(), &i.id).await.expect("stop");
    assert_eq!((stopping.state, stopping.actions.len()), (S::Stopping, 0));
    assert_eq!(
        kind(c.d.start_instance(&ctx(), &i.id).await),
        ErrorKind::InvalidState
    );
    tokio::time::sleep(Duration::from_millis(260)).await;
    assert_eq!(
        c.d.instance(&ctx(), &i.id)
            .await
            .expect("show")
            .map(|i| i.state),
        Some(S::Stopped)
    );

    c.d.destroy_instance(&ctx(), &i.id).await.expect("destroy");
    assert_eq!(
        c.d.instance(&ctx(), &i.id)
            .await
            .expect("show")
            .map(|i| i.state),
        Some(S::ShuttingDown)
    );
    tokio::time::sleep(Duration::from_millis(260)).await;
    assert!(
        c.d.instance(&ctx(), &i.id).await.expect("show").is_none(),
        "gone after the delay"
    );
    assert!(
        !c.d.instances(&ctx(), &Filter::default())
            .await
            .expect("list")
            .iter()
            .any(|x| x.id == i.id)
    );
    assert_eq!(
        kind(c.d.stop_instance(&ctx(), &i.id).await),
        ErrorKind::NotFound
    );
    // Its id is free again.
    assert_eq!(
        c.d.create_instance(&ctx(), &create("img1"))
            .await
            .expect("create")
            .remove(0)
            .id,
        i.id
    );
    // Seed instances start stable.
    assert_eq!(
        c.d.instance(&ctx(), &"inst0".into())
            .await
            .expect("show")
            .map(|i| i.state),
        Some(S::Running)
    );
}

#[tokio::test]
async fn no_delay_means_instantaneous() {
    let c = Cloud::new();
    let i =
        c.d.create_instance(&ctx(), &create("img1"))
            .await
            .expect("create")
            .remove(0);
    assert_eq!(i.state, S::Running);
    assert_eq!(
        c.d.stop_instance(&ctx(), &i.id).await.expect("stop").state,
        S::Stopped
    );
    c.d.destroy_instance(&ctx(), &i.id).await.expect("destroy");
    assert!(c.d.instance(&ctx(), &i.id).await.expect("show").is_none());
}

#[tokio::test]
async fn reset_restores_the_seed() {
    let c = Cloud::new();
    c.d.destroy_key(&ctx(), &"test-key".into())
        .await
        .expect("destroy key");
    c.d.create_instance(&ctx(), &create("img1"))
        .await
        .expect("create");
    // Reset from outside while the driver is open: the driver sees the seed next.
    crate::reset(c.dir.path()).expect("reset");
    assert_eq!(
        c.d.keys(&ctx(), &Filter::default())
            .await
            .expect("keys")
            .len(),
        1
    );
    assert_eq!(
        c.d.instances(&ctx(), &Filter::default())
            .await
            .expect("instances")
            .len(),
        4
    );
    c.d.destroy_key(&ctx(), &"test-key".into())
        .await
        .expect("destroy key");
    c.d.reset_to_seed().await.expect("reset");
    assert_eq!(
        c.d.keys(&ctx(), &Filter::default())
            .await
            .expect("keys")
            .len(),
        1
    );
    // Deleting the files works too.
    let dir = c.dir;
    drop(c.d);
    for f in ["mock.db", "mock.db-wal", "mock.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let d = MockDriver::open(dir.path(), MockOptions::default()).expect("fresh");
    assert_eq!(
        d.keys(&ctx(), &Filter::default())
            .await
            .expect("keys")
            .len(),
        1
    );
}

#[test]
fn factory_builds_and_validates_options() {
    let f = crate::factory();
    let info = f.info();
    assert_eq!((info.id.as_str(), info.name.as_str()), ("mock", "Mock"));
    assert!(info.entrypoints.is_empty(), "no providers");

    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("deltacloud-me").join("mock");
    let mut settings = DriverSettings {
        data_dir: data_dir.clone(),
        ..DriverSettings::default()
    };
    settings
        .options
        .insert(OPT_TRANSITION_DELAY_MS.into(), "150".into());
    let d = f.build(&settings).expect("build");
    assert_eq!(d.name(), "mock");
    assert!(data_dir.join("mock.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data_dir)
            .expect("dir")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            mode & !0o750,
            0,
            "created mode 0750 (minus umask), got {mode:o}"
        );
    }
    assert_eq!(
        crate::MockOptions::from_settings(&settings)
            .expect("ok")
            .transition_delay_ms,
        150
    );

    for bad in ["-1", "soon", "1.5", ""] {
        settings
            .options
            .insert(OPT_TRANSITION_DELAY_MS.into(), bad.into());
        let e = MockFactory
            .build(&settings)
            .map(drop)
            .expect_err("bad option");
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(
            e.message().contains(OPT_TRANSITION_DELAY_MS),
            "{}",
            e.message()
        );
    }
    settings.options.clear();
    settings.options.insert("unrelated".into(), "x".into());
    assert_eq!(
        crate::MockOptions::from_settings(&settings)
            .expect("ignored")
            .transition_delay_ms,
        0
    );
}

#[test]
fn database_setup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mock.db");
    drop(crate::db::Db::open(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 1);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ok, "ok");
    // A database from a future schema is refused with a clear message, not reinterpreted.
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let e =
        deltacloud_core::Error::from(crate::db::Db::open(&path).map(drop).expect_err("refused"));
    assert!(e.message().contains("schema version 99"), "{}", e.message());
}

#[test]
fn unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let e = MockDriver::open(&file.join("mock"), MockOptions::default())
        .map(drop)
        .expect_err("not a dir");
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(
        e.message().contains("mock data directory"),
        "{}",
        e.message()
    );
}
