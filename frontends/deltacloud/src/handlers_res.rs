//! Handlers of the storage, blob, address, firewall, load balancer, metric and network
//! collections (`deltacloud-api.md` §8.7–§8.14). Same contract as `handlers.rs`: the dispatcher
//! has routed, checked capability and required parameters and negotiated the format.
//!
//! Blob uploads and downloads stream: an upload is carried from the request body to the driver
//! through a bounded channel (the body is a thread-local actix stream, the driver wants a `Send`
//! one), a download goes from the driver's stream straight into the response. Neither holds more
//! than a few chunks in memory, whatever the blob's size.

use crate::error::ApiError;
use crate::handlers::{Cx, timed};
use crate::json::{self, Wrap};
use crate::json_res as j;
use crate::multipart::Multipart;
use crate::negotiate::Format;
use crate::response::{Reply, Streamed};
use crate::routes::Op;
use crate::{html_res as h, xml, xml_res as x};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use deltacloud_core::driver::{Capability, CapabilitySet};
use deltacloud_core::features::{FeatureName, has_feature};
use deltacloud_core::{
    AddressId, Blob, BlobId, BucketId, ByteStream, CreateFirewallRule, CreateLoadBalancer,
    CreateStorageSnapshot, CreateStorageVolume, Error, Filter, FirewallId, FirewallRuleId,
    Instance, InstanceId, Listener, LoadBalancerId, MetricId, NetworkId, NetworkInterfaceId,
    RealmId, StorageSnapshotId, StorageVolumeId, SubnetId,
};
use futures_util::StreamExt as _;
use std::collections::BTreeMap;

/// Request and response headers carrying blob user metadata (§8.9.2).
const BLOBMETA: &str = "x-deltacloud-blobmeta-";
/// Pieces of an upload in flight between the request body and the driver.
const UPLOAD_QUEUE: usize = 8;
/// Largest non-file field of the blob upload form.
const MAX_FORM_FIELD: usize = 64 * 1024;
/// Blobs up to this size carry their content in the JSON document (`content`); larger ones
/// get `null`, so rendering metadata never pulls a large blob into memory.
const MAX_INLINE_CONTENT: u64 = 64 * 1024;

pub(crate) async fn handle(cx: &Cx<'_>, op: Op) -> Result<Reply, ApiError> {
    match op {
        Op::StorageVolumesIndex => volumes_index(cx).await,
        Op::StorageVolumesShow => volumes_show(cx).await,
        Op::StorageVolumesCreate => volumes_create(cx).await,
        Op::StorageVolumesDestroy => {
            cx.driver
                .destroy_storage_volume(cx.rctx, &StorageVolumeId::new(cx.id))
                .await?;
            Ok(cx.destroyed("storage_volumes"))
        }
        Op::StorageVolumesAttach => volumes_attach(cx).await,
        Op::StorageVolumesDetach => volumes_detach(cx).await,
        Op::StorageSnapshotsIndex => snapshots_index(cx).await,
        Op::StorageSnapshotsShow => snapshots_show(cx).await,
        Op::StorageSnapshotsCreate => snapshots_create(cx).await,
        Op::StorageSnapshotsDestroy => {
            cx.driver
                .destroy_storage_snapshot(cx.rctx, &StorageSnapshotId::new(cx.id))
                .await?;
            Ok(cx.destroyed("storage_snapshots"))
        }
        Op::BucketsIndex => buckets_index(cx).await,
        Op::BucketsShow => buckets_show(cx).await,
        Op::BucketsCreate => buckets_create(cx).await,
        Op::BucketsDestroy => {
            check_name("bucket", cx.id)?;
            cx.driver
                .delete_bucket(cx.rctx, &BucketId::new(cx.id))
                .await?;
            Ok(cx.destroyed("buckets"))
        }
        Op::BlobsShow => blobs_show(cx).await,
        Op::BlobsContent => blobs_content(cx).await,
        Op::BlobsPut => blobs_put(cx, true).await,
        Op::BlobsPutStream => blobs_put(cx, false).await,
        Op::BlobsPostForm => blobs_post_form(cx).await,
        Op::BlobsHead | Op::BlobsHeadMetadata => blobs_head(cx).await,
        Op::BlobsUpdateMetadata => blobs_update_metadata(cx).await,
        Op::BlobsDestroy => blobs_destroy(cx).await,
        Op::AddressesIndex => addresses_index(cx).await,
        Op::AddressesShow => addresses_show(cx).await,
        Op::AddressesCreate => addresses_create(cx).await,
        Op::AddressesDestroy => {
            cx.driver
                .destroy_address(cx.rctx, &AddressId::new(cx.id))
                .await?;
            Ok(cx.destroyed("addresses"))
        }
        Op::AddressesAssociate => {
            let instance = InstanceId::new(cx.params.opt("instance_id").unwrap_or_default());
            cx.driver
                .associate_address(cx.rctx, &AddressId::new(cx.id), &instance)
                .await?;
            Ok(accepted(cx, "addresses"))
        }
        Op::AddressesDisassociate => {
            cx.driver
                .disassociate_address(cx.rctx, &AddressId::new(cx.id))
                .await?;
            Ok(accepted(cx, "addresses"))
        }
        Op::FirewallsIndex => firewalls_index(cx).await,
        Op::FirewallsShow => firewalls_show(cx).await,
        Op::FirewallsCreate => firewalls_create(cx).await,
        Op::FirewallsDestroy => {
            cx.driver
                .delete_firewall(cx.rctx, &FirewallId::new(cx.id))
                .await?;
            Ok(cx.destroyed("firewalls"))
        }
        Op::FirewallsAddRule => firewalls_add_rule(cx).await,
        Op::FirewallsDeleteRule => {
            cx.driver
                .delete_firewall_rule(
                    cx.rctx,
                    &FirewallId::new(cx.id),
                    &FirewallRuleId::new(cx.sub),
                )
                .await?;
            Ok(cx.destroyed("firewalls"))
        }
        Op::LoadBalancersIndex => lbs_index(cx).await,
        Op::LoadBalancersShow => lbs_show(cx).await,
        Op::LoadBalancersCreate => lbs_create(cx).await,
        Op::LoadBalancersDestroy => {
            cx.driver
                .destroy_load_balancer(cx.rctx, &LoadBalancerId::new(cx.id))
                .await?;
            Ok(cx.destroyed("load_balancers"))
        }
        Op::LoadBalancersRegister | Op::LoadBalancersUnregister => lbs_member(cx, op).await,
        Op::MetricsIndex => metrics_index(cx).await,
        Op::MetricsShow => metrics_show(cx).await,
        Op::NetworksIndex => networks_index(cx).await,
        Op::NetworksShow => networks_show(cx).await,
        Op::NetworksCreate => networks_create(cx).await,
        Op::NetworksDestroy => {
            cx.driver
                .destroy_network(cx.rctx, &NetworkId::new(cx.id))
                .await?;
            Ok(cx.destroyed("networks"))
        }
        Op::SubnetsIndex => subnets_index(cx).await,
        Op::SubnetsShow => subnets_show(cx).await,
        Op::SubnetsCreate => subnets_create(cx).await,
        Op::SubnetsDestroy => {
            cx.driver
                .destroy_subnet(cx.rctx, &SubnetId::new(cx.id))
                .await?;
            Ok(cx.destroyed("subnets"))
        }
        Op::NetworkInterfacesIndex => nics_index(cx).await,
        Op::NetworkInterfacesShow => nics_show(cx).await,
        Op::NetworkInterfacesCreate => nics_create(cx).await,
        Op::NetworkInterfacesDestroy => {
            cx.driver
                .destroy_network_interface(cx.rctx, &NetworkInterfaceId::new(cx.id))
                .await?;
            Ok(cx.destroyed("network_interfaces"))
        }
        // The compute collections are handled in `handlers.rs`.
        _ => Err(ApiError::not_found()),
    }
}

fn caps<'a>(cx: &Cx<'a>) -> &'a CapabilitySet {
    cx.driver.capabilities()
}

fn opt_owned(cx: &Cx<'_>, name: &str) -> Option<String> {
    cx.params.opt(name).map(str::to_owned)
}

/// 202 with an empty body (address association), or for a browser a redirect back.
fn accepted(cx: &Cx<'_>, coll: &'static str) -> Reply {
    if cx.format == Format::Html {
        Reply::empty(StatusCode::SEE_OTHER).location(&cx.urls.member(coll, cx.id).to_string())
    } else {
        Reply::empty(StatusCode::ACCEPTED)
    }
}

/// The §6.3 plain-text 400 for a value outside a declared enumeration.
fn check_enum(cx: &Cx<'_>, name: &str, allowed: &[&str]) -> Result<(), Reply> {
    match cx.params.opt(name) {
        Some(v) if !allowed.contains(&v) => Err(Reply::plain(
            StatusCode::BAD_REQUEST,
            format!(
                "Parameter '{name}' value '{v}' not found in list of allowed values [{}]",
                allowed.join(",")
            ),
        )),
        _ => Ok(()),
    }
}

/// Bucket and blob names become keys (and, for some providers, object paths). A name that is
/// empty, `.`/`..`, too long, or contains a path separator, a backslash or a control character
/// could address something outside the bucket: it is refused with 400 before any driver sees it.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let bad = |why: &str| -> Result<(), ApiError> {
        Err(Error::validation(format!(
            "Invalid {what} name '{}': {why}",
            name.escape_debug()
        ))
        .into())
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("it is a relative path component");
    }
    if name.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return bad("it contains '/', '\\' or a control character");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Storage volumes (§8.7)

async fn volumes_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(
        cx.driver
            .storage_volumes(cx.rctx, &cx.filter(&["id", "state"])),
    )
    .await?;
    cx.list_reply(
        (&list, rt),
        (|v| x::VolumeXml::new(cx.urls, v), x::VolumesXml::new),
        ("storage_volumes", |v| j::VolumeJson::new(cx.urls, v)),
        || h::volumes(&cx.html(), &list),
    )
}

fn volume_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    v: &deltacloud_core::StorageVolume,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::VolumeXml::new(cx.urls, v), true),
        || json::render(&Wrap("storage_volume", j::VolumeJson::new(cx.urls, v))),
        || h::volume(&cx.html(), v, caps(cx)),
    )
}

async fn find_volume(cx: &Cx<'_>) -> Result<deltacloud_core::StorageVolume, ApiError> {
    cx.driver
        .storage_volumes(cx.rctx, &Filter::by_id(cx.id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)
}

async fn volumes_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (v, rt) = timed(async { Ok(find_volume(cx).await) }).await?;
    volume_reply(cx, StatusCode::OK, &v?).map(|r| r.runtime(Some(rt)))
}

async fn volumes_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let req = CreateStorageVolume {
        snapshot_id: cx.params.opt("snapshot_id").map(StorageSnapshotId::from),
        capacity: opt_owned(cx, "capacity"),
        realm_id: cx.params.opt("realm_id").map(RealmId::from),
        // Passed on even without the `volume_name` feature: the mock names volumes from it
        // without declaring the feature (`mock-driver.md` §4).
        name: opt_owned(cx, "name"),
        description: opt_owned(cx, "description"),
    };
    if let Some(c) = &req.capacity
        && c.trim()
            .parse::<f64>()
            .map_or(true, |n| !n.is_finite() || n <= 0.0)
    {
        return Err(Error::validation(format!(
            "Parameter 'capacity' value '{c}' is not a positive number of GB"
        ))
        .into());
    }
    let v = cx.driver.create_storage_volume(cx.rctx, &req).await?;
    Ok(volume_reply(cx, StatusCode::CREATED, &v)?
        .location(&cx.urls.member("storage_volumes", &v.id).to_string()))
}

async fn volumes_attach(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let instance = InstanceId::new(cx.params.opt("instance_id").unwrap_or_default());
    let device = cx.params.opt("device").unwrap_or_default();
    let (v, rt) = timed(cx.driver.attach_storage_volume(
        cx.rctx,
        &StorageVolumeId::new(cx.id),
        &instance,
        device,
    ))
    .await?;
    volume_reply(cx, StatusCode::ACCEPTED, &v).map(|r| r.runtime(Some(rt)))
}

async fn volumes_detach(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    // The original looked the volume up first (to pass its instance and device on); a missing
    // volume is therefore a 404, whatever the driver would say.
    let current = find_volume(cx).await?;
    let (v, rt) = timed(cx.driver.detach_storage_volume(cx.rctx, &current.id)).await?;
    volume_reply(cx, StatusCode::ACCEPTED, &v).map(|r| r.runtime(Some(rt)))
}

// ---------------------------------------------------------------------------------------------
// Storage snapshots (§8.8)

async fn snapshots_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.storage_snapshots(cx.rctx, &cx.filter(&["id"]))).await?;
    cx.list_reply(
        (&list, rt),
        (|v| x::SnapshotXml::new(cx.urls, v), x::SnapshotsXml::new),
        ("storage_snapshots", |v| j::SnapshotJson::new(cx.urls, v)),
        || h::snapshots(&cx.html(), &list),
    )
}

fn snapshot_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    s: &deltacloud_core::StorageSnapshot,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::SnapshotXml::new(cx.urls, s), true),
        || json::render(&Wrap("storage_snapshot", j::SnapshotJson::new(cx.urls, s))),
        || h::snapshot(&cx.html(), s, caps(cx)),
    )
}

async fn snapshots_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.storage_snapshots(cx.rctx, &Filter::by_id(cx.id))).await?;
    let s = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    snapshot_reply(cx, StatusCode::OK, &s).map(|r| r.runtime(Some(rt)))
}

async fn snapshots_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let req = CreateStorageSnapshot {
        volume_id: StorageVolumeId::new(cx.params.opt("volume_id").unwrap_or_default()),
        name: opt_owned(cx, "name"),
        description: opt_owned(cx, "description"),
    };
    let s = cx.driver.create_storage_snapshot(cx.rctx, &req).await?;
    Ok(snapshot_reply(cx, StatusCode::CREATED, &s)?
        .location(&cx.urls.member("storage_snapshots", &s.id).to_string()))
}

// ---------------------------------------------------------------------------------------------
// Buckets (§8.9.1)

async fn buckets_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.buckets(cx.rctx, &cx.filter(&["id"]))).await?;
    cx.list_reply(
        (&list, rt),
        (|v| x::BucketXml::new(cx.urls, v), x::BucketsXml::new),
        ("buckets", |v| j::BucketJson::new(cx.urls, v)),
        || h::buckets(&cx.html(), &list),
    )
}

fn bucket_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    b: &deltacloud_core::Bucket,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::BucketXml::new(cx.urls, b), true),
        || json::render(&Wrap("bucket", j::BucketJson::new(cx.urls, b))),
        || h::bucket(&cx.html(), b, caps(cx)),
    )
}

async fn buckets_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    check_name("bucket", cx.id)?;
    let (list, rt) = timed(cx.driver.buckets(cx.rctx, &Filter::by_id(cx.id))).await?;
    let b = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    bucket_reply(cx, StatusCode::OK, &b).map(|r| r.runtime(Some(rt)))
}

async fn buckets_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let name = cx.params.opt("name").unwrap_or_default();
    check_name("bucket", name)?;
    // `location` is the `bucket_location` feature's parameter: drivers without the feature
    // never see it (§5.2).
    let location = cx
        .params
        .opt("location")
        .filter(|_| has_feature(cx.driver.features(), FeatureName::BucketLocation));
    let b = cx.driver.create_bucket(cx.rctx, name, location).await?;
    Ok(bucket_reply(cx, StatusCode::CREATED, &b)?
        .location(&cx.urls.member("buckets", &b.id).to_string()))
}

// ---------------------------------------------------------------------------------------------
// Blobs (§8.9.2)

fn blob_ids<'a>(cx: &Cx<'a>) -> Result<(BucketId, BlobId), ApiError> {
    check_name("bucket", cx.id)?;
    check_name("blob", cx.sub)?;
    Ok((BucketId::new(cx.id), BlobId::new(cx.sub)))
}

/// One blob document; `wrapped` is false for `PUT …/stream`, whose JSON is the bare object.
fn blob_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    b: &Blob,
    content: Option<&str>,
    wrapped: bool,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::BlobXml::new(cx.urls, b), true),
        || {
            let doc = j::BlobJson::new(cx.urls, b, content);
            if wrapped {
                json::render(&Wrap("blob", doc))
            } else {
                json::render(&doc)
            }
        },
        || h::blob(&cx.html(), b, caps(cx)),
    )
}

async fn blobs_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    let (found, rt) = timed(cx.driver.blob(cx.rctx, &bucket, &id)).await?;
    let b = found.ok_or_else(ApiError::not_found)?;
    // JSON carries small blobs' content as text (§8.9.2).
    let content = if cx.format == Format::Json && b.content_length <= MAX_INLINE_CONTENT {
        let mut s = cx.driver.blob_data(cx.rctx, &bucket, &id).await?;
        let mut data = Vec::new();
        while let Some(piece) = s.next().await {
            data.extend_from_slice(&piece?);
            if data.len() as u64 > MAX_INLINE_CONTENT {
                break;
            }
        }
        Some(String::from_utf8_lossy(&data).into_owned())
    } else {
        None
    };
    blob_reply(cx, StatusCode::OK, &b, content.as_deref(), true).map(|r| r.runtime(Some(rt)))
}

/// `GET …/:blob/content`: the content streamed from the driver, with the blob's own content
/// type and length, as an attachment. Not content-negotiated.
async fn blobs_content(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    let b = cx
        .driver
        .blob(cx.rctx, &bucket, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body: ByteStream = if cx.head {
        futures_util::stream::empty().boxed()
    } else {
        cx.driver.blob_data(cx.rctx, &bucket, &id).await?
    };
    let ctype = b
        .content_type
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| HeaderValue::from_str(t).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut reply = Reply::new(StatusCode::OK).header(header::CONTENT_TYPE, ctype);
    reply.stream = Some(Streamed {
        len: b.content_length,
        body,
    });
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={}", b.id)) {
        reply = reply.header(header::CONTENT_DISPOSITION, v);
    }
    Ok(reply)
}

/// `X-Deltacloud-Blobmeta-<Name>: value` request headers as metadata (keys lower-cased).
fn metadata_headers(cx: &Cx<'_>) -> BTreeMap<String, String> {
    cx.req
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            let key = k.as_str().strip_prefix(BLOBMETA)?;
            Some((key.to_owned(), v.to_str().ok()?.to_owned()))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Each entry as an `X-Deltacloud-Blobmeta-<key>` response header (entries that cannot be
/// header names or values are left out).
fn with_metadata(mut reply: Reply, meta: &BTreeMap<String, String>) -> Reply {
    for (k, v) in meta {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(format!("X-Deltacloud-Blobmeta-{k}").as_bytes()),
            HeaderValue::from_str(v),
        ) {
            reply = reply.header(n, v);
        }
    }
    reply
}

/// Where the pieces of an upload come from.
trait Source {
    /// The next piece; `None` at the end.
    async fn next(&mut self) -> Result<Option<Bytes>, ApiError>;
}

/// A raw request body.
struct Body(
    Option<
        futures_util::stream::LocalBoxStream<
            'static,
            Result<Bytes, actix_web::error::PayloadError>,
        >,
    >,
);

impl Source for Body {
    async fn next(&mut self) -> Result<Option<Bytes>, ApiError> {
        let Some(p) = self.0.as_mut() else {
            return Ok(None);
        };
        match p.next().await {
            None => Ok(None),
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err(e)) => Err(ApiError::bad_request(format!(
                "Could not read the request body: {e}"
            ))),
        }
    }
}

/// The current file part of a multipart body.
impl<S, E> Source for &mut Multipart<S>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    async fn next(&mut self) -> Result<Option<Bytes>, ApiError> {
        self.next_chunk().await
    }
}

/// Content that is already in memory (a url-encoded form's text field).
struct Once(Option<Bytes>);

impl Source for Once {
    async fn next(&mut self) -> Result<Option<Bytes>, ApiError> {
        Ok(self.0.take())
    }
}

/// Feed `src` (pieces of an upload) into a bounded channel and hand the driver the other end,
/// running both in this task; the driver's result once both are done. A read error is passed
/// to the driver as the stream's last item, so it discards the partial upload.
async fn upload(
    cx: &Cx<'_>,
    bucket: &BucketId,
    id: &BlobId,
    content_type: Option<&str>,
    meta: BTreeMap<String, String>,
    mut src: impl Source,
) -> Result<Blob, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<deltacloud_core::Result<Bytes>>(UPLOAD_QUEUE);
    let data: ByteStream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed();
    let create = cx
        .driver
        .create_blob(cx.rctx, bucket, id, content_type, meta, data);
    let pump = async move {
        loop {
            let item = match src.next().await {
                Ok(Some(b)) if b.is_empty() => continue,
                Ok(Some(b)) => Ok(b),
                Ok(None) => break,
                Err(e) => Err(Error::validation(format!(
                    "The upload was interrupted: {}",
                    e.message
                ))),
            };
            let failed = item.is_err();
            // The driver gave up (it dropped the stream): stop reading.
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    };
    let (made, ()) = futures_util::future::join(create, pump).await;
    Ok(made?)
}

/// `PUT …/:blob` (and `…/:blob/stream`): the raw body is the content, `Content-Type` the
/// blob's content type, `X-Deltacloud-Blobmeta-*` its metadata; 200 with the blob.
async fn blobs_put(cx: &Cx<'_>, wrapped: bool) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    let meta = metadata_headers(cx);
    let payload = cx.body.borrow_mut().take();
    let src = Body(payload.map(|p| p.boxed_local()));
    let b = upload(cx, &bucket, &id, cx.content_type, meta, src).await?;
    blob_reply(cx, StatusCode::OK, &b, None, wrapped)
}

/// Metadata of the upload form: `meta_name<N>` / `meta_value<N>` pairs.
fn form_metadata(fields: &[(String, String)]) -> BTreeMap<String, String> {
    let get = |k: &str| {
        fields
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    fields
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("meta_name")?;
            let value = get(&format!("meta_value{n}"))?;
            (!v.is_empty()).then(|| (v.to_lowercase(), value.to_owned()))
        })
        .collect()
}

fn missing(name: &str, fields: &[(String, String)]) -> Reply {
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    Reply::plain(
        StatusCode::BAD_REQUEST,
        format!(
            "Required parameter '{name}' not found in [{}]",
            names.join(",")
        ),
    )
}

/// `POST /api/buckets/:bucket` (the explorer's upload form): `blob_id`, the file in
/// `blob_data`, metadata in `meta_name<N>`/`meta_value<N>`. A multipart body is read as it
/// arrives and the file part streamed to the driver; metadata fields after the file are applied
/// once it is stored. A url-encoded form (text content) is handled from the parameters.
async fn blobs_post_form(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    check_name("bucket", cx.id)?;
    let bucket = BucketId::new(cx.id);
    let mut fields: Vec<(String, String)> = cx
        .params
        .names()
        .into_iter()
        .filter_map(|n| cx.params.get(n).map(|v| (n.to_owned(), v.to_owned())))
        .collect();
    let payload = cx.body.borrow_mut().take();
    let Some(payload) = payload else {
        // Url-encoded (or no) body: everything is in the parameters already.
        let Some(id) = cx.params.opt("blob_id") else {
            return Ok(missing("blob_id", &fields));
        };
        check_name("blob", id)?;
        let Some(data) = cx.params.get("blob_data") else {
            return Ok(missing("blob_data", &fields));
        };
        let data = Bytes::copy_from_slice(data.as_bytes());
        let b = upload(
            cx,
            &bucket,
            &BlobId::new(id),
            Some("text/plain"),
            form_metadata(&fields),
            Once(Some(data)),
        )
        .await?;
        return Ok(blob_reply(cx, StatusCode::CREATED, &b, None, true)?
            .location(&cx.urls.sub("buckets", &b.bucket, &b.id).to_string()));
    };
    let boundary = match crate::params::body_kind(cx.content_type) {
        Some(crate::params::BodyKind::Multipart { boundary }) => boundary,
        _ => {
            return Err(ApiError::bad_request(
                "Expected a multipart/form-data body".to_owned(),
            ));
        }
    };
    let mut m = Multipart::new(payload, &boundary);
    let mut made: Option<(Blob, BTreeMap<String, String>)> = None;
    while let Some(part) = m.next_part().await? {
        let Some(name) = part.name else { continue };
        if name != "blob_data" || made.is_some() {
            let v = m.text(MAX_FORM_FIELD).await?;
            fields.push((name, v));
            continue;
        }
        let Some(id) = fields
            .iter()
            .rev()
            .find(|(k, v)| k == "blob_id" && !v.is_empty())
            .map(|(_, v)| v.clone())
        else {
            return Ok(missing("blob_id", &fields));
        };
        check_name("blob", &id)?;
        let meta = form_metadata(&fields);
        let ctype = part.content_type.clone();
        let b = upload(
            cx,
            &bucket,
            &BlobId::new(id),
            ctype.as_deref(),
            meta.clone(),
            &mut m,
        )
        .await?;
        made = Some((b, meta));
    }
    let Some((mut b, meta)) = made else {
        return Ok(missing("blob_data", &fields));
    };
    // Metadata fields that followed the file.
    let all = form_metadata(&fields);
    if all != meta {
        cx.driver
            .update_blob_metadata(cx.rctx, &bucket, &b.id, all.clone())
            .await?;
        b.user_metadata = Some(all);
    }
    Ok(blob_reply(cx, StatusCode::CREATED, &b, None, true)?
        .location(&cx.urls.sub("buckets", &b.bucket, &b.id).to_string()))
}

/// `HEAD …/:blob[/metadata]`: 204 with the metadata as `X-Deltacloud-Blobmeta-*` headers.
async fn blobs_head(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    let meta = cx
        .driver
        .blob_metadata(cx.rctx, &bucket, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(with_metadata(Reply::empty(StatusCode::NO_CONTENT), &meta))
}

/// `POST …/:blob`: replace the metadata with the request's `X-Deltacloud-Blobmeta-*` headers;
/// 204 echoing them.
async fn blobs_update_metadata(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    let meta = metadata_headers(cx);
    cx.driver
        .update_blob_metadata(cx.rctx, &bucket, &id, meta.clone())
        .await?;
    Ok(with_metadata(Reply::empty(StatusCode::NO_CONTENT), &meta))
}

async fn blobs_destroy(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (bucket, id) = blob_ids(cx)?;
    cx.driver.delete_blob(cx.rctx, &bucket, &id).await?;
    if cx.format == Format::Html {
        return Ok(Reply::empty(StatusCode::SEE_OTHER)
            .location(&cx.urls.member("buckets", &bucket).to_string()));
    }
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Addresses (§8.10)

async fn addresses_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.addresses(cx.rctx, &cx.filter(&["id"]))).await?;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (|v| x::AddressXml::new(cx.urls, v, c), x::AddressesXml::new),
        ("addresses", |v| j::AddressJson::new(cx.urls, v)),
        || h::addresses(&cx.html(), &list),
    )
}

fn address_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    a: &deltacloud_core::Address,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::AddressXml::new(cx.urls, a, caps(cx)), true),
        || json::render(&Wrap("address", j::AddressJson::new(cx.urls, a))),
        || h::address(&cx.html(), a, caps(cx)),
    )
}

async fn addresses_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.addresses(cx.rctx, &Filter::by_id(cx.id))).await?;
    let a = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    address_reply(cx, StatusCode::OK, &a).map(|r| r.runtime(Some(rt)))
}

async fn addresses_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let a = cx.driver.create_address(cx.rctx).await?;
    Ok(address_reply(cx, StatusCode::CREATED, &a)?
        .location(&cx.urls.member("addresses", &a.id).to_string()))
}

// ---------------------------------------------------------------------------------------------
// Firewalls (§8.11)

async fn firewalls_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.firewalls(cx.rctx, &cx.filter(&["id"]))).await?;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (
            |v| x::FirewallXml::new(cx.urls, v, c, true),
            x::FirewallsXml::new,
        ),
        ("firewalls", |v| j::FirewallJson::new(cx.urls, v)),
        || h::firewalls(&cx.html(), &list),
    )
}

fn firewall_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    f: &deltacloud_core::Firewall,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::FirewallXml::new(cx.urls, f, caps(cx), false), true),
        || json::render(&Wrap("firewall", j::FirewallJson::new(cx.urls, f))),
        || h::firewall(&cx.html(), f, caps(cx)),
    )
}

async fn firewalls_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.firewalls(cx.rctx, &Filter::by_id(cx.id))).await?;
    let f = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    firewall_reply(cx, StatusCode::OK, &f).map(|r| r.runtime(Some(rt)))
}

async fn firewalls_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let name = cx.params.opt("name").unwrap_or_default();
    let description = cx.params.opt("description").unwrap_or_default();
    let f = cx
        .driver
        .create_firewall(cx.rctx, name, description)
        .await?;
    Ok(firewall_reply(cx, StatusCode::CREATED, &f)?
        .location(&cx.urls.member("firewalls", &f.id).to_string()))
}

/// Rule sources (§8.11): every `ip_address*`/`ip-address*` parameter is a CIDR; `group<N>` with
/// `group<N>owner` is a group.
fn rule_sources(cx: &Cx<'_>) -> (Vec<String>, Vec<(String, String)>) {
    let mut addresses = Vec::new();
    let mut groups = Vec::new();
    for name in cx.params.names() {
        let Some(v) = cx.params.opt(name) else {
            continue;
        };
        if name.starts_with("ip_address") || name.starts_with("ip-address") {
            addresses.push(v.to_owned());
        } else if let Some(n) = name.strip_prefix("group")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            let owner = cx.params.opt(&format!("group{n}owner")).unwrap_or_default();
            groups.push((v.to_owned(), owner.to_owned()));
        }
    }
    (addresses, groups)
}

async fn firewalls_add_rule(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    // The intended enumeration, which the original's malformed declaration never enforced
    // (§6.3 allows enforcing it).
    if let Err(r) = check_enum(cx, "protocol", &["tcp", "udp", "icmp"]) {
        return Ok(r);
    }
    let (addresses, groups) = rule_sources(cx);
    if addresses.is_empty() && groups.is_empty() {
        return Err(Error::validation(
            "No sources. Specify at least one source ip address or group.",
        )
        .into());
    }
    let rule = CreateFirewallRule {
        protocol: cx.params.opt("protocol").unwrap_or_default().to_owned(),
        port_from: cx.params.opt("port_from").unwrap_or_default().to_owned(),
        port_to: cx.params.opt("port_to").unwrap_or_default().to_owned(),
        addresses,
        groups,
    };
    let f = cx
        .driver
        .create_firewall_rule(cx.rctx, &FirewallId::new(cx.id), &rule)
        .await?;
    firewall_reply(cx, StatusCode::CREATED, &f)
}

// ---------------------------------------------------------------------------------------------
// Load balancers (§8.12)

/// The member instances of `lbs`, for the JSON documents, which embed them (§8.12); empty for
/// other formats. One `instances` call covers every balancer. Its failure (EC2 rejects the whole
/// call when one id is gone) is not the request's failure: the members are then written as
/// references, which is all the XML ever carries.
async fn lb_members(cx: &Cx<'_>, lbs: &[deltacloud_core::LoadBalancer]) -> Vec<Instance> {
    if cx.format != Format::Json || !caps(cx).has(Capability::Instances) {
        return Vec::new();
    }
    let mut ids: Vec<String> = lbs
        .iter()
        .flat_map(|b| b.instances.iter().map(|i| i.as_str().to_owned()))
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Vec::new();
    }
    let f = Filter {
        id: Some(ids),
        ..Filter::default()
    };
    cx.driver.instances(cx.rctx, &f).await.unwrap_or_default()
}

async fn lbs_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.load_balancers(cx.rctx, &cx.filter(&["id"]))).await?;
    let members = lb_members(cx, &list).await;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (
            |v| x::LoadBalancerXml::new(cx.urls, v, c),
            x::LoadBalancersXml::new,
        ),
        ("load_balancers", |v| {
            j::LoadBalancerJson::new(cx.urls, v, &members, cx.traits)
        }),
        || h::load_balancers(&cx.html(), &list),
    )
}

async fn lb_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    lb: &deltacloud_core::LoadBalancer,
) -> Result<Reply, ApiError> {
    let members = lb_members(cx, std::slice::from_ref(lb)).await;
    cx.render(
        status,
        || xml::render(&x::LoadBalancerXml::new(cx.urls, lb, caps(cx)), true),
        || {
            json::render(&Wrap(
                "load_balancer",
                j::LoadBalancerJson::new(cx.urls, lb, &members, cx.traits),
            ))
        },
        || h::load_balancer(&cx.html(), lb, caps(cx)),
    )
}

async fn lbs_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.load_balancers(cx.rctx, &Filter::by_id(cx.id))).await?;
    let lb = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    lb_reply(cx, StatusCode::OK, &lb)
        .await
        .map(|r| r.runtime(Some(rt)))
}

async fn lbs_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    if let Err(r) = check_enum(cx, "listener_protocol", &["HTTP", "TCP"]) {
        return Ok(r);
    }
    let p = |n: &str| cx.params.opt(n).unwrap_or_default().to_owned();
    let req = CreateLoadBalancer {
        name: p("name"),
        realm_id: RealmId::new(p("realm_id")),
        listener: Listener {
            protocol: p("listener_protocol"),
            load_balancer_port: p("listener_balancer_port"),
            instance_port: p("listener_instance_port"),
        },
    };
    let lb = cx.driver.create_load_balancer(cx.rctx, &req).await?;
    Ok(lb_reply(cx, StatusCode::CREATED, &lb)
        .await?
        .location(&cx.urls.member("load_balancers", &lb.id).to_string()))
}

/// Register/unregister: 200 with the balancer (what the code did; the docs said 204).
async fn lbs_member(cx: &Cx<'_>, op: Op) -> Result<Reply, ApiError> {
    let id = LoadBalancerId::new(cx.id);
    let instance = InstanceId::new(cx.params.opt("instance_id").unwrap_or_default());
    let lb = if op == Op::LoadBalancersRegister {
        cx.driver
            .lb_register_instance(cx.rctx, &id, &instance)
            .await?
    } else {
        cx.driver
            .lb_unregister_instance(cx.rctx, &id, &instance)
            .await?
    };
    lb_reply(cx, StatusCode::OK, &lb).await
}

// ---------------------------------------------------------------------------------------------
// Metrics (§8.13)

async fn metrics_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.metrics(cx.rctx, &cx.filter(&["id"]))).await?;
    cx.list_reply(
        (&list, rt),
        (|v| x::MetricXml::new(cx.urls, v), x::MetricsXml::new),
        ("metrics", |v| j::MetricJson::new(cx.urls, v)),
        || h::metrics(&cx.html(), &list),
    )
}

async fn metrics_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (found, rt) = timed(cx.driver.metric(cx.rctx, &MetricId::new(cx.id))).await?;
    let m = found.ok_or_else(ApiError::not_found)?;
    cx.render(
        StatusCode::OK,
        || xml::render(&x::MetricXml::new(cx.urls, &m), true),
        || json::render(&Wrap("metric", j::MetricJson::new(cx.urls, &m))),
        || h::metric(&cx.html(), &m),
    )
    .map(|r| r.runtime(Some(rt)))
}

// ---------------------------------------------------------------------------------------------
// Networks, subnets, network interfaces (§8.14). Creates answer 201 + `Location` (the spec's
// SHOULD; the original forgot to set the status and answered 200).

async fn networks_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.networks(cx.rctx, &cx.filter(&["id"]))).await?;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (|v| x::NetworkXml::new(cx.urls, v, c), x::NetworksXml::new),
        ("networks", |v| j::NetworkJson::new(cx.urls, v)),
        || h::networks(&cx.html(), &list),
    )
}

fn network_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    n: &deltacloud_core::Network,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::NetworkXml::new(cx.urls, n, caps(cx)), true),
        || json::render(&Wrap("network", j::NetworkJson::new(cx.urls, n))),
        || h::network(&cx.html(), n, caps(cx)),
    )
}

async fn networks_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.networks(cx.rctx, &Filter::by_id(cx.id))).await?;
    let n = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    network_reply(cx, StatusCode::OK, &n).map(|r| r.runtime(Some(rt)))
}

async fn networks_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let block = cx.params.opt("address_block").unwrap_or_default();
    let n = cx
        .driver
        .create_network(cx.rctx, block, cx.params.opt("name"))
        .await?;
    Ok(network_reply(cx, StatusCode::CREATED, &n)?
        .location(&cx.urls.member("networks", &n.id).to_string()))
}

async fn subnets_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.subnets(cx.rctx, &cx.filter(&["id"]))).await?;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (|v| x::SubnetXml::new(cx.urls, v, c), x::SubnetsXml::new),
        ("subnets", |v| j::SubnetJson::new(cx.urls, v)),
        || h::subnets(&cx.html(), &list),
    )
}

fn subnet_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    s: &deltacloud_core::Subnet,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::SubnetXml::new(cx.urls, s, caps(cx)), true),
        || json::render(&Wrap("subnet", j::SubnetJson::new(cx.urls, s))),
        || h::subnet(&cx.html(), s, caps(cx)),
    )
}

async fn subnets_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.subnets(cx.rctx, &Filter::by_id(cx.id))).await?;
    let s = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    subnet_reply(cx, StatusCode::OK, &s).map(|r| r.runtime(Some(rt)))
}

async fn subnets_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let network = NetworkId::new(cx.params.opt("network_id").unwrap_or_default());
    let block = cx.params.opt("address_block").unwrap_or_default();
    let s = cx
        .driver
        .create_subnet(cx.rctx, &network, block, cx.params.opt("name"))
        .await?;
    Ok(subnet_reply(cx, StatusCode::CREATED, &s)?
        .location(&cx.urls.member("subnets", &s.id).to_string()))
}

async fn nics_index(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.network_interfaces(cx.rctx, &cx.filter(&["id"]))).await?;
    let c = caps(cx);
    cx.list_reply(
        (&list, rt),
        (|v| x::NicXml::new(cx.urls, v, c), x::NicsXml::new),
        ("network_interfaces", |v| j::NicJson::new(cx.urls, v, c)),
        || h::nics(&cx.html(), &list),
    )
}

fn nic_reply(
    cx: &Cx<'_>,
    status: StatusCode,
    n: &deltacloud_core::NetworkInterface,
) -> Result<Reply, ApiError> {
    cx.render(
        status,
        || xml::render(&x::NicXml::new(cx.urls, n, caps(cx)), true),
        || {
            json::render(&Wrap(
                "network_interface",
                j::NicJson::new(cx.urls, n, caps(cx)),
            ))
        },
        || h::nic(&cx.html(), n, caps(cx)),
    )
}

async fn nics_show(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let (list, rt) = timed(cx.driver.network_interfaces(cx.rctx, &Filter::by_id(cx.id))).await?;
    let n = list.into_iter().next().ok_or_else(ApiError::not_found)?;
    nic_reply(cx, StatusCode::OK, &n).map(|r| r.runtime(Some(rt)))
}

async fn nics_create(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let instance = InstanceId::new(cx.params.opt("instance").unwrap_or_default());
    let network = cx.params.opt("network").unwrap_or_default();
    let n = cx
        .driver
        .create_network_interface(cx.rctx, &instance, network, cx.params.opt("name"))
        .await?;
    Ok(nic_reply(cx, StatusCode::CREATED, &n)?
        .location(&cx.urls.member("network_interfaces", &n.id).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names() {
        for ok in ["bucket1", "my.blob", "a..b", "x y", "ünï"] {
            assert!(check_name("blob", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "../etc", "a\\b", "a\0b", "a\nb"] {
            assert_eq!(
                check_name("blob", bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad:?}"
            );
        }
        assert!(check_name("blob", &"x".repeat(2000)).is_err());
    }

    #[test]
    fn upload_form_metadata() {
        let f = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let m = form_metadata(&[
            f("meta_params", "2"),
            f("meta_name1", "Version"),
            f("meta_value1", "1.2"),
            f("meta_name2", ""),
            f("meta_value2", "x"),
        ]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("version").map(String::as_str), Some("1.2"));
    }
}
