//! CIMI resources built from core types (`cimi.md` §5), in their JSON form (lowerCamelCase
//! attributes in the spec's order). The XML form is derived from these by `xml.rs`.

use crate::store::{Entity, JobRow, Overlay};
use deltacloud_core::{
    Address, HardwareProfile, Image, Instance, InstanceAction, InstanceState, Key, PropertyName,
    PropertyValue, StorageSnapshot, StorageVolume, Subnet,
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
    JOBS = "jobs", "Job", "jobs";
    RESOURCE_METADATA = "resource_metadata", "ResourceMetadata", "resourceMetadata";
    DISKS = "disks", "Disk", "disks";
    MACHINE_VOLUMES = "volumes", "MachineVolume", "machineVolumes";
}

/// The element name of a collection's entries, by the entries' JSON key.
#[must_use]
pub fn entry_type(key: &str) -> Option<&'static str> {
    ALL.iter().find(|c| c.key == key).map(|c| c.ty)
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
/// operation. Volume configurations store GB and show KiB.
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
    if e.description.is_none() {
        m.remove("description");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
