//! The resources of every Deltacloud collection (`drivers.md` §2.7). Plain data: frontends render
//! them, backends build them. Optional attributes are `Option` because the wire formats treat
//! "absent" and "empty" differently (e.g. inst3's empty-string name is shown, a missing name is
//! not).

use crate::hardware::PropertyName;
use crate::ids::*;
use crate::state::{InstanceAction, InstanceState};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Realm {
    pub id: RealmId,
    pub name: String,
    /// `AVAILABLE`/`UNAVAILABLE` by convention; providers' own strings pass through.
    pub state: String,
    /// `None` means unlimited.
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub id: ImageId,
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub architecture: String,
    pub state: Option<String>,
    pub creation_time: Option<String>,
    /// `transient` (default) or `persistent`.
    pub root_type: Option<String>,
    pub hardware_profiles: Option<Vec<HardwareProfileId>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressType {
    Ipv4,
    Ipv6,
    Hostname,
    Mac,
    Vnc,
}

impl AddressType {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Hostname => "hostname",
            Self::Mac => "mac",
            Self::Vnc => "vnc",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ipv4, Self::Ipv6, Self::Hostname, Self::Mac, Self::Vnc]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceAddress {
    pub address: String,
    pub kind: AddressType,
    pub port: Option<u16>,
}

impl InstanceAddress {
    #[must_use]
    pub fn hostname(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            kind: AddressType::Hostname,
            port: None,
        }
    }

    #[must_use]
    pub fn ipv4(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            kind: AddressType::Ipv4,
            port: None,
        }
    }
}

/// The hardware profile an instance runs with, plus per-instance overrides of its non-fixed
/// properties. Override values are kept as given (the mock stores `"12288"` as a string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceProfile {
    pub id: HardwareProfileId,
    pub overrides: BTreeMap<PropertyName, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    pub name: Option<String>,
    pub owner_id: Option<String>,
    pub image_id: Option<ImageId>,
    pub realm_id: Option<RealmId>,
    pub state: InstanceState,
    /// Actions allowed now; drivers take them from their state machine and may refine them.
    pub actions: Vec<InstanceAction>,
    pub public_addresses: Vec<InstanceAddress>,
    pub private_addresses: Vec<InstanceAddress>,
    pub profile: Option<InstanceProfile>,
    pub launch_time: Option<String>,
    pub keyname: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub authn_error: Option<String>,
    /// May this instance be snapshotted into an image?
    pub create_image: bool,
    pub firewalls: Option<Vec<FirewallId>>,
    /// `(volume, device)` pairs.
    pub storage_volumes: Option<Vec<(StorageVolumeId, String)>>,
    pub network_interfaces: Option<Vec<NetworkInterfaceId>>,
}

/// Parameters of instance creation, already validated and decoded by the frontend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateInstance {
    pub image_id: ImageId,
    pub realm_id: Option<RealmId>,
    pub hwp_id: Option<HardwareProfileId>,
    /// `hwp_<property>` overrides, unchecked (the original did not range-check them).
    pub hwp_overrides: BTreeMap<PropertyName, String>,
    pub keyname: Option<String>,
    pub name: Option<String>,
    /// Decoded user data (the wire form is base64).
    pub user_data: Option<Vec<u8>>,
    pub password: Option<String>,
    pub firewalls: Vec<FirewallId>,
    pub instance_count: Option<u32>,
    /// CIMI may ask for an instance to be created stopped.
    pub initial_state: Option<InstanceState>,
    pub metrics: bool,
    pub load_balancer_id: Option<LoadBalancerId>,
    pub snapshot_id: Option<StorageSnapshotId>,
    pub device_name: Option<String>,
    pub subnet_id: Option<SubnetId>,
}

/// Output of `run_on_instance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    pub instance_id: InstanceId,
    pub public_address: Option<String>,
    pub command: String,
    pub output: String,
}

/// Parameters of `run_on_instance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCommand {
    pub cmd: String,
    pub private_key: Option<String>,
    pub password: Option<String>,
    pub ip: Option<String>,
    pub port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialType {
    Key,
    Password,
}

impl CredentialType {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Password => "password",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub id: KeyId,
    pub name: String,
    pub credential_type: CredentialType,
    pub fingerprint: Option<String>,
    pub pem_rsa_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub state: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateKey {
    pub name: String,
    pub public_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateImage {
    pub instance_id: InstanceId,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageVolume {
    pub id: StorageVolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created: Option<String>,
    pub state: Option<String>,
    /// Gigabytes, as the provider reports it.
    pub capacity: Option<String>,
    pub instance_id: Option<InstanceId>,
    pub device: Option<String>,
    pub realm_id: Option<RealmId>,
    pub kind: Option<String>,
    /// `None` when the driver does not report actions (the mock does not).
    pub actions: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateStorageVolume {
    pub snapshot_id: Option<StorageSnapshotId>,
    pub capacity: Option<String>,
    pub realm_id: Option<RealmId>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageSnapshot {
    pub id: StorageSnapshotId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    pub storage_volume_id: Option<StorageVolumeId>,
    pub created: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateStorageSnapshot {
    pub volume_id: StorageVolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub id: BucketId,
    pub name: String,
    /// Number of blobs, when the provider reports it.
    pub size: Option<u64>,
    pub blob_list: Vec<BlobId>,
}

/// Blob metadata (the content travels separately as a stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub id: BlobId,
    pub bucket: BucketId,
    pub content_length: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    /// `None` where the provider stores "no metadata" differently from an empty map.
    pub user_metadata: Option<BTreeMap<String, String>>,
}

/// A blob's content as a stream of chunks, so neither side holds a whole blob in memory.
pub type ByteStream = BoxStream<'static, crate::error::Result<Bytes>>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub id: AddressId,
    pub instance_id: Option<InstanceId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirewallSource {
    Group {
        name: String,
        owner: String,
    },
    Address {
        family: String,
        address: String,
        prefix: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallRule {
    pub id: FirewallRuleId,
    pub allow_protocol: Option<String>,
    pub port_from: Option<String>,
    pub port_to: Option<String>,
    pub sources: Vec<FirewallSource>,
    pub direction: Option<String>,
    pub rule_action: Option<String>,
    pub log_rule: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firewall {
    pub id: FirewallId,
    pub name: String,
    pub description: String,
    pub owner_id: Option<String>,
    pub rules: Vec<FirewallRule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateFirewallRule {
    pub protocol: String,
    pub port_from: String,
    pub port_to: String,
    /// CIDR sources.
    pub addresses: Vec<String>,
    /// Group sources: `(name, owner)`.
    pub groups: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub protocol: String,
    pub load_balancer_port: String,
    pub instance_port: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancer {
    pub id: LoadBalancerId,
    pub realms: Vec<RealmId>,
    pub listeners: Vec<Listener>,
    pub instances: Vec<InstanceId>,
    pub public_addresses: Vec<String>,
    pub created_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateLoadBalancer {
    pub name: String,
    pub realm_id: RealmId,
    pub listener: Listener,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    pub minimum: f64,
    pub maximum: f64,
    pub average: f64,
    pub timestamp: i64,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricProperty {
    pub name: String,
    /// `None` in list views (no values fetched).
    pub values: Option<Vec<MetricSample>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub id: MetricId,
    pub entity: String,
    pub properties: Vec<MetricProperty>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub id: NetworkId,
    pub name: String,
    pub state: Option<String>,
    pub address_blocks: Vec<String>,
    pub subnets: Vec<SubnetId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub id: SubnetId,
    pub name: String,
    pub network: Option<NetworkId>,
    pub address_block: Option<String>,
    pub state: Option<String>,
    pub kind: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInterface {
    pub id: NetworkInterfaceId,
    pub name: String,
    pub instance: Option<InstanceId>,
    /// A subnet when the driver has subnets, else a network (see `deltacloud-api.md` §8.14).
    pub network: Option<String>,
    pub ip_address: Option<String>,
}

/// A provider (region, data centre, endpoint) a driver can talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub url: Option<String>,
}
