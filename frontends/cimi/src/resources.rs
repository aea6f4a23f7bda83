//! CIMI resources built from core types (`cimi.md` §5), in their JSON form (lowerCamelCase
//! attributes in the spec's order). The XML form is derived from these by `xml.rs`.

use crate::store::{Entity, JobRow, Overlay};
use deltacloud_core::{
    Address, AddressTemplate, CimiCommon, ComponentTemplate, ForwardingGroupTemplate,
    HardwareProfile, Image, Instance, InstanceAction, InstanceState, Key, NetworkConfiguration,
    NetworkPort, NetworkPortConfiguration, NetworkPortTemplate, NetworkTemplate, PropertyName,
    PropertyValue, StorageSnapshot, StorageVolume, Subnet, System, SystemComponent,
    SystemComponentKind, SystemTemplate,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The namespace prefix of every `resourceURI`.
pub const SCHEMA: &str = "http://schemas.dmtf.org/cimi/1/";
/// Prefix of action `rel` URIs.
pub const ACTION: &str = "http://schemas.dmtf.org/cimi/1/action/";

/// A collection: URL segment, resource type and the JSON key of its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coll {
    pub path: &'static str,
    pub ty: &'static str,
    pub key: &'static str,
}

macro_rules! colls {
    ($($c:ident = $path:literal, $ty:literal, $key:literal;)*) => {
        $(pub const $c: Coll = Coll { path: $path, ty: $ty, key: $key };)*
        /// Every collection this frontend serves.
        pub const ALL: &[Coll] = &[$($c),*];
    };
}

colls! {
    MACHINES = "machines", "Machine", "machines";
    MACHINE_CONFIGS = "machine_configurations", "MachineConfiguration", "machineConfigurations";
    MACHINE_IMAGES = "machine_images", "MachineImage", "machineImages";
    MACHINE_TEMPLATES = "machine_templates", "MachineTemplate", "machineTemplates";
    CREDENTIALS = "credentials", "Credential", "credentials";
    VOLUMES = "volumes", "Volume", "volumes";
    VOLUME_CONFIGS = "volume_configurations", "VolumeConfiguration", "volumeConfigurations";
    VOLUME_IMAGES = "volume_images", "VolumeImage", "volumeImages";
    VOLUME_TEMPLATES = "volume_templates", "VolumeTemplate", "volumeTemplates";
    NETWORKS = "networks", "Network", "networks";
    ADDRESSES = "addresses", "Address", "addresses";
    ADDRESS_TEMPLATES = "address_templates", "AddressTemplate", "addressTemplates";
    FORWARDING_GROUPS = "forwarding_groups", "ForwardingGroup", "forwardingGroups";
    FORWARDING_GROUP_TEMPLATES = "forwarding_group_templates", "ForwardingGroupTemplate", "forwardingGroupTemplates";
    NETWORK_PORTS = "network_ports", "NetworkPort", "networkPorts";
    NETWORK_CONFIGS = "network_configurations", "NetworkConfiguration", "networkConfigurations";
    NETWORK_TEMPLATES = "network_templates", "NetworkTemplate", "networkTemplates";
    NETWORK_PORT_CONFIGS = "network_port_configurations", "NetworkPortConfiguration", "networkPortConfigurations";
    NETWORK_PORT_TEMPLATES = "network_port_templates", "NetworkPortTemplate", "networkPortTemplates";
    SYSTEMS = "systems", "System", "systems";
    SYSTEM_TEMPLATES = "system_templates", "SystemTemplate", "systemTemplates";
    JOBS = "jobs", "Job", "jobs";
    RESOURCE_METADATA = "resource_metadata", "ResourceMetadata", "resourceMetadata";
    DISKS = "disks", "Disk", "disks";
    MACHINE_VOLUMES = "volumes", "MachineVolume", "machineVolumes";
}

/// A system's sub-collections (`cimi.md` §5.15): the member kind, the collection (its path
/// below the system, member type and entries key), the system's attribute linking to it, and
/// the member's attribute referring to the linked resource.
pub const SYSTEM_MEMBERS: &[(SystemComponentKind, Coll, &str, &str)] = {
    use SystemComponentKind as K;
    const fn c(path: &'static str, ty: &'static str, key: &'static str) -> Coll {
        Coll { path, ty, key }
    }
    &[
        (
            K::System,
            c("systems", "SystemSystem", "systemSystems"),
            "systems",
            "system",
        ),
        (
            K::Machine,
            c("machines", "SystemMachine", "systemMachines"),
            "machines",
            "machine",
        ),
        (
            K::Credential,
            c("credentials", "SystemCredential", "systemCredentials"),
            "credentials",
            "credential",
        ),
        (
            K::Volume,
            c("volumes", "SystemVolume", "systemVolumes"),
            "volumes",
            "volume",
        ),
        (
            K::Network,
            c("networks", "SystemNetwork", "systemNetworks"),
            "networks",
            "network",
        ),
        (
            K::NetworkPort,
            c("network_ports", "SystemNetworkPort", "systemNetworkPorts"),
            "networkPorts",
            "networkPort",
        ),
        (
            K::Address,
            c("addresses", "SystemAddress", "systemAddresses"),
            "addresses",
            "address",
        ),
        (
            K::ForwardingGroup,
            c(
                "forwarding_groups",
                "SystemForwardingGroup",
                "systemForwardingGroups",
            ),
            "forwardingGroups",
            "forwardingGroup",
        ),
    ]
};

/// The top-level collection a system member kind links into.
#[must_use]
pub const fn member_target(k: SystemComponentKind) -> Coll {
    use SystemComponentKind as K;
    match k {
        K::System => SYSTEMS,
        K::Machine => MACHINES,
        K::Credential => CREDENTIALS,
        K::Volume => VOLUMES,
        K::Network => NETWORKS,
        K::NetworkPort => NETWORK_PORTS,
        K::Address => ADDRESSES,
        K::ForwardingGroup => FORWARDING_GROUPS,
    }
}

/// The element name of a collection's entries, by the entries' JSON key.
#[must_use]
pub fn entry_type(key: &str) -> Option<&'static str> {
    ALL.iter()
        .chain(SYSTEM_MEMBERS.iter().map(|m| &m.1))
        .find(|c| c.key == key)
        .map(|c| c.ty)
}

/// The collection served at `/cimi/<path>`.
#[must_use]
pub fn by_path(path: &str) -> Option<Coll> {
    ALL.iter()
        .copied()
        .filter(|c| c.ty != "Disk" && c.ty != "MachineVolume")
        .find(|c| c.path == path)
}

/// Timestamps as ISO 8601 with a numeric offset (`2012-10-25T14:27:53+02:00`), the original's
/// `Time#xmlschema` form.
#[must_use]
pub fn xmlschema(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(&f).unwrap_or_default()
}

/// Now, in UTC.
#[must_use]
pub fn now() -> String {
    xmlschema(OffsetDateTime::now_utc())
}

/// Offsets of the zone abbreviations the mock's and providers' Ruby-style dates use. The
/// original's parser ignored unknown abbreviations such as `CEST` (`cimi.md` §5.3); we honour
/// them.
fn zone_offset(z: &str) -> Option<i8> {
    Some(match z {
        "UTC" | "GMT" | "Z" => 0,
        "CET" | "BST" | "WAT" => 1,
        "CEST" | "EET" | "CAT" | "SAST" => 2,
        "EEST" | "MSK" => 3,
        "EST" => -5,
        "EDT" => -4,
        "CDT" => -5,
        "CST" => -6,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => return None,
    })
}

/// Convert a backend timestamp (RFC 3339 or Ruby's `Thu Oct 25 14:27:53 CEST 2012`) to the
/// xmlschema form; `None` if it cannot be read.
#[must_use]
pub fn iso(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(xmlschema(t));
    }
    let parts: Vec<&str> = s.split_whitespace().collect();
    if let [_, mon, day, hms, zone, year] = parts.as_slice() {
        let month = match *mon {
            "Jan" => time::Month::January,
            "Feb" => time::Month::February,
            "Mar" => time::Month::March,
            "Apr" => time::Month::April,
            "May" => time::Month::May,
            "Jun" => time::Month::June,
            "Jul" => time::Month::July,
            "Aug" => time::Month::August,
            "Sep" => time::Month::September,
            "Oct" => time::Month::October,
            "Nov" => time::Month::November,
            "Dec" => time::Month::December,
            _ => return None,
        };
        let date =
            time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()?;
        let mut hms = hms.split(':').map(str::parse::<u8>);
        let (h, m, sec) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
        let t = time::Time::from_hms(h, m, sec).ok()?;
        let off = time::UtcOffset::from_hms(zone_offset(zone)?, 0, 0).ok()?;
        return Some(xmlschema(
            time::PrimitiveDateTime::new(date, t).assume_offset(off),
        ));
    }
    None
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

fn op(rel: &str, href: &str) -> Value {
    json!({ "rel": rel, "href": href })
}

/// The attributes every resource starts with.
fn common(
    id: &str,
    name: &str,
    description: &str,
    created: &str,
    props: &std::collections::BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(name));
    m.insert("description".into(), json!(description));
    m.insert("created".into(), json!(created));
    m.insert("updated".into(), json!(created));
    m.insert("properties".into(), json!(props));
    m
}

/// Apply the client-given attributes kept in the database over a driver resource.
fn overlay(m: &mut Map<String, Value>, o: Option<&Overlay>) {
    let Some(o) = o else { return };
    if let Some(n) = &o.name {
        m.insert("name".into(), json!(n));
    }
    if let Some(d) = &o.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(Value::Object(p)) = m.get_mut("properties") {
        for (k, v) in &o.properties {
            p.insert(k.clone(), json!(v));
        }
    }
}

/// URL builder for one request (`<scheme>://<host>`).
#[derive(Clone, Debug)]
pub struct Urls {
    pub base: String,
}

impl Urls {
    #[must_use]
    pub fn cimi(&self, path: &str) -> String {
        format!("{}/cimi/{path}", self.base)
    }
    #[must_use]
    pub fn of(&self, c: Coll, id: &str) -> String {
        format!("{}/cimi/{}/{id}", self.base, c.path)
    }
}

fn integer_part(v: &PropertyValue) -> String {
    match v {
        PropertyValue::Int(i) => i.to_string(),
        PropertyValue::Float(f) => format!("{}", f.trunc()),
        PropertyValue::Text(t) => t.split('.').next().unwrap_or(t).to_owned(),
    }
}

fn number(v: &PropertyValue) -> Option<f64> {
    match v {
        #[allow(clippy::cast_precision_loss)]
        PropertyValue::Int(i) => Some(*i as f64),
        PropertyValue::Float(f) => Some(*f),
        PropertyValue::Text(t) => t.trim().parse().ok(),
    }
}

fn default_of(p: &HardwareProfile, n: PropertyName) -> Option<&PropertyValue> {
    p.property(n).and_then(|x| x.default_value())
}

/// `x` KiB per unit (MB ⇒ KiB is 1024, GB ⇒ KiB is 1048576), rounded down.
#[allow(clippy::cast_possible_truncation)]
fn kib(x: f64, factor: f64) -> i64 {
    (x * factor).floor() as i64
}

/// MachineConfiguration ← hardware profile; `None` for opaque profiles (not listed).
#[must_use]
pub fn machine_config(u: &Urls, p: &HardwareProfile, now: &str) -> Option<Map<String, Value>> {
    let cpu = default_of(p, PropertyName::Cpu)?;
    let mem = default_of(p, PropertyName::Memory).and_then(number)?;
    let storage = default_of(p, PropertyName::Storage).and_then(number);
    let memory = kib(mem, 1024.0);
    let cpu = integer_part(cpu);
    let mut m = common(
        &u.of(MACHINE_CONFIGS, &p.id),
        &p.name,
        &format!("Machine Configuration with {memory} KiB of memory and {cpu} CPU"),
        now,
        &Default::default(),
    );
    m.insert("cpu".into(), json!(cpu));
    m.insert("memory".into(), json!(memory));
    if let Some(s) = storage {
        m.insert(
            "disks".into(),
            json!([{ "capacity": kib(s, 1_048_576.0), "format": "unknown" }]),
        );
    }
    m.insert("operations".into(), json!([]));
    Some(m)
}

/// The CIMI name of an instance state.
#[must_use]
pub fn machine_state(s: InstanceState) -> &'static str {
    match s {
        InstanceState::Running => "STARTED",
        InstanceState::Pending | InstanceState::Start => "CREATING",
        other => other.as_str(),
    }
}

/// A state in which the backend is still moving the machine.
#[must_use]
pub fn transitional(s: InstanceState) -> bool {
    matches!(
        s,
        InstanceState::Pending
            | InstanceState::Start
            | InstanceState::Stopping
            | InstanceState::ShuttingDown
    )
}

fn profile_value(
    inst: &Instance,
    profiles: &[HardwareProfile],
    n: PropertyName,
) -> Option<PropertyValue> {
    let ip = inst.profile.as_ref()?;
    if let Some(o) = ip.overrides.get(&n) {
        return Some(PropertyValue::Text(o.clone()));
    }
    profiles
        .iter()
        .find(|p| p.id == ip.id)
        .and_then(|p| default_of(p, n))
        .cloned()
}

/// Machine ← instance (`cimi.md` §5.1). `can_capture` says whether the driver can create images.
#[must_use]
pub fn machine(
    u: &Urls,
    inst: &Instance,
    profiles: &[HardwareProfile],
    can_capture: bool,
    ov: Option<&Overlay>,
    now: &str,
) -> Map<String, Value> {
    let id = u.of(MACHINES, &inst.id);
    let name = inst.name.clone().unwrap_or_else(|| inst.id.to_string());
    let created = inst
        .launch_time
        .as_deref()
        .and_then(iso)
        .unwrap_or_else(|| now.to_owned());
    let mut m = common(
        &id,
        &name,
        &format!("No description set for Machine {name}"),
        &created,
        &Default::default(),
    );
    if let Some(o) = ov {
        m.insert("updated".into(), json!(o.created));
    }
    overlay(&mut m, ov);
    if let Some(r) = &inst.realm_id {
        m.insert("realm".into(), json!(r));
    }
    if let Some(i) = &inst.image_id {
        m.insert("machineImage".into(), href(u.of(MACHINE_IMAGES, i)));
    }
    m.insert("state".into(), json!(machine_state(inst.state)));
    let cpu = profile_value(inst, profiles, PropertyName::Cpu);
    let mem = profile_value(inst, profiles, PropertyName::Memory);
    match (cpu, mem) {
        (Some(c), Some(mm)) => {
            m.insert("cpu".into(), json!(integer_part(&c)));
            match number(&mm) {
                Some(x) => m.insert("memory".into(), json!(kib(x, 1024.0))),
                None => m.insert("memory".into(), json!("n/a")),
            };
        }
        _ => {
            m.insert("cpu".into(), json!("n/a"));
            m.insert("memory".into(), json!("n/a"));
        }
    }
    m.insert("disks".into(), href(format!("{id}/disks")));
    m.insert("volumes".into(), href(format!("{id}/volumes")));
    let mut ops = Vec::new();
    for a in &inst.actions {
        match a {
            InstanceAction::Reboot => {
                ops.push(op(&format!("{ACTION}restart"), &format!("{id}/restart")))
            }
            InstanceAction::Stop => ops.push(op(&format!("{ACTION}stop"), &format!("{id}/stop"))),
            InstanceAction::Start => {
                ops.push(op(&format!("{ACTION}start"), &format!("{id}/start")))
            }
            InstanceAction::Destroy => ops.push(op(&format!("{ACTION}delete"), &id)),
            InstanceAction::Create => {}
        }
    }
    if inst.create_image && can_capture {
        ops.push(op(
            &format!("{ACTION}capture"),
            &u.cimi(MACHINE_IMAGES.path),
        ));
    }
    m.insert("operations".into(), Value::Array(ops));
    m
}

/// The one Disk of a machine (`cimi.md` §5.1): capacity = storage GB × 1048576 KiB.
#[must_use]
pub fn disks(
    u: &Urls,
    inst: &Instance,
    profiles: &[HardwareProfile],
    created: &str,
) -> Vec<Map<String, Value>> {
    let Some(gb) = profile_value(inst, profiles, PropertyName::Storage)
        .as_ref()
        .and_then(number)
    else {
        return Vec::new();
    };
    let cap = kib(gb, 1_048_576.0);
    let name = format!("{}_disk_{cap}", inst.id);
    let mut m = common(
        &format!("{}/disks/{name}", u.of(MACHINES, &inst.id)),
        &name,
        &format!("Disk for Machine {}", inst.id),
        created,
        &Default::default(),
    );
    m.insert("capacity".into(), json!(cap));
    m.insert("operations".into(), json!([]));
    vec![m]
}

/// MachineVolume: a volume attached to a machine.
#[must_use]
pub fn machine_volume(u: &Urls, machine: &str, v: &StorageVolume, now: &str) -> Map<String, Value> {
    let id = format!("{}/volumes/{}", u.of(MACHINES, machine), v.id);
    let mut m = common(
        &id,
        v.name.as_deref().unwrap_or(&v.id),
        &format!("MachineVolume {} for Machine {machine}", v.id),
        v.created.as_deref().and_then(iso).as_deref().unwrap_or(now),
        &Default::default(),
    );
    if let Some(d) = &v.device {
        m.insert("initialLocation".into(), json!(d));
    }
    m.insert("volume".into(), href(u.of(VOLUMES, &v.id)));
    m.insert("operations".into(), json!([op("delete", &id)]));
    m
}

#[must_use]
pub fn machine_image(u: &Urls, i: &Image, ov: Option<&Overlay>, now: &str) -> Map<String, Value> {
    let created = i
        .creation_time
        .as_deref()
        .and_then(iso)
        .unwrap_or_else(|| now.to_owned());
    let mut m = common(
        &u.of(MACHINE_IMAGES, &i.id),
        &i.name,
        &i.description,
        &created,
        &Default::default(),
    );
    overlay(&mut m, ov);
    m.insert(
        "state".into(),
        json!(i.state.as_deref().unwrap_or("UNKNOWN")),
    );
    m.insert("type".into(), json!("IMAGE"));
    m.insert("operations".into(), json!([]));
    m
}

#[must_use]
pub fn credential(u: &Urls, k: &Key, ov: Option<&Overlay>, now: &str) -> Map<String, Value> {
    let mut m = common(
        &u.of(CREDENTIALS, &k.id),
        &k.id,
        &format!("Credential {}", k.id),
        now,
        &Default::default(),
    );
    overlay(&mut m, ov);
    if let Some(un) = &k.username {
        m.insert("username".into(), json!(un));
    }
    // The original's quirk: key-type credentials show the fingerprint as `password`.
    if let Some(p) = k.password.as_ref().or(k.fingerprint.as_ref()) {
        m.insert("password".into(), json!(p));
    }
    if let Some(pem) = &k.pem_rsa_key {
        m.insert("key".into(), json!(pem));
    }
    m.insert("operations".into(), json!([]));
    m
}

#[must_use]
pub fn volume(u: &Urls, v: &StorageVolume, ov: Option<&Overlay>, now: &str) -> Map<String, Value> {
    let id = u.of(VOLUMES, &v.id);
    let name = v.name.clone().unwrap_or_else(|| v.id.to_string());
    let created = v
        .created
        .as_deref()
        .and_then(iso)
        .unwrap_or_else(|| now.to_owned());
    let mut m = common(
        &id,
        &name,
        v.description
            .as_deref()
            .unwrap_or(&format!("Volume {name}")),
        &created,
        &Default::default(),
    );
    overlay(&mut m, ov);
    if let Some(gb) = v
        .capacity
        .as_deref()
        .and_then(|c| c.trim().parse::<f64>().ok())
    {
        m.insert("capacity".into(), json!(kib(gb, 1_048_576.0)));
    }
    m.insert("bootable".into(), json!("false"));
    m.insert("type".into(), json!(format!("{SCHEMA}mapped")));
    if let Some(s) = &v.state {
        m.insert(
            "state".into(),
            json!(if s == "IN-USE" { "AVAILABLE" } else { s }),
        );
    }
    m.insert("operations".into(), json!([op("delete", &id)]));
    m
}

#[must_use]
pub fn volume_image(
    u: &Urls,
    s: &StorageSnapshot,
    ov: Option<&Overlay>,
    now: &str,
) -> Map<String, Value> {
    let created = s
        .created
        .as_deref()
        .and_then(iso)
        .unwrap_or_else(|| now.to_owned());
    let name = s.name.clone().unwrap_or_else(|| s.id.to_string());
    let mut m = common(
        &u.of(VOLUME_IMAGES, &s.id),
        &name,
        s.description
            .as_deref()
            .unwrap_or(&format!("Volume image {name}")),
        &created,
        &Default::default(),
    );
    overlay(&mut m, ov);
    if let Some(v) = &s.storage_volume_id {
        m.insert("imageLocation".into(), href(u.of(VOLUMES, v)));
    }
    m.insert("bootable".into(), json!("false"));
    m.insert("operations".into(), json!([]));
    m
}

#[must_use]
pub fn network(u: &Urls, s: &Subnet, now: &str) -> Map<String, Value> {
    let id = u.of(NETWORKS, &s.id);
    let mut m = common(
        &id,
        &s.name,
        &format!("No description set for Network {}", s.name),
        now,
        &Default::default(),
    );
    if let Some(st) = &s.state {
        let st = match st.as_str() {
            "UP" => "STARTED",
            "DOWN" => "STOPPED",
            o => o,
        };
        m.insert("state".into(), json!(st));
    }
    if let Some(k) = &s.kind {
        m.insert("networkType".into(), json!(k));
    }
    m.insert("networkPorts".into(), href(format!("{id}/network_ports")));
    m.insert("operations".into(), json!([op("delete", &id)]));
    m
}

#[must_use]
pub fn forwarding_group(u: &Urls, n: &deltacloud_core::Network, now: &str) -> Map<String, Value> {
    let mut m = common(
        &u.of(FORWARDING_GROUPS, &n.id),
        &n.name,
        &format!("No description set for Forwarding Group {}", n.name),
        now,
        &Default::default(),
    );
    let nets: Vec<Value> = n.subnets.iter().map(|s| href(u.of(NETWORKS, s))).collect();
    m.insert("networks".into(), Value::Array(nets));
    m.insert("operations".into(), json!([]));
    m
}

#[must_use]
pub fn address(u: &Urls, a: &Address, ov: Option<&Overlay>, now: &str) -> Map<String, Value> {
    let ip = a.id.as_str();
    let mut m = common(
        &u.of(ADDRESSES, ip),
        ip,
        &format!("Address {ip}"),
        now,
        &Default::default(),
    );
    overlay(&mut m, ov);
    m.insert("ip".into(), json!(ip));
    m.insert("allocation".into(), json!("dynamic"));
    m.insert("defaultGateway".into(), json!("unknown"));
    m.insert("dns".into(), json!("unknown"));
    m.insert(
        "protocol".into(),
        json!(if ip.contains(':') { "ipv6" } else { "ipv4" }),
    );
    m.insert("mask".into(), json!("unknown"));
    if let Some(i) = &a.instance_id {
        m.insert("resource".into(), href(u.of(MACHINES, i)));
    }
    m.insert("operations".into(), json!([]));
    m
}

/// A database-only resource: common attributes, the stored type-specific ones, and a delete
/// operation. Volume configurations store GB and show KiB. A template created without a
/// description still carries `description` (empty): the issue asks that every resource carry
/// the common attributes, which wins over the spec's "omit null values" for these.
#[must_use]
pub fn entity(u: &Urls, c: Coll, e: &Entity) -> Map<String, Value> {
    let id = u.of(c, &e.id.to_string());
    let name = e.name.clone().unwrap_or_else(|| e.id.to_string());
    let mut m = common(
        &id,
        &name,
        e.description.as_deref().unwrap_or(""),
        &e.created,
        &e.properties,
    );
    for (k, v) in &e.data {
        if c == VOLUME_CONFIGS && k == "capacity" {
            let gb = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            if let Some(gb) = gb {
                m.insert(k.clone(), json!(kib(gb, 1_048_576.0)));
            }
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    m.insert(
        "operations".into(),
        json!([op(&format!("{ACTION}delete"), &id)]),
    );
    m
}

#[must_use]
pub fn job(u: &Urls, j: &JobRow) -> Map<String, Value> {
    let id = u.of(JOBS, &j.id.to_string());
    let verb = j.action.rsplit('/').next().unwrap_or(&j.action);
    let mut m = common(
        &id,
        &format!("job{}", j.id),
        &format!("{verb} of {}", j.target),
        &j.created,
        &Default::default(),
    );
    m.insert("updated".into(), json!(j.updated));
    m.insert("targetResource".into(), href(j.target.clone()));
    m.insert("action".into(), json!(j.action));
    m.insert("status".into(), json!(j.status));
    m.insert("progress".into(), json!(j.progress));
    if let Some(rc) = j.return_code {
        m.insert("returnCode".into(), json!(rc));
    }
    m.insert("timeOfStatusChange".into(), json!(j.updated));
    if let Some(s) = &j.status_message {
        m.insert("statusMessage".into(), json!(s));
    }
    m.insert("isCancellable".into(), json!(false));
    m.insert("operations".into(), json!([]));
    m
}

// ---- driver-held CIMI entities (`cimi.md` §5.13–§5.15) ------------------------------------------

/// The common attributes of a driver-held entity. Its `operations` are left empty: the driver
/// lists what the entity supports (the mock's seeds say `edit`, `delete`, `start`, `export`),
/// but this gateway serves these entities read-only and has no route that performs any of
/// them, and the issue asks that a resource list only operations that are valid.
fn driver_common(id: &str, c: &CimiCommon, now: &str) -> Map<String, Value> {
    let created = c
        .created
        .as_deref()
        .and_then(iso)
        .unwrap_or_else(|| now.to_owned());
    let mut m = common(
        id,
        &c.name,
        c.description.as_deref().unwrap_or(""),
        &created,
        &c.properties,
    );
    m.insert("operations".into(), json!([]));
    m
}

/// Insert `k` when the value is present (null attributes are omitted, `cimi.md` §2).
fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

/// Move `operations` to the end so attributes keep the model's order before it.
fn finish(mut m: Map<String, Value>) -> Map<String, Value> {
    if let Some(ops) = m.remove("operations") {
        m.insert("operations".into(), ops);
    }
    m
}

#[must_use]
pub fn network_port(u: &Urls, p: &NetworkPort, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(NETWORK_PORTS, &p.id), &p.common, now);
    put(&mut m, "state", p.state.as_ref().map(|s| json!(s)));
    put(
        &mut m,
        "network",
        p.network.as_ref().map(|n| href(u.of(NETWORKS, n))),
    );
    put(&mut m, "portType", p.port_type.as_ref().map(|s| json!(s)));
    put(
        &mut m,
        "classOfService",
        p.class_of_service.as_ref().map(|s| json!(s)),
    );
    finish(m)
}

#[must_use]
pub fn network_config(u: &Urls, c: &NetworkConfiguration, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(NETWORK_CONFIGS, &c.id), &c.common, now);
    put(
        &mut m,
        "networkType",
        c.network_type.as_ref().map(|s| json!(s)),
    );
    put(&mut m, "mtu", c.mtu.map(|n| json!(n)));
    put(
        &mut m,
        "classOfService",
        c.class_of_service.as_ref().map(|s| json!(s)),
    );
    finish(m)
}

#[must_use]
pub fn network_template(u: &Urls, t: &NetworkTemplate, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(NETWORK_TEMPLATES, &t.id), &t.common, now);
    put(
        &mut m,
        "networkConfig",
        t.network_config
            .as_ref()
            .map(|c| href(u.of(NETWORK_CONFIGS, c))),
    );
    put(
        &mut m,
        "forwardingGroup",
        t.forwarding_group
            .as_ref()
            .map(|g| href(u.of(FORWARDING_GROUPS, g))),
    );
    finish(m)
}

#[must_use]
pub fn network_port_config(
    u: &Urls,
    c: &NetworkPortConfiguration,
    now: &str,
) -> Map<String, Value> {
    let mut m = driver_common(&u.of(NETWORK_PORT_CONFIGS, &c.id), &c.common, now);
    put(&mut m, "portType", c.port_type.as_ref().map(|s| json!(s)));
    put(
        &mut m,
        "classOfService",
        c.class_of_service.as_ref().map(|s| json!(s)),
    );
    finish(m)
}

#[must_use]
pub fn network_port_template(u: &Urls, t: &NetworkPortTemplate, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(NETWORK_PORT_TEMPLATES, &t.id), &t.common, now);
    put(
        &mut m,
        "network",
        t.network.as_ref().map(|n| href(u.of(NETWORKS, n))),
    );
    put(
        &mut m,
        "networkPortConfig",
        t.network_port_config
            .as_ref()
            .map(|c| href(u.of(NETWORK_PORT_CONFIGS, c))),
    );
    finish(m)
}

#[must_use]
pub fn forwarding_group_template(
    u: &Urls,
    t: &ForwardingGroupTemplate,
    now: &str,
) -> Map<String, Value> {
    let mut m = driver_common(&u.of(FORWARDING_GROUP_TEMPLATES, &t.id), &t.common, now);
    let nets: Vec<Value> = t.networks.iter().map(|n| href(u.of(NETWORKS, n))).collect();
    m.insert("networks".into(), Value::Array(nets));
    finish(m)
}

/// An AddressTemplate the driver holds (the database-backed ones come from [`entity`]).
#[must_use]
pub fn address_template(u: &Urls, t: &AddressTemplate, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(ADDRESS_TEMPLATES, &t.id), &t.common, now);
    for (k, v) in [
        ("ip", &t.ip),
        ("hostname", &t.hostname),
        ("allocation", &t.allocation),
        ("defaultGateway", &t.default_gateway),
        ("dns", &t.dns),
        ("protocol", &t.protocol),
        ("mask", &t.mask),
    ] {
        put(&mut m, k, v.as_ref().map(|s| json!(s)));
    }
    put(
        &mut m,
        "network",
        t.network.as_ref().map(|n| href(u.of(NETWORKS, n))),
    );
    finish(m)
}

/// System: its state and a link to each sub-collection it has.
#[must_use]
pub fn system(u: &Urls, s: &System, now: &str) -> Map<String, Value> {
    let id = u.of(SYSTEMS, &s.id);
    let mut m = driver_common(&id, &s.common, now);
    put(&mut m, "state", s.state.as_ref().map(|v| json!(v)));
    for (kind, coll, attr, _) in SYSTEM_MEMBERS {
        if s.collections.contains(kind) {
            m.insert((*attr).into(), href(format!("{id}/{}", coll.path)));
        }
    }
    finish(m)
}

/// One member of a system (SystemMachine, SystemVolume, …).
#[must_use]
pub fn system_member(u: &Urls, c: &SystemComponent, now: &str) -> Option<Map<String, Value>> {
    let (_, coll, _, attr) = SYSTEM_MEMBERS.iter().find(|m| m.0 == c.kind)?;
    let id = format!("{}/{}/{}", u.of(SYSTEMS, &c.system), coll.path, c.id);
    let mut m = driver_common(&id, &c.common, now);
    if c.common.description.is_none() {
        m.insert(
            "description".into(),
            json!(format!("{} {} of System {}", coll.ty, c.target, c.system)),
        );
    }
    m.insert((*attr).into(), href(u.of(member_target(c.kind), &c.target)));
    Some(finish(m))
}

/// SystemTemplate: component descriptors with their template by reference or inline.
#[must_use]
pub fn system_template(u: &Urls, t: &SystemTemplate, now: &str) -> Map<String, Value> {
    let mut m = driver_common(&u.of(SYSTEM_TEMPLATES, &t.id), &t.common, now);
    let ds: Vec<Value> = t
        .component_descriptors
        .iter()
        .map(|d| {
            let mut e = Map::new();
            e.insert("name".into(), json!(d.name));
            put(
                &mut e,
                "description",
                d.description.as_ref().map(|s| json!(s)),
            );
            if !d.properties.is_empty() {
                e.insert("properties".into(), json!(d.properties));
            }
            e.insert("type".into(), json!(format!("{SCHEMA}{}", d.resource_type)));
            let attr = {
                let mut cs = d.resource_type.chars();
                cs.next().map_or_else(String::new, |f| {
                    f.to_lowercase().chain(cs).collect::<String>() + "Template"
                })
            };
            match &d.template {
                Some(ComponentTemplate::Reference(h)) => {
                    e.insert(attr, json!({ "href": h }));
                }
                Some(ComponentTemplate::Inline(refs)) => {
                    let inner: Map<String, Value> = refs
                        .iter()
                        .map(|(k, h)| (k.clone(), json!({ "href": h })))
                        .collect();
                    e.insert(attr, Value::Object(inner));
                }
                None => {}
            }
            put(&mut e, "quantity", d.quantity.map(|q| json!(q)));
            Value::Object(e)
        })
        .collect();
    m.insert("componentDescriptors".into(), Value::Array(ds));
    finish(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls {
            base: "http://h".into(),
        }
    }

    fn common_of(name: &str) -> CimiCommon {
        CimiCommon {
            name: name.into(),
            description: Some("d".into()),
            created: Some("Fri Mar 16 17:06:41 EET 2012".into()),
            properties: Default::default(),
            operations: vec!["edit".into(), "delete".into()],
        }
    }

    #[test]
    fn driver_entities_render_references_on_this_server_and_no_unserved_operations() {
        let p = NetworkPort {
            id: "np1".into(),
            common: common_of("np1"),
            state: Some("STARTED".into()),
            network: Some("subnet1".into()),
            port_type: None,
            class_of_service: Some("GOLD".into()),
        };
        let m = network_port(&urls(), &p, "now");
        assert_eq!(
            Value::Object(m.clone()),
            json!({"id": "http://h/cimi/network_ports/np1", "name": "np1", "description": "d",
                   "created": "2012-03-16T17:06:41+02:00", "updated": "2012-03-16T17:06:41+02:00",
                   "properties": {}, "state": "STARTED",
                   "network": {"href": "http://h/cimi/networks/subnet1"},
                   "classOfService": "GOLD", "operations": []})
        );
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys.last().map(|k| k.as_str()), Some("operations"));
    }

    #[test]
    fn systems_link_their_sub_collections_and_members_their_targets() {
        let s = System {
            id: "s1".into(),
            common: CimiCommon {
                created: None,
                ..common_of("s1")
            },
            state: None,
            collections: vec![
                SystemComponentKind::Machine,
                SystemComponentKind::NetworkPort,
            ],
        };
        let m = system(&urls(), &s, "now");
        assert_eq!(m["created"], "now", "no driver time: now");
        assert_eq!(
            m["machines"],
            json!({"href": "http://h/cimi/systems/s1/machines"})
        );
        assert_eq!(
            m["networkPorts"],
            json!({"href": "http://h/cimi/systems/s1/network_ports"})
        );
        assert!(m.get("volumes").is_none() && m.get("state").is_none());
        let member = SystemComponent {
            id: "a1".into(),
            system: "s1".into(),
            kind: SystemComponentKind::Address,
            common: CimiCommon {
                description: None,
                ..common_of("a1")
            },
            target: "10.0.0.1".into(),
        };
        let m = system_member(&urls(), &member, "now").unwrap();
        assert_eq!(m["id"], "http://h/cimi/systems/s1/addresses/a1");
        assert_eq!(
            m["address"],
            json!({"href": "http://h/cimi/addresses/10.0.0.1"})
        );
        assert_eq!(m["description"], "SystemAddress 10.0.0.1 of System s1");
        assert_eq!(entry_type("systemAddresses"), Some("SystemAddress"));
        assert_eq!(entry_type("networkPorts"), Some("NetworkPort"));
    }

    #[test]
    fn component_descriptors_name_their_template_after_the_type() {
        let t = SystemTemplate {
            id: "t".into(),
            common: common_of("t"),
            component_descriptors: vec![
                deltacloud_core::ComponentDescriptor {
                    name: "v".into(),
                    description: None,
                    properties: Default::default(),
                    resource_type: "Volume".into(),
                    template: Some(ComponentTemplate::Reference("http://x/vt/1".into())),
                    quantity: None,
                },
                deltacloud_core::ComponentDescriptor {
                    name: "m".into(),
                    description: Some("md".into()),
                    properties: [("k".to_owned(), "v".to_owned())].into(),
                    resource_type: "Machine".into(),
                    template: Some(ComponentTemplate::Inline(
                        [("machineImage".to_owned(), "http://x/i".to_owned())].into(),
                    )),
                    quantity: Some(3),
                },
            ],
        };
        let m = system_template(&urls(), &t, "now");
        assert_eq!(
            m["componentDescriptors"],
            json!([
                {"name": "v", "type": "http://schemas.dmtf.org/cimi/1/Volume",
                 "volumeTemplate": {"href": "http://x/vt/1"}},
                {"name": "m", "description": "md", "properties": {"k": "v"},
                 "type": "http://schemas.dmtf.org/cimi/1/Machine",
                 "machineTemplate": {"machineImage": {"href": "http://x/i"}}, "quantity": 3}
            ])
        );
    }

    #[test]
    fn stored_templates_always_carry_a_description() {
        let e = Entity {
            id: 3,
            name: None,
            description: None,
            properties: Default::default(),
            data: Map::new(),
            created: "c".into(),
        };
        let m = entity(&urls(), MACHINE_TEMPLATES, &e);
        assert_eq!(m["description"], "");
        assert_eq!(m["name"], "3");
    }

    #[test]
    fn ruby_dates_honour_the_zone() {
        assert_eq!(
            iso("Thu Oct 25 14:27:53 CEST 2012").as_deref(),
            Some("2012-10-25T14:27:53+02:00")
        );
        assert_eq!(
            iso("Thu Jul 30 14:35:11 UTC 2009").as_deref(),
            Some("2009-07-30T14:35:11+00:00")
        );
        assert_eq!(
            iso("2013-06-01T12:00:00+02:00").as_deref(),
            Some("2013-06-01T12:00:00+02:00")
        );
        assert_eq!(iso("yesterday"), None);
    }
}
