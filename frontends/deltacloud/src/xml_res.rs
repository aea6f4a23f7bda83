//! XML documents of the storage, network and metric collections (`deltacloud-api.md`
//! §8.7–§8.14), in the same conventions as `xml.rs`: one serde struct per wire shape, attributes
//! (`@x`) in alphabetical order, optional elements skipped when absent, written by `xmlser`.

use crate::view::{Href, Urls};
use deltacloud_core::driver::{Capability, CapabilitySet};
use deltacloud_core::{
    Address, Blob, Bucket, Firewall, FirewallRule, FirewallSource, LoadBalancer, Metric,
    MetricSample, Network, NetworkInterface, StorageSnapshot, StorageVolume, Subnet,
};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// `<x href id/>`.
#[derive(Serialize)]
pub(crate) struct Ref<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
}

/// `<link href method rel/>`.
#[derive(Serialize)]
struct Link<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@method")]
    method: &'static str,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

#[derive(Serialize)]
struct Actions<'a> {
    link: Vec<Link<'a>>,
}

/// `actions` with a `destroy` link (`DELETE <url>`) when the driver can destroy.
fn destroy_only<'a>(caps: &CapabilitySet, cap: Capability, url: Href<'a>) -> Actions<'a> {
    let mut link = Vec::new();
    if caps.has(cap) {
        link.push(Link {
            href: url,
            method: "delete",
            rel: "destroy",
        });
    }
    Actions { link }
}

/// A plural document: `<plural><singular/>…</plural>`.
macro_rules! list_doc {
    ($name:ident, $root:literal, $field:ident, $item:ident) => {
        #[derive(Serialize)]
        #[serde(rename = $root)]
        pub(crate) struct $name<'a> {
            $field: Vec<$item<'a>>,
        }

        impl<'a> $name<'a> {
            pub(crate) fn new(items: Vec<$item<'a>>) -> Self {
                Self { $field: items }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Storage volumes (§8.7)

#[derive(Serialize)]
#[serde(rename = "storage_volume")]
pub(crate) struct VolumeXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    capacity: Capacity<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    /// The id when the volume has no name.
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    realm: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    realm_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mount: Option<Mount<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<Actions<'a>>,
}

#[derive(Serialize)]
struct Capacity<'a> {
    #[serde(rename = "@unit")]
    unit: &'static str,
    #[serde(rename = "$text")]
    value: &'a str,
}

#[derive(Serialize)]
struct Mount<'a> {
    instance: Ref<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<NameAttr<'a>>,
}

#[derive(Serialize)]
struct NameAttr<'a> {
    #[serde(rename = "@name")]
    name: &'a str,
}

/// Where a volume action link points: `destroy` is `DELETE` on the volume, the others `POST`
/// to `…/:id/<action>`.
fn volume_action<'a>(urls: &'a Urls, id: &'a str, action: &str) -> Option<Link<'a>> {
    let (rel, method, href) = match action {
        "attach" => (
            "attach",
            "post",
            urls.action("storage_volumes", id, "attach"),
        ),
        "detach" => (
            "detach",
            "post",
            urls.action("storage_volumes", id, "detach"),
        ),
        "destroy" => ("destroy", "delete", urls.member("storage_volumes", id)),
        _ => return None,
    };
    Some(Link { href, method, rel })
}

impl<'a> VolumeXml<'a> {
    pub(crate) fn new(urls: &'a Urls, v: &'a StorageVolume) -> Self {
        let id = v.id.as_str();
        Self {
            href: urls.member("storage_volumes", id),
            id,
            created: v.created.as_deref(),
            capacity: Capacity {
                unit: "GB",
                value: v.capacity.as_deref().unwrap_or_default(),
            },
            kind: v.kind.as_deref(),
            name: v.name.as_deref().unwrap_or(id),
            device: v.device.as_deref(),
            realm: v.realm_id.as_ref().map(|r| Ref {
                href: urls.member("realms", r),
                id: r,
            }),
            realm_id: v.realm_id.as_deref(),
            state: v.state.as_deref(),
            mount: v.instance_id.as_ref().map(|i| Mount {
                instance: Ref {
                    href: urls.member("instances", i),
                    id: i,
                },
                device: v.device.as_deref().map(|d| NameAttr { name: d }),
            }),
            actions: v.actions.as_ref().map(|l| Actions {
                link: l
                    .iter()
                    .filter_map(|a| volume_action(urls, id, a))
                    .collect(),
            }),
        }
    }
}

list_doc!(VolumesXml, "storage_volumes", storage_volume, VolumeXml);

// ---------------------------------------------------------------------------------------------
// Storage snapshots (§8.8)

#[derive(Serialize)]
#[serde(rename = "storage_snapshot")]
pub(crate) struct SnapshotXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    /// Always the id, as the original showed it.
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_volume: Option<Ref<'a>>,
}

impl<'a> SnapshotXml<'a> {
    pub(crate) fn new(urls: &'a Urls, s: &'a StorageSnapshot) -> Self {
        Self {
            href: urls.member("storage_snapshots", &s.id),
            id: &s.id,
            name: &s.id,
            created: s.created.as_deref(),
            storage_volume: s.storage_volume_id.as_ref().map(|v| Ref {
                href: urls.member("storage_volumes", v),
                id: v,
            }),
        }
    }
}

list_doc!(
    SnapshotsXml,
    "storage_snapshots",
    storage_snapshot,
    SnapshotXml
);

// ---------------------------------------------------------------------------------------------
// Buckets and blobs (§8.9)

#[derive(Serialize)]
#[serde(rename = "bucket")]
pub(crate) struct BucketXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    /// Empty when the provider does not report it.
    size: Option<u64>,
    blob: Vec<Ref<'a>>,
}

impl<'a> BucketXml<'a> {
    pub(crate) fn new(urls: &'a Urls, b: &'a Bucket) -> Self {
        let id = b.id.as_str();
        Self {
            href: urls.member("buckets", id),
            id,
            name: &b.name,
            size: b.size,
            blob: b
                .blob_list
                .iter()
                .map(|x| Ref {
                    href: urls.sub("buckets", id, x),
                    id: x,
                })
                .collect(),
        }
    }
}

list_doc!(BucketsXml, "buckets", bucket, BucketXml);

#[derive(Serialize)]
#[serde(rename = "blob")]
pub(crate) struct BlobXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    bucket: &'a str,
    content_length: u64,
    content_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified: Option<&'a str>,
    user_metadata: Metadata<'a>,
    content: Content<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "@key")]
    key: &'a str,
    #[serde(rename = "$text")]
    value: &'a str,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

impl<'a> BlobXml<'a> {
    pub(crate) fn new(urls: &'a Urls, b: &'a Blob) -> Self {
        let (bucket, id) = (b.bucket.as_str(), b.id.as_str());
        Self {
            href: urls.sub("buckets", bucket, id),
            id,
            bucket,
            content_length: b.content_length,
            content_type: b.content_type.as_deref().unwrap_or_default(),
            last_modified: b.last_modified.as_deref(),
            user_metadata: Metadata {
                entry: b
                    .user_metadata
                    .iter()
                    .flatten()
                    .map(|(k, v)| Entry { key: k, value: v })
                    .collect(),
            },
            content: Content {
                href: urls.sub_action("buckets", bucket, id, "content"),
                rel: "blob_content",
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses (§8.10)

#[derive(Serialize)]
#[serde(rename = "address")]
pub(crate) struct AddressXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    ip: &'a str,
    actions: Actions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<Ref<'a>>,
}

impl<'a> AddressXml<'a> {
    pub(crate) fn new(urls: &'a Urls, a: &'a Address, caps: &CapabilitySet) -> Self {
        let id = a.id.as_str();
        let mut actions = destroy_only(
            caps,
            Capability::DestroyAddress,
            urls.member("addresses", id),
        );
        if a.instance_id.is_some() {
            actions.link.push(Link {
                href: urls.action("addresses", id, "disassociate"),
                method: "post",
                rel: "disassociate",
            });
        } else {
            actions.link.push(Link {
                href: urls.action("addresses", id, "associate"),
                method: "post",
                rel: "associate",
            });
        }
        Self {
            href: urls.member("addresses", id),
            id,
            ip: id,
            actions,
            instance: a.instance_id.as_ref().map(|i| Ref {
                href: urls.member("instances", i),
                id: i,
            }),
        }
    }
}

list_doc!(AddressesXml, "addresses", address, AddressXml);

// ---------------------------------------------------------------------------------------------
// Firewalls (§8.11)

#[derive(Serialize)]
#[serde(rename = "firewall")]
pub(crate) struct FirewallXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    actions: IdActions<'a>,
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<&'a str>,
    rules: Rules<'a>,
}

/// Action links that carry `id=` in the list view (the original's list template did).
#[derive(Serialize)]
struct IdActions<'a> {
    link: Vec<IdLink<'a>>,
}

#[derive(Serialize)]
struct IdLink<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "@method")]
    method: &'static str,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

#[derive(Serialize)]
struct Rules<'a> {
    rule: Vec<RuleXml<'a>>,
}

#[derive(Serialize)]
struct RuleXml<'a> {
    #[serde(rename = "@href", skip_serializing_if = "Option::is_none")]
    href: Option<Href<'a>>,
    #[serde(rename = "@id")]
    id: &'a str,
    actions: IdActions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_rule: Option<&'a str>,
    sources: Sources<'a>,
}

#[derive(Serialize)]
struct Sources<'a> {
    source: Vec<SourceXml<'a>>,
}

#[derive(Serialize)]
struct SourceXml<'a> {
    #[serde(rename = "@address", skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    #[serde(rename = "@family", skip_serializing_if = "Option::is_none")]
    family: Option<&'a str>,
    #[serde(rename = "@name", skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "@owner", skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(rename = "@prefix", skip_serializing_if = "Option::is_none")]
    prefix: Option<&'a str>,
    #[serde(rename = "@type")]
    kind: &'static str,
}

impl<'a> SourceXml<'a> {
    fn new(s: &'a FirewallSource) -> Self {
        match s {
            FirewallSource::Group { name, owner } => Self {
                address: None,
                family: None,
                name: Some(name),
                owner: Some(owner),
                prefix: None,
                kind: "group",
            },
            FirewallSource::Address {
                family,
                address,
                prefix,
            } => Self {
                address: Some(address),
                family: Some(family),
                name: None,
                owner: None,
                prefix: Some(prefix),
                kind: "address",
            },
        }
    }
}

impl<'a> RuleXml<'a> {
    fn new(
        urls: &'a Urls,
        fw: &'a str,
        r: &'a FirewallRule,
        caps: &CapabilitySet,
        list: bool,
    ) -> Self {
        let url = urls.sub("firewalls", fw, &r.id);
        let mut link = Vec::new();
        if caps.has(Capability::DeleteFirewallRule) {
            link.push(IdLink {
                href: url,
                id: list.then_some(r.id.as_str()),
                method: "delete",
                rel: "destroy",
            });
        }
        Self {
            href: (!list).then_some(url),
            id: &r.id,
            actions: IdActions { link },
            allow_protocol: r.allow_protocol.as_deref(),
            port_from: r.port_from.as_deref(),
            port_to: r.port_to.as_deref(),
            direction: r.direction.as_deref(),
            rule_action: r.rule_action.as_deref(),
            log_rule: r.log_rule.as_deref(),
            sources: Sources {
                source: r.sources.iter().map(SourceXml::new).collect(),
            },
        }
    }
}

impl<'a> FirewallXml<'a> {
    /// `list` selects the list view's variant (§8.11): `add_rule` instead of `update`, links
    /// with `id=`, rules without `href`.
    pub(crate) fn new(urls: &'a Urls, f: &'a Firewall, caps: &CapabilitySet, list: bool) -> Self {
        let id = f.id.as_str();
        let tag = list.then_some(id);
        let mut link = Vec::new();
        if caps.has(Capability::DeleteFirewall) {
            link.push(IdLink {
                href: urls.member("firewalls", id),
                id: tag,
                method: "delete",
                rel: "destroy",
            });
        }
        if caps.has(Capability::CreateFirewallRule) {
            link.push(IdLink {
                href: urls.action("firewalls", id, "rules"),
                id: tag,
                method: "post",
                rel: if list { "add_rule" } else { "update" },
            });
        }
        Self {
            href: urls.member("firewalls", id),
            id,
            actions: IdActions { link },
            name: &f.name,
            description: &f.description,
            owner_id: f.owner_id.as_deref(),
            rules: Rules {
                rule: f
                    .rules
                    .iter()
                    .map(|r| RuleXml::new(urls, id, r, caps, list))
                    .collect(),
            },
        }
    }
}

list_doc!(FirewallsXml, "firewalls", firewall, FirewallXml);

// ---------------------------------------------------------------------------------------------
// Load balancers (§8.12)

#[derive(Serialize)]
#[serde(rename = "load_balancer")]
pub(crate) struct LoadBalancerXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    actions: Actions<'a>,
    public_addresses: PublicAddresses<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    realm: Vec<Ref<'a>>,
    listeners: Listeners<'a>,
    instances: LbInstances<'a>,
}

#[derive(Serialize)]
struct PublicAddresses<'a> {
    address: Vec<&'a str>,
}

#[derive(Serialize)]
struct Listeners<'a> {
    listener: Vec<ListenerXml<'a>>,
}

#[derive(Serialize)]
struct ListenerXml<'a> {
    #[serde(rename = "@protocol")]
    protocol: &'a str,
    load_balancer_port: &'a str,
    instance_port: &'a str,
}

#[derive(Serialize)]
struct LbInstances<'a> {
    instance: Vec<LbInstance<'a>>,
}

#[derive(Serialize)]
struct LbInstance<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    link: RelLink<'a>,
}

#[derive(Serialize)]
struct RelLink<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

impl<'a> LoadBalancerXml<'a> {
    pub(crate) fn new(urls: &'a Urls, lb: &'a LoadBalancer, caps: &CapabilitySet) -> Self {
        let id = lb.id.as_str();
        let mut actions = destroy_only(
            caps,
            Capability::DestroyLoadBalancer,
            urls.member("load_balancers", id),
        );
        if caps.has(Capability::LbRegisterInstance) {
            actions.link.push(Link {
                href: urls.action("load_balancers", id, "register"),
                method: "post",
                rel: "register",
            });
        }
        Self {
            href: urls.member("load_balancers", id),
            id,
            actions,
            public_addresses: PublicAddresses {
                address: lb.public_addresses.iter().map(String::as_str).collect(),
            },
            created_at: lb.created_at.as_deref(),
            realm: lb
                .realms
                .iter()
                .map(|r| Ref {
                    href: urls.member("realms", r),
                    id: r,
                })
                .collect(),
            listeners: Listeners {
                listener: lb
                    .listeners
                    .iter()
                    .map(|l| ListenerXml {
                        protocol: &l.protocol,
                        load_balancer_port: &l.load_balancer_port,
                        instance_port: &l.instance_port,
                    })
                    .collect(),
            },
            instances: LbInstances {
                instance: lb
                    .instances
                    .iter()
                    .map(|i| LbInstance {
                        href: urls.member("instances", i),
                        id: i,
                        // The original meant to add `?instance_id=` (its helper dropped it);
                        // the route requires it, so we add it (§8.12 SHOULD).
                        link: RelLink {
                            href: urls.action_query(
                                "load_balancers",
                                id,
                                "unregister",
                                "instance_id",
                                i,
                            ),
                            rel: "unregister",
                        },
                    })
                    .collect(),
            },
        }
    }
}

list_doc!(
    LoadBalancersXml,
    "load_balancers",
    load_balancer,
    LoadBalancerXml
);

// ---------------------------------------------------------------------------------------------
// Metrics (§8.13)

#[derive(Serialize)]
#[serde(rename = "metric")]
pub(crate) struct MetricXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    entity: &'a str,
    properties: MetricProperties<'a>,
}

/// `<properties>` holds one element per property, *named after the property*
/// (`<cpuUtilization>`). The XML writer takes element names as `&'static str`, so names are
/// looked up in [`METRIC_NAMES`] (the mock's and CloudWatch's); a property with any other name
/// is written as `<property name='…'>` with the same samples rather than dropped.
struct MetricProperties<'a>(&'a Metric);

/// Metric property names known to the drivers (the mock's nine, CloudWatch's EC2 and ELB set).
const METRIC_NAMES: &[&str] = &[
    "cpuUtilization",
    "diskReadRequestCount",
    "diskReadSector",
    "diskWriteRequestCount",
    "diskWriteSector",
    "nicInputByte",
    "nicInputPacket",
    "nicOutputByte",
    "nicOutputPacket",
    "CPUUtilization",
    "DiskReadBytes",
    "DiskReadOps",
    "DiskWriteBytes",
    "DiskWriteOps",
    "NetworkIn",
    "NetworkOut",
    "Latency",
    "RequestCount",
    "HealthyHostCount",
    "UnHealthyHostCount",
];

#[derive(Serialize)]
struct Samples<'a> {
    #[serde(rename = "@name", skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    sample: Vec<SampleXml>,
}

#[derive(Serialize)]
struct SampleXml {
    property: [SampleProp; 5],
}

#[derive(Serialize)]
struct SampleProp {
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@value")]
    value: String,
}

impl SampleXml {
    fn new(s: &MetricSample) -> Self {
        let p = |name, value: String| SampleProp { name, value };
        Self {
            property: [
                p("minimum", s.minimum.to_string()),
                p("maximum", s.maximum.to_string()),
                p("average", s.average.to_string()),
                p("timestamp", s.timestamp.to_string()),
                p("unit", s.unit.clone()),
            ],
        }
    }
}

impl Serialize for MetricProperties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let props = &self.0.properties;
        let mut st = s.serialize_struct("properties", props.len())?;
        for p in props {
            let samples: Vec<SampleXml> = p.values.iter().flatten().map(SampleXml::new).collect();
            match METRIC_NAMES.iter().copied().find(|n| *n == p.name) {
                Some(known) => st.serialize_field(
                    known,
                    &Samples {
                        name: None,
                        sample: samples,
                    },
                )?,
                None => st.serialize_field(
                    "property",
                    &Samples {
                        name: Some(&p.name),
                        sample: samples,
                    },
                )?,
            }
        }
        st.end()
    }
}

impl<'a> MetricXml<'a> {
    pub(crate) fn new(urls: &'a Urls, m: &'a Metric) -> Self {
        Self {
            href: urls.member("metrics", &m.id),
            id: &m.id,
            entity: if m.entity.is_empty() {
                &m.id
            } else {
                &m.entity
            },
            properties: MetricProperties(m),
        }
    }
}

list_doc!(MetricsXml, "metrics", metric, MetricXml);

// ---------------------------------------------------------------------------------------------
// Networks, subnets, network interfaces (§8.14)

#[derive(Serialize)]
#[serde(rename = "network")]
pub(crate) struct NetworkXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    address_blocks: AddressBlocks<'a>,
    subnets: SubnetRefs<'a>,
    actions: Actions<'a>,
}

#[derive(Serialize)]
struct AddressBlocks<'a> {
    address_block: Vec<&'a str>,
}

#[derive(Serialize)]
struct SubnetRefs<'a> {
    subnet: Vec<Ref<'a>>,
}

impl<'a> NetworkXml<'a> {
    pub(crate) fn new(urls: &'a Urls, n: &'a Network, caps: &CapabilitySet) -> Self {
        Self {
            href: urls.member("networks", &n.id),
            id: &n.id,
            name: &n.name,
            state: n.state.as_deref(),
            address_blocks: AddressBlocks {
                address_block: n.address_blocks.iter().map(String::as_str).collect(),
            },
            subnets: SubnetRefs {
                subnet: n
                    .subnets
                    .iter()
                    .map(|s| Ref {
                        href: urls.member("subnets", s),
                        id: s,
                    })
                    .collect(),
            },
            actions: destroy_only(
                caps,
                Capability::DestroyNetwork,
                urls.member("networks", &n.id),
            ),
        }
    }
}

list_doc!(NetworksXml, "networks", network, NetworkXml);

#[derive(Serialize)]
#[serde(rename = "subnet")]
pub(crate) struct SubnetXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_block: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<&'a str>,
    actions: Actions<'a>,
}

impl<'a> SubnetXml<'a> {
    pub(crate) fn new(urls: &'a Urls, s: &'a Subnet, caps: &CapabilitySet) -> Self {
        Self {
            href: urls.member("subnets", &s.id),
            id: &s.id,
            name: &s.name,
            state: s.state.as_deref(),
            address_block: s.address_block.as_deref(),
            network: s.network.as_deref(),
            actions: destroy_only(
                caps,
                Capability::DestroySubnet,
                urls.member("subnets", &s.id),
            ),
        }
    }
}

list_doc!(SubnetsXml, "subnets", subnet, SubnetXml);

#[derive(Serialize)]
#[serde(rename = "network_interface")]
pub(crate) struct NicXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<TextRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<TextRef<'a>>,
    actions: Actions<'a>,
}

/// `<x href id rel?>id</x>`.
#[derive(Serialize)]
struct TextRef<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@rel", skip_serializing_if = "Option::is_none")]
    rel: Option<&'static str>,
    #[serde(rename = "$text")]
    text: &'a str,
}

impl<'a> NicXml<'a> {
    pub(crate) fn new(urls: &'a Urls, n: &'a NetworkInterface, caps: &CapabilitySet) -> Self {
        // `network` names a subnet when the driver has subnets (§8.14).
        let (coll, rel) = if caps.has(Capability::Subnets) {
            ("subnets", "subnet")
        } else {
            ("networks", "network")
        };
        Self {
            href: urls.member("network_interfaces", &n.id),
            id: &n.id,
            name: &n.name,
            ip_address: n.ip_address.as_deref(),
            network: n.network.as_deref().map(|x| TextRef {
                href: urls.member(coll, x),
                id: x,
                rel: Some(rel),
                text: x,
            }),
            instance: n.instance.as_deref().map(|x| TextRef {
                href: urls.member("instances", x),
                id: x,
                rel: None,
                text: x,
            }),
            actions: destroy_only(
                caps,
                Capability::DestroyNetworkInterface,
                urls.member("network_interfaces", &n.id),
            ),
        }
    }
}

list_doc!(NicsXml, "network_interfaces", network_interface, NicXml);
