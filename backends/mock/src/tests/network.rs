//! Addresses, networks, subnets, network interfaces and metrics.

use super::*;
use deltacloud_core::Driver as _;
use deltacloud_core::driver::{Addresses, Instances, Metrics, Networks};
use deltacloud_core::{AddressType, ErrorKind, Filter};

#[tokio::test]
async fn address_lifecycle() {
    let c = Cloud::new();
    let a = c.d.create_address(&ctx()).await.expect("create");
    assert_eq!(
        (a.id.as_str(), a.instance_id.as_ref()),
        ("192.168.0.5", None)
    );
    assert_eq!(
        c.d.create_address(&ctx()).await.expect("next").id,
        "192.168.0.6"
    );

    c.d.associate_address(&ctx(), &"192.168.0.5".into(), &"inst1".into())
        .await
        .expect("associate");
    let i =
        c.d.instance(&ctx(), &"inst1".into())
            .await
            .expect("show")
            .expect("inst1");
    assert_eq!(i.public_addresses.len(), 1);
    assert_eq!(
        (
            i.public_addresses[0].address.as_str(),
            i.public_addresses[0].kind
        ),
        ("192.168.0.5", AddressType::Ipv4)
    );
    let a =
        c.d.addresses(&ctx(), &Filter::by_id("192.168.0.5"))
            .await
            .expect("show")
            .remove(0);
    assert_eq!(a.instance_id.as_deref(), Some("inst1"));

    assert_eq!(
        err(c
            .d
            .associate_address(&ctx(), &"192.168.0.5".into(), &"inst0".into())
            .await),
        (ErrorKind::Forbidden, "AddressInUse".to_owned())
    );
    assert_eq!(
        err(c.d.destroy_address(&ctx(), &"192.168.0.5".into()).await),
        (ErrorKind::Forbidden, "AddressInUse".to_owned())
    );
    assert_eq!(
        kind(
            c.d.associate_address(&ctx(), &"192.168.0.1".into(), &"nope".into())
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.associate_address(&ctx(), &"10.0.0.1".into(), &"inst0".into())
                .await
        ),
        ErrorKind::NotFound
    );

    c.d.disassociate_address(&ctx(), &"192.168.0.5".into())
        .await
        .expect("disassociate");
    let i =
        c.d.instance(&ctx(), &"inst1".into())
            .await
            .expect("show")
            .expect("inst1");
    // Restored from the image id (img3), not the seed's quirky img1 address.
    assert_eq!(i.public_addresses[0].address, "img3.inst1.public.com");
    assert_eq!(i.public_addresses[0].kind, AddressType::Hostname);
    assert_eq!(
        err(c
            .d
            .disassociate_address(&ctx(), &"192.168.0.5".into())
            .await),
        (ErrorKind::Forbidden, "AddressNotInUse".to_owned())
    );
    assert_eq!(
        kind(c.d.disassociate_address(&ctx(), &"10.0.0.1".into()).await),
        ErrorKind::NotFound
    );

    c.d.destroy_address(&ctx(), &"192.168.0.6".into())
        .await
        .expect("destroy");
    assert_eq!(
        kind(c.d.destroy_address(&ctx(), &"192.168.0.6".into()).await),
        ErrorKind::NotFound
    );
    let left = ids(
        &c.d.addresses(&ctx(), &Filter::default())
            .await
            .expect("list"),
        |a| a.id.to_string(),
    );
    assert_eq!(
        left,
        [
            "192.168.0.1",
            "192.168.0.2",
            "192.168.0.3",
            "192.168.0.4",
            "192.168.0.5"
        ]
    );
    // Next after the numerically highest, even when string order differs.
    for _ in 0..5 {
        c.d.create_address(&ctx()).await.expect("more");
    }
    let last =
        c.d.addresses(&ctx(), &Filter::default())
            .await
            .expect("list")
            .pop()
            .expect("last");
    assert_eq!(last.id, "192.168.0.10");
}

#[tokio::test]
async fn networks_and_subnets() {
    let c = Cloud::new();
    let n =
        c.d.create_network(&ctx(), "172.16.0.0/12", Some("lab"))
            .await
            .expect("create");
    assert_eq!(
        (n.id.as_str(), n.name.as_str(), n.state.as_deref()),
        ("lab", "lab", Some("UP"))
    );
    assert_eq!(n.address_blocks, ["172.16.0.0/12"]);
    assert!(n.subnets.is_empty());
    let anon =
        c.d.create_network(&ctx(), "172.20.0.0/16", None)
            .await
            .expect("generated id");
    assert!(anon.id.starts_with("net_"));
    let anon2 =
        c.d.create_network(&ctx(), "172.21.0.0/16", None)
            .await
            .expect("generated id");
    assert_ne!(anon.id, anon2.id);
    assert_eq!(
        kind(c.d.create_network(&ctx(), "10.0.0.0/8", Some("net1")).await),
        ErrorKind::Conflict
    );
    assert_eq!(
        kind(c.d.create_network(&ctx(), "not a block", None).await),
        ErrorKind::Validation
    );

    let s =
        c.d.create_subnet(&ctx(), &"lab".into(), "172.16.1.0/24", Some("lab-a"))
            .await
            .expect("subnet");
    assert_eq!(
        (
            s.id.as_str(),
            s.network.as_deref(),
            s.address_block.as_deref(),
            s.state.as_deref()
        ),
        ("lab-a", Some("lab"), Some("172.16.1.0/24"), Some("UP"))
    );
    let s2 =
        c.d.create_subnet(&ctx(), &"lab".into(), "172.16.2.0/24", None)
            .await
            .expect("subnet 2");
    assert!(s2.id.starts_with("subnet_"));
    assert_eq!(
        kind(
            c.d.create_subnet(&ctx(), &"nope".into(), "172.16.3.0/24", None)
                .await
        ),
        ErrorKind::NotFound
    );
    let lab =
        c.d.networks(&ctx(), &Filter::by_id("lab"))
            .await
            .expect("show")
            .remove(0);
    assert_eq!(
        lab.subnets,
        vec!["lab-a".into(), s2.id.clone()],
        "appended in creation order"
    );

    c.d.destroy_subnet(&ctx(), &"lab-a".into())
        .await
        .expect("destroy subnet");
    assert_eq!(
        kind(c.d.destroy_subnet(&ctx(), &"lab-a".into()).await),
        ErrorKind::NotFound
    );
    let lab =
        c.d.networks(&ctx(), &Filter::by_id("lab"))
            .await
            .expect("show")
            .remove(0);
    assert_eq!(lab.subnets, vec![s2.id.clone()]);

    c.d.destroy_network(&ctx(), &"lab".into())
        .await
        .expect("destroy network");
    assert!(
        c.d.subnets(&ctx(), &Filter::by_id(&s2.id))
            .await
            .expect("gone too")
            .is_empty()
    );
    assert_eq!(
        kind(c.d.destroy_network(&ctx(), &"lab".into()).await),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn network_interfaces() {
    let c = Cloud::new();
    let nic =
        c.d.create_network_interface(&ctx(), &"inst2".into(), "subnet3", Some("eth1"))
            .await
            .expect("create");
    assert_eq!(
        (
            nic.id.as_str(),
            nic.name.as_str(),
            nic.instance.as_deref(),
            nic.network.as_deref()
        ),
        ("eth1", "eth1", Some("inst2"), Some("subnet3"))
    );
    let ip: std::net::Ipv4Addr = nic
        .ip_address
        .as_deref()
        .expect("ip")
        .parse()
        .expect("ipv4");
    assert_eq!(&ip.octets()[..2], &[10, 1], "inside subnet3's 10.1.0.0/16");
    let i =
        c.d.instance(&ctx(), &"inst2".into())
            .await
            .expect("show")
            .expect("inst2");
    assert_eq!(
        i.network_interfaces,
        Some(vec!["eth1".into()]),
        "inst2 had no list: it is created"
    );

    // A network id works too (its first block); the name is generated.
    let n2 =
        c.d.create_network_interface(&ctx(), &"inst0".into(), "net2", None)
            .await
            .expect("by network");
    assert!(n2.id.starts_with("nic_"));
    assert!(
        n2.ip_address
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10."))
    );

    assert_eq!(
        kind(
            c.d.create_network_interface(&ctx(), &"nope".into(), "subnet1", None)
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.create_network_interface(&ctx(), &"inst0".into(), "nope", None)
                .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.create_network_interface(&ctx(), &"inst0".into(), "subnet1", Some("nic1"))
                .await
        ),
        ErrorKind::Conflict
    );

    c.d.destroy_network_interface(&ctx(), &"nic1".into())
        .await
        .expect("destroy");
    let i =
        c.d.instance(&ctx(), &"inst1".into())
            .await
            .expect("show")
            .expect("inst1");
    assert_eq!(i.network_interfaces, Some(vec![]));
    assert_eq!(
        kind(c.d.destroy_network_interface(&ctx(), &"nic1".into()).await),
        ErrorKind::NotFound
    );
    c.d.destroy_network_interface(&ctx(), &"eth1".into())
        .await
        .expect("destroy eth1");
    let listed = ids(
        &c.d.network_interfaces(&ctx(), &Filter::default())
            .await
            .expect("list"),
        |n| n.id.to_string(),
    );
    assert_eq!(listed, [n2.id.to_string(), "nicinst3".to_owned()]);
}

#[tokio::test]
async fn metric_values() {
    let c = Cloud::new();
    let m =
        c.d.metric(&ctx(), &"inst1".into())
            .await
            .expect("metric")
            .expect("exists");
    assert_eq!(
        (m.id.as_str(), m.entity.as_str()),
        ("inst1", "MockUserInstance")
    );
    assert_eq!(m.properties.len(), 9);
    let now = crate::util::now_secs();
    for p in &m.properties {
        let v = p.values.as_ref().expect("values");
        assert_eq!(v.len(), 6);
        for (k, s) in v.iter().enumerate() {
            let k = i64::try_from(k).expect("small");
            assert!((now - s.timestamp - k).abs() <= 2, "timestamps are now - k");
            if p.name == "cpuUtilization" {
                assert!(
                    (0.01..=0.49).contains(&s.minimum) && (0.5..=0.99).contains(&s.maximum),
                    "{s:?}"
                );
                assert!((s.average - (s.minimum + s.maximum) / 2.0).abs() < 1e-9);
                assert_eq!(s.unit, "Percent");
            } else {
                assert!(
                    (1.0..=49.0).contains(&s.minimum) && (50.0..=99.0).contains(&s.maximum),
                    "{s:?}"
                );
                assert_eq!(s.minimum.fract(), 0.0);
                assert_eq!(
                    s.average,
                    ((s.minimum + s.maximum) / 2.0).floor(),
                    "integer division"
                );
                let unit = if p.name.ends_with("Byte") {
                    "Bytes"
                } else {
                    "Count"
                };
                assert_eq!(s.unit, unit, "{}", p.name);
            }
        }
    }
    assert!(
        c.d.metric(&ctx(), &"nope".into())
            .await
            .expect("metric")
            .is_none()
    );
    let one =
        c.d.metrics(&ctx(), &Filter::by_id("inst3"))
            .await
            .expect("filtered");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].entity, "", "inst3's name is the empty string");
    // Destroyed instances have no metrics.
    c.d.destroy_instance(&ctx(), &"inst3".into())
        .await
        .expect("destroy");
    assert_eq!(
        c.d.metrics(&ctx(), &Filter::default())
            .await
            .expect("list")
            .len(),
        3
    );
}
