//! Wire shapes of EC2 responses (`ec2-frontend.md` A5, B6), as serde structs: one struct per
//! shape, never string concatenation.
//!
//! Every success document is `<{Action}Response xmlns="http://ec2.amazonaws.com/doc/<Version>/">`
//! with `<requestId>` first, then the action's body. [`Envelope`] adds the first two to any body
//! through `#[serde(flatten)]`, and the root name is chosen at run time, so each action needs only
//! its body struct. Optional elements carry `skip_serializing_if` (quick-xml writes `None` as an
//! empty element otherwise); empty lists become self-closed wrappers (`<groupSet/>`), as EC2
//! sends them.

use serde::Serialize;

/// Serialize `value` as a whole document with root element `root`, indented, with the XML
/// declaration EC2 sends.
///
/// # Errors
/// Only if serialization fails, which these plain structs do not cause.
pub fn to_document<T: Serialize>(root: &str, value: &T) -> Result<String, quick_xml::SeError> {
    // Most documents (DescribeInstances of a handful of instances) fit without regrowing.
    let mut s = String::with_capacity(8 * 1024);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut ser = quick_xml::se::Serializer::with_root(&mut s, Some(root))?;
    ser.indent(' ', 2);
    value.serialize(ser)?;
    Ok(s)
}

/// `xmlns` + `requestId` + the action's body.
#[derive(Serialize)]
pub struct Envelope<'a, T> {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'a str,
    #[serde(rename = "requestId")]
    pub request_id: &'a str,
    #[serde(flatten)]
    pub body: T,
}

/// An EC2 list: `<xxxSet><item>…</item>…</xxxSet>`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Items<T> {
    pub item: Vec<T>,
}

impl<T> Items<T> {
    #[must_use]
    pub const fn empty() -> Self {
        Self { item: Vec::new() }
    }
}

impl<T> From<Vec<T>> for Items<T> {
    fn from(item: Vec<T>) -> Self {
        Self { item }
    }
}

/// Placeholder element type for lists we always send empty (`productCodes`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Nothing {}

/// `<return>true</return>` bodies.
#[derive(Serialize)]
pub struct ReturnBody {
    #[serde(rename = "return")]
    pub ret: bool,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateDto {
    pub code: i32,
    pub name: &'static str,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct TagDto {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct GroupDto {
    #[serde(rename = "groupId")]
    pub group_id: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
}

// ------------------------------------------------------------------------------------------
// Regions, zones, account

#[derive(Serialize)]
pub struct RegionsBody {
    #[serde(rename = "regionInfo")]
    pub regions: Items<RegionDto>,
}

#[derive(Serialize)]
pub struct RegionDto {
    #[serde(rename = "regionName")]
    pub name: String,
    #[serde(rename = "regionEndpoint")]
    pub endpoint: String,
    #[serde(rename = "optInStatus")]
    pub opt_in: &'static str,
}

#[derive(Serialize)]
pub struct ZonesBody {
    #[serde(rename = "availabilityZoneInfo")]
    pub zones: Items<ZoneDto>,
}

#[derive(Serialize)]
pub struct ZoneDto {
    #[serde(rename = "zoneName")]
    pub name: String,
    #[serde(rename = "zoneState")]
    pub state: &'static str,
    #[serde(rename = "regionName")]
    pub region: String,
    #[serde(rename = "zoneId")]
    pub zone_id: String,
    #[serde(rename = "zoneType")]
    pub zone_type: &'static str,
    #[serde(rename = "messageSet")]
    pub messages: Items<Nothing>,
}

#[derive(Serialize)]
pub struct AccountAttributesBody {
    #[serde(rename = "accountAttributeSet")]
    pub set: Items<AccountAttributeDto>,
}

#[derive(Serialize)]
pub struct AccountAttributeDto {
    #[serde(rename = "attributeName")]
    pub name: &'static str,
    #[serde(rename = "attributeValueSet")]
    pub values: Items<AttributeValueDto>,
}

#[derive(Serialize)]
pub struct AttributeValueDto {
    #[serde(rename = "attributeValue")]
    pub value: &'static str,
}

// ------------------------------------------------------------------------------------------
// Instances

#[derive(Serialize)]
pub struct ReservationsBody {
    #[serde(rename = "reservationSet")]
    pub reservations: Items<ReservationDto>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A reservation, also the body of RunInstances.
#[derive(Serialize)]
pub struct ReservationDto {
    #[serde(rename = "reservationId")]
    pub reservation_id: String,
    #[serde(rename = "ownerId")]
    pub owner_id: String,
    #[serde(rename = "groupSet")]
    pub groups: Items<GroupDto>,
    #[serde(rename = "instancesSet")]
    pub instances: Items<InstanceDto>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct InstanceDto {
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    #[serde(rename = "imageId")]
    pub image_id: String,
    #[serde(rename = "instanceState")]
    pub state: StateDto,
    #[serde(rename = "privateDnsName")]
    pub private_dns_name: String,
    #[serde(rename = "dnsName")]
    pub dns_name: String,
    pub reason: String,
    #[serde(rename = "keyName", skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(rename = "amiLaunchIndex")]
    pub ami_launch_index: usize,
    #[serde(rename = "productCodes")]
    pub product_codes: Items<Nothing>,
    #[serde(rename = "instanceType")]
    pub instance_type: String,
    #[serde(rename = "launchTime")]
    pub launch_time: String,
    pub placement: PlacementDto,
    pub monitoring: MonitoringDto,
    #[serde(rename = "privateIpAddress", skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    #[serde(rename = "sourceDestCheck")]
    pub source_dest_check: bool,
    #[serde(rename = "groupSet")]
    pub groups: Items<GroupDto>,
    #[serde(rename = "stateReason", skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<StateReasonDto>,
    pub architecture: String,
    #[serde(rename = "rootDeviceType")]
    pub root_device_type: &'static str,
    #[serde(rename = "rootDeviceName")]
    pub root_device_name: &'static str,
    #[serde(rename = "blockDeviceMapping")]
    pub block_devices: Items<BlockDeviceDto>,
    #[serde(rename = "virtualizationType")]
    pub virtualization_type: &'static str,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
    pub hypervisor: &'static str,
    #[serde(rename = "networkInterfaceSet")]
    pub network_interfaces: Items<Nothing>,
    #[serde(rename = "ebsOptimized")]
    pub ebs_optimized: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PlacementDto {
    #[serde(rename = "availabilityZone")]
    pub availability_zone: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
    pub tenancy: &'static str,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct MonitoringDto {
    pub state: &'static str,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct StateReasonDto {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct BlockDeviceDto {
    #[serde(rename = "deviceName")]
    pub device_name: String,
    pub ebs: EbsDto,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EbsDto {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    pub status: &'static str,
    #[serde(rename = "attachTime")]
    pub attach_time: String,
    #[serde(rename = "deleteOnTermination")]
    pub delete_on_termination: bool,
}

#[derive(Serialize)]
pub struct StateChangesBody {
    #[serde(rename = "instancesSet")]
    pub instances: Items<StateChangeDto>,
}

#[derive(Serialize)]
pub struct StateChangeDto {
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    #[serde(rename = "currentState")]
    pub current: StateDto,
    #[serde(rename = "previousState")]
    pub previous: StateDto,
}

#[derive(Serialize)]
pub struct InstanceStatusBody {
    #[serde(rename = "instanceStatusSet")]
    pub statuses: Items<InstanceStatusDto>,
}

#[derive(Serialize)]
pub struct InstanceStatusDto {
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    #[serde(rename = "availabilityZone")]
    pub availability_zone: String,
    #[serde(rename = "instanceState")]
    pub state: StateDto,
    #[serde(rename = "systemStatus")]
    pub system_status: StatusDto,
    #[serde(rename = "instanceStatus")]
    pub instance_status: StatusDto,
}

#[derive(Serialize)]
pub struct StatusDto {
    pub status: &'static str,
    pub details: Items<StatusDetailDto>,
}

#[derive(Serialize)]
pub struct StatusDetailDto {
    pub name: &'static str,
    pub status: &'static str,
}

/// DescribeInstanceAttribute: `instanceId` plus one attribute element, whose name varies.
#[derive(Serialize)]
pub struct InstanceAttributeBody {
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    #[serde(rename = "instanceType", skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<ValueDto>,
    #[serde(rename = "userData", skip_serializing_if = "Option::is_none")]
    pub user_data: Option<ValueDto>,
    #[serde(
        rename = "disableApiTermination",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_api_termination: Option<ValueDto>,
    #[serde(
        rename = "instanceInitiatedShutdownBehavior",
        skip_serializing_if = "Option::is_none"
    )]
    pub shutdown_behavior: Option<ValueDto>,
    #[serde(rename = "rootDeviceName", skip_serializing_if = "Option::is_none")]
    pub root_device_name: Option<ValueDto>,
    #[serde(rename = "kernel", skip_serializing_if = "Option::is_none")]
    pub kernel: Option<ValueDto>,
    #[serde(rename = "ramdisk", skip_serializing_if = "Option::is_none")]
    pub ramdisk: Option<ValueDto>,
    #[serde(rename = "groupSet", skip_serializing_if = "Option::is_none")]
    pub groups: Option<Items<GroupDto>>,
}

#[derive(Serialize)]
pub struct ValueDto {
    pub value: String,
}

#[derive(Serialize)]
pub struct InstanceTypesBody {
    #[serde(rename = "instanceTypeSet")]
    pub types: Items<InstanceTypeDto>,
}

#[derive(Serialize)]
pub struct InstanceTypeDto {
    #[serde(rename = "instanceType")]
    pub instance_type: String,
    #[serde(rename = "vCpuInfo")]
    pub vcpu: VcpuDto,
    #[serde(rename = "memoryInfo")]
    pub memory: MemoryDto,
    #[serde(rename = "processorInfo")]
    pub processor: ProcessorDto,
}

#[derive(Serialize)]
pub struct VcpuDto {
    #[serde(rename = "defaultVCpus")]
    pub default_vcpus: u64,
}

#[derive(Serialize)]
pub struct MemoryDto {
    #[serde(rename = "sizeInMiB")]
    pub size_in_mib: u64,
}

#[derive(Serialize)]
pub struct ProcessorDto {
    #[serde(rename = "supportedArchitectures")]
    pub architectures: Items<String>,
}

// ------------------------------------------------------------------------------------------
// Images

#[derive(Serialize)]
pub struct ImagesBody {
    #[serde(rename = "imagesSet")]
    pub images: Items<ImageDto>,
}

#[derive(Serialize)]
pub struct ImageDto {
    #[serde(rename = "imageId")]
    pub image_id: String,
    #[serde(rename = "imageLocation")]
    pub location: String,
    #[serde(rename = "imageState")]
    pub state: String,
    #[serde(rename = "imageOwnerId")]
    pub owner_id: String,
    #[serde(rename = "creationDate", skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    #[serde(rename = "isPublic")]
    pub is_public: bool,
    pub architecture: String,
    #[serde(rename = "imageType")]
    pub image_type: &'static str,
    pub name: String,
    pub description: String,
    #[serde(rename = "rootDeviceType")]
    pub root_device_type: &'static str,
    #[serde(rename = "rootDeviceName")]
    pub root_device_name: &'static str,
    #[serde(rename = "blockDeviceMapping")]
    pub block_devices: Items<Nothing>,
    #[serde(rename = "virtualizationType")]
    pub virtualization_type: &'static str,
    pub hypervisor: &'static str,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

#[derive(Serialize)]
pub struct ImageIdBody {
    #[serde(rename = "imageId")]
    pub image_id: String,
}

// ------------------------------------------------------------------------------------------
// Key pairs

#[derive(Serialize)]
pub struct KeyPairsBody {
    #[serde(rename = "keySet")]
    pub keys: Items<KeyPairDto>,
}

#[derive(Serialize)]
pub struct KeyPairDto {
    #[serde(rename = "keyPairId")]
    pub key_pair_id: String,
    #[serde(rename = "keyName")]
    pub key_name: String,
    #[serde(rename = "keyFingerprint")]
    pub fingerprint: String,
    #[serde(rename = "keyType")]
    pub key_type: &'static str,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

#[derive(Serialize)]
pub struct CreateKeyPairBody {
    #[serde(rename = "keyName")]
    pub key_name: String,
    #[serde(rename = "keyFingerprint")]
    pub fingerprint: String,
    #[serde(rename = "keyMaterial", skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    #[serde(rename = "keyPairId")]
    pub key_pair_id: String,
}

// ------------------------------------------------------------------------------------------
// Volumes and snapshots

#[derive(Serialize)]
pub struct VolumesBody {
    #[serde(rename = "volumeSet")]
    pub volumes: Items<VolumeDto>,
}

#[derive(Serialize)]
pub struct VolumeDto {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    pub size: String,
    #[serde(rename = "snapshotId")]
    pub snapshot_id: String,
    #[serde(rename = "availabilityZone")]
    pub availability_zone: String,
    pub status: String,
    #[serde(rename = "createTime")]
    pub create_time: String,
    #[serde(rename = "attachmentSet")]
    pub attachments: Items<AttachmentDto>,
    #[serde(rename = "volumeType")]
    pub volume_type: &'static str,
    pub encrypted: bool,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

/// A volume attachment; also the body of AttachVolume/DetachVolume.
#[derive(Serialize)]
pub struct AttachmentDto {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    pub device: String,
    pub status: &'static str,
    #[serde(rename = "attachTime")]
    pub attach_time: String,
    #[serde(rename = "deleteOnTermination")]
    pub delete_on_termination: bool,
}

/// CreateVolume's body: a volume without attachments and tags.
#[derive(Serialize)]
pub struct CreateVolumeBody {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    pub size: String,
    #[serde(rename = "snapshotId")]
    pub snapshot_id: String,
    #[serde(rename = "availabilityZone")]
    pub availability_zone: String,
    pub status: String,
    #[serde(rename = "createTime")]
    pub create_time: String,
    #[serde(rename = "volumeType")]
    pub volume_type: &'static str,
    pub encrypted: bool,
}

#[derive(Serialize)]
pub struct SnapshotsBody {
    #[serde(rename = "snapshotSet")]
    pub snapshots: Items<SnapshotDto>,
}

/// A snapshot; also the body of CreateSnapshot (tags are empty there).
#[derive(Serialize)]
pub struct SnapshotDto {
    #[serde(rename = "snapshotId")]
    pub snapshot_id: String,
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    pub status: String,
    #[serde(rename = "startTime")]
    pub start_time: String,
    pub progress: &'static str,
    #[serde(rename = "ownerId")]
    pub owner_id: String,
    #[serde(rename = "volumeSize")]
    pub volume_size: String,
    pub description: String,
    pub encrypted: bool,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

// ------------------------------------------------------------------------------------------
// Security groups

#[derive(Serialize)]
pub struct SecurityGroupsBody {
    #[serde(rename = "securityGroupInfo")]
    pub groups: Items<SecurityGroupDto>,
}

#[derive(Serialize)]
pub struct SecurityGroupDto {
    #[serde(rename = "ownerId")]
    pub owner_id: String,
    #[serde(rename = "groupId")]
    pub group_id: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
    #[serde(rename = "groupDescription")]
    pub description: String,
    #[serde(rename = "ipPermissions")]
    pub ingress: Items<IpPermissionDto>,
    #[serde(rename = "ipPermissionsEgress")]
    pub egress: Items<IpPermissionDto>,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

#[derive(Serialize)]
pub struct IpPermissionDto {
    #[serde(rename = "ipProtocol")]
    pub protocol: String,
    #[serde(rename = "fromPort", skip_serializing_if = "Option::is_none")]
    pub from_port: Option<String>,
    #[serde(rename = "toPort", skip_serializing_if = "Option::is_none")]
    pub to_port: Option<String>,
    pub groups: Items<UserGroupDto>,
    #[serde(rename = "ipRanges")]
    pub ip_ranges: Items<IpRangeDto>,
}

#[derive(Serialize)]
pub struct UserGroupDto {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
}

#[derive(Serialize)]
pub struct IpRangeDto {
    #[serde(rename = "cidrIp")]
    pub cidr_ip: String,
}

#[derive(Serialize)]
pub struct CreateSecurityGroupBody {
    #[serde(rename = "return")]
    pub ret: bool,
    #[serde(rename = "groupId")]
    pub group_id: String,
}

// ------------------------------------------------------------------------------------------
// Addresses

#[derive(Serialize)]
pub struct AddressesBody {
    #[serde(rename = "addressesSet")]
    pub addresses: Items<AddressDto>,
}

#[derive(Serialize)]
pub struct AddressDto {
    #[serde(rename = "publicIp")]
    pub public_ip: String,
    #[serde(rename = "allocationId")]
    pub allocation_id: String,
    pub domain: &'static str,
    #[serde(rename = "instanceId", skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(rename = "associationId", skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    #[serde(rename = "tagSet")]
    pub tags: Items<TagDto>,
}

#[derive(Serialize)]
pub struct AllocateAddressBody {
    #[serde(rename = "publicIp")]
    pub public_ip: String,
    pub domain: &'static str,
    #[serde(rename = "allocationId")]
    pub allocation_id: String,
}

#[derive(Serialize)]
pub struct AssociateAddressBody {
    #[serde(rename = "return")]
    pub ret: bool,
    #[serde(rename = "associationId")]
    pub association_id: String,
}

// ------------------------------------------------------------------------------------------
// Tags

#[derive(Serialize)]
pub struct TagsBody {
    #[serde(rename = "tagSet")]
    pub tags: Items<ResourceTagDto>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
pub struct ResourceTagDto {
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    pub key: String,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_puts_namespace_and_request_id_first() {
        let doc = to_document(
            "DeleteKeyPairResponse",
            &Envelope {
                xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
                request_id: "r1",
                body: ReturnBody { ret: true },
            },
        )
        .unwrap();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteKeyPairResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n  <requestId>r1</requestId>\n  <return>true</return>\n</DeleteKeyPairResponse>"
        );
    }

    #[test]
    fn empty_lists_are_self_closed_and_none_is_omitted() {
        let doc = to_document(
            "DescribeInstancesResponse",
            &Envelope {
                xmlns: "x",
                request_id: "r",
                body: ReservationsBody {
                    reservations: Items::empty(),
                    next_token: None,
                },
            },
        )
        .unwrap();
        assert!(doc.contains("<reservationSet/>"), "{doc}");
        assert!(!doc.contains("nextToken"), "{doc}");
    }
}
