//! A stateful fake oVirt engine (API v4) for end-to-end tests: a loopback HTTP server whose
//! answers have the shapes of the recorded v4 inventory (`fixtures/rhevm/ovirt-v4`), seeded with
//! the same data centers, clusters, templates and VMs, and whose VMs move through the engine's
//! states when acted on.
//!
//! Only for tests (`cfg(test)` or the `fake-engine` feature). It is a plain thread with blocking
//! sockets, so it works under any async runtime and in sync tests, and it stops when dropped.
//!
//! Behaviour worth knowing when writing a test:
//! * Credentials are [`USER`] / [`PASSWORD`]; anything else gets the engine's 401.
//! * Transitional states show exactly once: a created VM is `image_locked` until the next read of
//!   it, then `down`; `start` gives `powering_up` then `up`; `shutdown` gives `powering_down`
//!   then `down`; `reboot` gives `reboot_in_progress` then `up`; `stop` powers off at once.
//! * Actions the VM's status forbids get a 409 `<fault>` with the engine's wording
//!   (`Cannot run VM. VM is running.`), as do deleting a running VM or a template in use.
//! * [`FakeEngine::set_hang`] makes it accept connections and never answer, for timeout tests.
//! * Like the engine, a request with credentials and `Prefer: persistent-auth` opens a session
//!   (`Set-Cookie: JSESSIONID=…`) that later requests may present instead; [`FakeEngine::logins`]
//!   counts credential checks and [`FakeEngine::expire_sessions`] ends every session.

use crate::xml::{
    self, Cluster, ClusterCpu, Clusters, Cpu, DataCenter, DataCenters, Display, Fault, IdRef,
    InstanceType, InstanceTypes, Ip, Ips, Mac, NewTemplate, NewVm, Nic, Nics, ReportedDevice,
    ReportedDevices, Status, Template, Templates, Topology, Vm, Vms,
};
use base64::Engine as _;
use serde::Serialize;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The engine user the fake accepts.
pub const USER: &str = "admin@internal";
/// Its password.
pub const PASSWORD: &str = "engine";
/// The data center with the templates and VMs (`newd1` in the recorded inventory).
pub const DATACENTER_ID: &str = "944df9ee-3274-43c4-908f-8c35e59e483b";
/// Its cluster (`newd1_cluster`).
pub const CLUSTER_ID: &str = "1c273044-e6ca-492f-9ac2-47381b626808";
/// The other data center (`Newd`) and its cluster (`newc`).
pub const OTHER_DATACENTER_ID: &str = "2812e1c2-fb19-4bf9-ac42-74c069a5e507";
pub const OTHER_CLUSTER_ID: &str = "b875154c-5b87-4068-aa3f-f32c4d672193";
/// Templates `template_cd1` (CirrOS) and `template_cd2` (CentOS).
pub const TEMPLATE_ID: &str = "bcdd6891-68c9-4629-8c72-668c2353ab11";
pub const TEMPLATE2_ID: &str = "5037cc2a-0268-4412-a591-ee7da56efe53";
/// VMs `vm_off` (down) and `vm_on` (up, guest IP 10.46.8.199).
pub const VM_OFF_ID: &str = "8070fa6d-5b82-412c-9d41-a00017205c73";
pub const VM_ON_ID: &str = "a1293e54-dae8-496f-baa4-27719592113e";
/// The one instance type the fake offers.
pub const INSTANCE_TYPE_ID: &str = "00000003-0003-0003-0003-0000000000be";
const BLANK: &str = "00000000-0000-0000-0000-000000000000";
const ROOT: &str = "/ovirt-engine/api/";

struct FakeVm {
    vm: Vm,
    /// Shown on the next read, then replaced by `then`.
    status: String,
    then: Option<String>,
    nics: Vec<Nic>,
}

struct State {
    datacenters: Vec<DataCenter>,
    clusters: Vec<Cluster>,
    templates: Vec<Template>,
    vms: Vec<FakeVm>,
    requests: Vec<String>,
    /// Open sessions (`JSESSIONID` values) and how many logins (credential checks) happened.
    sessions: Vec<String>,
    logins: u64,
}

/// The running fake engine.
pub struct FakeEngine {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    hang: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn dc(id: &str, name: &str) -> DataCenter {
    DataCenter {
        id: id.into(),
        name: name.into(),
        description: None,
        status: Some(Status::new("up")),
    }
}

fn cluster(id: &str, name: &str, dc: Option<&str>) -> Cluster {
    Cluster {
        id: id.into(),
        name: name.into(),
        description: None,
        cpu: Some(ClusterCpu {
            architecture: Some("x86_64".into()),
            kind: Some("Intel Westmere Family".into()),
        }),
        data_center: dc.map(IdRef::new),
    }
}

fn cpu(cores: u32) -> Cpu {
    Cpu {
        architecture: Some("x86_64".into()),
        topology: Some(Topology {
            cores: Some(cores),
            sockets: Some(1),
            threads: Some(1),
            ..Topology::default()
        }),
    }
}

fn template(id: &str, name: &str, desc: &str, cluster: Option<&str>, created: &str) -> Template {
    Template {
        id: id.into(),
        name: name.into(),
        description: Some(desc.into()),
        cpu: Some(cpu(1)),
        creation_time: Some(created.into()),
        memory: Some(1 << 30),
        kind: Some("desktop".into()),
        cluster: cluster.map(IdRef::new),
        status: Some(Status::new("ok")),
    }
}

fn nic(n: u64, ip: Option<&str>) -> Nic {
    Nic {
        id: format!("40c3c841-74be-461f-ac6c-{n:012x}"),
        name: "nic1".into(),
        mac: Some(Mac {
            address_attr: None,
            address: Some(format!("00:1a:4a:16:01:{:02x}", n % 256)),
        }),
        reported_devices: ip.map(|ip| ReportedDevices {
            items: vec![ReportedDevice {
                ips: Some(Ips {
                    items: vec![Ip {
                        address_attr: None,
                        address: Some(ip.into()),
                        version: Some("v4".into()),
                    }],
                }),
            }],
        }),
    }
}

fn vm(id: &str, name: &str, status: &str, template: &str, memory: u64, created: &str) -> Vm {
    Vm {
        id: id.into(),
        name: name.into(),
        description: Some(String::new()),
        cpu: Some(cpu(1)),
        creation_time: Some(created.into()),
        display: Some(Display {
            kind: Some("spice".into()),
            address: None,
            port: None,
        }),
        memory: Some(memory),
        kind: Some("desktop".into()),
        status: Some(Status::new(status)),
        cluster: Some(IdRef::new(CLUSTER_ID)),
        template: Some(IdRef::new(template)),
        instance_type: None,
        guest_info: None,
    }
}

fn seed() -> State {
    State {
        datacenters: vec![dc(OTHER_DATACENTER_ID, "Newd"), dc(DATACENTER_ID, "newd1")],
        clusters: vec![
            cluster("5a55d518-00c7-00ef-015b-000000000055", "Default", None),
            cluster(OTHER_CLUSTER_ID, "newc", Some(OTHER_DATACENTER_ID)),
            cluster(CLUSTER_ID, "newd1_cluster", Some(DATACENTER_ID)),
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
                vm: vm(
                    VM_OFF_ID,
                    "vm_off",
                    "down",
                    TEMPLATE_ID,
                    1 << 30,
                    "2019-08-20T12:57:43.049+03:00",
                ),
                status: "down".into(),
                then: None,
                nics: vec![nic(4, None)],
            },
            FakeVm {
                vm: vm(
                    VM_ON_ID,
                    "vm_on",
                    "up",
                    TEMPLATE2_ID,
                    2 << 30,
                    "2019-08-20T15:13:17.128+03:00",
                ),
                status: "up".into(),
                then: None,
                nics: vec![nic(5, Some("10.46.8.199"))],
            },
        ],
        requests: Vec::new(),
        sessions: Vec::new(),
        logins: 0,
    }
}

/// One HTTP answer.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
}

fn xml_reply<T: Serialize>(status: u16, v: &T) -> Reply {
    let body = match xml::to_xml(v) {
        Ok(b) => format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n{b}"),
        Err(e) => {
            return Reply {
                status: 500,
                content_type: "text/plain",
                body: format!("fake engine cannot encode: {e}"),
            };
        }
    };
    Reply {
        status,
        content_type: "application/xml;charset=UTF-8",
        body,
    }
}

fn fault(status: u16, reason: &str, detail: &str) -> Reply {
    xml_reply(
        status,
        &Fault {
            reason: Some(reason.into()),
            detail: Some(format!("[{detail}]")),
        },
    )
}

fn not_found(what: &str) -> Reply {
    fault(404, "Not Found", &format!("Entity not found: {what}"))
}

impl State {
    fn vm_view(&mut self, i: usize) -> Vm {
        let Some(f) = self.vms.get_mut(i) else {
            return Vm::default();
        };
        let mut v = f.vm.clone();
        v.status = Some(Status::new(&f.status));
        if let Some(next) = f.then.take() {
            f.status = next;
        }
        v
    }

    fn vm_index(&self, id: &str) -> Option<usize> {
        self.vms.iter().position(|v| v.vm.id == id)
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0x1000);

fn new_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("f0000000-0000-4000-8000-{n:012x}")
}

fn handle(state: &Mutex<State>, method: &str, path: &str, body: &str) -> Reply {
    let Some(rest) = path.strip_prefix(ROOT) else {
        return not_found(path);
    };
    let rest = rest
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let segs: Vec<&str> = rest.split('/').collect();
    let mut st = lock(state);
    match (method, segs.as_slice()) {
        ("GET", ["datacenters"]) => xml_reply(
            200,
            &DataCenters {
                items: st.datacenters.clone(),
            },
        ),
        ("GET", ["clusters"]) => xml_reply(
            200,
            &Clusters {
                items: st.clusters.clone(),
            },
        ),
        ("GET", ["instancetypes"]) => xml_reply(
            200,
            &InstanceTypes {
                items: vec![InstanceType {
                    id: INSTANCE_TYPE_ID.into(),
                    name: "Small".into(),
                    description: Some("Small Instance Type".into()),
                    cpu: Some(cpu(1)),
                    memory: Some(2 << 30),
                }],
            },
        ),
        ("GET", ["templates"]) => xml_reply(
            200,
            &Templates {
                items: st.templates.clone(),
            },
        ),
        ("GET", ["templates", id]) => match st.templates.iter().find(|t| t.id == *id) {
            Some(t) => xml_reply(200, t),
            None => not_found(&format!("template {id}")),
        },
        ("POST", ["templates"]) => {
            let Ok(req) = xml::from_xml::<NewTemplate>(body) else {
                return fault(400, "Bad Request", "Cannot parse the template");
            };
            let vm_id = req.vm.id.unwrap_or_default();
            let Some(i) = st.vm_index(&vm_id) else {
                return not_found(&format!("vm {vm_id}"));
            };
            if st.vms[i].status != "down" {
                return fault(
                    409,
                    "Operation Failed",
                    "Cannot add Template. VM must be down in order to create a Template from it.",
                );
            }
            let t = Template {
                id: new_id(),
                name: req.name,
                description: req.description,
                cluster: st.vms[i].vm.cluster.clone(),
                status: Some(Status::new("ok")),
                ..template("", "", "", None, "2024-01-01T00:00:00.000+00:00")
            };
            st.templates.push(t.clone());
            xml_reply(201, &t)
        }
        ("DELETE", ["templates", id]) => {
            let users: Vec<String> = st
                .vms
                .iter()
                .filter(|v| v.vm.template.as_ref().and_then(|t| t.id.as_deref()) == Some(*id))
                .map(|v| v.vm.name.clone())
                .collect();
            if !st.templates.iter().any(|t| t.id == *id) {
                not_found(&format!("template {id}"))
            } else if !users.is_empty() {
                fault(
                    409,
                    "Operation Failed",
                    &format!(
                        "Cannot delete Template. Template is being used by the following VMs: {}.",
                        users.join(",")
                    ),
                )
            } else {
                st.templates.retain(|t| t.id != *id);
                xml_reply(200, &xml::Action::default())
            }
        }
        ("GET", ["vms"]) => {
            let items = (0..st.vms.len()).map(|i| st.vm_view(i)).collect();
            xml_reply(200, &Vms { items })
        }
        ("GET", ["vms", id]) => match st.vm_index(id) {
            Some(i) => {
                let v = st.vm_view(i);
                xml_reply(200, &v)
            }
            None => not_found(&format!("vm {id}")),
        },
        ("GET", ["vms", id, "nics"]) => match st.vm_index(id) {
            Some(i) => xml_reply(
                200,
                &Nics {
                    items: st.vms[i].nics.clone(),
                },
            ),
            None => not_found(&format!("vm {id}")),
        },
        ("POST", ["vms"]) => create_vm(&mut st, body),
        ("POST", ["vms", id, action]) => vm_action(&mut st, id, action),
        ("DELETE", ["vms", id]) => match st.vm_index(id) {
            None => not_found(&format!("vm {id}")),
            Some(i) if st.vms[i].status != "down" => {
                fault(409, "Operation Failed", "Cannot remove VM. VM is running.")
            }
            Some(i) => {
                st.vms.remove(i);
                xml_reply(200, &xml::Action::default())
            }
        },
        _ => not_found(path),
    }
}

fn create_vm(st: &mut State, body: &str) -> Reply {
    let Ok(req) = xml::from_xml::<NewVm>(body) else {
        return fault(400, "Bad Request", "Cannot parse the VM");
    };
    let tid = req.template.id.clone().unwrap_or_default();
    let cid = req.cluster.id.clone().unwrap_or_default();
    let Some(t) = st.templates.iter().find(|t| t.id == tid).cloned() else {
        return not_found(&format!("template {tid}"));
    };
    if !st.clusters.iter().any(|c| c.id == cid) {
        return not_found(&format!("cluster {cid}"));
    }
    if req.name.is_empty() || st.vms.iter().any(|v| v.vm.name == req.name) {
        return fault(
            409,
            "Operation Failed",
            "Cannot add VM. The given name is already in use by another VM.",
        );
    }
    let id = new_id();
    let cores = req
        .cpu
        .as_ref()
        .and_then(|c| c.topology.as_ref())
        .and_then(Topology::vcpus)
        .unwrap_or(1);
    let mut v = vm(
        &id,
        &req.name,
        "image_locked",
        &tid,
        req.memory.or(t.memory).unwrap_or(1 << 30),
        "2024-01-01T00:00:00.000+00:00",
    );
    v.cpu = Some(cpu(cores));
    v.cluster = Some(IdRef::new(&cid));
    v.kind = req.kind.clone().or(v.kind);
    v.instance_type = req.instance_type.clone();
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    st.vms.push(FakeVm {
        vm: v.clone(),
        status: "image_locked".into(),
        then: Some("down".into()),
        nics: vec![nic(n, None)],
    });
    v.status = Some(Status::new("image_locked"));
    xml_reply(202, &v)
}

fn vm_action(st: &mut State, id: &str, action: &str) -> Reply {
    let Some(i) = st.vm_index(id) else {
        return not_found(&format!("vm {id}"));
    };
    let f = &mut st.vms[i];
    let status = f.status.clone();
    let (allowed, now, then, verb) = match action {
        "start" => (
            matches!(status.as_str(), "down" | "suspended" | "paused"),
            "powering_up",
            Some("up"),
            "run",
        ),
        "shutdown" => (status == "up", "powering_down", Some("down"), "shutdown"),
        "stop" => (
            matches!(
                status.as_str(),
                "up" | "powering_up" | "powering_down" | "paused"
            ),
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
        return fault(409, "Operation Failed", &format!("Cannot {verb} VM. {why}"));
    }
    f.status = now.into();
    f.then = then.map(Into::into);
    xml_reply(
        200,
        &xml::Action {
            status: Some(Status::new("complete")),
        },
    )
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// How a request authenticates: `Some(None)` by an open session, `Some(Some(id))` by
/// credentials (with the session opened for it, if it asked for one), `None` not at all.
fn authorize(state: &Mutex<State>, headers: &[(String, String)]) -> Option<Option<String>> {
    let mut st = lock(state);
    let presented = header(headers, "cookie")
        .flat_map(|c| c.split(';'))
        .filter_map(|c| c.trim().strip_prefix("JSESSIONID="))
        .any(|id| st.sessions.iter().any(|s| s == id));
    if presented {
        return Some(None);
    }
    let want = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let basic = header(headers, "authorization")
        .any(|v| v.strip_prefix("Basic ").map(str::trim) == Some(want.as_str()));
    if !basic {
        return None;
    }
    st.logins += 1;
    let persistent = header(headers, "prefer").any(|v| v.contains("persistent-auth"));
    if !persistent {
        return Some(None);
    }
    let id = format!("fake-session-{}", st.logins);
    st.sessions.push(id.clone());
    Some(Some(id))
}

/// The engine's 401 page (a JBoss HTML error, as recorded).
const UNAUTHORIZED_BODY: &str = "<html><head><title>Error</title></head><body><h1>HTTP Status 401 - </h1><p>This request requires HTTP authentication ().</p></body></html>";

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
    let path = parts.next().unwrap_or_default().to_owned();
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
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    lock(state).requests.push(format!("{method} {path}"));
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
    let auth = authorize(state, &headers);
    let new_session = auth.clone().flatten();
    let reply = if auth.is_some() {
        handle(state, &method, &path, &body)
    } else {
        Reply {
            status: 401,
            content_type: "text/html;charset=utf-8",
            body: UNAUTHORIZED_BODY.to_owned(),
        }
    };
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
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    if reply.status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"ENGINE\"\r\n");
    }
    if let Some(id) = new_session {
        head.push_str(&format!(
            "Set-Cookie: JSESSIONID={id}; Path=/ovirt-engine; HttpOnly\r\n"
        ));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(reply.body.as_bytes())?;
    out.flush()
}

impl FakeEngine {
    /// Start on `127.0.0.1:<ephemeral port>`.
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
        format!("http://{}/ovirt-engine/api", self.addr)
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
        let st = lock(&self.state);
        st.vm_index(id).map(|i| st.vms[i].status.clone())
    }

    /// Ids of the VMs the engine has.
    #[must_use]
    pub fn vm_ids(&self) -> Vec<String> {
        lock(&self.state)
            .vms
            .iter()
            .map(|v| v.vm.id.clone())
            .collect()
    }

    /// The name the engine holds for VM `id`.
    #[must_use]
    pub fn vm_name(&self, id: &str) -> Option<String> {
        let st = lock(&self.state);
        st.vm_index(id).map(|i| st.vms[i].vm.name.clone())
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

    /// `METHOD PATH` of every request received, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// How many requests authenticated with credentials (logins) so far.
    #[must_use]
    pub fn logins(&self) -> u64 {
        lock(&self.state).logins
    }

    /// End every session, as an engine restart or a session timeout does.
    pub fn expire_sessions(&self) {
        lock(&self.state).sessions.clear();
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
