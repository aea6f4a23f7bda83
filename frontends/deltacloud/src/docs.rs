//! Generated API documentation (`deltacloud-api.md` §6.5): `GET /api/docs`,
//! `/api/docs/<collection>` and `/api/docs/<collection>/<operation>`.
//!
//! Every page is built from the route table (`routes::COLLECTIONS`, `routes::ROUTES`) and the
//! feature table of `deltacloud-core`, the same tables that route, validate and answer
//! `OPTIONS`, so the documentation lists exactly the operations and parameters the server
//! accepts. Only the prose (one line per collection and per well-known parameter) is written
//! here. The pages are HTML only and need no credentials: they describe the API, not a cloud.
//! Where the current driver is known, they also say which collections and features it offers.

use crate::html::{self, Block, Cell, Page, Piece, Table};
use crate::negotiate::Format;
use crate::response::Reply;
use crate::routes::{self, COLLECTIONS, Kind, ROUTES, Route, Shape};
use crate::view::Urls;
use actix_web::http::StatusCode;
use deltacloud_core::features::{FeatureName, has_feature};
use deltacloud_core::{Driver, PropertyName};

/// The documentation page at `/api/docs/<segs…>`.
pub(crate) fn reply(segs: &[&str], urls: &Urls, driver: Option<&dyn Driver>) -> Reply {
    let d = Docs { urls, driver };
    let page = match segs {
        [] => Some(d.index()),
        [c] => routes::collection(c)
            .filter(|c| c.served)
            .map(|c| d.collection(c.name)),
        [c, op] => routes::collection(c)
            .filter(|c| c.served)
            .and_then(|c| ROUTES.iter().find(|r| r.coll == c.name && r.name == *op))
            .map(|r| d.operation(r)),
        _ => None,
    };
    let (status, page) = match page {
        Some(p) => (StatusCode::OK, p),
        None => (
            StatusCode::NOT_FOUND,
            d.page(
                "404 - Not Found".to_owned(),
                vec![Block::Paragraph(
                    "There is no such collection or operation.".to_owned(),
                )],
            ),
        ),
    };
    match page.render() {
        Ok(body) => Reply::new(status).body(body.into_bytes(), Format::Html.content_type()),
        Err(e) => Reply::plain(StatusCode::INTERNAL_SERVER_ERROR, e.message),
    }
}

struct Docs<'a> {
    urls: &'a Urls,
    driver: Option<&'a dyn Driver>,
}

fn text(t: impl Into<String>) -> Cell {
    Cell {
        pieces: vec![Piece {
            text: t.into(),
            href: None,
        }],
        ..Cell::default()
    }
}

fn link(t: impl Into<String>, href: String) -> Cell {
    Cell {
        pieces: vec![Piece {
            text: t.into(),
            href: Some(href),
        }],
        ..Cell::default()
    }
}

fn header(t: &str) -> Cell {
    Cell {
        header: true,
        ..text(t)
    }
}

impl Docs<'_> {
    fn page(&self, title: String, mut blocks: Vec<Block>) -> Page {
        blocks.insert(0, Block::HtmlOnly);
        Page {
            title,
            subtitle: Some(format!(
                "Deltacloud API {}, generated from the server's route table",
                deltacloud_core::API_VERSION
            )),
            home: self.urls.base().to_owned(),
            blocks,
        }
    }

    fn docs_href(&self, tail: &str) -> String {
        if tail.is_empty() {
            format!("{}/docs", self.urls.base())
        } else {
            format!("{}/docs/{tail}", self.urls.base())
        }
    }

    /// Whether the current driver offers `feature` (`None` when no driver is known).
    fn offers(&self, feature: FeatureName) -> Option<bool> {
        self.driver.map(|d| has_feature(d.features(), feature))
    }

    fn index(&self) -> Page {
        let mut columns = vec!["Collection", "Description"];
        if self.driver.is_some() {
            columns.push("Current driver");
        }
        let rows = COLLECTIONS
            .iter()
            .filter(|c| c.served)
            .map(|c| {
                let mut row = vec![
                    link(html::title_case(c.name), self.docs_href(c.name)),
                    text(describe(c.name)),
                ];
                if let Some(d) = self.driver {
                    row.push(text(if c.need.satisfied_by(d) {
                        "supported"
                    } else {
                        "not supported"
                    }));
                }
                row
            })
            .collect();
        let root = ROUTES
            .iter()
            .filter(|r| r.coll.is_empty())
            .map(|r| {
                vec![
                    text(r.verb.as_str()),
                    text(url_pattern(r)),
                    text(describe_op(r)),
                ]
            })
            .collect();
        self.page(
            "API documentation".to_owned(),
            vec![
                Block::Table(Table { columns, rows }),
                Block::Heading("Entry point".to_owned()),
                Block::Table(Table {
                    columns: vec!["Method", "URL", "Description"],
                    rows: root,
                }),
            ],
        )
    }

    fn collection(&self, coll: &'static str) -> Page {
        let mut blocks = vec![Block::Paragraph(describe(coll).to_owned())];

        let features: Vec<Vec<Cell>> = FeatureName::ALL
            .iter()
            .map(|f| (f, f.spec()))
            .filter(|(_, s)| s.collection == coll)
            .map(|(f, s)| {
                let constraints = self
                    .driver
                    .and_then(|d| d.features().iter().find(|x| x.name == *f))
                    .map(|x| {
                        x.constraints
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let mut row = vec![
                    text(s.name),
                    text(s.operation.unwrap_or("—")),
                    text(s.params.join(", ")),
                    text(constraints),
                    text(s.description),
                ];
                if let Some(o) = self.offers(*f) {
                    row.push(text(if o { "yes" } else { "no" }));
                }
                row
            })
            .collect();
        if !features.is_empty() {
            let mut columns = vec![
                "Feature",
                "Operation",
                "Adds parameters",
                "Constraints",
                "Description",
            ];
            if self.driver.is_some() {
                columns.push("Current driver");
            }
            blocks.push(Block::Heading("Features".to_owned()));
            blocks.push(Block::Table(Table {
                columns,
                rows: features,
            }));
        }

        if let Some(sub) = sub_collection(coll) {
            blocks.push(Block::Heading("Sub-collections".to_owned()));
            blocks.push(Block::Paragraph(sub.to_owned()));
        }

        let ops = ROUTES
            .iter()
            .filter(|r| r.coll == coll)
            .map(|r| {
                vec![
                    link(r.name, self.docs_href(&format!("{coll}/{}", r.name))),
                    text(r.verb.as_str()),
                    text(url_pattern(r)),
                    text(describe_op(r)),
                ]
            })
            .collect();
        blocks.push(Block::Heading("Operations".to_owned()));
        blocks.push(Block::Table(Table {
            columns: vec!["Operation", "Method", "URL", "Description"],
            rows: ops,
        }));
        blocks.push(Block::Links(vec![html::Link {
            label: "All collections".to_owned(),
            href: self.docs_href(""),
        }]));
        self.page(html::title_case(coll), blocks)
    }

    fn operation(&self, r: &'static Route) -> Page {
        let mut props = vec![
            vec![header("Method"), text(r.verb.as_str())],
            vec![header("URL"), text(url_pattern(r))],
            vec![header("Description"), text(describe_op(r))],
        ];
        if !r.expect.is_empty() {
            props.push(vec![header("Driver capability"), text(r.expect)]);
        }
        let mut rows: Vec<Vec<Cell>> = r
            .params
            .iter()
            .map(|p| param_row(p.name, p.required, allowed(p.name), "", None))
            .collect();
        for f in FeatureName::ALL {
            let s = f.spec();
            if s.collection != r.coll || s.operation != Some(r.name) {
                continue;
            }
            for p in s.params {
                if !r.params.iter().any(|x| x.name == *p) {
                    rows.push(param_row(p, false, allowed(p), s.name, self.offers(f)));
                }
            }
        }
        // The sizing parameters come from the hardware profiles, not from a declaration.
        if r.op == routes::Op::InstancesCreate {
            for p in PropertyName::ALL {
                if p != PropertyName::RootType {
                    rows.push(param_row(
                        p.param(),
                        false,
                        "within the chosen profile's range or enumeration",
                        "hardware_profiles",
                        self.offers(FeatureName::HardwareProfiles),
                    ));
                }
            }
        }
        let mut blocks = vec![
            Block::Table(Table {
                columns: Vec::new(),
                rows: props,
            }),
            Block::Heading("Parameters".to_owned()),
        ];
        if rows.is_empty() {
            blocks.push(Block::Paragraph("None.".to_owned()));
        } else {
            blocks.push(Block::Table(Table {
                columns: vec![
                    "Name",
                    "Type",
                    "Allowed values",
                    "Added by feature",
                    "Description",
                ],
                rows,
            }));
            blocks.push(Block::Paragraph("* required".to_owned()));
        }
        blocks.push(Block::Links(vec![html::Link {
            label: format!("All {} operations", r.coll.replace('_', " ")),
            href: self.docs_href(r.coll),
        }]));
        self.page(format!("{} / {}", r.coll, r.name), blocks)
    }
}

fn param_row(
    name: &str,
    required: bool,
    allowed: &str,
    feature: &str,
    offered: Option<bool>,
) -> Vec<Cell> {
    let feature = match (feature.is_empty(), offered) {
        (true, _) => String::new(),
        (false, Some(false)) => format!("{feature} (not offered by the current driver)"),
        (false, _) => feature.to_owned(),
    };
    vec![
        text(if required {
            format!("{name} *")
        } else {
            name.to_owned()
        }),
        text(if name == "blob_data" {
            "file"
        } else {
            "string"
        }),
        text(allowed),
        text(feature),
        text(param_help(name).unwrap_or_default()),
    ]
}

/// The path of a route with its parameters as `:name`.
fn url_pattern(r: &Route) -> String {
    let sub = if r.coll == "firewalls" {
        ":rule_id"
    } else {
        ":blob_id"
    };
    let c = r.coll;
    match r.shape {
        Shape::Root => "/api".to_owned(),
        Shape::Collection => format!("/api/{c}"),
        Shape::Member => format!("/api/{c}/:id"),
        Shape::Action(a) => format!("/api/{c}/:id/{a}"),
        Shape::SubMember => format!("/api/{c}/:id/{sub}"),
        Shape::SubAction(a) => format!("/api/{c}/:id/{sub}/{a}"),
        Shape::Fixed(x) => format!("/api/{c}/{x}"),
    }
}

fn describe_op(r: &Route) -> String {
    let what = r.coll.replace('_', " ");
    match (r.kind, r.name) {
        (Kind::Form, _) => format!(
            "HTML form of the explorer (submits to {})",
            crate::explorer::target_of(r.op).map_or_else(|| what.clone(), url_pattern)
        ),
        (_, "index") if r.coll.is_empty() => {
            "The entry point: collections and features of the current driver".to_owned()
        }
        (_, "switch") => "Switch the driver or provider (HTML explorer)".to_owned(),
        (_, "index") => format!("List {what} (query parameters filter)"),
        (_, "show") => format!("Show one of the {what}"),
        (_, "create") => format!("Create one of the {what}"),
        (_, "destroy") => format!("Delete one of the {what}"),
        (_, name) => format!("{} ({what})", name.replace('_', " ")),
    }
}

/// Declared value lists (§6.3).
fn allowed(name: &str) -> &'static str {
    match name {
        "protocol" => "tcp, udp, icmp",
        "listener_protocol" => "HTTP, TCP",
        _ => "",
    }
}

fn sub_collection(coll: &str) -> Option<&'static str> {
    match coll {
        "buckets" => Some(
            "blobs: /api/buckets/:id/:blob_id (metadata document, content download, upload, \
             user metadata headers, delete)",
        ),
        "firewalls" => Some("rules: /api/firewalls/:id/:rule_id (add, delete)"),
        _ => None,
    }
}

fn describe(coll: &str) -> &'static str {
    match coll {
        "addresses" => "Public IP addresses that can be associated with instances",
        "buckets" => "Storage buckets and the blobs they contain",
        "drivers" => "The cloud drivers this server knows, and their providers",
        "firewalls" => "Firewalls (security groups) and their rules",
        "hardware_profiles" => "Instance sizes: CPU, memory, storage and architecture",
        "images" => "Machine images instances are launched from",
        "instance_states" => "The driver's instance state machine",
        "instances" => "Running or stopped virtual machines",
        "keys" => "Key pairs and passwords for access to instances",
        "load_balancers" => "Load balancers distributing traffic over instances",
        "metrics" => "Monitoring samples of instances",
        "network_interfaces" => "Network interfaces connecting instances to subnets",
        "networks" => "Private networks",
        "realms" => "Regions or availability zones resources live in",
        "storage_snapshots" => "Point-in-time copies of storage volumes",
        "storage_volumes" => "Block storage volumes that can be attached to instances",
        "subnets" => "Address ranges within networks",
        _ => "",
    }
}

/// One line about a parameter, shared by the docs and the explorer's forms.
pub(crate) fn param_help(name: &str) -> Option<&'static str> {
    Some(match name {
        "id" => "The resource's id (from the path)",
        "blob_id" => "The blob's name (in the path, or in the upload form)",
        "rule_id" => "The rule's id (from the path)",
        "image_id" => "The image to launch",
        "realm_id" => "The realm (region or zone); the provider chooses when empty",
        "hwp_id" => "The hardware profile; the driver's default when empty",
        "keyname" => "The key pair to install on the instance",
        "name" => "A name of your choice",
        "description" => "A description of your choice",
        "user_data" => "Data passed to the instance, base64-encoded",
        "password" => "The password for the instance",
        "instance_count" => "How many instances to launch",
        "firewalls" => "Firewalls (security groups) to launch into",
        "metrics" => "Enable detailed monitoring",
        "load_balancer_id" => "Register the new instance with this load balancer",
        "instance_id" => "The instance",
        "instance" => "The instance",
        "network" => "The network (or subnet) to connect to",
        "network_id" => "The network",
        "address_block" => "An address range in CIDR notation, e.g. 10.0.0.0/24",
        "volume_id" => "The storage volume",
        "snapshot_id" => "Create from this snapshot",
        "capacity" => "Size in GB",
        "device" => "Device name on the instance, e.g. /dev/sdb",
        "device_name" => "Device name for the attached snapshot volume",
        "public_key" => "An existing public key to import instead of generating one",
        "location" => "Region or location of the bucket",
        "cmd" => "The command to run over SSH",
        "private_key" => "The PEM private key for the SSH login",
        "ip" => "The address to connect to; the instance's public address when empty",
        "port" => "The SSH port",
        "protocol" => "The protocol the rule allows",
        "port_from" => "First port of the range",
        "port_to" => "Last port of the range",
        "listener_protocol" => "Protocol of the listener",
        "listener_balancer_port" => "Port the load balancer listens on",
        "listener_instance_port" => "Port on the instances",
        "blob_data" => "The file to upload",
        "meta_params" => "Number of metadata pairs (meta_name<N>, meta_value<N>)",
        "owner_id" => "Only images of this owner (self: your own)",
        "state" => "Only resources in this state",
        "architecture" => "Only this architecture",
        "force_auth" => "Check the credentials with the driver",
        "driver" => "The driver to switch to",
        "provider" => "The provider to switch to",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let find = |c: &str, n: &str| ROUTES.iter().find(|r| r.coll == c && r.name == n).unwrap();
        assert_eq!(url_pattern(find("", "index")), "/api");
        assert_eq!(
            url_pattern(find("instances", "stop")),
            "/api/instances/:id/stop"
        );
        assert_eq!(url_pattern(find("instances", "new")), "/api/instances/new");
        assert_eq!(
            url_pattern(find("buckets", "show_blob")),
            "/api/buckets/:id/:blob_id"
        );
        assert_eq!(
            describe_op(find("instances", "new")),
            "HTML form of the explorer (submits to /api/instances)"
        );
    }

    #[test]
    fn every_collection_is_described() {
        for c in COLLECTIONS {
            assert!(!describe(c.name).is_empty(), "{}", c.name);
        }
    }

    #[test]
    fn pages_list_every_operation_and_parameter() {
        let urls = Urls::new("http", "h");
        for c in COLLECTIONS.iter().filter(|c| c.served) {
            let r = reply(&[c.name], &urls, None);
            assert_eq!(r.status, StatusCode::OK);
            let body = String::from_utf8_lossy(&r.body);
            for op in ROUTES.iter().filter(|r| r.coll == c.name) {
                assert!(
                    body.contains(&format!("/docs/{}/{}\"", c.name, op.name)),
                    "{} lists {}",
                    c.name,
                    op.name
                );
                let r = reply(&[c.name, op.name], &urls, None);
                assert_eq!(r.status, StatusCode::OK);
                let body = String::from_utf8_lossy(&r.body);
                for p in op.params {
                    assert!(
                        body.contains(p.name),
                        "{}/{} lists {}",
                        c.name,
                        op.name,
                        p.name
                    );
                }
            }
        }
        assert_eq!(
            reply(&["nonsense"], &urls, None).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            reply(&["instances", "fly"], &urls, None).status,
            StatusCode::NOT_FOUND
        );
    }
}
