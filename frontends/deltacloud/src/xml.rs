//! XML documents of `/api`, one serde struct per wire shape in quick-xml's conventions
//! (`#[serde(rename = "@x")]` attributes, `$text` content), serialized straight into one
//! `String` by `xmlser` (byte-identical to quick-xml's serializer, which the tests check).
//!
//! Two differences from the original's Haml output are deliberate and invisible to XML parsers:
//! attributes are quoted with `"` where Haml used `'`, and text the original wrapped in
//! `<![CDATA[…]]>` (messages, PEM keys, passwords) is written as escaped text instead. Empty
//! elements come out as `<x/>`; the spec allows either form. Attributes are declared in
//! alphabetical order, as Haml emitted them.
//!
//! Every optional element carries `skip_serializing_if`, because quick-xml writes `None` as an
//! empty element otherwise.

use crate::error::ApiError;
use crate::view::{self, ActionLink, AuthKind, EntryLink, Href, Text, Traits, Urls};
use deltacloud_core::hardware::{HardwareProperty, PropertyKind, PropertyValue};
use deltacloud_core::registry::DriverInfo;
use deltacloud_core::state::{StateMachine, Trigger};
use deltacloud_core::{
    CredentialType, HardwareProfile, Image, Instance, InstanceAddress, Key, Provider, Realm,
    RunResult,
};
use serde::Serialize;

/// The declaration the original put on top-level documents (not on `/api`, `/api/instance_states`,
/// `/api/drivers*` and `run` output).
pub(crate) const DECLARATION: &str = "<?xml version='1.0' encoding='utf-8' ?>\n";

/// Serialize `doc` into `out`, indented by two spaces, after the XML declaration if `declare`.
/// The writer is `xmlser` (see there for why); its output is byte-identical to quick-xml's.
pub(crate) fn write<T: Serialize>(
    out: &mut String,
    doc: &T,
    declare: bool,
) -> Result<(), ApiError> {
    if declare {
        out.push_str(DECLARATION);
    }
    crate::xmlser::to_string(out, doc)
        .map_err(|e| ApiError::internal(format!("XML serialization failed: {e}")))?;
    out.push('\n');
    Ok(())
}

/// The same document through quick-xml's serializer: the reference the tests hold `write` to.
#[cfg(test)]
pub(crate) fn write_quick_xml<T: Serialize>(
    out: &mut String,
    doc: &T,
    declare: bool,
) -> Result<(), ApiError> {
    if declare {
        out.push_str(DECLARATION);
    }
    let mut ser = quick_xml::se::Serializer::new(&mut *out);
    ser.indent(' ', 2);
    doc.serialize(ser)
        .map_err(|e| ApiError::internal(format!("XML serialization failed: {e}")))?;
    out.push('\n');
    Ok(())
}

/// Render `doc` into a new string.
pub(crate) fn render<T: Serialize>(doc: &T, declare: bool) -> Result<String, ApiError> {
    render_sized(doc, declare, 1)
}

/// Render a document of `items` resources, sizing the buffer so it rarely has to grow (every
/// growth copies the whole document).
pub(crate) fn render_sized<T: Serialize>(
    doc: &T,
    declare: bool,
    items: usize,
) -> Result<String, ApiError> {
    let mut out = String::with_capacity(crate::response::size_hint(items));
    write(&mut out, doc, declare)?;
    Ok(out)
}

fn is_false(b: &bool) -> bool {
    !*b
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// `<x href id/>`: a reference to another resource.
#[derive(Serialize)]
pub(crate) struct Ref<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
}

/// `<link href method rel/>` inside `<actions>`.
#[derive(Serialize)]
pub(crate) struct LinkXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@method")]
    method: &'static str,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

#[derive(Serialize)]
pub(crate) struct Actions<'a> {
    link: Vec<LinkXml<'a>>,
}

impl<'a> Actions<'a> {
    fn new(links: impl IntoIterator<Item = ActionLink<'a>>) -> Self {
        Self {
            link: links
                .into_iter()
                .map(|l| LinkXml {
                    href: l.href,
                    method: l.method,
                    rel: l.rel,
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point (§5.3)

#[derive(Serialize)]
#[serde(rename = "api")]
pub(crate) struct ApiXml<'a> {
    #[serde(rename = "@driver")]
    driver: &'a str,
    #[serde(rename = "@provider", skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(rename = "@version")]
    version: &'static str,
    link: Vec<ApiLinkXml<'a>>,
}

#[derive(Serialize)]
struct ApiLinkXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@rel")]
    rel: &'static str,
    feature: Vec<FeatureXml<'a>>,
}

#[derive(Serialize)]
struct FeatureXml<'a> {
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@rel")]
    rel: &'static str,
    param: Vec<NameOnly<'a>>,
    constraint: Vec<ConstraintXml<'a>>,
}

#[derive(Serialize)]
struct NameOnly<'a> {
    #[serde(rename = "@name")]
    name: &'a str,
}

#[derive(Serialize)]
struct ConstraintXml<'a> {
    #[serde(rename = "@name")]
    name: &'a str,
    #[serde(rename = "$text")]
    value: &'a str,
}

impl<'a> ApiXml<'a> {
    pub(crate) fn new(
        urls: &'a Urls,
        driver: &'a str,
        provider: Option<&'a str>,
        links: &'a [EntryLink<'a>],
    ) -> Self {
        let link = links
            .iter()
            .map(|l| ApiLinkXml {
                href: urls.coll(l.rel),
                rel: l.rel,
                feature: l
                    .features
                    .iter()
                    .map(|f| FeatureXml {
                        name: f.name,
                        rel: f.rel,
                        param: f.params.iter().map(|p| NameOnly { name: p }).collect(),
                        constraint: f
                            .constraints
                            .iter()
                            .map(|(n, v)| ConstraintXml { name: n, value: v })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            driver,
            provider,
            version: deltacloud_core::API_VERSION,
            link,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Realms (§8.1)

#[derive(Serialize)]
#[serde(rename = "realm")]
pub(crate) struct RealmXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    state: &'a str,
    /// Only when limited (`None` means unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
}

impl<'a> RealmXml<'a> {
    pub(crate) fn new(urls: &'a Urls, r: &'a Realm) -> Self {
        Self {
            href: urls.member("realms", &r.id),
            id: &r.id,
            name: &r.name,
            state: &r.state,
            limit: r.limit.as_deref().filter(|l| *l != "unlimited"),
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "realms")]
pub(crate) struct RealmsXml<'a> {
    realm: Vec<RealmXml<'a>>,
}

impl<'a> RealmsXml<'a> {
    pub(crate) fn new(urls: &'a Urls, list: &'a [Realm]) -> Self {
        Self {
            realm: list.iter().map(|r| RealmXml::new(urls, r)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hardware profiles (§8.2)

#[derive(Serialize)]
#[serde(rename = "hardware_profile")]
pub(crate) struct HardwareProfileXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id_attr: &'a str,
    id: &'a str,
    name: &'a str,
    property: Vec<PropertyXml<'a>>,
}

#[derive(Serialize)]
struct PropertyXml<'a> {
    #[serde(rename = "@kind")]
    kind: &'static str,
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@unit", skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    #[serde(rename = "@value", skip_serializing_if = "Option::is_none")]
    value: Option<Text<&'a PropertyValue>>,
    /// How to set the property at instance creation; only for non-fixed properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<ParamXml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<RangeXml<'a>>,
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    enumeration: Option<EnumXml<'a>>,
}

#[derive(Serialize)]
struct ParamXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@method")]
    method: &'static str,
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@operation")]
    operation: &'static str,
}

#[derive(Serialize)]
struct RangeXml<'a> {
    #[serde(rename = "@first")]
    first: Text<&'a PropertyValue>,
    #[serde(rename = "@last")]
    last: Text<&'a PropertyValue>,
}

#[derive(Serialize)]
struct EnumXml<'a> {
    entry: Vec<EntryXml<'a>>,
}

#[derive(Serialize)]
struct EntryXml<'a> {
    #[serde(rename = "@value")]
    value: Text<&'a PropertyValue>,
}

impl<'a> PropertyXml<'a> {
    fn new(urls: &'a Urls, p: &'a HardwareProperty) -> Self {
        let (range, enumeration) = match &p.kind {
            PropertyKind::Fixed(_) => (None, None),
            PropertyKind::Range { first, last, .. } => (
                Some(RangeXml {
                    first: Text(first),
                    last: Text(last),
                }),
                None,
            ),
            PropertyKind::Enum { values, .. } => (
                None,
                Some(EnumXml {
                    entry: values.iter().map(|v| EntryXml { value: Text(v) }).collect(),
                }),
            ),
        };
        Self {
            kind: p.kind.as_str(),
            name: p.name.as_str(),
            unit: p.name.unit(),
            value: p.default_value().map(Text),
            param: p.is_settable().then(|| ParamXml {
                href: urls.coll("instances"),
                method: "post",
                name: p.name.param(),
                operation: "create",
            }),
            range,
            enumeration,
        }
    }
}

impl<'a> HardwareProfileXml<'a> {
    pub(crate) fn new(urls: &'a Urls, p: &'a HardwareProfile) -> Self {
        Self {
            href: urls.member("hardware_profiles", &p.id),
            id_attr: &p.id,
            id: &p.id,
            name: &p.name,
            property: p
                .properties
                .iter()
                .map(|x| PropertyXml::new(urls, x))
                .collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "hardware_profiles")]
pub(crate) struct HardwareProfilesXml<'a> {
    hardware_profile: Vec<HardwareProfileXml<'a>>,
}

impl<'a> HardwareProfilesXml<'a> {
    pub(crate) fn new(urls: &'a Urls, list: &'a [HardwareProfile]) -> Self {
        Self {
            hardware_profile: list
                .iter()
                .map(|p| HardwareProfileXml::new(urls, p))
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Images (§8.3)

#[derive(Serialize)]
#[serde(rename = "image")]
pub(crate) struct ImageXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    description: &'a str,
    owner_id: &'a str,
    architecture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hardware_profiles: Option<ImageProfilesXml<'a>>,
    root_type: &'a str,
    actions: Actions<'a>,
}

#[derive(Serialize)]
struct ImageProfilesXml<'a> {
    hardware_profile: Vec<RelRef<'a>>,
}

/// `<x href id rel/>`.
#[derive(Serialize)]
struct RelRef<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@rel")]
    rel: &'static str,
}

/// `root_type` when the driver does not say: the original's default.
pub(crate) const DEFAULT_ROOT_TYPE: &str = "transient";

impl<'a> ImageXml<'a> {
    pub(crate) fn new(urls: &'a Urls, img: &'a Image, t: Traits) -> Self {
        let id = img.id.as_str();
        let mut links = vec![ActionLink {
            rel: "create_instance",
            method: "post",
            href: urls.coll_matrix("instances", "image_id", id),
        }];
        if t.destroy_image {
            links.push(ActionLink {
                rel: "destroy_image",
                method: "delete",
                href: urls.member("images", id),
            });
        }
        Self {
            href: urls.member("images", id),
            id,
            name: &img.name,
            description: &img.description,
            owner_id: &img.owner_id,
            architecture: &img.architecture,
            state: img.state.as_deref(),
            creation_time: img.creation_time.as_deref(),
            hardware_profiles: img.hardware_profiles.as_ref().map(|l| ImageProfilesXml {
                hardware_profile: l
                    .iter()
                    .map(|h| RelRef {
                        href: urls.member("hardware_profiles", h),
                        id: h,
                        rel: "hardware_profile",
                    })
                    .collect(),
            }),
            root_type: img.root_type.as_deref().unwrap_or(DEFAULT_ROOT_TYPE),
            actions: Actions::new(links),
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "images")]
pub(crate) struct ImagesXml<'a> {
    image: Vec<ImageXml<'a>>,
}

impl<'a> ImagesXml<'a> {
    pub(crate) fn new(urls: &'a Urls, list: &'a [Image], t: Traits) -> Self {
        Self {
            image: list.iter().map(|i| ImageXml::new(urls, i, t)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Instances (§8.4.2), elements in the original's order

#[derive(Serialize)]
#[serde(rename = "instance")]
pub(crate) struct InstanceXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    realm: Option<Ref<'a>>,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hardware_profile: Option<InstanceProfileXml<'a>>,
    actions: Actions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_time: Option<&'a str>,
    public_addresses: AddressesXml<'a>,
    private_addresses: AddressesXml<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    firewalls: Option<FirewallsXml<'a>>,
    storage_volumes: VolumesXml<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<AuthenticationXml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_interfaces: Option<NicsXml<'a>>,
}

#[derive(Serialize)]
struct InstanceProfileXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    property: Vec<OverrideXml<'a>>,
}

/// A per-instance override, shown as a fixed property.
#[derive(Serialize)]
struct OverrideXml<'a> {
    #[serde(rename = "@kind")]
    kind: &'static str,
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@unit", skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    #[serde(rename = "@value")]
    value: &'a str,
}

#[derive(Serialize)]
struct AddressesXml<'a> {
    address: Vec<AddressXml<'a>>,
}

#[derive(Serialize)]
struct AddressXml<'a> {
    #[serde(rename = "@port", skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "$text")]
    address: &'a str,
}

impl<'a> AddressesXml<'a> {
    fn new(list: &'a [InstanceAddress]) -> Self {
        Self {
            address: list
                .iter()
                .map(|a| AddressXml {
                    port: a.port,
                    kind: view::address_type(a),
                    address: &a.address,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct FirewallsXml<'a> {
    firewall: Vec<Ref<'a>>,
}

#[derive(Serialize)]
struct VolumesXml<'a> {
    storage_volume: Vec<VolumeRefXml<'a>>,
}

#[derive(Serialize)]
struct VolumeRefXml<'a> {
    #[serde(rename = "@device")]
    device: &'a str,
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
}

#[derive(Serialize)]
struct NicsXml<'a> {
    network_interface: Vec<Ref<'a>>,
}

#[derive(Serialize)]
struct AuthenticationXml<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    login: Vec<LoginXml<'a>>,
}

#[derive(Serialize)]
struct LoginXml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyname: Option<&'a str>,
}

impl<'a> AuthenticationXml<'a> {
    /// `error` if the driver reported an authentication error; otherwise a `login` with user
    /// name and password if a password is known, and a `login` with the key name if one is set
    /// (even empty, as mock inst3 shows).
    fn new(kind: AuthKind, inst: &'a Instance) -> Self {
        let mut login = Vec::new();
        if inst.authn_error.is_none() {
            if let Some(p) = inst.password.as_deref() {
                login.push(LoginXml {
                    username: Some(inst.username.as_deref().unwrap_or_default()),
                    password: Some(p),
                    keyname: None,
                });
            }
            if let Some(k) = inst.keyname.as_deref() {
                login.push(LoginXml {
                    username: None,
                    password: None,
                    keyname: Some(k),
                });
            }
        }
        Self {
            kind: kind.as_str(),
            error: inst.authn_error.as_deref(),
            login,
        }
    }
}

impl<'a> InstanceXml<'a> {
    pub(crate) fn new(urls: &'a Urls, inst: &'a Instance, t: Traits) -> Self {
        let id = inst.id.as_str();
        Self {
            href: urls.member("instances", id),
            id,
            name: inst.name.as_deref(),
            owner_id: inst.owner_id.as_deref(),
            image: inst.image_id.as_ref().map(|i| Ref {
                href: urls.member("images", i),
                id: i,
            }),
            realm: inst.realm_id.as_ref().map(|r| Ref {
                href: urls.member("realms", r),
                id: r,
            }),
            state: inst.state.as_str(),
            hardware_profile: inst.profile.as_ref().map(|p| InstanceProfileXml {
                href: urls.member("hardware_profiles", &p.id),
                id: &p.id,
                property: view::OVERRIDE_ORDER
                    .iter()
                    .filter_map(|name| {
                        p.overrides.get(name).map(|v| OverrideXml {
                            kind: "fixed",
                            name: name.as_str(),
                            unit: name.unit(),
                            value: v,
                        })
                    })
                    .collect(),
            }),
            actions: Actions::new(view::instance_actions(urls, inst, t)),
            launch_time: inst.launch_time.as_deref(),
            public_addresses: AddressesXml::new(&inst.public_addresses),
            private_addresses: AddressesXml::new(&inst.private_addresses),
            firewalls: inst.firewalls.as_ref().map(|l| FirewallsXml {
                firewall: l
                    .iter()
                    .map(|f| Ref {
                        href: urls.member("firewalls", f),
                        id: f,
                    })
                    .collect(),
            }),
            storage_volumes: VolumesXml {
                storage_volume: inst
                    .storage_volumes
                    .iter()
                    .flatten()
                    .map(|(v, d)| VolumeRefXml {
                        device: d,
                        href: urls.member("storage_volumes", v),
                        id: v,
                    })
                    .collect(),
            },
            authentication: t.auth.map(|k| AuthenticationXml::new(k, inst)),
            network_interfaces: inst.network_interfaces.as_ref().map(|l| NicsXml {
                network_interface: l
                    .iter()
                    .map(|n| Ref {
                        href: urls.member("network_interfaces", n),
                        id: n,
                    })
                    .collect(),
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "instances")]
pub(crate) struct InstancesXml<'a> {
    instance: Vec<InstanceXml<'a>>,
}

impl<'a> InstancesXml<'a> {
    pub(crate) fn new(urls: &'a Urls, list: &'a [Instance], t: Traits) -> Self {
        Self {
            instance: list.iter().map(|i| InstanceXml::new(urls, i, t)).collect(),
        }
    }
}

/// Output of `POST /api/instances/:id/run` (§8.4.5).
#[derive(Serialize)]
#[serde(rename = "instance")]
pub(crate) struct RunXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_address: Option<&'a str>,
    command: &'a str,
    output: &'a str,
}

impl<'a> RunXml<'a> {
    pub(crate) fn new(urls: &'a Urls, r: &'a RunResult) -> Self {
        Self {
            href: urls.member("instances", &r.instance_id),
            id: &r.instance_id,
            public_address: r.public_address.as_deref(),
            command: &r.command,
            output: &r.output,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Instance states (§8.5)

#[derive(Serialize)]
#[serde(rename = "states")]
pub(crate) struct StatesXml {
    state: Vec<StateXml>,
}

#[derive(Serialize)]
struct StateXml {
    #[serde(rename = "@name")]
    name: &'static str,
    transition: Vec<TransitionXml>,
}

#[derive(Serialize)]
struct TransitionXml {
    #[serde(rename = "@action", skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(rename = "@auto", skip_serializing_if = "is_false")]
    auto: bool,
    #[serde(rename = "@to")]
    to: &'static str,
}

impl StatesXml {
    pub(crate) fn new(m: &StateMachine) -> Self {
        Self {
            state: m
                .states()
                .into_iter()
                .map(|s| StateXml {
                    name: s.machine_name(),
                    transition: m
                        .transitions_from(s)
                        .map(|t| match t.trigger {
                            Trigger::Action(a) => TransitionXml {
                                action: Some(a.as_str()),
                                auto: false,
                                to: t.to.machine_name(),
                            },
                            Trigger::Auto => TransitionXml {
                                action: None,
                                auto: true,
                                to: t.to.machine_name(),
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys (§8.6)

#[derive(Serialize)]
#[serde(rename = "key")]
pub(crate) struct KeyXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    actions: Actions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pem: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    state: &'a str,
}

impl<'a> KeyXml<'a> {
    pub(crate) fn new(urls: &'a Urls, k: &'a Key, t: Traits) -> Self {
        let id = k.id.as_str();
        let mut links = Vec::new();
        if t.destroy_key {
            links.push(ActionLink {
                rel: "destroy",
                method: "delete",
                href: urls.member("keys", id),
            });
        }
        let is_key = k.credential_type == CredentialType::Key;
        Self {
            href: urls.member("keys", id),
            id,
            kind: k.credential_type.as_str(),
            name: &k.name,
            actions: Actions::new(links),
            fingerprint: k.fingerprint.as_deref().filter(|_| is_key),
            pem: k.pem_rsa_key.as_deref().filter(|_| is_key),
            username: (!is_key).then(|| k.username.as_deref().unwrap_or_default()),
            password: (!is_key).then(|| k.password.as_deref().unwrap_or_default()),
            state: k.state.as_deref().unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "keys")]
pub(crate) struct KeysXml<'a> {
    key: Vec<KeyXml<'a>>,
}

impl<'a> KeysXml<'a> {
    pub(crate) fn new(urls: &'a Urls, list: &'a [Key], t: Traits) -> Self {
        Self {
            key: list.iter().map(|k| KeyXml::new(urls, k, t)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Drivers (§8.15)

#[derive(Serialize)]
#[serde(rename = "drivers")]
pub(crate) struct DriversXml<'a> {
    driver: Vec<DriverXml<'a>>,
}

#[derive(Serialize)]
#[serde(rename = "driver")]
pub(crate) struct DriverXml<'a> {
    #[serde(rename = "@href")]
    href: Href<'a>,
    #[serde(rename = "@id")]
    id: &'a str,
    name: &'a str,
    provider: Vec<ProviderXml<'a>>,
}

#[derive(Serialize)]
struct ProviderXml<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    entrypoint: Vec<EntrypointXml<'a>>,
}

#[derive(Serialize)]
struct EntrypointXml<'a> {
    #[serde(rename = "@kind")]
    kind: &'a str,
    #[serde(rename = "$text")]
    url: &'a str,
}

impl<'a> DriversXml<'a> {
    pub(crate) fn new(urls: &'a Urls, infos: impl Iterator<Item = &'a DriverInfo>) -> Self {
        Self {
            driver: infos
                .map(|d| DriverXml {
                    href: urls.member("drivers", &d.id),
                    id: &d.id,
                    name: &d.name,
                    provider: d
                        .provider_ids()
                        .into_iter()
                        .map(|id| ProviderXml {
                            id,
                            entrypoint: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl<'a> DriverXml<'a> {
    /// The static catalogue entry: per provider, its endpoint of each kind.
    pub(crate) fn with_catalogue(urls: &'a Urls, d: &'a DriverInfo) -> Self {
        let provider = d
            .provider_ids()
            .into_iter()
            .map(|pid| ProviderXml {
                id: pid,
                entrypoint: d
                    .entrypoints
                    .iter()
                    .filter_map(|(kind, list)| {
                        list.iter()
                            .find(|(p, _)| p == pid)
                            .map(|(_, url)| EntrypointXml { kind, url })
                    })
                    .collect(),
            })
            .collect();
        Self {
            href: urls.member("drivers", &d.id),
            id: &d.id,
            name: &d.name,
            provider,
        }
    }

    /// The current driver's dynamic provider list (regions, data centres).
    pub(crate) fn with_providers(
        urls: &'a Urls,
        d: &'a DriverInfo,
        providers: &'a [Provider],
    ) -> Self {
        let provider = providers
            .iter()
            .map(|p| ProviderXml {
                id: &p.id,
                entrypoint: p
                    .url
                    .iter()
                    .map(|u| EntrypointXml {
                        kind: &p.name,
                        url: u,
                    })
                    .collect(),
            })
            .collect();
        Self {
            href: urls.member("drivers", &d.id),
            id: &d.id,
            name: &d.name,
            provider,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error document (§7.1)

#[derive(Serialize)]
#[serde(rename = "error")]
pub(crate) struct ErrorXml<'a> {
    #[serde(rename = "@status")]
    status: u16,
    #[serde(rename = "@url")]
    url: &'a str,
    backend: BackendXml<'a>,
    code: u16,
    message: &'a str,
    backtrace: &'a str,
    request: RequestXml<'a>,
}

#[derive(Serialize)]
struct BackendXml<'a> {
    #[serde(rename = "@driver")]
    driver: &'a str,
    #[serde(rename = "@provider")]
    provider: &'a str,
}

#[derive(Serialize)]
struct RequestXml<'a> {
    param: Vec<ParamValueXml<'a>>,
}

#[derive(Serialize)]
struct ParamValueXml<'a> {
    #[serde(rename = "@name")]
    name: &'a str,
    /// The value in Ruby `inspect` form (`"foo"`), as the original showed it.
    #[serde(rename = "$text")]
    value: Text<Inspect<'a>>,
}

/// A string as Ruby's `String#inspect` prints it: double-quoted, with `"`, `\` and control
/// characters escaped.
pub(crate) struct Inspect<'a>(pub &'a str);

impl std::fmt::Display for Inspect<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{:04X}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

impl<'a> ErrorXml<'a> {
    pub(crate) fn new(
        status: u16,
        url: &'a str,
        driver: &'a str,
        provider: &'a str,
        message: &'a str,
        params: &'a [(&'a str, &'a str)],
    ) -> Self {
        Self {
            status,
            url,
            backend: BackendXml { driver, provider },
            code: status,
            message,
            backtrace: "",
            request: RequestXml {
                param: params
                    .iter()
                    .map(|(n, v)| ParamValueXml {
                        name: n,
                        value: Text(Inspect(v)),
                    })
                    .collect(),
            },
        }
    }
}
