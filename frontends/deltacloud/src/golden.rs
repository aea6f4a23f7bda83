//! Golden-string tests of the XML and JSON shapes, on resources shaped like the mock driver's
//! seed data (`mock-driver.md` §2).

use crate::handlers::entry_links;
use crate::json::{self, Wrap};
use crate::view::{AuthKind, Traits, Urls};
use crate::xml;
use async_trait::async_trait;
use deltacloud_core::driver::*;
use deltacloud_core::features::{DriverFeature, FeatureName};
use deltacloud_core::hardware::{HardwareProperty, PropertyName as P};
use deltacloud_core::*;
use std::collections::BTreeMap;

pub(crate) fn urls() -> Urls {
    Urls::new("http", "localhost:3001")
}

pub(crate) fn mock_traits() -> Traits {
    Traits {
        auth: Some(AuthKind::Key),
        run: true,
        destroy_image: true,
        destroy_key: true,
    }
}

pub(crate) fn realm_us() -> Realm {
    Realm {
        id: "us".into(),
        name: "United States".into(),
        state: "AVAILABLE".into(),
        limit: None,
    }
}

pub(crate) fn m1_large() -> HardwareProfile {
    HardwareProfile::new(
        "m1-large",
        vec![
            HardwareProperty::range(P::Cpu, 1, 6, None),
            HardwareProperty::range(P::Memory, 7680, 15360, Some(10240.into())),
            HardwareProperty::enumeration(P::Storage, vec![850.into(), 1024.into()], None),
            HardwareProperty::fixed(P::Architecture, "x86_64"),
        ],
    )
}

pub(crate) fn m1_small() -> HardwareProfile {
    HardwareProfile::new(
        "m1-small",
        vec![
            HardwareProperty::fixed(P::Cpu, 1),
            HardwareProperty::fixed(P::Memory, 1740.8),
            HardwareProperty::fixed(P::Storage, 160),
            HardwareProperty::fixed(P::Architecture, "i386"),
        ],
    )
}

pub(crate) fn img1() -> Image {
    Image {
        id: "img1".into(),
        name: "img1".into(),
        description: "Fedora 10".into(),
        owner_id: "fedoraproject".into(),
        architecture: "x86_64".into(),
        state: Some("AVAILABLE".into()),
        creation_time: Some("Thu Oct 25 14:27:53 CEST 2012".into()),
        root_type: Some("transient".into()),
        hardware_profiles: Some(vec!["m1-small".into(), "m1-large".into()]),
    }
}

pub(crate) fn inst0() -> Instance {
    Instance {
        id: "inst0".into(),
        name: Some("Mock Instance With Profile Change".into()),
        owner_id: Some("mockuser".into()),
        image_id: Some("img1".into()),
        realm_id: Some("us".into()),
        state: InstanceState::Running,
        actions: vec![InstanceAction::Reboot, InstanceAction::Stop],
        public_addresses: vec![InstanceAddress::hostname("img1.inst0.public.com")],
        private_addresses: vec![InstanceAddress::hostname("img1.inst0.private.com")],
        profile: Some(InstanceProfile {
            id: "m1-large".into(),
            overrides: BTreeMap::from([(P::Memory, "12288".to_owned())]),
        }),
        launch_time: None,
        keyname: None,
        username: None,
        password: None,
        authn_error: None,
        create_image: true,
        firewalls: None,
        storage_volumes: Some(vec![]),
        network_interfaces: Some(vec![]),
    }
}

pub(crate) fn inst3() -> Instance {
    Instance {
        id: "inst3".into(),
        name: Some(String::new()),
        image_id: Some("img3".into()),
        realm_id: Some("eu".into()),
        public_addresses: vec![InstanceAddress::hostname("img3.inst3.public.com")],
        private_addresses: vec![InstanceAddress::hostname("img3.inst3.private.com")],
        profile: Some(InstanceProfile {
            id: "m1-small".into(),
            overrides: BTreeMap::new(),
        }),
        keyname: Some(String::new()),
        create_image: false,
        storage_volumes: None,
        network_interfaces: Some(vec!["nicinst3".into()]),
        ..inst0()
    }
}

pub(crate) fn test_key() -> Key {
    Key {
        id: "test-key".into(),
        name: "test-key".into(),
        credential_type: CredentialType::Key,
        fingerprint: Some("5e:ce:b6:dc:59:3b:5c:93:f8:2e:9d:20:ce:60:ca:f5:0b:8a:66:93".into()),
        pem_rsa_key: Some(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----".into(),
        ),
        username: None,
        password: None,
        state: None,
    }
}

/// A driver that only declares what the entry point reads (capabilities, features, machine).
pub(crate) struct Declared {
    caps: CapabilitySet,
    feats: Vec<DriverFeature>,
    machine: StateMachine,
    profiles: Vec<HardwareProfile>,
}

impl Declared {
    pub(crate) fn mock_like() -> Self {
        use Capability as C;
        Self {
            caps: CapabilitySet::new(&[
                C::Realms,
                C::Images,
                C::Instances,
                C::Keys,
                C::CreateInstance,
                C::StorageVolumes,
            ]),
            feats: vec![
                DriverFeature::new(FeatureName::AuthenticationKey),
                DriverFeature::new(FeatureName::UserName).with_constraint("max_length", "50"),
                DriverFeature::new(FeatureName::Metrics),
                DriverFeature::new(FeatureName::RealmFilter),
            ],
            machine: StateMachine::mock(),
            profiles: vec![m1_small()],
        }
    }
}

impl Realms for Declared {}
#[async_trait]
impl HardwareProfiles for Declared {
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &self.profiles
    }
}
impl Images for Declared {}
impl Instances for Declared {}
impl Keys for Declared {}
impl StorageVolumes for Declared {}
impl StorageSnapshots for Declared {}
impl Buckets for Declared {}
impl Addresses for Declared {}
impl Firewalls for Declared {}
impl LoadBalancers for Declared {}
impl Metrics for Declared {}
impl Networks for Declared {}

#[async_trait]
impl Driver for Declared {
    fn name(&self) -> &str {
        "mock"
    }
    fn capabilities(&self) -> &CapabilitySet {
        &self.caps
    }
    fn features(&self) -> &[DriverFeature] {
        &self.feats
    }
    fn state_machine(&self) -> Option<&StateMachine> {
        Some(&self.machine)
    }
    async fn valid_credentials(&self, _ctx: &RequestContext) -> Result<bool> {
        Ok(true)
    }
}

/// Render with this crate's writer, and insist that quick-xml's serializer agrees byte for byte.
fn x<T: serde::Serialize>(doc: &T, declare: bool) -> String {
    let ours = xml::render(doc, declare).unwrap();
    let mut reference = String::new();
    xml::write_quick_xml(&mut reference, doc, declare).unwrap();
    assert_eq!(ours, reference, "xmlser and quick-xml disagree");
    ours
}

fn j<T: serde::Serialize>(doc: &T) -> String {
    String::from_utf8(json::render(doc).unwrap()).unwrap()
}

#[test]
fn realm_xml_and_json() {
    let u = urls();
    assert_eq!(
        x(&xml::RealmXml::new(&u, &realm_us()), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<realm href="http://localhost:3001/api/realms/us" id="us">
  <name>United States</name>
  <state>AVAILABLE</state>
</realm>
"#
    );
    assert_eq!(
        j(&Wrap("realm", json::RealmJson::new(&u, &realm_us()))),
        r#"{"realm":{"id":"us","href":"http://localhost:3001/api/realms/us","name":"United States","state":"AVAILABLE","limit":"unlimited"}}"#
    );
    let limited = Realm {
        limit: Some("10".into()),
        ..realm_us()
    };
    assert!(x(&xml::RealmXml::new(&u, &limited), true).contains("<limit>10</limit>"));
    let list = [
        realm_us(),
        Realm {
            id: "eu".into(),
            name: "Europe".into(),
            ..realm_us()
        },
    ];
    let doc = x(&xml::RealmsXml::new(&u, &list), true);
    assert!(
        doc.starts_with("<?xml version='1.0' encoding='utf-8' ?>\n<realms>\n  <realm href="),
        "{doc}"
    );
}

#[test]
fn hardware_profile_xml_and_json() {
    let u = urls();
    assert_eq!(
        x(&xml::HardwareProfileXml::new(&u, &m1_large()), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<hardware_profile href="http://localhost:3001/api/hardware_profiles/m1-large" id="m1-large">
  <id>m1-large</id>
  <name>m1-large</name>
  <property kind="range" name="cpu" unit="count" value="1">
    <param href="http://localhost:3001/api/instances" method="post" name="hwp_cpu" operation="create"/>
    <range first="1" last="6"/>
  </property>
  <property kind="range" name="memory" unit="MB" value="10240">
    <param href="http://localhost:3001/api/instances" method="post" name="hwp_memory" operation="create"/>
    <range first="7680" last="15360"/>
  </property>
  <property kind="enum" name="storage" unit="GB" value="850">
    <param href="http://localhost:3001/api/instances" method="post" name="hwp_storage" operation="create"/>
    <enum>
      <entry value="850"/>
      <entry value="1024"/>
    </enum>
  </property>
  <property kind="fixed" name="architecture" unit="label" value="x86_64"/>
</hardware_profile>
"#
    );
    assert_eq!(
        j(&Wrap(
            "hardware_profile",
            json::HardwareProfileJson::new(&u, &m1_large())
        )),
        r#"{"hardware_profile":{"id":"m1-large","href":"http://localhost:3001/api/hardware_profiles/m1-large","name":"m1-large","properties":{"cpu":"1","memory":"10240","storage":"850","architecture":"x86_64"}}}"#
    );
    assert!(
        x(&xml::HardwareProfileXml::new(&u, &m1_small()), true)
            .contains(r#"name="memory" unit="MB" value="1740.8""#)
    );
    let opaque = HardwareProfile::new("opaque", vec![]);
    assert_eq!(
        j(&json::HardwareProfileJson::new(&u, &opaque)),
        r#"{"id":"opaque","href":"http://localhost:3001/api/hardware_profiles/opaque","name":"opaque"}"#,
        "no properties key for opaque profiles"
    );
}

#[test]
fn image_xml_and_json() {
    let u = urls();
    assert_eq!(
        x(&xml::ImageXml::new(&u, &img1(), mock_traits()), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<image href="http://localhost:3001/api/images/img1" id="img1">
  <name>img1</name>
  <description>Fedora 10</description>
  <owner_id>fedoraproject</owner_id>
  <architecture>x86_64</architecture>
  <state>AVAILABLE</state>
  <creation_time>Thu Oct 25 14:27:53 CEST 2012</creation_time>
  <hardware_profiles>
    <hardware_profile href="http://localhost:3001/api/hardware_profiles/m1-small" id="m1-small" rel="hardware_profile"/>
    <hardware_profile href="http://localhost:3001/api/hardware_profiles/m1-large" id="m1-large" rel="hardware_profile"/>
  </hardware_profiles>
  <root_type>transient</root_type>
  <actions>
    <link href="http://localhost:3001/api/instances;image_id=img1" method="post" rel="create_instance"/>
    <link href="http://localhost:3001/api/images/img1" method="delete" rel="destroy_image"/>
  </actions>
</image>
"#
    );
    assert_eq!(
        j(&Wrap("image", json::ImageJson::new(&u, &img1()))),
        r#"{"image":{"id":"img1","href":"http://localhost:3001/api/images/img1","name":"img1","description":"Fedora 10","owner":"fedoraproject","architecture":"x86_64","state":"AVAILABLE","root_type":"transient","creation_time":"Thu Oct 25 14:27:53 CEST 2012","hardware_profiles":[{"id":"m1-small","href":"http://localhost:3001/api/hardware_profiles/m1-small","rel":"hardware_profile"},{"id":"m1-large","href":"http://localhost:3001/api/hardware_profiles/m1-large","rel":"hardware_profile"}]}}"#
    );
    // Without destroy_image the link disappears; null attributes are null in JSON, absent in XML.
    let bare = Image {
        state: None,
        creation_time: None,
        hardware_profiles: None,
        ..img1()
    };
    let t = Traits {
        destroy_image: false,
        ..mock_traits()
    };
    let doc = x(&xml::ImageXml::new(&u, &bare, t), true);
    assert!(
        !doc.contains("destroy_image")
            && !doc.contains("<state")
            && !doc.contains("hardware_profiles"),
        "{doc}"
    );
    let doc = j(&json::ImageJson::new(&u, &bare));
    assert!(
        doc.contains(r#""state":null"#) && doc.contains(r#""hardware_profiles":null"#),
        "{doc}"
    );
}

#[test]
fn instance_xml_and_json() {
    let u = urls();
    let t = mock_traits();
    assert_eq!(
        x(&xml::InstanceXml::new(&u, &inst0(), t), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<instance href="http://localhost:3001/api/instances/inst0" id="inst0">
  <name>Mock Instance With Profile Change</name>
  <owner_id>mockuser</owner_id>
  <image href="http://localhost:3001/api/images/img1" id="img1"/>
  <realm href="http://localhost:3001/api/realms/us" id="us"/>
  <state>RUNNING</state>
  <hardware_profile href="http://localhost:3001/api/hardware_profiles/m1-large" id="m1-large">
    <property kind="fixed" name="memory" unit="MB" value="12288"/>
  </hardware_profile>
  <actions>
    <link href="http://localhost:3001/api/instances/inst0/reboot" method="post" rel="reboot"/>
    <link href="http://localhost:3001/api/instances/inst0/stop" method="post" rel="stop"/>
    <link href="http://localhost:3001/api/instances/inst0/run;id=inst0" method="post" rel="run"/>
    <link href="http://localhost:3001/api/images;instance_id=inst0" method="post" rel="create_image"/>
  </actions>
  <public_addresses>
    <address type="hostname">img1.inst0.public.com</address>
  </public_addresses>
  <private_addresses>
    <address type="hostname">img1.inst0.private.com</address>
  </private_addresses>
  <storage_volumes/>
  <authentication type="key"/>
  <network_interfaces/>
</instance>
"#
    );
    assert_eq!(
        j(&Wrap("instance", json::InstanceJson::new(&u, &inst0(), t))),
        r#"{"instance":{"id":"inst0","href":"http://localhost:3001/api/instances/inst0","name":"Mock Instance With Profile Change","state":"RUNNING","owner":"mockuser","image":{"href":"http://localhost:3001/api/images/img1","id":"img1","rel":"image"},"realm":{"href":"http://localhost:3001/api/realms/us","id":"us","rel":"realm"},"actions":[{"href":"http://localhost:3001/api/instances/inst0/reboot","rel":"reboot","method":"post"},{"href":"http://localhost:3001/api/instances/inst0/stop","rel":"stop","method":"post"},{"href":"http://localhost:3001/api/instances/inst0/run;id=inst0","rel":"run","method":"post"},{"href":"http://localhost:3001/api/images;instance_id=inst0","rel":"create_image","method":"post"}],"hardware_profile":{"id":"m1-large","href":"http://localhost:3001/api/hardware_profiles/m1-large","rel":"hardware_profile","properties":{"memory":"12288"}},"public_addresses":[{"address":"img1.inst0.public.com","type":"hostname"}],"private_addresses":[{"address":"img1.inst0.private.com","type":"hostname"}],"create_image":true,"storage_volumes":[],"authentication_type":"key"}}"#
    );
}

#[test]
fn instance_with_empty_name_and_keyname() {
    let u = urls();
    let t = mock_traits();
    assert_eq!(
        x(&xml::InstanceXml::new(&u, &inst3(), t), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<instance href="http://localhost:3001/api/instances/inst3" id="inst3">
  <name/>
  <owner_id>mockuser</owner_id>
  <image href="http://localhost:3001/api/images/img3" id="img3"/>
  <realm href="http://localhost:3001/api/realms/eu" id="eu"/>
  <state>RUNNING</state>
  <hardware_profile href="http://localhost:3001/api/hardware_profiles/m1-small" id="m1-small"/>
  <actions>
    <link href="http://localhost:3001/api/instances/inst3/reboot" method="post" rel="reboot"/>
    <link href="http://localhost:3001/api/instances/inst3/stop" method="post" rel="stop"/>
    <link href="http://localhost:3001/api/instances/inst3/run;id=inst3" method="post" rel="run"/>
  </actions>
  <public_addresses>
    <address type="hostname">img3.inst3.public.com</address>
  </public_addresses>
  <private_addresses>
    <address type="hostname">img3.inst3.private.com</address>
  </private_addresses>
  <storage_volumes/>
  <authentication type="key">
    <login>
      <keyname/>
    </login>
  </authentication>
  <network_interfaces>
    <network_interface href="http://localhost:3001/api/network_interfaces/nicinst3" id="nicinst3"/>
  </network_interfaces>
</instance>
"#
    );
    assert_eq!(
        j(&json::InstanceJson::new(&u, &inst3(), t)),
        r#"{"id":"inst3","href":"http://localhost:3001/api/instances/inst3","name":"","state":"RUNNING","owner":"mockuser","image":{"href":"http://localhost:3001/api/images/img3","id":"img3","rel":"image"},"realm":{"href":"http://localhost:3001/api/realms/eu","id":"eu","rel":"realm"},"actions":[{"href":"http://localhost:3001/api/instances/inst3/reboot","rel":"reboot","method":"post"},{"href":"http://localhost:3001/api/instances/inst3/stop","rel":"stop","method":"post"},{"href":"http://localhost:3001/api/instances/inst3/run;id=inst3","rel":"run","method":"post"}],"hardware_profile":{"id":"m1-small","href":"http://localhost:3001/api/hardware_profiles/m1-small","rel":"hardware_profile","properties":{}},"public_addresses":[{"address":"img3.inst3.public.com","type":"hostname"}],"private_addresses":[{"address":"img3.inst3.private.com","type":"hostname"}],"storage_volumes":[],"authentication_type":"key","authentication":{"keyname":""}}"#
    );
}

#[test]
fn instance_variants() {
    let u = urls();
    // Password drivers: login with user name and password; an auth error replaces the login.
    let t = Traits {
        auth: Some(AuthKind::Password),
        run: false,
        ..mock_traits()
    };
    let pw = Instance {
        username: Some("root".into()),
        password: Some("s3cret".into()),
        keyname: None,
        ..inst0()
    };
    let doc = x(&xml::InstanceXml::new(&u, &pw, t), true);
    assert!(
        doc.contains("<authentication type=\"password\">\n    <login>\n      <username>root</username>\n      <password>s3cret</password>\n    </login>"),
        "{doc}"
    );
    assert!(
        !doc.contains("rel=\"run\""),
        "no run link without run_on_instance"
    );
    let doc = j(&json::InstanceJson::new(&u, &pw, t));
    assert!(
        doc.ends_with(
            r#""storage_volumes":[],"authentication":{"user":"root","password":"s3cret"}}"#
        ),
        "{doc}"
    );
    let failed = Instance {
        authn_error: Some("no key".into()),
        ..pw
    };
    let doc = x(&xml::InstanceXml::new(&u, &failed, t), true);
    assert!(
        doc.contains("<error>no key</error>") && !doc.contains("<login>"),
        "{doc}"
    );
    // No auth features: no authentication element; stopped: start/destroy links; ports, launch
    // time, firewalls, blank addresses.
    let t = Traits {
        auth: None,
        ..mock_traits()
    };
    let stopped = Instance {
        state: InstanceState::Stopped,
        actions: vec![InstanceAction::Start, InstanceAction::Destroy],
        launch_time: Some("2012-01-01".into()),
        firewalls: Some(vec!["default".into()]),
        storage_volumes: Some(vec![("vol3".into(), "/dev/sda1".into())]),
        network_interfaces: None,
        public_addresses: vec![InstanceAddress {
            address: String::new(),
            kind: AddressType::Ipv4,
            port: None,
        }],
        private_addresses: vec![InstanceAddress {
            address: "10.0.0.1".into(),
            kind: AddressType::Vnc,
            port: Some(5901),
        }],
        ..inst0()
    };
    let doc = x(&xml::InstanceXml::new(&u, &stopped, t), true);
    for want in [
        r#"<link href="http://localhost:3001/api/instances/inst0/start" method="post" rel="start"/>"#,
        r#"<link href="http://localhost:3001/api/instances/inst0" method="delete" rel="destroy"/>"#,
        "</actions>\n  <launch_time>2012-01-01</launch_time>\n  <public_addresses>",
        r#"<address type="unavailable"/>"#,
        r#"<address port="5901" type="vnc">10.0.0.1</address>"#,
        r#"<firewalls>
    <firewall href="http://localhost:3001/api/firewalls/default" id="default"/>
  </firewalls>"#,
        r#"<storage_volume device="/dev/sda1" href="http://localhost:3001/api/storage_volumes/vol3" id="vol3"/>"#,
    ] {
        assert!(doc.contains(want), "missing {want} in {doc}");
    }
    assert!(
        !doc.contains("authentication") && !doc.contains("network_interfaces"),
        "{doc}"
    );
    let doc = j(&json::InstanceJson::new(&u, &stopped, t));
    let want = r#""private_addresses":[{"address":"10.0.0.1","type":"vnc","port":5901}],"create_time":"2012-01-01","create_image":true,"firewalls":[{"id":"default","href":"http://localhost:3001/api/firewalls/default","rel":"firewall"}],"storage_volumes":[{"id":"vol3","href":"http://localhost:3001/api/storage_volumes/vol3","rel":"storage_volume"}]}"#;
    assert!(doc.ends_with(want), "missing {want} in {doc}");
    // Overrides are listed memory, storage, architecture, cpu.
    let many = Instance {
        profile: Some(InstanceProfile {
            id: "m1-large".into(),
            overrides: BTreeMap::from([
                (P::Cpu, "2".to_owned()),
                (P::Memory, "8192".to_owned()),
                (P::Storage, "1024".to_owned()),
            ]),
        }),
        ..inst0()
    };
    let doc = x(&xml::InstanceXml::new(&u, &many, t), true);
    let order: Vec<usize> = ["name=\"memory\"", "name=\"storage\"", "name=\"cpu\""]
        .iter()
        .map(|n| doc.find(n).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{doc}");
    assert!(
        j(&json::InstanceJson::new(&u, &many, t))
            .contains(r#""properties":{"memory":"8192","storage":"1024","cpu":"2"}"#)
    );
}

#[test]
fn key_xml_and_json() {
    let u = urls();
    assert_eq!(
        x(&xml::KeyXml::new(&u, &test_key(), mock_traits()), true),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<key href="http://localhost:3001/api/keys/test-key" id="test-key" type="key">
  <name>test-key</name>
  <actions>
    <link href="http://localhost:3001/api/keys/test-key" method="delete" rel="destroy"/>
  </actions>
  <fingerprint>5e:ce:b6:dc:59:3b:5c:93:f8:2e:9d:20:ce:60:ca:f5:0b:8a:66:93</fingerprint>
  <pem>-----BEGIN RSA PRIVATE KEY-----
MIIE
-----END RSA PRIVATE KEY-----</pem>
  <state/>
</key>
"#
    );
    assert_eq!(
        j(&Wrap("key", json::KeyJson::new(&u, &test_key()))),
        r#"{"key":{"id":"test-key","href":"http://localhost:3001/api/keys/test-key","credential_type":"key","username":null,"password":null,"state":null,"pem_rsa_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----","fingerprint":"5e:ce:b6:dc:59:3b:5c:93:f8:2e:9d:20:ce:60:ca:f5:0b:8a:66:93"}}"#
    );
    let pw = Key {
        credential_type: CredentialType::Password,
        fingerprint: None,
        pem_rsa_key: None,
        username: Some("u".into()),
        password: Some("p".into()),
        state: Some("AVAILABLE".into()),
        ..test_key()
    };
    let doc = x(
        &xml::KeyXml::new(
            &u,
            &pw,
            Traits {
                destroy_key: false,
                ..mock_traits()
            },
        ),
        true,
    );
    assert!(
        doc.contains(r#"type="password""#) && doc.contains("<actions/>"),
        "{doc}"
    );
    assert!(
        doc.contains(
            "<username>u</username>\n  <password>p</password>\n  <state>AVAILABLE</state>"
        ),
        "{doc}"
    );
}

#[test]
fn error_document() {
    let params = [("id", "foo"), ("q", "a\"b\\c\n")];
    assert_eq!(
        x(
            &xml::ErrorXml::new(
                404,
                "/api/realms/foo",
                "mock",
                "default",
                "Not Found",
                &params
            ),
            true
        ),
        r#"<?xml version='1.0' encoding='utf-8' ?>
<error status="404" url="/api/realms/foo">
  <backend driver="mock" provider="default"/>
  <code>404</code>
  <message>Not Found</message>
  <backtrace/>
  <request>
    <param name="id">"foo"</param>
    <param name="q">"a\"b\\c\n"</param>
  </request>
</error>
"#
    );
    assert_eq!(
        j(&json::ErrorJson {
            code: 404,
            message: "Not Found",
            error: "Deltacloud::Exceptions::ObjectNotFound"
        }),
        r#"{"code":404,"message":"Not Found","error":"Deltacloud::Exceptions::ObjectNotFound"}"#
    );
}

#[test]
fn entry_point_xml_and_json() {
    let u = urls();
    let d = Declared::mock_like();
    let links = entry_links(&d);
    assert_eq!(
        x(&xml::ApiXml::new(&u, "mock", None, &links), false),
        r#"<api driver="mock" version="1.1.3">
  <link href="http://localhost:3001/api/drivers" rel="drivers"/>
  <link href="http://localhost:3001/api/hardware_profiles" rel="hardware_profiles"/>
  <link href="http://localhost:3001/api/images" rel="images"/>
  <link href="http://localhost:3001/api/instance_states" rel="instance_states"/>
  <link href="http://localhost:3001/api/instances" rel="instances">
    <feature name="metrics" rel="create">
      <param name="metrics"/>
    </feature>
    <feature name="realm_filter" rel="index">
      <param name="realm_id"/>
    </feature>
    <feature name="user_name" rel="create">
      <param name="name"/>
      <constraint name="max_length">50</constraint>
    </feature>
    <feature name="authentication_key" rel="create">
      <param name="keyname"/>
    </feature>
  </link>
  <link href="http://localhost:3001/api/keys" rel="keys"/>
  <link href="http://localhost:3001/api/realms" rel="realms"/>
  <link href="http://localhost:3001/api/storage_volumes" rel="storage_volumes"/>
</api>
"#
    );
    assert_eq!(
        j(&Wrap("api", json::ApiJson::new(&u, "mock", None, &links))),
        r#"{"api":{"version":"1.1.3","driver":"mock","provider":"default","links":[{"rel":"drivers","href":"http://localhost:3001/api/drivers","features":[]},{"rel":"hardware_profiles","href":"http://localhost:3001/api/hardware_profiles","features":[]},{"rel":"images","href":"http://localhost:3001/api/images","features":[]},{"rel":"instance_states","href":"http://localhost:3001/api/instance_states","features":[]},{"rel":"instances","href":"http://localhost:3001/api/instances","features":[[{"name":"metrics","rel":"create","params":["metrics:string:optional"],"constraints":{}}],[{"name":"realm_filter","rel":"index","params":["realm_id:string:optional"],"constraints":{}}],[{"name":"user_name","rel":"create","params":["name:string:optional"],"constraints":{"max_length":50}}],[{"name":"authentication_key","rel":"create","params":["keyname:string:optional"],"constraints":{}}]]},{"rel":"keys","href":"http://localhost:3001/api/keys","features":[]},{"rel":"realms","href":"http://localhost:3001/api/realms","features":[]},{"rel":"storage_volumes","href":"http://localhost:3001/api/storage_volumes","features":[]}]}}"#
    );
    let with_provider = x(&xml::ApiXml::new(&u, "ec2", Some("us-west-1"), &[]), false);
    assert_eq!(
        with_provider,
        "<api driver=\"ec2\" provider=\"us-west-1\" version=\"1.1.3\"/>\n"
    );
    assert!(
        j(&json::ApiJson::new(&u, "ec2", Some("us-west-1"), &[]))
            .contains(r#""provider":"us-west-1""#)
    );
}

#[test]
fn instance_states_xml_and_json() {
    let m = StateMachine::mock();
    assert_eq!(
        x(&xml::StatesXml::new(&m), false),
        r#"<states>
  <state name="start">
    <transition action="create" to="pending"/>
  </state>
  <state name="pending">
    <transition auto="true" to="running"/>
  </state>
  <state name="running">
    <transition action="reboot" to="running"/>
    <transition action="stop" to="stopped"/>
  </state>
  <state name="stopped">
    <transition action="start" to="running"/>
    <transition action="destroy" to="finish"/>
  </state>
  <state name="finish"/>
</states>
"#
    );
    assert_eq!(
        j(&json::StatesJson(&m)),
        r#"[{"name":"start","transitions":[{"to":"pending","action":"create"}]},{"name":"pending","transitions":[{"to":"running","auto":"true"}]},{"name":"running","transitions":[{"to":"running","action":"reboot"},{"to":"stopped","action":"stop"}]},{"name":"stopped","transitions":[{"to":"running","action":"start"},{"to":"finish","action":"destroy"}]},{"name":"finish","transitions":[]}]"#
    );
}

#[test]
fn drivers_xml_and_json() {
    let u = urls();
    let mut ec2 = registry::DriverInfo::new("ec2", "EC2");
    ec2.entrypoints = vec![
        (
            "s3".into(),
            vec![("us-west-1".into(), "s3-us-west-1.amazonaws.com".into())],
        ),
        (
            "ec2".into(),
            vec![
                ("us-east-1".into(), "ec2.us-east-1.amazonaws.com".into()),
                ("us-west-1".into(), "ec2.us-west-1.amazonaws.com".into()),
            ],
        ),
    ];
    let mock = registry::DriverInfo::new("mock", "Mock");
    let infos = [ec2.clone(), mock];
    assert_eq!(
        x(&xml::DriversXml::new(&u, infos.iter()), false),
        r#"<drivers>
  <driver href="http://localhost:3001/api/drivers/ec2" id="ec2">
    <name>EC2</name>
    <provider id="us-west-1"/>
    <provider id="us-east-1"/>
  </driver>
  <driver href="http://localhost:3001/api/drivers/mock" id="mock">
    <name>Mock</name>
  </driver>
</drivers>
"#
    );
    assert_eq!(
        j(&json::DriversJson(infos.iter().collect())),
        r#"{"ec2":{"entrypoints":{"s3":{"us-west-1":"s3-us-west-1.amazonaws.com"},"ec2":{"us-east-1":"ec2.us-east-1.amazonaws.com","us-west-1":"ec2.us-west-1.amazonaws.com"}},"name":"EC2"},"mock":{"name":"Mock"}}"#
    );
    assert_eq!(
        x(&xml::DriverXml::with_catalogue(&u, &ec2), false),
        r#"<driver href="http://localhost:3001/api/drivers/ec2" id="ec2">
  <name>EC2</name>
  <provider id="us-west-1">
    <entrypoint kind="s3">s3-us-west-1.amazonaws.com</entrypoint>
    <entrypoint kind="ec2">ec2.us-west-1.amazonaws.com</entrypoint>
  </provider>
  <provider id="us-east-1">
    <entrypoint kind="ec2">ec2.us-east-1.amazonaws.com</entrypoint>
  </provider>
</driver>
"#
    );
    assert_eq!(
        j(&Wrap("driver", json::DriverJson::with_catalogue(&ec2))),
        r#"{"driver":{"name":"EC2","entrypoints":{"s3":{"us-west-1":"s3-us-west-1.amazonaws.com"},"ec2":{"us-east-1":"ec2.us-east-1.amazonaws.com","us-west-1":"ec2.us-west-1.amazonaws.com"}},"id":"ec2"}}"#
    );
    let regions = [Provider {
        id: "us-east-1".into(),
        name: "ec2".into(),
        url: Some("https://ec2.us-east-1.amazonaws.com".into()),
    }];
    assert!(
        x(&xml::DriverXml::with_providers(&u, &ec2, &regions), false).contains(
            r#"<provider id="us-east-1">
    <entrypoint kind="ec2">https://ec2.us-east-1.amazonaws.com</entrypoint>
  </provider>"#
        )
    );
}

#[test]
fn run_output() {
    let u = urls();
    let r = RunResult {
        instance_id: "inst0".into(),
        public_address: Some("img1.inst0.public.com".into()),
        command: "uname -a".into(),
        output: "Linux <x> & y".into(),
    };
    assert_eq!(
        x(&xml::RunXml::new(&u, &r), false),
        r#"<instance href="http://localhost:3001/api/instances/inst0" id="inst0">
  <public_address>img1.inst0.public.com</public_address>
  <command>uname -a</command>
  <output>Linux &lt;x&gt; &amp; y</output>
</instance>
"#
    );
    assert_eq!(
        j(&Wrap("instance", json::RunJson::new(&r))),
        r#"{"instance":{"id":"inst0","public_address":"img1.inst0.public.com","command":"uname -a","output":"Linux <x> & y"}}"#
    );
}

/// Every serde shape the writer supports, for the differential property test.
#[derive(serde::Serialize)]
#[serde(rename = "root")]
struct Everything {
    #[serde(rename = "@a")]
    a: String,
    #[serde(rename = "@n")]
    n: u16,
    #[serde(rename = "@flag")]
    flag: bool,
    #[serde(rename = "@maybe", skip_serializing_if = "Option::is_none")]
    maybe: Option<String>,
    text: String,
    opt: Option<String>,
    unit: (),
    num: i64,
    list: Vec<String>,
    children: Vec<Child>,
    empty: Vec<Child>,
    nested: Vec<Nested>,
    shown: crate::view::Text<String>,
}

#[derive(serde::Serialize)]
struct Child {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "$text")]
    value: String,
}

#[derive(serde::Serialize)]
struct Nested {
    #[serde(rename = "@id")]
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    inner: Option<Inner>,
}

#[derive(serde::Serialize)]
struct Inner {
    #[serde(rename = "@k")]
    k: String,
    leaf: Vec<Leaf>,
}

#[derive(serde::Serialize)]
struct Leaf {
    #[serde(rename = "@v")]
    v: String,
}

proptest::proptest! {
    /// Arbitrary text (markup characters, quotes, whitespace, control and non-ASCII characters)
    /// in every position comes out exactly as quick-xml writes it. (Mixed content, text and
    /// child elements in one element, is not used by any document and rejected by the writer.)
    #[test]
    fn writer_matches_quick_xml(
        strings in proptest::collection::vec("[ -~\t\r\néü€\u{1F600}]{0,12}", 8),
        n in proptest::num::u16::ANY,
        num in proptest::num::i64::ANY,
        flag in proptest::bool::ANY,
        count in 0usize..4,
        some in proptest::bool::ANY,
    ) {
        let s = |i: usize| strings[i % strings.len()].clone();
        let doc = Everything {
            a: s(0),
            n,
            flag,
            maybe: some.then(|| s(1)),
            text: s(2),
            opt: (!some).then(|| s(3)),
            unit: (),
            num,
            list: (0..count).map(s).collect(),
            children: (0..count).map(|i| Child { id: s(i), value: s(i + 1) }).collect(),
            empty: vec![],
            nested: (0..count)
                .map(|i| Nested {
                    id: s(i + 4),
                    inner: (i % 2 == 0).then(|| Inner { k: s(i + 2), leaf: (0..i).map(|j| Leaf { v: s(j) }).collect() }),
                })
                .collect(),
            shown: crate::view::Text(s(6)),
        };
        let _ = x(&doc, some);
    }
}

#[test]
fn writer_rejects_what_it_cannot_write() {
    #[derive(serde::Serialize)]
    #[serde(rename = "m")]
    struct Mixed {
        #[serde(rename = "$text")]
        t: &'static str,
        c: &'static str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename = "late")]
    struct LateAttr {
        c: &'static str,
        #[serde(rename = "@a")]
        a: &'static str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename = "map")]
    struct WithMap {
        m: BTreeMap<String, String>,
    }
    assert!(xml::render(&Mixed { t: "x", c: "y" }, false).is_err());
    assert!(xml::render(&LateAttr { c: "y", a: "x" }, false).is_err());
    assert!(xml::render(&WithMap { m: BTreeMap::new() }, false).is_err());
    assert!(
        xml::render(&"bare string", false).is_err(),
        "a root must be a struct"
    );
}
