//! Buckets and blobs over S3's REST API (`drivers.md` §5.2), path-style
//! (`{endpoint}/{bucket}/{key}`), SigV4-signed for service `s3` with `UNSIGNED-PAYLOAD`.
//!
//! * **Endpoint**: a region id uses the catalogue's S3 host for that region; an endpoint URL
//!   (moto, a local S3) is used as the S3 endpoint too (same scheme and authority); Eucalyptus'
//!   `s3=HOST[:PORT]` is Walrus at `http://HOST:PORT/services/Walrus`.
//! * **Streaming, bounded memory**: downloads are passed on chunk by chunk as S3 sends them.
//!   Uploads arrive as a stream of unknown length, while S3 wants a `Content-Length` on every
//!   PUT; so a blob is read in parts of [`PART_SIZE`]: one that ends within the first part is one
//!   PUT, a longer one is a multipart upload (initiate, one PUT per part, complete; aborted on any
//!   failure). At most one part is held at a time, whatever the blob's size.
//! * **Timeouts**: a blob may take longer than the provider timeout to transfer, so S3 calls use
//!   their own HTTP client with a connect timeout and a read timeout (no progress for that long
//!   fails the call with a 504) instead of an overall deadline.
//! * **Faults**: S3's `<Error><Code>` classified like EC2's ([`kind_of_s3`]); `SlowDown` is a 503.
//!   Reads (listing, HEAD, GET) retry refused connections, 5xx and throttling with backoff; writes
//!   never retry blindly.
//! * **Listing**: without an id, buckets are listed by name only (one call), as the original did;
//!   with an id, the bucket comes with its blob list and size (number of blobs).

use crate::Ec2Driver;
use crate::endpoint::{DEFAULT_REGION, EUCALYPTUS_PORT, Endpoint, Flavor, OTHER_ENDPOINTS};
use async_trait::async_trait;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SigningSettings,
    UriPathNormalizationMode,
};
use bytes::{Bytes, BytesMut};
use deltacloud_core::driver::Buckets;
use deltacloud_core::{
    Blob, BlobId, Bucket, BucketId, ByteStream, Capability, Credentials, Error, ErrorKind, Filter,
    RequestContext, Result,
};
use futures_util::{StreamExt as _, TryStreamExt as _};
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use url::Url;

/// The bucket capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability::Buckets,
    Capability::CreateBucket,
    Capability::DeleteBucket,
    Capability::Blob,
    Capability::CreateBlob,
    Capability::DeleteBlob,
    Capability::BlobMetadata,
    Capability::UpdateBlobMetadata,
];

/// Size of one upload part (S3's minimum for all but the last is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Attempts a retriable read gets in total, and the first backoff.
const MAX_ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(100);

/// Prefix of user metadata headers.
const META: &str = "x-amz-meta-";

/// The S3 HTTP client: connect and read timeouts, no overall deadline (see the module docs).
///
/// # Errors
/// When reqwest cannot build its client.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .read_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!(
            "deltacloud-backend-ec2/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| Error::internal("Cannot build the S3 HTTP client").with_cause(e))
}

/// The S3 endpoint for `provider` (see the module docs).
///
/// # Errors
/// A validation error (400) when the provider cannot name an S3 endpoint.
pub fn resolve(flavor: Flavor, provider: Option<&str>) -> Result<Endpoint> {
    let p = provider.map(str::trim).filter(|p| !p.is_empty());
    let from_url = |raw: &str, default_region: &str| -> Result<Endpoint> {
        let (u, region) = match raw.split_once(';') {
            Some((u, r)) if !r.trim().is_empty() => (u, r.trim().to_owned()),
            Some((u, _)) => (u, default_region.to_owned()),
            None => (raw, default_region.to_owned()),
        };
        let mut url = Url::parse(u.trim())
            .map_err(|e| Error::validation(format!("Invalid provider '{raw}': {e}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::validation(format!(
                "Invalid provider '{raw}': the URL has no host"
            )));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Endpoint { url, region })
    };
    match flavor {
        Flavor::Ec2 => {
            let p = p.unwrap_or(DEFAULT_REGION);
            if p.starts_with("http://") || p.starts_with("https://") {
                // An emulator or compatible cloud serves S3 at the root of the same authority.
                let ep = from_url(p, DEFAULT_REGION)?;
                let mut url = ep.url;
                url.set_path("/");
                return Ok(Endpoint {
                    url,
                    region: ep.region,
                });
            }
            let hosts = OTHER_ENDPOINTS
                .iter()
                .find(|(kind, _)| *kind == "s3")
                .map(|(_, hosts)| *hosts)
                .unwrap_or_default();
            let (region, host) = hosts
                .iter()
                .find(|(r, _)| *r == p)
                .copied()
                .unwrap_or((DEFAULT_REGION, "s3.amazonaws.com"));
            from_url(&format!("https://{host}/"), region)
        }
        Flavor::Eucalyptus => {
            let Some(p) = p else {
                return Err(Error::validation("No API provider set for this request."));
            };
            if p.starts_with("http://") || p.starts_with("https://") {
                return from_url(p, "eucalyptus");
            }
            let host = p
                .split(';')
                .find_map(|part| part.trim().strip_prefix("s3="))
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .ok_or_else(|| {
                    Error::validation(format!(
                        "Invalid provider '{p}': buckets need s3=HOST[:PORT] (Walrus)"
                    ))
                })?;
            let authority = if host.rsplit_once(':').is_some_and(|(_, port)| {
                !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())
            }) {
                host.to_owned()
            } else {
                format!("{host}:{EUCALYPTUS_PORT}")
            };
            from_url(
                &format!("http://{authority}/services/Walrus/"),
                "eucalyptus",
            )
        }
    }
}

// ---- wire ------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAllMyBucketsResult {
    #[serde(default)]
    buckets: BucketsList,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BucketsList {
    #[serde(default)]
    bucket: Vec<BucketEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BucketEntry {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<ObjectEntry>,
    #[serde(default)]
    is_truncated: Option<String>,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectEntry {
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateMultipartUploadResult {
    upload_id: String,
}

/// `<Error><Code/><Message/></Error>`, S3's error document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Error {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Map an S3 error code onto the core's kinds.
#[must_use]
pub fn kind_of_s3(code: &str) -> ErrorKind {
    match code {
        "NoSuchBucket" | "NoSuchKey" | "NoSuchUpload" => ErrorKind::NotFound,
        "BucketNotEmpty" | "AccessDenied" => ErrorKind::Forbidden,
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" => ErrorKind::Conflict,
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidSecurity" => ErrorKind::AuthFailed,
        "SlowDown" | "RequestLimitExceeded" | "Throttling" => ErrorKind::ProviderThrottled,
        "InvalidBucketName"
        | "InvalidArgument"
        | "EntityTooLarge"
        | "EntityTooSmall"
        | "KeyTooLongError"
        | "MetadataTooLarge"
        | "InvalidLocationConstraint"
        | "IllegalLocationConstraintException"
        | "MalformedXML" => ErrorKind::Validation,
        _ => ErrorKind::ProviderError,
    }
}

/// Classify a non-2xx S3 answer: its error document when it has one, else its status (HEAD
/// answers have no body).
#[must_use]
pub fn classify_s3(status: u16, body: &str) -> Error {
    if let Some(e) = quick_xml::de::from_str::<S3Error>(body)
        .ok()
        .filter(|e| !e.code.is_empty())
    {
        let kind = if status >= 500 && e.code != "SlowDown" {
            ErrorKind::ProviderError
        } else {
            kind_of_s3(&e.code)
        };
        let msg = if e.message.trim().is_empty() {
            e.code.clone()
        } else {
            e.message.trim().to_owned()
        };
        let msg = if kind == ErrorKind::ProviderError {
            format!("{}: {msg}", e.code)
        } else {
            msg
        };
        return Error::new(kind, msg);
    }
    match status {
        404 => Error::not_found("The bucket or blob does not exist"),
        403 => Error::forbidden("The provider refused access to the bucket or blob"),
        503 => Error::provider_throttled("The provider asks to slow down (HTTP 503)"),
        _ => Error::provider(format!(
            "The provider answered HTTP {status} without an S3 error document"
        )),
    }
}

fn unreadable(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::provider(format!(
        "The provider's answer to {what} could not be understood"
    ))
    .with_cause(e)
}

// ---- requests --------------------------------------------------------------------------------

/// One S3 request before signing.
struct Req<'a> {
    method: Method,
    bucket: &'a str,
    key: Option<&'a str>,
    query: &'a [(&'a str, &'a str)],
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl<'a> Req<'a> {
    fn new(method: Method, bucket: &'a str, key: Option<&'a str>) -> Self {
        Self {
            method,
            bucket,
            key,
            query: &[],
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    fn query(mut self, q: &'a [(&'a str, &'a str)]) -> Self {
        self.query = q;
        self
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    fn body(mut self, b: Bytes) -> Self {
        self.body = b;
        self
    }

    /// `{endpoint}{bucket}/{key}` with every key segment percent-encoded (S3 keys may hold any
    /// character; `/` separates segments and is kept).
    fn url(&self, ep: &Endpoint) -> Result<Url> {
        let mut path = ep.url.path().to_owned();
        if !self.bucket.is_empty() {
            path.push_str(&encode_segment(self.bucket));
            if let Some(k) = self.key {
                path.push('/');
                let segs: Vec<String> = k.split('/').map(encode_segment).collect();
                path.push_str(&segs.join("/"));
            }
        }
        let mut url = ep.url.clone();
        url.set_path(&path);
        if self.query.is_empty() {
            url.set_query(None);
        } else {
            let q: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        encode_segment(k)
                    } else {
                        format!("{}={}", encode_segment(k), encode_segment(v))
                    }
                })
                .collect();
            url.set_query(Some(&q.join("&")));
        }
        Ok(url)
    }
}

/// RFC 3986 unreserved characters stay, everything else is `%XX` (what SigV4 expects).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a call may be repeated blindly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

impl Ec2Driver {
    fn s3_endpoint(&self, ctx: &RequestContext) -> Result<Endpoint> {
        let ep = resolve(self.flavor(), ctx.provider.as_deref())?;
        crate::endpoint::check_tls(&ep)?;
        Ok(ep)
    }

    /// Send `req`, retrying reads on transient faults; a non-2xx answer is the classified error
    /// (404 is returned as `Ok(None)` when `absent_ok`).
    async fn s3_send(
        &self,
        ctx: &RequestContext,
        req: &Req<'_>,
        kind: Kind,
    ) -> Result<reqwest::Response> {
        let creds = ctx.credentials()?;
        let ep = self.s3_endpoint(ctx)?;
        let url = req.url(&ep)?;
        let what = format!("{} {}", req.method, url.path());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let signed = sign_s3(&ep, creds, &req.method, &url, &req.headers)?;
            let mut rb = self
                .s3
                .request(req.method.clone(), url.clone())
                .body(req.body.clone());
            for (k, v) in req.headers.iter().chain(signed.iter()) {
                rb = rb.header(k.as_str(), v.as_str());
            }
            let started = Instant::now();
            let (error, retry) = match rb.send().await {
                Ok(resp) if resp.status().is_success() => {
                    tracing::debug!(
                        call = %what,
                        status = resp.status().as_u16(),
                        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "S3 call"
                    );
                    return Ok(resp);
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    let e = classify_s3(status, &body);
                    let retry = status >= 500 || e.kind() == ErrorKind::ProviderThrottled;
                    (e, retry)
                }
                Err(e) if e.is_timeout() => {
                    return Err(Error::provider_timeout(format!(
                        "The provider did not answer {what} in time"
                    ))
                    .with_cause(e));
                }
                Err(e) if e.is_connect() => (
                    Error::provider(format!("Cannot connect to the provider for {what}"))
                        .with_cause(e),
                    true,
                ),
                Err(e) => (
                    Error::provider(format!(
                        "The provider's answer to {what} was not a valid HTTP response"
                    ))
                    .with_cause(e),
                    false,
                ),
            };
            if !(retry && kind == Kind::Read && attempt < MAX_ATTEMPTS) {
                return Err(error);
            }
            tracing::debug!(call = %what, attempt, error = %error, "retrying S3 call");
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
        }
    }

    async fn s3_xml<T: serde::de::DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        req: &Req<'_>,
        kind: Kind,
    ) -> Result<T> {
        let resp = self.s3_send(ctx, req, kind).await?;
        let text = resp
            .text()
            .await
            .map_err(|e| unreadable(&format!("{} {}", req.method, req.bucket), e))?;
        quick_xml::de::from_str(&text)
            .map_err(|e| unreadable(&format!("{} {}", req.method, req.bucket), e))
    }

    /// Every key of `bucket`, following S3's pagination.
    async fn keys(&self, ctx: &RequestContext, bucket: &str) -> Result<Vec<BlobId>> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let q: Vec<(&str, &str)> = if marker.is_empty() {
                Vec::new()
            } else {
                vec![("marker", marker.as_str())]
            };
            let page: ListBucketResult = self
                .s3_xml(
                    ctx,
                    &Req::new(Method::GET, bucket, None).query(&q),
                    Kind::Read,
                )
                .await?;
            let truncated = page.is_truncated.as_deref() == Some("true");
            let last = page.contents.last().map(|o| o.key.clone());
            out.extend(page.contents.into_iter().map(|o| BlobId::new(o.key)));
            match (truncated, page.next_marker.or(last)) {
                (true, Some(next)) if next != marker => marker = next,
                _ => return Ok(out),
            }
        }
    }

    /// HEAD of a blob: its metadata, or `None` when it does not exist.
    async fn head(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<Option<Blob>> {
        let req = Req::new(Method::HEAD, bucket.as_str(), Some(id.as_str()));
        let resp = match self.s3_send(ctx, &req, Kind::Read).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let h = resp.headers();
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let meta: BTreeMap<String, String> = h
            .iter()
            .filter_map(|(k, v)| {
                let key = k.as_str().strip_prefix(META)?;
                Some((key.to_owned(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        Ok(Some(Blob {
            id: id.clone(),
            bucket: bucket.clone(),
            content_length: text("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            content_type: text("content-type"),
            last_modified: text("last-modified"),
            user_metadata: Some(meta),
        }))
    }

    /// Upload `data` as one PUT or a multipart upload (see the module docs).
    async fn upload(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
        headers: Vec<(String, String)>,
        mut data: ByteStream,
    ) -> Result<()> {
        let first = next_part(&mut data).await?;
        if first.len() < PART_SIZE {
            let mut req = Req::new(Method::PUT, bucket.as_str(), Some(id.as_str())).body(first);
            req.headers = headers;
            self.s3_send(ctx, &req, Kind::Write).await?;
            return Ok(());
        }
        let mut init =
            Req::new(Method::POST, bucket.as_str(), Some(id.as_str())).query(&[("uploads", "")]);
        init.headers = headers;
        let started: InitiateMultipartUploadResult = self.s3_xml(ctx, &init, Kind::Write).await?;
        let upload_id = started.upload_id;
        let result = self
            .upload_parts(ctx, bucket, id, &upload_id, first, &mut data)
            .await;
        if result.is_err() {
            let q = [("uploadId", upload_id.as_str())];
            let abort = Req::new(Method::DELETE, bucket.as_str(), Some(id.as_str())).query(&q);
            if let Err(e) = self.s3_send(ctx, &abort, Kind::Write).await {
                tracing::warn!(error = %e, "could not abort a failed multipart upload");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
        upload_id: &str,
        first: Bytes,
        data: &mut ByteStream,
    ) -> Result<()> {
        let mut etags: Vec<String> = Vec::new();
        let mut part = first;
        loop {
            let number = (etags.len() + 1).to_string();
            let q = [("partNumber", number.as_str()), ("uploadId", upload_id)];
            let len = part.len();
            let req = Req::new(Method::PUT, bucket.as_str(), Some(id.as_str()))
                .query(&q)
                .body(part);
            let resp = self.s3_send(ctx, &req, Kind::Write).await?;
            // The part sent is released before the next one is read: one part at a time.
            drop(req);
            let etag = resp
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::provider("The provider sent no ETag for an uploaded part"))?
                .to_owned();
            etags.push(etag);
            if len < PART_SIZE {
                break;
            }
            part = next_part(data).await?;
            if part.is_empty() {
                break;
            }
        }
        let doc = complete_document(&etags)?;
        let q = [("uploadId", upload_id)];
        let req = Req::new(Method::POST, bucket.as_str(), Some(id.as_str()))
            .query(&q)
            .header("content-type", "application/xml")
            .body(Bytes::from(doc));
        let resp = self.s3_send(ctx, &req, Kind::Write).await?;
        // CompleteMultipartUpload may fail with 200 and an error document.
        let text = resp.text().await.unwrap_or_default();
        if let Ok(e) = quick_xml::de::from_str::<S3Error>(&text)
            && !e.code.is_empty()
            && text.contains("<Error")
        {
            return Err(classify_s3(500, &text));
        }
        Ok(())
    }
}

/// Read from `data` until one part is full or the stream ends.
pub(crate) async fn next_part(data: &mut ByteStream) -> Result<Bytes> {
    // Grows by doubling from 64 KiB, so a full part's buffer is exactly PART_SIZE.
    let mut buf = BytesMut::with_capacity(64 * 1024);
    while buf.len() < PART_SIZE {
        match data.next().await {
            Some(chunk) => {
                let chunk = chunk?;
                let room = PART_SIZE - buf.len();
                if chunk.len() > room {
                    // Never hold more than one part: the rest starts the next one.
                    buf.extend_from_slice(&chunk[..room]);
                    let rest = chunk.slice(room..);
                    let tail = futures_util::stream::once(async move { Ok(rest) });
                    let remaining = std::mem::replace(data, futures_util::stream::empty().boxed());
                    *data = tail.chain(remaining).boxed();
                } else {
                    buf.extend_from_slice(&chunk);
                }
            }
            None => break,
        }
    }
    Ok(buf.freeze())
}

/// `<CompleteMultipartUpload>` listing the parts' numbers and ETags.
fn complete_document(etags: &[String]) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Part<'a> {
        #[serde(rename = "PartNumber")]
        number: usize,
        #[serde(rename = "ETag")]
        etag: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename = "CompleteMultipartUpload")]
    struct Complete<'a> {
        #[serde(rename = "Part")]
        parts: Vec<Part<'a>>,
    }
    let doc = Complete {
        parts: etags
            .iter()
            .enumerate()
            .map(|(i, etag)| Part {
                number: i + 1,
                etag,
            })
            .collect(),
    };
    quick_xml::se::to_string(&doc)
        .map_err(|e| Error::internal("Cannot write the multipart completion").with_cause(e))
}

/// `<CreateBucketConfiguration><LocationConstraint>…`.
fn location_document(location: &str) -> Result<String> {
    #[derive(serde::Serialize)]
    #[serde(rename = "CreateBucketConfiguration")]
    struct Config<'a> {
        #[serde(rename = "LocationConstraint")]
        location: &'a str,
    }
    quick_xml::se::to_string(&Config { location })
        .map_err(|e| Error::internal("Cannot write the bucket configuration").with_cause(e))
}

/// The SigV4 headers for one S3 request (payload unsigned, so bodies need not be hashed).
fn sign_s3(
    ep: &Endpoint,
    creds: &Credentials,
    method: &Method,
    url: &Url,
    headers: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    crate::client::sign_v4(
        "s3",
        ep,
        creds,
        settings,
        (method.as_str(), url.as_str()),
        &headers,
        SignableBody::UnsignedPayload,
    )
}

fn meta_headers(meta: &BTreeMap<String, String>) -> Vec<(String, String)> {
    meta.iter()
        .map(|(k, v)| (format!("{META}{}", k.to_ascii_lowercase()), v.clone()))
        .collect()
}

#[async_trait]
impl Buckets for Ec2Driver {
    async fn buckets(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Bucket>> {
        // One bucket asked for by id: with its blob list.
        if let Some([id]) = f.id.as_deref() {
            return match self.keys(ctx, id).await {
                Ok(keys) => Ok(vec![Bucket {
                    id: BucketId::new(id.clone()),
                    name: id.clone(),
                    size: u64::try_from(keys.len()).ok(),
                    blob_list: keys,
                }]),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(e),
            };
        }
        let all: ListAllMyBucketsResult = self
            .s3_xml(ctx, &Req::new(Method::GET, "", None), Kind::Read)
            .await?;
        Ok(all
            .buckets
            .bucket
            .into_iter()
            .map(|b| Bucket {
                id: BucketId::new(b.name.clone()),
                name: b.name,
                size: None,
                blob_list: Vec::new(),
            })
            .filter(|b| f.pass_id(&b.id))
            .collect())
    }

    async fn create_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
        location: Option<&str>,
    ) -> Result<Bucket> {
        let mut req = Req::new(Method::PUT, name, None);
        // us-east-1 is S3's default and refuses to be named as a constraint.
        if let Some(loc) = location
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "us-east-1")
        {
            req = req
                .header("content-type", "application/xml")
                .body(Bytes::from(location_document(loc)?));
        }
        self.s3_send(ctx, &req, Kind::Write).await?;
        Ok(Bucket {
            id: BucketId::new(name),
            name: name.to_owned(),
            size: Some(0),
            blob_list: Vec::new(),
        })
    }

    async fn delete_bucket(&self, ctx: &RequestContext, id: &BucketId) -> Result<()> {
        let req = Req::new(Method::DELETE, id.as_str(), None);
        match self.s3_send(ctx, &req, Kind::Write).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::Forbidden && e.message().contains("not empty") => Err(
                Error::forbidden("Delete operation not valid for non-empty bucket"),
            ),
            Err(e) => Err(e),
        }
    }

    async fn blob(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<Option<Blob>> {
        self.head(ctx, bucket, id).await
    }

    async fn blob_data(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<ByteStream> {
        let req = Req::new(Method::GET, bucket.as_str(), Some(id.as_str()));
        let resp = self.s3_send(ctx, &req, Kind::Read).await?;
        Ok(resp
            .bytes_stream()
            .map_err(|e| {
                if e.is_timeout() {
                    Error::provider_timeout("The provider stopped sending the blob").with_cause(e)
                } else {
                    Error::provider("The provider's blob transfer failed").with_cause(e)
                }
            })
            .boxed())
    }

    async fn create_blob(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
        content_type: Option<&str>,
        user_metadata: BTreeMap<String, String>,
        data: ByteStream,
    ) -> Result<Blob> {
        let mut headers = meta_headers(&user_metadata);
        if let Some(ct) = content_type.filter(|c| !c.trim().is_empty()) {
            headers.push(("content-type".to_owned(), ct.to_owned()));
        }
        self.upload(ctx, bucket, id, headers, data).await?;
        self.head(ctx, bucket, id).await?.ok_or_else(|| {
            Error::provider(format!("The blob '{id}' is not there after its upload"))
        })
    }

    async fn delete_blob(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<()> {
        let req = Req::new(Method::DELETE, bucket.as_str(), Some(id.as_str()));
        self.s3_send(ctx, &req, Kind::Write).await?;
        Ok(())
    }

    async fn blob_metadata(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<Option<BTreeMap<String, String>>> {
        Ok(self
            .head(ctx, bucket, id)
            .await?
            .map(|b| b.user_metadata.unwrap_or_default()))
    }

    /// A copy of the blob onto itself with the new metadata (S3 cannot change metadata in
    /// place); the content type is kept.
    async fn update_blob_metadata(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
        meta: BTreeMap<String, String>,
    ) -> Result<()> {
        let current = self
            .head(ctx, bucket, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("Blob '{id}' not found")))?;
        let source = format!(
            "/{}/{}",
            encode_segment(bucket.as_str()),
            id.as_str()
                .split('/')
                .map(encode_segment)
                .collect::<Vec<_>>()
                .join("/")
        );
        let mut req = Req::new(Method::PUT, bucket.as_str(), Some(id.as_str()))
            .header("x-amz-copy-source", source)
            .header("x-amz-metadata-directive", "REPLACE");
        if let Some(ct) = current.content_type {
            req = req.header("content-type", ct);
        }
        req.headers.extend(meta_headers(&meta));
        self.s3_send(ctx, &req, Kind::Write).await?;
        Ok(())
    }
}
