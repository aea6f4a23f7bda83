//! A fresh database holds exactly the catalogue of `mock-driver.md` §2 (values copied from the
//! spec's tables, not from the seed files, so a parsing mistake cannot hide).

use super::*;
use deltacloud_core::driver::{
    Addresses, Buckets, HardwareProfiles, Images, Instances, Keys, Metrics, Networks, Realms,
    StorageSnapshots, StorageVolumes,
};
use deltacloud_core::{
    AddressType, CredentialType, Filter, HardwareProfile, InstanceAction, InstanceState,
    PropertyKind, PropertyName, PropertyValue,
};
use std::collections::BTreeMap;

#[tokio::test]
async fn realms() {
    let c = Cloud::new();
    let r =
        c.d.realms(&ctx(), &Filter::default())
            .await
            .expect("realms");
    let got: Vec<(&str, &str, &str, Option<&String>)> = r
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                r.name.as_str(),
                r.state.as_str(),
                r.limit.as_ref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("us", "United States", "AVAILABLE", None),
            ("eu", "Europe", "AVAILABLE", None)
        ]
    );
    let eu = c.d.realms(&ctx(), &Filter::by_id("eu")).await.expect("eu");
    assert_eq!(eu.len(), 1);
    assert!(
        c.d.realms(&ctx(), &Filter::by_id("mars"))
            .await
            .expect("none")
            .is_empty()
    );
}

fn prop(p: &HardwareProfile, n: PropertyName) -> &PropertyKind {
    &p.property(n).expect("property").kind
}

#[tokio::test]
async fn hardware_profiles() {
    use PropertyName as P;
    use PropertyValue as V;
    let c = Cloud::new();
    // Static: no credentials needed.
    let all =
        c.d.hardware_profiles(&anonymous(), &Filter::default())
            .await
            .expect("profiles");
    let names: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(names, ["m1-small", "m1-large", "m1-xlarge", "opaque"]);
    for p in &all {
        let order: Vec<PropertyName> = p.properties.iter().map(|x| x.name).collect();
        if p.id == "opaque" {
            assert!(order.is_empty());
        } else {
            assert_eq!(
                order,
                [P::Cpu, P::Memory, P::Storage, P::Architecture],
                "{}",
                p.id
            );
        }
    }
    let small = &all[0];
    assert_eq!(prop(small, P::Cpu), &PropertyKind::Fixed(V::Int(1)));
    assert_eq!(
        prop(small, P::Memory),
        &PropertyKind::Fixed(V::Float(1740.8))
    );
    assert_eq!(
        prop(small, P::Memory).clone(),
        PropertyKind::Fixed(V::Float(1.7 * 1024.0))
    );
    assert_eq!(prop(small, P::Storage), &PropertyKind::Fixed(V::Int(160)));
    assert_eq!(
        prop(small, P::Architecture),
        &PropertyKind::Fixed(V::Text("i386".into()))
    );
    let large = &all[1];
    assert_eq!(
        prop(large, P::Cpu),
        &PropertyKind::Range {
            first: V::Int(1),
            last: V::Int(6),
            default: None
        }
    );
    assert_eq!(
        prop(large, P::Memory),
        &PropertyKind::Range {
            first: V::Int(7680),
            last: V::Int(15360),
            default: Some(V::Int(10240))
        }
    );
    assert_eq!(
        prop(large, P::Storage),
        &PropertyKind::Enum {
            values: vec![V::Int(850), V::Int(1024)],
            default: None
        }
    );
    assert_eq!(
        prop(large, P::Architecture),
        &PropertyKind::Fixed(V::Text("x86_64".into()))
    );
    let xl = &all[2];
    assert_eq!(prop(xl, P::Cpu), &PropertyKind::Fixed(V::Int(4)));
    assert_eq!(
        prop(xl, P::Memory),
        &PropertyKind::Range {
            first: V::Int(12288),
            last: V::Int(32768),
            default: None
        }
    );
    assert_eq!(
        prop(xl, P::Storage),
        &PropertyKind::Enum {
            values: vec![V::Int(1024), V::Int(2048), V::Int(4096)],
            default: None
        }
    );
    assert_eq!(
        prop(xl, P::Architecture),
        &PropertyKind::Fixed(V::Text("x86_64".into()))
    );

    let arch = |a: &str| Filter {
        architecture: Some(vec![a.to_owned()]),
        ..Filter::default()
    };
    let i386 =
        c.d.hardware_profiles(&anonymous(), &arch("i386"))
            .await
            .expect("i386");
    assert_eq!(
        i386.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["m1-small"]
    );
    let x64 =
        c.d.hardware_profiles(&anonymous(), &arch("x86_64"))
            .await
            .expect("x86_64");
    assert_eq!(
        x64.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["m1-large", "m1-xlarge"]
    );
    // The list order rule of the API spec gives the same order.
    let mut sorted = all.clone();
    sorted.sort_by(HardwareProfile::list_order);
    assert_eq!(sorted, all);
}

#[tokio::test]
async fn images() {
    let c = Cloud::new();
    let all =
        c.d.images(&ctx(), &Filter::default())
            .await
            .expect("images");
    let got: Vec<(&str, &str, &str, &str, &str)> = all
        .iter()
        .map(|i| {
            (
                i.id.as_str(),
                i.name.as_str(),
                i.description.as_str(),
                i.owner_id.as_str(),
                i.architecture.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("img1", "img1", "Fedora 10", "fedoraproject", "x86_64"),
            ("img2", "img2", "Fedora 10", "fedoraproject", "i386"),
            ("img3", "img3", "JBoss", "mockuser", "i386"),
        ]
    );
    for i in &all {
        assert_eq!(i.state.as_deref(), Some("AVAILABLE"));
        assert_eq!(
            i.creation_time.as_deref(),
            Some("Thu Oct 25 14:27:53 CEST 2012")
        );
        assert_eq!(i.root_type.as_deref(), Some("transient"));
        let hwps: Vec<&str> = i
            .hardware_profiles
            .iter()
            .flatten()
            .map(|h| h.as_str())
            .collect();
        assert_eq!(hwps, ["m1-small", "m1-large", "m1-xlarge", "opaque"]);
    }
}

#[tokio::test]
async fn instances() {
    let c = Cloud::new();
    let all =
        c.d.instances(&ctx(), &Filter::default())
            .await
            .expect("instances");
    assert_eq!(
        ids(&all, |i| i.id.to_string()),
        ["inst0", "inst1", "inst2", "inst3"]
    );
    let expect = [
        (
            "inst0",
            "Mock Instance With Profile Change",
            "img1",
            "us",
            "m1-large",
            "img1.inst0",
        ),
        (
            "inst1",
            "MockUserInstance",
            "img3",
            "us",
            "m1-small",
            "img1.inst1",
        ),
        (
            "inst2",
            "AnotherInstance",
            "img1",
            "us",
            "m1-large",
            "img1.inst2",
        ),
        ("inst3", "", "img3", "eu", "m1-small", "img3.inst3"),
    ];
    for (i, (id, name, image, realm, hwp, host)) in all.iter().zip(expect) {
        assert_eq!(i.id, id);
        assert_eq!(i.name.as_deref(), Some(name));
        assert_eq!(i.owner_id.as_deref(), Some("mockuser"), "{id}");
        assert_eq!(i.image_id.as_deref(), Some(image));
        assert_eq!(i.realm_id.as_deref(), Some(realm));
        assert_eq!(i.state, InstanceState::Running);
        assert_eq!(i.actions, [InstanceAction::Reboot, InstanceAction::Stop]);
        assert_eq!(i.profile.as_ref().map(|p| p.id.as_str()), Some(hwp));
        assert_eq!(i.launch_time, None);
        assert_eq!(i.public_addresses.len(), 1);
        assert_eq!(i.public_addresses[0].address, format!("{host}.public.com"));
        assert_eq!(i.public_addresses[0].kind, AddressType::Hostname);
        assert_eq!(
            i.private_addresses[0].address,
            format!("{host}.private.com")
        );
        assert_eq!(i.private_addresses[0].kind, AddressType::Hostname);
        assert_eq!(i.create_image, id != "inst3");
        assert_eq!(
            i.keyname.as_deref(),
            if id == "inst3" { Some("") } else { None }
        );
    }
    let overrides: BTreeMap<PropertyName, String> =
        [(PropertyName::Memory, "12288".to_owned())].into();
    assert_eq!(
        all[0].profile.as_ref().map(|p| &p.overrides),
        Some(&overrides)
    );
    assert!(
        all[1]
            .profile
            .as_ref()
            .is_some_and(|p| p.overrides.is_empty())
    );
    // storage_volumes: [] for inst0..2, absent for inst3.
    assert_eq!(all[0].storage_volumes, Some(vec![]));
    assert_eq!(
        all[1].storage_volumes,
        Some(vec![]),
        "vol3 claims inst1, inst1 lists nothing"
    );
    assert_eq!(all[2].storage_volumes, Some(vec![]));
    assert_eq!(all[3].storage_volumes, None);
    // network_interfaces: [], [nic1], absent, [nicinst3].
    assert_eq!(all[0].network_interfaces, Some(vec![]));
    assert_eq!(all[1].network_interfaces, Some(vec!["nic1".into()]));
    assert_eq!(all[2].network_interfaces, None);
    assert_eq!(all[3].network_interfaces, Some(vec!["nicinst3".into()]));
}

#[tokio::test]
async fn keys() {
    let c = Cloud::new();
    let keys = c.d.keys(&ctx(), &Filter::default()).await.expect("keys");
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k.id, "test-key");
    assert_eq!(k.name, "test-key");
    assert_eq!(k.credential_type, CredentialType::Key);
    assert_eq!(
        k.fingerprint.as_deref(),
        Some("5e:ce:b6:dc:59:3b:5c:93:f8:2e:9d:20:ce:60:ca:f5:0b:8a:66:93")
    );
    assert_eq!(
        (k.state.as_ref(), k.username.as_ref(), k.password.as_ref()),
        (None, None, None)
    );
    let pem = k.pem_rsa_key.as_deref().expect("pem");
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.len(), 23);
    assert_eq!(lines[0], "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(
        lines[1],
        "P9mRXOY7p2SmMzTGA6dwKxUp1NB8LNCIJ7sMGgAljsf=ToAi9qn9myx0EQJkE8FZ8FigUIMHS/T"
    );
    assert_eq!(
        lines[22],
        "6rjiLETNeMTWGcuIkLPe/PElmp4llKeFi6g2=E2AKeSDzNycr5eXHEnBuKfEnENXXo6n-----END RSA PRIVATE KEY-----"
    );
    assert!(!pem.ends_with('\n'));
}

#[tokio::test]
async fn storage() {
    let c = Cloud::new();
    let vols =
        c.d.storage_volumes(&ctx(), &Filter::default())
            .await
            .expect("volumes");
    let got: Vec<_> = vols
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.capacity.as_deref(),
                v.realm_id.as_deref(),
                v.state.as_deref(),
                v.instance_id.as_deref(),
                v.device.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("vol1", Some("1"), Some("us"), Some("AVAILABLE"), None, None),
            ("vol2", Some("1"), Some("us"), Some("AVAILABLE"), None, None),
            (
                "vol3",
                Some("1"),
                Some("us"),
                Some("IN-USE"),
                Some("inst1"),
                Some("/dev/sda1")
            ),
        ]
    );
    for v in &vols {
        assert_eq!(v.created.as_deref(), Some("Thu Jul 30 14:35:11 UTC 2009"));
        assert_eq!(
            (v.name.as_ref(), v.kind.as_ref(), v.actions.as_ref()),
            (None, None, None)
        );
    }
    let snaps =
        c.d.storage_snapshots(&ctx(), &Filter::default())
            .await
            .expect("snapshots");
    let got: Vec<_> = snaps
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.storage_volume_id.as_deref(),
                s.state.as_deref(),
                s.created.as_deref(),
            )
        })
        .collect();
    let created = Some("Wed Jul 29 18:15:24 UTC 2009");
    assert_eq!(
        got,
        [
            ("snap1", Some("vol1"), Some("COMPLETED"), created),
            ("snap2", Some("vol2"), Some("COMPLETED"), created),
            ("snap3", Some("vol2"), Some("COMPLETED"), created),
        ]
    );
}

#[tokio::test]
async fn buckets_and_blobs() {
    use futures_util::TryStreamExt as _;
    let c = Cloud::new();
    let b =
        c.d.buckets(&ctx(), &Filter::default())
            .await
            .expect("buckets");
    let got: Vec<_> = b
        .iter()
        .map(|b| {
            (
                b.id.as_str(),
                b.name.as_str(),
                b.size,
                b.blob_list.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bucket1",
                "bucket1",
                Some(3),
                vec!["blob1", "blob2", "blob3"]
            ),
            ("bucket2", "bucket2", Some(2), vec!["blob4", "blob5"]),
        ]
    );
    type Row<'a> = (
        &'a str,
        &'a str,
        &'a str,
        u64,
        &'a str,
        &'a str,
        Option<(&'a str, &'a str)>,
    );
    let table: [Row<'_>; 5] = [
        (
            "blob1",
            "bucket1",
            "text/plain",
            17,
            "2010-09-23 16:44:54 +0100",
            "content of blob 1",
            Some(("SOMENEWKEY", "NEWVALUE")),
        ),
        (
            "blob2",
            "bucket1",
            "text/html",
            56,
            "2010-09-23 16:55:05 +0100",
            "<html><head></head><body>content of blob 2</body></html>",
            Some(("VERSION", "1.2")),
        ),
        (
            "blob3",
            "bucket1",
            "text/plain",
            17,
            "2010-08-14 02:14:31 +0100",
            "content of blob 3",
            None,
        ),
        (
            "blob4",
            "bucket2",
            "application/octet-stream",
            17,
            "2010-09-21 06:17:24 +0100",
            "content of blob 4",
            Some(("some", "value")),
        ),
        (
            "blob5",
            "bucket2",
            "application/pdf",
            17,
            "2009-07-21 11:12:13 +0100",
            "content of blob 5",
            None,
        ),
    ];
    for (id, bucket, ctype, len, modified, content, meta) in table {
        let blob =
            c.d.blob(&ctx(), &bucket.into(), &id.into())
                .await
                .expect("blob")
                .expect("exists");
        assert_eq!(blob.bucket, bucket);
        assert_eq!(blob.content_type.as_deref(), Some(ctype));
        assert_eq!(blob.content_length, len);
        assert_eq!(blob.last_modified.as_deref(), Some(modified));
        match meta {
            Some((k, v)) => assert_eq!(
                blob.user_metadata,
                Some([(k.to_owned(), v.to_owned())].into())
            ),
            // The seed stores an empty *string*: no map at all.
            None => assert_eq!(blob.user_metadata, None, "{id}"),
        }
        let data: Vec<bytes::Bytes> =
            c.d.blob_data(&ctx(), &bucket.into(), &id.into())
                .await
                .expect("data")
                .try_collect()
                .await
                .expect("read");
        assert_eq!(data.concat(), content.as_bytes(), "{id}");
    }
}

#[tokio::test]
async fn addresses_networks_and_metrics() {
    let c = Cloud::new();
    let a =
        c.d.addresses(&ctx(), &Filter::default())
            .await
            .expect("addresses");
    let got: Vec<_> = a
        .iter()
        .map(|a| (a.id.as_str(), a.instance_id.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("192.168.0.1", None),
            ("192.168.0.2", None),
            ("192.168.0.3", None),
            ("192.168.0.4", None)
        ]
    );

    let n =
        c.d.networks(&ctx(), &Filter::default())
            .await
            .expect("networks");
    let got: Vec<_> = n
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                n.name.as_str(),
                n.address_blocks.clone(),
                n.subnets.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                n.state.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "net1",
                "network1",
                vec!["192.168.0.0/16".to_owned()],
                vec!["subnet1", "subnet2"],
                Some("UP")
            ),
            (
                "net2",
                "network2",
                vec!["10.0.0.0/8".to_owned()],
                vec!["subnet3", "subnet4"],
                Some("UP")
            ),
        ]
    );
    let s =
        c.d.subnets(&ctx(), &Filter::default())
            .await
            .expect("subnets");
    let got: Vec<_> = s
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.name.as_str(),
                s.network.as_deref(),
                s.address_block.as_deref(),
                s.kind.as_deref(),
                s.state.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "subnet1",
                "subnet1",
                Some("net1"),
                Some("192.168.1.0/24"),
                Some("PRIVATE"),
                Some("UP")
            ),
            (
                "subnet2",
                "subnet2",
                Some("net1"),
                Some("192.168.2.0/24"),
                Some("PRIVATE"),
                Some("UP")
            ),
            (
                "subnet3",
                "subnet3",
                Some("net2"),
                Some("10.1.0.0/16"),
                Some("PRIVATE"),
                Some("UP")
            ),
            (
                "subnet4",
                "subnet4",
                Some("net2"),
                Some("10.2.0.0/16"),
                Some("PRIVATE"),
                Some("UP")
            ),
        ]
    );
    let nics =
        c.d.network_interfaces(&ctx(), &Filter::default())
            .await
            .expect("nics");
    let got: Vec<_> = nics
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                n.name.as_str(),
                n.instance.as_deref(),
                n.network.as_deref(),
                n.ip_address.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "nic1",
                "nic1",
                Some("inst1"),
                Some("subnet1"),
                Some("192.168.1.2")
            ),
            (
                "nicinst3",
                "nicinst3",
                Some("inst3"),
                Some("net1"),
                Some("192.168.2.189")
            ),
        ]
    );

    let m =
        c.d.metrics(&ctx(), &Filter::default())
            .await
            .expect("metrics");
    assert_eq!(
        ids(&m, |m| m.id.to_string()),
        ["inst0", "inst1", "inst2", "inst3"]
    );
    assert_eq!(m[0].entity, "Mock Instance With Profile Change");
    let names: Vec<&str> = m[0].properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cpuUtilization",
            "diskReadRequestCount",
            "diskReadSector",
            "diskWriteRequestCount",
            "diskWriteSector",
            "nicInputByte",
            "nicInputPacket",
            "nicOutputByte",
            "nicOutputPacket"
        ]
    );
    assert!(
        m.iter()
            .flat_map(|m| &m.properties)
            .all(|p| p.values.is_none()),
        "no values in the list"
    );
}
