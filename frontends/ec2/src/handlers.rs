//! Executing an [`Action`] against the driver and rendering its EC2 response body.
//!
//! The mapping onto Deltacloud operations follows `ec2-frontend.md` A4 and B6. Behaviour the
//! spec leaves to us is noted where it is decided.

use crate::action::{
    ALLOCATION_PREFIX, ASSOCIATION_PREFIX, Action, GroupRef, IpPermission, RunInstances, TagSpec,
};
use crate::error::{Ec2Error, Ec2Result, Res};
use crate::filter::apply;
use crate::xml::*;
use crate::{Ec2State, Tombstone};
use deltacloud_core::{
    AddressId, AddressType, CreateFirewallRule, CreateImage, CreateInstance, CreateKey,
    CreateStorageSnapshot, CreateStorageVolume, Driver, Filter, FirewallId, FirewallSource,
    HardwareProfileId, ImageId, Instance, InstanceId, InstanceState, KeyId, PropertyName,
    PropertyValue, RealmId, RequestContext, StorageSnapshotId, StorageVolumeId,
};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The constant reservation of the original (A5): Deltacloud has no reservations.
const RESERVATION_ID: &str = "r-11111111";
/// How long a terminated instance stays visible (AWS: about an hour; B3).
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(3600);

/// Everything an action needs.
pub struct Cx<'a> {
    pub driver: Arc<dyn Driver>,
    pub rctx: RequestContext,
    pub state: &'a Ec2State,
    /// `driver/provider`: the namespace of tags and tombstones.
    pub scope: String,
    /// The backend user (the `ownerId` of what it creates).
    pub user: String,
    pub region: String,
    /// `Host` of the request, for `regionEndpoint`.
    pub host: String,
    /// The response namespace (`http://ec2.amazonaws.com/doc/<Version>/`).
    pub xmlns: String,
    /// This worker's memo of the last DescribeInstances document, if the server keeps one.
    pub memo: Option<&'a RenderMemo>,
}

/// The last DescribeInstances document this worker rendered, with everything it was rendered
/// from. Clients poll DescribeInstances (SDK waiters, libcloud, dashboards) and its answer
/// rarely changes; once the driver and the store answer from memory, building the DTOs and
/// serializing them was most of a request's cost. The key holds *every* input of the rendering
/// (the action with its ids, filters and paging, namespace, scope, owner, the driver's
/// instances, the tags, the tombstones, and the current second when a launch time is
/// unknown), and a hit needs them all equal, so a hit returns
/// exactly what rendering would have, with the request's own id put in.
///
/// One per worker thread (registered in `configure`), so a `RefCell` suffices; the borrow is
/// never held across an `.await`.
#[derive(Default)]
pub struct RenderMemo {
    slot: std::cell::RefCell<Option<(DescribeKey, Arc<Prerendered>)>>,
}

struct DescribeKey {
    /// The current Unix second, when some launch time is unknown and shows as "now".
    now: Option<i64>,
    action: Action,
    xmlns: String,
    scope: String,
    user: String,
    instances: Arc<Vec<Instance>>,
    tags: Arc<Vec<crate::store::TagRow>>,
    tombstones: Vec<InstanceDto>,
}

/// A [`DescribeKey`]'s fields borrowed from the request, so a hit copies nothing.
struct DescribeInputs<'k> {
    now: Option<i64>,
    action: &'k Action,
    xmlns: &'k str,
    scope: &'k str,
    user: &'k str,
    instances: &'k Arc<Vec<Instance>>,
    tags: &'k Arc<Vec<crate::store::TagRow>>,
    tombstones: &'k [InstanceDto],
}

impl DescribeKey {
    /// Every field equal (`Arc`'s equality tries the pointer first).
    fn matches(&self, i: &DescribeInputs<'_>) -> bool {
        self.now == i.now
            && self.action == *i.action
            && self.xmlns == i.xmlns
            && self.scope == i.scope
            && self.user == i.user
            && self.instances == *i.instances
            && self.tags == *i.tags
            && self.tombstones == i.tombstones
    }

    fn from_inputs(i: &DescribeInputs<'_>) -> Self {
        Self {
            now: i.now,
            action: i.action.clone(),
            xmlns: i.xmlns.to_owned(),
            scope: i.scope.to_owned(),
            user: i.user.to_owned(),
            instances: Arc::clone(i.instances),
            tags: Arc::clone(i.tags),
            tombstones: i.tombstones.to_vec(),
        }
    }
}

/// A whole response document cut where the request id goes.
#[derive(Debug)]
pub struct Prerendered {
    head: String,
    tail: String,
}

/// Stands in for the request id while a document is rendered for the memo; a UUID never
/// contains it.
const ID_MARK: &str = "@@request-id@@";

impl Prerendered {
    fn render(body: &dyn erased::Body, root: &str, xmlns: &str) -> Ec2Result<Self> {
        let doc = body.render(root, xmlns, ID_MARK).map_err(|e| {
            tracing::error!(error = %e, "cannot render EC2 response");
            Ec2Error::internal()
        })?;
        let (head, tail) = doc.split_once(ID_MARK).ok_or_else(Ec2Error::internal)?;
        Ok(Self {
            head: head.to_owned(),
            tail: tail.to_owned(),
        })
    }
}

/// A memoized document as a response body (a newtype: `Arc` is foreign, and `Body` has a
/// blanket impl for serializable types).
struct SharedDoc(Arc<Prerendered>);

impl erased::Body for SharedDoc {
    fn render(
        &self,
        _root: &str,
        _xmlns: &str,
        request_id: &str,
    ) -> Result<String, quick_xml::SeError> {
        let doc = &self.0;
        let mut out = String::with_capacity(doc.head.len() + request_id.len() + doc.tail.len());
        out.push_str(&doc.head);
        out.push_str(request_id);
        out.push_str(&doc.tail);
        Ok(out)
    }
}

/// A rendered body, to be wrapped in the action's envelope.
pub type Body = Box<dyn erased::Body>;

/// Serializable bodies behind one type, so [`execute`] can return any of them.
pub mod erased {
    /// A response body that can render itself inside an envelope.
    pub trait Body: Send {
        /// # Errors
        /// Serialization errors.
        fn render(
            &self,
            root: &str,
            xmlns: &str,
            request_id: &str,
        ) -> Result<String, quick_xml::SeError>;
    }

    impl<T: serde::Serialize + Send> Body for T {
        fn render(
            &self,
            root: &str,
            xmlns: &str,
            request_id: &str,
        ) -> Result<String, quick_xml::SeError> {
            crate::xml::to_document(
                root,
                &crate::xml::Envelope {
                    xmlns,
                    request_id,
                    body: self,
                },
            )
        }
    }
}

fn body<T: Serialize + Send + 'static>(t: T) -> Ec2Result<Body> {
    Ok(Box::new(t))
}

fn core(res: Res) -> impl Fn(deltacloud_core::Error) -> Ec2Error {
    move |e| Ec2Error::from_core(&e, res)
}

fn store_err(e: crate::store::StoreError) -> Ec2Error {
    tracing::error!(error = %e, "EC2 store failure");
    Ec2Error::internal()
}

fn now_iso() -> String {
    iso(time::OffsetDateTime::now_utc())
}

/// The current second (milliseconds `.000`): what an unknown launch time is reported as (A5
/// says "the current time"). Whole seconds let polled documents be reused within a second.
fn now_iso_second() -> String {
    let now = time::OffsetDateTime::now_utc();
    iso(now.replace_nanosecond(0).unwrap_or(now))
}

fn iso(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Providers' free-form time strings (`Thu Jul 30 14:35:11 UTC 2009`, `Thu Oct 25 14:27:53 CEST
/// 2012`, RFC 3339, `2013-06-01 12:00:00 +0200`) as ISO 8601 UTC with milliseconds (B1); `None`
/// when the string cannot be read, so callers omit the element or substitute, rather than
/// sending a value clients' date parsers reject (libcloud raises on it).
fn to_iso(s: &str) -> Option<String> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    let s = s.trim();
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(iso(t));
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc2822) {
        return Some(iso(t));
    }
    let ruby = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(t) = time::OffsetDateTime::parse(s, &ruby) {
        return Some(iso(t));
    }
    // `date(1)` style with a zone abbreviation: swap the abbreviation for its offset.
    let parts: Vec<&str> = s.split_whitespace().collect();
    if let [wd, mon, day, hms, zone, year] = parts.as_slice() {
        let offset = match *zone {
            "UTC" | "GMT" | "Z" => "+0000",
            "CET" | "BST" => "+0100",
            "CEST" | "EET" => "+0200",
            "EEST" => "+0300",
            "EST" => "-0500",
            "EDT" | "CST" => {
                if *zone == "CST" {
                    "-0600"
                } else {
                    "-0400"
                }
            }
            "CDT" => "-0500",
            "MST" => "-0700",
            "MDT" => "-0600",
            "PST" => "-0800",
            "PDT" => "-0700",
            _ => return None,
        };
        let fmt = time::macros::format_description!(
            "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] [year] [offset_hour sign:mandatory][offset_minute]"
        );
        let text = format!("{wd} {mon} {day} {hms} {year} {offset}");
        return time::OffsetDateTime::parse(&text, &fmt).ok().map(iso);
    }
    None
}

/// EC2 state code and name of a Deltacloud state (B3).
#[must_use]
pub const fn ec2_state(s: InstanceState) -> StateDto {
    match s {
        InstanceState::Start | InstanceState::Pending | InstanceState::Unknown => StateDto {
            code: 0,
            name: "pending",
        },
        InstanceState::Running => StateDto {
            code: 16,
            name: "running",
        },
        InstanceState::ShuttingDown => StateDto {
            code: 32,
            name: "shutting-down",
        },
        InstanceState::Finish => TERMINATED,
        InstanceState::Stopping => StateDto {
            code: 64,
            name: "stopping",
        },
        InstanceState::Stopped | InstanceState::Paused | InstanceState::Error => StateDto {
            code: 80,
            name: "stopped",
        },
    }
}

const TERMINATED: StateDto = StateDto {
    code: 48,
    name: "terminated",
};

/// Tags of one resource, from the scope's tag rows.
fn tags_of(rows: &HashMap<String, Vec<TagDto>>, id: &str) -> Items<TagDto> {
    rows.get(id).cloned().unwrap_or_default().into()
}

impl Default for Items<TagDto> {
    fn default() -> Self {
        Self::empty()
    }
}

impl Cx<'_> {
    /// The tags of this scope, from the store's read cache.
    async fn tag_rows(&self) -> Ec2Result<Arc<Vec<crate::store::TagRow>>> {
        self.state
            .store
            .tags_cached(&self.scope)
            .await
            .map_err(store_err)
    }

    async fn tag_map(&self) -> Ec2Result<HashMap<String, Vec<TagDto>>> {
        let rows = self.tag_rows().await?;
        let mut out: HashMap<String, Vec<TagDto>> = HashMap::new();
        for r in rows.iter() {
            out.entry(r.resource_id.clone()).or_default().push(TagDto {
                key: r.key.clone(),
                value: r.value.clone(),
            });
        }
        Ok(out)
    }

    async fn put_tags(&self, id: &str, kind: &str, tags: &[(String, String)]) -> Ec2Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let (scope, id, kind, tags) = (
            self.scope.clone(),
            id.to_owned(),
            kind.to_owned(),
            tags.to_vec(),
        );
        self.state
            .store
            .run(move |s| s.put_tags(&scope, &id, &kind, &tags))
            .await
            .map_err(store_err)
    }

    fn architecture(&self, i: &Instance) -> String {
        let Some(p) = &i.profile else {
            return "i386".to_owned();
        };
        if let Some(a) = p.overrides.get(&PropertyName::Architecture) {
            return a.clone();
        }
        self.driver
            .static_hardware_profiles()
            .iter()
            .find(|h| h.id == p.id)
            .and_then(|h| h.property(PropertyName::Architecture))
            .and_then(|prop| prop.default_value())
            .map_or_else(|| "i386".to_owned(), ToString::to_string)
    }

    fn instance_dto(&self, i: &Instance, index: usize, tags: Items<TagDto>) -> InstanceDto {
        let ip = |list: &[deltacloud_core::InstanceAddress]| {
            list.iter()
                .find(|a| matches!(a.kind, AddressType::Ipv4 | AddressType::Ipv6))
                .map(|a| a.address.clone())
        };
        let dns = |list: &[deltacloud_core::InstanceAddress]| {
            list.iter()
                .find(|a| a.kind == AddressType::Hostname)
                .map(|a| a.address.clone())
                .unwrap_or_default()
        };
        let state = ec2_state(i.state);
        InstanceDto {
            instance_id: i.id.to_string(),
            image_id: i
                .image_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            state,
            private_dns_name: dns(&i.private_addresses),
            dns_name: dns(&i.public_addresses),
            reason: String::new(),
            key_name: i.keyname.clone().filter(|k| !k.is_empty()),
            ami_launch_index: index,
            product_codes: Items::empty(),
            instance_type: i
                .profile
                .as_ref()
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
            launch_time: i
                .launch_time
                .as_deref()
                .and_then(to_iso)
                .unwrap_or_else(now_iso_second),
            placement: PlacementDto {
                availability_zone: i
                    .realm_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                group_name: String::new(),
                tenancy: "default",
            },
            monitoring: MonitoringDto { state: "disabled" },
            private_ip: ip(&i.private_addresses),
            public_ip: ip(&i.public_addresses),
            source_dest_check: true,
            groups: i
                .firewalls
                .iter()
                .flatten()
                .map(|f| GroupDto {
                    group_id: f.to_string(),
                    group_name: f.to_string(),
                })
                .collect::<Vec<_>>()
                .into(),
            state_reason: matches!(i.state, InstanceState::Error | InstanceState::Paused).then(
                || StateReasonDto {
                    code: format!("Server.{}", i.state.machine_name()),
                    message: format!("The backend reports the instance as {}", i.state),
                },
            ),
            architecture: self.architecture(i),
            root_device_type: "instance-store",
            root_device_name: "/dev/sda1",
            block_devices: i
                .storage_volumes
                .iter()
                .flatten()
                .map(|(v, dev)| BlockDeviceDto {
                    device_name: dev.clone(),
                    ebs: EbsDto {
                        volume_id: v.to_string(),
                        status: "attached",
                        attach_time: now_iso(),
                        delete_on_termination: false,
                    },
                })
                .collect::<Vec<_>>()
                .into(),
            virtualization_type: "hvm",
            tags,
            hypervisor: "xen",
            network_interfaces: Items::empty(),
            ebs_optimized: false,
        }
    }

    fn reservation(&self, instances: Vec<InstanceDto>) -> ReservationDto {
        ReservationDto {
            reservation_id: RESERVATION_ID.to_owned(),
            owner_id: self.user.clone(),
            groups: Items::empty(),
            instances: instances.into(),
        }
    }

    fn tombstones(&self) -> Vec<InstanceDto> {
        let Ok(mut map) = self.state.tombstones.lock() else {
            return Vec::new();
        };
        map.retain(|_, t| t.at.elapsed() < TOMBSTONE_TTL);
        map.iter()
            .filter(|((scope, _), _)| *scope == self.scope)
            .map(|(_, t)| t.dto.clone())
            .collect()
    }

    fn bury(&self, mut dto: InstanceDto) {
        dto.state = TERMINATED;
        dto.state_reason = Some(StateReasonDto {
            code: "Client.UserInitiatedShutdown".to_owned(),
            message: "Client.UserInitiatedShutdown: User initiated shutdown".to_owned(),
        });
        if let Ok(mut map) = self.state.tombstones.lock() {
            map.insert(
                (self.scope.clone(), dto.instance_id.clone()),
                Tombstone {
                    dto,
                    at: Instant::now(),
                },
            );
        }
    }

    /// Current instances as EC2 items, plus tombstones of recently terminated ones.
    async fn all_instances(&self) -> Ec2Result<Vec<InstanceDto>> {
        let list = self
            .driver
            .instances(&self.rctx, &Filter::default())
            .await
            .map_err(core(Res::Instance))?;
        let tags = self.tag_map().await?;
        let mut out: Vec<InstanceDto> = list
            .iter()
            .map(|i| self.instance_dto(i, 0, tags_of(&tags, &i.id)))
            .collect();
        for t in self.tombstones() {
            if !out.iter().any(|i| i.instance_id == t.instance_id) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// One live instance, or `InvalidInstanceID.NotFound`.
    async fn instance(&self, id: &str) -> Ec2Result<Instance> {
        self.driver
            .instance(&self.rctx, &InstanceId::new(id))
            .await
            .map_err(core(Res::Instance))?
            .ok_or_else(|| Ec2Error::not_found(Res::Instance, id))
    }
}

/// Keep the items whose id is in `ids` (all when empty); any requested id not present is the
/// resource's `NotFound` error (B4: not an empty set).
fn select<T>(
    items: Vec<T>,
    ids: &[String],
    id: impl Fn(&T) -> &str,
    res: Res,
) -> Ec2Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(items);
    }
    if let Some(missing) = ids
        .iter()
        .find(|want| !items.iter().any(|i| id(i) == want.as_str()))
    {
        return Err(Ec2Error::not_found(res, missing));
    }
    Ok(items
        .into_iter()
        .filter(|i| ids.iter().any(|w| w == id(i)))
        .collect())
}

fn opt(v: Option<impl ToString>) -> Vec<String> {
    v.map(|x| vec![x.to_string()]).unwrap_or_default()
}

/// Opaque pagination token: the offset of the next page.
fn encode_token(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Ec2Result<usize> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| Ec2Error::invalid_value(format!("Invalid NextToken: '{token}'")))
}

fn instance_field(i: &InstanceDto, name: &str) -> Option<Vec<String>> {
    Some(match name {
        "instance-id" => vec![i.instance_id.clone()],
        "instance-state-name" => vec![i.state.name.to_owned()],
        "instance-state-code" => vec![i.state.code.to_string()],
        "image-id" => vec![i.image_id.clone()],
        "instance-type" => vec![i.instance_type.clone()],
        "availability-zone" => vec![i.placement.availability_zone.clone()],
        "key-name" => opt(i.key_name.clone()),
        "ip-address" => opt(i.public_ip.clone()),
        "private-ip-address" => opt(i.private_ip.clone()),
        "dns-name" => vec![i.dns_name.clone()],
        "private-dns-name" => vec![i.private_dns_name.clone()],
        "reservation-id" => vec![RESERVATION_ID.to_owned()],
        "architecture" => vec![i.architecture.clone()],
        "root-device-type" => vec![i.root_device_type.to_owned()],
        "instance.group-id" | "group-id" | "instance.group-name" | "group-name" => {
            i.groups.item.iter().map(|g| g.group_id.clone()).collect()
        }
        _ => return None,
    })
}

fn lower_state(s: Option<&str>, default: &str) -> String {
    s.map_or_else(
        || default.to_owned(),
        |s| s.to_ascii_lowercase().replace('_', "-"),
    )
}

/// Run one action.
///
/// # Errors
/// The EC2 error the action ends in.
pub async fn execute(cx: &Cx<'_>, action: Action) -> Ec2Result<Body> {
    match action {
        Action::DescribeInstances { .. } => describe_instances_memo(cx, action).await,
        other => execute_uncached(cx, other).await,
    }
}

/// DescribeInstances through the worker's [`RenderMemo`].
async fn describe_instances_memo(cx: &Cx<'_>, action: Action) -> Ec2Result<Body> {
    let Some(memo) = cx.memo else {
        return execute_uncached(cx, action).await;
    };
    // Shared: while the driver's list is unchanged it is the very `Arc` the memo holds, and
    // the comparison below is a pointer comparison (`Arc`'s `PartialEq` for `Eq` contents).
    let instances = cx
        .driver
        .instances_shared(&cx.rctx, &Filter::default())
        .await
        .map_err(core(Res::Instance))?;
    // An unknown launch time is reported as the current second, which the key must then hold.
    // Whether any is unknown depends on the list alone: known when it is the memo's.
    let memo_says = memo
        .slot
        .borrow()
        .as_ref()
        .filter(|(k, _)| Arc::ptr_eq(&k.instances, &instances))
        .map(|(k, _)| k.now.is_some());
    let now = memo_says
        .unwrap_or_else(|| {
            instances
                .iter()
                .any(|i| i.launch_time.as_deref().and_then(to_iso).is_none())
        })
        .then(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let tags = cx.tag_rows().await?;
    let tombstones = cx.tombstones();
    let inputs = DescribeInputs {
        now,
        action: &action,
        xmlns: &cx.xmlns,
        scope: &cx.scope,
        user: &cx.user,
        instances: &instances,
        tags: &tags,
        tombstones: &tombstones,
    };
    if let Some((k, doc)) = memo.slot.borrow().as_ref()
        && k.matches(&inputs)
    {
        return Ok(Box::new(SharedDoc(Arc::clone(doc))));
    }
    let key = DescribeKey::from_inputs(&inputs);
    let body = execute_uncached(cx, action).await?;
    let doc = Arc::new(Prerendered::render(
        body.as_ref(),
        "DescribeInstancesResponse",
        &cx.xmlns,
    )?);
    *memo.slot.borrow_mut() = Some((key, Arc::clone(&doc)));
    Ok(Box::new(SharedDoc(doc)))
}

/// Every action, computed and rendered afresh.
#[allow(clippy::too_many_lines)]
async fn execute_uncached(cx: &Cx<'_>, action: Action) -> Ec2Result<Body> {
    match action {
        Action::DescribeRegions { names, filters } => {
            let mut regions: Vec<(String, String)> = match cx.driver.providers(&cx.rctx).await {
                Ok(list) if !list.is_empty() => list
                    .into_iter()
                    .map(|p| (p.id, p.url.unwrap_or_default()))
                    .collect(),
                Ok(_) => Vec::new(),
                Err(e) if e.kind() == deltacloud_core::ErrorKind::NotSupported => Vec::new(),
                Err(e) => return Err(Ec2Error::from_core(&e, Res::Other)),
            };
            if regions.is_empty() {
                // One region: this gateway, under the configured name.
                regions.push((cx.region.clone(), format!("{}/ec2", cx.host)));
            }
            let dtos: Vec<RegionDto> = regions
                .into_iter()
                .map(|(name, endpoint)| RegionDto {
                    name,
                    endpoint,
                    opt_in: "opt-in-not-required",
                })
                .collect();
            let dtos = select(dtos, &names, |r| &r.name, Res::Other)
                .map_err(|_| Ec2Error::invalid_value("Invalid region name"))?;
            let dtos = apply(
                dtos,
                &filters,
                |r, n| match n {
                    "region-name" => Some(vec![r.name.clone()]),
                    "endpoint" => Some(vec![r.endpoint.clone()]),
                    "opt-in-status" => Some(vec![r.opt_in.to_owned()]),
                    _ => None,
                },
                |_| &[],
            )?;
            body(RegionsBody {
                regions: dtos.into(),
            })
        }
        Action::DescribeAvailabilityZones { names, filters } => {
            let realms = cx
                .driver
                .realms(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Zone))?;
            let dtos: Vec<ZoneDto> = realms
                .into_iter()
                .map(|r| ZoneDto {
                    zone_id: r.id.to_string(),
                    name: r.id.to_string(),
                    state: if r.state.eq_ignore_ascii_case("available") {
                        "available"
                    } else {
                        "unavailable"
                    },
                    region: cx.region.clone(),
                    zone_type: "availability-zone",
                    messages: Items::empty(),
                })
                .collect();
            let dtos = select(dtos, &names, |z| &z.name, Res::Zone)?;
            let dtos = apply(
                dtos,
                &filters,
                |z, n| match n {
                    "zone-name" => Some(vec![z.name.clone()]),
                    "zone-id" => Some(vec![z.zone_id.clone()]),
                    "state" => Some(vec![z.state.to_owned()]),
                    "region-name" => Some(vec![z.region.clone()]),
                    "zone-type" => Some(vec![z.zone_type.to_owned()]),
                    _ => None,
                },
                |_| &[],
            )?;
            body(ZonesBody { zones: dtos.into() })
        }
        Action::DescribeAccountAttributes { names } => {
            let all = [
                ("supported-platforms", vec!["VPC"]),
                ("default-vpc", vec!["none"]),
                ("max-instances", vec!["20"]),
                ("vpc-max-security-groups-per-interface", vec!["5"]),
                ("max-elastic-ips", vec!["5"]),
                ("vpc-max-elastic-ips", vec!["5"]),
            ];
            let set: Vec<AccountAttributeDto> = all
                .into_iter()
                .filter(|(n, _)| names.is_empty() || names.iter().any(|w| w == n))
                .map(|(name, values)| AccountAttributeDto {
                    name,
                    values: values
                        .into_iter()
                        .map(|value| AttributeValueDto { value })
                        .collect::<Vec<_>>()
                        .into(),
                })
                .collect();
            body(AccountAttributesBody { set: set.into() })
        }
        Action::DescribeInstances {
            ids,
            filters,
            max_results,
            next_token,
        } => {
            let all = cx.all_instances().await?;
            let all = select(all, &ids, |i| &i.instance_id, Res::Instance)?;
            let all = apply(all, &filters, instance_field, |i| &i.tags.item)?;
            let start = next_token
                .as_deref()
                .map(decode_token)
                .transpose()?
                .unwrap_or(0);
            if start > all.len() {
                return Err(Ec2Error::invalid_value("NextToken is out of range"));
            }
            let (page, next) = match max_results {
                Some(n) if start + n < all.len() => (
                    all.into_iter().skip(start).take(n).collect::<Vec<_>>(),
                    Some(encode_token(start + n)),
                ),
                _ => (all.into_iter().skip(start).collect(), None),
            };
            let reservations = if page.is_empty() {
                Vec::new()
            } else {
                vec![cx.reservation(page)]
            };
            body(ReservationsBody {
                reservations: reservations.into(),
                next_token: next,
            })
        }
        Action::DescribeInstanceStatus {
            ids,
            include_all,
            filters,
        } => {
            let all = cx.all_instances().await?;
            let all = select(all, &ids, |i| &i.instance_id, Res::Instance)?;
            let all = apply(
                all,
                &filters,
                |i, n| match n {
                    "instance-state-name" => Some(vec![i.state.name.to_owned()]),
                    "instance-state-code" => Some(vec![i.state.code.to_string()]),
                    "availability-zone" => Some(vec![i.placement.availability_zone.clone()]),
                    _ => None,
                },
                |_| &[],
            )?;
            let statuses: Vec<InstanceStatusDto> = all
                .into_iter()
                .filter(|i| include_all || i.state.code == 16)
                .map(|i| {
                    let ok = i.state.code == 16;
                    let status = |name| StatusDto {
                        status: if ok { "ok" } else { "not-applicable" },
                        details: vec![StatusDetailDto {
                            name,
                            status: if ok { "passed" } else { "not-applicable" },
                        }]
                        .into(),
                    };
                    InstanceStatusDto {
                        instance_id: i.instance_id,
                        availability_zone: i.placement.availability_zone,
                        state: i.state,
                        system_status: status("reachability"),
                        instance_status: status("reachability"),
                    }
                })
                .collect();
            body(InstanceStatusBody {
                statuses: statuses.into(),
            })
        }
        Action::DescribeInstanceAttribute { id, attribute } => {
            let i = cx.instance(&id).await?;
            let dto = cx.instance_dto(&i, 0, Items::empty());
            let v = |s: &str| {
                Some(ValueDto {
                    value: s.to_owned(),
                })
            };
            let mut b = InstanceAttributeBody {
                instance_id: id,
                instance_type: None,
                user_data: None,
                disable_api_termination: None,
                shutdown_behavior: None,
                root_device_name: None,
                kernel: None,
                ramdisk: None,
                groups: None,
            };
            match attribute.as_str() {
                "instanceType" => b.instance_type = v(&dto.instance_type),
                // Deltacloud drivers store user data but never give it back.
                "userData" => b.user_data = v(""),
                "disableApiTermination" => b.disable_api_termination = v("false"),
                "instanceInitiatedShutdownBehavior" => b.shutdown_behavior = v("stop"),
                "rootDeviceName" => b.root_device_name = v(dto.root_device_name),
                "kernel" => b.kernel = v(""),
                "ramdisk" => b.ramdisk = v(""),
                "groupSet" => b.groups = Some(dto.groups),
                other => {
                    return Err(Ec2Error::invalid_value(format!(
                        "Value ({other}) for parameter attribute is invalid. Unknown attribute."
                    )));
                }
            }
            body(b)
        }
        Action::DescribeInstanceTypes { types } => {
            let profiles = cx
                .driver
                .hardware_profiles(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Other))?;
            let num = |p: &deltacloud_core::HardwareProfile, n: PropertyName| -> u64 {
                p.property(n)
                    .and_then(|prop| prop.default_value())
                    .and_then(|v| match v {
                        PropertyValue::Int(i) => u64::try_from(*i).ok(),
                        // Memory may be fractional (1740.8 MB); EC2 wants whole MiB.
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        PropertyValue::Float(f) => Some(f.max(0.0) as u64),
                        PropertyValue::Text(t) => t.parse().ok(),
                    })
                    .unwrap_or(0)
            };
            let dtos: Vec<InstanceTypeDto> = profiles
                .iter()
                .map(|p| InstanceTypeDto {
                    instance_type: p.id.to_string(),
                    vcpu: VcpuDto {
                        default_vcpus: num(p, PropertyName::Cpu),
                    },
                    memory: MemoryDto {
                        size_in_mib: num(p, PropertyName::Memory),
                    },
                    processor: ProcessorDto {
                        architectures: p
                            .property(PropertyName::Architecture)
                            .and_then(|a| a.default_value())
                            .map(|a| vec![a.to_string()])
                            .unwrap_or_default()
                            .into(),
                    },
                })
                .collect();
            let dtos = select(dtos, &types, |t| &t.instance_type, Res::Other)
                .map_err(|e| Ec2Error::new("InvalidInstanceType", 400, e.message))?;
            body(InstanceTypesBody { types: dtos.into() })
        }
        Action::RunInstances(r) => run_instances(cx, r).await,
        Action::StartInstances { ids } => state_change(cx, ids, Change::Start).await,
        Action::StopInstances { ids } => state_change(cx, ids, Change::Stop).await,
        Action::RebootInstances { ids } => {
            for id in &ids {
                cx.instance(id).await?;
            }
            for id in &ids {
                cx.driver
                    .reboot_instance(&cx.rctx, &InstanceId::new(id.as_str()))
                    .await
                    .map_err(core(Res::Instance))?;
            }
            body(ReturnBody { ret: true })
        }
        Action::TerminateInstances { ids } => terminate(cx, ids).await,
        Action::DescribeImages {
            ids,
            owners,
            executable_by: _,
            filters,
        } => {
            // Ids and owners go to the driver: a cloud's default listing is not every image
            // (EC2 lists the caller's own), and owner aliases (`self`, `amazon`) mean what the
            // driver says they mean.
            let wanted = Filter {
                id: (!ids.is_empty()).then(|| ids.clone()),
                owner_id: (!owners.is_empty()).then(|| owners.clone()),
                ..Filter::default()
            };
            let images = cx
                .driver
                .images(&cx.rctx, &wanted)
                .await
                .map_err(core(Res::Image))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<ImageDto> = images
                .into_iter()
                .map(|i| ImageDto {
                    tags: tags_of(&tags, &i.id),
                    location: format!("{}/{}", i.owner_id, i.name),
                    image_id: i.id.to_string(),
                    state: lower_state(i.state.as_deref(), "available"),
                    is_public: i.owner_id != cx.user,
                    owner_id: i.owner_id,
                    creation_date: i.creation_time.as_deref().and_then(to_iso),
                    architecture: i.architecture,
                    image_type: "machine",
                    name: i.name,
                    description: i.description,
                    root_device_type: "instance-store",
                    root_device_name: "/dev/sda1",
                    block_devices: Items::empty(),
                    virtualization_type: "hvm",
                    hypervisor: "xen",
                })
                .collect();
            let dtos = select(dtos, &ids, |i| &i.image_id, Res::Image)?;
            let dtos = apply(
                dtos,
                &filters,
                |i, n| match n {
                    "image-id" => Some(vec![i.image_id.clone()]),
                    "name" => Some(vec![i.name.clone()]),
                    "description" => Some(vec![i.description.clone()]),
                    "state" => Some(vec![i.state.clone()]),
                    "architecture" => Some(vec![i.architecture.clone()]),
                    "owner-id" => Some(vec![i.owner_id.clone()]),
                    "is-public" => Some(vec![i.is_public.to_string()]),
                    "image-type" => Some(vec![i.image_type.to_owned()]),
                    "root-device-type" => Some(vec![i.root_device_type.to_owned()]),
                    "virtualization-type" => Some(vec![i.virtualization_type.to_owned()]),
                    "hypervisor" => Some(vec![i.hypervisor.to_owned()]),
                    _ => None,
                },
                |i| &i.tags.item,
            )?;
            body(ImagesBody {
                images: dtos.into(),
            })
        }
        Action::CreateImage {
            instance_id,
            name,
            description,
        } => {
            cx.instance(&instance_id).await?;
            let img = cx
                .driver
                .create_image(
                    &cx.rctx,
                    &CreateImage {
                        instance_id: InstanceId::new(instance_id),
                        name: Some(name),
                        description,
                    },
                )
                .await
                .map_err(core(Res::Instance))?;
            body(ImageIdBody {
                image_id: img.id.to_string(),
            })
        }
        Action::DeregisterImage { id } => {
            let found = cx
                .driver
                .images(&cx.rctx, &Filter::by_id(&id))
                .await
                .map_err(core(Res::Image))?;
            if found.is_empty() {
                return Err(Ec2Error::not_found(Res::Image, &id));
            }
            cx.driver
                .destroy_image(&cx.rctx, &ImageId::new(id))
                .await
                .map_err(core(Res::Image))?;
            body(ReturnBody { ret: true })
        }
        Action::DescribeKeyPairs { names, filters } => {
            let keys = cx
                .driver
                .keys(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::KeyPair))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<KeyPairDto> = keys
                .into_iter()
                .map(|k| KeyPairDto {
                    tags: tags_of(&tags, &k.id),
                    key_pair_id: k.id.to_string(),
                    key_name: k.name,
                    fingerprint: k.fingerprint.unwrap_or_default(),
                    key_type: "rsa",
                })
                .collect();
            let dtos = select(dtos, &names, |k| &k.key_name, Res::KeyPair)?;
            let dtos = apply(
                dtos,
                &filters,
                |k, n| match n {
                    "key-name" => Some(vec![k.key_name.clone()]),
                    "key-pair-id" => Some(vec![k.key_pair_id.clone()]),
                    "fingerprint" => Some(vec![k.fingerprint.clone()]),
                    "key-type" => Some(vec![k.key_type.to_owned()]),
                    _ => None,
                },
                |k| &k.tags.item,
            )?;
            body(KeyPairsBody { keys: dtos.into() })
        }
        Action::CreateKeyPair { name } => create_key(cx, name, None).await,
        Action::ImportKeyPair { name, public_key } => create_key(cx, name, Some(public_key)).await,
        Action::DeleteKeyPair { name } => {
            // AWS answers true for unknown names too.
            match cx.driver.destroy_key(&cx.rctx, &KeyId::new(name)).await {
                Ok(()) => {}
                Err(e) if e.kind() == deltacloud_core::ErrorKind::NotFound => {}
                Err(e) => return Err(Ec2Error::from_core(&e, Res::KeyPair)),
            }
            body(ReturnBody { ret: true })
        }
        Action::DescribeVolumes { ids, filters } => {
            let vols = cx
                .driver
                .storage_volumes(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Volume))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<VolumeDto> = vols
                .iter()
                .map(|v| volume_dto(v, tags_of(&tags, &v.id)))
                .collect();
            let dtos = select(dtos, &ids, |v| &v.volume_id, Res::Volume)?;
            let dtos = apply(
                dtos,
                &filters,
                |v, n| match n {
                    "volume-id" => Some(vec![v.volume_id.clone()]),
                    "status" => Some(vec![v.status.clone()]),
                    "availability-zone" => Some(vec![v.availability_zone.clone()]),
                    "size" => Some(vec![v.size.clone()]),
                    "snapshot-id" => Some(vec![v.snapshot_id.clone()]),
                    "volume-type" => Some(vec![v.volume_type.to_owned()]),
                    "attachment.instance-id" => Some(
                        v.attachments
                            .item
                            .iter()
                            .map(|a| a.instance_id.clone())
                            .collect(),
                    ),
                    "attachment.device" => Some(
                        v.attachments
                            .item
                            .iter()
                            .map(|a| a.device.clone())
                            .collect(),
                    ),
                    "attachment.status" => Some(
                        v.attachments
                            .item
                            .iter()
                            .map(|a| a.status.to_owned())
                            .collect(),
                    ),
                    _ => None,
                },
                |v| &v.tags.item,
            )?;
            body(VolumesBody {
                volumes: dtos.into(),
            })
        }
        Action::CreateVolume {
            size,
            zone,
            snapshot_id,
            tag_specs,
        } => {
            let name = name_tag(&tag_specs, "volume");
            let v = cx
                .driver
                .create_storage_volume(
                    &cx.rctx,
                    &CreateStorageVolume {
                        snapshot_id: snapshot_id.clone().map(StorageSnapshotId::new),
                        capacity: size.map(|s| s.to_string()),
                        realm_id: zone.clone().map(RealmId::new),
                        name,
                        description: None,
                    },
                )
                .await
                .map_err(core(Res::Volume))?;
            cx.put_tags(&v.id, "volume", &spec_tags(&tag_specs, "volume"))
                .await?;
            let dto = volume_dto(&v, Items::empty());
            body(CreateVolumeBody {
                volume_id: dto.volume_id,
                size: dto.size,
                snapshot_id: snapshot_id.unwrap_or_default(),
                // The mock does not store the realm; echo the requested zone.
                availability_zone: if dto.availability_zone.is_empty() {
                    zone.unwrap_or_default()
                } else {
                    dto.availability_zone
                },
                status: dto.status,
                create_time: dto.create_time,
                volume_type: dto.volume_type,
                encrypted: false,
            })
        }
        Action::DeleteVolume { id } => {
            volume(cx, &id).await?;
            cx.driver
                .destroy_storage_volume(&cx.rctx, &StorageVolumeId::new(id))
                .await
                .map_err(core(Res::Volume))?;
            body(ReturnBody { ret: true })
        }
        Action::AttachVolume {
            id,
            instance_id,
            device,
        } => {
            volume(cx, &id).await?;
            cx.instance(&instance_id).await?;
            let v = cx
                .driver
                .attach_storage_volume(
                    &cx.rctx,
                    &StorageVolumeId::new(id.as_str()),
                    &InstanceId::new(instance_id.as_str()),
                    &device,
                )
                .await
                .map_err(core(Res::Volume))?;
            body(AttachmentDto {
                volume_id: v.id.to_string(),
                instance_id,
                device: v.device.unwrap_or(device),
                status: "attached",
                attach_time: now_iso(),
                delete_on_termination: false,
            })
        }
        Action::DetachVolume { id } => {
            let before = volume(cx, &id).await?;
            let instance_id = before.instance_id.clone().ok_or_else(|| {
                Ec2Error::new(
                    "IncorrectState",
                    400,
                    format!("Volume '{id}' is in the 'available' state."),
                )
            })?;
            cx.driver
                .detach_storage_volume(&cx.rctx, &StorageVolumeId::new(id.as_str()))
                .await
                .map_err(core(Res::Volume))?;
            body(AttachmentDto {
                volume_id: id,
                instance_id: instance_id.to_string(),
                device: before.device.unwrap_or_default(),
                status: "detached",
                attach_time: now_iso(),
                delete_on_termination: false,
            })
        }
        Action::DescribeSnapshots { ids, filters } => {
            let snaps = cx
                .driver
                .storage_snapshots(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Snapshot))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<SnapshotDto> = snaps
                .iter()
                .map(|s| snapshot_dto(s, &cx.user, tags_of(&tags, &s.id)))
                .collect();
            let dtos = select(dtos, &ids, |s| &s.snapshot_id, Res::Snapshot)?;
            let dtos = apply(
                dtos,
                &filters,
                |s, n| match n {
                    "snapshot-id" => Some(vec![s.snapshot_id.clone()]),
                    "volume-id" => Some(vec![s.volume_id.clone()]),
                    "status" => Some(vec![s.status.clone()]),
                    "owner-id" => Some(vec![s.owner_id.clone()]),
                    "description" => Some(vec![s.description.clone()]),
                    "progress" => Some(vec![s.progress.to_owned()]),
                    _ => None,
                },
                |s| &s.tags.item,
            )?;
            body(SnapshotsBody {
                snapshots: dtos.into(),
            })
        }
        Action::CreateSnapshot {
            volume_id,
            description,
            tag_specs,
        } => {
            volume(cx, &volume_id).await?;
            let s = cx
                .driver
                .create_storage_snapshot(
                    &cx.rctx,
                    &CreateStorageSnapshot {
                        volume_id: StorageVolumeId::new(volume_id),
                        name: name_tag(&tag_specs, "snapshot"),
                        description: description.clone(),
                    },
                )
                .await
                .map_err(core(Res::Volume))?;
            let tags = spec_tags(&tag_specs, "snapshot");
            cx.put_tags(&s.id, "snapshot", &tags).await?;
            let mut dto = snapshot_dto(
                &s,
                &cx.user,
                tags.into_iter()
                    .map(|(key, value)| TagDto { key, value })
                    .collect::<Vec<_>>()
                    .into(),
            );
            if dto.description.is_empty() {
                dto.description = description.unwrap_or_default();
            }
            body(dto)
        }
        Action::DeleteSnapshot { id } => {
            let found = cx
                .driver
                .storage_snapshots(&cx.rctx, &Filter::by_id(&id))
                .await
                .map_err(core(Res::Snapshot))?;
            if found.is_empty() {
                return Err(Ec2Error::not_found(Res::Snapshot, &id));
            }
            cx.driver
                .destroy_storage_snapshot(&cx.rctx, &StorageSnapshotId::new(id))
                .await
                .map_err(core(Res::Snapshot))?;
            body(ReturnBody { ret: true })
        }
        Action::DescribeSecurityGroups {
            names,
            ids,
            filters,
        } => {
            let fws = cx
                .driver
                .firewalls(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Group))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<SecurityGroupDto> = fws
                .into_iter()
                .map(|f| SecurityGroupDto {
                    tags: tags_of(&tags, &f.id),
                    owner_id: f.owner_id.clone().unwrap_or_else(|| cx.user.clone()),
                    group_id: f.id.to_string(),
                    group_name: f.name.clone(),
                    description: f.description.clone(),
                    ingress: f
                        .rules
                        .iter()
                        .filter(|r| {
                            r.direction
                                .as_deref()
                                .is_none_or(|d| d.eq_ignore_ascii_case("ingress"))
                        })
                        .map(|r| IpPermissionDto {
                            protocol: r.allow_protocol.clone().unwrap_or_else(|| "-1".into()),
                            from_port: r.port_from.clone(),
                            to_port: r.port_to.clone(),
                            groups: r
                                .sources
                                .iter()
                                .filter_map(|s| match s {
                                    FirewallSource::Group { name, owner } => Some(UserGroupDto {
                                        user_id: owner.clone(),
                                        group_name: name.clone(),
                                    }),
                                    FirewallSource::Address { .. } => None,
                                })
                                .collect::<Vec<_>>()
                                .into(),
                            ip_ranges: r
                                .sources
                                .iter()
                                .filter_map(|s| match s {
                                    FirewallSource::Address {
                                        address, prefix, ..
                                    } => Some(IpRangeDto {
                                        cidr_ip: format!("{address}/{prefix}"),
                                    }),
                                    FirewallSource::Group { .. } => None,
                                })
                                .collect::<Vec<_>>()
                                .into(),
                        })
                        .collect::<Vec<_>>()
                        .into(),
                    egress: Items::empty(),
                })
                .collect();
            let dtos = select(dtos, &ids, |g| &g.group_id, Res::Group)?;
            let dtos = select(dtos, &names, |g| &g.group_name, Res::Group)?;
            let dtos = apply(
                dtos,
                &filters,
                |g, n| match n {
                    "group-id" => Some(vec![g.group_id.clone()]),
                    "group-name" => Some(vec![g.group_name.clone()]),
                    "description" => Some(vec![g.description.clone()]),
                    "owner-id" => Some(vec![g.owner_id.clone()]),
                    _ => None,
                },
                |g| &g.tags.item,
            )?;
            body(SecurityGroupsBody {
                groups: dtos.into(),
            })
        }
        Action::CreateSecurityGroup { name, description } => {
            let f = cx
                .driver
                .create_firewall(&cx.rctx, &name, &description)
                .await
                .map_err(core(Res::Group))?;
            body(CreateSecurityGroupBody {
                ret: true,
                group_id: f.id.to_string(),
            })
        }
        Action::DeleteSecurityGroup { group } => {
            let id = group_id(cx, &group).await?;
            cx.driver
                .delete_firewall(&cx.rctx, &id)
                .await
                .map_err(core(Res::Group))?;
            body(ReturnBody { ret: true })
        }
        Action::AuthorizeSecurityGroupIngress { group, permissions } => {
            let id = group_id(cx, &group).await?;
            for p in &permissions {
                cx.driver
                    .create_firewall_rule(&cx.rctx, &id, &rule_of(p))
                    .await
                    .map_err(core(Res::Group))?;
            }
            body(ReturnBody { ret: true })
        }
        Action::RevokeSecurityGroupIngress { group, permissions } => {
            let id = group_id(cx, &group).await?;
            let fw = cx
                .driver
                .firewalls(&cx.rctx, &Filter::by_id(&id))
                .await
                .map_err(core(Res::Group))?
                .into_iter()
                .next()
                .ok_or_else(|| Ec2Error::not_found(Res::Group, &id))?;
            for p in &permissions {
                // Deltacloud deletes rules by id; find the rule this permission describes.
                let rule = fw
                    .rules
                    .iter()
                    .find(|r| {
                        r.allow_protocol.as_deref() == Some(p.protocol.as_str())
                            && r.port_from.as_deref()
                                == p.from_port.map(|x| x.to_string()).as_deref()
                            && r.port_to.as_deref() == p.to_port.map(|x| x.to_string()).as_deref()
                    })
                    .ok_or_else(|| {
                        Ec2Error::new(
                            "InvalidPermission.NotFound",
                            400,
                            "The specified rule does not exist in this security group.",
                        )
                    })?;
                cx.driver
                    .delete_firewall_rule(&cx.rctx, &id, &rule.id)
                    .await
                    .map_err(core(Res::Group))?;
            }
            body(ReturnBody { ret: true })
        }
        Action::DescribeAddresses {
            ips,
            allocation_ids,
            filters,
        } => {
            let list = cx
                .driver
                .addresses(&cx.rctx, &Filter::default())
                .await
                .map_err(core(Res::Address))?;
            let tags = cx.tag_map().await?;
            let dtos: Vec<AddressDto> = list
                .into_iter()
                .map(|a| AddressDto {
                    tags: tags_of(&tags, &a.id),
                    allocation_id: format!("{ALLOCATION_PREFIX}{}", a.id),
                    association_id: a
                        .instance_id
                        .as_ref()
                        .map(|_| format!("{ASSOCIATION_PREFIX}{}", a.id)),
                    public_ip: a.id.to_string(),
                    domain: "standard",
                    instance_id: a.instance_id.map(|i| i.to_string()),
                })
                .collect();
            let dtos = select(dtos, &ips, |a| &a.public_ip, Res::Address)?;
            let dtos = select(dtos, &allocation_ids, |a| &a.allocation_id, Res::Address)
                .map_err(|e| Ec2Error::new("InvalidAllocationID.NotFound", 400, e.message))?;
            let dtos = apply(
                dtos,
                &filters,
                |a, n| match n {
                    "public-ip" => Some(vec![a.public_ip.clone()]),
                    "allocation-id" => Some(vec![a.allocation_id.clone()]),
                    "association-id" => Some(opt(a.association_id.clone())),
                    "instance-id" => Some(opt(a.instance_id.clone())),
                    "domain" => Some(vec![a.domain.to_owned()]),
                    _ => None,
                },
                |a| &a.tags.item,
            )?;
            body(AddressesBody {
                addresses: dtos.into(),
            })
        }
        Action::AllocateAddress => {
            let a = cx
                .driver
                .create_address(&cx.rctx)
                .await
                .map_err(core(Res::Address))?;
            body(AllocateAddressBody {
                allocation_id: format!("{ALLOCATION_PREFIX}{}", a.id),
                public_ip: a.id.to_string(),
                domain: "standard",
            })
        }
        Action::ReleaseAddress { ip } => {
            address(cx, &ip).await?;
            cx.driver
                .destroy_address(&cx.rctx, &AddressId::new(ip))
                .await
                .map_err(core(Res::Address))?;
            body(ReturnBody { ret: true })
        }
        Action::AssociateAddress { ip, instance_id } => {
            address(cx, &ip).await?;
            cx.instance(&instance_id).await?;
            cx.driver
                .associate_address(
                    &cx.rctx,
                    &AddressId::new(ip.as_str()),
                    &InstanceId::new(instance_id),
                )
                .await
                .map_err(core(Res::Address))?;
            body(AssociateAddressBody {
                ret: true,
                association_id: format!("{ASSOCIATION_PREFIX}{ip}"),
            })
        }
        Action::DisassociateAddress { ip } => {
            address(cx, &ip).await?;
            cx.driver
                .disassociate_address(&cx.rctx, &AddressId::new(ip))
                .await
                .map_err(core(Res::Address))?;
            body(ReturnBody { ret: true })
        }
        Action::CreateTags { resources, tags } => {
            for r in &resources {
                let kind = resource_type(cx, r).await?;
                cx.put_tags(r, kind, &tags).await?;
            }
            body(ReturnBody { ret: true })
        }
        Action::DeleteTags { resources, tags } => {
            for r in resources {
                let (scope, tags) = (cx.scope.clone(), tags.clone());
                cx.state
                    .store
                    .run(move |s| s.delete_tags(&scope, &r, &tags))
                    .await
                    .map_err(store_err)?;
            }
            body(ReturnBody { ret: true })
        }
        Action::DescribeTags { filters } => {
            let scope = cx.scope.clone();
            let rows = cx
                .state
                .store
                .run(move |s| s.tags(&scope))
                .await
                .map_err(store_err)?;
            let dtos: Vec<ResourceTagDto> = rows
                .into_iter()
                .map(|r| ResourceTagDto {
                    resource_id: r.resource_id,
                    resource_type: r.resource_type,
                    key: r.key,
                    value: r.value,
                })
                .collect();
            let dtos = apply(
                dtos,
                &filters,
                |t, n| match n {
                    "resource-id" => Some(vec![t.resource_id.clone()]),
                    "resource-type" => Some(vec![t.resource_type.clone()]),
                    "key" => Some(vec![t.key.clone()]),
                    "value" => Some(vec![t.value.clone()]),
                    _ => None,
                },
                |_| &[],
            )?;
            body(TagsBody {
                tags: dtos.into(),
                next_token: None,
            })
        }
        Action::Unsupported { name } => Err(Ec2Error::unsupported(format!(
            "The action {name} is not supported by this gateway's backend model"
        ))),
    }
}

/// The tags a TagSpecification list gives resources of `kind`.
fn spec_tags(specs: &[TagSpec], kind: &str) -> Vec<(String, String)> {
    specs
        .iter()
        .filter(|s| s.resource_type == kind)
        .flat_map(|s| s.tags.iter().cloned())
        .collect()
}

/// The `Name` tag, which maps onto the Deltacloud name (B6).
fn name_tag(specs: &[TagSpec], kind: &str) -> Option<String> {
    spec_tags(specs, kind)
        .into_iter()
        .find(|(k, _)| k == "Name")
        .map(|(_, v)| v)
}

async fn run_instances(cx: &Cx<'_>, r: RunInstances) -> Ec2Result<Body> {
    // The mock (like the original) does not validate image ids; EC2 clients expect
    // InvalidAMIID.NotFound, so check first.
    let images = cx
        .driver
        .images(&cx.rctx, &Filter::by_id(&r.image_id))
        .await
        .map_err(core(Res::Image))?;
    if images.is_empty() {
        return Err(Ec2Error::not_found(Res::Image, &r.image_id));
    }
    if let Some(t) = &r.instance_type {
        let profiles = cx
            .driver
            .hardware_profiles(&cx.rctx, &Filter::by_id(t))
            .await
            .map_err(core(Res::Other))?;
        if profiles.is_empty() {
            return Err(Ec2Error::invalid_value(format!(
                "The instance type '{t}' does not exist"
            )));
        }
    }
    let req = CreateInstance {
        image_id: ImageId::new(r.image_id.as_str()),
        realm_id: r.availability_zone.clone().map(RealmId::new),
        hwp_id: r.instance_type.clone().map(HardwareProfileId::new),
        keyname: r.key_name.clone(),
        name: name_tag(&r.tag_specs, "instance"),
        user_data: r.user_data.clone(),
        firewalls: r
            .security_groups
            .iter()
            .map(|g| FirewallId::new(g.as_str()))
            .collect(),
        instance_count: Some(r.max_count),
        metrics: r.monitoring,
        subnet_id: r.subnet_id.clone().map(deltacloud_core::SubnetId::new),
        ..CreateInstance::default()
    };
    let created = cx
        .driver
        .create_instance(&cx.rctx, &req)
        .await
        .map_err(|e| match e.kind() {
            deltacloud_core::ErrorKind::NotFound => Ec2Error::not_found(Res::Image, &r.image_id),
            _ => Ec2Error::from_core(&e, Res::Instance),
        })?;
    let tags = spec_tags(&r.tag_specs, "instance");
    let mut dtos = Vec::new();
    for (n, i) in created.iter().enumerate() {
        cx.put_tags(&i.id, "instance", &tags).await?;
        let tag_items: Vec<TagDto> = tags
            .iter()
            .map(|(key, value)| TagDto {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        dtos.push(cx.instance_dto(i, n, tag_items.into()));
    }
    body(cx.reservation(dtos))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Start,
    Stop,
}

async fn state_change(cx: &Cx<'_>, ids: Vec<String>, change: Change) -> Ec2Result<Body> {
    // Validate every id before changing anything, as EC2 does.
    let mut before = Vec::new();
    for id in &ids {
        before.push(cx.instance(id).await?);
    }
    let mut out = Vec::new();
    for prev in before {
        let id = prev.id.clone();
        let already = match change {
            Change::Start => prev.state == InstanceState::Running,
            Change::Stop => prev.state == InstanceState::Stopped,
        };
        // EC2 treats starting a running (or stopping a stopped) instance as a no-op success;
        // Deltacloud's state machine would refuse it.
        let now = if already {
            prev.clone()
        } else {
            match change {
                Change::Start => cx.driver.start_instance(&cx.rctx, &id).await,
                Change::Stop => cx.driver.stop_instance(&cx.rctx, &id).await,
            }
            .map_err(core(Res::Instance))?
        };
        // EC2 always answers with the transitional state (`stopping`, `pending`) and lets
        // clients poll DescribeInstances; libcloud's ex_stop_node/ex_start_node even require
        // it. Drivers that settle instantly (the mock) report the final state, so a completed
        // change is reported as its transition here.
        let current = match (change, now.state) {
            (_, s) if already => ec2_state(s),
            (Change::Stop, InstanceState::Stopped) => ec2_state(InstanceState::Stopping),
            (Change::Start, InstanceState::Running) => ec2_state(InstanceState::Pending),
            (_, s) => ec2_state(s),
        };
        out.push(StateChangeDto {
            instance_id: id.to_string(),
            current,
            previous: ec2_state(prev.state),
        });
    }
    body(StateChangesBody {
        instances: out.into(),
    })
}

async fn terminate(cx: &Cx<'_>, ids: Vec<String>) -> Ec2Result<Body> {
    let tombstoned: Vec<InstanceDto> = cx.tombstones();
    let mut before = Vec::new();
    for id in &ids {
        match cx
            .driver
            .instance(&cx.rctx, &InstanceId::new(id.as_str()))
            .await
        {
            Ok(Some(i)) => before.push(Some(i)),
            Ok(None) if tombstoned.iter().any(|t| &t.instance_id == id) => before.push(None),
            Ok(None) => return Err(Ec2Error::not_found(Res::Instance, id)),
            Err(e) => return Err(Ec2Error::from_core(&e, Res::Instance)),
        }
    }
    let tags = cx.tag_map().await?;
    let mut out = Vec::new();
    for (id, prev) in ids.iter().zip(before) {
        let Some(prev) = prev else {
            // Terminating a terminated instance succeeds and changes nothing.
            out.push(StateChangeDto {
                instance_id: id.clone(),
                current: TERMINATED,
                previous: TERMINATED,
            });
            continue;
        };
        let iid = prev.id.clone();
        match cx.driver.destroy_instance(&cx.rctx, &iid).await {
            Ok(()) => {}
            // Deltacloud only destroys stopped instances; EC2 terminates running ones, so stop
            // first where the state machine requires it (B6).
            Err(e) if e.kind() == deltacloud_core::ErrorKind::InvalidState => {
                cx.driver
                    .stop_instance(&cx.rctx, &iid)
                    .await
                    .map_err(core(Res::Instance))?;
                cx.driver
                    .destroy_instance(&cx.rctx, &iid)
                    .await
                    .map_err(core(Res::Instance))?;
            }
            Err(e) => return Err(Ec2Error::from_core(&e, Res::Instance)),
        }
        let after = cx
            .driver
            .instance(&cx.rctx, &iid)
            .await
            .map_err(core(Res::Instance))?;
        let current = match &after {
            None => {
                cx.bury(cx.instance_dto(&prev, 0, tags_of(&tags, &iid)));
                TERMINATED
            }
            Some(i) if i.state == InstanceState::Finish => {
                cx.bury(cx.instance_dto(i, 0, tags_of(&tags, &iid)));
                TERMINATED
            }
            Some(i) => ec2_state(i.state),
        };
        out.push(StateChangeDto {
            instance_id: id.clone(),
            current,
            previous: ec2_state(prev.state),
        });
    }
    body(StateChangesBody {
        instances: out.into(),
    })
}

async fn create_key(cx: &Cx<'_>, name: String, public_key: Option<String>) -> Ec2Result<Body> {
    let imported = public_key.is_some();
    let k = cx
        .driver
        .create_key(
            &cx.rctx,
            &CreateKey {
                name: name.clone(),
                public_key,
            },
        )
        .await
        .map_err(|e| {
            let mut err = Ec2Error::from_core(&e, Res::KeyPair);
            if err.code == "InvalidKeyPair.Duplicate" {
                err.message = format!("The keypair '{name}' already exists.");
            }
            err
        })?;
    body(CreateKeyPairBody {
        key_name: k.name.clone(),
        fingerprint: k.fingerprint.unwrap_or_default(),
        material: if imported { None } else { k.pem_rsa_key },
        key_pair_id: k.id.to_string(),
    })
}

fn volume_dto(v: &deltacloud_core::StorageVolume, tags: Items<TagDto>) -> VolumeDto {
    let attachments: Vec<AttachmentDto> = v
        .instance_id
        .iter()
        .map(|i| AttachmentDto {
            volume_id: v.id.to_string(),
            instance_id: i.to_string(),
            device: v.device.clone().unwrap_or_default(),
            status: "attached",
            attach_time: v
                .created
                .as_deref()
                .and_then(to_iso)
                .unwrap_or_else(now_iso),
            delete_on_termination: false,
        })
        .collect();
    VolumeDto {
        volume_id: v.id.to_string(),
        size: v.capacity.clone().unwrap_or_else(|| "1".to_owned()),
        snapshot_id: String::new(),
        availability_zone: v
            .realm_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        status: lower_state(v.state.as_deref(), "available"),
        create_time: v
            .created
            .as_deref()
            .and_then(to_iso)
            .unwrap_or_else(now_iso),
        attachments: attachments.into(),
        volume_type: "standard",
        encrypted: false,
        tags,
    }
}

fn snapshot_dto(
    s: &deltacloud_core::StorageSnapshot,
    owner: &str,
    tags: Items<TagDto>,
) -> SnapshotDto {
    let status = lower_state(s.state.as_deref(), "completed");
    SnapshotDto {
        snapshot_id: s.id.to_string(),
        volume_id: s
            .storage_volume_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        progress: if status == "completed" { "100%" } else { "0%" },
        status,
        start_time: s
            .created
            .as_deref()
            .and_then(to_iso)
            .unwrap_or_else(now_iso),
        owner_id: owner.to_owned(),
        volume_size: "1".to_owned(),
        description: s.description.clone().unwrap_or_default(),
        encrypted: false,
        tags,
    }
}

async fn volume(cx: &Cx<'_>, id: &str) -> Ec2Result<deltacloud_core::StorageVolume> {
    cx.driver
        .storage_volumes(&cx.rctx, &Filter::by_id(id))
        .await
        .map_err(core(Res::Volume))?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| Ec2Error::not_found(Res::Volume, id))
}

async fn address(cx: &Cx<'_>, ip: &str) -> Ec2Result<()> {
    let found = cx
        .driver
        .addresses(&cx.rctx, &Filter::by_id(ip))
        .await
        .map_err(core(Res::Address))?
        .into_iter()
        .any(|a| a.id == ip);
    if found {
        Ok(())
    } else {
        Err(Ec2Error::not_found(Res::Address, ip))
    }
}

async fn group_id(cx: &Cx<'_>, g: &GroupRef) -> Ec2Result<FirewallId> {
    let fws = cx
        .driver
        .firewalls(&cx.rctx, &Filter::default())
        .await
        .map_err(core(Res::Group))?;
    let found = fws.into_iter().find(|f| match g {
        GroupRef::Id(id) => f.id == id.as_str(),
        GroupRef::Name(n) => &f.name == n,
    });
    found.map(|f| f.id).ok_or_else(|| match g {
        GroupRef::Id(id) | GroupRef::Name(id) => Ec2Error::not_found(Res::Group, id),
    })
}

fn rule_of(p: &IpPermission) -> CreateFirewallRule {
    CreateFirewallRule {
        protocol: p.protocol.clone(),
        port_from: p.from_port.map(|x| x.to_string()).unwrap_or_default(),
        port_to: p.to_port.map(|x| x.to_string()).unwrap_or_default(),
        addresses: p.cidrs.clone(),
        groups: p.groups.clone(),
    }
}

/// Which collection a resource id belongs to (EC2 ids carry their type; Deltacloud ids do not).
async fn resource_type(cx: &Cx<'_>, id: &str) -> Ec2Result<&'static str> {
    let f = Filter::by_id(id);
    let found = |r: deltacloud_core::Result<usize>| matches!(r, Ok(n) if n > 0);
    if found(cx.driver.instances(&cx.rctx, &f).await.map(|v| v.len())) {
        return Ok("instance");
    }
    if found(cx.driver.images(&cx.rctx, &f).await.map(|v| v.len())) {
        return Ok("image");
    }
    if found(
        cx.driver
            .storage_volumes(&cx.rctx, &f)
            .await
            .map(|v| v.len()),
    ) {
        return Ok("volume");
    }
    if found(
        cx.driver
            .storage_snapshots(&cx.rctx, &f)
            .await
            .map(|v| v.len()),
    ) {
        return Ok("snapshot");
    }
    if found(cx.driver.keys(&cx.rctx, &f).await.map(|v| v.len())) {
        return Ok("key-pair");
    }
    if found(cx.driver.firewalls(&cx.rctx, &f).await.map(|v| v.len())) {
        return Ok("security-group");
    }
    if found(cx.driver.addresses(&cx.rctx, &f).await.map(|v| v.len())) {
        return Ok("elastic-ip");
    }
    Err(Ec2Error::new(
        "InvalidID",
        400,
        format!("The ID '{id}' is not valid"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_ec2_codes() {
        let c = |s| ec2_state(s).code;
        assert_eq!(c(InstanceState::Pending), 0);
        assert_eq!(c(InstanceState::Running), 16);
        assert_eq!(c(InstanceState::ShuttingDown), 32);
        assert_eq!(c(InstanceState::Finish), 48);
        assert_eq!(c(InstanceState::Stopping), 64);
        assert_eq!(c(InstanceState::Stopped), 80);
        assert_eq!(ec2_state(InstanceState::Stopping).name, "stopping");
        assert_eq!(ec2_state(InstanceState::Unknown).name, "pending");
    }

    #[test]
    fn provider_times_become_iso() {
        let t = |s| to_iso(s).unwrap_or_default();
        assert_eq!(
            t("Thu Jul 30 14:35:11 UTC 2009"),
            "2009-07-30T14:35:11.000Z"
        );
        assert_eq!(
            t("Thu Oct 25 14:27:53 CEST 2012"),
            "2012-10-25T12:27:53.000Z"
        );
        assert_eq!(t("2013-06-01 12:00:00 +0200"), "2013-06-01T10:00:00.000Z");
        assert_eq!(t("2016-11-15T12:00:00Z"), "2016-11-15T12:00:00.000Z");
        assert_eq!(to_iso("whenever"), None);
        assert_eq!(to_iso("Thu Oct 25 14:27:53 XYZ 2012"), None);
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(decode_token(&encode_token(42)).unwrap(), 42);
        assert_eq!(
            decode_token("garbage!").unwrap_err().code,
            "InvalidParameterValue"
        );
    }
}
