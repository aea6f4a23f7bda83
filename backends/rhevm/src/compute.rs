//! Realms, images and instances: clusters, templates and VMs of the provider's data center.
//!
//! How a data center scopes the lists differs by version, following what each engine answers:
//! v3 engines are asked with the search language (`?search=datacenter=<name>`, exactly what the
//! original client sent and the v3 recordings hold); v4 lists are fetched whole and filtered by
//! the clusters that belong to the data center (the engine's own references, so no search
//! quoting rules are involved). A lookup of one id is a direct `GET <collection>/<id>`, as in the
//! original; 404 means "no such thing" and gives an empty list.

use crate::RhevmDriver;
use crate::client::Engine;
use crate::xml::{
    self, Cluster, Clusters, DataCenter, DataCenters, IdRef, Initialization, InstanceTypes,
    NewTemplate, NewVm, Nic, Nics, Payload, PayloadFile, Payloads, Template, Templates, Topology,
    Vm, Vms,
};
use async_trait::async_trait;
use base64::Engine as _;
use deltacloud_core::driver::{Images, Instances, Realms};
use deltacloud_core::{
    AddressType, CreateImage, CreateInstance, Error, Filter, HardwareProfile, HardwareProfileId,
    HardwareProperty, Image, ImageId, Instance, InstanceAction, InstanceAddress, InstanceId,
    InstanceProfile, InstanceState, PropertyName, Realm, RealmId, RequestContext, Result,
    StateMachine,
};
use std::collections::BTreeMap;

/// The id of the engine's `Blank` template: a template with no disk, not a usable image.
const BLANK_TEMPLATE: &str = "00000000-0000-0000-0000-000000000000";
/// Upper bound of `instance_count` (each VM is one engine call).
const MAX_INSTANCE_COUNT: u32 = 20;
const MIB: u64 = 1024 * 1024;

/// Map an engine VM status (`up`, `POWERING_DOWN`, …) to a Deltacloud state
/// (`drivers.md` §5.6). A status the table does not know becomes `UNKNOWN` with a warning,
/// rather than the original's 500 for the whole list: one odd VM should not hide the others.
#[must_use]
pub fn map_state(status: &str) -> InstanceState {
    match status.trim().to_ascii_uppercase().as_str() {
        "WAIT_FOR_LAUNCH" | "REBOOT_IN_PROGRESS" | "SAVING_STATE" | "RESTORING_STATE"
        | "POWERING_UP" | "IMAGE_LOCKED" => InstanceState::Pending,
        "POWERING_DOWN" | "MIGRATING" => InstanceState::Stopping,
        "UNASSIGNED" | "DOWN" | "NOT_RESPONDING" | "IMAGE_ILLEGAL" | "UNKNOWN" => {
            InstanceState::Stopped
        }
        "UP" | "MIGRATING_TO" | "MIGRATING_FROM" => InstanceState::Running,
        "PAUSED" | "SUSPENDED" => InstanceState::Paused,
        other => {
            tracing::warn!(target: "rhevm", status = other, "unexpected VM status");
            InstanceState::Unknown
        }
    }
}

/// The actions of a VM in `state`: the machine's, except that paused/suspended VMs get the
/// stopped actions minus `destroy` (`deltacloud-api.md` §9).
fn actions_for(machine: &StateMachine, state: InstanceState) -> Vec<InstanceAction> {
    if state == InstanceState::Paused {
        machine
            .actions_for(InstanceState::Stopped)
            .into_iter()
            .filter(|a| *a != InstanceAction::Destroy)
            .collect()
    } else {
        machine.actions_for(state)
    }
}

/// Search-language value: quoted when it holds anything but word characters.
fn search_value(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', ""))
    }
}

pub async fn datacenters(eng: &Engine<'_>) -> Result<Vec<DataCenter>> {
    Ok(eng.get::<DataCenters>("datacenters", &[]).await?.items)
}

/// The provider's data center, or the engine's first one when the provider names none.
pub(crate) async fn datacenter(eng: &Engine<'_>) -> Result<DataCenter> {
    let all = datacenters(eng).await?;
    match &eng.provider.datacenter {
        Some(id) => all.into_iter().find(|d| d.id == *id).ok_or_else(|| {
            Error::validation(format!(
                "Data center '{id}' does not exist on this engine (check the provider string)"
            ))
        }),
        None => all
            .into_iter()
            .next()
            .ok_or_else(|| Error::validation("The engine has no data center")),
    }
}

fn dc_search(dc: &DataCenter) -> String {
    format!("datacenter={}", search_value(&dc.name))
}

async fn clusters(eng: &Engine<'_>, dc: &DataCenter) -> Result<Vec<Cluster>> {
    let list: Clusters = if eng.is_v3() {
        eng.get("clusters", &[("search", &dc_search(dc))]).await?
    } else {
        eng.get("clusters", &[]).await?
    };
    Ok(list
        .items
        .into_iter()
        .filter(|c| {
            // v3 answers already scoped by the search; keep clusters that say nothing.
            c.data_center
                .as_ref()
                .and_then(|r| r.id.as_deref())
                .map_or(eng.is_v3(), |id| id == dc.id)
        })
        .collect())
}

fn in_clusters(r: Option<&IdRef>, clusters: &[Cluster]) -> bool {
    r.and_then(|r| r.id.as_deref())
        .is_some_and(|id| clusters.iter().any(|c| c.id == id))
}

pub(crate) fn single_id(f: &Filter) -> Option<&str> {
    match f.id.as_deref() {
        Some([one]) => Some(one.as_str()),
        _ => None,
    }
}

/// Refuse path segments that could address something else on the engine.
pub(crate) fn check_id(id: &str) -> Result<&str> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || id.starts_with('.')
    {
        Err(Error::not_found(format!("No such resource '{id}'")))
    } else {
        Ok(id)
    }
}

pub(crate) fn is_safe_id(id: &str) -> bool {
    check_id(id).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Realms

#[async_trait]
impl Realms for RhevmDriver {
    async fn realms(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Realm>> {
        let eng = self.engine(ctx)?;
        let dc = datacenter(&eng).await?;
        let up = dc
            .status
            .as_ref()
            .and_then(xml::Status::value)
            .is_some_and(|s| s.eq_ignore_ascii_case("up"));
        Ok(clusters(&eng, &dc)
            .await?
            .into_iter()
            .filter(|c| f.pass_id(&c.id))
            .map(|c| Realm {
                id: RealmId::new(c.id),
                name: c.name,
                state: if up { "AVAILABLE" } else { "DOWN" }.to_owned(),
                limit: None,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Hardware profiles from instance types

/// The engine's instance types as fixed profiles (v4 only; v3 engines have none, and an engine
/// that answers 404 simply has none either).
pub async fn instance_type_profiles(eng: &Engine<'_>) -> Result<Vec<HardwareProfile>> {
    if eng.is_v3() {
        return Ok(Vec::new());
    }
    let Some(list) = eng.get_opt::<InstanceTypes>("instancetypes").await? else {
        return Ok(Vec::new());
    };
    Ok(list
        .items
        .into_iter()
        .map(|t| {
            use PropertyName as P;
            let mut props = Vec::new();
            if let Some(c) = t.cpu.as_ref().and_then(|c| c.topology.as_ref()?.vcpus()) {
                props.push(HardwareProperty::fixed(P::Cpu, i64::from(c)));
            }
            if let Some(m) = t.memory {
                props.push(HardwareProperty::fixed(
                    P::Memory,
                    i64::try_from(m / MIB).unwrap_or(i64::MAX),
                ));
            }
            props.push(HardwareProperty::fixed(P::Architecture, "x86_64"));
            HardwareProfile {
                id: HardwareProfileId::new(t.id),
                name: t.name,
                properties: props,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Images

fn image_from(t: Template, owner: &str, profiles: &[HardwareProfileId]) -> Image {
    let arch = t
        .cpu
        .as_ref()
        .and_then(|c| c.architecture.clone())
        .filter(|a| !a.is_empty() && !a.eq_ignore_ascii_case("undefined"))
        .unwrap_or_else(|| "x86_64".to_owned());
    Image {
        id: ImageId::new(t.id),
        description: t
            .description
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| t.name.clone()),
        name: t.name,
        owner_id: owner.to_owned(),
        architecture: arch,
        state: t
            .status
            .as_ref()
            .and_then(xml::Status::value)
            .map(str::to_ascii_uppercase),
        creation_time: t.creation_time,
        root_type: None,
        hardware_profiles: Some(profiles.to_vec()),
    }
}

impl RhevmDriver {
    /// Every template can run with either static profile.
    fn profile_ids(&self) -> Vec<HardwareProfileId> {
        use deltacloud_core::driver::HardwareProfiles as _;
        self.static_hardware_profiles()
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }

    async fn templates(&self, eng: &Engine<'_>, f: &Filter) -> Result<Vec<Template>> {
        if let Some(id) = single_id(f) {
            if !is_safe_id(id) {
                return Ok(Vec::new());
            }
            return Ok(eng
                .get_opt::<Template>(&format!("templates/{id}"))
                .await?
                .into_iter()
                .collect());
        }
        let dc = datacenter(eng).await?;
        let list: Vec<Template> = if eng.is_v3() {
            eng.get::<Templates>("templates", &[("search", &dc_search(&dc))])
                .await?
                .items
        } else {
            let cl = clusters(eng, &dc).await?;
            eng.get::<Templates>("templates", &[])
                .await?
                .items
                .into_iter()
                .filter(|t| in_clusters(t.cluster.as_ref(), &cl))
                .collect()
        };
        Ok(list
            .into_iter()
            .filter(|t| t.id != BLANK_TEMPLATE && f.pass_id(&t.id))
            .collect())
    }
}

#[async_trait]
impl Images for RhevmDriver {
    async fn images(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Image>> {
        let eng = self.engine(ctx)?;
        let user = ctx.credentials()?.user.as_str();
        let profiles = self.profile_ids();
        Ok(self
            .templates(&eng, f)
            .await?
            .into_iter()
            .map(|t| image_from(t, user, &profiles))
            .filter(|i| Filter::pass(f.architecture.as_ref(), Some(&i.architecture)))
            .filter(|i| Filter::pass(f.owner_id.as_ref(), Some(&i.owner_id)))
            .collect())
    }

    /// A template from a (stopped) VM. The engine refuses running VMs with a fault that maps
    /// to 405.
    async fn create_image(&self, ctx: &RequestContext, req: &CreateImage) -> Result<Image> {
        let eng = self.engine(ctx)?;
        let vm = check_id(&req.instance_id)?;
        let name = match req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => format!("{}-template", generated_name("i")),
        };
        let body = NewTemplate {
            name,
            description: req.description.clone(),
            vm: IdRef::new(vm),
        };
        let t: Template = eng.post("templates", &body).await?;
        Ok(image_from(t, &ctx.credentials()?.user, &self.profile_ids()))
    }

    async fn destroy_image(&self, ctx: &RequestContext, id: &ImageId) -> Result<()> {
        let eng = self.engine(ctx)?;
        eng.delete(&format!("templates/{}", check_id(id)?)).await
    }
}

// ---------------------------------------------------------------------------------------------
// Instances

fn profile_of(vm: &Vm) -> InstanceProfile {
    let id = match vm.instance_type.as_ref().and_then(|r| r.id.clone()) {
        Some(t) => t,
        None => match vm.kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("DESKTOP") => "DESKTOP".to_owned(),
            _ => "SERVER".to_owned(),
        },
    };
    let mut overrides = BTreeMap::new();
    if let Some(m) = vm.memory {
        overrides.insert(PropertyName::Memory, (m / MIB).to_string());
    }
    if let Some(c) = vm.cpu.as_ref().and_then(|c| c.topology.as_ref()?.vcpus()) {
        overrides.insert(PropertyName::Cpu, c.to_string());
    }
    InstanceProfile {
        id: HardwareProfileId::new(id),
        overrides,
    }
}

fn ip_address(addr: &str) -> InstanceAddress {
    InstanceAddress {
        address: addr.to_owned(),
        kind: if addr.contains(':') {
            AddressType::Ipv6
        } else {
            AddressType::Ipv4
        },
        port: None,
    }
}

/// A VM and its NICs as a Deltacloud instance. Addresses: the guest's IPs (v3: the VM's
/// `guest_info`; v4: each NIC's reported devices), one `mac` per NIC, and the console as `vnc`
/// when the engine reports where it listens.
fn instance_from(vm: Vm, nics: &[Nic], owner: &str, machine: &StateMachine) -> Instance {
    let state = vm
        .status
        .as_ref()
        .and_then(xml::Status::value)
        .map_or(InstanceState::Unknown, map_state);
    let mut public: Vec<InstanceAddress> = Vec::new();
    let mut push = |a: InstanceAddress| {
        if !public.contains(&a) {
            public.push(a);
        }
    };
    let guest_ips = vm.guest_info.iter().filter_map(|g| g.ips.as_ref());
    let nic_ips = nics
        .iter()
        .filter_map(|n| n.reported_devices.as_ref())
        .flat_map(|d| d.items.iter())
        .filter_map(|d| d.ips.as_ref());
    for ips in guest_ips.chain(nic_ips) {
        for ip in &ips.items {
            if let Some(a) = ip.value().filter(|a| !a.is_empty()) {
                push(ip_address(a));
            }
        }
    }
    for n in nics {
        if let Some(m) = n.mac.as_ref().and_then(xml::Mac::value) {
            push(InstanceAddress {
                address: m.to_owned(),
                kind: AddressType::Mac,
                port: None,
            });
        }
    }
    if let Some(d) = &vm.display
        && let (Some(addr), Some(port)) = (d.address.as_deref(), d.port)
    {
        push(InstanceAddress {
            address: addr.to_owned(),
            kind: AddressType::Vnc,
            port: Some(port),
        });
    }
    let profile = profile_of(&vm);
    Instance {
        id: InstanceId::new(vm.id),
        name: Some(vm.name),
        owner_id: Some(owner.to_owned()),
        image_id: vm.template.and_then(|t| t.id).map(ImageId::new),
        realm_id: vm.cluster.and_then(|c| c.id).map(RealmId::new),
        state,
        actions: actions_for(machine, state),
        public_addresses: public,
        private_addresses: Vec::new(),
        profile: Some(profile),
        launch_time: vm.creation_time,
        keyname: None,
        username: None,
        password: None,
        authn_error: None,
        create_image: state == InstanceState::Stopped,
        firewalls: None,
        storage_volumes: None,
        network_interfaces: Some(
            nics.iter()
                .map(|n| deltacloud_core::NetworkInterfaceId::new(n.id.clone()))
                .collect(),
        ),
    }
}

/// `<prefix>-<unix millis>`: the original named VMs `i-<unix seconds>`; milliseconds keep two
/// quick creations apart (the engine refuses duplicate names).
pub(crate) fn generated_name(prefix: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{prefix}-{ms}")
}

impl RhevmDriver {
    async fn with_nics(&self, eng: &Engine<'_>, vm: Vm, owner: &str) -> Result<Instance> {
        let nics = match eng
            .get_opt::<Nics>(&format!("vms/{}/nics", check_id(&vm.id)?))
            .await?
        {
            Some(n) => n.items,
            None => Vec::new(),
        };
        Ok(instance_from(vm, &nics, owner, &self.machine))
    }

    pub(crate) async fn vms(&self, eng: &Engine<'_>, f: &Filter) -> Result<Vec<Vm>> {
        if let Some(id) = single_id(f) {
            if !is_safe_id(id) {
                return Ok(Vec::new());
            }
            return Ok(eng
                .get_opt::<Vm>(&format!("vms/{id}"))
                .await?
                .into_iter()
                .collect());
        }
        let dc = datacenter(eng).await?;
        let list = if eng.is_v3() {
            eng.get::<Vms>("vms", &[("search", &dc_search(&dc))])
                .await?
                .items
        } else {
            let cl = clusters(eng, &dc).await?;
            eng.get::<Vms>("vms", &[])
                .await?
                .items
                .into_iter()
                .filter(|v| in_clusters(v.cluster.as_ref(), &cl))
                .collect()
        };
        Ok(list.into_iter().filter(|v| f.pass_id(&v.id)).collect())
    }

    /// The VM as it is now, or 404.
    async fn fetch_instance(&self, eng: &Engine<'_>, id: &str, owner: &str) -> Result<Instance> {
        let vm = eng
            .get_opt::<Vm>(&format!("vms/{}", check_id(id)?))
            .await?
            .ok_or_else(|| Error::not_found(format!("Instance '{id}' does not exist")))?;
        self.with_nics(eng, vm, owner).await
    }

    async fn act(&self, ctx: &RequestContext, id: &InstanceId, action: &str) -> Result<Instance> {
        let eng = self.engine(ctx)?;
        let owner = ctx.credentials()?.user.as_str();
        let id = check_id(id)?;
        eng.action(&format!("vms/{id}/{action}")).await?;
        self.fetch_instance(&eng, id, owner).await
    }

    /// The sizing part of a new VM: `(type, instance type, memory bytes, cores)`.
    async fn sizing(
        &self,
        eng: &Engine<'_>,
        req: &CreateInstance,
    ) -> Result<(Option<String>, Option<IdRef>, Option<u64>, Option<u32>)> {
        use deltacloud_core::driver::HardwareProfiles as _;
        let hwp = req.hwp_id.as_ref().map_or("SERVER", |h| h.as_str());
        let statics = self.static_hardware_profiles();
        let (kind, itype, profile) = if let Some(p) = statics.iter().find(|p| p.id == *hwp) {
            let kind = if eng.is_v3() {
                hwp.to_owned()
            } else {
                hwp.to_ascii_lowercase()
            };
            (Some(kind), None, p.clone())
        } else {
            let types = instance_type_profiles(eng).await?;
            let p = types.into_iter().find(|p| p.id == *hwp).ok_or_else(|| {
                Error::validation(format!("Hardware profile '{hwp}' does not exists."))
            })?;
            (None, Some(IdRef::new(hwp)), p)
        };
        let mut memory = None;
        let mut cores = None;
        for (name, value) in &req.hwp_overrides {
            if let Some(prop) = profile.property(*name)
                && prop.is_settable()
                && !prop.admits(value)
            {
                return Err(Error::validation(format!(
                    "Value '{value}' of {} is outside hardware profile '{hwp}'",
                    name.param()
                )));
            }
            match name {
                PropertyName::Memory => {
                    let mb: f64 = value.trim().parse().map_err(|_| {
                        Error::validation(format!("Invalid hwp_memory '{value}': expected MB"))
                    })?;
                    if !(mb.is_finite() && mb > 0.0) {
                        return Err(Error::validation(format!("Invalid hwp_memory '{value}'")));
                    }
                    // Whole MiB; the range check above bounds the value.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let mb = mb.round() as u64;
                    memory = Some(mb.saturating_mul(MIB));
                }
                PropertyName::Cpu => {
                    let c: u32 = value.trim().parse().map_err(|_| {
                        Error::validation(format!("Invalid hwp_cpu '{value}': expected a count"))
                    })?;
                    if c == 0 {
                        return Err(Error::validation("hwp_cpu must be at least 1"));
                    }
                    cores = Some(c);
                }
                _ => {}
            }
        }
        Ok((kind, itype, memory, cores))
    }

    async fn create_one(
        &self,
        eng: &Engine<'_>,
        req: &CreateInstance,
        cluster: &str,
        name: String,
        owner: &str,
    ) -> Result<Instance> {
        let (kind, instance_type, memory, cores) = self.sizing(eng, req).await?;
        let mut body = NewVm {
            name,
            template: IdRef::new(check_id(&req.image_id)?),
            cluster: IdRef::new(cluster),
            kind,
            instance_type,
            memory,
            cpu: cores.map(|c| xml::Cpu {
                architecture: None,
                topology: Some(Topology::for_version(c, eng.is_v3())),
            }),
            payloads: None,
            initialization: None,
        };
        if let Some(data) = &req.user_data {
            if eng.is_v3() {
                // The original's floppy hook: base64 text without newlines in a file.
                body.payloads = Some(Payloads {
                    payload: vec![Payload {
                        kind: "floppy".to_owned(),
                        file: PayloadFile {
                            name: "deltacloud-user-data.txt".to_owned(),
                            content: base64::engine::general_purpose::STANDARD.encode(data),
                        },
                    }],
                });
            } else {
                // cloud-init, which the engine applies on the VM's first boot.
                let script = String::from_utf8(data.clone()).map_err(|_| {
                    Error::validation("user_data must be UTF-8 text (it is passed to cloud-init)")
                })?;
                body.initialization = Some(Initialization {
                    custom_script: script,
                });
            }
        }
        let vm: Vm = eng.post("vms", &body).await?;
        self.with_nics(eng, vm, owner).await
    }
}

#[async_trait]
impl Instances for RhevmDriver {
    async fn instances(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Instance>> {
        let eng = self.engine(ctx)?;
        let owner = ctx.credentials()?.user.as_str();
        let vms: Vec<Vm> = self
            .vms(&eng, f)
            .await?
            .into_iter()
            .filter(|v| {
                Filter::pass(
                    f.realm_id.as_ref(),
                    v.cluster.as_ref().and_then(|c| c.id.as_deref()),
                )
            })
            .collect();
        // The NIC lists are independent: fetch them concurrently.
        let all = futures_util::future::try_join_all(
            vms.into_iter().map(|vm| self.with_nics(&eng, vm, owner)),
        )
        .await?;
        Ok(all
            .into_iter()
            .filter(|i| Filter::pass(f.state.as_ref(), Some(i.state.as_str())))
            .filter(|i| Filter::pass(f.owner_id.as_ref(), i.owner_id.as_deref()))
            .collect())
    }

    /// A VM from `image_id` (a template) in `realm_id` (a cluster of the data center; default
    /// its first). Created VMs are down (`PENDING` while the engine copies disks); start them.
    async fn create_instance(
        &self,
        ctx: &RequestContext,
        req: &CreateInstance,
    ) -> Result<Vec<Instance>> {
        let eng = self.engine(ctx)?;
        let owner = ctx.credentials()?.user.as_str();
        if let Some(n) = &req.name
            && n.chars().count() > crate::MAX_NAME_LEN
        {
            return Err(Error::validation(format!(
                "Parameter name must be {} characters or less",
                crate::MAX_NAME_LEN
            )));
        }
        let count = req.instance_count.unwrap_or(1).max(1);
        if count > MAX_INSTANCE_COUNT {
            return Err(Error::validation(format!(
                "instance_count must be at most {MAX_INSTANCE_COUNT}"
            )));
        }
        let dc = datacenter(&eng).await?;
        let cl = clusters(&eng, &dc).await?;
        let cluster = match &req.realm_id {
            Some(r) => cl.iter().find(|c| c.id == r.as_str()).ok_or_else(|| {
                Error::validation(format!(
                    "Realm '{r}' is not a cluster of data center '{}'",
                    dc.name
                ))
            })?,
            None => cl.first().ok_or_else(|| {
                Error::validation(format!("Data center '{}' has no cluster", dc.name))
            })?,
        };
        let base = req
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| generated_name("i"));
        let mut out = Vec::new();
        for i in 0..count {
            let name = if count == 1 {
                base.clone()
            } else {
                format!("{base}-{}", i + 1)
            };
            out.push(self.create_one(&eng, req, &cluster.id, name, owner).await?);
        }
        Ok(out)
    }

    async fn start_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.act(ctx, id, "start").await
    }

    /// Graceful `shutdown`; on a VM already shutting down (`STOPPING`), `stop` powers it off:
    /// the force-stop, reachable through the state machine's `stopping → stopped (stop)`.
    async fn stop_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        let eng = self.engine(ctx)?;
        let owner = ctx.credentials()?.user.as_str();
        let current = self.fetch_instance(&eng, id, owner).await?;
        let action = if current.state == InstanceState::Stopping {
            "stop"
        } else {
            "shutdown"
        };
        drop(eng);
        self.act(ctx, id, action).await
    }

    async fn reboot_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.act(ctx, id, "reboot").await
    }

    async fn destroy_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        let eng = self.engine(ctx)?;
        eng.delete(&format!("vms/{}", check_id(id)?)).await
    }
}
