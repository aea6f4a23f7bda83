//! A stateful fake oVirt engine (REST API v4) for end-to-end tests: a loopback HTTP server whose
//! answers have the shapes of the recorded v4 inventory (`fixtures/rhevm/ovirt-v4`), seeded with
//! the same data centers, clusters, templates and VMs, and whose VMs and disks move through the
//! engine's states when acted on.
//!
//! It renders and parses its XML itself, on purpose independent of any backend's structs: a
//! backend whose serde shapes drift from the engine's must fail against this fake, which it could
//! not if both sides shared the same structs. The element names, nesting and attributes follow
//! the recorded engine answers (`<vm href="…" id="…">`, `<status>up</status>` as plain text,
//! `<cpu><topology><cores>…`, `<mac><address>…`, guest IPs under the NIC's
//! `<reported_devices>`), minus the many elements no client of ours reads.
//!
//! It is a plain thread with blocking sockets, so it works under any async runtime and in sync
//! tests, and it stops when dropped.
//!
//! Behaviour worth knowing when writing a test:
//! * Credentials are [`USER`] / [`PASSWORD`]; anything else gets the engine's 401 HTML page.
//! * Transitional states show exactly once: a created VM is `image_locked` until the next read of
//!   it, then `down`; `start` gives `powering_up` then `up`; `shutdown` gives `powering_down`
//!   then `down`; `reboot` gives `reboot_in_progress` then `up`; `stop` powers off at once. A
//!   created disk is `locked` on its next read, then `ok`.
//! * Actions the VM's status forbids get a 409 `<fault>` with the engine's wording
//!   (`Cannot run VM. VM is running.`), as do deleting a running VM, a template in use, a disk
//!   attached to a running VM, and attaching a disk that is already attached.
//! * [`FakeEngine::set_hang`] makes it accept connections and never answer, for timeout tests.
//! * Like the engine, a request with credentials (Basic or an SSO bearer token) and
//!   `Prefer: persistent-auth` opens a session (`Set-Cookie: JSESSIONID=…`) that later requests
//!   may present instead; [`FakeEngine::logins`] counts Basic credential checks and
//!   [`FakeEngine::expire_sessions`] ends every session.
//! * SSO: `POST /ovirt-engine/sso/oauth/token` (`grant_type=password`, form body or query)
//!   hands out bearer tokens, as oVirt 4 clients log in; [`FakeEngine::set_require_sso`] refuses
//!   Basic on the API like an engine with Basic disabled, [`FakeEngine::expire_tokens`] revokes
//!   every token.

use base64::Engine as _;
use serde::Deserialize;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The engine user the fake accepts.
pub const USER: &str = "admin@internal";
/// Its password.
pub const PASSWORD: &str = "engine";
/// The data center with the templates and VMs (`newd1` in the recorded inventory).
pub const DATACENTER_ID: &str = "944df9ee-3274-43c4-908f-8c35e59e483b";
/// Its cluster (`newd1_cluster`).
pub const CLUSTER_ID: &str = "1c273044-e6ca-492f-9ac2-47381b626808";
/// The other data center (`Newd`).
pub const OTHER_DATACENTER_ID: &str = "2812e1c2-fb19-4bf9-ac42-74c069a5e507";
/// The other data center's cluster (`newc`).
pub const OTHER_CLUSTER_ID: &str = "b875154c-5b87-4068-aa3f-f32c4d672193";
/// Template `template_cd1` (CirrOS).
pub const TEMPLATE_ID: &str = "bcdd6891-68c9-4629-8c72-668c2353ab11";
/// Template `template_cd2` (CentOS).
pub const TEMPLATE2_ID: &str = "5037cc2a-0268-4412-a591-ee7da56efe53";
/// VM `vm_off` (down).
pub const VM_OFF_ID: &str = "8070fa6d-5b82-412c-9d41-a00017205c73";
/// VM `vm_on` (up, guest IP 10.46.8.199, one bootable disk [`VM_ON_DISK_ID`]).
pub const VM_ON_ID: &str = "a1293e54-dae8-496f-baa4-27719592113e";
/// The one instance type the fake offers.
pub const INSTANCE_TYPE_ID: &str = "00000003-0003-0003-0003-0000000000be";
/// The one storage domain (`data1`, type `data`, in [`DATACENTER_ID`]).
pub const STORAGE_DOMAIN_ID: &str = "26c8cd54-65d4-424f-a870-8145439bba1c";
/// The bootable disk attached to [`VM_ON_ID`] (`GlanceDisk-fe03ebf`, 8 GiB, as recorded).
pub const VM_ON_DISK_ID: &str = "08b054b2-0001-4dd6-9cf2-434213c02fbe";
/// An unattached 1 GiB disk named `spare`.
pub const FREE_DISK_ID: &str = "5f1a0c3e-7d2b-4e8a-9c61-0b3d2e4f5a67";
const BLANK: &str = "00000000-0000-0000-0000-000000000000";
const ROOT: &str = "/ovirt-engine/api/";
const API: &str = "/ovirt-engine/api";
const TOKEN_PATH: &str = "/ovirt-engine/sso/oauth/token";
const GIB: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// State

struct FakeNic {
    id: String,
    mac: String,
    /// The guest-reported IPv4 address, if the guest agent reports one.
    ip: Option<String>,
}

struct FakeVm {
    id: String,
    name: String,
    cores: u32,
    memory: u64,
    kind: String,
    cluster: String,
    template: String,
    instance_type: Option<String>,
    created: String,
    /// Shown on the next read, then replaced by `then`.
    status: String,
    then: Option<String>,
    nics: Vec<FakeNic>,
}

struct FakeTemplate {
    id: String,
    name: String,
    description: String,
    memory: u64,
    cluster: Option<String>,
    created: String,
}

struct Attachment {
    vm: String,
    bootable: bool,
    interface: String,
    active: bool,
}

struct FakeDisk {
    id: String,
    name: String,
    description: Option<String>,
    provisioned: u64,
    actual: u64,
    storage_domain: String,
    /// Shown on the next read, then replaced by `then`.
    status: String,
    then: Option<String>,
    attachment: Option<Attachment>,
}

struct State {
    datacenters: Vec<(&'static str, &'static str)>,
    /// `(id, name, data center)`.
    clusters: Vec<(&'static str, &'static str, Option<&'static str>)>,
    templates: Vec<FakeTemplate>,
    vms: Vec<FakeVm>,
    disks: Vec<FakeDisk>,
    requests: Vec<String>,
    /// Open sessions (`JSESSIONID` values) and how many Basic logins (credential checks) happened.
    sessions: Vec<String>,
    logins: u64,
    /// Live SSO bearer tokens and how many token requests arrived.
    tokens: Vec<String>,
    token_requests: u64,
    require_sso: bool,
    /// The next number for generated ids, tokens and sessions (per engine, so tests running
    /// side by side share nothing).
    next: u64,
}

impl State {
    fn next_n(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn new_id(&mut self) -> String {
        format!("f0000000-0000-4000-8000-{:012x}", self.next_n())
    }

    fn vm_index(&self, id: &str) -> Option<usize> {
        self.vms.iter().position(|v| v.id == id)
    }

    fn disk_index(&self, id: &str) -> Option<usize> {
        self.disks.iter().position(|d| d.id == id)
    }

    fn vm_status(&self, id: &str) -> Option<&str> {
        self.vms
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.status.as_str())
    }
}

/// The running fake engine.
pub struct FakeEngine {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    hang: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn nic(n: u64, ip: Option<&str>) -> FakeNic {
    FakeNic {
        id: format!("40c3c841-74be-461f-ac6c-{n:012x}"),
        mac: format!("00:1a:4a:16:01:{:02x}", n % 256),
        ip: ip.map(Into::into),
    }
}

fn template(
    id: &str,
    name: &str,
    description: &str,
    cluster: Option<&str>,
    created: &str,
) -> FakeTemplate {
    FakeTemplate {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        memory: GIB,
        cluster: cluster.map(Into::into),
        created: created.into(),
    }
}

fn seeded_vm(id: &str, name: &str, status: &str, template: &str, memory: u64) -> FakeVm {
    FakeVm {
        id: id.into(),
        name: name.into(),
        cores: 1,
        memory,
        kind: "desktop".into(),
        cluster: CLUSTER_ID.into(),
        template: template.into(),
        instance_type: None,
        created: String::new(),
        status: status.into(),
        then: None,
        nics: Vec::new(),
    }
}

fn seed() -> State {
    State {
        datacenters: vec![(OTHER_DATACENTER_ID, "Newd"), (DATACENTER_ID, "newd1")],
        clusters: vec![
            ("5a55d518-00c7-00ef-015b-000000000055", "Default", None),
            (OTHER_CLUSTER_ID, "newc", Some(OTHER_DATACENTER_ID)),
            (CLUSTER_ID, "newd1_cluster", Some(DATACENTER_ID)),
        ],
        templates: vec![
            template(
                BLANK,
                "Blank",
                "Blank template",
                None,
                "2008-04-01T00:00:00.000+03:00",
            ),
            template(
                TEMPLATE_ID,
                "template_cd1",
                "CirrOS 0.4.0 for x86_64 (34bec3e)",
                Some(CLUSTER_ID),
                "2019-08-20T12:45:23.716+03:00",
            ),
            template(
                TEMPLATE2_ID,
                "template_cd2",
                "CentOS 7 Generic Cloud Image v1901 for x86_64 (fe03ebf)",
                Some(CLUSTER_ID),
                "2019-08-20T13:06:25.139+03:00",
            ),
        ],
        vms: vec![
            FakeVm {
                created: "2019-08-20T12:57:43.049+03:00".into(),
                nics: vec![FakeNic {
                    id: "fee0cbf3-e81f-4b5e-a0d4-1ad3e1210951".into(),
                    ..nic(4, None)
                }],
                ..seeded_vm(VM_OFF_ID, "vm_off", "down", TEMPLATE_ID, GIB)
            },
            FakeVm {
                created: "2019-08-20T15:13:17.128+03:00".into(),
                nics: vec![FakeNic {
                    id: "40c3c841-74be-461f-ac6c-25df73c1b40b".into(),
                    ..nic(5, Some("10.46.8.199"))
                }],
                ..seeded_vm(VM_ON_ID, "vm_on", "up", TEMPLATE2_ID, 2 * GIB)
            },
        ],
        disks: vec![
            FakeDisk {
                id: VM_ON_DISK_ID.into(),
                name: "GlanceDisk-fe03ebf".into(),
                description: Some("CentOS 7 Generic Cloud Image v1901 for x86_64 (fe03ebf)".into()),
                provisioned: 8 * GIB,
                actual: 2_561_437_696,
                storage_domain: STORAGE_DOMAIN_ID.into(),
                status: "ok".into(),
                then: None,
                attachment: Some(Attachment {
                    vm: VM_ON_ID.into(),
                    bootable: true,
                    interface: "virtio".into(),
                    active: true,
                }),
            },
            FakeDisk {
                id: FREE_DISK_ID.into(),
                name: "spare".into(),
                description: None,
                provisioned: GIB,
                actual: 0,
                storage_domain: STORAGE_DOMAIN_ID.into(),
                status: "ok".into(),
                then: None,
                attachment: None,
            },
        ],
        requests: Vec::new(),
        sessions: Vec::new(),
        logins: 0,
        tokens: Vec::new(),
        token_requests: 0,
        require_sso: false,
        next: 0x1000,
    }
}

// ---------------------------------------------------------------------------------------------
// XML rendering

/// Escape text content or an attribute value (both quote kinds, so either delimiter is safe).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>`.
fn el(out: &mut String, name: &str, text: impl std::fmt::Display) {
    let _ = write!(out, "<{name}>{}</{name}>", esc(&text.to_string()));
}

/// `<name href="/ovirt-engine/api/{path}" id="{id}"/>`: a link, as the engine writes them.
fn link(out: &mut String, name: &str, path: &str, id: &str) {
    let _ = write!(
        out,
        "<{name} href=\"{API}/{}/{}\" id=\"{}\"/>",
        esc(path),
        esc(id),
        esc(id)
    );
}

/// The opening tag of a resource: `<name href="…/{path}/{id}" id="{id}">`.
fn open(out: &mut String, name: &str, path: &str, id: &str) {
    let _ = write!(
        out,
        "<{name} href=\"{API}/{}/{}\" id=\"{}\">",
        esc(path),
        esc(id),
        esc(id)
    );
}

/// A collection: `<plural>items…</plural>`, or `<plural/>` when empty (as the engine does).
fn collection(plural: &str, items: &[String]) -> String {
    if items.is_empty() {
        format!("<{plural}/>")
    } else {
        format!("<{plural}>{}</{plural}>", items.concat())
    }
}

fn cpu(out: &mut String, cores: u32) {
    out.push_str("<cpu><architecture>x86_64</architecture><topology>");
    el(out, "cores", cores);
    out.push_str("<sockets>1</sockets><threads>1</threads></topology></cpu>");
}

fn datacenter_xml(id: &str, name: &str) -> String {
    let mut o = String::new();
    open(&mut o, "data_center", "datacenters", id);
    el(&mut o, "name", name);
    o.push_str("<local>false</local><quota_mode>disabled</quota_mode><status>up</status>");
    o.push_str("<version><major>4</major><minor>3</minor></version></data_center>");
    o
}

fn cluster_xml(id: &str, name: &str, dc: Option<&str>) -> String {
    let mut o = String::new();
    open(&mut o, "cluster", "clusters", id);
    el(&mut o, "name", name);
    o.push_str("<cpu><architecture>x86_64</architecture><type>Intel Westmere Family</type></cpu>");
    if let Some(dc) = dc {
        link(&mut o, "data_center", "datacenters", dc);
    }
    o.push_str("</cluster>");
    o
}

fn template_xml(t: &FakeTemplate) -> String {
    let mut o = String::new();
    open(&mut o, "template", "templates", &t.id);
    el(&mut o, "name", &t.name);
    el(&mut o, "description", &t.description);
    o.push_str("<comment></comment>");
    cpu(&mut o, 1);
    el(&mut o, "creation_time", &t.created);
    el(&mut o, "memory", t.memory);
    o.push_str("<type>desktop</type><status>ok</status>");
    if let Some(c) = &t.cluster {
        link(&mut o, "cluster", "clusters", c);
    }
    o.push_str("</template>");
    o
}

fn vm_xml(v: &FakeVm, status: &str) -> String {
    let mut o = String::new();
    open(&mut o, "vm", "vms", &v.id);
    el(&mut o, "name", &v.name);
    o.push_str("<description></description><comment></comment>");
    cpu(&mut o, v.cores);
    el(&mut o, "creation_time", &v.created);
    o.push_str("<display><type>spice</type></display>");
    el(&mut o, "memory", v.memory);
    el(&mut o, "type", &v.kind);
    link(&mut o, "cluster", "clusters", &v.cluster);
    if let Some(it) = &v.instance_type {
        link(&mut o, "instance_type", "instancetypes", it);
    }
    el(&mut o, "status", status);
    link(&mut o, "original_template", "templates", &v.template);
    link(&mut o, "template", "templates", &v.template);
    o.push_str("</vm>");
    o
}

fn nic_xml(vm: &str, n: &FakeNic) -> String {
    let mut o = String::new();
    open(&mut o, "nic", &format!("vms/{vm}/nics"), &n.id);
    o.push_str("<name>nic1</name>");
    link(&mut o, "vm", "vms", vm);
    o.push_str("<interface>virtio</interface><linked>true</linked><mac>");
    el(&mut o, "address", &n.mac);
    o.push_str("</mac><plugged>true</plugged>");
    if let Some(ip) = &n.ip {
        o.push_str("<reported_devices>");
        let dev = format!(
            "65746830-3030-3a31-613a-{}",
            n.id.get(24..).unwrap_or_default()
        );
        open(
            &mut o,
            "reported_device",
            &format!("vms/{vm}/reporteddevices"),
            &dev,
        );
        o.push_str("<name>eth0</name><description>guest reported data</description><ips><ip>");
        el(&mut o, "address", ip);
        o.push_str("<version>v4</version></ip></ips><mac>");
        el(&mut o, "address", &n.mac);
        o.push_str("</mac><type>network</type></reported_device></reported_devices>");
    }
    o.push_str("</nic>");
    o
}

fn instance_type_xml() -> String {
    let mut o = String::new();
    open(&mut o, "instance_type", "instancetypes", INSTANCE_TYPE_ID);
    o.push_str("<name>Small</name><description>Small Instance Type</description>");
    cpu(&mut o, 1);
    el(&mut o, "memory", 2 * GIB);
    o.push_str("</instance_type>");
    o
}

fn storage_domain_xml(used: u64) -> String {
    let total: u64 = 200 * GIB;
    let mut o = String::new();
    open(
        &mut o,
        "storage_domain",
        "storagedomains",
        STORAGE_DOMAIN_ID,
    );
    o.push_str("<name>data1</name><description></description><comment></comment>");
    el(&mut o, "available", total.saturating_sub(used));
    o.push_str("<committed>0</committed><external_status>ok</external_status>");
    o.push_str("<master>true</master><storage><type>nfs</type></storage>");
    o.push_str("<storage_format>v5</storage_format><type>data</type>");
    el(&mut o, "used", used);
    o.push_str("<data_centers>");
    link(&mut o, "data_center", "datacenters", DATACENTER_ID);
    o.push_str("</data_centers></storage_domain>");
    o
}

fn disk_xml(d: &FakeDisk, status: &str) -> String {
    let mut o = String::new();
    open(&mut o, "disk", "disks", &d.id);
    el(&mut o, "name", &d.name);
    if let Some(desc) = &d.description {
        el(&mut o, "description", desc);
    }
    el(&mut o, "actual_size", d.actual);
    el(&mut o, "alias", &d.name);
    o.push_str("<content_type>data</content_type><format>cow</format>");
    el(&mut o, "provisioned_size", d.provisioned);
    o.push_str("<shareable>false</shareable><sparse>true</sparse>");
    el(&mut o, "status", status);
    o.push_str("<storage_type>image</storage_type><storage_domains>");
    link(
        &mut o,
        "storage_domain",
        "storagedomains",
        &d.storage_domain,
    );
    o.push_str("</storage_domains></disk>");
    o
}

/// `<disk_attachment>` of disk `d` (attached to VM `vm_id`); `logical` is the guest device
/// name, which the engine only knows while the VM runs.
fn attachment_xml(d: &FakeDisk, a: &Attachment, logical: Option<&str>) -> String {
    let mut o = String::new();
    open(
        &mut o,
        "disk_attachment",
        &format!("vms/{}/diskattachments", a.vm),
        &d.id,
    );
    el(&mut o, "active", a.active);
    el(&mut o, "bootable", a.bootable);
    el(&mut o, "interface", &a.interface);
    if let Some(l) = logical {
        el(&mut o, "logical_name", l);
    }
    o.push_str("<pass_discard>false</pass_discard><read_only>false</read_only>");
    link(&mut o, "disk", "disks", &d.id);
    link(&mut o, "vm", "vms", &a.vm);
    o.push_str("</disk_attachment>");
    o
}

// ---------------------------------------------------------------------------------------------
// Request bodies (parsed with the fake's own structs, see the module docs)

#[derive(Deserialize, Default)]
struct IdAttr {
    #[serde(rename = "@id", default)]
    id: Option<String>,
}

impl IdAttr {
    fn id(&self) -> String {
        self.id.clone().unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
struct TopologyReq {
    #[serde(rename = "@cores", default)]
    cores_attr: Option<u32>,
    #[serde(rename = "@sockets", default)]
    sockets_attr: Option<u32>,
    #[serde(default)]
    cores: Option<u32>,
    #[serde(default)]
    sockets: Option<u32>,
    #[serde(default)]
    threads: Option<u32>,
}

#[derive(Deserialize, Default)]
struct CpuReq {
    #[serde(default)]
    topology: Option<TopologyReq>,
}

#[derive(Deserialize)]
struct NewVmReq {
    name: String,
    template: IdAttr,
    cluster: IdAttr,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    instance_type: Option<IdAttr>,
    #[serde(default)]
    memory: Option<u64>,
    #[serde(default)]
    cpu: Option<CpuReq>,
}

#[derive(Deserialize)]
struct NewTemplateReq {
    name: String,
    #[serde(default)]
    description: Option<String>,
    vm: IdAttr,
}

#[derive(Deserialize, Default)]
struct StorageDomainsReq {
    #[serde(rename = "storage_domain", default)]
    items: Vec<IdAttr>,
}

#[derive(Deserialize)]
struct NewDiskReq {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    provisioned_size: Option<u64>,
    #[serde(default)]
    storage_domains: Option<StorageDomainsReq>,
}

#[derive(Deserialize)]
struct NewAttachmentReq {
    disk: IdAttr,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    bootable: Option<bool>,
    #[serde(default)]
    active: Option<bool>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Option<T> {
    quick_xml::de::from_str(body).ok()
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// One HTTP answer.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    /// A `JSESSIONID` to set.
    session: Option<String>,
}

fn xml(status: u16, body: &str) -> Reply {
    Reply {
        status,
        content_type: "application/xml;charset=UTF-8",
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n{body}"),
        session: None,
    }
}

fn json(status: u16, v: &serde_json::Value) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: v.to_string(),
        session: None,
    }
}

fn fault(status: u16, reason: &str, detail: &str) -> Reply {
    let mut o = String::from("<fault>");
    el(&mut o, "reason", reason);
    el(&mut o, "detail", format!("[{detail}]"));
    o.push_str("</fault>");
    xml(status, &o)
}

fn not_found(what: &str) -> Reply {
    fault(404, "Not Found", &format!("Entity not found: {what}"))
}

fn bad_request(detail: &str) -> Reply {
    fault(400, "Bad Request", detail)
}

fn conflict(detail: &str) -> Reply {
    fault(409, "Operation Failed", detail)
}

fn complete() -> Reply {
    xml(200, "<action><status>complete</status></action>")
}

fn vm_view(st: &mut State, i: usize) -> String {
    let Some(v) = st.vms.get_mut(i) else {
        return String::new();
    };
    let out = vm_xml(v, &v.status);
    if let Some(next) = v.then.take() {
        v.status = next;
    }
    out
}

fn disk_view(st: &mut State, i: usize) -> String {
    let Some(d) = st.disks.get_mut(i) else {
        return String::new();
    };
    let out = disk_xml(d, &d.status);
    if let Some(next) = d.then.take() {
        d.status = next;
    }
    out
}

/// The `<disk_attachment>`s of VM `vm`, or only disk `only`'s.
fn attachments_xml(st: &State, vm: &str, only: Option<&str>) -> Vec<String> {
    let up = st.vm_status(vm) == Some("up");
    st.disks
        .iter()
        .filter_map(|d| d.attachment.as_ref().filter(|a| a.vm == vm).map(|a| (d, a)))
        .enumerate()
        .filter(|(_, (d, _))| only.is_none_or(|id| d.id == id))
        .map(|(n, (d, a))| {
            // vda, vdb, … in attachment order; the engine knows them only from a running guest.
            let letter = char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
            let logical = up.then(|| format!("/dev/vd{letter}"));
            attachment_xml(d, a, logical.as_deref())
        })
        .collect()
}

fn handle(st: &mut State, method: &str, path: &str, body: &str) -> Reply {
    let Some(rest) = path.strip_prefix(ROOT) else {
        return not_found(path);
    };
    let rest = rest
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let segs: Vec<&str> = rest.split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["datacenters"]) => {
            let items: Vec<String> = st
                .datacenters
                .iter()
                .map(|(id, name)| datacenter_xml(id, name))
                .collect();
            xml(200, &collection("data_centers", &items))
        }
        ("GET", ["clusters"]) => {
            let items: Vec<String> = st
                .clusters
                .iter()
                .map(|(id, name, dc)| cluster_xml(id, name, *dc))
                .collect();
            xml(200, &collection("clusters", &items))
        }
        ("GET", ["instancetypes"]) => {
            xml(200, &collection("instance_types", &[instance_type_xml()]))
        }
        ("GET", ["storagedomains"]) => {
            let used = st.disks.iter().map(|d| d.provisioned).sum();
            xml(
                200,
                &collection("storage_domains", &[storage_domain_xml(used)]),
            )
        }
        ("GET", ["templates"]) => {
            let items: Vec<String> = st.templates.iter().map(template_xml).collect();
            xml(200, &collection("templates", &items))
        }
        ("GET", ["templates", id]) => match st.templates.iter().find(|t| t.id == *id) {
            Some(t) => xml(200, &template_xml(t)),
            None => not_found(&format!("template {id}")),
        },
        ("POST", ["templates"]) => create_template(st, body),
        ("DELETE", ["templates", id]) => delete_template(st, id),
        ("GET", ["vms"]) => {
            let items: Vec<String> = (0..st.vms.len()).map(|i| vm_view(st, i)).collect();
            xml(200, &collection("vms", &items))
        }
        ("GET", ["vms", id]) => match st.vm_index(id) {
            Some(i) => xml(200, &vm_view(st, i)),
            None => not_found(&format!("vm {id}")),
        },
        ("GET", ["vms", id, "nics"]) => match st.vms.iter().find(|v| v.id == *id) {
            Some(v) => {
                let items: Vec<String> = v.nics.iter().map(|n| nic_xml(&v.id, n)).collect();
                xml(200, &collection("nics", &items))
            }
            None => not_found(&format!("vm {id}")),
        },
        ("GET", ["vms", id, "diskattachments"]) => match st.vm_index(id) {
            Some(_) => xml(
                200,
                &collection("disk_attachments", &attachments_xml(st, id, None)),
            ),
            None => not_found(&format!("vm {id}")),
        },
        ("POST", ["vms", id, "diskattachments"]) => attach_disk(st, id, body),
        ("DELETE", ["vms", id, "diskattachments", disk]) => detach_disk(st, id, disk),
        ("POST", ["vms"]) => create_vm(st, body),
        ("POST", ["vms", id, action]) => vm_action(st, id, action),
        ("DELETE", ["vms", id]) => match st.vm_index(id) {
            None => not_found(&format!("vm {id}")),
            Some(i) if st.vms[i].status != "down" => conflict("Cannot remove VM. VM is running."),
            Some(i) => {
                // Like the engine's default (`detach_only=false`), the VM's disks go with it.
                st.vms.remove(i);
                st.disks
                    .retain(|d| d.attachment.as_ref().is_none_or(|a| a.vm != *id));
                complete()
            }
        },
        ("GET", ["disks"]) => {
            let items: Vec<String> = (0..st.disks.len()).map(|i| disk_view(st, i)).collect();
            xml(200, &collection("disks", &items))
        }
        ("GET", ["disks", id]) => match st.disk_index(id) {
            Some(i) => xml(200, &disk_view(st, i)),
            None => not_found(&format!("disk {id}")),
        },
        ("POST", ["disks"]) => create_disk(st, body),
        ("DELETE", ["disks", id]) => delete_disk(st, id),
        _ => not_found(path),
    }
}

fn create_template(st: &mut State, body: &str) -> Reply {
    let Some(req) = parse::<NewTemplateReq>(body) else {
        return bad_request("Cannot parse the template");
    };
    let vm_id = req.vm.id();
    let Some(i) = st.vm_index(&vm_id) else {
        return not_found(&format!("vm {vm_id}"));
    };
    if st.vms[i].status != "down" {
        return conflict(
            "Cannot add Template. VM must be down in order to create a Template from it.",
        );
    }
    let id = st.new_id();
    let v = &st.vms[i];
    let t = FakeTemplate {
        id,
        name: req.name,
        description: req.description.unwrap_or_default(),
        memory: v.memory,
        cluster: Some(v.cluster.clone()),
        created: "2024-01-01T00:00:00.000+00:00".into(),
    };
    let out = template_xml(&t);
    st.templates.push(t);
    xml(201, &out)
}

fn delete_template(st: &mut State, id: &str) -> Reply {
    let users: Vec<&str> = st
        .vms
        .iter()
        .filter(|v| v.template == id)
        .map(|v| v.name.as_str())
        .collect();
    if !st.templates.iter().any(|t| t.id == id) {
        not_found(&format!("template {id}"))
    } else if !users.is_empty() {
        conflict(&format!(
            "Cannot delete Template. Template is being used by the following VMs: {}.",
            users.join(",")
        ))
    } else {
        st.templates.retain(|t| t.id != id);
        complete()
    }
}

fn create_vm(st: &mut State, body: &str) -> Reply {
    let Some(req) = parse::<NewVmReq>(body) else {
        return bad_request("Cannot parse the VM");
    };
    let tid = req.template.id();
    let cid = req.cluster.id();
    let Some(memory) = st.templates.iter().find(|t| t.id == tid).map(|t| t.memory) else {
        return not_found(&format!("template {tid}"));
    };
    if !st.clusters.iter().any(|c| c.0 == cid) {
        return not_found(&format!("cluster {cid}"));
    }
    if req.name.is_empty() || st.vms.iter().any(|v| v.name == req.name) {
        return conflict("Cannot add VM. The given name is already in use by another VM.");
    }
    let cores = req
        .cpu
        .and_then(|c| c.topology)
        .and_then(|t| {
            let cores = t.cores.or(t.cores_attr)?;
            let sockets = t.sockets.or(t.sockets_attr).unwrap_or(1).max(1);
            Some(cores * sockets * t.threads.unwrap_or(1).max(1))
        })
        .unwrap_or(1);
    let v = FakeVm {
        id: st.new_id(),
        name: req.name,
        cores,
        memory: req.memory.unwrap_or(memory),
        kind: req.kind.unwrap_or_else(|| "desktop".into()),
        cluster: cid,
        template: tid,
        instance_type: req.instance_type.map(|i| i.id()),
        created: "2024-01-01T00:00:00.000+00:00".into(),
        status: "image_locked".into(),
        then: Some("down".into()),
        nics: vec![nic(st.next_n(), None)],
    };
    let out = vm_xml(&v, "image_locked");
    st.vms.push(v);
    xml(202, &out)
}

fn vm_action(st: &mut State, id: &str, action: &str) -> Reply {
    let Some(i) = st.vm_index(id) else {
        return not_found(&format!("vm {id}"));
    };
    let v = &mut st.vms[i];
    let status = v.status.as_str();
    let (allowed, now, then, verb) = match action {
        "start" => (
            matches!(status, "down" | "suspended" | "paused"),
            "powering_up",
            Some("up"),
            "run",
        ),
        "shutdown" => (status == "up", "powering_down", Some("down"), "shutdown"),
        "stop" => (
            matches!(status, "up" | "powering_up" | "powering_down" | "paused"),
            "down",
            None,
            "stop",
        ),
        "reboot" => (status == "up", "reboot_in_progress", Some("up"), "reboot"),
        _ => return not_found(&format!("action {action}")),
    };
    if !allowed {
        let why = if status == "up" {
            "VM is running."
        } else {
            "VM is not running."
        };
        return conflict(&format!("Cannot {verb} VM. {why}"));
    }
    v.status = now.into();
    v.then = then.map(Into::into);
    complete()
}

fn create_disk(st: &mut State, body: &str) -> Reply {
    let Some(req) = parse::<NewDiskReq>(body) else {
        return bad_request("Cannot parse the disk");
    };
    let Some(size) = req.provisioned_size.filter(|s| *s > 0) else {
        return bad_request(
            "Disk [provisionedSize] required for add. Please provide a positive provisioned size.",
        );
    };
    let sd = req
        .storage_domains
        .unwrap_or_default()
        .items
        .first()
        .map(IdAttr::id)
        .unwrap_or_default();
    if sd != STORAGE_DOMAIN_ID {
        return not_found(&format!("storage domain {sd}"));
    }
    let d = FakeDisk {
        id: st.new_id(),
        name: req.name.or(req.alias).unwrap_or_default(),
        description: req.description,
        provisioned: size,
        actual: 0,
        storage_domain: sd,
        status: "locked".into(),
        then: Some("ok".into()),
        attachment: None,
    };
    let out = disk_xml(&d, "locked");
    st.disks.push(d);
    xml(201, &out)
}

fn delete_disk(st: &mut State, id: &str) -> Reply {
    let Some(i) = st.disk_index(id) else {
        return not_found(&format!("disk {id}"));
    };
    if let Some(a) = &st.disks[i].attachment
        && st.vm_status(&a.vm).is_some_and(|s| s != "down")
    {
        return conflict("Cannot remove Virtual Disk. Disk is attached to a running VM.");
    }
    st.disks.remove(i);
    complete()
}

fn attach_disk(st: &mut State, vm: &str, body: &str) -> Reply {
    if st.vm_index(vm).is_none() {
        return not_found(&format!("vm {vm}"));
    }
    let Some(req) = parse::<NewAttachmentReq>(body) else {
        return bad_request("Cannot parse the disk attachment");
    };
    let disk = req.disk.id();
    let Some(i) = st.disk_index(&disk) else {
        return not_found(&format!("disk {disk}"));
    };
    if let Some(a) = &st.disks[i].attachment {
        let name = st
            .vms
            .iter()
            .find(|v| v.id == a.vm)
            .map_or_else(|| a.vm.clone(), |v| v.name.clone());
        return conflict(&format!(
            "Cannot attach Virtual Disk. The disk is already attached to VM {name}."
        ));
    }
    st.disks[i].attachment = Some(Attachment {
        vm: vm.into(),
        bootable: req.bootable.unwrap_or(false),
        interface: req.interface.unwrap_or_else(|| "virtio".into()),
        active: req.active.unwrap_or(true),
    });
    let mine = attachments_xml(st, vm, Some(&disk)).concat();
    xml(201, &mine)
}

fn detach_disk(st: &mut State, vm: &str, disk: &str) -> Reply {
    match st
        .disks
        .iter_mut()
        .find(|d| d.id == disk && d.attachment.as_ref().is_some_and(|a| a.vm == vm))
    {
        Some(d) => {
            d.attachment = None;
            complete()
        }
        None => not_found(&format!("disk attachment {disk}")),
    }
}

// ---------------------------------------------------------------------------------------------
// SSO

/// `POST /ovirt-engine/sso/oauth/token`: the form parameters may come in the body or the query.
fn token(st: &mut State, query: &str, body: &str) -> Reply {
    st.token_requests += 1;
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .chain(form_urlencoded::parse(body.as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(grant), Some(user)) = (get("grant_type"), get("username")) else {
        return json(
            400,
            &serde_json::json!({
                "error_code": "invalid_request",
                "error": "The request is missing a required parameter: grant_type, username.",
            }),
        );
    };
    if grant != "password" {
        return json(
            400,
            &serde_json::json!({
                "error_code": "unsupported_grant_type",
                "error": format!("The authorization grant type '{grant}' is not supported."),
            }),
        );
    }
    if user != USER || get("password") != Some(PASSWORD) {
        return json(
            400,
            &serde_json::json!({
                "error_code": "access_denied",
                "error": format!(
                    "Cannot authenticate user '{user}': The username or password is incorrect.."
                ),
            }),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let raw = format!("{}:{}:{}", now.as_nanos(), st.next_n(), st.tokens.len());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    st.tokens.push(token.clone());
    // Engines hand out long-lived tokens; a year is plenty for any test.
    let exp = now.as_millis() + 365 * 24 * 3600 * 1000;
    json(
        200,
        &serde_json::json!({
            "access_token": token,
            "scope": get("scope").unwrap_or("ovirt-app-api"),
            "exp": exp.to_string(),
            "token_type": "bearer",
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// HTTP

fn header<'h>(headers: &'h [(String, String)], name: &str) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// How a request authenticates: `Some(None)` by an open session (or without asking for one),
/// `Some(Some(id))` by credentials with the session opened for it, `None` not at all.
fn authorize(st: &mut State, headers: &[(String, String)]) -> Option<Option<String>> {
    let presented = header(headers, "cookie")
        .flat_map(|c| c.split(';'))
        .filter_map(|c| c.trim().strip_prefix("JSESSIONID="))
        .any(|id| st.sessions.iter().any(|s| s == id));
    if presented {
        return Some(None);
    }
    let bearer = header(headers, "authorization")
        .filter_map(|v| v.strip_prefix("Bearer "))
        .any(|t| st.tokens.iter().any(|k| k == t.trim()));
    if !bearer {
        let want = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        let basic = header(headers, "authorization")
            .any(|v| v.strip_prefix("Basic ").map(str::trim) == Some(want.as_str()));
        if !basic || st.require_sso {
            return None;
        }
        st.logins += 1;
    }
    let persistent = header(headers, "prefer").any(|v| v.contains("persistent-auth"));
    if !persistent {
        return Some(None);
    }
    let id = format!("fake-session-{}", st.next_n());
    st.sessions.push(id.clone());
    Some(Some(id))
}

/// The engine's 401 page (a JBoss HTML error, as recorded).
const UNAUTHORIZED_BODY: &str = "<html><head><title>Error</title></head><body><h1>HTTP Status 401 - </h1><p>This request requires HTTP authentication ().</p></body></html>";

fn route(
    state: &Mutex<State>,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &str,
) -> Reply {
    let mut st = lock(state);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == TOKEN_PATH {
        return if matches!(method, "POST" | "GET") {
            token(&mut st, query, body)
        } else {
            not_found(path)
        };
    }
    match authorize(&mut st, headers) {
        Some(session) => Reply {
            session,
            ..handle(&mut st, method, target, body)
        },
        None => Reply {
            status: 401,
            content_type: "text/html;charset=utf-8",
            body: UNAUTHORIZED_BODY.to_owned(),
            session: None,
        },
    }
}

fn serve(
    stream: TcpStream,
    state: &Mutex<State>,
    hang: &AtomicBool,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = header(&headers, "content-length")
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    lock(state).requests.push(format!("{method} {target}"));
    if hang.load(Ordering::SeqCst) {
        // Hold the connection without answering until the test ends (or 30 s pass).
        for _ in 0..300 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(());
    }
    let reply = route(state, &method, &target, &headers, &body);
    let reason = match reply.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Other",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    if reply.status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"ENGINE\"\r\n");
    }
    if let Some(id) = &reply.session {
        let _ = write!(
            head,
            "Set-Cookie: JSESSIONID={id}; Path=/ovirt-engine; HttpOnly\r\n"
        );
    }
    head.push_str("\r\n");
    let mut out = stream;
    out.write_all(head.as_bytes())?;
    out.write_all(reply.body.as_bytes())?;
    out.flush()
}

impl FakeEngine {
    /// Start on `127.0.0.1:<ephemeral port>`.
    ///
    /// # Errors
    /// When the port cannot be bound or the accept thread cannot be spawned.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(seed()));
        let hang = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, h, st) = (Arc::clone(&state), Arc::clone(&hang), Arc::clone(&stop));
        let accept = std::thread::Builder::new()
            .name("fake-ovirt".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (s, h, st) = (Arc::clone(&s), Arc::clone(&h), Arc::clone(&st));
                    let _ = std::thread::Builder::new()
                        .name("fake-ovirt-conn".into())
                        .spawn(move || {
                            let _ = serve(conn, &s, &h, &st);
                        });
                }
            })?;
        Ok(Self {
            addr,
            state,
            hang,
            stop,
            accept: Some(accept),
        })
    }

    /// The API root, `http://127.0.0.1:PORT/ovirt-engine/api`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}{API}", self.addr)
    }

    /// The SSO token endpoint, `http://127.0.0.1:PORT/ovirt-engine/sso/oauth/token`.
    #[must_use]
    pub fn token_url(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.addr)
    }

    /// The provider string for the seeded data center: `URL;DATACENTER_ID`.
    #[must_use]
    pub fn provider(&self) -> String {
        format!("{};{DATACENTER_ID}", self.url())
    }

    /// Stop answering (connections are accepted and held), or answer again.
    pub fn set_hang(&self, on: bool) {
        self.hang.store(on, Ordering::SeqCst);
    }

    /// The status the engine holds for VM `id` now (without advancing it).
    #[must_use]
    pub fn vm_status(&self, id: &str) -> Option<String> {
        lock(&self.state).vm_status(id).map(Into::into)
    }

    /// Ids of the VMs the engine has.
    #[must_use]
    pub fn vm_ids(&self) -> Vec<String> {
        lock(&self.state).vms.iter().map(|v| v.id.clone()).collect()
    }

    /// The name the engine holds for VM `id`.
    #[must_use]
    pub fn vm_name(&self, id: &str) -> Option<String> {
        let st = lock(&self.state);
        st.vm_index(id).map(|i| st.vms[i].name.clone())
    }

    /// Template ids the engine has (including `Blank`).
    #[must_use]
    pub fn template_ids(&self) -> Vec<String> {
        lock(&self.state)
            .templates
            .iter()
            .map(|t| t.id.clone())
            .collect()
    }

    /// Ids of the disks the engine has, attached or not.
    #[must_use]
    pub fn disk_ids(&self) -> Vec<String> {
        lock(&self.state)
            .disks
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    /// The VM disk `id` is attached to; `None` when it is free or unknown.
    #[must_use]
    pub fn disk_attached_to(&self, id: &str) -> Option<String> {
        let st = lock(&self.state);
        st.disks
            .iter()
            .find(|d| d.id == id)
            .and_then(|d| d.attachment.as_ref())
            .map(|a| a.vm.clone())
    }

    /// The status the engine holds for disk `id` now (`locked`, `ok`; without advancing it).
    #[must_use]
    pub fn disk_status(&self, id: &str) -> Option<String> {
        let st = lock(&self.state);
        st.disk_index(id).map(|i| st.disks[i].status.clone())
    }

    /// `METHOD PATH` of every request received (the token endpoint's too), in order.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// How many requests authenticated with Basic credentials (logins) so far. Bearer tokens
    /// and sessions are not logins.
    #[must_use]
    pub fn logins(&self) -> u64 {
        lock(&self.state).logins
    }

    /// End every session, as an engine restart or a session timeout does.
    pub fn expire_sessions(&self) {
        lock(&self.state).sessions.clear();
    }

    /// How many requests reached the SSO token endpoint, successful or not.
    #[must_use]
    pub fn token_requests(&self) -> u64 {
        lock(&self.state).token_requests
    }

    /// Revoke every SSO token: requests bearing one get 401 (sessions already opened stay).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// Refuse HTTP Basic on the API (401), like an engine configured for SSO only, so a test
    /// can prove the client logs in through the token endpoint.
    pub fn set_require_sso(&self, on: bool) {
        lock(&self.state).require_sso = on;
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
