//! The driver interface: one trait per capability area, every method defaulting to a typed
//! "not supported" error, plus [`Driver`], which ties them together with the driver's declared
//! capabilities, features and state machine.
//!
//! Why a declared [`CapabilitySet`] as well as defaulted methods: the frontends must know what a
//! driver offers *without calling it* (which collections the entry point lists, which routes
//! answer 412, which action links an instance shows). The original derived this from
//! `respond_to?`; Rust cannot ask whether a default was overridden, so each driver declares its
//! set once, and a backend's tests check the declaration against the implementation.

use crate::cimi::*;
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::features::DriverFeature;
use crate::filter::Filter;
use crate::hardware::HardwareProfile;
use crate::ids::*;
use crate::model::*;
use crate::state::StateMachine;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;

macro_rules! capabilities {
    ($($(#[$m:meta])* $variant:ident => $name:literal),* $(,)?) => {
        /// An operation a driver may offer. `as_str` gives the original's capability name, which
        /// the `/api` frontend sends in the `Expect` header of a 412.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Capability { $($(#[$m])* $variant),* }

        impl Capability {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }
    };
}

capabilities! {
    Realms => "realms",
    HardwareProfiles => "hardware_profiles",
    Images => "images",
    CreateImage => "create_image",
    DestroyImage => "destroy_image",
    Instances => "instances",
    CreateInstance => "create_instance",
    StartInstance => "start_instance",
    StopInstance => "stop_instance",
    RebootInstance => "reboot_instance",
    DestroyInstance => "destroy_instance",
    RunOnInstance => "run_on_instance",
    Keys => "keys",
    CreateKey => "create_key",
    DestroyKey => "destroy_key",
    StorageVolumes => "storage_volumes",
    CreateStorageVolume => "create_storage_volume",
    DestroyStorageVolume => "destroy_storage_volume",
    AttachStorageVolume => "attach_storage_volume",
    DetachStorageVolume => "detach_storage_volume",
    StorageSnapshots => "storage_snapshots",
    CreateStorageSnapshot => "create_storage_snapshot",
    DestroyStorageSnapshot => "destroy_storage_snapshot",
    Buckets => "buckets",
    CreateBucket => "create_bucket",
    DeleteBucket => "delete_bucket",
    Blob => "blob",
    CreateBlob => "create_blob",
    DeleteBlob => "delete_blob",
    BlobMetadata => "blob_metadata",
    UpdateBlobMetadata => "update_blob_metadata",
    Addresses => "addresses",
    CreateAddress => "create_address",
    DestroyAddress => "destroy_address",
    AssociateAddress => "associate_address",
    DisassociateAddress => "disassociate_address",
    Firewalls => "firewalls",
    CreateFirewall => "create_firewall",
    DeleteFirewall => "delete_firewall",
    CreateFirewallRule => "create_firewall_rule",
    DeleteFirewallRule => "delete_firewall_rule",
    LoadBalancers => "load_balancers",
    CreateLoadBalancer => "create_load_balancer",
    DestroyLoadBalancer => "destroy_load_balancer",
    LbRegisterInstance => "lb_register_instance",
    LbUnregisterInstance => "lb_unregister_instance",
    Metrics => "metrics",
    Networks => "networks",
    CreateNetwork => "create_network",
    DestroyNetwork => "destroy_network",
    Subnets => "subnets",
    CreateSubnet => "create_subnet",
    DestroySubnet => "destroy_subnet",
    NetworkInterfaces => "network_interfaces",
    CreateNetworkInterface => "create_network_interface",
    DestroyNetworkInterface => "destroy_network_interface",
    /// A dynamic provider list (regions, data centres).
    Providers => "providers",
    // CIMI-only entities a driver may hold itself (read-only lists; see [`CimiEntities`]).
    Systems => "systems",
    SystemTemplates => "system_templates",
    NetworkPorts => "network_ports",
    NetworkConfigurations => "network_configurations",
    NetworkTemplates => "network_templates",
    NetworkPortConfigurations => "network_port_configurations",
    NetworkPortTemplates => "network_port_templates",
    ForwardingGroupTemplates => "forwarding_group_templates",
    AddressTemplates => "address_templates",
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The capabilities a driver declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySet(std::collections::BTreeSet<Capability>);

impl CapabilitySet {
    #[must_use]
    pub fn new(caps: &[Capability]) -> Self {
        Self(caps.iter().copied().collect())
    }

    #[must_use]
    pub fn has(&self, c: Capability) -> bool {
        self.0.contains(&c)
    }

    /// `Ok(())` if the capability is declared, else the typed not-supported error.
    pub fn require(&self, c: Capability) -> Result<()> {
        if self.has(c) {
            Ok(())
        } else {
            Err(Error::not_supported(c))
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }
}

fn unsupported<T>(c: Capability) -> Result<T> {
    Err(Error::not_supported(c))
}

#[async_trait]
pub trait Realms {
    async fn realms(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Realm>> {
        unsupported(Capability::Realms)
    }
}

#[async_trait]
pub trait HardwareProfiles {
    /// The driver's static profile list, in definition order. Non-empty means the collection is
    /// supported and can be listed without credentials.
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &[]
    }

    /// Profiles filtered by `id` and `architecture`. The default filters the static list;
    /// drivers whose sizes come from the provider override it.
    async fn hardware_profiles(
        &self,
        _ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<HardwareProfile>> {
        let all = self.static_hardware_profiles();
        if all.is_empty() {
            return unsupported(Capability::HardwareProfiles);
        }
        Ok(all
            .iter()
            .filter(|p| f.pass_id(&p.id))
            .filter(|p| {
                f.architecture
                    .as_ref()
                    .is_none_or(|a| a.iter().any(|a| p.matches_architecture(a)))
            })
            .cloned()
            .collect())
    }
}

#[async_trait]
pub trait Images {
    async fn images(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Image>> {
        unsupported(Capability::Images)
    }
    /// [`Images::images`] as a shared, read-only list, for the same reason and on the same
    /// terms as [`Instances::instances_shared`]. The default wraps `images`.
    async fn images_shared(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<std::sync::Arc<Vec<Image>>> {
        Ok(std::sync::Arc::new(self.images(ctx, f).await?))
    }
    async fn create_image(&self, _ctx: &RequestContext, _req: &CreateImage) -> Result<Image> {
        unsupported(Capability::CreateImage)
    }
    async fn destroy_image(&self, _ctx: &RequestContext, _id: &ImageId) -> Result<()> {
        unsupported(Capability::DestroyImage)
    }
}

#[async_trait]
pub trait Instances {
    async fn instances(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Instance>> {
        unsupported(Capability::Instances)
    }
    /// [`Instances::instances`] as a shared, read-only list. For callers that only read the
    /// list and may keep it (the `/ec2`, `/api` and `/cimi` render memos compare it with the
    /// list their document was rendered from): a driver that already holds the list in memory
    /// (the mock's read memo) hands out the same `Arc` until the list changes, so such a caller
    /// neither copies it nor, when it is unchanged, compares it element by element. The
    /// default wraps `instances`.
    async fn instances_shared(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<std::sync::Arc<Vec<Instance>>> {
        Ok(std::sync::Arc::new(self.instances(ctx, f).await?))
    }
    /// Returns one instance, or several when `instance_count` asked for more.
    async fn create_instance(
        &self,
        _ctx: &RequestContext,
        _req: &CreateInstance,
    ) -> Result<Vec<Instance>> {
        unsupported(Capability::CreateInstance)
    }
    async fn start_instance(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<Instance> {
        unsupported(Capability::StartInstance)
    }
    async fn stop_instance(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<Instance> {
        unsupported(Capability::StopInstance)
    }
    async fn reboot_instance(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<Instance> {
        unsupported(Capability::RebootInstance)
    }
    async fn destroy_instance(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<()> {
        unsupported(Capability::DestroyInstance)
    }
    async fn run_on_instance(
        &self,
        _ctx: &RequestContext,
        _id: &InstanceId,
        _cmd: &RunCommand,
    ) -> Result<RunResult> {
        unsupported(Capability::RunOnInstance)
    }
}

#[async_trait]
pub trait Keys {
    async fn keys(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Key>> {
        unsupported(Capability::Keys)
    }
    async fn create_key(&self, _ctx: &RequestContext, _req: &CreateKey) -> Result<Key> {
        unsupported(Capability::CreateKey)
    }
    async fn destroy_key(&self, _ctx: &RequestContext, _id: &KeyId) -> Result<()> {
        unsupported(Capability::DestroyKey)
    }
}

#[async_trait]
pub trait StorageVolumes {
    async fn storage_volumes(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<StorageVolume>> {
        unsupported(Capability::StorageVolumes)
    }
    async fn create_storage_volume(
        &self,
        _ctx: &RequestContext,
        _req: &CreateStorageVolume,
    ) -> Result<StorageVolume> {
        unsupported(Capability::CreateStorageVolume)
    }
    async fn destroy_storage_volume(
        &self,
        _ctx: &RequestContext,
        _id: &StorageVolumeId,
    ) -> Result<()> {
        unsupported(Capability::DestroyStorageVolume)
    }
    async fn attach_storage_volume(
        &self,
        _ctx: &RequestContext,
        _id: &StorageVolumeId,
        _instance: &InstanceId,
        _device: &str,
    ) -> Result<StorageVolume> {
        unsupported(Capability::AttachStorageVolume)
    }
    async fn detach_storage_volume(
        &self,
        _ctx: &RequestContext,
        _id: &StorageVolumeId,
    ) -> Result<StorageVolume> {
        unsupported(Capability::DetachStorageVolume)
    }
}

#[async_trait]
pub trait StorageSnapshots {
    async fn storage_snapshots(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<StorageSnapshot>> {
        unsupported(Capability::StorageSnapshots)
    }
    async fn create_storage_snapshot(
        &self,
        _ctx: &RequestContext,
        _req: &CreateStorageSnapshot,
    ) -> Result<StorageSnapshot> {
        unsupported(Capability::CreateStorageSnapshot)
    }
    async fn destroy_storage_snapshot(
        &self,
        _ctx: &RequestContext,
        _id: &StorageSnapshotId,
    ) -> Result<()> {
        unsupported(Capability::DestroyStorageSnapshot)
    }
}

#[async_trait]
pub trait Buckets {
    async fn buckets(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Bucket>> {
        unsupported(Capability::Buckets)
    }
    async fn create_bucket(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _location: Option<&str>,
    ) -> Result<Bucket> {
        unsupported(Capability::CreateBucket)
    }
    async fn delete_bucket(&self, _ctx: &RequestContext, _id: &BucketId) -> Result<()> {
        unsupported(Capability::DeleteBucket)
    }
    /// Blob metadata, `None` if the blob does not exist in that bucket.
    async fn blob(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
    ) -> Result<Option<Blob>> {
        unsupported(Capability::Blob)
    }
    /// The blob's content as a stream of chunks.
    async fn blob_data(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
    ) -> Result<ByteStream> {
        unsupported(Capability::Blob)
    }
    /// Create or overwrite a blob from a stream; the driver must not buffer it whole.
    async fn create_blob(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
        _content_type: Option<&str>,
        _user_metadata: BTreeMap<String, String>,
        _data: ByteStream,
    ) -> Result<Blob> {
        unsupported(Capability::CreateBlob)
    }
    async fn delete_blob(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
    ) -> Result<()> {
        unsupported(Capability::DeleteBlob)
    }
    async fn blob_metadata(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
    ) -> Result<Option<BTreeMap<String, String>>> {
        unsupported(Capability::BlobMetadata)
    }
    async fn update_blob_metadata(
        &self,
        _ctx: &RequestContext,
        _bucket: &BucketId,
        _id: &BlobId,
        _meta: BTreeMap<String, String>,
    ) -> Result<()> {
        unsupported(Capability::UpdateBlobMetadata)
    }
}

#[async_trait]
pub trait Addresses {
    async fn addresses(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Address>> {
        unsupported(Capability::Addresses)
    }
    async fn create_address(&self, _ctx: &RequestContext) -> Result<Address> {
        unsupported(Capability::CreateAddress)
    }
    async fn destroy_address(&self, _ctx: &RequestContext, _id: &AddressId) -> Result<()> {
        unsupported(Capability::DestroyAddress)
    }
    async fn associate_address(
        &self,
        _ctx: &RequestContext,
        _id: &AddressId,
        _instance: &InstanceId,
    ) -> Result<()> {
        unsupported(Capability::AssociateAddress)
    }
    async fn disassociate_address(&self, _ctx: &RequestContext, _id: &AddressId) -> Result<()> {
        unsupported(Capability::DisassociateAddress)
    }
}

#[async_trait]
pub trait Firewalls {
    async fn firewalls(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Firewall>> {
        unsupported(Capability::Firewalls)
    }
    async fn create_firewall(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _description: &str,
    ) -> Result<Firewall> {
        unsupported(Capability::CreateFirewall)
    }
    async fn delete_firewall(&self, _ctx: &RequestContext, _id: &FirewallId) -> Result<()> {
        unsupported(Capability::DeleteFirewall)
    }
    async fn create_firewall_rule(
        &self,
        _ctx: &RequestContext,
        _id: &FirewallId,
        _rule: &CreateFirewallRule,
    ) -> Result<Firewall> {
        unsupported(Capability::CreateFirewallRule)
    }
    async fn delete_firewall_rule(
        &self,
        _ctx: &RequestContext,
        _id: &FirewallId,
        _rule: &FirewallRuleId,
    ) -> Result<()> {
        unsupported(Capability::DeleteFirewallRule)
    }
}

#[async_trait]
pub trait LoadBalancers {
    async fn load_balancers(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<LoadBalancer>> {
        unsupported(Capability::LoadBalancers)
    }
    async fn create_load_balancer(
        &self,
        _ctx: &RequestContext,
        _req: &CreateLoadBalancer,
    ) -> Result<LoadBalancer> {
        unsupported(Capability::CreateLoadBalancer)
    }
    async fn destroy_load_balancer(
        &self,
        _ctx: &RequestContext,
        _id: &LoadBalancerId,
    ) -> Result<()> {
        unsupported(Capability::DestroyLoadBalancer)
    }
    async fn lb_register_instance(
        &self,
        _ctx: &RequestContext,
        _id: &LoadBalancerId,
        _instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        unsupported(Capability::LbRegisterInstance)
    }
    async fn lb_unregister_instance(
        &self,
        _ctx: &RequestContext,
        _id: &LoadBalancerId,
        _instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        unsupported(Capability::LbUnregisterInstance)
    }
}

#[async_trait]
pub trait Metrics {
    /// Metric ids and property names, without values.
    async fn metrics(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Metric>> {
        unsupported(Capability::Metrics)
    }
    /// One metric with sample values.
    async fn metric(&self, _ctx: &RequestContext, _id: &MetricId) -> Result<Option<Metric>> {
        unsupported(Capability::Metrics)
    }
}

#[async_trait]
pub trait Networks {
    async fn networks(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Network>> {
        unsupported(Capability::Networks)
    }
    async fn create_network(
        &self,
        _ctx: &RequestContext,
        _address_block: &str,
        _name: Option<&str>,
    ) -> Result<Network> {
        unsupported(Capability::CreateNetwork)
    }
    async fn destroy_network(&self, _ctx: &RequestContext, _id: &NetworkId) -> Result<()> {
        unsupported(Capability::DestroyNetwork)
    }
    async fn subnets(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<Subnet>> {
        unsupported(Capability::Subnets)
    }
    async fn create_subnet(
        &self,
        _ctx: &RequestContext,
        _network: &NetworkId,
        _address_block: &str,
        _name: Option<&str>,
    ) -> Result<Subnet> {
        unsupported(Capability::CreateSubnet)
    }
    async fn destroy_subnet(&self, _ctx: &RequestContext, _id: &SubnetId) -> Result<()> {
        unsupported(Capability::DestroySubnet)
    }
    async fn network_interfaces(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<NetworkInterface>> {
        unsupported(Capability::NetworkInterfaces)
    }
    async fn create_network_interface(
        &self,
        _ctx: &RequestContext,
        _instance: &InstanceId,
        _network: &str,
        _name: Option<&str>,
    ) -> Result<NetworkInterface> {
        unsupported(Capability::CreateNetworkInterface)
    }
    async fn destroy_network_interface(
        &self,
        _ctx: &RequestContext,
        _id: &NetworkInterfaceId,
    ) -> Result<()> {
        unsupported(Capability::DestroyNetworkInterface)
    }
}

/// CIMI-only entities (`cimi.md` §5.13–§5.15) that a driver holds itself. Only the CIMI frontend
/// asks for them.
///
/// Why this is reached through [`Driver::cimi_entities`] instead of being one more supertrait of
/// [`Driver`]: almost no provider has these entities, and a supertrait would make every driver
/// (and every test double) write an empty impl. A driver that has them implements the trait and
/// returns itself from the accessor; the others inherit [`NoCimiEntities`].
#[async_trait]
pub trait CimiEntities: Send + Sync {
    async fn systems(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<System>> {
        unsupported(Capability::Systems)
    }
    /// The members of one system (every kind); an unknown system is an empty list.
    async fn system_components(
        &self,
        _ctx: &RequestContext,
        _system: &SystemId,
    ) -> Result<Vec<SystemComponent>> {
        unsupported(Capability::Systems)
    }
    async fn system_templates(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<SystemTemplate>> {
        unsupported(Capability::SystemTemplates)
    }
    async fn network_ports(&self, _ctx: &RequestContext, _f: &Filter) -> Result<Vec<NetworkPort>> {
        unsupported(Capability::NetworkPorts)
    }
    async fn network_configurations(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<NetworkConfiguration>> {
        unsupported(Capability::NetworkConfigurations)
    }
    async fn network_templates(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<NetworkTemplate>> {
        unsupported(Capability::NetworkTemplates)
    }
    async fn network_port_configurations(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<NetworkPortConfiguration>> {
        unsupported(Capability::NetworkPortConfigurations)
    }
    async fn network_port_templates(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<NetworkPortTemplate>> {
        unsupported(Capability::NetworkPortTemplates)
    }
    async fn forwarding_group_templates(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<ForwardingGroupTemplate>> {
        unsupported(Capability::ForwardingGroupTemplates)
    }
    async fn address_templates(
        &self,
        _ctx: &RequestContext,
        _f: &Filter,
    ) -> Result<Vec<AddressTemplate>> {
        unsupported(Capability::AddressTemplates)
    }
}

/// The [`CimiEntities`] of a driver that has none: every call is the typed not-supported error.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCimiEntities;

impl CimiEntities for NoCimiEntities {}

/// A backend: every capability area plus what the frontends need to know without calling it.
#[async_trait]
pub trait Driver:
    Realms
    + HardwareProfiles
    + Images
    + Instances
    + Keys
    + StorageVolumes
    + StorageSnapshots
    + Buckets
    + Addresses
    + Firewalls
    + LoadBalancers
    + Metrics
    + Networks
    + Send
    + Sync
{
    /// The driver id (`mock`, `ec2`, …).
    fn name(&self) -> &str;

    /// The operations this driver offers. See the module docs for why this is declared.
    fn capabilities(&self) -> &CapabilitySet;

    /// Optional features, in any order (frontends order them by the feature table).
    fn features(&self) -> &[DriverFeature] {
        &[]
    }

    /// The instance state machine, if the driver has instances.
    fn state_machine(&self) -> Option<&StateMachine> {
        None
    }

    /// Are these credentials accepted? (`GET /api?force_auth=1`.)
    async fn valid_credentials(&self, ctx: &RequestContext) -> Result<bool>;

    /// Dynamic provider list (EC2 regions, oVirt data centres).
    async fn providers(&self, _ctx: &RequestContext) -> Result<Vec<Provider>> {
        unsupported(Capability::Providers)
    }

    /// The CIMI-only entities this driver holds (see [`CimiEntities`] for why this is an
    /// accessor); by default none.
    fn cimi_entities(&self) -> &dyn CimiEntities {
        &NoCimiEntities
    }

    /// Convenience: one instance by id.
    async fn instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Option<Instance>> {
        Ok(self
            .instances(ctx, &Filter::by_id(id))
            .await?
            .into_iter()
            .next())
    }
}
