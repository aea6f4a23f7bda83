//! The HTML explorer (`deltacloud-api.md` §11): the forms that let a person act on the cloud
//! from a browser, without JavaScript, and the glue that turns form submissions into
//! browser-friendly answers.
//!
//! * [`handle`] renders the form pages (`GET /api/instances/new?image_id=`, `…/keys/new`,
//!   `…/instances/:id/run`, …). Their routes are [`Kind::Form`] entries of the route table, and
//!   every form's fields are generated from the parameters of the route it submits to (plus the
//!   parameters the driver's features add to that operation), so a form cannot ask for less or
//!   other than the API accepts. Only the launch form adds what the table cannot say: the
//!   chosen hardware profile's `hwp_*` inputs, with the profile's ranges and enumerations.
//! * [`decorate`] adds links to those forms on the ordinary HTML pages (a "Create a key" link
//!   under the key list, "Launch an instance" on an image, …), only where the driver has the
//!   capability the form needs.
//! * [`after_form`] answers a successful browser submission with `303 See Other` to the page
//!   of the result, so reloading the page does not submit the form again (§11: creates and
//!   destroys redirect).

use crate::error::ApiError;
use crate::handlers::Cx;
use crate::html::{
    self, Block, Choice, Field, Form, Input, Link, NumberInput, Page, SelectInput, TextInput,
};
use crate::negotiate::Format;
use crate::response::Reply;
use crate::routes::{Kind, Need, Op, ROUTES, Route, Shape, Verb};
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use deltacloud_core::driver::Capability;
use deltacloud_core::hardware::PropertyKind;
use deltacloud_core::{
    ErrorKind, Filter, HardwareProfile, HardwareProperty, PropertyName, PropertyValue,
};

/// One explorer form: the page's route (`op`) and the operation it submits to.
struct FormSpec {
    op: Op,
    coll: &'static str,
    /// The name of the submitted operation in the route table.
    target: &'static str,
    title: &'static str,
    /// The label of links to this form on other pages.
    link: &'static str,
}

const fn spec(
    op: Op,
    coll: &'static str,
    target: &'static str,
    title: &'static str,
    link: &'static str,
) -> FormSpec {
    FormSpec {
        op,
        coll,
        target,
        title,
        link,
    }
}

static FORMS: &[FormSpec] = &[
    spec(
        Op::InstancesNew,
        "instances",
        "create",
        "Launch an instance",
        "Launch an instance",
    ),
    spec(
        Op::InstancesRunForm,
        "instances",
        "run",
        "Run a command",
        "Run a command",
    ),
    spec(
        Op::ImagesNew,
        "images",
        "create",
        "Create an image",
        "Create an image from this instance",
    ),
    spec(Op::KeysNew, "keys", "create", "New key", "Create a key"),
    spec(
        Op::StorageVolumesNew,
        "storage_volumes",
        "create",
        "New storage volume",
        "Create a storage volume",
    ),
    spec(
        Op::StorageVolumesAttachForm,
        "storage_volumes",
        "attach",
        "Attach a storage volume",
        "Attach to an instance",
    ),
    spec(
        Op::StorageSnapshotsNew,
        "storage_snapshots",
        "create",
        "New storage snapshot",
        "Create a snapshot",
    ),
    spec(
        Op::BucketsNew,
        "buckets",
        "create",
        "New bucket",
        "Create a bucket",
    ),
    spec(
        Op::BlobsNewForm,
        "buckets",
        "upload_blob",
        "Upload a blob",
        "Upload a blob",
    ),
    spec(
        Op::AddressesAssociateForm,
        "addresses",
        "associate",
        "Associate an address",
        "Associate with an instance",
    ),
    spec(
        Op::FirewallsNew,
        "firewalls",
        "create",
        "New firewall",
        "Create a firewall",
    ),
    spec(
        Op::FirewallsNewRule,
        "firewalls",
        "rules",
        "New firewall rule",
        "Add a rule",
    ),
    spec(
        Op::LoadBalancersNew,
        "load_balancers",
        "create",
        "New load balancer",
        "Create a load balancer",
    ),
    spec(
        Op::NetworksNew,
        "networks",
        "create",
        "New network",
        "Create a network",
    ),
    spec(
        Op::SubnetsNew,
        "subnets",
        "create",
        "New subnet",
        "Create a subnet",
    ),
    spec(
        Op::NetworkInterfacesNew,
        "network_interfaces",
        "create",
        "New network interface",
        "Create a network interface",
    ),
];

/// Forms reachable from a resource of another collection, prefilled with that resource's id:
/// (collection of the page, form, parameter carrying the page's id).
static CROSS: &[(&str, Op, &str)] = &[
    ("images", Op::InstancesNew, "image_id"),
    ("instances", Op::ImagesNew, "instance_id"),
    ("storage_volumes", Op::StorageSnapshotsNew, "volume_id"),
    ("networks", Op::SubnetsNew, "network_id"),
];

fn form_spec(op: Op) -> Option<&'static FormSpec> {
    FORMS.iter().find(|f| f.op == op)
}

fn form_route(op: Op) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.op == op)
}

/// The route the form page `op` submits to (for the docs).
pub(crate) fn target_of(op: Op) -> Option<&'static Route> {
    form_spec(op).and_then(target_route)
}

/// The route a form submits to.
fn target_route(f: &FormSpec) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.coll == f.coll && r.name == f.target && r.verb != Verb::Get)
}

// ---------------------------------------------------------------------------------------------
// Form pages

/// Render the form page of `cx.route` (a [`Kind::Form`] route).
pub(crate) async fn handle(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (Some(spec), Some(target)) = (
        form_spec(cx.route.op),
        form_spec(cx.route.op).and_then(target_route),
    ) else {
        return Err(ApiError::internal(format!(
            "no explorer form for {:?}",
            cx.route.op
        )));
    };
    let action = match target.shape {
        Shape::Member => cx.urls.member(spec.coll, cx.id).to_string(),
        Shape::Action(a) => cx.urls.action(spec.coll, cx.id, a).to_string(),
        _ => cx.urls.coll(spec.coll).to_string(),
    };
    let mut blocks = vec![Block::HtmlOnly];
    let mut fields = Vec::new();
    let mut skip: Vec<&str> = vec!["id"];
    match spec.op {
        Op::InstancesNew => {
            launch_preamble(cx, &mut blocks, &mut fields).await?;
            skip.extend(["image_id", "hwp_id"]);
        }
        // §11: the create-image form exists only for an instance.
        Op::ImagesNew if cx.params.opt("instance_id").is_none() => {
            return Err(ApiError::not_found());
        }
        _ => {}
    }
    if !cx.id.is_empty() {
        blocks.push(Block::Paragraph(format!(
            "{} {}",
            html::title_case(singular(spec.coll)),
            cx.id
        )));
    }
    for (name, required) in params_of(cx, target) {
        if !skip.contains(&name) {
            fields.extend(field(cx, target, name, required).await?);
        }
    }
    if spec.op == Op::FirewallsNewRule {
        fields.extend(rule_sources());
    }
    blocks.push(Block::Form(Form {
        action,
        get: false,
        fields,
        submit: spec.title.to_owned(),
    }));
    let page = cx.html().page(spec.title, blocks);
    Ok(Reply::new(StatusCode::OK).body(page.render()?.into_bytes(), Format::Html.content_type()))
}

/// The parameters of `target` with whether each is required: the route's own, then those the
/// driver's features add to the operation (§5.2), in the feature table's order.
pub(crate) fn params_of(cx: &Cx<'_>, target: &Route) -> Vec<(&'static str, bool)> {
    let mut out: Vec<(&'static str, bool)> =
        target.params.iter().map(|p| (p.name, p.required)).collect();
    let mut feats: Vec<_> = cx.driver.features().iter().map(|f| f.name).collect();
    feats.sort();
    for f in feats {
        let s = f.spec();
        if s.collection == target.coll && s.operation == Some(target.name) {
            for p in s.params {
                if !out.iter().any(|(n, _)| n == p) {
                    out.push((p, false));
                }
            }
        }
    }
    out
}

/// The launch form's image summary and hardware profile section. The profile is chosen first
/// (a `GET` form, so this works without JavaScript); its non-fixed properties then become
/// `hwp_*` inputs bounded by the profile's range or enumeration.
async fn launch_preamble(
    cx: &Cx<'_>,
    blocks: &mut Vec<Block>,
    fields: &mut Vec<Field>,
) -> Result<(), ApiError> {
    let image_id = cx.params.opt("image_id").unwrap_or_default();
    let image = cx
        .driver
        .images(cx.rctx, &Filter::by_id(image_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)?;
    blocks.push(Block::Paragraph(format!(
        "Image {} ({}, {})",
        image.id,
        if image.description.is_empty() {
            image.name.as_str()
        } else {
            image.description.as_str()
        },
        image.architecture
    )));
    fields.push(hidden("image_id", image_id));

    let profiles: Vec<HardwareProfile> = if Need::HardwareProfiles.satisfied_by(cx.driver) {
        let mut all = cx
            .driver
            .hardware_profiles(cx.rctx, &Filter::default())
            .await?;
        all.sort_by(HardwareProfile::list_order);
        // Only the profiles the image can run on, when the driver says which.
        match image.hardware_profiles.as_deref() {
            Some(ids) if !ids.is_empty() => all.retain(|p| ids.contains(&p.id)),
            _ => {}
        }
        all
    } else {
        Vec::new()
    };
    let Some(chosen) = cx
        .params
        .opt("hwp_id")
        .and_then(|id| profiles.iter().find(|p| p.id == id))
        .or_else(|| profiles.first())
    else {
        return Ok(());
    };
    if profiles.len() > 1 {
        blocks.push(Block::Form(Form {
            action: format!("{}/instances/new", cx.urls.base()),
            get: true,
            fields: vec![
                hidden("image_id", image_id),
                Field {
                    name: "hwp_id".to_owned(),
                    label: "Hardware profile".to_owned(),
                    required: true,
                    help: None,
                    input: Input::Select(SelectInput {
                        options: profiles
                            .iter()
                            .map(|p| Choice {
                                value: p.id.to_string(),
                                label: format!("{} ({})", p.id, html::profile_summary(p)),
                                selected: p.id == chosen.id,
                            })
                            .collect(),
                        multiple: false,
                    }),
                },
            ],
            submit: "Choose this profile".to_owned(),
        }));
    }
    fields.push(hidden("hwp_id", chosen.id.as_str()));
    fields.push(Field {
        name: String::new(),
        label: "Hardware profile".to_owned(),
        required: false,
        help: None,
        input: Input::Fixed(chosen.id.to_string()),
    });
    fields.extend(chosen.properties.iter().map(property_field));
    Ok(())
}

/// A hardware profile property as a launch form field: fixed ⇒ shown only; range ⇒ a number
/// with `min`/`max`; enumeration ⇒ a select. `root_type` is never a create parameter.
fn property_field(p: &HardwareProperty) -> Field {
    let label = match p.name.unit() {
        Some(u) if u != "label" => format!("{} ({u})", p.name),
        _ => p.name.to_string(),
    };
    let default = p
        .default_value()
        .map(ToString::to_string)
        .unwrap_or_default();
    let input = match &p.kind {
        _ if p.name == PropertyName::RootType => Input::Fixed(default.clone()),
        PropertyKind::Fixed(v) => Input::Fixed(v.to_string()),
        PropertyKind::Range { first, last, .. } => {
            let fractional = [first, last]
                .into_iter()
                .chain(p.default_value())
                .any(|v| matches!(v, PropertyValue::Float(f) if f.fract() != 0.0));
            Input::Number(NumberInput {
                value: default.clone(),
                min: Some(first.to_string()),
                max: Some(last.to_string()),
                step: if fractional { "any" } else { "1" }.to_owned(),
            })
        }
        PropertyKind::Enum { values, .. } => Input::Select(SelectInput {
            options: values
                .iter()
                .map(|v| {
                    let s = v.to_string();
                    Choice {
                        selected: s == default,
                        label: s.clone(),
                        value: s,
                    }
                })
                .collect(),
            multiple: false,
        }),
    };
    let help = match &p.kind {
        PropertyKind::Range { first, last, .. } => Some(format!("{first} to {last}")),
        _ => None,
    };
    Field {
        name: p.name.param().to_owned(),
        label,
        required: false,
        help,
        input,
    }
}

fn hidden(name: &str, value: &str) -> Field {
    Field {
        name: name.to_owned(),
        label: String::new(),
        required: false,
        help: None,
        input: Input::Hidden(value.to_owned()),
    }
}

fn text_field(name: &str, label: &str, help: Option<&str>) -> Field {
    Field {
        name: name.to_owned(),
        label: label.to_owned(),
        required: false,
        help: help.map(str::to_owned),
        input: Input::Text(TextInput::default()),
    }
}

/// The source fields of a firewall rule (`ip_address<N>`, `group<N>` + `group<N>owner`,
/// §8.11), which the route table cannot declare because their names are numbered.
fn rule_sources() -> Vec<Field> {
    vec![
        text_field(
            "ip_address1",
            "Source address",
            Some("A CIDR block, e.g. 10.0.0.0/8 (give an address or a group)"),
        ),
        text_field("group1", "Source group", None),
        text_field("group1owner", "Source group owner", None),
    ]
}

/// How many metadata pairs the blob upload form offers (`meta_params`, §11).
const BLOB_META_PAIRS: usize = 3;

/// Whether the driver has capability `c`.
fn has(cx: &Cx<'_>, c: Capability) -> bool {
    cx.driver.capabilities().has(c)
}

/// The field(s) for parameter `name` of `target`. A value given in the form page's query
/// string (`?image_id=`, `?instance_id=`, `?volume_id=`) fixes the parameter: it becomes a
/// hidden field. Parameters naming another resource become a select of those resources.
async fn field(
    cx: &Cx<'_>,
    target: &Route,
    name: &'static str,
    required: bool,
) -> Result<Vec<Field>, ApiError> {
    if let Some(v) = cx.params.opt(name) {
        return Ok(vec![hidden(name, v)]);
    }
    let number = |value: &str, min: Option<&str>, max: Option<&str>| {
        Input::Number(NumberInput {
            value: value.to_owned(),
            min: min.map(str::to_owned),
            max: max.map(str::to_owned),
            step: "1".to_owned(),
        })
    };
    let input = match name {
        "meta_params" => {
            let mut out = vec![hidden("meta_params", &BLOB_META_PAIRS.to_string())];
            for i in 1..=BLOB_META_PAIRS {
                out.push(text_field(
                    &format!("meta_name{i}"),
                    &format!("Metadata name {i}"),
                    None,
                ));
                out.push(text_field(
                    &format!("meta_value{i}"),
                    &format!("Metadata value {i}"),
                    None,
                ));
            }
            return Ok(out);
        }
        "blob_data" => Input::File,
        "metrics" => Input::Checkbox,
        "password" => Input::Password,
        "user_data" | "public_key" | "private_key" | "user_files" | "user_iso" => {
            Input::TextArea(String::new())
        }
        "capacity" => number("1", Some("1"), None),
        "instance_count" => number("1", Some("1"), None),
        "port" => number("22", Some("1"), Some("65535")),
        "port_from" | "port_to" | "listener_balancer_port" | "listener_instance_port" => {
            number("", Some("0"), Some("65535"))
        }
        "protocol" => fixed_choices(&["tcp", "udp", "icmp"]),
        "listener_protocol" => fixed_choices(&["HTTP", "TCP"]),
        _ => match choices(cx, name, required).await? {
            Some(select) => select,
            None => Input::Text(TextInput {
                value: String::new(),
                maxlength: max_length(cx, target, name),
            }),
        },
    };
    // The upload route declares these optional (they arrive inside a streamed multipart
    // body), but an upload without them fails: the form asks for them.
    let required = required || matches!(name, "blob_id" | "blob_data");
    Ok(vec![Field {
        name: name.to_owned(),
        label: label(name),
        required,
        help: crate::docs::param_help(name).map(str::to_owned),
        input,
    }])
}

/// `load_balancer_id` ⇒ `Load balancer`, `keyname` ⇒ `Key name`.
fn label(name: &str) -> String {
    let base = match name {
        "keyname" => "key_name",
        "hwp_id" => "hardware_profile",
        other => other.strip_suffix("_id").unwrap_or(other),
    };
    let mut s = base.replace('_', " ");
    if let Some(first) = s.get(..1) {
        s.replace_range(..1, &first.to_ascii_uppercase());
    }
    s
}

fn fixed_choices(values: &[&str]) -> Input {
    Input::Select(SelectInput {
        options: values
            .iter()
            .enumerate()
            .map(|(i, v)| Choice {
                value: (*v).to_owned(),
                label: (*v).to_owned(),
                selected: i == 0,
            })
            .collect(),
        multiple: false,
    })
}

/// A `max_length` constraint the driver declares on the feature adding `name` (§5.2).
fn max_length(cx: &Cx<'_>, target: &Route, name: &str) -> Option<usize> {
    cx.driver.features().iter().find_map(|f| {
        let s = f.name.spec();
        (s.collection == target.coll
            && s.operation == Some(target.name)
            && s.params.contains(&name))
        .then_some(())?;
        f.constraints
            .iter()
            .find(|(k, _)| k == "max_length")
            .and_then(|(_, v)| v.trim().parse().ok())
    })
}

/// A select of the resources parameter `name` refers to, or `None` to ask for plain text (the
/// driver cannot list them, or has none). Listing needs the caller's credentials: a missing or
/// refused login is the page's error (the browser then asks for one); any other failure only
/// degrades the field to text.
async fn choices(cx: &Cx<'_>, name: &str, required: bool) -> Result<Option<Input>, ApiError> {
    let f = Filter::default();
    let (d, r) = (cx.driver, cx.rctx);
    let listed: deltacloud_core::Result<Vec<(String, String)>> = match name {
        "realm_id" if has(cx, Capability::Realms) => d.realms(r, &f).await.map(|l| {
            l.into_iter()
                .map(|x| (x.id.to_string(), format!("{} ({})", x.id, x.name)))
                .collect()
        }),
        "instance_id" | "instance" if has(cx, Capability::Instances) => {
            d.instances(r, &f).await.map(|l| {
                l.into_iter()
                    .map(|x| {
                        let label = match &x.name {
                            Some(n) => format!("{} ({n}, {})", x.id, x.state.as_str()),
                            None => format!("{} ({})", x.id, x.state.as_str()),
                        };
                        (x.id.to_string(), label)
                    })
                    .collect()
            })
        }
        "keyname" if has(cx, Capability::Keys) => d.keys(r, &f).await.map(|l| {
            l.into_iter()
                .map(|x| (x.id.to_string(), x.id.to_string()))
                .collect()
        }),
        "volume_id" if has(cx, Capability::StorageVolumes) => {
            d.storage_volumes(r, &f).await.map(|l| {
                l.into_iter()
                    .map(|x| {
                        let label = format!(
                            "{} ({} GB, {})",
                            x.id,
                            x.capacity.as_deref().unwrap_or("?"),
                            x.state.as_deref().unwrap_or("?")
                        );
                        (x.id.to_string(), label)
                    })
                    .collect()
            })
        }
        "snapshot_id" if has(cx, Capability::StorageSnapshots) => {
            d.storage_snapshots(r, &f).await.map(|l| {
                l.into_iter()
                    .map(|x| (x.id.to_string(), x.id.to_string()))
                    .collect()
            })
        }
        "network" if has(cx, Capability::Subnets) => d.subnets(r, &f).await.map(|l| {
            l.into_iter()
                .map(|x| {
                    let label = format!("{} ({})", x.id, x.address_block.as_deref().unwrap_or(""));
                    (x.id.to_string(), label)
                })
                .collect()
        }),
        "network_id" | "network" if has(cx, Capability::Networks) => {
            d.networks(r, &f).await.map(|l| {
                l.into_iter()
                    .map(|x| (x.id.to_string(), format!("{} ({})", x.id, x.name)))
                    .collect()
            })
        }
        "load_balancer_id" if has(cx, Capability::LoadBalancers) => {
            d.load_balancers(r, &f).await.map(|l| {
                l.into_iter()
                    .map(|x| (x.id.to_string(), x.id.to_string()))
                    .collect()
            })
        }
        "firewalls" if has(cx, Capability::Firewalls) => d.firewalls(r, &f).await.map(|l| {
            l.into_iter()
                .map(|x| (x.id.to_string(), format!("{} ({})", x.id, x.name)))
                .collect()
        }),
        _ => return Ok(None),
    };
    let list = match listed {
        Ok(l) => l,
        Err(e) if matches!(e.kind(), ErrorKind::AuthRequired | ErrorKind::AuthFailed) => {
            return Err(e.into());
        }
        Err(e) => {
            tracing::debug!(param = name, error = %e, "explorer: listing choices failed");
            return Ok(None);
        }
    };
    if list.is_empty() {
        return Ok(None);
    }
    let multiple = name == "firewalls";
    let mut options = Vec::with_capacity(list.len() + 1);
    if !required && !multiple {
        options.push(Choice {
            value: String::new(),
            label: if name == "realm_id" {
                "(provider's choice)"
            } else {
                "(none)"
            }
            .to_owned(),
            selected: true,
        });
    }
    options.extend(
        list.into_iter()
            .enumerate()
            .map(|(i, (value, label))| Choice {
                selected: required && !multiple && i == 0,
                value,
                label,
            }),
    );
    Ok(Some(Input::Select(SelectInput { options, multiple })))
}

/// `storage_volumes` ⇒ `storage volume`, for page text.
fn singular(coll: &str) -> &str {
    match coll {
        "addresses" => "address",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

// ---------------------------------------------------------------------------------------------
// Links to the forms from ordinary pages

/// Add links to the explorer's forms to an HTML page of `cx.route`: the collection's `new`
/// form under its list, the member's forms (run, attach, upload, …) on its page, and forms of
/// other collections prefilled with this resource (launch from an image, snapshot a volume).
/// A form is linked only when the driver has what the form's route needs.
pub(crate) fn decorate(cx: &Cx<'_>, page: &mut Page) {
    let route = cx.route;
    if route.kind == Kind::Form || route.verb != Verb::Get {
        return;
    }
    let usable = |op: Op| form_route(op).is_some_and(|r| r.need.satisfied_by(cx.driver));
    let mut links = Vec::new();
    match route.shape {
        Shape::Collection => {
            for f in FORMS.iter().filter(|f| f.coll == route.coll) {
                if let Some(Shape::Fixed(x)) = form_route(f.op).map(|r| r.shape)
                    && usable(f.op)
                    && cross_param(f.op).is_none()
                {
                    links.push(Link {
                        label: f.link.to_owned(),
                        href: format!("{}/{}/{x}", cx.urls.base(), f.coll),
                    });
                }
            }
        }
        Shape::Member if !cx.id.is_empty() => {
            for f in FORMS.iter().filter(|f| f.coll == route.coll) {
                if let Some(Shape::Action(a)) = form_route(f.op).map(|r| r.shape)
                    && usable(f.op)
                {
                    links.push(Link {
                        label: f.link.to_owned(),
                        href: cx.urls.action(f.coll, cx.id, a).to_string(),
                    });
                }
            }
            for (from, op, param) in CROSS {
                if *from == route.coll
                    && usable(*op)
                    && let Some(f) = form_spec(*op)
                {
                    let mut href = format!("{}/{}/new?{param}=", cx.urls.base(), f.coll);
                    href.extend(form_urlencoded::byte_serialize(cx.id.as_bytes()));
                    links.push(Link {
                        label: f.link.to_owned(),
                        href,
                    });
                }
            }
        }
        _ => {}
    }
    if !links.is_empty() {
        page.blocks.push(Block::Links(links));
    }
}

/// The parameter a form needs from another resource's page (`images/new` needs an
/// instance, `instances/new` an image), if it is only reachable from there.
fn cross_param(op: Op) -> Option<&'static str> {
    match op {
        Op::ImagesNew => Some("instance_id"),
        Op::InstancesNew => Some("image_id"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Answers to form submissions

/// A browser's successful `POST` (a create, an action, a blob upload) becomes `303 See Other`
/// to the page of the result: the `Location` of a create, else the acted-on resource, else
/// the collection (several instances launched at once). Two answers stay pages: a new key,
/// whose private half the provider shows only in that answer, and a command's output.
/// Non-HTML clients, errors, deletes (already redirected) and `GET`s are left alone.
pub(crate) fn after_form(cx: &Cx<'_>, reply: Reply) -> Reply {
    let route = cx.route;
    if cx.format != Format::Html
        || matches!(route.verb, Verb::Get | Verb::Head)
        || matches!(
            route.op,
            Op::SwitchDriver | Op::KeysCreate | Op::InstancesRun
        )
        || !reply.status.is_success()
    {
        return reply;
    }
    let location = reply
        .headers
        .iter()
        .find(|(n, _)| *n == LOCATION)
        .and_then(|(_, v)| v.to_str().ok())
        .map(str::to_owned);
    let to = match (location, route.shape) {
        (Some(l), _) => l,
        (None, Shape::Collection) => cx.urls.coll(route.coll).to_string(),
        (None, Shape::Member | Shape::Action(_)) if !cx.id.is_empty() => {
            cx.urls.member(route.coll, cx.id).to_string()
        }
        _ => return reply,
    };
    Reply::empty(StatusCode::SEE_OTHER).location(&to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::lookup;

    #[test]
    fn every_form_has_its_route_and_target() {
        for f in FORMS {
            let r = form_route(f.op).unwrap_or_else(|| panic!("no route for {:?}", f.op));
            assert_eq!(r.kind, Kind::Form, "{:?}", f.op);
            assert_eq!(r.coll, f.coll);
            let t = target_route(f).unwrap_or_else(|| panic!("no target for {:?}", f.op));
            assert_eq!(
                t.need, r.need,
                "a form needs what its submission needs: {:?}",
                f.op
            );
        }
        // And every form route has a form.
        for r in ROUTES.iter().filter(|r| r.kind == Kind::Form) {
            assert!(form_spec(r.op).is_some(), "{:?}", r.op);
        }
    }

    #[test]
    fn new_pages_are_matched_before_members() {
        let op = |segs: &[&str], m: &str| match lookup(segs, m) {
            crate::routes::Lookup::Found(r) => Some(r.op),
            _ => None,
        };
        assert_eq!(op(&["instances", "new"], "GET"), Some(Op::InstancesNew));
        assert_eq!(op(&["instances", "new"], "HEAD"), Some(Op::InstancesNew));
        assert_eq!(op(&["keys", "new"], "GET"), Some(Op::KeysNew));
        assert_eq!(op(&["keys", "k1"], "GET"), Some(Op::KeysShow));
        assert_eq!(
            op(&["keys", "new"], "DELETE"),
            Some(Op::KeysDestroy),
            "only GET is the form"
        );
        assert_eq!(
            op(&["instances", "i1", "run"], "GET"),
            Some(Op::InstancesRunForm)
        );
        assert_eq!(
            op(&["instances", "i1", "run"], "POST"),
            Some(Op::InstancesRun)
        );
        assert_eq!(
            op(&["buckets", "b", "new_blob_form_d15cfd90"], "GET"),
            Some(Op::BlobsNewForm)
        );
        assert_eq!(op(&["buckets", "b", "blob1"], "GET"), Some(Op::BlobsShow));
        assert_eq!(
            op(&["storage_volumes", "v", "attach_instance"], "GET"),
            Some(Op::StorageVolumesAttachForm)
        );
        assert_eq!(
            op(&["addresses", "a", "associate"], "GET"),
            Some(Op::AddressesAssociateForm)
        );
        assert_eq!(
            op(&["firewalls", "f", "new_rule"], "GET"),
            Some(Op::FirewallsNewRule)
        );
    }

    fn prop(kind: PropertyKind, name: PropertyName) -> HardwareProperty {
        HardwareProperty { name, kind }
    }

    #[test]
    fn profile_properties_become_bounded_inputs() {
        let range = property_field(&prop(
            PropertyKind::Range {
                first: 7680.into(),
                last: 15360.into(),
                default: Some(10240.into()),
            },
            PropertyName::Memory,
        ));
        assert_eq!(range.name, "hwp_memory");
        assert_eq!(range.label, "memory (MB)");
        match range.input {
            Input::Number(n) => {
                assert_eq!(n.min.as_deref(), Some("7680"));
                assert_eq!(n.max.as_deref(), Some("15360"));
                assert_eq!(n.value, "10240");
                assert_eq!(n.step, "1");
            }
            other => panic!("{other:?}"),
        }
        let frac = property_field(&prop(
            PropertyKind::Range {
                first: 1.into(),
                last: 1.5.into(),
                default: None,
            },
            PropertyName::Cpu,
        ));
        assert!(matches!(frac.input, Input::Number(ref n) if n.step == "any" && n.value == "1"));
        let en = property_field(&prop(
            PropertyKind::Enum {
                values: vec![850.into(), 1024.into()],
                default: Some(1024.into()),
            },
            PropertyName::Storage,
        ));
        match en.input {
            Input::Select(s) => {
                let v: Vec<_> = s
                    .options
                    .iter()
                    .map(|o| (o.value.as_str(), o.selected))
                    .collect();
                assert_eq!(v, vec![("850", false), ("1024", true)]);
            }
            other => panic!("{other:?}"),
        }
        let fixed = property_field(&prop(
            PropertyKind::Fixed("x86_64".into()),
            PropertyName::Architecture,
        ));
        assert!(matches!(fixed.input, Input::Fixed(ref v) if v == "x86_64"));
    }

    #[test]
    fn labels() {
        assert_eq!(label("load_balancer_id"), "Load balancer");
        assert_eq!(label("keyname"), "Key name");
        assert_eq!(label("blob_data"), "Blob data");
        assert_eq!(label("realm_id"), "Realm");
    }

    #[test]
    fn singulars() {
        assert_eq!(singular("instances"), "instance");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("storage_volumes"), "storage_volume");
    }
}
