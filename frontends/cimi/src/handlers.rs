//! Routing and the operations of `/cimi` (`cimi.md` §3–§9).
//!
//! One handler takes every request under `/cimi`, negotiates the format, builds the request
//! context (driver, provider, credentials, base URL, parsed query) and dispatches on method and
//! path segments. Every failure goes through [`http::render_error`].

use crate::http::{self, CimiError, ErrorScope, Fmt, href, last_segment, text};
use crate::query::Query;
use crate::resources::{self as r, Coll, Urls};
use crate::store::{Entity, Overlay, Scope, Store};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use deltacloud_core::{
    Capability, CreateImage, CreateInstance, CreateKey, CreateStorageSnapshot, CreateStorageVolume,
    Credentials, Driver, Filter, Gateway, HardwareProfile, InstanceAction, InstanceState,
    MatrixSelection, RequestContext, SystemId,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const X_DRIVER: HeaderName = HeaderName::from_static("x-deltacloud-driver");
const X_PROVIDER: HeaderName = HeaderName::from_static("x-deltacloud-provider");

type Res = Result<HttpResponse, CimiError>;
type Obj = Map<String, Value>;

/// Per-request state.
pub(crate) struct Cx {
    driver: Arc<dyn Driver>,
    ctx: RequestContext,
    u: Urls,
    scope: Scope,
    store: Store,
    now: String,
    query: Query,
    fmt: Fmt,
}

fn header_str<'r>(req: &'r HttpRequest, name: &HeaderName) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn basic_auth(req: &HttpRequest) -> Option<Credentials> {
    let v = header_str(req, &header::AUTHORIZATION)?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials::new(user, password))
}

fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    url_decode_pairs(req.query_string())
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space).
fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    fn dec(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

/// The handler for everything under `/cimi`.
pub(crate) async fn dispatch(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let pairs = query_pairs(&req);
    let format_param = pairs
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str());
    let gw = req.app_data::<web::Data<Gateway>>().cloned();
    let store = req.app_data::<web::Data<Store>>().cloned();
    // Driver and provider: `/cimi;driver=…;provider=…` (an extension the spec allows, parsed
    // by the server's matrix middleware) wins over the headers, which win over the defaults,
    // exactly as on `/api`.
    let matrix = req
        .extensions()
        .get::<MatrixSelection>()
        .cloned()
        .unwrap_or_default();
    let driver_name = matrix
        .driver
        .filter(|d| !d.is_empty())
        .or_else(|| header_str(&req, &X_DRIVER).map(str::to_owned))
        .map(|d| d.to_ascii_lowercase())
        .or_else(|| gw.as_ref().map(|g| g.default_driver.clone()))
        .unwrap_or_default();
    let provider = matrix
        .provider
        .filter(|p| !p.is_empty())
        .or_else(|| header_str(&req, &X_PROVIDER).map(str::to_owned))
        .or_else(|| gw.as_ref().and_then(|g| g.default_provider.clone()));
    let fmt = negotiate_or(&req, format_param);
    let scope = ErrorScope {
        url: req.path(),
        driver: &driver_name,
        provider: provider.as_deref().unwrap_or("default"),
        realm: gw.as_ref().and_then(|g| {
            g.fixed_credentials
                .is_none()
                .then(|| format!("{driver_name}-deltacloud@{}", g.hostname))
        }),
        fmt: fmt.unwrap_or(Fmt::Xml),
    };
    let (Some(gw), Some(store)) = (gw, store) else {
        tracing::error!("the /cimi frontend needs web::Data<Gateway> and web::Data<Store>");
        return http::render_error(
            &CimiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The CIMI frontend is not configured",
            ),
            &scope,
        );
    };
    let Some(fmt) = fmt else {
        return http::empty(StatusCode::NOT_ACCEPTABLE);
    };
    let result = async {
        let driver = gw.registry.driver(&driver_name).map_err(|e| {
            let mut c = CimiError::from(e);
            c.status = StatusCode::BAD_REQUEST;
            c
        })?;
        let query = Query::parse(&pairs).map_err(|e| CimiError::bad_request(e.to_string()))?;
        let host = header_str(&req, &header::HOST)
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
            .ok_or_else(|| CimiError::bad_request("Unable to find HTTP Host header"))?;
        let scheme = if req.app_config().secure() {
            "https"
        } else {
            "http"
        };
        let credentials = gw.fixed_credentials.clone().or_else(|| basic_auth(&req));
        let cx = Cx {
            driver,
            ctx: RequestContext::new(credentials, provider.clone()),
            u: Urls {
                base: format!("{scheme}://{host}"),
            },
            scope: Scope {
                driver: driver_name.clone(),
                provider: provider.clone().unwrap_or_else(|| "default".to_owned()),
            },
            store: store.get_ref().clone(),
            now: r::now(),
            query,
            fmt,
        };
        route(&cx, &req, &body, &pairs).await
    }
    .await;
    match result {
        Ok(resp) => resp,
        Err(e) => http::render_error(&e, &scope),
    }
}

fn negotiate_or(req: &HttpRequest, p: Option<&str>) -> Option<Fmt> {
    http::negotiate(req, p)
}

async fn route(cx: &Cx, req: &HttpRequest, body: &[u8], pairs: &[(String, String)]) -> Res {
    let path = req.path().trim_start_matches("/cimi");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let m = req.method().clone();
    let get = m == Method::GET || m == Method::HEAD;
    match (segs.as_slice(), get, m == Method::POST, m == Method::DELETE) {
        ([], true, _, _) => Ok(HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, cx.u.cimi("cloudEntryPoint")))
            .finish()),
        (["cloudEntryPoint"], true, _, _) => {
            let force = pairs
                .iter()
                .any(|(k, v)| k == "force_auth" && !v.is_empty() && v != "0");
            entry_point(cx, force).await
        }
        (["resource_metadata"], true, _, _) => resource_metadata(cx, None).await,
        (["resource_metadata", name], true, _, _) => resource_metadata(cx, Some(name)).await,
        (["machines"], true, _, _) => machines_collection(cx, req).await,
        ([c], true, _, _) => {
            let coll = r::by_path(c).ok_or_else(CimiError::not_found)?;
            let entries = list(cx, coll, None).await?;
            collection(cx, coll, &cx.u.cimi(coll.path), entries, can_add(cx, coll))
        }
        ([c, id], true, _, _) => {
            let coll = r::by_path(c).ok_or_else(CimiError::not_found)?;
            let mut e = list(cx, coll, Some(id)).await?;
            if e.is_empty() {
                return Err(CimiError::not_found());
            }
            let mut one = e.swap_remove(0);
            if coll == r::MACHINES {
                expand_machine(cx, id, &mut one).await?;
            }
            if coll == r::SYSTEMS {
                expand_system(cx, id, &mut one).await?;
            }
            Ok(http::document(
                StatusCode::OK,
                cx.fmt,
                coll.ty,
                coll.ty,
                cx.query.select(one),
            ))
        }
        ([c], _, true, _) => {
            let coll = r::by_path(c).ok_or_else(CimiError::not_found)?;
            let (root, doc) = http::read_body(req, body)?;
            check_root(root.as_deref(), &doc, &format!("{}Create", coll.ty))?;
            create(cx, coll, doc).await
        }
        ([c, id], _, _, true) => {
            let coll = r::by_path(c).ok_or_else(CimiError::not_found)?;
            delete(cx, coll, id).await
        }
        (["systems", id, sub], true, _, _) => {
            let (coll, entries) = system_members(cx, id, sub).await?;
            let url = format!("{}/{}", cx.u.of(r::SYSTEMS, id), coll.path);
            collection(cx, coll, &url, entries, false)
        }
        (["systems", id, sub, member], true, _, _) => {
            let (coll, entries) = system_members(cx, id, sub).await?;
            let want = format!("{}/{}/{member}", cx.u.of(r::SYSTEMS, id), coll.path);
            let one = entries
                .into_iter()
                .find(|e| e.get("id").and_then(Value::as_str) == Some(&want))
                .ok_or_else(CimiError::not_found)?;
            Ok(http::document(
                StatusCode::OK,
                cx.fmt,
                coll.ty,
                coll.ty,
                cx.query.select(one),
            ))
        }
        (["machines", id, "disks"], true, _, _) => {
            let inst = instance(cx, id).await?;
            let profiles = profiles(cx).await;
            let entries = r::disks(&cx.u, &inst, &profiles, &cx.now);
            collection(
                cx,
                r::DISKS,
                &format!("{}/disks", cx.u.of(r::MACHINES, id)),
                entries,
                false,
            )
        }
        (["machines", id, "volumes"], true, _, _) => {
            let entries = machine_volumes(cx, id).await?;
            collection(
                cx,
                r::MACHINE_VOLUMES,
                &format!("{}/volumes", cx.u.of(r::MACHINES, id)),
                entries,
                true,
            )
        }
        (["machines", id, "volumes", vid], true, _, _) => {
            let entries = machine_volumes(cx, id).await?;
            let want = format!("{}/volumes/{vid}", cx.u.of(r::MACHINES, id));
            let one = entries
                .into_iter()
                .find(|e| e.get("id").and_then(Value::as_str) == Some(&want))
                .ok_or_else(CimiError::not_found)?;
            Ok(http::document(
                StatusCode::OK,
                cx.fmt,
                "MachineVolume",
                "MachineVolume",
                one,
            ))
        }
        (["machines", id, "volumes", vid], _, _, true) => detach(cx, id, vid).await,
        (["machines", id, "volume_attach"], _, true, _) => {
            let (_, doc) = http::read_body(req, body)?;
            attach(cx, id, &doc).await
        }
        (["machines", id, action], _, true, _) => {
            let doc = if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(http::read_body(req, body)?.1)
            };
            machine_action(cx, id, action, doc.as_ref()).await
        }
        _ => Err(CimiError::not_found()),
    }
}

/// A create document's root must be the expected type (XML root or JSON `resourceURI`), when
/// the client names one.
fn check_root(root: Option<&str>, doc: &Obj, expected: &str) -> Result<(), CimiError> {
    let named = root
        .map(str::to_owned)
        .or_else(|| text(doc, "resourceURI").map(|u| last_segment(&u).to_owned()));
    match named {
        Some(n) if n != expected => Err(CimiError::bad_request(format!(
            "Bad request (expected a {expected} document, got {n})"
        ))),
        _ => Ok(()),
    }
}

fn require(cx: &Cx, c: Capability) -> Result<(), CimiError> {
    if cx.driver.capabilities().has(c) {
        Ok(())
    } else {
        Err(CimiError::capability(c))
    }
}

/// The capability that must be present to list a collection (`None`: always available).
fn list_capability(c: Coll) -> Option<Capability> {
    Some(match c {
        r::MACHINES => Capability::Instances,
        r::MACHINE_CONFIGS => Capability::HardwareProfiles,
        r::MACHINE_IMAGES => Capability::Images,
        r::CREDENTIALS => Capability::Keys,
        r::VOLUMES | r::VOLUME_CONFIGS | r::VOLUME_TEMPLATES => Capability::StorageVolumes,
        r::VOLUME_IMAGES => Capability::StorageSnapshots,
        r::NETWORKS => Capability::Subnets,
        r::FORWARDING_GROUPS => Capability::Networks,
        r::ADDRESSES => Capability::Addresses,
        r::SYSTEMS => Capability::Systems,
        r::SYSTEM_TEMPLATES => Capability::SystemTemplates,
        r::NETWORK_PORTS => Capability::NetworkPorts,
        r::NETWORK_CONFIGS => Capability::NetworkConfigurations,
        r::NETWORK_TEMPLATES => Capability::NetworkTemplates,
        r::NETWORK_PORT_CONFIGS => Capability::NetworkPortConfigurations,
        r::NETWORK_PORT_TEMPLATES => Capability::NetworkPortTemplates,
        r::FORWARDING_GROUP_TEMPLATES => Capability::ForwardingGroupTemplates,
        _ => return None,
    })
}

/// Collections whose entries the driver holds and this gateway serves read-only.
fn read_only(c: Coll) -> bool {
    matches!(
        c,
        r::MACHINE_CONFIGS
            | r::FORWARDING_GROUPS
            | r::JOBS
            | r::RESOURCE_METADATA
            | r::SYSTEMS
            | r::SYSTEM_TEMPLATES
            | r::NETWORK_PORTS
            | r::NETWORK_CONFIGS
            | r::NETWORK_TEMPLATES
            | r::NETWORK_PORT_CONFIGS
            | r::NETWORK_PORT_TEMPLATES
            | r::FORWARDING_GROUP_TEMPLATES
    )
}

fn create_capability(c: Coll) -> Option<Capability> {
    Some(match c {
        r::MACHINES => Capability::CreateInstance,
        r::MACHINE_IMAGES => Capability::CreateImage,
        r::CREDENTIALS => Capability::CreateKey,
        r::VOLUMES | r::VOLUME_CONFIGS | r::VOLUME_TEMPLATES => Capability::CreateStorageVolume,
        r::VOLUME_IMAGES => Capability::CreateStorageSnapshot,
        r::ADDRESSES => Capability::CreateAddress,
        r::NETWORKS => Capability::CreateSubnet,
        _ => return None,
    })
}

fn can_add(cx: &Cx, c: Coll) -> bool {
    !read_only(c) && create_capability(c).is_none_or(|cap| cx.driver.capabilities().has(cap))
}

fn can_list(cx: &Cx, c: Coll) -> bool {
    list_capability(c).is_none_or(|cap| cx.driver.capabilities().has(cap))
}

fn entity_kind(c: Coll) -> Option<&'static str> {
    Some(match c {
        r::MACHINE_TEMPLATES => "machine_template",
        r::VOLUME_CONFIGS => "volume_configuration",
        r::VOLUME_TEMPLATES => "volume_template",
        r::ADDRESS_TEMPLATES => "address_template",
        _ => return None,
    })
}

fn overlay_kind(c: Coll) -> Option<&'static str> {
    Some(match c {
        r::MACHINES => "machine",
        r::MACHINE_IMAGES => "machine_image",
        r::CREDENTIALS => "credential",
        r::VOLUMES => "volume",
        r::VOLUME_IMAGES => "volume_image",
        r::ADDRESSES => "address",
        _ => return None,
    })
}

/// The driver's hardware profiles, borrowed when the driver has a static list (the common
/// case: no copy of every profile per machine listing).
async fn profiles(cx: &Cx) -> std::borrow::Cow<'_, [HardwareProfile]> {
    let fixed = cx.driver.static_hardware_profiles();
    if !fixed.is_empty() {
        return std::borrow::Cow::Borrowed(fixed);
    }
    std::borrow::Cow::Owned(
        cx.driver
            .hardware_profiles(&cx.ctx, &Filter::default())
            .await
            .unwrap_or_default(),
    )
}

fn filter_for(id: Option<&str>) -> Filter {
    id.map_or_else(Filter::default, Filter::by_id)
}

/// The entries of a collection (or the one entry `id`), as JSON objects.
async fn list(cx: &Cx, c: Coll, id: Option<&str>) -> Result<Vec<Obj>, CimiError> {
    if let Some(cap) = list_capability(c) {
        require(cx, cap)?;
    }
    let f = filter_for(id);
    let d = &cx.driver;
    let (u, now) = (&cx.u, cx.now.as_str());
    if let Some(kind) = entity_kind(c) {
        // Address templates: the driver's own (the mock's seeds, `cimi.md` §5.13) come first,
        // then the ones created through CIMI, which have numeric ids.
        let mut out = Vec::new();
        if c == r::ADDRESS_TEMPLATES
            && d.capabilities().has(Capability::AddressTemplates)
            && id.is_none_or(|i| i.parse::<i64>().is_err())
        {
            let ts = d.cimi_entities().address_templates(&cx.ctx, &f).await?;
            out.extend(ts.iter().map(|t| r::address_template(u, t, now)));
        }
        let only = match id {
            Some(i) => match i.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => return Ok(out),
            },
            None => None,
        };
        let es = cx.store.entities(&cx.scope, kind, only).await?;
        out.extend(es.iter().map(|e| r::entity(u, c, e)));
        return Ok(out);
    }
    if c == r::JOBS {
        let only = match id {
            Some(i) => Some(i.parse::<i64>().map_err(|_| CimiError::not_found())?),
            None => None,
        };
        let js = cx.store.jobs(&cx.scope, only).await?;
        return Ok(js.iter().map(|j| r::job(u, j)).collect());
    }
    if c == r::RESOURCE_METADATA {
        return Err(CimiError::not_found());
    }
    let overlays = match overlay_kind(c) {
        Some(k) => cx.store.overlays(&cx.scope, k).await?,
        None => Default::default(),
    };
    let (out, ids): (Vec<Obj>, Vec<String>) = match c {
        r::MACHINES => {
            let insts = d.instances(&cx.ctx, &f).await?;
            let profiles = profiles(cx).await;
            (
                render_machines(cx, &insts, &profiles, &overlays),
                insts.iter().map(|i| i.id.to_string()).collect(),
            )
        }
        r::MACHINE_CONFIGS => {
            let ps = d.hardware_profiles(&cx.ctx, &f).await?;
            (
                ps.iter()
                    .filter_map(|p| r::machine_config(u, p, now))
                    .collect(),
                Vec::new(),
            )
        }
        r::MACHINE_IMAGES => overlaid(
            &d.images(&cx.ctx, &f).await?,
            &overlays,
            |x| x.id.as_str(),
            |x, ov| r::machine_image(u, x, ov, now),
        ),
        r::CREDENTIALS => overlaid(
            &d.keys(&cx.ctx, &f).await?,
            &overlays,
            |x| x.id.as_str(),
            |x, ov| r::credential(u, x, ov, now),
        ),
        r::VOLUMES => overlaid(
            &d.storage_volumes(&cx.ctx, &f).await?,
            &overlays,
            |x| x.id.as_str(),
            |x, ov| r::volume(u, x, ov, now),
        ),
        r::VOLUME_IMAGES => {
            let ss = d.storage_snapshots(&cx.ctx, &f).await?;
            // The original returned the first snapshot whatever the id; filter explicitly.
            let ss: Vec<_> = ss
                .into_iter()
                .filter(|s| id.is_none_or(|i| s.id == i))
                .collect();
            overlaid(
                &ss,
                &overlays,
                |x| x.id.as_str(),
                |x, ov| r::volume_image(u, x, ov, now),
            )
        }
        r::NETWORKS => plain(&d.subnets(&cx.ctx, &f).await?, |s| r::network(u, s, now)),
        r::FORWARDING_GROUPS => {
            let ns = d.networks(&cx.ctx, &f).await?;
            (
                ns.iter()
                    .filter(|n| n.subnets.len() >= 2)
                    .map(|n| r::forwarding_group(u, n, now))
                    .collect(),
                Vec::new(),
            )
        }
        r::SYSTEMS => plain(&d.cimi_entities().systems(&cx.ctx, &f).await?, |x| {
            r::system(u, x, now)
        }),
        r::SYSTEM_TEMPLATES => plain(
            &d.cimi_entities().system_templates(&cx.ctx, &f).await?,
            |x| r::system_template(u, x, now),
        ),
        r::NETWORK_PORTS => plain(&d.cimi_entities().network_ports(&cx.ctx, &f).await?, |x| {
            r::network_port(u, x, now)
        }),
        r::NETWORK_CONFIGS => plain(
            &d.cimi_entities()
                .network_configurations(&cx.ctx, &f)
                .await?,
            |x| r::network_config(u, x, now),
        ),
        r::NETWORK_TEMPLATES => plain(
            &d.cimi_entities().network_templates(&cx.ctx, &f).await?,
            |x| r::network_template(u, x, now),
        ),
        r::NETWORK_PORT_CONFIGS => plain(
            &d.cimi_entities()
                .network_port_configurations(&cx.ctx, &f)
                .await?,
            |x| r::network_port_config(u, x, now),
        ),
        r::NETWORK_PORT_TEMPLATES => plain(
            &d.cimi_entities()
                .network_port_templates(&cx.ctx, &f)
                .await?,
            |x| r::network_port_template(u, x, now),
        ),
        r::FORWARDING_GROUP_TEMPLATES => plain(
            &d.cimi_entities()
                .forwarding_group_templates(&cx.ctx, &f)
                .await?,
            |x| r::forwarding_group_template(u, x, now),
        ),
        r::ADDRESSES => overlaid(
            &d.addresses(&cx.ctx, &f).await?,
            &overlays,
            |x| x.id.as_str(),
            |x, ov| r::address(u, x, ov, now),
        ),
        _ => return Err(CimiError::not_found()),
    };
    // A full list tells which overlays belong to resources that are gone.
    if id.is_none()
        && let Some(k) = overlay_kind(c)
    {
        let gone: Vec<String> = overlays
            .keys()
            .filter(|k| !ids.contains(k))
            .cloned()
            .collect();
        cx.store.prune_overlays(&cx.scope, k, gone).await?;
    }
    let out = out
        .into_iter()
        .filter(|e| {
            id.is_none_or(|i| {
                e.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|x| last_segment(x) == i)
            })
        })
        .collect();
    Ok(out)
}

/// Entities the store keeps no overlay for: rendered as the driver reports them, with no ids
/// whose overlays could be pruned.
fn plain<T>(xs: &[T], render: impl Fn(&T) -> Obj) -> (Vec<Obj>, Vec<String>) {
    (xs.iter().map(render).collect(), Vec::new())
}

/// Entities the store may keep an overlay for (name, description, properties set through
/// CIMI): rendered with it, and their ids, so overlays of vanished entities can be pruned.
fn overlaid<T>(
    xs: &[T],
    overlays: &std::collections::BTreeMap<String, Overlay>,
    id: impl Fn(&T) -> &str,
    render: impl Fn(&T, Option<&Overlay>) -> Obj,
) -> (Vec<Obj>, Vec<String>) {
    (
        xs.iter().map(|x| render(x, overlays.get(id(x)))).collect(),
        xs.iter().map(|x| id(x).to_owned()).collect(),
    )
}

fn render_machines(
    cx: &Cx,
    insts: &[deltacloud_core::Instance],
    profiles: &[HardwareProfile],
    overlays: &std::collections::BTreeMap<String, Overlay>,
) -> Vec<Obj> {
    let capture = cx.driver.capabilities().has(Capability::CreateImage);
    insts
        .iter()
        .map(|i| {
            let ov = overlays.get(i.id.as_str());
            r::machine(&cx.u, i, profiles, capture, ov, &cx.now)
        })
        .collect()
}

/// The last machine collections this worker rendered, with everything they were rendered
/// from. `GET /cimi/machines` is what CIMI clients poll, and its answer rarely changes:
/// building the JSON tree, serializing and hashing it were most of the cost of a request once
/// the driver and the store answer from memory. The key holds *every* input of the rendering
/// (driver answer, overlays, profiles, URL base, the clock second, query string, format), and
/// a hit needs them all equal, so a hit returns exactly what rendering would have.
///
/// One per worker thread (registered in `configure`), so a `RefCell` suffices; it keeps a few
/// slots (formats and query strings clients poll with).
#[derive(Default)]
pub(crate) struct RenderMemo {
    slots: std::cell::RefCell<std::collections::VecDeque<(MachinesKey, http::Rendered)>>,
}

const RENDER_SLOTS: usize = 4;

struct MachinesKey {
    driver: String,
    provider: String,
    fmt: Fmt,
    base: String,
    now: String,
    query: String,
    capture: bool,
    insts: Arc<Vec<deltacloud_core::Instance>>,
    overlays: Arc<std::collections::BTreeMap<String, Overlay>>,
    profiles: Vec<HardwareProfile>,
}

/// A [`MachinesKey`]'s inputs borrowed from the request, so a memo hit copies nothing (the
/// profiles alone were a few dozen allocations per request).
struct MachinesInputs<'a> {
    cx: &'a Cx,
    query: &'a str,
    capture: bool,
    insts: &'a Arc<Vec<deltacloud_core::Instance>>,
    overlays: &'a Arc<std::collections::BTreeMap<String, Overlay>>,
    profiles: &'a [HardwareProfile],
}

impl MachinesKey {
    /// Every field equal (`Arc`'s equality tries the pointer first).
    fn matches(&self, i: &MachinesInputs<'_>) -> bool {
        self.driver == i.cx.scope.driver
            && self.provider == i.cx.scope.provider
            && self.fmt == i.cx.fmt
            && self.base == i.cx.u.base
            && self.now == i.cx.now
            && self.query == i.query
            && self.capture == i.capture
            && self.insts == *i.insts
            && self.overlays == *i.overlays
            && self.profiles == i.profiles
    }

    fn from_inputs(i: &MachinesInputs<'_>) -> Self {
        Self {
            driver: i.cx.scope.driver.clone(),
            provider: i.cx.scope.provider.clone(),
            fmt: i.cx.fmt,
            base: i.cx.u.base.clone(),
            now: i.cx.now.clone(),
            query: i.query.to_owned(),
            capture: i.capture,
            insts: Arc::clone(i.insts),
            overlays: Arc::clone(i.overlays),
            profiles: i.profiles.to_vec(),
        }
    }
}

/// `GET /cimi/machines`: [`list`] + [`collection`] through the worker's [`RenderMemo`].
async fn machines_collection(cx: &Cx, req: &HttpRequest) -> Res {
    require(cx, Capability::Instances)?;
    // Shared: the mock hands out the same `Arc` while the list is unchanged.
    let insts = cx
        .driver
        .instances_shared(&cx.ctx, &Filter::default())
        .await?;
    let overlays = cx.store.overlays(&cx.scope, "machine").await?;
    let gone: Vec<String> = overlays
        .keys()
        .filter(|k| !insts.iter().any(|i| i.id == k.as_str()))
        .cloned()
        .collect();
    cx.store.prune_overlays(&cx.scope, "machine", gone).await?;
    let profiles = profiles(cx).await;
    let inputs = MachinesInputs {
        cx,
        query: req.query_string(),
        capture: cx.driver.capabilities().has(Capability::CreateImage),
        insts: &insts,
        overlays: &overlays,
        profiles: &profiles,
    };
    let memo = req.app_data::<RenderMemo>();
    if let Some(m) = memo
        && let Some((_, hit)) = m.slots.borrow().iter().find(|(k, _)| k.matches(&inputs))
    {
        return Ok(hit.respond(StatusCode::OK));
    }
    let key = MachinesKey::from_inputs(&inputs);
    let entries = render_machines(cx, &key.insts, &key.profiles, &key.overlays);
    let url = cx.u.cimi(r::MACHINES.path);
    let doc = collection_doc(
        cx,
        r::MACHINES,
        &url,
        entries,
        can_add(cx, r::MACHINES),
        &cx.query,
    );
    let rendered = http::Rendered::new(cx.fmt, "Collection", "MachineCollection", doc);
    let resp = rendered.respond(StatusCode::OK);
    if let Some(m) = memo {
        let mut slots = m.slots.borrow_mut();
        if slots.len() >= RENDER_SLOTS {
            slots.pop_front();
        }
        slots.push_back((key, rendered));
    }
    Ok(resp)
}

/// Render a collection with the query parameters applied.
fn collection(cx: &Cx, c: Coll, url: &str, entries: Vec<Obj>, add: bool) -> Res {
    let doc = collection_doc(cx, c, url, entries, add, &cx.query);
    Ok(http::document(
        StatusCode::OK,
        cx.fmt,
        "Collection",
        &format!("{}Collection", c.ty),
        doc,
    ))
}

fn collection_doc(cx: &Cx, c: Coll, url: &str, entries: Vec<Obj>, add: bool, q: &Query) -> Obj {
    let (entries, count) = q.apply(entries);
    let mut doc = Map::new();
    doc.insert("id".into(), json!(url));
    doc.insert("href".into(), json!(url));
    doc.insert("count".into(), json!(count));
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| Value::Object(q.select(e)))
        .collect();
    if !entries.is_empty() {
        doc.insert(c.key.into(), Value::Array(entries));
    }
    let add_href = if c == r::MACHINE_VOLUMES {
        url.trim_end_matches("/volumes").to_owned() + "/volume_attach"
    } else {
        url.to_owned()
    };
    let _ = cx;
    doc.insert(
        "operations".into(),
        if add {
            json!([{"rel": "add", "href": add_href}])
        } else {
            json!([])
        },
    );
    doc
}

/// `$expand=disks,volumes` on a machine.
async fn expand_machine(cx: &Cx, id: &str, m: &mut Obj) -> Result<(), CimiError> {
    let machine_url = cx.u.of(r::MACHINES, id);
    let none = Query::default();
    if cx.query.expand.wants("disks") {
        let inst = instance(cx, id).await?;
        let profiles = profiles(cx).await;
        let d = r::disks(&cx.u, &inst, &profiles, &cx.now);
        let url = format!("{machine_url}/disks");
        m.insert(
            "disks".into(),
            Value::Object(collection_doc(cx, r::DISKS, &url, d, false, &none)),
        );
    }
    if cx.query.expand.wants("volumes") {
        let v = machine_volumes(cx, id).await?;
        let url = format!("{machine_url}/volumes");
        m.insert(
            "volumes".into(),
            Value::Object(collection_doc(cx, r::MACHINE_VOLUMES, &url, v, true, &none)),
        );
    }
    Ok(())
}

/// The members of one system's sub-collection `sub` (`machines`, `network_ports`, …); 404 for
/// an unknown system or a sub-collection the system does not have.
async fn system_members(cx: &Cx, id: &str, sub: &str) -> Result<(Coll, Vec<Obj>), CimiError> {
    require(cx, Capability::Systems)?;
    let (kind, coll) = r::SYSTEM_MEMBERS
        .iter()
        .find(|m| m.1.path == sub)
        .map(|m| (m.0, m.1))
        .ok_or_else(CimiError::not_found)?;
    let e = cx.driver.cimi_entities();
    let system = e
        .systems(&cx.ctx, &Filter::by_id(id))
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(CimiError::not_found)?;
    if !system.collections.contains(&kind) {
        return Err(CimiError::not_found());
    }
    let members = e.system_components(&cx.ctx, &SystemId::new(id)).await?;
    Ok((
        coll,
        members
            .iter()
            .filter(|m| m.kind == kind)
            .filter_map(|m| r::system_member(&cx.u, m, &cx.now))
            .collect(),
    ))
}

/// `$expand=machines,volumes,…` (or `*`) on a system inlines those sub-collections.
async fn expand_system(cx: &Cx, id: &str, m: &mut Obj) -> Result<(), CimiError> {
    let none = Query::default();
    for (_, coll, attr, _) in r::SYSTEM_MEMBERS {
        if !m.contains_key(*attr) || !cx.query.expand.wants(attr) {
            continue;
        }
        let (coll, entries) = system_members(cx, id, coll.path).await?;
        let url = format!("{}/{}", cx.u.of(r::SYSTEMS, id), coll.path);
        m.insert(
            (*attr).into(),
            Value::Object(collection_doc(cx, coll, &url, entries, false, &none)),
        );
    }
    Ok(())
}

async fn instance(cx: &Cx, id: &str) -> Result<deltacloud_core::Instance, CimiError> {
    require(cx, Capability::Instances)?;
    cx.driver
        .instance(&cx.ctx, &id.into())
        .await?
        .ok_or_else(CimiError::not_found)
}

async fn machine_volumes(cx: &Cx, id: &str) -> Result<Vec<Obj>, CimiError> {
    let _ = instance(cx, id).await?;
    require(cx, Capability::StorageVolumes)?;
    let vols = cx
        .driver
        .storage_volumes(&cx.ctx, &Filter::default())
        .await?;
    Ok(vols
        .iter()
        .filter(|v| v.instance_id.as_ref().is_some_and(|i| i == id))
        .map(|v| r::machine_volume(&cx.u, id, v, &cx.now))
        .collect())
}

// ---- entry point and metadata ---------------------------------------------------------------

/// Entry-point keys in spec order, with the collection each points at.
const CEP_KEYS: &[(&str, Coll)] = &[
    ("resourceMetadata", r::RESOURCE_METADATA),
    ("systems", r::SYSTEMS),
    ("systemTemplates", r::SYSTEM_TEMPLATES),
    ("machines", r::MACHINES),
    ("machineTemplates", r::MACHINE_TEMPLATES),
    ("machineConfigs", r::MACHINE_CONFIGS),
    ("machineImages", r::MACHINE_IMAGES),
    ("credentials", r::CREDENTIALS),
    ("volumes", r::VOLUMES),
    ("volumeTemplates", r::VOLUME_TEMPLATES),
    ("volumeConfigs", r::VOLUME_CONFIGS),
    ("volumeImages", r::VOLUME_IMAGES),
    ("networks", r::NETWORKS),
    ("networkTemplates", r::NETWORK_TEMPLATES),
    ("networkConfigs", r::NETWORK_CONFIGS),
    ("networkPorts", r::NETWORK_PORTS),
    ("networkPortTemplates", r::NETWORK_PORT_TEMPLATES),
    ("networkPortConfigs", r::NETWORK_PORT_CONFIGS),
    ("addresses", r::ADDRESSES),
    ("addressTemplates", r::ADDRESS_TEMPLATES),
    ("forwardingGroups", r::FORWARDING_GROUPS),
    ("forwardingGroupTemplates", r::FORWARDING_GROUP_TEMPLATES),
    ("jobs", r::JOBS),
];

async fn entry_point(cx: &Cx, force_auth: bool) -> Res {
    if force_auth {
        let ok = cx.ctx.credentials.is_some()
            && cx.driver.valid_credentials(&cx.ctx).await.unwrap_or(false);
        if !ok {
            let mut e = CimiError::new(StatusCode::UNAUTHORIZED, "Unauthorized");
            e.challenge = true;
            return Err(e);
        }
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(cx.u.cimi("cloudEntryPoint")));
    m.insert("name".into(), json!(cx.scope.driver));
    m.insert(
        "description".into(),
        json!(format!(
            "Cloud Entry Point for the Deltacloud {} driver",
            cx.scope.driver
        )),
    );
    m.insert("created".into(), json!(cx.now));
    m.insert("updated".into(), json!(cx.now));
    m.insert("properties".into(), json!({}));
    m.insert("driver".into(), json!(cx.scope.driver));
    m.insert("provider".into(), json!(cx.scope.provider));
    m.insert("baseURI".into(), json!(cx.u.cimi("")));
    let none = Query::default();
    for (key, c) in CEP_KEYS {
        if !can_list(cx, *c) {
            continue;
        }
        let url = cx.u.cimi(c.path);
        let expand = cx.query.expand.wants(key) && *c != r::RESOURCE_METADATA;
        let v = if expand {
            let entries = list(cx, *c, None).await?;
            Value::Object(collection_doc(
                cx,
                *c,
                &url,
                entries,
                can_add(cx, *c),
                &none,
            ))
        } else {
            json!({ "href": url })
        };
        m.insert((*key).into(), v);
    }
    m.insert("operations".into(), json!([]));
    Ok(http::document(
        StatusCode::OK,
        cx.fmt,
        "CloudEntryPoint",
        "CloudEntryPoint",
        m,
    ))
}

async fn resource_metadata(cx: &Cx, name: Option<&str>) -> Res {
    let realms: Vec<Value> = if name.is_none_or(|n| n == "machine" || n == "machine_template") {
        match cx.driver.realms(&cx.ctx, &Filter::default()).await {
            Ok(rs) => rs.iter().map(|r| json!({"value": r.id})).collect(),
            Err(e) if e.kind() == deltacloud_core::ErrorKind::NotSupported => Vec::new(),
            Err(e) => return Err(e.into()),
        }
    } else {
        Vec::new()
    };
    let attr = |snake: &str, n: &str, ty: &str, constraints: &[Value]| {
        json!({"name": n, "namespace": format!("http://deltacloud.org/cimi/{snake}/{n}"),
               "type": ty, "required": "false", "constraints": constraints})
    };
    let mut caps = Vec::new();
    if cx.driver.capabilities().has(Capability::CreateInstance) {
        caps.push(json!({"name": "DefaultInitialState",
            "uri": "http://schemas.dmtf.org/cimi/1/capability/Machine/DefaultInitialState",
            "description": "Indicates what the default initial state of a new Machine is", "value": "STARTED"}));
        caps.push(json!({"name": "InitialStates",
            "uri": "http://schemas.dmtf.org/cimi/1/capability/Machine/InitialStates",
            "description": "Indicates which states are allowed as the initial state of a new Machine",
            "value": "STARTED,STOPPED"}));
    }
    let entries: Vec<(&str, &str, Vec<Value>, Vec<Value>)> = vec![
        (
            "cloud_entry_point",
            "CloudEntryPoint",
            vec![
                attr("cloud_entry_point", "driver", "text", &[]),
                attr("cloud_entry_point", "provider", "text", &[]),
            ],
            Vec::new(),
        ),
        (
            "machine",
            "Machine",
            vec![
                attr("machine", "realm", "text", &realms),
                attr("machine", "machine_image", "URI", &[]),
            ],
            caps,
        ),
        (
            "machine_template",
            "MachineTemplate",
            vec![attr("machine_template", "realm", "text", &realms)],
            Vec::new(),
        ),
    ];
    let docs: Vec<Obj> = entries
        .into_iter()
        .map(|(snake, ty, attrs, caps)| {
            let mut m = Map::new();
            m.insert(
                "id".into(),
                json!(cx.u.cimi(&format!("resource_metadata/{snake}"))),
            );
            m.insert("name".into(), json!(ty));
            // The common attributes every resource carries (issue 5), then the metadata.
            m.insert(
                "description".into(),
                json!(format!("Metadata of the {ty} resource")),
            );
            m.insert("created".into(), json!(cx.now));
            m.insert("updated".into(), json!(cx.now));
            m.insert("properties".into(), json!({}));
            m.insert("typeUri".into(), json!(format!("{}{ty}", r::SCHEMA)));
            m.insert("attributes".into(), Value::Array(attrs));
            m.insert("capabilities".into(), Value::Array(caps));
            m.insert("operations".into(), json!([]));
            m
        })
        .collect();
    match name {
        None => collection(
            cx,
            r::RESOURCE_METADATA,
            &cx.u.cimi("resource_metadata"),
            docs,
            false,
        ),
        Some(n) => {
            let want = cx.u.cimi(&format!("resource_metadata/{n}"));
            let one = docs
                .into_iter()
                .find(|d| d.get("id").and_then(Value::as_str) == Some(&want))
                .ok_or_else(CimiError::not_found)?;
            Ok(http::document(
                StatusCode::OK,
                cx.fmt,
                "ResourceMetadata",
                "ResourceMetadata",
                one,
            ))
        }
    }
}

// ---- creates --------------------------------------------------------------------------------

fn overlay_of(doc: &Obj, now: &str) -> Overlay {
    Overlay {
        name: text(doc, "name"),
        description: text(doc, "description"),
        properties: http::properties(doc),
        created: now.to_owned(),
    }
}

/// The database id named by an href into collection `c` (404 if it is not such an href).
async fn stored(cx: &Cx, c: Coll, h: &str) -> Result<Entity, CimiError> {
    let kind = entity_kind(c).ok_or_else(CimiError::not_found)?;
    let prefix = format!("/cimi/{}/", c.path);
    let id = h
        .find(&prefix)
        .map(|i| &h[i + prefix.len()..])
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| CimiError::bad_request(format!("'{h}' is not a reference to a {}", c.ty)))?;
    cx.store
        .entities(&cx.scope, kind, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CimiError::bad_request(format!("{} '{h}' does not exist", c.ty)))
}

fn created(cx: &Cx, c: Coll, id: &str, doc: Obj) -> HttpResponse {
    let loc = cx.u.of(c, id);
    let mut resp = http::document(StatusCode::CREATED, cx.fmt, c.ty, c.ty, doc);
    if let Ok(v) = header::HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn create(cx: &Cx, c: Coll, doc: Obj) -> Res {
    if let Some(cap) = create_capability(c)
        && !cx.driver.capabilities().has(cap)
    {
        return Err(CimiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Creating {} is not supported by the current driver", c.ty),
        ));
    }
    match c {
        r::MACHINES => create_machine(cx, doc).await,
        r::MACHINE_TEMPLATES => {
            let mut missing = Vec::new();
            for k in ["machineConfig", "machineImage"] {
                if href(&doc, k).is_none() {
                    missing.push(k);
                }
            }
            if !missing.is_empty() {
                return Err(CimiError::missing(&missing));
            }
            let mut data = Map::new();
            for k in ["machineConfig", "machineImage", "credential"] {
                if let Some(h) = href(&doc, k) {
                    data.insert(k.into(), json!({ "href": h }));
                }
            }
            for k in ["realm", "initialState"] {
                if let Some(v) = text(&doc, k) {
                    data.insert(k.into(), json!(v));
                }
            }
            store_entity(cx, c, &doc, data).await
        }
        r::VOLUME_CONFIGS => {
            let Some(cap) = text(&doc, "capacity") else {
                return Err(CimiError::missing(&["capacity"]));
            };
            let gb: f64 = cap.parse().ok().filter(|g: &f64| *g > 0.0).ok_or_else(|| {
                CimiError::bad_request(format!(
                    "Invalid capacity '{cap}': expected a positive number of GB"
                ))
            })?;
            let mut data = Map::new();
            if let Some(f) = text(&doc, "format") {
                data.insert("format".into(), json!(f));
            }
            data.insert("capacity".into(), json!(gb));
            store_entity(cx, c, &doc, data).await
        }
        r::VOLUME_TEMPLATES => {
            let mut missing = Vec::new();
            let mut data = Map::new();
            for k in ["volumeConfig", "volumeImage"] {
                match href(&doc, k) {
                    Some(h) => {
                        data.insert(k.into(), json!({ "href": h }));
                    }
                    None => missing.push(k),
                }
            }
            if !missing.is_empty() {
                return Err(CimiError::missing(&missing));
            }
            store_entity(cx, c, &doc, data).await
        }
        r::ADDRESS_TEMPLATES => {
            let keys = [
                "ip",
                "hostname",
                "allocation",
                "defaultGateway",
                "dns",
                "protocol",
                "mask",
            ];
            let missing: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| text(&doc, k).is_none())
                .collect();
            if !missing.is_empty() {
                return Err(CimiError::missing(&missing));
            }
            let mut data = Map::new();
            for k in keys {
                if let Some(v) = text(&doc, k) {
                    data.insert(k.into(), json!(v));
                }
            }
            if let Some(h) = href(&doc, "network") {
                data.insert("network".into(), json!({ "href": h }));
            }
            store_entity(cx, c, &doc, data).await
        }
        r::MACHINE_IMAGES => {
            let mut missing = Vec::new();
            if text(&doc, "type").is_none() {
                missing.push("type");
            }
            let loc = text(&doc, "imageLocation").or_else(|| href(&doc, "imageLocation"));
            if loc.is_none() {
                missing.push("imageLocation");
            }
            let Some(loc) = loc.filter(|_| missing.is_empty()) else {
                return Err(CimiError::missing(&missing));
            };
            let inst = last_segment(&loc).to_owned();
            let img = cx
                .driver
                .create_image(
                    &cx.ctx,
                    &CreateImage {
                        instance_id: inst.into(),
                        name: text(&doc, "name"),
                        description: text(&doc, "description"),
                    },
                )
                .await?;
            let ov = overlay_of(&doc, &cx.now);
            cx.store
                .put_overlay(&cx.scope, "machine_image", &img.id, ov.clone())
                .await?;
            let m = r::machine_image(&cx.u, &img, Some(&ov), &cx.now);
            Ok(created(cx, c, &img.id, m))
        }
        r::CREDENTIALS => {
            let Some(tpl) = doc.get("credentialTemplate").and_then(Value::as_object) else {
                return Err(CimiError::missing(&["credentialTemplate"]));
            };
            if href(&doc, "credentialTemplate").is_none() || tpl.len() > 1 {
                let missing: Vec<&str> = ["username", "password", "key"]
                    .into_iter()
                    .filter(|k| text(tpl, k).is_none())
                    .collect();
                if !missing.is_empty() {
                    return Err(CimiError::missing(&missing));
                }
            }
            let Some(name) = text(&doc, "name") else {
                return Err(CimiError::missing(&["name"]));
            };
            let key = cx
                .driver
                .create_key(
                    &cx.ctx,
                    &CreateKey {
                        name,
                        public_key: None,
                    },
                )
                .await?;
            let ov = overlay_of(&doc, &cx.now);
            cx.store
                .put_overlay(&cx.scope, "credential", &key.id, ov.clone())
                .await?;
            Ok(created(
                cx,
                c,
                &key.id,
                r::credential(&cx.u, &key, Some(&ov), &cx.now),
            ))
        }
        r::VOLUMES => create_volume(cx, doc).await,
        r::VOLUME_IMAGES => {
            let mut missing = Vec::new();
            if text(&doc, "bootable").is_none() {
                missing.push("bootable");
            }
            let loc = href(&doc, "imageLocation");
            if loc.is_none() {
                missing.push("imageLocation");
            }
            let Some(loc) = loc.filter(|_| missing.is_empty()) else {
                return Err(CimiError::missing(&missing));
            };
            let snap = cx
                .driver
                .create_storage_snapshot(
                    &cx.ctx,
                    &CreateStorageSnapshot {
                        volume_id: last_segment(&loc).into(),
                        name: text(&doc, "name"),
                        description: text(&doc, "description"),
                    },
                )
                .await?;
            let ov = overlay_of(&doc, &cx.now);
            cx.store
                .put_overlay(&cx.scope, "volume_image", &snap.id, ov.clone())
                .await?;
            Ok(created(
                cx,
                c,
                &snap.id,
                r::volume_image(&cx.u, &snap, Some(&ov), &cx.now),
            ))
        }
        r::ADDRESSES => {
            let Some(tpl) = doc.get("addressTemplate").and_then(Value::as_object) else {
                return Err(CimiError::missing(&["addressTemplate"]));
            };
            match href(&doc, "addressTemplate").filter(|_| tpl.len() == 1) {
                Some(h) => {
                    stored(cx, r::ADDRESS_TEMPLATES, &h).await?;
                }
                None if text(tpl, "ip").is_none() => return Err(CimiError::missing(&["ip"])),
                None => {}
            }
            let a = cx.driver.create_address(&cx.ctx).await?;
            let ov = overlay_of(&doc, &cx.now);
            cx.store
                .put_overlay(&cx.scope, "address", &a.id, ov.clone())
                .await?;
            Ok(created(
                cx,
                c,
                &a.id,
                r::address(&cx.u, &a, Some(&ov), &cx.now),
            ))
        }
        r::NETWORKS => {
            let Some(tpl) = doc.get("networkTemplate").and_then(Value::as_object) else {
                return Err(CimiError::missing(&["networkTemplate"]));
            };
            let Some(fg) = href(tpl, "forwardingGroup") else {
                return Err(CimiError::missing(&["forwardingGroup"]));
            };
            let block = http::properties(&doc)
                .get("address_block")
                .cloned()
                .ok_or_else(|| CimiError::missing(&["property address_block"]))?;
            let s = cx
                .driver
                .create_subnet(
                    &cx.ctx,
                    &last_segment(&fg).into(),
                    &block,
                    text(&doc, "name").as_deref(),
                )
                .await?;
            Ok(created(cx, c, &s.id, r::network(&cx.u, &s, &cx.now)))
        }
        _ => Err(CimiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} resources cannot be created", c.ty),
        )),
    }
}

async fn store_entity(cx: &Cx, c: Coll, doc: &Obj, data: Obj) -> Res {
    let kind = entity_kind(c).ok_or_else(CimiError::not_found)?;
    let e = Entity {
        id: 0,
        name: text(doc, "name"),
        description: text(doc, "description"),
        properties: http::properties(doc),
        data,
        created: cx.now.clone(),
    };
    let id = cx.store.insert_entity(&cx.scope, kind, e.clone()).await?;
    let e = Entity { id, ..e };
    Ok(created(cx, c, &id.to_string(), r::entity(&cx.u, c, &e)))
}

async fn create_machine(cx: &Cx, doc: Obj) -> Res {
    let Some(Value::Object(inline)) = doc.get("machineTemplate") else {
        return Err(CimiError::missing(&["machineTemplate"]));
    };
    // By reference: `{"href": …/machine_templates/<id>}`; by value: the template's attributes.
    let tpl: Obj = match text(inline, "href") {
        Some(h) if !inline.contains_key("machineConfig") => {
            stored(cx, r::MACHINE_TEMPLATES, &h).await?.data
        }
        _ => inline.clone(),
    };
    let mut missing = Vec::new();
    let config = href(&tpl, "machineConfig");
    let image = href(&tpl, "machineImage");
    if config.is_none() {
        missing.push("machineConfig");
    }
    if image.is_none() {
        missing.push("machineImage");
    }
    let (Some(config), Some(image)) = (config, image) else {
        return Err(CimiError::missing(&missing));
    };
    let initial_state = match text(&tpl, "initialState")
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None => None,
        Some("STARTED" | "RUNNING") => Some(InstanceState::Running),
        Some("STOPPED") => Some(InstanceState::Stopped),
        Some(other) => {
            return Err(CimiError::bad_request(format!(
                "Invalid initialState '{other}': expected STARTED or STOPPED"
            )));
        }
    };
    let req = CreateInstance {
        image_id: last_segment(&image).into(),
        hwp_id: Some(last_segment(&config).into()),
        realm_id: text(&doc, "realm")
            .or_else(|| text(&tpl, "realm"))
            .map(Into::into),
        keyname: href(&tpl, "credential").map(|h| last_segment(&h).to_owned()),
        name: text(&doc, "name"),
        initial_state,
        ..CreateInstance::default()
    };
    let insts = cx.driver.create_instance(&cx.ctx, &req).await?;
    let inst = insts
        .into_iter()
        .next()
        .ok_or_else(|| CimiError::new(StatusCode::BAD_GATEWAY, "The driver created no machine"))?;
    let ov = overlay_of(&doc, &cx.now);
    cx.store
        .put_overlay(&cx.scope, "machine", &inst.id, ov.clone())
        .await?;
    let profiles = profiles(cx).await;
    let m = r::machine(
        &cx.u,
        &inst,
        &profiles,
        cx.driver.capabilities().has(Capability::CreateImage),
        Some(&ov),
        &cx.now,
    );
    let target = cx.u.of(r::MACHINES, &inst.id);
    let job = start_job(cx, target, "create", Work::Settle(inst.id.to_string())).await?;
    let mut resp = created(cx, r::MACHINES, &inst.id, m);
    set_job_header(&mut resp, &job);
    Ok(resp)
}

async fn create_volume(cx: &Cx, doc: Obj) -> Res {
    let Some(Value::Object(inline)) = doc.get("volumeTemplate") else {
        return Err(CimiError::missing(&["volumeTemplate"]));
    };
    let tpl: Obj = match text(inline, "href") {
        Some(h) if inline.len() == 1 => stored(cx, r::VOLUME_TEMPLATES, &h).await?.data,
        _ => inline.clone(),
    };
    // Capacity: a stored configuration (kept in GB) or an inline `capacity`, passed to the
    // driver in GB as the original did (`cimi.md` §6 capacity note).
    let capacity = match tpl.get("volumeConfig") {
        Some(Value::Object(vc)) => match text(vc, "href") {
            Some(h) => {
                let e = stored(cx, r::VOLUME_CONFIGS, &h).await?;
                e.data.get("capacity").map(|v| match v {
                    Value::Number(n) => n
                        .as_f64()
                        .map_or_else(|| n.to_string(), |f| format!("{}", f.ceil())),
                    other => other.as_str().unwrap_or("").to_owned(),
                })
            }
            None => text(vc, "capacity"),
        },
        _ => None,
    };
    let Some(capacity) = capacity else {
        return Err(CimiError::missing(&["volumeConfig"]));
    };
    let snapshot_id = href(&tpl, "volumeImage").map(|h| last_segment(&h).into());
    let v = cx
        .driver
        .create_storage_volume(
            &cx.ctx,
            &CreateStorageVolume {
                snapshot_id,
                capacity: Some(capacity),
                realm_id: None,
                name: text(&doc, "name"),
                description: text(&doc, "description"),
            },
        )
        .await?;
    let ov = overlay_of(&doc, &cx.now);
    cx.store
        .put_overlay(&cx.scope, "volume", &v.id, ov.clone())
        .await?;
    Ok(created(
        cx,
        r::VOLUMES,
        &v.id,
        r::volume(&cx.u, &v, Some(&ov), &cx.now),
    ))
}

// ---- deletes, actions, attachments ------------------------------------------------------------

async fn delete(cx: &Cx, c: Coll, id: &str) -> Res {
    if let Some(kind) = entity_kind(c) {
        let Ok(n) = id.parse::<i64>() else {
            // Not a database row: a driver-held template is read-only here.
            if c == r::ADDRESS_TEMPLATES && !list(cx, c, Some(id)).await?.is_empty() {
                return Err(CimiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("AddressTemplate {id} is provided by the driver and cannot be deleted"),
                ));
            }
            return Err(CimiError::not_found());
        };
        if c == r::VOLUME_CONFIGS || c == r::VOLUME_TEMPLATES {
            require(cx, Capability::StorageVolumes)?;
        }
        return if cx.store.delete_entity(&cx.scope, kind, n).await? {
            Ok(http::empty(StatusCode::OK))
        } else {
            Err(CimiError::not_found())
        };
    }
    let d = &cx.driver;
    let mut job = None;
    match c {
        r::MACHINES => {
            let inst = instance(cx, id).await?;
            require(cx, Capability::DestroyInstance)?;
            if !inst.actions.contains(&InstanceAction::Destroy) {
                return Err(state_conflict(&inst, "delete"));
            }
            d.destroy_instance(&cx.ctx, &inst.id).await?;
            job = Some(
                start_job(
                    cx,
                    cx.u.of(r::MACHINES, id),
                    "delete",
                    Work::Gone(id.to_owned()),
                )
                .await?,
            );
        }
        r::MACHINE_IMAGES => {
            require(cx, Capability::DestroyImage)?;
            d.destroy_image(&cx.ctx, &id.into()).await?;
        }
        r::CREDENTIALS => {
            require(cx, Capability::DestroyKey)?;
            d.destroy_key(&cx.ctx, &id.into()).await?;
        }
        r::VOLUMES => {
            require(cx, Capability::DestroyStorageVolume)?;
            d.destroy_storage_volume(&cx.ctx, &id.into()).await?;
        }
        r::VOLUME_IMAGES => {
            require(cx, Capability::DestroyStorageSnapshot)?;
            d.destroy_storage_snapshot(&cx.ctx, &id.into()).await?;
        }
        r::ADDRESSES => {
            require(cx, Capability::DestroyAddress)?;
            d.destroy_address(&cx.ctx, &id.into()).await?;
        }
        r::NETWORKS => {
            require(cx, Capability::DestroySubnet)?;
            d.destroy_subnet(&cx.ctx, &id.into()).await?;
        }
        _ => {
            return Err(CimiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} resources cannot be deleted", c.ty),
            ));
        }
    }
    if let Some(k) = overlay_kind(c) {
        cx.store.delete_overlay(&cx.scope, k, id).await?;
    }
    let mut resp = http::empty(StatusCode::OK);
    if let Some(j) = job {
        set_job_header(&mut resp, &j);
    }
    Ok(resp)
}

fn state_conflict(inst: &deltacloud_core::Instance, op: &str) -> CimiError {
    CimiError::new(
        StatusCode::CONFLICT,
        format!(
            "Machine {} is {}: the '{op}' operation is not valid in that state",
            inst.id,
            r::machine_state(inst.state)
        ),
    )
}

async fn machine_action(cx: &Cx, id: &str, action: &str, doc: Option<&Obj>) -> Res {
    let (act, cap) = match action {
        "start" => (InstanceAction::Start, Capability::StartInstance),
        "stop" => (InstanceAction::Stop, Capability::StopInstance),
        "restart" => (InstanceAction::Reboot, Capability::RebootInstance),
        _ => return Err(CimiError::not_found()),
    };
    if let Some(doc) = doc {
        let named = text(doc, "action").ok_or_else(|| CimiError::missing(&["action"]))?;
        if last_segment(&named) != action {
            return Err(CimiError::bad_request(format!(
                "The Action document asks for '{}' but was posted to '{action}'",
                last_segment(&named)
            )));
        }
    }
    require(cx, cap)?;
    let inst = instance(cx, id).await?;
    if !inst.actions.contains(&act) {
        return Err(state_conflict(&inst, action));
    }
    let target = cx.u.of(r::MACHINES, id);
    let job = start_job(cx, target, action, Work::Action(id.to_owned(), act)).await?;
    let row = cx
        .store
        .job(&cx.scope, job.0)
        .await?
        .ok_or_else(|| CimiError::new(StatusCode::INTERNAL_SERVER_ERROR, "job vanished"))?;
    let mut resp = http::document(
        StatusCode::ACCEPTED,
        cx.fmt,
        "Job",
        "Job",
        r::job(&cx.u, &row),
    );
    set_job_header(&mut resp, &job);
    Ok(resp)
}

async fn attach(cx: &Cx, id: &str, doc: &Obj) -> Res {
    require(cx, Capability::AttachStorageVolume)?;
    let mut missing = Vec::new();
    let vol = href(doc, "volume");
    let dev = text(doc, "initialLocation");
    if vol.is_none() {
        missing.push("volume");
    }
    if dev.is_none() {
        missing.push("initialLocation");
    }
    let (Some(vol), Some(dev)) = (vol, dev) else {
        return Err(CimiError::missing(&missing));
    };
    let inst = instance(cx, id).await?;
    let v = cx
        .driver
        .attach_storage_volume(&cx.ctx, &last_segment(&vol).into(), &inst.id, &dev)
        .await?;
    let m = r::machine_volume(&cx.u, id, &v, &cx.now);
    let loc = format!("{}/volumes/{}", cx.u.of(r::MACHINES, id), v.id);
    let mut resp = http::document(
        StatusCode::CREATED,
        cx.fmt,
        "MachineVolume",
        "MachineVolume",
        m,
    );
    if let Ok(h) = header::HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, h);
    }
    Ok(resp)
}

async fn detach(cx: &Cx, id: &str, vid: &str) -> Res {
    require(cx, Capability::DetachStorageVolume)?;
    let attached = machine_volumes(cx, id).await?;
    let want = format!("{}/volumes/{vid}", cx.u.of(r::MACHINES, id));
    if !attached
        .iter()
        .any(|e| e.get("id").and_then(Value::as_str) == Some(&want))
    {
        return Err(CimiError::not_found());
    }
    cx.driver
        .detach_storage_volume(&cx.ctx, &vid.into())
        .await?;
    let entries = machine_volumes(cx, id).await?;
    let url = format!("{}/volumes", cx.u.of(r::MACHINES, id));
    let doc = collection_doc(
        cx,
        r::MACHINE_VOLUMES,
        &url,
        entries,
        true,
        &Query::default(),
    );
    Ok(http::document(
        StatusCode::OK,
        cx.fmt,
        "Collection",
        "MachineVolumeCollection",
        doc,
    ))
}

// ---- jobs -------------------------------------------------------------------------------------

/// What a job does in the background.
enum Work {
    /// Run the action, then wait until the machine leaves transitional states.
    Action(String, InstanceAction),
    /// Wait until a new machine settles.
    Settle(String),
    /// Wait until a deleted machine is gone.
    Gone(String),
}

/// A started job: its id and URL.
struct JobRef(i64, String);

fn set_job_header(resp: &mut HttpResponse, job: &JobRef) {
    if let Ok(v) = header::HeaderValue::from_str(&job.1) {
        resp.headers_mut()
            .insert(HeaderName::from_static("cimi-job-uri"), v);
    }
}

/// How long a job waits for a machine to settle before it reports failure.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Record a running job and run `work` in the background; the job row gets the real outcome.
async fn start_job(cx: &Cx, target: String, verb: &str, work: Work) -> Result<JobRef, CimiError> {
    let action = format!("{}{verb}", r::ACTION);
    let id = cx
        .store
        .insert_job(&cx.scope, target, action, r::now())
        .await?;
    let (driver, ctx, store) = (cx.driver.clone(), cx.ctx.clone(), cx.store.clone());
    actix_web::rt::spawn(async move {
        let outcome = run_work(&driver, &ctx, &store, id, work).await;
        let (status, code, msg) = match outcome {
            Ok(()) => ("SUCCESS", 200, None),
            Err(e) => ("FAILED", i64::from(e.status.as_u16()), Some(e.message)),
        };
        if let Err(e) = store
            .update_job(id, status, 100, Some(code), msg, r::now())
            .await
        {
            tracing::error!(job = id, error = %e, "cannot record the job outcome");
        }
    });
    Ok(JobRef(id, cx.u.of(r::JOBS, &id.to_string())))
}

async fn run_work(
    d: &Arc<dyn Driver>,
    ctx: &RequestContext,
    store: &Store,
    job: i64,
    work: Work,
) -> Result<(), CimiError> {
    let (id, gone) = match work {
        Work::Action(id, a) => {
            let iid = id.clone().into();
            match a {
                InstanceAction::Start => d.start_instance(ctx, &iid).await?,
                InstanceAction::Stop => d.stop_instance(ctx, &iid).await?,
                InstanceAction::Reboot => d.reboot_instance(ctx, &iid).await?,
                _ => return Err(CimiError::bad_request("unsupported job action")),
            };
            (id, false)
        }
        Work::Settle(id) => (id, false),
        Work::Gone(id) => (id, true),
    };
    let _ = store
        .update_job(job, "RUNNING", 50, None, None, r::now())
        .await;
    let deadline = std::time::Instant::now() + SETTLE_LIMIT;
    loop {
        let inst = d.instance(ctx, &id.clone().into()).await?;
        match inst {
            None if gone => return Ok(()),
            None => {
                return Err(CimiError::new(
                    StatusCode::NOT_FOUND,
                    format!("Machine {id} disappeared"),
                ));
            }
            Some(i) if gone && i.state == InstanceState::Finish => return Ok(()),
            Some(i) if !gone && !r::transitional(i.state) => {
                return if i.state == InstanceState::Error {
                    Err(CimiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!("Machine {id} is in state ERROR"),
                    ))
                } else {
                    Ok(())
                };
            }
            Some(_) => {}
        }
        if std::time::Instant::now() > deadline {
            return Err(CimiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("Machine {id} did not settle in time"),
            ));
        }
        actix_web::rt::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            url_decode_pairs("$filter=name%3D'a+b'&x"),
            vec![
                ("$filter".into(), "name='a b'".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(
            url_decode_pairs("a=%zz%4"),
            vec![("a".into(), "%zz%4".into())]
        );
    }
}
