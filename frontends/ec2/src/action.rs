//! The typed operation enum and its one parser: every EC2 request becomes an [`Action`] here,
//! and handlers match on it exhaustively (Garage's `Endpoint`, style.md §3).
//!
//! Unlike the original, which read only the first member of every list (A2), all members are
//! read: `InstanceId.N`, `Filter.N.Name`/`Filter.N.Value.M`, `TagSpecification.N.Tag.M.*`,
//! `IpPermissions.N.*`.

use crate::error::{Ec2Error, Ec2Result};
use crate::params::{FilterSpec, Params};

/// Tags to put on resources created by the same request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagSpec {
    pub resource_type: String,
    pub tags: Vec<(String, String)>,
}

/// One `IpPermissions.N` (or the legacy flat form).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpPermission {
    pub protocol: String,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidrs: Vec<String>,
    /// `(group name, owner user id)`.
    pub groups: Vec<(String, String)>,
}

/// Which security group a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Name(String),
    Id(String),
}

/// The parameters of RunInstances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunInstances {
    pub image_id: String,
    pub min_count: u32,
    pub max_count: u32,
    pub instance_type: Option<String>,
    pub key_name: Option<String>,
    pub security_groups: Vec<String>,
    pub user_data: Option<Vec<u8>>,
    pub availability_zone: Option<String>,
    pub subnet_id: Option<String>,
    pub tag_specs: Vec<TagSpec>,
    pub monitoring: bool,
}

/// Every action this frontend answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    DescribeRegions {
        names: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    DescribeAvailabilityZones {
        names: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    DescribeAccountAttributes {
        names: Vec<String>,
    },
    DescribeInstances {
        ids: Vec<String>,
        filters: Vec<FilterSpec>,
        max_results: Option<usize>,
        next_token: Option<String>,
    },
    DescribeInstanceStatus {
        ids: Vec<String>,
        include_all: bool,
        filters: Vec<FilterSpec>,
    },
    DescribeInstanceAttribute {
        id: String,
        attribute: String,
    },
    DescribeInstanceTypes {
        types: Vec<String>,
    },
    RunInstances(RunInstances),
    StartInstances {
        ids: Vec<String>,
    },
    StopInstances {
        ids: Vec<String>,
    },
    RebootInstances {
        ids: Vec<String>,
    },
    TerminateInstances {
        ids: Vec<String>,
    },
    DescribeImages {
        ids: Vec<String>,
        owners: Vec<String>,
        executable_by: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    CreateImage {
        instance_id: String,
        name: String,
        description: Option<String>,
    },
    DeregisterImage {
        id: String,
    },
    DescribeKeyPairs {
        names: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    CreateKeyPair {
        name: String,
    },
    ImportKeyPair {
        name: String,
        public_key: String,
    },
    DeleteKeyPair {
        name: String,
    },
    DescribeVolumes {
        ids: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    CreateVolume {
        size: Option<i64>,
        zone: Option<String>,
        snapshot_id: Option<String>,
        tag_specs: Vec<TagSpec>,
    },
    DeleteVolume {
        id: String,
    },
    AttachVolume {
        id: String,
        instance_id: String,
        device: String,
    },
    DetachVolume {
        id: String,
    },
    DescribeSnapshots {
        ids: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    CreateSnapshot {
        volume_id: String,
        description: Option<String>,
        tag_specs: Vec<TagSpec>,
    },
    DeleteSnapshot {
        id: String,
    },
    DescribeSecurityGroups {
        names: Vec<String>,
        ids: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    CreateSecurityGroup {
        name: String,
        description: String,
    },
    DeleteSecurityGroup {
        group: GroupRef,
    },
    AuthorizeSecurityGroupIngress {
        group: GroupRef,
        permissions: Vec<IpPermission>,
    },
    RevokeSecurityGroupIngress {
        group: GroupRef,
        permissions: Vec<IpPermission>,
    },
    DescribeAddresses {
        ips: Vec<String>,
        allocation_ids: Vec<String>,
        filters: Vec<FilterSpec>,
    },
    AllocateAddress,
    ReleaseAddress {
        ip: String,
    },
    AssociateAddress {
        ip: String,
        instance_id: String,
    },
    DisassociateAddress {
        ip: String,
    },
    CreateTags {
        resources: Vec<String>,
        tags: Vec<(String, String)>,
    },
    DeleteTags {
        resources: Vec<String>,
        tags: Vec<(String, Option<String>)>,
    },
    DescribeTags {
        filters: Vec<FilterSpec>,
    },
    /// Actions of the EC2 API we know but the Deltacloud model cannot back.
    Unsupported {
        name: String,
    },
}

/// Actions of the public API that Deltacloud has no operation for: they answer
/// `UnsupportedOperation` (a known action the gateway cannot perform) rather than
/// `InvalidAction` (a name EC2 does not have).
const KNOWN_UNSUPPORTED: &[&str] = &[
    "ModifyInstanceAttribute",
    "GetConsoleOutput",
    "GetPasswordData",
    "MonitorInstances",
    "UnmonitorInstances",
    "DescribeImageAttribute",
    "ModifyImageAttribute",
    "CopyImage",
    "RegisterImage",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupEgress",
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeNetworkInterfaces",
    "ModifyVolume",
    "CopySnapshot",
];

/// Addresses are named by IP; the allocation and association ids we hand out are the IP with a
/// prefix, so they map back without state.
pub const ALLOCATION_PREFIX: &str = "eipalloc-";
pub const ASSOCIATION_PREFIX: &str = "eipassoc-";

impl Action {
    /// Parse the action named by `Action=` from the remaining parameters.
    ///
    /// # Errors
    /// `InvalidAction`, `MissingParameter`, `InvalidParameterValue`,
    /// `InvalidParameterCombination`.
    pub fn parse(name: &str, p: &Params) -> Ec2Result<Self> {
        Ok(match name {
            "DescribeRegions" => Self::DescribeRegions {
                names: p.list("RegionName")?,
                filters: p.filters()?,
            },
            "DescribeAvailabilityZones" => Self::DescribeAvailabilityZones {
                names: {
                    let mut v = p.list("ZoneName")?;
                    v.extend(p.list("ZoneId")?);
                    v
                },
                filters: p.filters()?,
            },
            "DescribeAccountAttributes" => Self::DescribeAccountAttributes {
                names: p.list("AttributeName")?,
            },
            "DescribeInstances" => {
                let ids = p.list("InstanceId")?;
                let max_results = max_results(p, 5, 1000)?;
                if max_results.is_some() && !ids.is_empty() {
                    return Err(Ec2Error::combination(
                        "The parameter instancesSet cannot be used with the parameter maxResults",
                    ));
                }
                Self::DescribeInstances {
                    ids,
                    filters: p.filters()?,
                    max_results,
                    next_token: p.get("NextToken").map(str::to_owned),
                }
            }
            "DescribeInstanceStatus" => Self::DescribeInstanceStatus {
                ids: p.list("InstanceId")?,
                include_all: p.bool("IncludeAllInstances")?.unwrap_or(false),
                filters: p.filters()?,
            },
            "DescribeInstanceAttribute" => Self::DescribeInstanceAttribute {
                id: p.required("InstanceId")?,
                attribute: p.required("Attribute")?,
            },
            "DescribeInstanceTypes" => Self::DescribeInstanceTypes {
                types: p.list("InstanceType")?,
            },
            "RunInstances" => Self::RunInstances(run_instances(p)?),
            "StartInstances" => Self::StartInstances {
                ids: ids(p, "InstanceId")?,
            },
            "StopInstances" => Self::StopInstances {
                ids: ids(p, "InstanceId")?,
            },
            "RebootInstances" => Self::RebootInstances {
                ids: ids(p, "InstanceId")?,
            },
            "TerminateInstances" => Self::TerminateInstances {
                ids: ids(p, "InstanceId")?,
            },
            "DescribeImages" => Self::DescribeImages {
                ids: p.list("ImageId")?,
                owners: p.list("Owner")?,
                executable_by: p.list("ExecutableBy")?,
                filters: p.filters()?,
            },
            "CreateImage" => Self::CreateImage {
                instance_id: p.required("InstanceId")?,
                name: p.required("Name")?,
                description: p.get("Description").map(str::to_owned),
            },
            "DeregisterImage" => Self::DeregisterImage {
                id: p.required("ImageId")?,
            },
            "DescribeKeyPairs" => Self::DescribeKeyPairs {
                names: {
                    let mut v = p.list("KeyName")?;
                    v.extend(p.list("KeyPairId")?);
                    v
                },
                filters: p.filters()?,
            },
            "CreateKeyPair" => Self::CreateKeyPair {
                name: p.required("KeyName")?,
            },
            "ImportKeyPair" => {
                let name = p.required("KeyName")?;
                let material = p.required("PublicKeyMaterial")?;
                Self::ImportKeyPair {
                    name,
                    public_key: decode_public_key(&material)?,
                }
            }
            "DeleteKeyPair" => Self::DeleteKeyPair {
                name: p
                    .get("KeyName")
                    .or_else(|| p.get("KeyPairId"))
                    .map(str::to_owned)
                    .ok_or_else(|| Ec2Error::missing("KeyName"))?,
            },
            "DescribeVolumes" => Self::DescribeVolumes {
                ids: p.list("VolumeId")?,
                filters: p.filters()?,
            },
            "CreateVolume" => {
                let size = p.int("Size")?;
                let snapshot_id = p.get("SnapshotId").map(str::to_owned);
                if size.is_none() && snapshot_id.is_none() {
                    return Err(Ec2Error::missing("Size"));
                }
                if let Some(s) = size
                    && !(1..=16384).contains(&s)
                {
                    return Err(Ec2Error::invalid_value(format!(
                        "Volume of {s}GiB is out of range (1 to 16384)"
                    )));
                }
                Self::CreateVolume {
                    size,
                    zone: p.get("AvailabilityZone").map(str::to_owned),
                    snapshot_id,
                    tag_specs: tag_specs(p)?,
                }
            }
            "DeleteVolume" => Self::DeleteVolume {
                id: p.required("VolumeId")?,
            },
            "AttachVolume" => Self::AttachVolume {
                id: p.required("VolumeId")?,
                instance_id: p.required("InstanceId")?,
                device: p.required("Device")?,
            },
            "DetachVolume" => Self::DetachVolume {
                id: p.required("VolumeId")?,
            },
            "DescribeSnapshots" => Self::DescribeSnapshots {
                ids: p.list("SnapshotId")?,
                filters: p.filters()?,
            },
            "CreateSnapshot" => Self::CreateSnapshot {
                volume_id: p.required("VolumeId")?,
                description: p.get("Description").map(str::to_owned),
                tag_specs: tag_specs(p)?,
            },
            "DeleteSnapshot" => Self::DeleteSnapshot {
                id: p.required("SnapshotId")?,
            },
            "DescribeSecurityGroups" => Self::DescribeSecurityGroups {
                names: p.list("GroupName")?,
                ids: p.list("GroupId")?,
                filters: p.filters()?,
            },
            "CreateSecurityGroup" => Self::CreateSecurityGroup {
                name: p.required("GroupName")?,
                description: p.required("GroupDescription")?,
            },
            "DeleteSecurityGroup" => Self::DeleteSecurityGroup {
                group: group_ref(p)?,
            },
            "AuthorizeSecurityGroupIngress" => Self::AuthorizeSecurityGroupIngress {
                group: group_ref(p)?,
                permissions: permissions(p)?,
            },
            "RevokeSecurityGroupIngress" => Self::RevokeSecurityGroupIngress {
                group: group_ref(p)?,
                permissions: permissions(p)?,
            },
            "DescribeAddresses" => Self::DescribeAddresses {
                ips: p.list("PublicIp")?,
                allocation_ids: p.list("AllocationId")?,
                filters: p.filters()?,
            },
            "AllocateAddress" => Self::AllocateAddress,
            "ReleaseAddress" => Self::ReleaseAddress {
                ip: address(p, "AllocationId", ALLOCATION_PREFIX)?,
            },
            "AssociateAddress" => Self::AssociateAddress {
                ip: address(p, "AllocationId", ALLOCATION_PREFIX)?,
                instance_id: p.required("InstanceId")?,
            },
            "DisassociateAddress" => Self::DisassociateAddress {
                ip: address(p, "AssociationId", ASSOCIATION_PREFIX)?,
            },
            "CreateTags" => {
                let resources = ids(p, "ResourceId")?;
                let tags = p.tags("Tag")?;
                if tags.is_empty() {
                    return Err(Ec2Error::missing("Tag.1.Key"));
                }
                Self::CreateTags {
                    resources,
                    tags: tags
                        .into_iter()
                        .map(|(k, v)| (k, v.unwrap_or_default()))
                        .collect(),
                }
            }
            "DeleteTags" => Self::DeleteTags {
                resources: ids(p, "ResourceId")?,
                tags: p.tags("Tag")?,
            },
            "DescribeTags" => Self::DescribeTags {
                filters: p.filters()?,
            },
            other if KNOWN_UNSUPPORTED.contains(&other) => Self::Unsupported {
                name: other.to_owned(),
            },
            other => return Err(Ec2Error::invalid_action(other)),
        })
    }

    /// Does this action change anything? (`DryRun` answers differ only in wording.)
    #[must_use]
    pub const fn mutates(&self) -> bool {
        !matches!(
            self,
            Self::DescribeRegions { .. }
                | Self::DescribeAvailabilityZones { .. }
                | Self::DescribeAccountAttributes { .. }
                | Self::DescribeInstances { .. }
                | Self::DescribeInstanceStatus { .. }
                | Self::DescribeInstanceAttribute { .. }
                | Self::DescribeInstanceTypes { .. }
                | Self::DescribeImages { .. }
                | Self::DescribeKeyPairs { .. }
                | Self::DescribeVolumes { .. }
                | Self::DescribeSnapshots { .. }
                | Self::DescribeSecurityGroups { .. }
                | Self::DescribeAddresses { .. }
                | Self::DescribeTags { .. }
        )
    }
}

/// A non-empty `prefix.N` list (the state-change actions and tags need at least one id).
fn ids(p: &Params, prefix: &str) -> Ec2Result<Vec<String>> {
    let v = p.list(prefix)?;
    if v.is_empty() {
        return Err(Ec2Error::missing(&format!("{prefix}.1")));
    }
    Ok(v)
}

fn max_results(p: &Params, min: i64, max: i64) -> Ec2Result<Option<usize>> {
    match p.int("MaxResults")? {
        None => Ok(None),
        Some(n) if (min..=max).contains(&n) => Ok(usize::try_from(n).ok()),
        Some(n) => Err(Ec2Error::invalid_value(format!(
            "Value ({n}) for parameter maxResults is invalid. Expecting a value between {min} and {max}."
        ))),
    }
}

fn count(p: &Params, name: &str) -> Ec2Result<u32> {
    let v = p.int(name)?.ok_or_else(|| Ec2Error::missing(name))?;
    u32::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| Ec2Error::invalid_value(format!("{name} must be a positive integer")))
}

fn run_instances(p: &Params) -> Ec2Result<RunInstances> {
    let image_id = p.required("ImageId")?;
    let min_count = count(p, "MinCount")?;
    let max_count = count(p, "MaxCount")?;
    if min_count > max_count {
        return Err(Ec2Error::invalid_value(
            "MinCount must be less than or equal to MaxCount",
        ));
    }
    let user_data = p
        .get("UserData")
        .map(|d| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(d.trim())
                .map_err(|_| Ec2Error::invalid_value("Invalid BASE64 encoding of user data."))
        })
        .transpose()?;
    let mut security_groups = p.list("SecurityGroup")?;
    security_groups.extend(p.list("SecurityGroupId")?);
    Ok(RunInstances {
        image_id,
        min_count,
        max_count,
        instance_type: p.get("InstanceType").map(str::to_owned),
        key_name: p.get("KeyName").map(str::to_owned),
        security_groups,
        user_data,
        availability_zone: p.get("Placement.AvailabilityZone").map(str::to_owned),
        subnet_id: p.get("SubnetId").map(str::to_owned),
        tag_specs: tag_specs(p)?,
        monitoring: p.bool("Monitoring.Enabled")?.unwrap_or(false),
    })
}

fn tag_specs(p: &Params) -> Ec2Result<Vec<TagSpec>> {
    let mut out = Vec::new();
    for (n, s) in p.indexed("TagSpecification")? {
        let resource_type = s
            .get("ResourceType")
            .ok_or_else(|| Ec2Error::missing(&format!("TagSpecification.{n}.ResourceType")))?
            .to_owned();
        let tags = s
            .tags("Tag")?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        out.push(TagSpec {
            resource_type,
            tags,
        });
    }
    Ok(out)
}

fn group_ref(p: &Params) -> Ec2Result<GroupRef> {
    if let Some(id) = p.get("GroupId") {
        return Ok(GroupRef::Id(id.to_owned()));
    }
    p.get("GroupName")
        .map(|n| GroupRef::Name(n.to_owned()))
        .ok_or_else(|| Ec2Error::missing("GroupName"))
}

fn port(p: &Params, name: &str) -> Ec2Result<Option<i64>> {
    let v = p.int(name)?;
    if let Some(n) = v
        && !(-1..=65535).contains(&n)
    {
        return Err(Ec2Error::invalid_value(format!(
            "Invalid value '{n}' for {name}: ports are -1 to 65535"
        )));
    }
    Ok(v)
}

/// `IpPermissions.N.*`, or the legacy flat parameters when there are none.
fn permissions(p: &Params) -> Ec2Result<Vec<IpPermission>> {
    let mut out = Vec::new();
    for (n, s) in p.indexed("IpPermissions")? {
        let protocol = s
            .get("IpProtocol")
            .ok_or_else(|| Ec2Error::missing(&format!("IpPermissions.{n}.IpProtocol")))?
            .to_owned();
        let mut cidrs = Vec::new();
        for r in s.indexed("IpRanges")?.into_values() {
            if let Some(c) = r.get("CidrIp") {
                cidrs.push(c.to_owned());
            }
        }
        let mut groups = Vec::new();
        for g in s.indexed("Groups")?.into_values() {
            if let Some(name) = g.get("GroupName").or_else(|| g.get("GroupId")) {
                groups.push((name.to_owned(), g.get("UserId").unwrap_or("").to_owned()));
            }
        }
        out.push(IpPermission {
            protocol,
            from_port: port(&s, "FromPort")?,
            to_port: port(&s, "ToPort")?,
            cidrs,
            groups,
        });
    }
    if out.is_empty() {
        let protocol = p
            .get("IpProtocol")
            .ok_or_else(|| Ec2Error::missing("IpPermissions"))?
            .to_owned();
        let mut groups = Vec::new();
        if let Some(g) = p.get("SourceSecurityGroupName") {
            groups.push((
                g.to_owned(),
                p.get("SourceSecurityGroupOwnerId").unwrap_or("").to_owned(),
            ));
        }
        out.push(IpPermission {
            protocol,
            from_port: port(p, "FromPort")?,
            to_port: port(p, "ToPort")?,
            cidrs: p
                .get("CidrIp")
                .map(|c| vec![c.to_owned()])
                .unwrap_or_default(),
            groups,
        });
    }
    Ok(out)
}

/// An address named by `PublicIp` or by an id we issued (`eipalloc-<ip>`).
fn address(p: &Params, id_param: &str, prefix: &str) -> Ec2Result<String> {
    if let Some(ip) = p.get("PublicIp") {
        return Ok(ip.to_owned());
    }
    let id = p
        .get(id_param)
        .ok_or_else(|| Ec2Error::missing("PublicIp"))?;
    id.strip_prefix(prefix)
        .map(str::to_owned)
        .ok_or_else(|| Ec2Error::invalid_value(format!("Invalid id: \"{id}\"")))
}

/// `PublicKeyMaterial` is base64 of the OpenSSH public key line (SDKs encode it; aws-cli's
/// `fileb://` sends the raw bytes, which botocore then base64-encodes). A value that is not
/// base64 but already looks like a key is accepted as is.
fn decode_public_key(material: &str) -> Ec2Result<String> {
    use base64::Engine as _;
    let trimmed = material.trim();
    if trimmed.starts_with("ssh-") || trimmed.starts_with("ecdsa-") {
        return Ok(trimmed.to_owned());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .map_err(|_| Ec2Error::invalid_value("Key is not in valid OpenSSH public key format"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Ec2Error::invalid_value("Key is not in valid OpenSSH public key format"))?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Ec2Result<Action> {
        let p = Params::parse(q.as_bytes()).unwrap();
        Action::parse(p.get("Action").unwrap_or(""), &p)
    }

    #[test]
    fn every_listed_id_is_read() {
        assert_eq!(
            parse("Action=StopInstances&InstanceId.1=inst0&InstanceId.2=inst1").unwrap(),
            Action::StopInstances {
                ids: vec!["inst0".into(), "inst1".into()]
            }
        );
        assert_eq!(
            parse("Action=TerminateInstances").unwrap_err().code,
            "MissingParameter"
        );
    }

    #[test]
    fn run_instances_reads_everything() {
        let a = parse(
            "Action=RunInstances&ImageId=img1&MinCount=1&MaxCount=2&InstanceType=m1-large&KeyName=k&SecurityGroup.1=default&UserData=aGVsbG8%3D&Placement.AvailabilityZone=eu&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web",
        )
        .unwrap();
        let Action::RunInstances(r) = a else {
            panic!("{a:?}")
        };
        assert_eq!(r.image_id, "img1");
        assert_eq!((r.min_count, r.max_count), (1, 2));
        assert_eq!(r.instance_type.as_deref(), Some("m1-large"));
        assert_eq!(r.user_data.as_deref(), Some(&b"hello"[..]));
        assert_eq!(r.availability_zone.as_deref(), Some("eu"));
        assert_eq!(r.security_groups, ["default"]);
        assert_eq!(
            r.tag_specs,
            [TagSpec {
                resource_type: "instance".into(),
                tags: vec![("Name".into(), "web".into())]
            }]
        );
        for (q, code) in [
            (
                "Action=RunInstances&MinCount=1&MaxCount=1",
                "MissingParameter",
            ),
            (
                "Action=RunInstances&ImageId=i&MaxCount=1",
                "MissingParameter",
            ),
            (
                "Action=RunInstances&ImageId=i&MinCount=2&MaxCount=1",
                "InvalidParameterValue",
            ),
            (
                "Action=RunInstances&ImageId=i&MinCount=1&MaxCount=1&UserData=%25%25",
                "InvalidParameterValue",
            ),
        ] {
            assert_eq!(parse(q).unwrap_err().code, code, "{q}");
        }
    }

    #[test]
    fn unknown_and_unsupported_actions() {
        let e = parse("Action=FlyToTheMoon").unwrap_err();
        assert_eq!((e.code.as_ref(), e.status), ("InvalidAction", 400));
        assert_eq!(
            parse("Action=GetConsoleOutput&InstanceId=x").unwrap(),
            Action::Unsupported {
                name: "GetConsoleOutput".into()
            }
        );
    }

    #[test]
    fn pagination_parameters() {
        let a = parse("Action=DescribeInstances&MaxResults=5&NextToken=abc").unwrap();
        assert_eq!(
            a,
            Action::DescribeInstances {
                ids: vec![],
                filters: vec![],
                max_results: Some(5),
                next_token: Some("abc".into())
            }
        );
        assert_eq!(
            parse("Action=DescribeInstances&MaxResults=4")
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        assert_eq!(
            parse("Action=DescribeInstances&MaxResults=5&InstanceId.1=a")
                .unwrap_err()
                .code,
            "InvalidParameterCombination"
        );
    }

    #[test]
    fn security_group_permissions_nested_and_legacy() {
        let a = parse("Action=AuthorizeSecurityGroupIngress&GroupName=web&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8&IpPermissions.1.IpRanges.2.CidrIp=192.168.0.0/16").unwrap();
        let Action::AuthorizeSecurityGroupIngress { group, permissions } = a else {
            panic!()
        };
        assert_eq!(group, GroupRef::Name("web".into()));
        assert_eq!(permissions[0].cidrs, ["10.0.0.0/8", "192.168.0.0/16"]);
        assert_eq!(permissions[0].from_port, Some(22));
        let a = parse("Action=RevokeSecurityGroupIngress&GroupId=sg-1&IpProtocol=udp&FromPort=53&ToPort=53&CidrIp=0.0.0.0/0").unwrap();
        let Action::RevokeSecurityGroupIngress { group, permissions } = a else {
            panic!()
        };
        assert_eq!(group, GroupRef::Id("sg-1".into()));
        assert_eq!(permissions[0].protocol, "udp");
        assert_eq!(
            parse("Action=AuthorizeSecurityGroupIngress&GroupName=x&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=70000")
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn addresses_by_ip_or_issued_id() {
        assert_eq!(
            parse("Action=ReleaseAddress&AllocationId=eipalloc-192.168.0.5").unwrap(),
            Action::ReleaseAddress {
                ip: "192.168.0.5".into()
            }
        );
        assert_eq!(
            parse("Action=DisassociateAddress&AssociationId=eipassoc-1.2.3.4").unwrap(),
            Action::DisassociateAddress {
                ip: "1.2.3.4".into()
            }
        );
        assert_eq!(
            parse("Action=ReleaseAddress&AllocationId=bogus")
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn import_key_pair_decodes_base64() {
        let a = parse(
            "Action=ImportKeyPair&KeyName=k&PublicKeyMaterial=c3NoLXJzYSBBQUFBIHVzZXJAaG9zdAo%3D",
        )
        .unwrap();
        assert_eq!(
            a,
            Action::ImportKeyPair {
                name: "k".into(),
                public_key: "ssh-rsa AAAA user@host".into()
            }
        );
    }
}
