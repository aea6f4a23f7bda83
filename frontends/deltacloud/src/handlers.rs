//! One function per operation. By the time a handler runs, the dispatcher has routed the
//! request, checked the capability (412) and the required parameters (400), negotiated the
//! format (406) and built the driver context; a handler calls the driver and renders.

use crate::error::ApiError;
use crate::html::{self, HtmlCx, Page};
use crate::json::{self, Wrap};
use crate::memo::{Memos, RenderKey};
use crate::negotiate::Format;
use crate::params::Params;
use crate::response::Reply;
use crate::routes::{self, Op, Route};
use crate::view::{EntryFeature, EntryLink, Traits, Urls, encode_segment};
use crate::xml;
use actix_web::http::StatusCode;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use deltacloud_core::driver::Capability;
use deltacloud_core::state::InstanceAction;
use deltacloud_core::{
    CreateImage, CreateInstance, CreateKey, Driver, Error, ErrorKind, Filter, FirewallId, Gateway,
    HardwareProfile, HardwareProfileId, ImageId, Instance, InstanceId, KeyId, LoadBalancerId,
    PropertyName, RealmId, RequestContext, RunCommand, StorageSnapshotId,
};
use std::future::Future;
use std::time::{Duration, Instant};

/// Everything a handler needs about its request.
pub(crate) struct Cx<'a> {
    pub gw: &'a Gateway,
    pub driver: &'a dyn Driver,
    pub driver_name: &'a str,
    pub provider: Option<&'a str>,
    pub urls: &'a Urls,
    pub params: &'a Params,
    /// The decoded `:id` path segment, for member and action routes.
    pub id: &'a str,
    /// The decoded `:sub` segment of `/<coll>/:id/:sub[/<action>]` (blob, firewall rule).
    pub sub: &'a str,
    /// The unread request body, for routes that stream it (blob uploads).
    pub body: std::cell::RefCell<Option<actix_web::web::Payload>>,
    pub content_type: Option<&'a str>,
    /// A `HEAD` request: answer headers only (no blob stream is opened).
    pub head: bool,
    pub req: &'a actix_web::HttpRequest,
    pub format: Format,
    pub rctx: &'a RequestContext,
    pub traits: Traits,
    pub route: &'static Route,
    /// The `Referer` header (the driver switch reads `;driver=` from it).
    pub referer: Option<&'a str>,
    /// This worker's memos (absent if the app was assembled without `configure`).
    pub memos: Option<&'a Memos>,
}

impl Cx<'_> {
    pub(crate) fn html(&self) -> HtmlCx<'_> {
        HtmlCx {
            urls: self.urls,
            driver: self.driver_name,
            provider: self.provider,
            traits: self.traits,
        }
    }

    /// Render one of three representations, whichever was negotiated.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        xml: impl FnOnce() -> Result<String, ApiError>,
        json: impl FnOnce() -> Result<Vec<u8>, ApiError>,
        html: impl FnOnce() -> Page,
    ) -> Result<Reply, ApiError> {
        let body = match self.format {
            Format::Xml => xml()?.into_bytes(),
            Format::Json => json()?,
            Format::Html => {
                let mut page = html();
                crate::explorer::decorate(self, &mut page);
                page.render()?.into_bytes()
            }
            Format::Png | Format::Gv => return Err(ApiError::status(StatusCode::NOT_ACCEPTABLE)),
        };
        Ok(Reply::new(status).body(body, self.format.content_type()))
    }

    /// A collection listing in the three formats. Index handlers differ only in their item
    /// renderers, so the assembly (buffer sizing, the JSON wrapper, the runtime header) is
    /// written once, here.
    pub(crate) fn list_reply<'l, T, XI, XD, J>(
        &'l self,
        (list, runtime): (&'l [T], Duration),
        (xml_item, xml_doc): (impl Fn(&'l T) -> XI, impl FnOnce(Vec<XI>) -> XD),
        (key, json_item): (&'static str, impl Fn(&'l T) -> J),
        html: impl FnOnce() -> Page,
    ) -> Result<Reply, ApiError>
    where
        XD: serde::Serialize,
        J: serde::Serialize,
    {
        self.render(
            StatusCode::OK,
            || {
                let doc = xml_doc(list.iter().map(xml_item).collect());
                xml::render_sized(&doc, true, list.len())
            },
            || {
                let items: Vec<J> = list.iter().map(json_item).collect();
                json::render_sized(&Wrap(key, items), list.len())
            },
            html,
        )
        .map(|r| r.runtime(Some(runtime)))
    }

    fn render_key(&self) -> Option<(&Memos, RenderKey<'_>)> {
        // Browsers do not poll; HTML pages are not worth keeping.
        let memos = self
            .memos
            .filter(|_| matches!(self.format, Format::Xml | Format::Json))?;
        let key = RenderKey {
            op: self.route.op,
            format: self.format,
            base: self.urls.base(),
            driver: self.driver_name,
            traits: self.traits,
        };
        Some((memos, key))
    }

    /// The document rendered earlier in this worker from data equal to `data` with the same
    /// inputs (see `memo.rs`), as a 200 reply.
    pub(crate) fn memo_hit<T: PartialEq + 'static>(&self, data: &T) -> Option<Reply> {
        let (memos, key) = self.render_key()?;
        let (body, content_type) = memos.render.get(&key, data)?;
        Some(Reply::new(StatusCode::OK).bytes(body, content_type))
    }

    /// Keep a freshly rendered 200 document with the data it came from, and pass it on.
    pub(crate) fn memo_store<T: 'static>(&self, data: T, reply: Reply) -> Reply {
        if reply.status == StatusCode::OK
            && let Some(ct) = reply.content_type
            && let Some((memos, key)) = self.render_key()
        {
            memos.render.put(&key, data, &reply.body, ct);
        }
        reply
    }

    /// An index filter from the parameters this collection filters on (§10).
    pub(crate) fn filter(&self, fields: &[&str]) -> Filter {
        let get = |f: &str| {
            if fields.contains(&f) {
                self.params.list(f)
            } else {
                None
            }
        };
        Filter {
            id: get("id"),
            state: get("state"),
            realm_id: get("realm_id"),
            owner_id: get("owner_id"),
            architecture: get("architecture"),
        }
    }

    /// Destroy answer: 204, or for a browser a redirect to the collection.
    pub(crate) fn destroyed(&self, coll: &'static str) -> Reply {
        if self.format == Format::Html {
            Reply::empty(StatusCode::SEE_OTHER).location(&self.urls.coll(coll).to_string())
        } else {
            Reply::empty(StatusCode::NO_CONTENT)
        }
    }
}

/// Run a driver call and measure it (`X-Backend-Runtime`).
pub(crate) async fn timed<T>(
    f: impl Future<Output = deltacloud_core::Result<T>>,
) -> Result<(T, Duration), ApiError> {
    let start = Instant::now();
    let out = f.await?;
    Ok((out, start.elapsed()))
}

/// The constraints a driver declares on its features (§5.2, e.g. rhevm `user_name`
/// `max_length=50`) are enforced on the operation the feature extends, so a client learns
/// about a too-long name from a 400 naming the limit rather than from the provider.
fn check_feature_constraints(cx: &Cx<'_>) -> Result<(), ApiError> {
    for f in cx.driver.features() {
        let spec = f.name.spec();
        if spec.collection != cx.route.coll || spec.operation != Some(cx.route.name) {
            continue;
        }
        for (constraint, limit) in &f.constraints {
            let Ok(max) = limit.trim().parse::<usize>() else {
                continue;
            };
            if constraint != "max_length" {
                continue;
            }
            for p in spec.params {
                if let Some(v) = cx.params.opt(p)
                    && v.chars().count() > max
                {
                    return Err(Error::validation(format!(
                        "Parameter '{p}' is longer than {max} characters (feature '{}')",
                        spec.name
                    ))
                    .into());
                }
            }
        }
    }
    Ok(())
}

pub(crate) async fn handle(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    check_feature_constraints(cx)?;
    if cx.route.kind == routes::Kind::Form {
        return crate::explorer::handle(cx).await;
    }
    match cx.route.op {
        Op::EntryPoint => entry_point(cx).await,
        Op::SwitchDriver => Ok(switch_driver(cx)),
        Op::RealmsIndex => realms_index(cx).await,
        Op::RealmsShow => realms_show(cx).await,
        Op::HardwareProfilesIndex => profiles_index(cx).await,
        Op::HardwareProfilesShow => profiles_show(cx).await,
        Op::ImagesIndex => images_index(cx).await,
        Op::ImagesShow => images_show(cx).await,
        Op::ImagesCreate => images_create(cx).await,
        Op::ImagesDestroy => images_destroy(cx).await,
        Op::InstancesIndex => instances_index(cx).await,
        Op::InstancesShow => instances_show(cx).await,
        Op::InstancesCreate => instances_create(cx).await,
        Op::InstancesStart => instance_action(cx, InstanceAction::Start).await,
        Op::InstancesStop => instance_action(cx, InstanceAction::Stop).await,
        Op::InstancesReboot => instance_action(cx, InstanceAction::Reboot).await,
        Op::InstancesDestroy => instance_action(cx, InstanceAction::Destroy).await,
        Op::InstancesRun => instances_run(cx).await,
        Op::InstanceStatesIndex => instance_states(cx),
        Op::KeysIndex => keys_index(cx).await,
        Op::KeysShow => keys_show(cx).await,
        Op::KeysCreate => keys_create(cx).await,
        Op::KeysDestroy => keys_destroy(cx).await,
        Op::DriversIndex => drivers_index(cx),
        Op::DriversShow => drivers_show(cx).await,
        other => crate::handlers_res::handle(cx, other).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point (§5)

/// The collections and features of the entry point.
pub(crate) fn entry_links(driver: &dyn Driver) -> Vec<EntryLink<'_>> {
    let mut feats: Vec<_> = driver.features().iter().collect();
    // The feature table's order (`FeatureName` is declared in it).
    feats.sort_by_key(|f| f.name);
    feats.dedup_by_key(|f| f.name);
    routes::listed_collections(driver)
        .map(|c| EntryLink {
            rel: c.name,
            features: feats
                .iter()
                .filter_map(|f| {
                    let spec = f.name.spec();
                    (spec.collection == c.name).then_some(())?;
                    Some(EntryFeature {
                        name: spec.name,
                        rel: spec.operation?,
                        params: spec.params,
                        constraints: &f.constraints,
                    })
                })
                .collect(),
        })
        .collect()
}

async fn entry_point(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    if cx.params.has("force_auth") {
        if cx.rctx.credentials.is_none() {
            return Err(Error::auth_required().into());
        }
        match cx.driver.valid_credentials(cx.rctx).await {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Reply::plain(
                    StatusCode::UNAUTHORIZED,
                    "Authentication failed",
                ));
            }
            Err(e) if matches!(e.kind(), ErrorKind::AuthFailed | ErrorKind::AuthRequired) => {
                return Ok(Reply::plain(
                    StatusCode::UNAUTHORIZED,
                    "Authentication failed",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let links = entry_links(cx.driver);
    cx.render(
        StatusCode::OK,
        || {
            xml::render(
                &xml::ApiXml::new(cx.urls, cx.driver_name, cx.provider, &links),
                false,
            )
        },
        || {
            json::render(&Wrap(
                "api",
                json::ApiJson::new(cx.urls, cx.driver_name, cx.provider, &links),
            ))
        },
        || {
            let names: Vec<&'static str> = links.iter().map(|l| l.rel).collect();
            let drivers: Vec<&str> = cx.gw.registry.available().collect();
            let providers: Vec<&str> = cx
                .gw
                .registry
                .info(cx.driver_name)
                .map(|i| i.provider_ids())
                .unwrap_or_default();
            html::entry(&cx.html(), &names, &drivers, &providers)
        },
    )
}

/// `POST /api` from the HTML explorer's driver and provider forms (§4.3): always a 301 to the
/// entry point with the choice as matrix parameters.
fn switch_driver(cx: &Cx<'_>) -> Reply {
    let base = cx.urls.base();
    let driver = cx.params.opt("driver");
    let provider = cx.params.opt("provider").filter(|p| *p != "default");
    let location = match (driver, provider) {
        (Some(d), _) => format!("{base};driver={}", encode_segment(d)),
        (None, Some(p)) => {
            let from_referer = cx.referer.and_then(|r| {
                let rest = &r[r.find(";driver=")? + ";driver=".len()..];
                let end = rest.find([';', '/', '?', '#']).unwrap_or(rest.len());
                Some(&rest[..end]).filter(|d| !d.is_empty())
            });
            match from_referer {
                Some(d) => format!("{base};driver={d};provider={}", encode_segment(p)),
                None => format!("{base};provider={}", encode_segment(p)),
            }
        }
        (None, None) => format!("{base}/"),
    };
    Reply::empty(StatusCode::MOVED_PERMANENTLY).location(&location)
}

// ---------------------------------------------------------------------------------------------
// Realms (§8.1)

async fn realms_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.realms(cx.rctx, &cx.filter(&["id"]))).await?;
    if let Some(hit) = cx.memo_hit(&list) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || xml::render_sized(&xml::RealmsXml::new(cx.urls, &list), true, list.len()),
        || {
            json::render_sized(
                &Wrap("realms", json::RealmJson::list(cx.urls, &list)),
                list.len(),
            )
        },
        || html::realms(&cx.html(), &list),
    )?;
    Ok(cx.memo_store(list, reply).runtime(Some(rt)))
}

async fn realms_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.realms(cx.rctx, &Filter::by_id(cx.id))).await?;
    let r = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    if let Some(hit) = cx.memo_hit(&r) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || xml::render(&xml::RealmXml::new(cx.urls, &r), true),
        || json::render(&Wrap("realm", json::RealmJson::new(cx.urls, &r))),
        || html::realm(&cx.html(), &r),
    )?;
    Ok(cx.memo_store(r, reply).runtime(Some(rt)))
}

// ---------------------------------------------------------------------------------------------
// Hardware profiles (§8.2)

async fn profiles_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (mut list, rt) = timed(
        cx.driver
            .hardware_profiles(cx.rctx, &cx.filter(&["id", "architecture"])),
    )
    .await?;
    // The list view orders by (cpu, memory) defaults, opaque profiles last (stable for ties).
    list.sort_by(HardwareProfile::list_order);
    if let Some(hit) = cx.memo_hit(&list) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || {
            xml::render_sized(
                &xml::HardwareProfilesXml::new(cx.urls, &list),
                true,
                list.len(),
            )
        },
        || {
            json::render_sized(
                &Wrap(
                    "hardware_profiles",
                    json::HardwareProfileJson::list(cx.urls, &list),
                ),
                list.len(),
            )
        },
        || html::hardware_profiles(&cx.html(), &list),
    )?;
    Ok(cx.memo_store(list, reply).runtime(Some(rt)))
}

async fn profiles_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.hardware_profiles(cx.rctx, &Filter::by_id(cx.id))).await?;
    let p = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    if let Some(hit) = cx.memo_hit(&p) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || xml::render(&xml::HardwareProfileXml::new(cx.urls, &p), true),
        || {
            json::render(&Wrap(
                "hardware_profile",
                json::HardwareProfileJson::new(cx.urls, &p),
            ))
        },
        || html::hardware_profile(&cx.html(), &p),
    )?;
    Ok(cx.memo_store(p, reply).runtime(Some(rt)))
}

// ---------------------------------------------------------------------------------------------
// Images (§8.3)

async fn images_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    // Shared, as in `instances_index`.
    let (list, rt) = timed(
        cx.driver
            .images_shared(cx.rctx, &cx.filter(&["id", "architecture", "owner_id"])),
    )
    .await?;
    if let Some(hit) = cx.memo_hit(&list) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || {
            xml::render_sized(
                &xml::ImagesXml::new(cx.urls, &list, cx.traits),
                true,
                list.len(),
            )
        },
        || {
            json::render_sized(
                &Wrap("images", json::ImageJson::list(cx.urls, &list)),
                list.len(),
            )
        },
        || html::images(&cx.html(), &list),
    )?;
    Ok(cx.memo_store(list, reply).runtime(Some(rt)))
}

fn image_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    img: &deltacloud_core::Image,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&xml::ImageXml::new(cx.urls, img, cx.traits), true),
        || json::render(&Wrap("image", json::ImageJson::new(cx.urls, img))),
        || html::image(&cx.html(), img),
    )
}

async fn images_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.images(cx.rctx, &Filter::by_id(cx.id))).await?;
    let img = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    if let Some(hit) = cx.memo_hit(&img) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = image_reply(cx, StatusCode::OK, &img)?;
    Ok(cx.memo_store(img, reply).runtime(Some(rt)))
}

async fn images_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let req = CreateImage {
        instance_id: InstanceId::new(cx.params.opt("instance_id").unwrap_or_default()),
        name: cx.params.opt("name").map(str::to_owned),
        description: cx.params.opt("description").map(str::to_owned),
    };
    let img = cx.driver.create_image(cx.rctx, &req).await?;
    Ok(image_reply(cx, StatusCode::CREATED, &img)?
        .location(&cx.urls.member("images", &img.id).to_string()))
}

async fn images_destroy(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.driver
        .destroy_image(cx.rctx, &ImageId::new(cx.id))
        .await?;
    Ok(cx.destroyed("images"))
}

// ---------------------------------------------------------------------------------------------
// Instances (§8.4)

async fn instances_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    // Shared: a driver holding the list in memory (the mock) hands out the same `Arc` while the
    // list is unchanged, so a poll neither copies the list nor, on a memo hit, compares it
    // element by element (`Arc`'s equality tries the pointer first).
    let (list, rt) = timed(
        cx.driver
            .instances_shared(cx.rctx, &cx.filter(&["id", "state", "realm_id"])),
    )
    .await?;
    if let Some(hit) = cx.memo_hit(&list) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = instances_reply(cx, StatusCode::OK, &list)?;
    Ok(cx.memo_store(list, reply).runtime(Some(rt)))
}

fn instances_reply(cx: &Cx<'_>, status: StatusCode, list: &[Instance]) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || {
            xml::render_sized(
                &xml::InstancesXml::new(cx.urls, list, cx.traits),
                true,
                list.len(),
            )
        },
        || {
            json::render_sized(
                &Wrap(
                    "instances",
                    json::InstanceJson::list(cx.urls, list, cx.traits),
                ),
                list.len(),
            )
        },
        || html::instances(&cx.html(), list),
    )
}

/// One instance; `wrapped` is false for action responses, whose JSON is the bare object.
fn instance_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    inst: &Instance,
    wrapped: bool,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&xml::InstanceXml::new(cx.urls, inst, cx.traits), true),
        || {
            let doc = json::InstanceJson::new(cx.urls, inst, cx.traits);
            if wrapped {
                json::render(&Wrap("instance", doc))
            } else {
                json::render(&doc)
            }
        },
        || html::instance(&cx.html(), inst),
    )
}

async fn instances_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (found, rt) = timed(cx.driver.instance(cx.rctx, &InstanceId::new(cx.id))).await?;
    let inst = found.ok_or_else(ApiError::not_found)?;
    if let Some(hit) = cx.memo_hit(&inst) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = instance_reply(cx, StatusCode::OK, &inst, true)?;
    Ok(cx.memo_store(inst, reply).runtime(Some(rt)))
}

/// `user_data` arrives base64-encoded. Line breaks (as `base64` tools emit them) and missing
/// padding are tolerated.
const USER_DATA: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_user_data(s: &str) -> Result<Vec<u8>, ApiError> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    USER_DATA.decode(compact.as_bytes()).map_err(|_| {
        ApiError::from(Error::validation(
            "Parameter 'user_data' is not valid base64",
        ))
    })
}

/// Firewalls come as `firewalls`, `firewalls[]`, or numbered fields `firewalls1`…`firewallsN`.
fn firewall_params(p: &Params) -> Vec<FirewallId> {
    let mut out: Vec<FirewallId> = p
        .list("firewalls")
        .unwrap_or_default()
        .into_iter()
        .map(FirewallId::from)
        .collect();
    for name in p.names() {
        if let Some(n) = name.strip_prefix("firewalls")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && let Some(v) = p.opt(name)
        {
            out.push(FirewallId::new(v));
        }
    }
    out.retain(|f| !f.is_empty());
    out
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no" | "off"
        )
    })
}

fn create_instance_request(p: &Params) -> Result<CreateInstance, ApiError> {
    let owned = |n: &str| p.opt(n).map(str::to_owned);
    let mut hwp_overrides = std::collections::BTreeMap::new();
    for name in [
        PropertyName::Cpu,
        PropertyName::Memory,
        PropertyName::Storage,
        PropertyName::Architecture,
    ] {
        if let Some(v) = p.opt(name.param()) {
            hwp_overrides.insert(name, v.to_owned());
        }
    }
    let instance_count = match p.opt("instance_count") {
        None => None,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(Error::validation(format!(
                    "Parameter 'instance_count' value '{v}' is not a positive integer"
                ))
                .into());
            }
        },
    };
    Ok(CreateInstance {
        image_id: ImageId::new(p.opt("image_id").unwrap_or_default()),
        realm_id: p.opt("realm_id").map(RealmId::from),
        hwp_id: p.opt("hwp_id").map(HardwareProfileId::from),
        hwp_overrides,
        keyname: owned("keyname"),
        name: owned("name"),
        user_data: p.opt("user_data").map(decode_user_data).transpose()?,
        password: owned("password"),
        firewalls: firewall_params(p),
        instance_count,
        initial_state: None,
        metrics: truthy(p.get("metrics")),
        load_balancer_id: p.opt("load_balancer_id").map(LoadBalancerId::from),
        snapshot_id: p.opt("snapshot_id").map(StorageSnapshotId::from),
        device_name: owned("device_name"),
        subnet_id: None,
    })
}

async fn instances_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let req = create_instance_request(cx.params)?;
    if let Some(hwp) = &req.hwp_id {
        // The frontend names the unknown profile, whatever the driver would say.
        let known = cx
            .driver
            .hardware_profiles(cx.rctx, &Filter::by_id(hwp))
            .await?;
        if known.is_empty() {
            return Err(
                Error::validation(format!("Hardware profile '{hwp}' does not exists.")).into(),
            );
        }
    }
    let made = cx.driver.create_instance(cx.rctx, &req).await?;
    match made.as_slice() {
        [] => Err(ApiError::internal(
            "The driver created no instance".to_owned(),
        )),
        [one] => Ok(instance_reply(cx, StatusCode::CREATED, one, true)?
            .location(&cx.urls.member("instances", &one.id).to_string())),
        // Several instances: the list, and no Location (there is no single URL).
        many => instances_reply(cx, StatusCode::CREATED, many),
    }
}

/// Start/stop/reboot/destroy (§8.4.4): the instance must exist (else 403, what the original
/// answered) and the driver's state machine must allow the action in the instance's current
/// state (else 405), both checked before the driver is asked to act.
async fn instance_action(cx: &Cx<'_>, action: InstanceAction) -> Result<Reply, ApiError> {
    let id = InstanceId::new(cx.id);
    let start = Instant::now();
    let inst = cx
        .driver
        .instance(cx.rctx, &id)
        .await?
        .ok_or_else(|| ApiError::status(StatusCode::FORBIDDEN))?;
    // Without a state machine there is nothing to check against; the driver decides.
    if let Some(m) = cx.driver.state_machine()
        && !m.actions_for(inst.state).contains(&action)
    {
        return Err(ApiError::status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let after = match action {
        InstanceAction::Destroy => {
            cx.driver.destroy_instance(cx.rctx, &id).await?;
            return Ok(cx.destroyed("instances"));
        }
        InstanceAction::Start => cx.driver.start_instance(cx.rctx, &id).await?,
        InstanceAction::Stop => cx.driver.stop_instance(cx.rctx, &id).await?,
        InstanceAction::Reboot => cx.driver.reboot_instance(cx.rctx, &id).await?,
        InstanceAction::Create => return Err(ApiError::status(StatusCode::METHOD_NOT_ALLOWED)),
    };
    instance_reply(cx, StatusCode::ACCEPTED, &after, false)
        .map(|r| r.runtime(Some(start.elapsed())))
}

async fn instances_run(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let port = match cx.params.opt("port") {
        None => 22,
        Some(v) => v.trim().parse::<u16>().map_err(|_| {
            ApiError::from(Error::validation(format!(
                "Parameter 'port' value '{v}' is not a port number"
            )))
        })?,
    };
    let cmd = RunCommand {
        cmd: cx.params.opt("cmd").unwrap_or_default().to_owned(),
        private_key: cx.params.opt("private_key").map(str::to_owned),
        password: cx.params.opt("password").map(str::to_owned),
        ip: cx.params.opt("ip").map(str::to_owned),
        port,
    };
    let (out, rt) = timed(
        cx.driver
            .run_on_instance(cx.rctx, &InstanceId::new(cx.id), &cmd),
    )
    .await?;
    cx.render(
        StatusCode::OK,
        || xml::render(&xml::RunXml::new(cx.urls, &out), false),
        || json::render(&Wrap("instance", json::RunJson::new(&out))),
        || html::run_result(&cx.html(), &out),
    )
    .map(|r| r.runtime(Some(rt)))
}

// ---------------------------------------------------------------------------------------------
// Instance states (§8.5)

fn instance_states(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    // The route's capability check guarantees a machine; answer 404 if that ever changes.
    let m = cx.driver.state_machine().ok_or_else(ApiError::not_found)?;
    cx.render(
        StatusCode::OK,
        || xml::render(&xml::StatesXml::new(m), false),
        || json::render(&json::StatesJson(m)),
        || html::instance_states(&cx.html(), m),
    )
}

// ---------------------------------------------------------------------------------------------
// Keys (§8.6)

async fn keys_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.keys(cx.rctx, &cx.filter(&["id"]))).await?;
    if let Some(hit) = cx.memo_hit(&list) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = cx.render(
        StatusCode::OK,
        || {
            xml::render_sized(
                &xml::KeysXml::new(cx.urls, &list, cx.traits),
                true,
                list.len(),
            )
        },
        || {
            json::render_sized(
                &Wrap("keys", json::KeyJson::list(cx.urls, &list)),
                list.len(),
            )
        },
        || html::keys(&cx.html(), &list),
    )?;
    Ok(cx.memo_store(list, reply).runtime(Some(rt)))
}

fn key_reply(cx: &Cx<'_>, status: StatusCode, k: &deltacloud_core::Key) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&xml::KeyXml::new(cx.urls, k, cx.traits), true),
        || json::render(&Wrap("key", json::KeyJson::new(cx.urls, k))),
        || html::key(&cx.html(), k),
    )
}

async fn keys_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.keys(cx.rctx, &Filter::by_id(cx.id))).await?;
    let k = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    if let Some(hit) = cx.memo_hit(&k) {
        return Ok(hit.runtime(Some(rt)));
    }
    let reply = key_reply(cx, StatusCode::OK, &k)?;
    Ok(cx.memo_store(k, reply).runtime(Some(rt)))
}

async fn keys_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let req = CreateKey {
        name: cx.params.opt("name").unwrap_or_default().to_owned(),
        public_key: cx.params.opt("public_key").map(str::to_owned),
    };
    let k = cx.driver.create_key(cx.rctx, &req).await?;
    // In HTML too the page is rendered rather than redirected to: it is the only time a
    // provider shows the private key.
    Ok(
        key_reply(cx, StatusCode::CREATED, &k)?
            .location(&cx.urls.member("keys", &k.id).to_string()),
    )
}

async fn keys_destroy(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    cx.driver.destroy_key(cx.rctx, &KeyId::new(cx.id)).await?;
    Ok(cx.destroyed("keys"))
}

// ---------------------------------------------------------------------------------------------
// Drivers (§8.15)

fn drivers_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let reg = &cx.gw.registry;
    cx.render(
        StatusCode::OK,
        || xml::render(&xml::DriversXml::new(cx.urls, reg.infos()), false),
        || json::render(&json::DriversJson(reg.infos().collect())),
        || html::drivers(&cx.html(), reg.infos()),
    )
}

async fn drivers_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let Some(info) = cx.gw.registry.info(cx.id) else {
        // The original answered an unknown driver with an empty 404.
        return Ok(Reply::empty(StatusCode::NOT_FOUND));
    };
    // Only the current driver can list its providers dynamically (that needs credentials).
    let dynamic =
        if info.id == cx.driver_name && cx.driver.capabilities().has(Capability::Providers) {
            Some(cx.driver.providers(cx.rctx).await?)
        } else {
            None
        };
    cx.render(
        StatusCode::OK,
        || match &dynamic {
            Some(p) => xml::render(&xml::DriverXml::with_providers(cx.urls, info, p), false),
            None => xml::render(&xml::DriverXml::with_catalogue(cx.urls, info), false),
        },
        || match &dynamic {
            Some(p) => json::render(&Wrap("driver", json::DriverJson::with_providers(info, p))),
            None => json::render(&Wrap("driver", json::DriverJson::with_catalogue(info))),
        },
        || html::driver(&cx.html(), info, dynamic.as_deref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_decoding() {
        assert_eq!(decode_user_data("ZWNobyBoaQ==").unwrap(), b"echo hi");
        assert_eq!(
            decode_user_data("ZWNobyBoaQ").unwrap(),
            b"echo hi",
            "padding may be missing"
        );
        assert_eq!(
            decode_user_data("ZWNo\nbyBo\r\naQ==").unwrap(),
            b"echo hi",
            "line breaks are ignored"
        );
        let e = decode_user_data("%%%not base64%%%").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn create_request_from_params() {
        let mut p = Params::default();
        p.extend_urlencoded(
            b"image_id=img1&realm_id=eu&hwp_id=m1-large&hwp_memory=8192&hwp_cpu=2&hwp_storage=&keyname=k&name=web\
&firewalls[]=a&firewalls1=b&firewalls2=&instance_count=3&metrics=true&user_data=aGk%3D",
        );
        let r = create_instance_request(&p).unwrap();
        assert_eq!(r.image_id, "img1");
        assert_eq!(r.realm_id.as_ref().map(|x| x.as_str()), Some("eu"));
        assert_eq!(r.hwp_id.as_ref().map(|x| x.as_str()), Some("m1-large"));
        assert_eq!(
            r.hwp_overrides
                .get(&PropertyName::Memory)
                .map(String::as_str),
            Some("8192")
        );
        assert_eq!(
            r.hwp_overrides.get(&PropertyName::Cpu).map(String::as_str),
            Some("2")
        );
        assert!(
            !r.hwp_overrides.contains_key(&PropertyName::Storage),
            "empty overrides are not overrides"
        );
        assert_eq!(r.keyname.as_deref(), Some("k"));
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(
            r.firewalls,
            vec![FirewallId::new("a"), FirewallId::new("b")]
        );
        assert_eq!(r.instance_count, Some(3));
        assert!(r.metrics);
        assert_eq!(r.user_data.as_deref(), Some(&b"hi"[..]));

        let mut bad = Params::default();
        bad.extend_urlencoded(b"image_id=img1&instance_count=0");
        assert_eq!(
            create_instance_request(&bad).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn truthiness() {
        assert!(truthy(Some("1")));
        assert!(truthy(Some("on")));
        assert!(!truthy(Some("false")));
        assert!(!truthy(Some("")));
        assert!(!truthy(None));
    }
}
