//! Server-rendered HTML for every GET route, so a browser (or `curl` with its default
//! `Accept: */*`, which negotiates HTML) gets a readable page with links. One generic askama
//! template (`templates/page.html`, auto-escaping) renders a small page model; each resource has
//! a builder here. No external resources (scripts, stylesheets, fonts) are referenced.
//!
//! The explorer's forms and navigation (`deltacloud-api.md` §11) are built in `explorer.rs` from
//! the same page model ([`Block::Form`], [`Block::Links`]); the API docs (§6.5) in `docs.rs`.

use crate::error::{ApiError, ErrorScope, reason};
use crate::view::{self, Href, Traits, Urls};
use askama::Template;
use deltacloud_core::hardware::PropertyKind;
use deltacloud_core::registry::DriverInfo;
use deltacloud_core::state::{StateMachine, Trigger};
use deltacloud_core::{HardwareProfile, Image, Instance, Key, Provider, Realm, RunResult};

/// One page.
#[derive(Debug)]
pub(crate) struct Page {
    pub title: String,
    pub subtitle: Option<String>,
    /// The entry point URL.
    pub home: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug)]
pub(crate) enum Block {
    Heading(String),
    Paragraph(String),
    Table(Table),
    Actions(Vec<Button>),
    Select(Select),
    /// Navigation to related pages (the explorer's forms).
    Links(Vec<Link>),
    Form(Form),
    /// Renders nothing: marks a page that exists only as HTML (forms, docs), so the header
    /// leaves out the XML and JSON links, which would answer 406 there.
    HtmlOnly,
}

/// A link to another page.
#[derive(Debug)]
pub(crate) struct Link {
    pub label: String,
    pub href: String,
}

/// A form. Submissions use `POST` and, like the original explorer's, `multipart/form-data`
/// (§11); a `get` form only navigates (the launch form's profile chooser).
#[derive(Debug)]
pub(crate) struct Form {
    pub action: String,
    pub get: bool,
    pub fields: Vec<Field>,
    pub submit: String,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub name: String,
    pub label: String,
    pub required: bool,
    pub help: Option<String>,
    pub input: Input,
}

#[derive(Debug)]
pub(crate) enum Input {
    Text(TextInput),
    TextArea(String),
    Password,
    Number(NumberInput),
    Select(SelectInput),
    /// A checkbox submitting `true` when ticked.
    Checkbox,
    File,
    Hidden(String),
    /// Shown, not submitted: a fixed hardware profile property.
    Fixed(String),
}

#[derive(Debug, Default)]
pub(crate) struct TextInput {
    pub value: String,
    pub maxlength: Option<usize>,
}

/// `<input type=number>`: a hardware-profile range becomes `min`/`max`.
#[derive(Debug, Default)]
pub(crate) struct NumberInput {
    pub value: String,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `1` for integers, `any` when a bound or the default has a fraction.
    pub step: String,
}

#[derive(Debug, Default)]
pub(crate) struct SelectInput {
    pub options: Vec<Choice>,
    pub multiple: bool,
}

#[derive(Debug)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// A table cell: text and links separated by commas.
#[derive(Debug, Default)]
pub(crate) struct Cell {
    pub pieces: Vec<Piece>,
    pub pre: bool,
    pub header: bool,
}

#[derive(Debug)]
pub(crate) struct Piece {
    pub text: String,
    pub href: Option<String>,
}

/// A button posting to `href` (with `_method=delete` for deletes, as the original explorer did).
#[derive(Debug)]
pub(crate) struct Button {
    pub href: String,
    pub label: String,
    pub delete: bool,
}

#[derive(Debug)]
pub(crate) struct Select {
    pub action: String,
    pub label: &'static str,
    pub name: &'static str,
    pub options: Vec<SelectOption>,
    pub submit: &'static str,
}

#[derive(Debug)]
pub(crate) struct SelectOption {
    pub value: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate<'a> {
    page: &'a Page,
}

impl Page {
    /// Whether the header links to the XML and JSON representations of this page.
    pub(crate) fn alternates(&self) -> bool {
        !self.blocks.iter().any(|b| matches!(b, Block::HtmlOnly))
    }

    pub(crate) fn render(&self) -> Result<String, ApiError> {
        PageTemplate { page: self }
            .render()
            .map_err(|e| ApiError::internal(format!("HTML rendering failed: {e}")))
    }
}

impl Cell {
    fn text(t: impl Into<String>) -> Self {
        Self {
            pieces: vec![Piece {
                text: t.into(),
                href: None,
            }],
            ..Self::default()
        }
    }

    fn opt(t: Option<&str>) -> Self {
        t.map_or_else(Self::default, Self::text)
    }

    fn link(text: impl Into<String>, href: Href<'_>) -> Self {
        Self {
            pieces: vec![Piece {
                text: text.into(),
                href: Some(href.to_string()),
            }],
            ..Self::default()
        }
    }

    fn links<'a>(items: impl IntoIterator<Item = (&'a str, Href<'a>)>) -> Self {
        Self {
            pieces: items
                .into_iter()
                .map(|(t, h)| Piece {
                    text: t.to_owned(),
                    href: Some(h.to_string()),
                })
                .collect(),
            ..Self::default()
        }
    }

    fn pre(t: &str) -> Self {
        Self {
            pre: true,
            ..Self::text(t)
        }
    }

    fn header(t: &str) -> Self {
        Self {
            header: true,
            ..Self::text(t)
        }
    }
}

/// A two-column "label: value" table for one resource.
fn props(rows: Vec<(&str, Cell)>) -> Block {
    Block::Table(Table {
        columns: Vec::new(),
        rows: rows
            .into_iter()
            .map(|(l, c)| vec![Cell::header(l), c])
            .collect(),
    })
}

/// What every page shows in its header.
pub(crate) struct HtmlCx<'a> {
    pub urls: &'a Urls,
    pub driver: &'a str,
    pub provider: Option<&'a str>,
    pub traits: Traits,
}

impl HtmlCx<'_> {
    pub(crate) fn page(&self, title: impl Into<String>, blocks: Vec<Block>) -> Page {
        Page {
            title: title.into(),
            subtitle: Some(format!(
                "{}@{}",
                self.driver,
                self.provider.unwrap_or("default")
            )),
            home: self.urls.base().to_owned(),
            blocks,
        }
    }
}

/// `hardware_profiles` ⇒ `Hardware Profiles`.
pub(crate) fn title_case(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------

/// The entry point (§5.5): collections, a driver switch and, if the driver has configured
/// providers, a provider switch.
pub(crate) fn entry(
    cx: &HtmlCx<'_>,
    collections: &[&'static str],
    drivers: &[&str],
    providers: &[&str],
) -> Page {
    let mut t = Table::default();
    for c in collections {
        t.rows
            .push(vec![Cell::link(title_case(c), cx.urls.coll(c))]);
    }
    let mut blocks = vec![Block::Table(t)];
    blocks.push(Block::Select(Select {
        action: cx.urls.base().to_owned(),
        label: "Driver",
        name: "driver",
        options: drivers
            .iter()
            .map(|d| SelectOption {
                value: (*d).to_owned(),
                selected: *d == cx.driver,
            })
            .collect(),
        submit: "Switch driver",
    }));
    if !providers.is_empty() {
        let mut options = vec![SelectOption {
            value: "default".to_owned(),
            selected: cx.provider.is_none(),
        }];
        options.extend(providers.iter().map(|p| SelectOption {
            value: (*p).to_owned(),
            selected: cx.provider == Some(*p),
        }));
        blocks.push(Block::Select(Select {
            action: cx.urls.base().to_owned(),
            label: "Provider",
            name: "provider",
            options,
            submit: "Switch provider",
        }));
    }
    cx.page(
        format!("Deltacloud API {}", deltacloud_core::API_VERSION),
        blocks,
    )
}

pub(crate) fn realms(cx: &HtmlCx<'_>, list: &[Realm]) -> Page {
    let rows = list
        .iter()
        .map(|r| {
            vec![
                Cell::link(r.id.as_str(), cx.urls.member("realms", &r.id)),
                Cell::text(r.name.as_str()),
                Cell::text(r.state.as_str()),
                Cell::text(r.limit.as_deref().unwrap_or("unlimited")),
            ]
        })
        .collect();
    cx.page(
        "Realms",
        vec![Block::Table(Table {
            columns: vec!["Id", "Name", "State", "Limit"],
            rows,
        })],
    )
}

pub(crate) fn realm(cx: &HtmlCx<'_>, r: &Realm) -> Page {
    cx.page(
        format!("Realm {}", r.id),
        vec![props(vec![
            ("Id", Cell::text(r.id.as_str())),
            ("Name", Cell::text(r.name.as_str())),
            ("State", Cell::text(r.state.as_str())),
            (
                "Limit",
                Cell::text(r.limit.as_deref().unwrap_or("unlimited")),
            ),
        ])],
    )
}

pub(crate) fn profile_summary(p: &HardwareProfile) -> String {
    if p.is_opaque() {
        return "opaque".to_owned();
    }
    p.properties
        .iter()
        .map(|x| {
            let v = x
                .default_value()
                .map(ToString::to_string)
                .unwrap_or_default();
            match x.name.unit() {
                Some(u) if u != "label" => format!("{}: {v} {u}", x.name),
                _ => format!("{}: {v}", x.name),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn hardware_profiles(cx: &HtmlCx<'_>, list: &[HardwareProfile]) -> Page {
    let rows = list
        .iter()
        .map(|p| {
            vec![
                Cell::link(p.id.as_str(), cx.urls.member("hardware_profiles", &p.id)),
                Cell::text(p.name.as_str()),
                Cell::text(profile_summary(p)),
            ]
        })
        .collect();
    cx.page(
        "Hardware profiles",
        vec![Block::Table(Table {
            columns: vec!["Id", "Name", "Properties"],
            rows,
        })],
    )
}

pub(crate) fn hardware_profile(cx: &HtmlCx<'_>, p: &HardwareProfile) -> Page {
    let rows = p
        .properties
        .iter()
        .map(|x| {
            let values = match &x.kind {
                PropertyKind::Fixed(v) => v.to_string(),
                PropertyKind::Range { first, last, .. } => format!("{first} – {last}"),
                PropertyKind::Enum { values, .. } => values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            vec![
                Cell::text(x.name.as_str()),
                Cell::text(x.kind.as_str()),
                Cell::text(x.name.unit().unwrap_or_default()),
                Cell::text(
                    x.default_value()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                Cell::text(values),
                Cell::text(if x.is_settable() { x.name.param() } else { "" }),
            ]
        })
        .collect();
    let mut blocks = vec![props(vec![
        ("Id", Cell::text(p.id.as_str())),
        ("Name", Cell::text(p.name.as_str())),
    ])];
    if p.is_opaque() {
        blocks.push(Block::Paragraph(
            "An opaque profile: the provider decides the sizes.".to_owned(),
        ));
    } else {
        blocks.push(Block::Table(Table {
            columns: vec![
                "Property",
                "Kind",
                "Unit",
                "Default",
                "Values",
                "Create parameter",
            ],
            rows,
        }));
    }
    cx.page(format!("Hardware profile {}", p.id), blocks)
}

pub(crate) fn images(cx: &HtmlCx<'_>, list: &[Image]) -> Page {
    let rows = list
        .iter()
        .map(|i| {
            vec![
                Cell::link(i.id.as_str(), cx.urls.member("images", &i.id)),
                Cell::text(i.name.as_str()),
                Cell::text(i.description.as_str()),
                Cell::text(i.owner_id.as_str()),
                Cell::text(i.architecture.as_str()),
                Cell::opt(i.state.as_deref()),
            ]
        })
        .collect();
    cx.page(
        "Images",
        vec![Block::Table(Table {
            columns: vec![
                "Id",
                "Name",
                "Description",
                "Owner",
                "Architecture",
                "State",
            ],
            rows,
        })],
    )
}

pub(crate) fn image(cx: &HtmlCx<'_>, i: &Image) -> Page {
    let profiles = i
        .hardware_profiles
        .iter()
        .flatten()
        .map(|h| (h.as_str(), cx.urls.member("hardware_profiles", h)));
    // Launching goes through the explorer's form (linked by `explorer::decorate`), which offers
    // the profile, realm and key choices a bare button could not.
    let mut buttons = Vec::new();
    if cx.traits.destroy_image {
        buttons.push(Button {
            href: cx.urls.member("images", &i.id).to_string(),
            label: "Destroy".to_owned(),
            delete: true,
        });
    }
    cx.page(
        format!("Image {}", i.id),
        vec![
            props(vec![
                ("Id", Cell::text(i.id.as_str())),
                ("Name", Cell::text(i.name.as_str())),
                ("Description", Cell::text(i.description.as_str())),
                ("Owner", Cell::text(i.owner_id.as_str())),
                ("Architecture", Cell::text(i.architecture.as_str())),
                ("State", Cell::opt(i.state.as_deref())),
                ("Created", Cell::opt(i.creation_time.as_deref())),
                (
                    "Root type",
                    Cell::text(
                        i.root_type
                            .as_deref()
                            .unwrap_or(crate::xml::DEFAULT_ROOT_TYPE),
                    ),
                ),
                ("Hardware profiles", Cell::links(profiles)),
            ]),
            Block::Actions(buttons),
        ],
    )
}

pub(crate) fn instances(cx: &HtmlCx<'_>, list: &[Instance]) -> Page {
    let rows = list
        .iter()
        .map(|i| {
            vec![
                Cell::link(i.id.as_str(), cx.urls.member("instances", &i.id)),
                Cell::opt(i.name.as_deref()),
                Cell::text(i.state.as_str()),
                i.image_id.as_ref().map_or_else(Cell::default, |x| {
                    Cell::link(x.as_str(), cx.urls.member("images", x))
                }),
                i.realm_id.as_ref().map_or_else(Cell::default, |x| {
                    Cell::link(x.as_str(), cx.urls.member("realms", x))
                }),
                i.profile.as_ref().map_or_else(Cell::default, |p| {
                    Cell::link(p.id.as_str(), cx.urls.member("hardware_profiles", &p.id))
                }),
            ]
        })
        .collect();
    cx.page(
        "Instances",
        vec![Block::Table(Table {
            columns: vec!["Id", "Name", "State", "Image", "Realm", "Hardware profile"],
            rows,
        })],
    )
}

pub(crate) fn instance(cx: &HtmlCx<'_>, i: &Instance) -> Page {
    let addr = |l: &[deltacloud_core::InstanceAddress]| {
        Cell::text(
            l.iter()
                .map(|a| format!("{} ({})", a.address, view::address_type(a)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    let mut rows = vec![
        ("Id", Cell::text(i.id.as_str())),
        ("Name", Cell::opt(i.name.as_deref())),
        ("Owner", Cell::opt(i.owner_id.as_deref())),
        ("State", Cell::text(i.state.as_str())),
        (
            "Image",
            i.image_id.as_ref().map_or_else(Cell::default, |x| {
                Cell::link(x.as_str(), cx.urls.member("images", x))
            }),
        ),
        (
            "Realm",
            i.realm_id.as_ref().map_or_else(Cell::default, |x| {
                Cell::link(x.as_str(), cx.urls.member("realms", x))
            }),
        ),
    ];
    if let Some(p) = &i.profile {
        let mut text = p.id.to_string();
        let overrides: Vec<String> = view::OVERRIDE_ORDER
            .iter()
            .filter_map(|n| p.overrides.get(n).map(|v| format!("{n}={v}")))
            .collect();
        if !overrides.is_empty() {
            text = format!("{text} ({})", overrides.join(", "));
        }
        rows.push((
            "Hardware profile",
            Cell::link(text, cx.urls.member("hardware_profiles", &p.id)),
        ));
    }
    rows.push(("Launch time", Cell::opt(i.launch_time.as_deref())));
    rows.push(("Public addresses", addr(&i.public_addresses)));
    rows.push(("Private addresses", addr(&i.private_addresses)));
    if let Some(k) = &i.keyname {
        rows.push(("Key", Cell::text(k.as_str())));
    }
    if let Some(e) = &i.authn_error {
        rows.push(("Authentication error", Cell::text(e.as_str())));
    }
    if let Some(f) = &i.firewalls {
        rows.push((
            "Firewalls",
            Cell::links(
                f.iter()
                    .map(|x| (x.as_str(), cx.urls.member("firewalls", x))),
            ),
        ));
    }
    let vols = i
        .storage_volumes
        .iter()
        .flatten()
        .map(|(v, _)| (v.as_str(), cx.urls.member("storage_volumes", v)));
    rows.push(("Storage volumes", Cell::links(vols)));
    if let Some(n) = &i.network_interfaces {
        rows.push((
            "Network interfaces",
            Cell::links(
                n.iter()
                    .map(|x| (x.as_str(), cx.urls.member("network_interfaces", x))),
            ),
        ));
    }
    let buttons = view::instance_actions(cx.urls, i, cx.traits)
        .into_iter()
        // `run` needs a command and `create_image` takes a name: their forms belong to the
        // explorer (linked by `explorer::decorate`), not bare buttons.
        .filter(|a| a.rel != "run" && a.rel != "create_image")
        .map(|a| Button {
            href: a.href.to_string(),
            label: title_case(a.rel),
            delete: a.method == "delete",
        })
        .collect();
    cx.page(
        format!("Instance {}", i.id),
        vec![props(rows), Block::Actions(buttons)],
    )
}

pub(crate) fn run_result(cx: &HtmlCx<'_>, r: &RunResult) -> Page {
    cx.page(
        format!("Command on {}", r.instance_id),
        vec![props(vec![
            (
                "Instance",
                Cell::link(
                    r.instance_id.as_str(),
                    cx.urls.member("instances", &r.instance_id),
                ),
            ),
            ("Address", Cell::opt(r.public_address.as_deref())),
            ("Command", Cell::text(r.command.as_str())),
            ("Output", Cell::pre(&r.output)),
        ])],
    )
}

pub(crate) fn instance_states(cx: &HtmlCx<'_>, m: &StateMachine) -> Page {
    let rows = m
        .states()
        .into_iter()
        .map(|s| {
            let t = m
                .transitions_from(s)
                .map(|t| match t.trigger {
                    Trigger::Action(a) => format!("{a} → {}", t.to.machine_name()),
                    Trigger::Auto => format!("(automatically) → {}", t.to.machine_name()),
                })
                .collect::<Vec<_>>()
                .join(", ");
            vec![Cell::text(s.machine_name()), Cell::text(t)]
        })
        .collect();
    cx.page(
        "Instance states",
        vec![Block::Table(Table {
            columns: vec!["State", "Transitions"],
            rows,
        })],
    )
}

pub(crate) fn keys(cx: &HtmlCx<'_>, list: &[Key]) -> Page {
    let rows = list
        .iter()
        .map(|k| {
            vec![
                Cell::link(k.id.as_str(), cx.urls.member("keys", &k.id)),
                Cell::text(k.name.as_str()),
                Cell::text(k.credential_type.as_str()),
                Cell::opt(k.fingerprint.as_deref()),
            ]
        })
        .collect();
    cx.page(
        "Keys",
        vec![Block::Table(Table {
            columns: vec!["Id", "Name", "Type", "Fingerprint"],
            rows,
        })],
    )
}

pub(crate) fn key(cx: &HtmlCx<'_>, k: &Key) -> Page {
    let mut rows = vec![
        ("Id", Cell::text(k.id.as_str())),
        ("Name", Cell::text(k.name.as_str())),
        ("Type", Cell::text(k.credential_type.as_str())),
        ("Fingerprint", Cell::opt(k.fingerprint.as_deref())),
        ("State", Cell::opt(k.state.as_deref())),
    ];
    if let Some(u) = &k.username {
        rows.push(("User name", Cell::text(u.as_str())));
    }
    if let Some(p) = &k.password {
        rows.push(("Password", Cell::text(p.as_str())));
    }
    if let Some(pem) = &k.pem_rsa_key {
        rows.push(("Private key", Cell::pre(pem)));
    }
    let mut blocks = vec![props(rows)];
    if cx.traits.destroy_key {
        blocks.push(Block::Actions(vec![Button {
            href: cx.urls.member("keys", &k.id).to_string(),
            label: "Destroy".to_owned(),
            delete: true,
        }]));
    }
    cx.page(format!("Key {}", k.id), blocks)
}

pub(crate) fn drivers<'a>(cx: &HtmlCx<'_>, infos: impl Iterator<Item = &'a DriverInfo>) -> Page {
    let rows = infos
        .map(|d| {
            vec![
                Cell::link(d.id.as_str(), cx.urls.member("drivers", &d.id)),
                Cell::text(d.name.as_str()),
                Cell::text(d.provider_ids().join(", ")),
            ]
        })
        .collect();
    cx.page(
        "Drivers",
        vec![Block::Table(Table {
            columns: vec!["Id", "Name", "Providers"],
            rows,
        })],
    )
}

pub(crate) fn driver(cx: &HtmlCx<'_>, d: &DriverInfo, dynamic: Option<&[Provider]>) -> Page {
    let rows = match dynamic {
        Some(list) => list
            .iter()
            .map(|p| {
                vec![
                    Cell::text(p.id.as_str()),
                    Cell::text(p.name.as_str()),
                    Cell::opt(p.url.as_deref()),
                ]
            })
            .collect(),
        None => d
            .entrypoints
            .iter()
            .flat_map(|(kind, list)| {
                list.iter().map(move |(p, url)| {
                    vec![
                        Cell::text(p.as_str()),
                        Cell::text(kind.as_str()),
                        Cell::text(url.as_str()),
                    ]
                })
            })
            .collect(),
    };
    cx.page(
        format!("Driver {}", d.id),
        vec![
            props(vec![
                ("Id", Cell::text(d.id.as_str())),
                ("Name", Cell::text(d.name.as_str())),
            ]),
            Block::Heading("Providers".to_owned()),
            Block::Table(Table {
                columns: vec!["Provider", "Kind", "Endpoint"],
                rows,
            }),
        ],
    )
}

/// The HTML error document (§7.1): `<status> - <reason>`, the message, the request URI and its
/// parameters.
pub(crate) fn error_page(err: &ApiError, scope: &ErrorScope<'_>) -> String {
    let mut rows = vec![
        ("Message", Cell::text(err.message.as_str())),
        ("Request", Cell::text(scope.url)),
        ("Driver", Cell::text(scope.driver)),
        ("Provider", Cell::text(scope.provider.unwrap_or("default"))),
    ];
    for (n, v) in &scope.params {
        rows.push((n, Cell::text(*v)));
    }
    let page = Page {
        title: format!("{} - {}", err.status.as_u16(), reason(err.status)),
        subtitle: None,
        home: scope.base.to_owned(),
        blocks: vec![props(rows)],
    };
    // Rendering a page of plain strings cannot fail short of a bug; degrade to the message.
    page.render().unwrap_or_else(|_| err.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(title_case("hardware_profiles"), "Hardware Profiles");
        assert_eq!(title_case("realms"), "Realms");
        assert_eq!(title_case("create_image"), "Create Image");
    }

    #[test]
    fn pages_escape_text() {
        let urls = Urls::new("http", "h");
        let cx = HtmlCx {
            urls: &urls,
            driver: "mock",
            provider: None,
            traits: Traits {
                auth: None,
                run: false,
                destroy_image: false,
                destroy_key: true,
            },
        };
        let r = Realm {
            id: "us".into(),
            name: "<script>alert(1)</script>".into(),
            state: "AVAILABLE".into(),
            limit: None,
        };
        let html = realm(&cx, &r).render().unwrap();
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("<title>Realm us</title>"));
        assert!(html.contains("mock@default"));
        assert!(
            !html.contains("http-equiv") && !html.contains("<link") && !html.contains("src="),
            "no external resources"
        );
    }
}
