//! JSON documents of the storage, network and metric collections (`deltacloud-api.md`
//! §8.7–§8.14). Key order is the original's; `null` is emitted unless the spec says a key
//! appears only when known.

use crate::json::InstanceJson;
use crate::view::{Href, Traits, Urls};
use deltacloud_core::driver::{Capability, CapabilitySet};
use deltacloud_core::{
    Address, Blob, Bucket, Firewall, FirewallRule, FirewallSource, Instance, LoadBalancer, Metric,
    MetricSample, Network, NetworkInterface, StorageSnapshot, StorageVolume, Subnet,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// `{"id", "href", "rel"}`.
#[derive(Serialize)]
struct IdHrefRel<'a> {
    id: &'a str,
    href: Href<'a>,
    rel: &'static str,
}

/// `{"id", "href"}`.
#[derive(Serialize)]
struct IdHref<'a> {
    id: &'a str,
    href: Href<'a>,
}

#[derive(Serialize)]
struct HrefRel<'a> {
    href: Href<'a>,
    rel: &'static str,
}

/// An empty object (`"instance": {}` of a detached volume).
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(untagged)]
enum OrEmpty<T> {
    Some(T),
    Empty(Empty),
}

// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct VolumeJson<'a> {
    id: &'a str,
    href: Href<'a>,
    /// The raw name (`null` when unset), unlike the XML, which falls back to the id.
    name: Option<&'a str>,
    description: Option<&'a str>,
    state: Option<&'a str>,
    created: Option<&'a str>,
    realm: Option<IdHrefRel<'a>>,
    device: Option<&'a str>,
    kind: Option<&'a str>,
    capacity: Option<&'a str>,
    actions: Vec<HrefRel<'a>>,
    instance: OrEmpty<IdHrefRel<'a>>,
}

impl<'a> VolumeJson<'a> {
    pub(crate) fn new(urls: &'a Urls, v: &'a StorageVolume) -> Self {
        let id = v.id.as_str();
        Self {
            id,
            href: urls.member("storage_volumes", id),
            name: v.name.as_deref(),
            description: v.description.as_deref(),
            state: v.state.as_deref(),
            created: v.created.as_deref(),
            realm: v.realm_id.as_ref().map(|r| IdHrefRel {
                id: r,
                href: urls.member("realms", r),
                rel: "realm",
            }),
            device: v.device.as_deref(),
            kind: v.kind.as_deref(),
            capacity: v.capacity.as_deref(),
            actions: v
                .actions
                .iter()
                .flatten()
                .filter_map(|a| {
                    let (rel, href) = match a.as_str() {
                        "attach" => ("attach", urls.action("storage_volumes", id, "attach")),
                        "detach" => ("detach", urls.action("storage_volumes", id, "detach")),
                        "destroy" => ("destroy", urls.member("storage_volumes", id)),
                        _ => return None,
                    };
                    Some(HrefRel { href, rel })
                })
                .collect(),
            instance: match &v.instance_id {
                Some(i) => OrEmpty::Some(IdHrefRel {
                    id: i,
                    href: urls.member("instances", i),
                    rel: "instance",
                }),
                None => OrEmpty::Empty(Empty {}),
            },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SnapshotJson<'a> {
    id: &'a str,
    href: Href<'a>,
    state: Option<&'a str>,
    storage_volume: Option<IdHrefRel<'a>>,
    created: Option<&'a str>,
}

impl<'a> SnapshotJson<'a> {
    pub(crate) fn new(urls: &'a Urls, s: &'a StorageSnapshot) -> Self {
        Self {
            id: &s.id,
            href: urls.member("storage_snapshots", &s.id),
            state: s.state.as_deref(),
            storage_volume: s.storage_volume_id.as_ref().map(|v| IdHrefRel {
                id: v,
                href: urls.member("storage_volumes", v),
                rel: "storage_volume",
            }),
            created: s.created.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct BucketJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: &'a str,
    size: Option<u64>,
    blob_list: Vec<RelHrefId<'a>>,
}

#[derive(Serialize)]
struct RelHrefId<'a> {
    rel: &'static str,
    href: Href<'a>,
    id: &'a str,
}

impl<'a> BucketJson<'a> {
    pub(crate) fn new(urls: &'a Urls, b: &'a Bucket) -> Self {
        let id = b.id.as_str();
        Self {
            id,
            href: urls.member("buckets", id),
            name: &b.name,
            size: b.size,
            blob_list: b
                .blob_list
                .iter()
                .map(|x| RelHrefId {
                    rel: "blob",
                    href: urls.sub("buckets", id, x),
                    id: x,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct BlobJson<'a> {
    id: &'a str,
    href: Href<'a>,
    bucket: RelHrefId<'a>,
    content_length: u64,
    content_type: Option<&'a str>,
    last_modified: Option<&'a str>,
    /// The data as text, only when the caller fetched it (small blobs on `show`); `null`
    /// otherwise, so a large blob is never pulled into memory to render its metadata.
    content: Option<&'a str>,
    /// Always an object: the seed's "empty string" metadata is normalised to `{}` (the spec
    /// allows it).
    user_metadata: &'a BTreeMap<String, String>,
}

static NO_METADATA: BTreeMap<String, String> = BTreeMap::new();

impl<'a> BlobJson<'a> {
    pub(crate) fn new(urls: &'a Urls, b: &'a Blob, content: Option<&'a str>) -> Self {
        let (bucket, id) = (b.bucket.as_str(), b.id.as_str());
        Self {
            id,
            href: urls.sub("buckets", bucket, id),
            bucket: RelHrefId {
                rel: "bucket",
                href: urls.member("buckets", bucket),
                id: bucket,
            },
            content_length: b.content_length,
            content_type: b.content_type.as_deref(),
            last_modified: b.last_modified.as_deref(),
            content,
            user_metadata: b.user_metadata.as_ref().unwrap_or(&NO_METADATA),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AddressJson<'a> {
    id: &'a str,
    href: Href<'a>,
    associated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
}

impl<'a> AddressJson<'a> {
    pub(crate) fn new(urls: &'a Urls, a: &'a Address) -> Self {
        Self {
            id: &a.id,
            href: urls.member("addresses", &a.id),
            associated: a.instance_id.is_some(),
            instance_id: a.instance_id.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct FirewallJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: &'a str,
    description: &'a str,
    owner_id: Option<&'a str>,
    rules: Vec<RuleJson<'a>>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_to: Option<&'a str>,
    sources: Vec<SourceJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_rule: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum SourceJson<'a> {
    Group {
        name: &'a str,
        owner: &'a str,
    },
    Address {
        family: &'a str,
        address: &'a str,
        prefix: &'a str,
    },
}

impl<'a> RuleJson<'a> {
    fn new(r: &'a FirewallRule) -> Self {
        Self {
            id: &r.id,
            allow_protocol: r.allow_protocol.as_deref(),
            port_from: r.port_from.as_deref(),
            port_to: r.port_to.as_deref(),
            sources: r
                .sources
                .iter()
                .map(|s| match s {
                    FirewallSource::Group { name, owner } => SourceJson::Group { name, owner },
                    FirewallSource::Address {
                        family,
                        address,
                        prefix,
                    } => SourceJson::Address {
                        family,
                        address,
                        prefix,
                    },
                })
                .collect(),
            direction: r.direction.as_deref(),
            rule_action: r.rule_action.as_deref(),
            log_rule: r.log_rule.as_deref(),
        }
    }
}

impl<'a> FirewallJson<'a> {
    pub(crate) fn new(urls: &'a Urls, f: &'a Firewall) -> Self {
        Self {
            id: &f.id,
            href: urls.member("firewalls", &f.id),
            name: &f.name,
            description: &f.description,
            owner_id: f.owner_id.as_deref(),
            rules: f.rules.iter().map(RuleJson::new).collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct LoadBalancerJson<'a> {
    id: &'a str,
    href: Href<'a>,
    realms: Vec<IdHrefRel<'a>>,
    listeners: Vec<ListenerJson<'a>>,
    /// Full instance documents, as §8.12 asks. The handler fetches every member of every
    /// balancer in the response with *one* `instances` call; a member that call did not return
    /// (terminated, or the call failed) is written as a reference rather than dropped.
    instances: Vec<LbMember<'a>>,
    public_addresses: Vec<&'a str>,
    created_at: Option<&'a str>,
}

#[derive(Serialize)]
struct ListenerJson<'a> {
    protocol: &'a str,
    load_balancer_port: &'a str,
    instance_port: &'a str,
}

/// A balancer member: the instance's own document, or a reference when it is unknown.
#[derive(Serialize)]
#[serde(untagged)]
enum LbMember<'a> {
    Full(Box<InstanceJson<'a>>),
    Ref(IdHrefRel<'a>),
}

impl<'a> LoadBalancerJson<'a> {
    /// `members` holds the member instances the driver returned (any order, any superset).
    pub(crate) fn new(
        urls: &'a Urls,
        lb: &'a LoadBalancer,
        members: &'a [Instance],
        traits: Traits,
    ) -> Self {
        Self {
            id: &lb.id,
            href: urls.member("load_balancers", &lb.id),
            realms: lb
                .realms
                .iter()
                .map(|r| IdHrefRel {
                    id: r,
                    href: urls.member("realms", r),
                    rel: "realm",
                })
                .collect(),
            listeners: lb
                .listeners
                .iter()
                .map(|l| ListenerJson {
                    protocol: &l.protocol,
                    load_balancer_port: &l.load_balancer_port,
                    instance_port: &l.instance_port,
                })
                .collect(),
            instances: lb
                .instances
                .iter()
                .map(|i| match members.iter().find(|m| m.id == *i) {
                    Some(m) => LbMember::Full(Box::new(InstanceJson::new(urls, m, traits))),
                    None => LbMember::Ref(IdHrefRel {
                        id: i,
                        href: urls.member("instances", i),
                        rel: "instance",
                    }),
                })
                .collect(),
            public_addresses: lb.public_addresses.iter().map(String::as_str).collect(),
            created_at: lb.created_at.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct MetricJson<'a> {
    id: &'a str,
    href: Href<'a>,
    entity: &'a str,
    properties: Vec<MetricPropJson<'a>>,
}

struct MetricPropJson<'a> {
    name: &'a str,
    values: Option<&'a [MetricSample]>,
}

/// Samples serialize field by field, in the documented key order.
impl Serialize for MetricSampleRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("minimum", &self.0.minimum)?;
        m.serialize_entry("maximum", &self.0.maximum)?;
        m.serialize_entry("average", &self.0.average)?;
        m.serialize_entry("timestamp", &self.0.timestamp)?;
        m.serialize_entry("unit", &self.0.unit)?;
        m.end()
    }
}

struct MetricSampleRef<'a>(&'a MetricSample);

struct Samples<'a>(&'a [MetricSample]);

impl Serialize for Samples<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(MetricSampleRef))
    }
}

impl Serialize for MetricPropJsonValues<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => Samples(v).serialize(s),
            None => s.serialize_none(),
        }
    }
}

struct MetricPropJsonValues<'a>(Option<&'a [MetricSample]>);

impl Serialize for MetricPropJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", self.name)?;
        m.serialize_entry("values", &MetricPropJsonValues(self.values))?;
        m.end()
    }
}

impl<'a> MetricJson<'a> {
    pub(crate) fn new(urls: &'a Urls, m: &'a Metric) -> Self {
        Self {
            id: &m.id,
            href: urls.member("metrics", &m.id),
            entity: if m.entity.is_empty() {
                &m.id
            } else {
                &m.entity
            },
            properties: m
                .properties
                .iter()
                .map(|p| MetricPropJson {
                    name: &p.name,
                    values: p.values.as_deref(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct NetworkJson<'a> {
    id: &'a str,
    name: &'a str,
    href: Href<'a>,
    state: Option<&'a str>,
    address_blocks: &'a [String],
    subnets: Vec<IdHref<'a>>,
}

impl<'a> NetworkJson<'a> {
    pub(crate) fn new(urls: &'a Urls, n: &'a Network) -> Self {
        Self {
            id: &n.id,
            name: &n.name,
            href: urls.member("networks", &n.id),
            state: n.state.as_deref(),
            address_blocks: &n.address_blocks,
            subnets: n
                .subnets
                .iter()
                .map(|s| IdHref {
                    id: s,
                    href: urls.member("subnets", s),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SubnetJson<'a> {
    id: &'a str,
    name: &'a str,
    href: Href<'a>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    state: Option<&'a str>,
    address_block: Option<&'a str>,
    network: Option<IdHref<'a>>,
}

impl<'a> SubnetJson<'a> {
    pub(crate) fn new(urls: &'a Urls, s: &'a Subnet) -> Self {
        Self {
            id: &s.id,
            name: &s.name,
            href: urls.member("subnets", &s.id),
            kind: s.kind.as_deref(),
            state: s.state.as_deref(),
            address_block: s.address_block.as_deref(),
            network: s.network.as_ref().map(|n| IdHref {
                id: n,
                href: urls.member("networks", n),
            }),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct NicJson<'a> {
    id: &'a str,
    name: &'a str,
    href: Href<'a>,
    network: Option<IdHref<'a>>,
    instance: Option<IdHref<'a>>,
    ip_address: Option<&'a str>,
}

impl<'a> NicJson<'a> {
    pub(crate) fn new(urls: &'a Urls, n: &'a NetworkInterface, caps: &CapabilitySet) -> Self {
        let coll = if caps.has(Capability::Subnets) {
            "subnets"
        } else {
            "networks"
        };
        Self {
            id: &n.id,
            name: &n.name,
            href: urls.member("network_interfaces", &n.id),
            network: n.network.as_deref().map(|x| IdHref {
                id: x,
                href: urls.member(coll, x),
            }),
            instance: n.instance.as_deref().map(|x| IdHref {
                id: x,
                href: urls.member("instances", x),
            }),
            ip_address: n.ip_address.as_deref(),
        }
    }
}
