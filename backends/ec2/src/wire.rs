//! The EC2 Query API's response documents, as serde structs read by quick-xml.
//!
//! One struct per wire shape, holding only the elements the backend uses; unknown elements are
//! skipped, so newer API versions that add elements still parse.
//!
//! Why namespaces do not matter here: quick-xml's deserializer matches *local* names and does
//! not check `xmlns`. Real EC2 answers `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"` (and
//! the 2012 recordings `…/2010-08-31/`), both with a trailing `/`; moto answers
//! `…/doc/2016-11-15` without it. Both parse into the same structs, which the tests check with
//! each spelling. The root element's name is not checked either: a body that is well-formed XML
//! but lacks the expected elements fails on the first required field instead.

use serde::Deserialize;

/// EC2's `<fooSet><item>…</item>…</fooSet>` list wrapper. An empty set arrives as `<fooSet/>`.
#[derive(Debug, Deserialize)]
pub struct Items<T> {
    #[serde(default = "Vec::new")]
    pub item: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Self { item: Vec::new() }
    }
}

/// `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`: the error
/// document of EC2, Eucalyptus and moto alike.
#[derive(Debug, Deserialize)]
pub struct ErrorResponse {
    #[serde(rename = "Errors")]
    pub errors: ErrorList,
}

#[derive(Debug, Deserialize)]
pub struct ErrorList {
    #[serde(rename = "Error", default = "Vec::new")]
    pub error: Vec<ErrorItem>,
}

/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`: the
/// error document of the newer Query APIs (ELB, CloudWatch).
#[derive(Debug, Deserialize)]
pub struct ServiceErrorResponse {
    #[serde(rename = "Error")]
    pub error: ErrorItem,
}

#[derive(Debug, Deserialize)]
pub struct ErrorItem {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

// ---- realms -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAvailabilityZones {
    #[serde(default)]
    pub availability_zone_info: Items<Zone>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    pub zone_name: String,
    #[serde(default)]
    pub zone_state: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSubnets {
    #[serde(default)]
    pub subnet_set: Items<SubnetItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetItem {
    pub subnet_id: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub availability_zone: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRegions {
    #[serde(default)]
    pub region_info: Items<RegionItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionItem {
    pub region_name: String,
    #[serde(default)]
    pub region_endpoint: Option<String>,
}

// ---- images -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImages {
    #[serde(default)]
    pub images_set: Items<ImageItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageItem {
    pub image_id: String,
    #[serde(default)]
    pub image_location: Option<String>,
    #[serde(default)]
    pub image_state: Option<String>,
    #[serde(default)]
    pub image_owner_id: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub root_device_type: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateImageResponse {
    pub image_id: String,
}

/// `<return>true</return>` of the calls that only acknowledge. Optional because moto leaves it
/// out of some (`RebootInstances`); a present `false` is a failure.
#[derive(Debug, Deserialize)]
pub struct ReturnResponse {
    #[serde(rename = "return", default)]
    pub ret: Option<String>,
}

// ---- instances --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInstances {
    #[serde(default)]
    pub reservation_set: Items<Reservation>,
}

/// A reservation: `DescribeInstances` items and the whole `RunInstances` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Classic EC2 lists the security groups per reservation.
    #[serde(default)]
    pub group_set: Items<GroupRef>,
    #[serde(default)]
    pub instances_set: Items<InstanceItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceItem {
    pub instance_id: String,
    #[serde(default)]
    pub image_id: Option<String>,
    pub instance_state: StateItem,
    #[serde(default)]
    pub private_dns_name: Option<String>,
    #[serde(default)]
    pub dns_name: Option<String>,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub launch_time: Option<String>,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default)]
    pub root_device_type: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    /// VPC-era responses list the groups per instance.
    #[serde(default)]
    pub group_set: Items<GroupRef>,
    #[serde(default)]
    pub block_device_mapping: Items<BlockDevice>,
    #[serde(default)]
    pub tag_set: Items<Tag>,
}

#[derive(Debug, Deserialize)]
pub struct StateItem {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    #[serde(default)]
    pub availability_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDevice {
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub ebs: Option<EbsRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EbsRef {
    #[serde(default)]
    pub volume_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `StartInstances`, `StopInstances`, `TerminateInstances`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChangeResponse {
    #[serde(default)]
    pub instances_set: Items<StateChange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    pub instance_id: String,
    pub current_state: StateItem,
}

// ---- keys -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeKeyPairs {
    #[serde(default)]
    pub key_set: Items<KeyItem>,
}

/// A `DescribeKeyPairs` item, and the whole `CreateKeyPair`/`ImportKeyPair` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyItem {
    pub key_name: String,
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    #[serde(default)]
    pub key_material: Option<String>,
}

// ---- volumes and snapshots --------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeVolumes {
    #[serde(default)]
    pub volume_set: Items<VolumeItem>,
}

/// A `DescribeVolumes` item, and the whole `CreateVolume` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeItem {
    pub volume_id: String,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub volume_type: Option<String>,
    #[serde(default)]
    pub attachment_set: Items<Attachment>,
    #[serde(default)]
    pub tag_set: Items<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSnapshots {
    #[serde(default)]
    pub snapshot_set: Items<SnapshotItem>,
}

/// A `DescribeSnapshots` item, and the whole `CreateSnapshot` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotItem {
    pub snapshot_id: String,
    #[serde(default)]
    pub volume_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

// ---- addresses --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAddresses {
    #[serde(default)]
    pub addresses_set: Items<AddressItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressItem {
    pub public_ip: String,
    #[serde(default)]
    pub instance_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocateAddress {
    pub public_ip: String,
}

// ---- security groups --------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSecurityGroups {
    #[serde(default)]
    pub security_group_info: Items<SecurityGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    pub group_name: String,
    #[serde(default)]
    pub group_description: Option<String>,
    #[serde(default)]
    pub ip_permissions: Items<IpPermission>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPermission {
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub from_port: Option<String>,
    #[serde(default)]
    pub to_port: Option<String>,
    #[serde(default)]
    pub groups: Items<UserIdGroupPair>,
    #[serde(default)]
    pub ip_ranges: Items<IpRange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdGroupPair {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpRange {
    pub cidr_ip: String,
}

/// Parse a response document into `T`.
///
/// # Errors
/// The body is not XML or lacks required elements; the caller turns this into a provider error.
pub fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(body)
}

/// `Some(s)` unless `s` is absent or blank (EC2 sends `<dnsName/>` for "none").
#[must_use]
pub fn nonempty(s: Option<&String>) -> Option<String> {
    s.map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
