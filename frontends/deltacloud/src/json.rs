//! JSON documents of `/api`, one serde struct per wire shape. Key order is part of the shape
//! (`serde_json` keeps it with `preserve_order`, and struct field order is key order), so the
//! fields below are in the order the original emitted. `null` is emitted, not omitted, unless
//! the spec says a key appears only when known (those fields skip `None`).
//!
//! The JSON shapes differ from the XML ones in ways clients rely on: `owner` instead of
//! `owner_id`, hardware-profile properties as default-value strings, `"provider": "default"` on
//! the entry point, a bare array for instance states, and unwrapped instances after actions.

use crate::error::ApiError;
use crate::view::{self, ActionLink, AuthKind, EntryLink, Href, Text, Traits, Urls};
use deltacloud_core::hardware::HardwareProperty;
use deltacloud_core::registry::DriverInfo;
use deltacloud_core::state::{StateMachine, Trigger};
use deltacloud_core::{
    HardwareProfile, Image, Instance, InstanceAddress, Key, Provider, Realm, RunResult,
};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Serialize `doc` into a byte buffer.
pub(crate) fn render<T: Serialize>(doc: &T) -> Result<Vec<u8>, ApiError> {
    render_sized(doc, 1)
}

/// Serialize a document of `items` resources into a buffer sized for it.
pub(crate) fn render_sized<T: Serialize>(doc: &T, items: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(crate::response::size_hint(items));
    serde_json::to_writer(&mut out, doc)
        .map_err(|e| ApiError::internal(format!("JSON serialization failed: {e}")))?;
    Ok(out)
}

/// `{"<key>": value}`: how single resources and lists are wrapped.
pub(crate) struct Wrap<T>(pub &'static str, pub T);

impl<T: Serialize> Serialize for Wrap<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `{"href", "id", "rel"}` (image and realm of an instance).
#[derive(Serialize)]
struct HrefIdRel<'a> {
    href: Href<'a>,
    id: &'a str,
    rel: &'static str,
}

/// `{"id", "href", "rel"}` (hardware profiles of an image, volumes and firewalls of an instance).
#[derive(Serialize)]
struct IdHrefRel<'a> {
    id: &'a str,
    href: Href<'a>,
    rel: &'static str,
}

#[derive(Serialize)]
struct ActionJson<'a> {
    href: Href<'a>,
    rel: &'static str,
    method: &'static str,
}

impl<'a> From<ActionLink<'a>> for ActionJson<'a> {
    fn from(l: ActionLink<'a>) -> Self {
        Self {
            href: l.href,
            rel: l.rel,
            method: l.method,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point (§5.4)

#[derive(Serialize)]
pub(crate) struct ApiJson<'a> {
    version: &'static str,
    driver: &'a str,
    /// `"default"` when no provider is set (the XML omits the attribute instead).
    provider: &'a str,
    links: Vec<ApiLinkJson<'a>>,
}

#[derive(Serialize)]
struct ApiLinkJson<'a> {
    rel: &'static str,
    href: Href<'a>,
    /// One inner array per feature, one object per operation (a quirk kept for clients).
    features: Vec<[FeatureJson<'a>; 1]>,
}

#[derive(Serialize)]
struct FeatureJson<'a> {
    name: &'static str,
    rel: &'static str,
    params: Vec<Text<ParamSig>>,
    constraints: Constraints<'a>,
}

/// `"<name>:string:optional"`: every feature parameter is an optional string.
struct ParamSig(&'static str);

impl std::fmt::Display for ParamSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:string:optional", self.0)
    }
}

/// `{"max_length": 50}`: integer-looking values as numbers, others as strings.
struct Constraints<'a>(&'a [(String, String)]);

impl Serialize for Constraints<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            match v.parse::<i64>() {
                Ok(n) => m.serialize_entry(k, &n)?,
                Err(_) => m.serialize_entry(k, v)?,
            }
        }
        m.end()
    }
}

impl<'a> ApiJson<'a> {
    pub(crate) fn new(
        urls: &'a Urls,
        driver: &'a str,
        provider: Option<&'a str>,
        links: &'a [EntryLink<'a>],
    ) -> Self {
        Self {
            version: deltacloud_core::API_VERSION,
            driver,
            provider: provider.unwrap_or("default"),
            links: links
                .iter()
                .map(|l| ApiLinkJson {
                    rel: l.rel,
                    href: urls.coll(l.rel),
                    features: l
                        .features
                        .iter()
                        .map(|f| {
                            [FeatureJson {
                                name: f.name,
                                rel: f.rel,
                                params: f.params.iter().map(|p| Text(ParamSig(p))).collect(),
                                constraints: Constraints(f.constraints),
                            }]
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Realms (§8.1)

#[derive(Serialize)]
pub(crate) struct RealmJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: &'a str,
    state: &'a str,
    /// `"unlimited"` or the limit.
    limit: &'a str,
}

impl<'a> RealmJson<'a> {
    pub(crate) fn new(urls: &'a Urls, r: &'a Realm) -> Self {
        Self {
            id: &r.id,
            href: urls.member("realms", &r.id),
            name: &r.name,
            state: &r.state,
            limit: r.limit.as_deref().unwrap_or("unlimited"),
        }
    }

    pub(crate) fn list(urls: &'a Urls, l: &'a [Realm]) -> Vec<Self> {
        l.iter().map(|r| Self::new(urls, r)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Hardware profiles (§8.2)

#[derive(Serialize)]
pub(crate) struct HardwareProfileJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: &'a str,
    /// Absent for opaque profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<PropertyDefaults<'a>>,
}

/// `{"cpu": "1", "memory": "10240", …}`: each property as the string of its default value only.
struct PropertyDefaults<'a>(&'a [HardwareProperty]);

impl Serialize for PropertyDefaults<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for p in self.0 {
            match p.default_value() {
                Some(v) => m.serialize_entry(p.name.as_str(), &Text(v))?,
                None => m.serialize_entry(p.name.as_str(), &())?,
            }
        }
        m.end()
    }
}

impl<'a> HardwareProfileJson<'a> {
    pub(crate) fn new(urls: &'a Urls, p: &'a HardwareProfile) -> Self {
        Self {
            id: &p.id,
            href: urls.member("hardware_profiles", &p.id),
            name: &p.name,
            properties: (!p.is_opaque()).then_some(PropertyDefaults(&p.properties)),
        }
    }

    pub(crate) fn list(urls: &'a Urls, l: &'a [HardwareProfile]) -> Vec<Self> {
        l.iter().map(|p| Self::new(urls, p)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Images (§8.3)

#[derive(Serialize)]
pub(crate) struct ImageJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: &'a str,
    description: &'a str,
    /// `owner`, not `owner_id` (a JSON quirk clients rely on).
    owner: &'a str,
    architecture: &'a str,
    state: Option<&'a str>,
    root_type: &'a str,
    creation_time: Option<&'a str>,
    hardware_profiles: Option<Vec<IdHrefRel<'a>>>,
}

impl<'a> ImageJson<'a> {
    pub(crate) fn new(urls: &'a Urls, i: &'a Image) -> Self {
        Self {
            id: &i.id,
            href: urls.member("images", &i.id),
            name: &i.name,
            description: &i.description,
            owner: &i.owner_id,
            architecture: &i.architecture,
            state: i.state.as_deref(),
            root_type: i
                .root_type
                .as_deref()
                .unwrap_or(crate::xml::DEFAULT_ROOT_TYPE),
            creation_time: i.creation_time.as_deref(),
            hardware_profiles: i.hardware_profiles.as_ref().map(|l| {
                l.iter()
                    .map(|h| IdHrefRel {
                        id: h,
                        href: urls.member("hardware_profiles", h),
                        rel: "hardware_profile",
                    })
                    .collect()
            }),
        }
    }

    pub(crate) fn list(urls: &'a Urls, l: &'a [Image]) -> Vec<Self> {
        l.iter().map(|i| Self::new(urls, i)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Instances (§8.4.2)

#[derive(Serialize)]
pub(crate) struct InstanceJson<'a> {
    id: &'a str,
    href: Href<'a>,
    name: Option<&'a str>,
    state: &'static str,
    owner: Option<&'a str>,
    image: Option<HrefIdRel<'a>>,
    realm: Option<HrefIdRel<'a>>,
    actions: Vec<ActionJson<'a>>,
    hardware_profile: Option<InstanceProfileJson<'a>>,
    public_addresses: Vec<AddressJson<'a>>,
    private_addresses: Vec<AddressJson<'a>>,
    /// The launch time, only when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<&'a str>,
    /// Only when true.
    #[serde(skip_serializing_if = "is_false")]
    create_image: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    firewalls: Option<Vec<IdHrefRel<'a>>>,
    storage_volumes: Vec<IdHrefRel<'a>>,
    /// `"key"`, present iff the driver has `authentication_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<AuthenticationJson<'a>>,
}

#[derive(Serialize)]
struct InstanceProfileJson<'a> {
    id: &'a str,
    href: Href<'a>,
    rel: &'static str,
    properties: Overrides<'a>,
}

/// `{"memory": "12288"}`: overrides as given, in the XML's order.
struct Overrides<'a>(&'a std::collections::BTreeMap<deltacloud_core::PropertyName, String>);

impl Serialize for Overrides<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for name in view::OVERRIDE_ORDER {
            if let Some(v) = self.0.get(&name) {
                m.serialize_entry(name.as_str(), v)?;
            }
        }
        m.end()
    }
}

#[derive(Serialize)]
struct AddressJson<'a> {
    address: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

fn addresses(l: &[InstanceAddress]) -> Vec<AddressJson<'_>> {
    l.iter()
        .map(|a| AddressJson {
            address: &a.address,
            kind: view::address_type(a),
            port: a.port,
        })
        .collect()
}

#[derive(Serialize)]
struct AuthenticationJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    keyname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

impl<'a> InstanceJson<'a> {
    pub(crate) fn new(urls: &'a Urls, inst: &'a Instance, t: Traits) -> Self {
        let id = inst.id.as_str();
        // `{"keyname": k}` when a key name is set, plus user/password for password drivers.
        let pw = t.auth == Some(AuthKind::Password)
            && (inst.username.is_some() || inst.password.is_some());
        let authentication = (inst.keyname.is_some() || pw).then(|| AuthenticationJson {
            keyname: inst.keyname.as_deref(),
            user: pw.then(|| inst.username.as_deref().unwrap_or_default()),
            password: pw.then(|| inst.password.as_deref().unwrap_or_default()),
        });
        Self {
            id,
            href: urls.member("instances", id),
            name: inst.name.as_deref(),
            state: inst.state.as_str(),
            owner: inst.owner_id.as_deref(),
            image: inst.image_id.as_ref().map(|i| HrefIdRel {
                href: urls.member("images", i),
                id: i,
                rel: "image",
            }),
            realm: inst.realm_id.as_ref().map(|r| HrefIdRel {
                href: urls.member("realms", r),
                id: r,
                rel: "realm",
            }),
            actions: view::instance_actions(urls, inst, t)
                .into_iter()
                .map(ActionJson::from)
                .collect(),
            hardware_profile: inst.profile.as_ref().map(|p| InstanceProfileJson {
                id: &p.id,
                href: urls.member("hardware_profiles", &p.id),
                rel: "hardware_profile",
                properties: Overrides(&p.overrides),
            }),
            public_addresses: addresses(&inst.public_addresses),
            private_addresses: addresses(&inst.private_addresses),
            create_time: inst.launch_time.as_deref(),
            create_image: inst.create_image,
            firewalls: inst.firewalls.as_ref().map(|l| {
                l.iter()
                    .map(|f| IdHrefRel {
                        id: f,
                        href: urls.member("firewalls", f),
                        rel: "firewall",
                    })
                    .collect()
            }),
            storage_volumes: inst
                .storage_volumes
                .iter()
                .flatten()
                .map(|(v, _)| IdHrefRel {
                    id: v,
                    href: urls.member("storage_volumes", v),
                    rel: "storage_volume",
                })
                .collect(),
            authentication_type: (t.auth == Some(AuthKind::Key)).then_some("key"),
            authentication,
        }
    }

    pub(crate) fn list(urls: &'a Urls, l: &'a [Instance], t: Traits) -> Vec<Self> {
        l.iter().map(|i| Self::new(urls, i, t)).collect()
    }
}

#[derive(Serialize)]
pub(crate) struct RunJson<'a> {
    id: &'a str,
    public_address: Option<&'a str>,
    command: &'a str,
    output: &'a str,
}

impl<'a> RunJson<'a> {
    pub(crate) fn new(r: &'a RunResult) -> Self {
        Self {
            id: &r.instance_id,
            public_address: r.public_address.as_deref(),
            command: &r.command,
            output: &r.output,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Instance states (§8.5): a bare array

pub(crate) struct StatesJson<'a>(pub &'a StateMachine);

#[derive(Serialize)]
struct StateJson {
    name: &'static str,
    transitions: Vec<TransitionJson>,
}

#[derive(Serialize)]
struct TransitionJson {
    to: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    /// The string `"true"`, as the original sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    auto: Option<&'static str>,
}

impl Serialize for StatesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let states = self.0.states();
        let mut seq = s.serialize_seq(Some(states.len()))?;
        for st in states {
            let transitions = self
                .0
                .transitions_from(st)
                .map(|t| match t.trigger {
                    Trigger::Action(a) => TransitionJson {
                        to: t.to.machine_name(),
                        action: Some(a.as_str()),
                        auto: None,
                    },
                    Trigger::Auto => TransitionJson {
                        to: t.to.machine_name(),
                        action: None,
                        auto: Some("true"),
                    },
                })
                .collect();
            seq.serialize_element(&StateJson {
                name: st.machine_name(),
                transitions,
            })?;
        }
        seq.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Keys (§8.6)

#[derive(Serialize)]
pub(crate) struct KeyJson<'a> {
    id: &'a str,
    href: Href<'a>,
    credential_type: &'static str,
    username: Option<&'a str>,
    password: Option<&'a str>,
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pem_rsa_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<&'a str>,
}

impl<'a> KeyJson<'a> {
    pub(crate) fn new(urls: &'a Urls, k: &'a Key) -> Self {
        Self {
            id: &k.id,
            href: urls.member("keys", &k.id),
            credential_type: k.credential_type.as_str(),
            username: k.username.as_deref(),
            password: k.password.as_deref(),
            state: k.state.as_deref(),
            pem_rsa_key: k.pem_rsa_key.as_deref(),
            fingerprint: k.fingerprint.as_deref(),
        }
    }

    pub(crate) fn list(urls: &'a Urls, l: &'a [Key]) -> Vec<Self> {
        l.iter().map(|k| Self::new(urls, k)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Drivers (§8.15)

/// `{"kind": {"provider": "url"}}`.
struct Entrypoints<'a>(&'a [(String, Vec<(String, String)>)]);

impl Serialize for Entrypoints<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Inner<'a>(&'a [(String, String)]);
        impl Serialize for Inner<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (p, url) in self.0 {
                    m.serialize_entry(p, url)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (kind, list) in self.0 {
            m.serialize_entry(kind, &Inner(list))?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct CatalogueEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoints: Option<Entrypoints<'a>>,
    name: &'a str,
}

/// The list: the raw catalogue keyed by driver id.
pub(crate) struct DriversJson<'a>(pub Vec<&'a DriverInfo>);

impl Serialize for DriversJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for d in &self.0 {
            let entrypoints = (!d.entrypoints.is_empty()).then(|| Entrypoints(&d.entrypoints));
            m.serialize_entry(
                &d.id,
                &CatalogueEntry {
                    entrypoints,
                    name: &d.name,
                },
            )?;
        }
        m.end()
    }
}

#[derive(Serialize)]
pub(crate) struct DriverJson<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoints: Option<DriverEntrypoints<'a>>,
    id: &'a str,
}

enum DriverEntrypoints<'a> {
    Catalogue(Entrypoints<'a>),
    /// `{"<provider name>": {"<provider id>": "url"}}` for dynamic provider lists.
    Dynamic(&'a [Provider]),
}

impl Serialize for DriverEntrypoints<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Catalogue(e) => e.serialize(s),
            Self::Dynamic(list) => {
                let mut m = s.serialize_map(Some(list.len()))?;
                for p in *list {
                    let mut one = serde_json::Map::new();
                    one.insert(
                        p.id.clone(),
                        p.url
                            .clone()
                            .map_or(serde_json::Value::Null, serde_json::Value::String),
                    );
                    m.serialize_entry(&p.name, &one)?;
                }
                m.end()
            }
        }
    }
}

impl<'a> DriverJson<'a> {
    pub(crate) fn with_catalogue(d: &'a DriverInfo) -> Self {
        Self {
            name: &d.name,
            entrypoints: (!d.entrypoints.is_empty())
                .then(|| DriverEntrypoints::Catalogue(Entrypoints(&d.entrypoints))),
            id: &d.id,
        }
    }

    pub(crate) fn with_providers(d: &'a DriverInfo, providers: &'a [Provider]) -> Self {
        Self {
            name: &d.name,
            entrypoints: Some(DriverEntrypoints::Dynamic(providers)),
            id: &d.id,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error document (§7.1)

#[derive(Serialize)]
pub(crate) struct ErrorJson<'a> {
    pub code: u16,
    pub message: &'a str,
    /// The original's exception class name.
    pub error: &'a str,
}
