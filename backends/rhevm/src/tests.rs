//! Backend tests: the recorded v3 and v4 conversations replayed by the test kit (the driver's
//! results must match what the recordings contain), the stateful fake engine for the write
//! paths, and the fault servers for transport failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{RhevmDriver, rhevm_state_machine};
use deltacloud_core::driver::{HardwareProfiles, Images, Instances, Realms, StorageVolumes};
use deltacloud_core::{
    AddressType, CreateImage, CreateInstance, CreateStorageVolume, Credentials, Driver,
    DriverSettings, ErrorKind, Filter, ImageId, InstanceAction, InstanceId, InstanceState,
    PropertyName, RealmId, RequestContext, StorageVolumeId,
};
use deltacloud_testkit::ovirt::{self as fake, FakeEngine};
use deltacloud_testkit::{BodyMatch, Cassette, Fault, FaultServer, MatchRules, ReplayServer};
use std::time::Duration;

fn driver_with_timeout(t: Duration) -> RhevmDriver {
    RhevmDriver::new(&DriverSettings {
        timeout: t,
        ..DriverSettings::default()
    })
    .unwrap()
}

fn driver() -> RhevmDriver {
    driver_with_timeout(Duration::from_secs(10))
}

/// A driver built with the one driver option `key=value`.
fn driver_with_option(key: &str, value: &str) -> deltacloud_core::Result<RhevmDriver> {
    RhevmDriver::new(&DriverSettings {
        timeout: Duration::from_secs(10),
        options: [(key.to_owned(), value.to_owned())].into(),
        ..DriverSettings::default()
    })
}

/// HTTP Basic with persistent sessions (driver option `rhevm_auth=basic`): what the v4
/// recordings were made with, so what their replay can answer (it has no SSO endpoint).
fn basic_driver() -> RhevmDriver {
    driver_with_option(crate::OPT_AUTH, "basic").unwrap()
}

fn ctx(provider: &str, user: &str, password: &str) -> RequestContext {
    RequestContext::new(
        Some(Credentials::new(user, password)),
        Some(provider.to_owned()),
    )
}

fn v3_server(files: &[&str]) -> ReplayServer {
    let dir = deltacloud_testkit::fixtures_dir().join("rhevm/v3");
    let cassettes = files
        .iter()
        .map(|f| Cassette::load(dir.join(format!("{f}.yml"))).unwrap());
    // `?search=` (empty) is optional; create bodies hold generated names.
    ReplayServer::start(
        cassettes,
        MatchRules::default()
            .drop_empty_params(true)
            .body(BodyMatch::Ignore),
    )
    .unwrap()
}

fn v3_ctx(s: &ReplayServer) -> RequestContext {
    ctx(&s.url("/api"), "fakeuser", "fakepassword")
}

fn v4_server() -> ReplayServer {
    let c = Cassette::load(deltacloud_testkit::fixtures_dir().join("rhevm/ovirt-v4/inventory.yml"))
        .unwrap();
    ReplayServer::start([c], MatchRules::default()).unwrap()
}

const V4_DC: &str = "944df9ee-3274-43c4-908f-8c35e59e483b";

fn v4_ctx(s: &ReplayServer, dc: &str) -> RequestContext {
    ctx(
        &format!("{};{dc}", s.url("/ovirt-engine/api")),
        "admin@internal",
        "engine",
    )
}

// ---------------------------------------------------------------------------------------------
// v3 replay

const V3_DC: &str = "b9bb11c2-f397-4f41-a57b-7ac15a894779";
const V3_CLUSTER: &str = "b91b0346-4ba3-11e2-a3ac-0050568c6b2d";
const V3_VM: &str = "4b4f9b94-3f85-45f3-9284-adf3deb72601";
const V3_TEMPLATE: &str = "da12fc7e-8f0c-4ebb-a524-5e99b3214d75";

#[tokio::test]
async fn v3_wrong_credentials_are_auth_failed() {
    let s = v3_server(&["test_0001_must_throw_error_when_wrong_credentials"]);
    let d = driver();
    let e = d.realms(&v3_ctx(&s), &Filter::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(!d.valid_credentials(&v3_ctx(&s)).await.unwrap());
    s.assert_all_matched();
    // The caller's credentials went out as HTTP Basic, with the session-reuse header.
    let seen = s.requests_seen();
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(seen[0].header("prefer"), Some("persistent-auth"));
    assert_eq!(seen[0].header("filter"), None);
}

#[tokio::test]
async fn v3_realms_are_the_clusters_of_the_data_center() {
    let s = v3_server(&["test_0002_must_return_list_of_realms"]);
    let d = driver();
    for c in [
        v3_ctx(&s),
        ctx(
            &format!("{};{V3_DC}", s.url("/api")),
            "fakeuser",
            "fakepassword",
        ),
    ] {
        let realms = d.realms(&c, &Filter::default()).await.unwrap();
        assert_eq!(realms.len(), 1);
        assert_eq!(realms[0].id, V3_CLUSTER);
        assert_eq!(realms[0].name, "iscsi");
        assert_eq!(realms[0].state, "AVAILABLE");
        assert_eq!(realms[0].limit, None);
        assert!(
            d.realms(&c, &Filter::by_id("nope"))
                .await
                .unwrap()
                .is_empty()
        );
    }
    s.assert_all_matched();
    assert!(
        s.requests_seen()
            .iter()
            .any(|r| r.param("search").as_deref() == Some("datacenter=iscsi"))
    );
    // An unknown data center is the client's mistake.
    let e = d
        .realms(
            &ctx(&format!("{};nosuchdc", s.url("/api")), "u", "p"),
            &Filter::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn v3_images_are_the_templates() {
    let s = v3_server(&["test_0002_must_return_list_of_images"]);
    let d = driver();
    let images = d.images(&v3_ctx(&s), &Filter::default()).await.unwrap();
    assert_eq!(images.len(), 20);
    let first = &images[0];
    assert_eq!(first.id, V3_TEMPLATE);
    assert_eq!(first.name, "07ef6eb0-2e43-43a2-b3f0-cb1f15882f13");
    assert_eq!(
        first.description,
        "Template name (RHEL63) from base image (3ee78645-5d04-4584-9d35-fe93dde38ed5)"
    );
    assert_eq!(first.state.as_deref(), Some("OK"));
    assert_eq!(first.owner_id, "fakeuser");
    assert_eq!(first.architecture, "x86_64");
    assert_eq!(
        first.creation_time.as_deref(),
        Some("2013-02-25T08:04:46.000-05:00")
    );
    assert!(images.iter().any(|i| i.name == "AutoImageImport"));
    // A template without a description shows its name.
    let plain = images
        .iter()
        .find(|i| i.name == "rhel63-donotdelete")
        .unwrap();
    assert_eq!(plain.description, "rhel63-donotdelete");
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_single_image_and_unknown_ids() {
    let s = v3_server(&["test_0004_must_allow_to_retrieve_single_image"]);
    let d = driver();
    let c = v3_ctx(&s);
    let one = d.images(&c, &Filter::by_id(V3_TEMPLATE)).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name, "07ef6eb0-2e43-43a2-b3f0-cb1f15882f13");
    for missing in [
        "5558c5b6-9dd6-41b7-87f9-7cbce4fd40c5",
        "ami-aaaaaaaa",
        "unknown",
    ] {
        assert!(
            d.images(&c, &Filter::by_id(missing))
                .await
                .unwrap()
                .is_empty(),
            "{missing}"
        );
    }
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_instances_are_the_vms() {
    let s = v3_server(&["test_0002_must_return_list_of_instances"]);
    let d = driver();
    let list = d.instances(&v3_ctx(&s), &Filter::default()).await.unwrap();
    assert_eq!(list.len(), 20);
    let running = list
        .iter()
        .filter(|i| i.state == InstanceState::Running)
        .count();
    let stopped = list
        .iter()
        .filter(|i| i.state == InstanceState::Stopped)
        .count();
    assert_eq!((running, stopped), (16, 4));
    assert!(
        list.iter()
            .all(|i| i.realm_id.as_deref() == Some(V3_CLUSTER))
    );
    let vm = list.iter().find(|i| i.id == V3_VM).unwrap();
    assert_eq!(vm.name.as_deref(), Some("aweiteka-EVM-v50029-DND"));
    let stopped_vm = list
        .iter()
        .find(|i| i.name.as_deref() == Some("i-1362696218"))
        .unwrap();
    assert_eq!(stopped_vm.state, InstanceState::Stopped);
    assert!(stopped_vm.create_image);
    assert_eq!(
        stopped_vm.actions,
        vec![InstanceAction::Start, InstanceAction::Destroy]
    );
    // State filter.
    let f = Filter {
        state: Some(vec!["STOPPED".into()]),
        ..Filter::default()
    };
    assert_eq!(d.instances(&v3_ctx(&s), &f).await.unwrap().len(), 4);
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_single_instance_with_addresses_and_profile() {
    let s = v3_server(&["test_0004_must_allow_to_retrieve_single_instance"]);
    let d = driver();
    let c = v3_ctx(&s);
    let i = d
        .instance(&c, &InstanceId::new(V3_VM))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(i.state, InstanceState::Running);
    assert_eq!(
        i.actions,
        vec![InstanceAction::Stop, InstanceAction::Reboot]
    );
    assert_eq!(
        i.image_id.as_deref(),
        Some("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(
        i.launch_time.as_deref(),
        Some("2013-03-01T10:53:06.628-05:00")
    );
    let addrs: Vec<(String, AddressType, Option<u16>)> = i
        .public_addresses
        .iter()
        .map(|a| (a.address.clone(), a.kind, a.port))
        .collect();
    assert_eq!(
        addrs,
        vec![
            ("10.16.120.221".to_owned(), AddressType::Ipv4, None),
            ("00:1a:4a:10:56:6e".to_owned(), AddressType::Mac, None),
            ("10.16.120.42".to_owned(), AddressType::Vnc, Some(5904)),
        ]
    );
    let p = i.profile.unwrap();
    assert_eq!(p.id, "SERVER");
    assert_eq!(p.overrides[&PropertyName::Memory], "4096");
    assert_eq!(p.overrides[&PropertyName::Cpu], "2");
    assert_eq!(
        i.network_interfaces.unwrap()[0],
        "c4b3f9da-1b6c-4584-be1a-845aec4cb39f"
    );
    for missing in ["i-00000000", "unknown"] {
        assert!(
            d.instance(&c, &InstanceId::new(missing))
                .await
                .unwrap()
                .is_none()
        );
    }
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_create_and_destroy_an_instance() {
    let s = v3_server(&["test_0005_must_allow_to_create_a_new_instance_and_destroy_it"]);
    let d = driver();
    let c = v3_ctx(&s);
    let created = d
        .create_instance(
            &c,
            &CreateInstance {
                image_id: ImageId::new(V3_TEMPLATE),
                user_data: Some(b"hello\nworld".to_vec()),
                ..CreateInstance::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    let i = &created[0];
    assert_eq!(i.id, "2264ea80-3e1f-444c-a683-f26de2f89bc2");
    assert_eq!(i.name.as_deref(), Some("i-1362696169"));
    assert_eq!(i.state, InstanceState::Pending, "image_locked is PENDING");
    assert!(i.actions.is_empty());
    assert_eq!(i.realm_id.as_deref(), Some(V3_CLUSTER));
    // The body went out in the v3 shape: SERVER type, the floppy payload with base64 data.
    let post = s
        .requests_seen()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let body = post.body_text();
    assert!(body.contains("<type>SERVER</type>"), "{body}");
    assert!(
        body.contains(&format!("<cluster id=\"{V3_CLUSTER}\"/>")),
        "{body}"
    );
    assert!(body.contains("deltacloud-user-data.txt"), "{body}");
    assert!(body.contains("aGVsbG8Kd29ybGQ="), "{body}");
    d.destroy_instance(&c, &InstanceId::new(i.id.as_str()))
        .await
        .unwrap();
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_destroying_a_used_template_is_a_conflict() {
    let s = v3_server(&["test_0005_must_throw_proper_exception_when_destroying_used_image"]);
    let e = driver()
        .destroy_image(&v3_ctx(&s), &ImageId::new(V3_TEMPLATE))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.message(),
        "Cannot delete Template. Template is being used by the following VMs: i-1362693110,i-1362692460."
    );
    s.assert_all_matched();
}

#[tokio::test]
async fn v3_providers_are_the_data_centers() {
    let s = v3_server(&["test_0002_must_support_listing_of_available_providers"]);
    let p = driver().providers(&v3_ctx(&s)).await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].id, V3_DC);
    assert_eq!(p[0].name, "iscsi");
    assert_eq!(p[0].url, Some(format!("{};{V3_DC}", s.url("/api"))));
    s.assert_all_matched();
}

// ---------------------------------------------------------------------------------------------
// v4 replay

#[tokio::test]
async fn v4_inventory_realms_images_instances_providers() {
    let s = v4_server();
    let d = basic_driver();
    let c = v4_ctx(&s, V4_DC);

    let realms = d.realms(&c, &Filter::default()).await.unwrap();
    assert_eq!(realms.len(), 1);
    assert_eq!(realms[0].id, "1c273044-e6ca-492f-9ac2-47381b626808");
    assert_eq!(realms[0].name, "newd1_cluster");
    assert_eq!(realms[0].state, "AVAILABLE");
    let other = d
        .realms(
            &v4_ctx(&s, "2812e1c2-fb19-4bf9-ac42-74c069a5e507"),
            &Filter::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        other.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["newc"]
    );

    let images = d.images(&c, &Filter::default()).await.unwrap();
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["template_cd1", "template_cd2"],
        "Blank is not an image"
    );
    assert_eq!(images[0].id, "bcdd6891-68c9-4629-8c72-668c2353ab11");
    assert_eq!(images[0].description, "CirrOS 0.4.0 for x86_64 (34bec3e)");
    assert_eq!(images[0].state.as_deref(), Some("OK"));
    assert_eq!(images[0].architecture, "x86_64");

    let list = d.instances(&c, &Filter::default()).await.unwrap();
    assert_eq!(list.len(), 2);
    let off = list
        .iter()
        .find(|i| i.name.as_deref() == Some("vm_off"))
        .unwrap();
    assert_eq!(off.id, "8070fa6d-5b82-412c-9d41-a00017205c73");
    assert_eq!(off.state, InstanceState::Stopped);
    assert_eq!(
        off.image_id.as_deref(),
        Some("bcdd6891-68c9-4629-8c72-668c2353ab11")
    );
    assert_eq!(
        off.public_addresses
            .iter()
            .map(|a| (a.address.as_str(), a.kind))
            .collect::<Vec<_>>(),
        [("00:1a:4a:16:01:04", AddressType::Mac)]
    );
    let on = list
        .iter()
        .find(|i| i.name.as_deref() == Some("vm_on"))
        .unwrap();
    assert_eq!(on.id, "a1293e54-dae8-496f-baa4-27719592113e");
    assert_eq!(on.state, InstanceState::Running);
    assert_eq!(
        on.realm_id.as_deref(),
        Some("1c273044-e6ca-492f-9ac2-47381b626808")
    );
    let addrs: Vec<(&str, AddressType)> = on
        .public_addresses
        .iter()
        .map(|a| (a.address.as_str(), a.kind))
        .collect();
    assert_eq!(
        addrs,
        [
            ("10.46.8.199", AddressType::Ipv4),
            ("2620:52:0:2e08:21a:4aff:fe16:105", AddressType::Ipv6),
            ("fe80::21a:4aff:fe16:105", AddressType::Ipv6),
            ("00:1a:4a:16:01:05", AddressType::Mac),
            ("10.46.10.132", AddressType::Vnc),
        ]
    );
    assert_eq!(on.public_addresses[4].port, Some(5900));
    let p = on.profile.as_ref().unwrap();
    assert_eq!(p.id, "DESKTOP");
    assert_eq!(p.overrides[&PropertyName::Memory], "2048");
    assert_eq!(p.overrides[&PropertyName::Cpu], "2", "1 core x 2 sockets");
    // Realm filter: the other data center's cluster has no VMs.
    let f = Filter {
        realm_id: Some(vec!["b875154c-5b87-4068-aa3f-f32c4d672193".into()]),
        ..Filter::default()
    };
    assert!(d.instances(&c, &f).await.unwrap().is_empty());

    let providers = d.providers(&c).await.unwrap();
    assert_eq!(
        providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["Newd", "newd1"]
    );
    s.assert_all_matched();
    // v4 requests carry the version header.
    assert!(
        s.requests_seen()
            .iter()
            .all(|r| r.header("version") == Some("4"))
    );
}

#[tokio::test]
async fn user_mode_sends_the_filter_header() {
    let s = v4_server();
    let c = ctx(
        &format!("{};{V4_DC};USER", s.url("/ovirt-engine/api")),
        "user@internal",
        "pw",
    );
    basic_driver().realms(&c, &Filter::default()).await.unwrap();
    assert!(
        s.requests_seen()
            .iter()
            .all(|r| r.header("filter") == Some("true"))
    );
}

/// Volumes from the recorded v4 inventory: only `data` disks (not the engine's `OVF_STORE` or
/// memory volumes), attachments read from each VM's `diskattachments`.
#[tokio::test]
async fn v4_inventory_disks_are_volumes() {
    let s = v4_server();
    let d = basic_driver();
    let c = v4_ctx(&s, V4_DC);
    let mut vols = d.storage_volumes(&c, &Filter::default()).await.unwrap();
    vols.sort_by(|a, b| a.id.cmp(&b.id));
    let got: Vec<_> = vols
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.capacity.as_deref(),
                v.state.as_deref(),
                v.instance_id.as_deref(),
                v.device.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "08b054b2-0001-4dd6-9cf2-434213c02fbe",
                Some("8"),
                Some("IN-USE"),
                Some("a1293e54-dae8-496f-baa4-27719592113e"),
                Some("/dev/vda")
            ),
            (
                "2d41b00f-d594-47dd-9148-931731ddf8ff",
                Some("0.04"),
                Some("AVAILABLE"),
                None,
                None
            ),
            (
                "738dc6a9-c7ff-4bd4-8f37-d0e4fdc0ff76",
                Some("0.04"),
                Some("IN-USE"),
                Some("8070fa6d-5b82-412c-9d41-a00017205c73"),
                None
            ),
            (
                "d7355822-5742-4d87-81c8-ffdbd87515db",
                Some("8"),
                Some("AVAILABLE"),
                None,
                None
            ),
        ]
    );
    assert_eq!(vols[0].name.as_deref(), Some("GlanceDisk-fe03ebf"));
    s.assert_all_matched();
}

// ---------------------------------------------------------------------------------------------
// The fake engine: write paths and state changes

fn fake_ctx(e: &FakeEngine) -> RequestContext {
    ctx(&e.provider(), fake::USER, fake::PASSWORD)
}

#[tokio::test]
async fn fake_engine_full_lifecycle() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let c = fake_ctx(&e);
    let created = d
        .create_instance(
            &c,
            &CreateInstance {
                image_id: ImageId::new(fake::TEMPLATE_ID),
                realm_id: Some(RealmId::new(fake::CLUSTER_ID)),
                name: Some("web1".into()),
                hwp_overrides: [
                    (PropertyName::Memory, "2048".to_owned()),
                    (PropertyName::Cpu, "2".to_owned()),
                ]
                .into(),
                user_data: Some(b"#cloud-config\n".to_vec()),
                ..CreateInstance::default()
            },
        )
        .await
        .unwrap();
    let id = created[0].id.clone();
    assert_eq!(created[0].state, InstanceState::Pending);
    assert_eq!(e.vm_name(&id).as_deref(), Some("web1"));
    let p = created[0].profile.as_ref().unwrap();
    assert_eq!(p.overrides[&PropertyName::Memory], "2048");
    assert_eq!(p.overrides[&PropertyName::Cpu], "2");

    // image_locked is shown once, then the VM is down.
    let i = d.instance(&c, &id).await.unwrap().unwrap();
    assert_eq!(i.state, InstanceState::Pending);
    let i = d.instance(&c, &id).await.unwrap().unwrap();
    assert_eq!(i.state, InstanceState::Stopped);

    // Stopping a stopped VM: the engine refuses, which is an invalid-state error.
    let err = d.stop_instance(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert_eq!(err.message(), "Cannot shutdown VM. VM is not running.");

    let i = d.start_instance(&c, &id).await.unwrap();
    assert_eq!(i.state, InstanceState::Pending, "powering_up");
    let i = d.instance(&c, &id).await.unwrap().unwrap();
    assert_eq!(i.state, InstanceState::Running);
    let err = d.start_instance(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);

    let i = d.reboot_instance(&c, &id).await.unwrap();
    assert_eq!(i.state, InstanceState::Pending, "reboot_in_progress");
    assert_eq!(
        d.instance(&c, &id).await.unwrap().unwrap().state,
        InstanceState::Running
    );

    // Deleting a running VM is refused.
    let err = d.destroy_instance(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);

    let i = d.stop_instance(&c, &id).await.unwrap();
    assert_eq!(i.state, InstanceState::Stopping, "powering_down");
    assert_eq!(
        d.instance(&c, &id).await.unwrap().unwrap().state,
        InstanceState::Stopped
    );

    // A template from the stopped VM; the template in use cannot be destroyed.
    let img = d
        .create_image(
            &c,
            &CreateImage {
                instance_id: id.clone(),
                name: Some("golden".into()),
                description: Some("from web1".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(img.name, "golden");
    assert!(e.template_ids().contains(&img.id.0));
    let err = d
        .destroy_image(&c, &ImageId::new(fake::TEMPLATE_ID))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    d.destroy_image(&c, &img.id).await.unwrap();

    d.destroy_instance(&c, &id).await.unwrap();
    assert!(!e.vm_ids().contains(&id.0));
    assert!(d.instance(&c, &id).await.unwrap().is_none());
    let err = d.start_instance(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    assert!(
        e.requests()
            .iter()
            .any(|r| r == "POST /ovirt-engine/api/vms")
    );
}

#[tokio::test]
async fn force_stop_on_a_stopping_vm() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let c = fake_ctx(&e);
    let id = InstanceId::new(fake::VM_ON_ID);
    // shutdown → powering_down (shown once): stopping it again powers it off.
    let i = d.stop_instance(&c, &id).await.unwrap();
    assert_eq!(i.state, InstanceState::Stopping);
    assert_eq!(e.vm_status(fake::VM_ON_ID).as_deref(), Some("down"));
    assert!(
        e.requests()
            .iter()
            .any(|r| r.ends_with("/vms/a1293e54-dae8-496f-baa4-27719592113e/shutdown"))
    );
}

#[tokio::test]
async fn create_validates_before_calling_the_engine() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let c = fake_ctx(&e);
    let base = CreateInstance {
        image_id: ImageId::new(fake::TEMPLATE_ID),
        ..CreateInstance::default()
    };
    let cases = [
        CreateInstance {
            name: Some("x".repeat(51)),
            ..base.clone()
        },
        CreateInstance {
            realm_id: Some(RealmId::new(fake::OTHER_CLUSTER_ID)),
            ..base.clone()
        },
        CreateInstance {
            hwp_id: Some("m1.huge".into()),
            ..base.clone()
        },
        CreateInstance {
            hwp_overrides: [(PropertyName::Memory, "999999".to_owned())].into(),
            ..base.clone()
        },
        CreateInstance {
            user_data: Some(vec![0xff, 0xfe]),
            ..base.clone()
        },
    ];
    for req in cases {
        let err = d.create_instance(&c, &req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{req:?}: {err}");
    }
    assert_eq!(e.vm_ids().len(), 2, "nothing was created");
    // An instance type is a valid profile on v4 engines.
    let made = d
        .create_instance(
            &c,
            &CreateInstance {
                hwp_id: Some(fake::INSTANCE_TYPE_ID.into()),
                ..base
            },
        )
        .await
        .unwrap();
    assert_eq!(made[0].profile.as_ref().unwrap().id, fake::INSTANCE_TYPE_ID);
}

#[tokio::test]
async fn hardware_profiles_static_and_instance_types() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let anon = RequestContext::default();
    let ids = |v: Vec<deltacloud_core::HardwareProfile>| {
        v.into_iter().map(|p| p.id.0).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(d
            .hardware_profiles(&anon, &Filter::default())
            .await
            .unwrap()),
        ["SERVER", "DESKTOP"]
    );
    let all = d
        .hardware_profiles(&fake_ctx(&e), &Filter::default())
        .await
        .unwrap();
    assert_eq!(
        ids(all.clone()),
        ["SERVER", "DESKTOP", fake::INSTANCE_TYPE_ID]
    );
    let small = &all[2];
    assert_eq!(small.name, "Small");
    assert_eq!(
        small
            .property(PropertyName::Memory)
            .and_then(|p| p.default_value())
            .map(ToString::to_string)
            .as_deref(),
        Some("2048")
    );
    // Asking for a static profile does not contact the engine.
    e.set_hang(true);
    assert_eq!(
        ids(d
            .hardware_profiles(&fake_ctx(&e), &Filter::by_id("DESKTOP"))
            .await
            .unwrap()),
        ["DESKTOP"]
    );
}

#[tokio::test]
async fn fake_engine_wrong_password_and_missing_credentials() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let err = d
        .instances(&ctx(&e.provider(), fake::USER, "wrong"), &Filter::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthFailed);
    let no_creds = RequestContext::new(None, Some(e.provider()));
    assert_eq!(
        d.instances(&no_creds, &Filter::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AuthRequired
    );
    let no_provider = RequestContext::new(Some(Credentials::new("a", "b")), None);
    let err = d
        .realms(&no_provider, &Filter::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.message(), "No API provider set for this request.");
}

/// One login, then the engine's session: later calls (reads and writes) present the cookie,
/// a different password never rides on it, and an expired session means one new login.
#[tokio::test]
async fn engine_sessions_are_reused_and_renewed() {
    let e = FakeEngine::start().unwrap();
    let d = basic_driver();
    let c = fake_ctx(&e);
    d.realms(&c, &Filter::default()).await.unwrap();
    let after_first = e.logins();
    assert!(after_first >= 1);
    for _ in 0..3 {
        d.instances(&c, &Filter::default()).await.unwrap();
    }
    d.start_instance(&c, &InstanceId::new(fake::VM_OFF_ID))
        .await
        .unwrap();
    assert_eq!(e.logins(), after_first, "the session is reused");

    // Same user, wrong password: refused, not let in on the kept session.
    let wrong = ctx(&e.provider(), fake::USER, "wrong");
    let err = d.instances(&wrong, &Filter::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthFailed);

    // The engine forgets its sessions: the next call logs in again, once, and succeeds.
    e.expire_sessions();
    let before = e.logins();
    d.instances(&c, &Filter::default()).await.unwrap();
    d.instances(&c, &Filter::default()).await.unwrap();
    assert_eq!(e.logins(), before + 1);
}

// ---------------------------------------------------------------------------------------------
// Transport faults

#[tokio::test]
async fn transport_faults_are_classified() {
    let d = driver_with_timeout(Duration::from_millis(400));
    let run = |url: String| {
        let d = &d;
        async move {
            d.realms(
                &ctx(&format!("{url}/ovirt-engine/api;dc"), "u", "p"),
                &Filter::default(),
            )
            .await
            .unwrap_err()
            .kind()
        }
    };
    let hang = FaultServer::start(Fault::Hang).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(run(hang.base_url()).await, ErrorKind::ProviderTimeout);
    assert!(started.elapsed() < Duration::from_secs(5));
    let boom = FaultServer::start(Fault::Status(500, "<html>oops</html>".into())).unwrap();
    assert_eq!(run(boom.base_url()).await, ErrorKind::ProviderError);
    let junk = FaultServer::start(Fault::Garbage).unwrap();
    assert_eq!(run(junk.base_url()).await, ErrorKind::ProviderError);
    let bad = FaultServer::start(Fault::Undecodable).unwrap();
    assert_eq!(run(bad.base_url()).await, ErrorKind::ProviderError);
    let refused = deltacloud_testkit::refused_url().unwrap();
    assert_eq!(run(refused).await, ErrorKind::ProviderError);
}

#[test]
fn https_without_tls_is_a_clear_not_supported() {
    if cfg!(feature = "tls") {
        return;
    }
    let d = driver();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(d.realms(
            &ctx("https://engine.example.com/ovirt-engine/api", "u", "p"),
            &Filter::default(),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSupported);
    assert!(err.message().contains("tls"), "{}", err.message());
}

// ---------------------------------------------------------------------------------------------
// Declarations

#[test]
fn state_machine_and_state_mapping() {
    use crate::compute::map_state;
    use InstanceState as S;
    let m = rhevm_state_machine();
    assert_eq!(
        m.states(),
        [
            S::Start,
            S::Pending,
            S::Stopped,
            S::Running,
            S::Stopping,
            S::Finish
        ]
    );
    assert_eq!(m.settle(S::Start), S::Stopped, "created VMs end up stopped");
    assert_eq!(
        m.actions_for(S::Stopping),
        [InstanceAction::Stop],
        "force-stop"
    );
    for (engine, ours) in [
        ("wait_for_launch", S::Pending),
        ("REBOOT_IN_PROGRESS", S::Pending),
        ("image_locked", S::Pending),
        ("powering_up", S::Pending),
        ("powering_down", S::Stopping),
        ("migrating", S::Stopping),
        ("down", S::Stopped),
        ("not_responding", S::Stopped),
        ("image_illegal", S::Stopped),
        ("up", S::Running),
        ("migrating_to", S::Running),
        ("paused", S::Paused),
        ("SUSPENDED", S::Paused),
        ("something_new", S::Unknown),
    ] {
        assert_eq!(map_state(engine), ours, "{engine}");
    }
}

#[test]
fn declared_capabilities_match_the_implementation() {
    use deltacloud_core::Capability as C;
    let d = driver();
    let caps = d.capabilities();
    for c in [
        C::Realms,
        C::HardwareProfiles,
        C::Images,
        C::CreateImage,
        C::DestroyImage,
        C::Instances,
        C::CreateInstance,
        C::StartInstance,
        C::StopInstance,
        C::RebootInstance,
        C::DestroyInstance,
        C::StorageVolumes,
        C::CreateStorageVolume,
        C::DestroyStorageVolume,
        C::AttachStorageVolume,
        C::DetachStorageVolume,
        C::Providers,
    ] {
        assert!(caps.has(c), "{c}");
    }
    for c in [C::Keys, C::StorageSnapshots, C::Buckets, C::RunOnInstance] {
        assert!(!caps.has(c), "{c}");
    }
    assert_eq!(d.name(), "rhevm");
    // Unsupported areas answer the typed error.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = rt
        .block_on(deltacloud_core::driver::Keys::keys(
            &d,
            &RequestContext::default(),
            &Filter::default(),
        ))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    // Options are checked.
    let bad = driver_with_option(crate::OPT_API_VERSION, "7");
    assert_eq!(bad.err().map(|e| e.kind()), Some(ErrorKind::Validation));
}

/// Disks on the fake engine: create (locked, then available), attach to a VM, the engine's
/// refusal to attach twice or to delete a disk in use, detach, destroy.
#[tokio::test]
async fn fake_engine_disk_lifecycle() {
    let e = FakeEngine::start().unwrap();
    let d = driver();
    let c = fake_ctx(&e);
    let before = d.storage_volumes(&c, &Filter::default()).await.unwrap();
    let on_disk = before.iter().find(|v| v.id == fake::VM_ON_DISK_ID).unwrap();
    assert_eq!(on_disk.instance_id.as_deref(), Some(fake::VM_ON_ID));
    assert_eq!(on_disk.state.as_deref(), Some("IN-USE"));

    // Bad input is refused before the engine is asked.
    let asked = e.requests().len();
    for capacity in [None, Some("0"), Some("lots")] {
        let err = d
            .create_storage_volume(
                &c,
                &CreateStorageVolume {
                    capacity: capacity.map(str::to_owned),
                    ..CreateStorageVolume::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{capacity:?}");
    }
    assert_eq!(e.requests().len(), asked);

    let v = d
        .create_storage_volume(
            &c,
            &CreateStorageVolume {
                capacity: Some("2".into()),
                name: Some("data-disk".into()),
                description: Some("scratch".into()),
                ..CreateStorageVolume::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.state.as_deref(), Some("CREATING"));
    assert_eq!(v.capacity.as_deref(), Some("2"));
    assert_eq!(v.name.as_deref(), Some("data-disk"));
    assert!(e.disk_ids().contains(&v.id.to_string()));
    let id = v.id.clone();
    let f = Filter {
        id: Some(vec![id.to_string()]),
        ..Filter::default()
    };
    // The engine keeps the new disk locked for one more read; then it is available.
    let now = d.storage_volumes(&c, &f).await.unwrap();
    assert_eq!(now[0].state.as_deref(), Some("CREATING"));
    let now = d.storage_volumes(&c, &f).await.unwrap();
    assert_eq!(now[0].state.as_deref(), Some("AVAILABLE"));
    assert_eq!(now[0].description.as_deref(), Some("scratch"));

    let v = d
        .attach_storage_volume(&c, &id, &InstanceId::new(fake::VM_ON_ID), "/dev/vdb")
        .await
        .unwrap();
    assert_eq!(v.state.as_deref(), Some("IN-USE"));
    assert_eq!(v.instance_id.as_deref(), Some(fake::VM_ON_ID));
    assert_eq!(
        v.device.as_deref(),
        Some("/dev/vdb"),
        "the engine's name for it"
    );
    assert_eq!(e.disk_attached_to(&id).as_deref(), Some(fake::VM_ON_ID));

    let err = d
        .attach_storage_volume(&c, &id, &InstanceId::new(fake::VM_OFF_ID), "/dev/vdc")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("already attached"),
        "{}",
        err.message()
    );
    let err = d.destroy_storage_volume(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{}", err.message());

    let v = d.detach_storage_volume(&c, &id).await.unwrap();
    assert_eq!(v.state.as_deref(), Some("AVAILABLE"));
    assert_eq!(v.instance_id, None);
    assert_eq!(e.disk_attached_to(&id), None);
    let err = d.detach_storage_volume(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);

    d.destroy_storage_volume(&c, &id).await.unwrap();
    assert!(!e.disk_ids().contains(&id.to_string()));
    assert!(d.storage_volumes(&c, &f).await.unwrap().is_empty());
    let err = d.destroy_storage_volume(&c, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = d
        .attach_storage_volume(
            &c,
            &StorageVolumeId::new(fake::FREE_DISK_ID),
            &InstanceId::new("no-such-vm"),
            "/dev/vdb",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// The default authentication on a v4 engine is an SSO token: one token request, then the
/// token on every call (no Basic login at all), renewed once when the engine stops accepting
/// it; a wrong password is refused by the SSO service without falling back to Basic.
#[tokio::test]
async fn v4_engines_get_an_sso_token() {
    let e = FakeEngine::start().unwrap();
    e.set_require_sso(true);
    let d = driver();
    let c = fake_ctx(&e);
    let realms = d.realms(&c, &Filter::default()).await.unwrap();
    assert_eq!(realms[0].id, fake::CLUSTER_ID);
    d.instances(&c, &Filter::default()).await.unwrap();
    d.start_instance(&c, &InstanceId::new(fake::VM_OFF_ID))
        .await
        .unwrap();
    assert_eq!(e.token_requests(), 1, "the token is kept");
    assert_eq!(e.logins(), 0, "no Basic login");

    e.expire_tokens();
    d.instances(&c, &Filter::default()).await.unwrap();
    assert_eq!(e.token_requests(), 2, "a refused token is renewed once");

    let wrong = ctx(&e.provider(), fake::USER, "wrong");
    let err = d.instances(&wrong, &Filter::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthFailed);
    assert_eq!(e.token_requests(), 3);
    assert_eq!(e.logins(), 0);

    // With Basic forced, an engine that refuses Basic says 401.
    let err = basic_driver()
        .realms(&c, &Filter::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthFailed);
    // And an unknown mode is refused when the driver is built.
    let bad = driver_with_option(crate::OPT_AUTH, "kerberos");
    assert_eq!(bad.err().map(|e| e.kind()), Some(ErrorKind::Validation));
}

/// `auto` on an engine without an SSO service (its token URL answers 404, like a proxy that
/// forwards only the API): Basic from then on, without asking for a token again; `sso` there
/// is an error that says why.
#[tokio::test]
async fn auto_falls_back_to_basic_without_an_sso_service() {
    let mut inventory =
        Cassette::load(deltacloud_testkit::fixtures_dir().join("rhevm/ovirt-v4/inventory.yml"))
            .unwrap();
    inventory
        .interactions
        .push(deltacloud_testkit::Interaction {
            request: deltacloud_testkit::RecordedRequest {
                method: "POST".into(),
                uri: "https://ovirt.example.com/ovirt-engine/sso/oauth/token".into(),
                headers: Vec::new(),
                body: None,
            },
            response: deltacloud_testkit::RecordedResponse {
                status: 404,
                message: None,
                headers: Vec::new(),
                body: b"Not Found".to_vec(),
            },
        });
    let s = ReplayServer::start([inventory], MatchRules::default()).unwrap();
    let d = driver();
    let c = v4_ctx(&s, V4_DC);
    assert_eq!(d.realms(&c, &Filter::default()).await.unwrap().len(), 1);
    assert_eq!(d.images(&c, &Filter::default()).await.unwrap().len(), 2);
    let token_asks = |s: &ReplayServer| {
        s.requests_seen()
            .iter()
            .filter(|r| r.path().ends_with("/sso/oauth/token"))
            .count()
    };
    assert_eq!(token_asks(&s), 1, "asked once, then Basic");
    assert!(
        s.requests_seen()
            .iter()
            .filter(|r| r.path().contains("/ovirt-engine/api/"))
            .all(|r| r
                .header("authorization")
                .is_some_and(|a| a.starts_with("Basic ")))
    );

    let sso_only = driver_with_option(crate::OPT_AUTH, "sso").unwrap();
    let err = sso_only.realms(&c, &Filter::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError);
    assert!(
        err.message().contains("no SSO service"),
        "{}",
        err.message()
    );
}

/// v3 attach and detach, replayed: the requests must be the v3 API's (`POST vms/{id}/disks`
/// with `<disk id><active>true</active></disk>`; `DELETE vms/{id}/disks/{disk}` with
/// `<action><detach>true</detach></action>`, which keeps the disk) or the replay answers 599,
/// and the v3 disk's `<vms>` tells where it is attached.
#[tokio::test]
async fn v3_disk_attach_and_detach() {
    const VM: &str = "6a3e1b8c-2f4d-4e5a-9b7c-1d2e3f4a5b6c";
    const DISK: &str = "d15c0000-1111-4222-8333-444455556666";
    let disk = |attached: bool| {
        let vms = if attached {
            format!("<vms><vm id=\"{VM}\"/></vms>")
        } else {
            String::new()
        };
        format!(
            "<disk href=\"/api/disks/{DISK}\" id=\"{DISK}\"><name>extra</name><alias>extra</alias>{vms}\
             <size>2147483648</size><provisioned_size>2147483648</provisioned_size>\
             <status><state>ok</state></status><interface>virtio</interface><format>cow</format></disk>"
        )
    };
    let interaction =
        |method: &str, path: &str, body: Option<&str>, status: u16, answer: String| {
            deltacloud_testkit::Interaction {
                request: deltacloud_testkit::RecordedRequest {
                    method: method.into(),
                    uri: format!("https://rhevm.example.com/api/{path}"),
                    headers: Vec::new(),
                    body: body.map(|b| b.as_bytes().to_vec()),
                },
                response: deltacloud_testkit::RecordedResponse {
                    status,
                    message: None,
                    headers: vec![("Content-Type".into(), "application/xml".into())],
                    body: answer.into_bytes(),
                },
            }
        };
    let attach_body = format!("<disk id=\"{DISK}\"><active>true</active></disk>");
    let cassette = Cassette::new(
        "v3-disks",
        vec![
            interaction(
                "POST",
                &format!("vms/{VM}/disks"),
                Some(&attach_body),
                201,
                disk(true),
            ),
            // Read after attaching, before detaching, after detaching.
            interaction("GET", &format!("disks/{DISK}"), Some(""), 200, disk(true)),
            interaction("GET", &format!("disks/{DISK}"), Some(""), 200, disk(true)),
            interaction("GET", &format!("disks/{DISK}"), Some(""), 200, disk(false)),
            interaction(
                "DELETE",
                &format!("vms/{VM}/disks/{DISK}"),
                Some("<action><detach>true</detach></action>"),
                200,
                "<action><status><state>complete</state></status></action>".into(),
            ),
        ],
    );
    let s = ReplayServer::start([cassette], MatchRules::default()).unwrap();
    let d = driver();
    let c = v3_ctx(&s);
    let v = d
        .attach_storage_volume(
            &c,
            &StorageVolumeId::new(DISK),
            &InstanceId::new(VM),
            "/dev/vdb",
        )
        .await
        .unwrap();
    assert_eq!(v.state.as_deref(), Some("IN-USE"));
    assert_eq!(v.instance_id.as_deref(), Some(VM));
    assert_eq!(v.capacity.as_deref(), Some("2"));
    let v = d
        .detach_storage_volume(&c, &StorageVolumeId::new(DISK))
        .await
        .unwrap();
    assert_eq!(v.state.as_deref(), Some("AVAILABLE"));
    assert_eq!(v.instance_id, None);
    s.assert_all_matched();
}
