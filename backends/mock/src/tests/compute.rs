//! Realms, images, instances and keys: operations and their error cases.

use super::*;
use deltacloud_core::Driver as _;
use deltacloud_core::driver::{Images, Instances, Keys, Networks, Realms};
use deltacloud_core::{
    AddressType, CreateImage, CreateInstance, CreateKey, ErrorKind, Filter, InstanceAction as A,
    InstanceState as S, PropertyName, RunCommand,
};

fn create(image: &str) -> CreateInstance {
    CreateInstance {
        image_id: image.into(),
        ..CreateInstance::default()
    }
}

fn filter_state(s: &str) -> Filter {
    Filter {
        state: Some(vec![s.to_owned()]),
        ..Filter::default()
    }
}

#[tokio::test]
async fn realm_error_injection() {
    let c = Cloud::new();
    for (id, k, msg) in [
        ("500", ErrorKind::Internal, "DeltacloudErrorMessage"),
        ("501", ErrorKind::NotSupported, "NotImplementedMessage"),
        ("502", ErrorKind::ProviderError, "ProviderErrorMessage"),
        ("504", ErrorKind::ProviderTimeout, "ProviderTimeoutMessage"),
    ] {
        assert_eq!(
            err(c.d.realms(&ctx(), &Filter::by_id(id)).await),
            (k, msg.to_owned()),
            "{id}"
        );
        // Credentials come first.
        assert_eq!(
            kind(c.d.realms(&wrong_password(), &Filter::by_id(id)).await),
            ErrorKind::AuthFailed
        );
    }
    assert!(
        c.d.realms(&ctx(), &Filter::by_id("503"))
            .await
            .expect("no injection")
            .is_empty()
    );
}

#[tokio::test]
async fn image_filters() {
    let c = Cloud::new();
    let list = |f: Filter| {
        let d = &c.d;
        async move {
            ids(&d.images(&ctx(), &f).await.expect("images"), |i| {
                i.id.to_string()
            })
        }
    };
    assert_eq!(list(Filter::by_id("img2")).await, ["img2"]);
    assert_eq!(
        list(Filter {
            id: Some(vec!["img3".into(), "img1".into()]),
            ..Filter::default()
        })
        .await,
        ["img1", "img3"]
    );
    assert_eq!(
        list(Filter {
            architecture: Some(vec!["i386".into()]),
            ..Filter::default()
        })
        .await,
        ["img2", "img3"]
    );
    assert_eq!(
        list(Filter {
            owner_id: Some(vec!["self".into()]),
            ..Filter::default()
        })
        .await,
        ["img3"]
    );
    assert_eq!(
        list(Filter {
            owner_id: Some(vec!["fedoraproject".into()]),
            ..Filter::default()
        })
        .await,
        ["img1", "img2"]
    );
    assert!(list(Filter::by_id("nope")).await.is_empty());
}

#[tokio::test]
async fn create_and_destroy_image() {
    let c = Cloud::new();
    let req = |inst: &str, name: Option<&str>| CreateImage {
        instance_id: inst.into(),
        name: name.map(str::to_owned),
        description: Some("from inst1".into()),
    };
    let img =
        c.d.create_image(&ctx(), &req("inst1", Some("golden")))
            .await
            .expect("create");
    assert_eq!(
        (img.id.as_str(), img.name.as_str(), img.owner_id.as_str()),
        ("golden", "golden", "root")
    );
    assert_eq!(
        (img.architecture.as_str(), img.state.as_deref()),
        ("i386", Some("AVAILABLE"))
    );
    assert_eq!(img.description, "from inst1");
    assert_eq!(img.hardware_profiles.as_ref().map(Vec::len), Some(4));
    let all = ids(
        &c.d.images(&ctx(), &Filter::default()).await.expect("list"),
        |i| i.id.to_string(),
    );
    assert_eq!(
        all,
        ["img1", "img2", "img3", "golden"],
        "sorted by (owner, description, id): mockuser < root"
    );

    assert_eq!(
        kind(c.d.create_image(&ctx(), &req("nope", Some("x"))).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        err(c.d.create_image(&ctx(), &req("inst3", Some("x"))).await),
        (ErrorKind::Internal, "CreateImageNotSupported".to_owned())
    );
    assert_eq!(
        kind(c.d.create_image(&ctx(), &req("inst1", None)).await),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(c.d.create_image(&ctx(), &req("inst1", Some(""))).await),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(
            c.d.create_image(&ctx(), &req("inst1", Some("golden")))
                .await
        ),
        ErrorKind::Conflict
    );
    assert_eq!(
        kind(c.d.create_image(&ctx(), &req("inst1", Some("img1"))).await),
        ErrorKind::Conflict
    );

    c.d.destroy_image(&ctx(), &"golden".into())
        .await
        .expect("destroy");
    c.d.destroy_image(&ctx(), &"golden".into())
        .await
        .expect("destroying a missing image is fine");
    assert!(
        c.d.images(&ctx(), &Filter::by_id("golden"))
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn create_instance_defaults() {
    let c = Cloud::new();
    let before = crate::util::now_secs();
    let made =
        c.d.create_instance(&ctx(), &create("img2"))
            .await
            .expect("create");
    assert_eq!(made.len(), 1);
    let i = &made[0];
    assert_eq!(i.id, "inst4", "first create on the seed");
    assert_eq!(i.state, S::Running);
    assert_eq!(i.actions, [A::Reboot, A::Stop]);
    assert_eq!(i.owner_id.as_deref(), Some("mockuser"));
    assert_eq!(i.image_id.as_deref(), Some("img2"));
    assert_eq!(i.realm_id.as_deref(), Some("us"));
    assert_eq!(i.profile.as_ref().map(|p| p.id.as_str()), Some("m1-small"));
    assert!(i.create_image);
    assert_eq!(i.public_addresses[0].address, "img2.inst4.public.com");
    assert_eq!(i.public_addresses[0].kind, AddressType::Hostname);
    assert_eq!(i.private_addresses[0].address, "img2.inst4.private.com");
    let name = i.name.clone().expect("name");
    let epoch: i64 = name
        .strip_prefix("i-")
        .and_then(|n| n.parse().ok())
        .expect("i-<epoch>");
    assert!(epoch >= before && epoch <= crate::util::now_secs());
    assert_eq!(i.keyname, None);
    // Shown the same way by list and show.
    let shown =
        c.d.instance(&ctx(), &"inst4".into())
            .await
            .expect("show")
            .expect("exists");
    assert_eq!(&shown, i);
}

#[tokio::test]
async fn create_instance_with_parameters() {
    let c = Cloud::new();
    let req = CreateInstance {
        image_id: "img1".into(),
        realm_id: Some("eu".into()),
        hwp_id: Some("m1-large".into()),
        hwp_overrides: [
            (PropertyName::Memory, "8192".to_owned()),
            (PropertyName::Cpu, "2".to_owned()),
        ]
        .into(),
        keyname: Some("test-key".into()),
        name: Some("web".into()),
        user_data: Some(b"echo hi".to_vec()),
        ..CreateInstance::default()
    };
    let i =
        c.d.create_instance(&ctx(), &req)
            .await
            .expect("create")
            .remove(0);
    assert_eq!(i.realm_id.as_deref(), Some("eu"));
    assert_eq!(i.name.as_deref(), Some("web"));
    assert_eq!(i.keyname.as_deref(), Some("test-key"));
    let p = i.profile.expect("profile");
    assert_eq!(p.id, "m1-large");
    assert_eq!(
        p.overrides.get(&PropertyName::Memory).map(String::as_str),
        Some("8192")
    );
    assert_eq!(
        p.overrides.get(&PropertyName::Cpu).map(String::as_str),
        Some("2")
    );

    // Several at once get consecutive free ids.
    let many =
        c.d.create_instance(
            &ctx(),
            &CreateInstance {
                instance_count: Some(3),
                ..create("img1")
            },
        )
        .await
        .expect("many");
    assert_eq!(
        ids(&many, |i| i.id.to_string()),
        ["inst5", "inst6", "inst7"]
    );

    // CIMI may ask for a stopped machine.
    let stopped = CreateInstance {
        initial_state: Some(S::Stopped),
        ..create("img1")
    };
    let s =
        c.d.create_instance(&ctx(), &stopped)
            .await
            .expect("stopped")
            .remove(0);
    assert_eq!(
        (s.state, s.actions.clone()),
        (S::Stopped, vec![A::Start, A::Destroy])
    );
}

#[tokio::test]
async fn create_instance_errors() {
    let c = Cloud::new();
    let bad_hwp = CreateInstance {
        hwp_id: Some("m9-huge".into()),
        ..create("img1")
    };
    assert_eq!(
        err(c.d.create_instance(&ctx(), &bad_hwp).await),
        (
            ErrorKind::Validation,
            "Hardware profile 'm9-huge' does not exists.".to_owned()
        )
    );
    let bad_realm = CreateInstance {
        realm_id: Some("mars".into()),
        ..create("img1")
    };
    assert_eq!(
        kind(c.d.create_instance(&ctx(), &bad_realm).await),
        ErrorKind::Validation
    );
    for n in [0, crate::compute::MAX_INSTANCE_COUNT + 1] {
        let r = CreateInstance {
            instance_count: Some(n),
            ..create("img1")
        };
        assert_eq!(
            kind(c.d.create_instance(&ctx(), &r).await),
            ErrorKind::Validation,
            "count {n}"
        );
    }
    let r = CreateInstance {
        initial_state: Some(S::Paused),
        ..create("img1")
    };
    assert_eq!(
        kind(c.d.create_instance(&ctx(), &r).await),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(c.d.create_instance(&ctx(), &create("")).await),
        ErrorKind::Validation
    );
    // The image id is not validated (as in the original).
    assert!(
        c.d.create_instance(&ctx(), &create("no-such-image"))
            .await
            .is_ok()
    );
    // Nothing else was created by the failures.
    assert_eq!(
        c.d.instances(&ctx(), &Filter::default())
            .await
            .expect("list")
            .len(),
        5
    );
}

#[tokio::test]
async fn smallest_free_id_is_reused() {
    let c = Cloud::new();
    c.d.stop_instance(&ctx(), &"inst1".into())
        .await
        .expect("stop");
    c.d.destroy_instance(&ctx(), &"inst1".into())
        .await
        .expect("destroy");
    let i =
        c.d.create_instance(&ctx(), &create("img1"))
            .await
            .expect("create")
            .remove(0);
    assert_eq!(i.id, "inst1");
    assert_eq!(
        c.d.create_instance(&ctx(), &create("img1"))
            .await
            .expect("next")
            .remove(0)
            .id,
        "inst4"
    );
}

#[tokio::test]
async fn lifecycle() {
    let c = Cloud::new();
    let id = "inst0".into();
    let i = c.d.stop_instance(&ctx(), &id).await.expect("stop");
    assert_eq!(
        (i.state, i.actions.clone()),
        (S::Stopped, vec![A::Start, A::Destroy])
    );
    assert_eq!(
        c.d.instances(&ctx(), &filter_state("STOPPED"))
            .await
            .expect("list")
            .len(),
        1
    );
    let i = c.d.start_instance(&ctx(), &id).await.expect("start");
    assert_eq!(
        (i.state, i.actions.clone()),
        (S::Running, vec![A::Reboot, A::Stop])
    );
    let i = c.d.reboot_instance(&ctx(), &id).await.expect("reboot");
    assert_eq!(i.state, S::Running);
    // The overrides and addresses are untouched by state changes.
    assert_eq!(
        i.profile
            .as_ref()
            .and_then(|p| p.overrides.get(&PropertyName::Memory))
            .map(String::as_str),
        Some("12288")
    );

    // As in the original, the driver itself does not refuse actions in stable states (the /api
    // frontend checks the state machine; EC2 and CIMI delete running machines directly).
    c.d.destroy_instance(&ctx(), &"inst2".into())
        .await
        .expect("destroy running");
    assert!(
        c.d.instance(&ctx(), &"inst2".into())
            .await
            .expect("show")
            .is_none()
    );

    for a in ["start", "stop", "reboot", "destroy"] {
        let r = match a {
            "start" => c.d.start_instance(&ctx(), &"nope".into()).await.map(drop),
            "stop" => c.d.stop_instance(&ctx(), &"nope".into()).await.map(drop),
            "reboot" => c.d.reboot_instance(&ctx(), &"nope".into()).await.map(drop),
            _ => c.d.destroy_instance(&ctx(), &"nope".into()).await,
        };
        assert_eq!(kind(r), ErrorKind::NotFound, "{a} on a missing instance");
    }
}

#[tokio::test]
async fn destroy_removes_network_interfaces() {
    let c = Cloud::new();
    c.d.destroy_instance(&ctx(), &"inst3".into())
        .await
        .expect("destroy");
    let nics =
        c.d.network_interfaces(&ctx(), &Filter::default())
            .await
            .expect("nics");
    assert_eq!(ids(&nics, |n| n.id.to_string()), ["nic1"]);
}

#[tokio::test]
async fn instance_filters() {
    let c = Cloud::new();
    c.d.stop_instance(&ctx(), &"inst2".into())
        .await
        .expect("stop");
    let list = |f: Filter| {
        let d = &c.d;
        async move {
            ids(&d.instances(&ctx(), &f).await.expect("instances"), |i| {
                i.id.to_string()
            })
        }
    };
    assert_eq!(list(Filter::by_id("inst1")).await, ["inst1"]);
    assert_eq!(
        list(Filter {
            id: Some(vec!["inst3".into(), "inst0".into()]),
            ..Filter::default()
        })
        .await,
        ["inst0", "inst3"]
    );
    assert_eq!(
        list(filter_state("RUNNING")).await,
        ["inst0", "inst1", "inst3"]
    );
    assert_eq!(list(filter_state("STOPPED")).await, ["inst2"]);
    assert_eq!(
        list(Filter {
            realm_id: Some(vec!["eu".into()]),
            ..Filter::default()
        })
        .await,
        ["inst3"]
    );
    assert_eq!(
        list(Filter {
            owner_id: Some(vec!["someoneelse".into()]),
            ..Filter::default()
        })
        .await,
        Vec::<String>::new()
    );
    assert!(list(Filter::by_id("nope")).await.is_empty());
}

#[tokio::test]
async fn run_on_instance() {
    let c = Cloud::new();
    let cmd = |s: &str| RunCommand {
        cmd: s.into(),
        private_key: None,
        password: None,
        ip: None,
        port: 22,
    };
    let r =
        c.d.run_on_instance(&ctx(), &"inst0".into(), &cmd("uname -a"))
            .await
            .expect("run");
    assert_eq!(r.instance_id, "inst0");
    assert_eq!(r.public_address.as_deref(), Some("img1.inst0.public.com"));
    assert_eq!(r.command, "uname -a");
    assert_eq!(
        r.output,
        "This is where the output from 'uname -a' would appear if this were not a mock provider"
    );
    assert_eq!(
        kind(
            c.d.run_on_instance(&ctx(), &"nope".into(), &cmd("ls"))
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(c.d.run_on_instance(&ctx(), &"inst0".into(), &cmd("")).await),
        ErrorKind::Validation
    );
}

#[tokio::test]
async fn keys() {
    let c = Cloud::new();
    let k =
        c.d.create_key(
            &ctx(),
            &CreateKey {
                name: "mykey".into(),
                public_key: None,
            },
        )
        .await
        .expect("create");
    assert_eq!((k.id.as_str(), k.name.as_str()), ("mykey", "mykey"));
    assert_eq!(k.credential_type, deltacloud_core::CredentialType::Key);
    let fp = k.fingerprint.clone().expect("fingerprint");
    assert_eq!(fp.len(), 59);
    assert!(
        k.pem_rsa_key
            .as_deref()
            .is_some_and(|p| p.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"))
    );
    // The mock shows the private key again on later reads.
    let again =
        c.d.keys(&ctx(), &Filter::by_id("mykey"))
            .await
            .expect("show");
    assert_eq!(again, vec![k.clone()]);
    let other =
        c.d.create_key(
            &ctx(),
            &CreateKey {
                name: "other".into(),
                public_key: None,
            },
        )
        .await
        .expect("other");
    assert_ne!(other.fingerprint, k.fingerprint, "random");
    assert_ne!(other.pem_rsa_key, k.pem_rsa_key, "random");

    assert_eq!(
        err(c
            .d
            .create_key(
                &ctx(),
                &CreateKey {
                    name: "test-key".into(),
                    public_key: None
                }
            )
            .await),
        (
            ErrorKind::Forbidden,
            "Key with same name already exists".to_owned()
        )
    );
    assert_eq!(
        kind(
            c.d.create_key(
                &ctx(),
                &CreateKey {
                    name: String::new(),
                    public_key: None
                }
            )
            .await
        ),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(
            c.d.create_key(
                &ctx(),
                &CreateKey {
                    name: "a/b".into(),
                    public_key: None
                }
            )
            .await
        ),
        ErrorKind::Validation
    );

    c.d.destroy_key(&ctx(), &"mykey".into())
        .await
        .expect("destroy");
    assert_eq!(
        kind(c.d.destroy_key(&ctx(), &"mykey".into()).await),
        ErrorKind::NotFound
    );
    let names = ids(
        &c.d.keys(&ctx(), &Filter::default()).await.expect("list"),
        |k| k.id.to_string(),
    );
    assert_eq!(names, ["other", "test-key"]);
}

/// `instances_shared` hands out the memoized list itself while nothing changes (the same
/// `Arc`), a new one after a write, and a filtered copy when the filter drops instances.
#[tokio::test]
async fn shared_instance_lists_follow_writes() {
    let c = Cloud::new();
    let all = Filter::default();
    let a = c.d.instances_shared(&ctx(), &all).await.unwrap();
    let b = c.d.instances_shared(&ctx(), &all).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "unchanged: the same list");
    assert_eq!(*a, c.d.instances(&ctx(), &all).await.unwrap());

    c.d.create_instance(&ctx(), &create("img1")).await.unwrap();
    let after = c.d.instances_shared(&ctx(), &all).await.unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&a, &after),
        "a write gives a new list"
    );
    assert_eq!(after.len(), a.len() + 1);

    let nobody = Filter {
        owner_id: Some(vec!["nobody".to_owned()]),
        ..Filter::default()
    };
    assert!(
        c.d.instances_shared(&ctx(), &nobody)
            .await
            .unwrap()
            .is_empty()
    );
    let first = after[0].id.clone();
    let one =
        c.d.instances_shared(&ctx(), &Filter::by_id(&first))
            .await
            .unwrap();
    assert_eq!(one.iter().map(|i| &i.id).collect::<Vec<_>>(), [&first]);
}

/// `images_shared`, like `instances_shared`: the memoized list while nothing changes, a new one
/// after a write, a filtered copy when the filter drops images; always what `images` says.
#[tokio::test]
async fn shared_image_lists_follow_writes() {
    let c = Cloud::new();
    let all = Filter::default();
    let a = c.d.images_shared(&ctx(), &all).await.unwrap();
    let b = c.d.images_shared(&ctx(), &all).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "unchanged: the same list");
    assert_eq!(*a, c.d.images(&ctx(), &all).await.unwrap());

    let req = CreateImage {
        instance_id: "inst1".into(),
        name: Some("golden".to_owned()),
        description: None,
    };
    c.d.create_image(&ctx(), &req).await.unwrap();
    let after = c.d.images_shared(&ctx(), &all).await.unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&a, &after),
        "a write gives a new list"
    );
    assert_eq!(after.len(), a.len() + 1);

    let mine = Filter {
        owner_id: Some(vec!["self".to_owned()]),
        ..Filter::default()
    };
    let shared = c.d.images_shared(&ctx(), &mine).await.unwrap();
    assert_eq!(*shared, c.d.images(&ctx(), &mine).await.unwrap());
    assert!(shared.len() < after.len(), "the filter dropped some");
    assert!(shared.iter().all(|i| i.owner_id == "mockuser"));
}
