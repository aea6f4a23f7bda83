//! Plain HTML pages of the storage, network and metric collections, built from `html.rs`'s
//! [`Page`]/[`Block`] types (which the explorer owns; this module only constructs them).
//! One list page and one detail page per collection, with the resource's actions as buttons.

use crate::html::{Block, Button, Cell, HtmlCx, Page, Piece, Table};
use crate::view::Href;
use deltacloud_core::driver::{Capability, CapabilitySet};
use deltacloud_core::{
    Address, Blob, Bucket, Firewall, FirewallSource, LoadBalancer, Metric, Network,
    NetworkInterface, StorageSnapshot, StorageVolume, Subnet,
};

fn text(t: impl Into<String>) -> Cell {
    Cell {
        pieces: vec![Piece {
            text: t.into(),
            href: None,
        }],
        ..Cell::default()
    }
}

fn opt(t: Option<&str>) -> Cell {
    t.map_or_else(Cell::default, text)
}

fn link(t: impl Into<String>, href: Href<'_>) -> Cell {
    Cell {
        pieces: vec![Piece {
            text: t.into(),
            href: Some(href.to_string()),
        }],
        ..Cell::default()
    }
}

fn links<'a>(items: impl IntoIterator<Item = (&'a str, Href<'a>)>) -> Cell {
    Cell {
        pieces: items
            .into_iter()
            .map(|(t, h)| Piece {
                text: t.to_owned(),
                href: Some(h.to_string()),
            })
            .collect(),
        ..Cell::default()
    }
}

fn header(t: &str) -> Cell {
    Cell {
        header: true,
        ..text(t)
    }
}

/// A "label: value" table.
fn props(rows: Vec<(&str, Cell)>) -> Block {
    Block::Table(Table {
        columns: Vec::new(),
        rows: rows.into_iter().map(|(l, c)| vec![header(l), c]).collect(),
    })
}

fn page(cx: &HtmlCx<'_>, title: impl Into<String>, blocks: Vec<Block>) -> Page {
    Page {
        title: title.into(),
        subtitle: Some(format!(
            "{}@{}",
            cx.driver,
            cx.provider.unwrap_or("default")
        )),
        home: cx.urls.base().to_owned(),
        blocks,
    }
}

fn list(cx: &HtmlCx<'_>, title: &str, columns: Vec<&'static str>, rows: Vec<Vec<Cell>>) -> Page {
    page(cx, title, vec![Block::Table(Table { columns, rows })])
}

fn button(href: Href<'_>, label: &str, delete: bool) -> Button {
    Button {
        href: href.to_string(),
        label: label.to_owned(),
        delete,
    }
}

fn with_actions(mut blocks: Vec<Block>, buttons: Vec<Button>) -> Vec<Block> {
    if !buttons.is_empty() {
        blocks.push(Block::Actions(buttons));
    }
    blocks
}

// ---------------------------------------------------------------------------------------------

pub(crate) fn volumes(cx: &HtmlCx<'_>, l: &[StorageVolume]) -> Page {
    let rows = l
        .iter()
        .map(|v| {
            vec![
                link(v.id.as_str(), cx.urls.member("storage_volumes", &v.id)),
                text(v.name.as_deref().unwrap_or(&v.id)),
                opt(v.capacity.as_deref()),
                opt(v.state.as_deref()),
                opt(v.instance_id.as_deref()),
            ]
        })
        .collect();
    list(
        cx,
        "Storage Volumes",
        vec!["Id", "Name", "Capacity (GB)", "State", "Instance"],
        rows,
    )
}

pub(crate) fn volume(cx: &HtmlCx<'_>, v: &StorageVolume, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if v.instance_id.is_some() && caps.has(Capability::DetachStorageVolume) {
        buttons.push(button(
            cx.urls.action("storage_volumes", &v.id, "detach"),
            "Detach",
            false,
        ));
    }
    if caps.has(Capability::DestroyStorageVolume) {
        buttons.push(button(
            cx.urls.member("storage_volumes", &v.id),
            "Destroy",
            true,
        ));
    }
    let blocks = vec![props(vec![
        ("Id", text(v.id.as_str())),
        ("Name", text(v.name.as_deref().unwrap_or(&v.id))),
        ("Description", opt(v.description.as_deref())),
        ("Created", opt(v.created.as_deref())),
        ("Capacity (GB)", opt(v.capacity.as_deref())),
        ("State", opt(v.state.as_deref())),
        (
            "Realm",
            v.realm_id.as_ref().map_or_else(Cell::default, |r| {
                link(r.as_str(), cx.urls.member("realms", r))
            }),
        ),
        (
            "Instance",
            v.instance_id.as_ref().map_or_else(Cell::default, |i| {
                link(i.as_str(), cx.urls.member("instances", i))
            }),
        ),
        ("Device", opt(v.device.as_deref())),
    ])];
    page(
        cx,
        format!("Storage volume {}", v.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn snapshots(cx: &HtmlCx<'_>, l: &[StorageSnapshot]) -> Page {
    let rows = l
        .iter()
        .map(|s| {
            vec![
                link(s.id.as_str(), cx.urls.member("storage_snapshots", &s.id)),
                opt(s.state.as_deref()),
                opt(s.storage_volume_id.as_deref()),
                opt(s.created.as_deref()),
            ]
        })
        .collect();
    list(
        cx,
        "Storage Snapshots",
        vec!["Id", "State", "Volume", "Created"],
        rows,
    )
}

pub(crate) fn snapshot(cx: &HtmlCx<'_>, s: &StorageSnapshot, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if caps.has(Capability::DestroyStorageSnapshot) {
        buttons.push(button(
            cx.urls.member("storage_snapshots", &s.id),
            "Destroy",
            true,
        ));
    }
    let blocks = vec![props(vec![
        ("Id", text(s.id.as_str())),
        ("State", opt(s.state.as_deref())),
        (
            "Volume",
            s.storage_volume_id
                .as_ref()
                .map_or_else(Cell::default, |v| {
                    link(v.as_str(), cx.urls.member("storage_volumes", v))
                }),
        ),
        ("Created", opt(s.created.as_deref())),
    ])];
    page(
        cx,
        format!("Storage snapshot {}", s.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn buckets(cx: &HtmlCx<'_>, l: &[Bucket]) -> Page {
    let rows = l
        .iter()
        .map(|b| {
            vec![
                link(b.id.as_str(), cx.urls.member("buckets", &b.id)),
                text(b.name.as_str()),
                opt(b.size.map(|s| s.to_string()).as_deref()),
            ]
        })
        .collect();
    list(cx, "Buckets", vec!["Id", "Name", "Size"], rows)
}

pub(crate) fn bucket(cx: &HtmlCx<'_>, b: &Bucket, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if caps.has(Capability::DeleteBucket) {
        buttons.push(button(cx.urls.member("buckets", &b.id), "Delete", true));
    }
    let blocks = vec![props(vec![
        ("Id", text(b.id.as_str())),
        ("Name", text(b.name.as_str())),
        ("Size", opt(b.size.map(|s| s.to_string()).as_deref())),
        (
            "Blobs",
            links(
                b.blob_list
                    .iter()
                    .map(|x| (x.as_str(), cx.urls.sub("buckets", &b.id, x))),
            ),
        ),
    ])];
    page(
        cx,
        format!("Bucket {}", b.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn blob(cx: &HtmlCx<'_>, b: &Blob, caps: &CapabilitySet) -> Page {
    let mut rows = vec![
        ("Id", text(b.id.as_str())),
        (
            "Bucket",
            link(b.bucket.as_str(), cx.urls.member("buckets", &b.bucket)),
        ),
        ("Content length", text(b.content_length.to_string())),
        ("Content type", opt(b.content_type.as_deref())),
        ("Last modified", opt(b.last_modified.as_deref())),
    ];
    for (k, v) in b.user_metadata.iter().flatten() {
        rows.push(("Metadata", text(format!("{k}: {v}"))));
    }
    rows.push((
        "Content",
        link(
            "download",
            cx.urls.sub_action("buckets", &b.bucket, &b.id, "content"),
        ),
    ));
    let mut buttons = Vec::new();
    if caps.has(Capability::DeleteBlob) {
        buttons.push(button(
            cx.urls.sub("buckets", &b.bucket, &b.id),
            "Delete",
            true,
        ));
    }
    page(
        cx,
        format!("Blob {}", b.id),
        with_actions(vec![props(rows)], buttons),
    )
}

pub(crate) fn addresses(cx: &HtmlCx<'_>, l: &[Address]) -> Page {
    let rows = l
        .iter()
        .map(|a| {
            vec![
                link(a.id.as_str(), cx.urls.member("addresses", &a.id)),
                opt(a.instance_id.as_deref()),
            ]
        })
        .collect();
    list(cx, "Addresses", vec!["Address", "Instance"], rows)
}

pub(crate) fn address(cx: &HtmlCx<'_>, a: &Address, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if a.instance_id.is_some() && caps.has(Capability::DisassociateAddress) {
        buttons.push(button(
            cx.urls.action("addresses", &a.id, "disassociate"),
            "Disassociate",
            false,
        ));
    }
    if caps.has(Capability::DestroyAddress) {
        buttons.push(button(cx.urls.member("addresses", &a.id), "Destroy", true));
    }
    let blocks = vec![props(vec![
        ("Address", text(a.id.as_str())),
        (
            "Instance",
            a.instance_id.as_ref().map_or_else(Cell::default, |i| {
                link(i.as_str(), cx.urls.member("instances", i))
            }),
        ),
    ])];
    page(
        cx,
        format!("Address {}", a.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn firewalls(cx: &HtmlCx<'_>, l: &[Firewall]) -> Page {
    let rows = l
        .iter()
        .map(|f| {
            vec![
                link(f.id.as_str(), cx.urls.member("firewalls", &f.id)),
                text(f.name.as_str()),
                text(f.description.as_str()),
                text(f.rules.len().to_string()),
            ]
        })
        .collect();
    list(
        cx,
        "Firewalls",
        vec!["Id", "Name", "Description", "Rules"],
        rows,
    )
}

pub(crate) fn firewall(cx: &HtmlCx<'_>, f: &Firewall, caps: &CapabilitySet) -> Page {
    let rules = f
        .rules
        .iter()
        .map(|r| {
            let sources: Vec<String> = r
                .sources
                .iter()
                .map(|s| match s {
                    FirewallSource::Group { name, owner } => format!("group {owner}/{name}"),
                    FirewallSource::Address {
                        address, prefix, ..
                    } => format!("{address}/{prefix}"),
                })
                .collect();
            vec![
                text(r.id.as_str()),
                opt(r.allow_protocol.as_deref()),
                opt(r.port_from.as_deref()),
                opt(r.port_to.as_deref()),
                text(sources.join(", ")),
            ]
        })
        .collect();
    let mut buttons = Vec::new();
    if caps.has(Capability::DeleteFirewall) {
        buttons.push(button(cx.urls.member("firewalls", &f.id), "Destroy", true));
    }
    let blocks = vec![
        props(vec![
            ("Id", text(f.id.as_str())),
            ("Name", text(f.name.as_str())),
            ("Description", text(f.description.as_str())),
            ("Owner", opt(f.owner_id.as_deref())),
        ]),
        Block::Heading("Rules".to_owned()),
        Block::Table(Table {
            columns: vec!["Id", "Protocol", "From port", "To port", "Sources"],
            rows: rules,
        }),
    ];
    page(
        cx,
        format!("Firewall {}", f.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn load_balancers(cx: &HtmlCx<'_>, l: &[LoadBalancer]) -> Page {
    let rows = l
        .iter()
        .map(|b| {
            vec![
                link(b.id.as_str(), cx.urls.member("load_balancers", &b.id)),
                text(b.public_addresses.join(", ")),
                text(b.instances.len().to_string()),
            ]
        })
        .collect();
    list(
        cx,
        "Load Balancers",
        vec!["Id", "Addresses", "Instances"],
        rows,
    )
}

pub(crate) fn load_balancer(cx: &HtmlCx<'_>, b: &LoadBalancer, caps: &CapabilitySet) -> Page {
    let listeners: Vec<String> = b
        .listeners
        .iter()
        .map(|l| {
            format!(
                "{} {} → {}",
                l.protocol, l.load_balancer_port, l.instance_port
            )
        })
        .collect();
    let mut buttons = Vec::new();
    if caps.has(Capability::DestroyLoadBalancer) {
        buttons.push(button(
            cx.urls.member("load_balancers", &b.id),
            "Destroy",
            true,
        ));
    }
    let blocks = vec![props(vec![
        ("Id", text(b.id.as_str())),
        ("Created", opt(b.created_at.as_deref())),
        ("Addresses", text(b.public_addresses.join(", "))),
        ("Listeners", text(listeners.join(", "))),
        (
            "Realms",
            links(
                b.realms
                    .iter()
                    .map(|r| (r.as_str(), cx.urls.member("realms", r))),
            ),
        ),
        (
            "Instances",
            links(
                b.instances
                    .iter()
                    .map(|i| (i.as_str(), cx.urls.member("instances", i))),
            ),
        ),
    ])];
    page(
        cx,
        format!("Load balancer {}", b.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn metrics(cx: &HtmlCx<'_>, l: &[Metric]) -> Page {
    let rows = l
        .iter()
        .map(|m| {
            let names: Vec<&str> = m.properties.iter().map(|p| p.name.as_str()).collect();
            vec![
                link(m.id.as_str(), cx.urls.member("metrics", &m.id)),
                text(m.entity.as_str()),
                text(names.join(", ")),
            ]
        })
        .collect();
    list(cx, "Metrics", vec!["Id", "Entity", "Properties"], rows)
}

pub(crate) fn metric(cx: &HtmlCx<'_>, m: &Metric) -> Page {
    let rows = m
        .properties
        .iter()
        .flat_map(|p| {
            p.values.iter().flatten().map(move |s| {
                vec![
                    text(p.name.as_str()),
                    text(s.timestamp.to_string()),
                    text(s.minimum.to_string()),
                    text(s.maximum.to_string()),
                    text(s.average.to_string()),
                    text(s.unit.as_str()),
                ]
            })
        })
        .collect();
    page(
        cx,
        format!("Metric {}", m.id),
        vec![
            props(vec![("Entity", text(m.entity.as_str()))]),
            Block::Table(Table {
                columns: vec![
                    "Property",
                    "Timestamp",
                    "Minimum",
                    "Maximum",
                    "Average",
                    "Unit",
                ],
                rows,
            }),
        ],
    )
}

pub(crate) fn networks(cx: &HtmlCx<'_>, l: &[Network]) -> Page {
    let rows = l
        .iter()
        .map(|n| {
            vec![
                link(n.id.as_str(), cx.urls.member("networks", &n.id)),
                text(n.name.as_str()),
                text(n.address_blocks.join(", ")),
                opt(n.state.as_deref()),
            ]
        })
        .collect();
    list(
        cx,
        "Networks",
        vec!["Id", "Name", "Address blocks", "State"],
        rows,
    )
}

pub(crate) fn network(cx: &HtmlCx<'_>, n: &Network, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if caps.has(Capability::DestroyNetwork) {
        buttons.push(button(cx.urls.member("networks", &n.id), "Destroy", true));
    }
    let blocks = vec![props(vec![
        ("Id", text(n.id.as_str())),
        ("Name", text(n.name.as_str())),
        ("State", opt(n.state.as_deref())),
        ("Address blocks", text(n.address_blocks.join(", "))),
        (
            "Subnets",
            links(
                n.subnets
                    .iter()
                    .map(|s| (s.as_str(), cx.urls.member("subnets", s))),
            ),
        ),
    ])];
    page(
        cx,
        format!("Network {}", n.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn subnets(cx: &HtmlCx<'_>, l: &[Subnet]) -> Page {
    let rows = l
        .iter()
        .map(|s| {
            vec![
                link(s.id.as_str(), cx.urls.member("subnets", &s.id)),
                text(s.name.as_str()),
                opt(s.network.as_deref()),
                opt(s.address_block.as_deref()),
                opt(s.state.as_deref()),
            ]
        })
        .collect();
    list(
        cx,
        "Subnets",
        vec!["Id", "Name", "Network", "Address block", "State"],
        rows,
    )
}

pub(crate) fn subnet(cx: &HtmlCx<'_>, s: &Subnet, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if caps.has(Capability::DestroySubnet) {
        buttons.push(button(cx.urls.member("subnets", &s.id), "Destroy", true));
    }
    let blocks = vec![props(vec![
        ("Id", text(s.id.as_str())),
        ("Name", text(s.name.as_str())),
        (
            "Network",
            s.network.as_ref().map_or_else(Cell::default, |n| {
                link(n.as_str(), cx.urls.member("networks", n))
            }),
        ),
        ("Address block", opt(s.address_block.as_deref())),
        ("Type", opt(s.kind.as_deref())),
        ("State", opt(s.state.as_deref())),
    ])];
    page(
        cx,
        format!("Subnet {}", s.id),
        with_actions(blocks, buttons),
    )
}

pub(crate) fn nics(cx: &HtmlCx<'_>, l: &[NetworkInterface]) -> Page {
    let rows = l
        .iter()
        .map(|n| {
            vec![
                link(n.id.as_str(), cx.urls.member("network_interfaces", &n.id)),
                text(n.name.as_str()),
                opt(n.instance.as_deref()),
                opt(n.network.as_deref()),
                opt(n.ip_address.as_deref()),
            ]
        })
        .collect();
    list(
        cx,
        "Network Interfaces",
        vec!["Id", "Name", "Instance", "Network", "IP address"],
        rows,
    )
}

pub(crate) fn nic(cx: &HtmlCx<'_>, n: &NetworkInterface, caps: &CapabilitySet) -> Page {
    let mut buttons = Vec::new();
    if caps.has(Capability::DestroyNetworkInterface) {
        buttons.push(button(
            cx.urls.member("network_interfaces", &n.id),
            "Destroy",
            true,
        ));
    }
    let blocks = vec![props(vec![
        ("Id", text(n.id.as_str())),
        ("Name", text(n.name.as_str())),
        (
            "Instance",
            n.instance.as_ref().map_or_else(Cell::default, |i| {
                link(i.as_str(), cx.urls.member("instances", i))
            }),
        ),
        ("Network", opt(n.network.as_deref())),
        ("IP address", opt(n.ip_address.as_deref())),
    ])];
    page(
        cx,
        format!("Network interface {}", n.id),
        with_actions(blocks, buttons),
    )
}
