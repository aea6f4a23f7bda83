//! Wire parsing: EC2's and moto's spellings of the same documents, and recorded bodies that the
//! replay tests cannot reach (their requests used parameters we no longer send).

use super::*;
use crate::wire::{self, DescribeInstances, Reservation, ReturnResponse};
use deltacloud_core::{InstanceAction, InstanceState};
use deltacloud_testkit::{Cassette, fixtures_dir};

fn recording(name: &str) -> Cassette {
    Cassette::load(fixtures_dir().join("ec2/recordings").join(name)).expect("cassette")
}

/// The body of the first recorded answer to a request whose URI contains `action`.
fn recorded_body(c: &Cassette, action: &str) -> String {
    let it = c
        .interactions
        .iter()
        .find(|i| i.request.uri.contains(action))
        .expect("recorded action");
    String::from_utf8(it.response.body.clone()).expect("utf-8")
}

const INSTANCES_TEMPLATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="NS">
  <requestId>r</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>i-1</instanceId>
          <imageId>ami-1</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateDnsName>ip-10-0-0-1.ec2.internal</privateDnsName>
          <dnsName/>
          <keyName>k1</keyName>
          <instanceType>m1.small</instanceType>
          <launchTime>2024-01-01T00:00:00.000Z</launchTime>
          <placement><availabilityZone>us-east-1a</availabilityZone></placement>
          <subnetId>subnet-1</subnetId>
          <rootDeviceType>instance-store</rootDeviceType>
          <groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>
          <tagSet><item><key>Name</key><value>web</value></item></tagSet>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>"#;

/// Real EC2 writes the namespace with a trailing `/`, moto without; both parse the same.
#[test]
fn namespace_with_and_without_trailing_slash() {
    let d = driver(Duration::from_secs(1));
    let mut seen = Vec::new();
    for ns in [
        "http://ec2.amazonaws.com/doc/2016-11-15/",
        "http://ec2.amazonaws.com/doc/2016-11-15",
    ] {
        let body = INSTANCES_TEMPLATE.replace("NS", ns);
        let r: DescribeInstances = wire::parse(&body).unwrap();
        let list: Vec<_> = r
            .reservation_set
            .item
            .into_iter()
            .flat_map(|r| d.convert_reservation(r))
            .collect();
        seen.push(list);
    }
    assert_eq!(seen[0], seen[1]);
    let i = &seen[0][0];
    assert_eq!(i.id, "i-1");
    assert_eq!(i.name.as_deref(), Some("web"), "the Name tag wins");
    assert_eq!(i.state, InstanceState::Running);
    assert_eq!(i.realm_id.as_deref(), Some("us-east-1a:subnet-1"));
    assert_eq!(i.owner_id.as_deref(), Some("123456789012"));
    assert!(
        i.public_addresses.is_empty(),
        "an empty <dnsName/> is no address"
    );
    assert_eq!(i.private_addresses.len(), 1);
    assert_eq!(i.firewalls.as_ref().unwrap()[0], "default");
    // Instance-store: no stop/start, destroy instead.
    assert_eq!(i.actions, [InstanceAction::Reboot, InstanceAction::Destroy]);
}

/// moto's `RebootInstancesResponse` has no `<return>`; EC2's has `true`.
#[test]
fn reboot_answer_with_and_without_return() {
    let moto = r#"<RebootInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><requestId>x</requestId></RebootInstancesResponse>"#;
    let r: ReturnResponse = wire::parse(moto).unwrap();
    assert_eq!(r.ret, None);
    let ec2 = r#"<RebootInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><return>true</return></RebootInstancesResponse>"#;
    let r: ReturnResponse = wire::parse(ec2).unwrap();
    assert_eq!(r.ret.as_deref(), Some("true"));
}

#[test]
fn empty_sets_and_garbage() {
    let r: DescribeInstances = wire::parse(
        r#"<DescribeInstancesResponse><requestId>x</requestId><reservationSet/></DescribeInstancesResponse>"#,
    )
    .unwrap();
    assert!(r.reservation_set.item.is_empty());
    assert!(wire::parse::<wire::DescribeKeyPairs>("not xml at all <<<").is_err());
    assert!(wire::parse::<wire::CreateImageResponse>("<x><y/></x>").is_err());
}

/// `RunInstances` with `instance_count=2`, as real EC2 answered it in 2012: both instances,
/// pending, in us-east-1a.
#[test]
fn recorded_run_instances_with_two_instances() {
    let d = driver(Duration::from_secs(1));
    let c = recording(
        "test_0006_must_allow_to_create_multiple_instances_using_the_instance_count_parameter.yml",
    );
    let body = recorded_body(&c, "Action=RunInstances");
    let r: Reservation = wire::parse(&body).unwrap();
    let list = d.convert_reservation(r);
    let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["i-1175906a", "i-1775906c"]);
    for i in &list {
        assert_eq!(i.state, InstanceState::Pending);
        assert_eq!(i.realm_id.as_deref(), Some("us-east-1a"));
        assert_eq!(i.image_id.as_deref(), Some("ami-aecd60c7"));
        assert_eq!(i.profile.as_ref().map(|p| p.id.as_str()), Some("t1.micro"));
    }
}
