//! The declared capability set matches the implementation: every declared capability works on
//! the seed, every other one answers the typed not-supported error.

use super::*;
use deltacloud_core::driver::*;
use deltacloud_core::{
    Capability, CreateFirewallRule, CreateImage, CreateInstance, CreateKey, CreateLoadBalancer,
    CreateStorageSnapshot, CreateStorageVolume, Driver, ErrorKind, FeatureName, Filter, Listener,
    RunCommand,
};
use futures_util::StreamExt as _;

fn bytes_stream(parts: Vec<&'static [u8]>) -> deltacloud_core::ByteStream {
    futures_util::stream::iter(parts.into_iter().map(|p| Ok(bytes::Bytes::from_static(p)))).boxed()
}

/// Setup steps may run more than once (the auth test repeats every call): "already done" is fine.
fn setup<T>(r: Result<T>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::Forbidden) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Call the operation(s) behind `cap` with `c`; any setup it needs runs with valid credentials.
pub async fn invoke(d: &MockDriver, c: &RequestContext, cap: Capability) -> Result<()> {
    use Capability as C;
    let f = Filter::default();
    match cap {
        C::Realms => d.realms(c, &f).await.map(drop),
        C::HardwareProfiles => d.hardware_profiles(c, &f).await.map(drop),
        C::Images => d.images(c, &f).await.map(drop),
        C::CreateImage => d
            .create_image(
                c,
                &CreateImage {
                    instance_id: "inst1".into(),
                    name: Some("cap-img".into()),
                    description: None,
                },
            )
            .await
            .map(drop),
        C::DestroyImage => d.destroy_image(c, &"img2".into()).await,
        C::Instances => d.instances(c, &f).await.map(drop),
        C::CreateInstance => d
            .create_instance(
                c,
                &CreateInstance {
                    image_id: "img1".into(),
                    ..CreateInstance::default()
                },
            )
            .await
            .map(drop),
        C::StartInstance => d.start_instance(c, &"inst0".into()).await.map(drop),
        C::StopInstance => d.stop_instance(c, &"inst1".into()).await.map(drop),
        C::RebootInstance => d.reboot_instance(c, &"inst0".into()).await.map(drop),
        C::DestroyInstance => d.destroy_instance(c, &"inst2".into()).await,
        C::RunOnInstance => {
            let cmd = RunCommand {
                cmd: "ls".into(),
                private_key: None,
                password: None,
                ip: None,
                port: 22,
            };
            d.run_on_instance(c, &"inst0".into(), &cmd).await.map(drop)
        }
        C::Keys => d.keys(c, &f).await.map(drop),
        C::CreateKey => d
            .create_key(
                c,
                &CreateKey {
                    name: "cap-key".into(),
                    public_key: None,
                },
            )
            .await
            .map(drop),
        C::DestroyKey => d.destroy_key(c, &"test-key".into()).await,
        C::StorageVolumes => d.storage_volumes(c, &f).await.map(drop),
        C::CreateStorageVolume => d
            .create_storage_volume(c, &CreateStorageVolume::default())
            .await
            .map(drop),
        C::DestroyStorageVolume => d.destroy_storage_volume(c, &"vol-none".into()).await,
        C::AttachStorageVolume => d
            .attach_storage_volume(c, &"vol1".into(), &"inst0".into(), "/dev/sdb")
            .await
            .map(drop),
        C::DetachStorageVolume => d.detach_storage_volume(c, &"vol3".into()).await.map(drop),
        C::StorageSnapshots => d.storage_snapshots(c, &f).await.map(drop),
        C::CreateStorageSnapshot => d
            .create_storage_snapshot(
                c,
                &CreateStorageSnapshot {
                    volume_id: "vol2".into(),
                    name: None,
                    description: None,
                },
            )
            .await
            .map(drop),
        C::DestroyStorageSnapshot => d.destroy_storage_snapshot(c, &"snap1".into()).await,
        C::Buckets => d.buckets(c, &f).await.map(drop),
        C::CreateBucket => d.create_bucket(c, "cap-bucket", None).await.map(drop),
        C::DeleteBucket => {
            setup(d.create_bucket(&ctx(), "cap-empty", None).await)?;
            d.delete_bucket(c, &"cap-empty".into()).await
        }
        C::Blob => {
            d.blob(c, &"bucket1".into(), &"blob1".into()).await?;
            d.blob_data(c, &"bucket1".into(), &"blob1".into())
                .await
                .map(drop)
        }
        C::CreateBlob => d
            .create_blob(
                c,
                &"bucket2".into(),
                &"cap-blob".into(),
                Some("text/plain"),
                Default::default(),
                bytes_stream(vec![b"hi"]),
            )
            .await
            .map(drop),
        C::DeleteBlob => d.delete_blob(c, &"bucket1".into(), &"blob3".into()).await,
        C::BlobMetadata => d
            .blob_metadata(c, &"bucket1".into(), &"blob1".into())
            .await
            .map(drop),
        C::UpdateBlobMetadata => {
            d.update_blob_metadata(
                c,
                &"bucket1".into(),
                &"blob2".into(),
                [("k".into(), "v".into())].into(),
            )
            .await
        }
        C::Addresses => d.addresses(c, &f).await.map(drop),
        C::CreateAddress => d.create_address(c).await.map(drop),
        C::DestroyAddress => d.destroy_address(c, &"192.168.0.4".into()).await,
        C::AssociateAddress => {
            d.associate_address(c, &"192.168.0.1".into(), &"inst0".into())
                .await
        }
        C::DisassociateAddress => {
            setup(
                d.associate_address(&ctx(), &"192.168.0.2".into(), &"inst1".into())
                    .await,
            )?;
            d.disassociate_address(c, &"192.168.0.2".into()).await
        }
        C::Firewalls => d.firewalls(c, &f).await.map(drop),
        C::CreateFirewall => d.create_firewall(c, "fw", "a firewall").await.map(drop),
        C::DeleteFirewall => d.delete_firewall(c, &"fw".into()).await,
        C::CreateFirewallRule => {
            let rule = CreateFirewallRule {
                protocol: "tcp".into(),
                port_from: "22".into(),
                port_to: "22".into(),
                addresses: vec!["0.0.0.0/0".into()],
                groups: vec![],
            };
            d.create_firewall_rule(c, &"fw".into(), &rule)
                .await
                .map(drop)
        }
        C::DeleteFirewallRule => d.delete_firewall_rule(c, &"fw".into(), &"r".into()).await,
        C::LoadBalancers => d.load_balancers(c, &f).await.map(drop),
        C::CreateLoadBalancer => {
            let lb = CreateLoadBalancer {
                name: "lb".into(),
                realm_id: "us".into(),
                listener: Listener {
                    protocol: "HTTP".into(),
                    load_balancer_port: "80".into(),
                    instance_port: "80".into(),
                },
            };
            d.create_load_balancer(c, &lb).await.map(drop)
        }
        C::DestroyLoadBalancer => d.destroy_load_balancer(c, &"lb".into()).await,
        C::LbRegisterInstance => d
            .lb_register_instance(c, &"lb".into(), &"inst0".into())
            .await
            .map(drop),
        C::LbUnregisterInstance => d
            .lb_unregister_instance(c, &"lb".into(), &"inst0".into())
            .await
            .map(drop),
        C::Metrics => {
            d.metrics(c, &f).await?;
            d.metric(c, &"inst0".into()).await.map(drop)
        }
        C::Networks => d.networks(c, &f).await.map(drop),
        C::CreateNetwork => d
            .create_network(c, "10.9.0.0/16", Some("cap-net"))
            .await
            .map(drop),
        C::DestroyNetwork => d.destroy_network(c, &"net2".into()).await,
        C::Subnets => d.subnets(c, &f).await.map(drop),
        C::CreateSubnet => d
            .create_subnet(c, &"net1".into(), "192.168.9.0/24", None)
            .await
            .map(drop),
        C::DestroySubnet => d.destroy_subnet(c, &"subnet1".into()).await,
        C::NetworkInterfaces => d.network_interfaces(c, &f).await.map(drop),
        C::CreateNetworkInterface => d
            .create_network_interface(c, &"inst0".into(), "subnet2", None)
            .await
            .map(drop),
        C::DestroyNetworkInterface => d.destroy_network_interface(c, &"nic1".into()).await,
        C::Providers => d.providers(c).await.map(drop),
        C::Systems => d.cimi_entities().systems(c, &f).await.map(drop),
        C::SystemTemplates => d.cimi_entities().system_templates(c, &f).await.map(drop),
        C::NetworkPorts => d.cimi_entities().network_ports(c, &f).await.map(drop),
        C::NetworkConfigurations => d
            .cimi_entities()
            .network_configurations(c, &f)
            .await
            .map(drop),
        C::NetworkTemplates => d.cimi_entities().network_templates(c, &f).await.map(drop),
        C::NetworkPortConfigurations => d
            .cimi_entities()
            .network_port_configurations(c, &f)
            .await
            .map(drop),
        C::NetworkPortTemplates => d
            .cimi_entities()
            .network_port_templates(c, &f)
            .await
            .map(drop),
        C::ForwardingGroupTemplates => d
            .cimi_entities()
            .forwarding_group_templates(c, &f)
            .await
            .map(drop),
        C::AddressTemplates => d.cimi_entities().address_templates(c, &f).await.map(drop),
    }
}

#[tokio::test]
async fn declared_capabilities_work_and_the_rest_are_not_supported() {
    let c = Cloud::new();
    let declared = c.d.capabilities().clone();
    for &cap in Capability::ALL {
        let res = invoke(&c.d, &ctx(), cap).await;
        if declared.has(cap) {
            assert!(res.is_ok(), "declared {cap} failed: {res:?}");
        } else {
            assert_eq!(kind(res), ErrorKind::NotSupported, "{cap} is not declared");
        }
    }
    let undeclared: Vec<&str> = Capability::ALL
        .iter()
        .filter(|c| !declared.has(**c))
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        undeclared,
        [
            "firewalls",
            "create_firewall",
            "delete_firewall",
            "create_firewall_rule",
            "delete_firewall_rule",
            "load_balancers",
            "create_load_balancer",
            "destroy_load_balancer",
            "lb_register_instance",
            "lb_unregister_instance",
            "providers"
        ]
    );
}

#[tokio::test]
async fn features_and_state_machine() {
    let c = Cloud::new();
    let mut f: Vec<FeatureName> = c.d.features().iter().map(|f| f.name).collect();
    f.sort();
    assert_eq!(
        f,
        [
            FeatureName::Metrics,
            FeatureName::RealmFilter,
            FeatureName::UserName,
            FeatureName::AuthenticationKey
        ]
    );
    assert!(c.d.features().iter().all(|f| f.constraints.is_empty()));
    assert_eq!(
        c.d.state_machine(),
        Some(&deltacloud_core::StateMachine::mock())
    );
    assert_eq!(c.d.name(), "mock");
}
