//! Replies and the headers every `/api` response carries (`deltacloud-api.md` §1.2).

use crate::memo::{EtagMemo, compute_etag};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LOCATION, SERVER,
};
use actix_web::web::Bytes;
use std::time::Duration;

/// `Server` header: the API version the original reported.
pub(crate) const SERVER_NAME: &str = "Apache-Deltacloud/1.1.3";
pub(crate) const X_DRIVER: HeaderName = HeaderName::from_static("x-deltacloud-driver");
pub(crate) const X_PROVIDER: HeaderName = HeaderName::from_static("x-deltacloud-provider");
const X_RUNTIME: HeaderName = HeaderName::from_static("x-backend-runtime");

/// Content type of the plain-text answers (412, §6.3 400, `force_auth` 401, missing `Host`).
/// The original sent these with Sinatra's default `text/html`; we say `text/plain`, because the
/// 400 message echoes request parameter names, which must not be interpreted as markup.
pub(crate) const TEXT_PLAIN: &str = "text/plain";

/// Initial buffer size for a document of `items` resources: most single resources fit in
/// 2 KiB, an instance in the list view takes about 1.3 KiB of XML.
pub(crate) fn size_hint(items: usize) -> usize {
    items
        .saturating_mul(1536)
        .saturating_add(512)
        .clamp(2048, 1 << 20)
}

/// A body sent as it is produced (blob downloads), with its announced length, so that a blob
/// never has to be held in memory whole.
pub(crate) struct Streamed {
    pub len: u64,
    pub body: futures_util::stream::BoxStream<'static, deltacloud_core::Result<Bytes>>,
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed").field("len", &self.len).finish()
    }
}

/// A response in the making: handlers and the error renderer build these, and [`finish`] adds
/// the headers common to all `/api` responses.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// How long the driver call took (`X-Backend-Runtime`, on index/show/action responses).
    pub runtime: Option<Duration>,
    /// A streamed body, sent instead of `body` (which then stays empty).
    pub stream: Option<Streamed>,
}

impl Reply {
    pub(crate) fn new(status: StatusCode) -> Self {
        Self {
            status,
            body: Bytes::new(),
            content_type: None,
            headers: Vec::new(),
            runtime: None,
            stream: None,
        }
    }

    /// An empty body (204, 406, …).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self::new(status)
    }

    /// A plain-text body.
    pub(crate) fn plain(status: StatusCode, text: impl Into<String>) -> Self {
        Self::new(status).body(text.into().into_bytes(), TEXT_PLAIN)
    }

    #[must_use]
    pub(crate) fn body(self, body: Vec<u8>, content_type: &'static str) -> Self {
        self.bytes(Bytes::from(body), content_type)
    }

    #[must_use]
    pub(crate) fn bytes(mut self, body: Bytes, content_type: &'static str) -> Self {
        self.body = body;
        self.content_type = Some(content_type);
        self
    }

    #[must_use]
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `Location`, if `url` is a valid header value (ids with control characters cannot be).
    #[must_use]
    pub(crate) fn location(self, url: &str) -> Self {
        match HeaderValue::from_str(url) {
            Ok(v) => self.header(LOCATION, v),
            Err(_) => self,
        }
    }

    #[must_use]
    pub(crate) fn runtime(mut self, d: Option<Duration>) -> Self {
        self.runtime = d;
        self
    }
}

/// Turn a reply into the HTTP response, adding `Server`, `X-Deltacloud-Driver`,
/// `X-Deltacloud-Provider` (only when a provider is set), `ETag` + `Cache-Control` (200/201 with
/// a body) and `X-Backend-Runtime`. `Date` is added by actix.
pub(crate) fn finish(
    reply: Reply,
    driver: &str,
    provider: Option<&str>,
    memo: Option<&EtagMemo>,
) -> HttpResponse {
    let mut b = HttpResponse::build(reply.status);
    b.insert_header((SERVER, HeaderValue::from_static(SERVER_NAME)));
    if let Ok(v) = HeaderValue::from_str(driver) {
        b.insert_header((X_DRIVER, v));
    }
    if let Some(p) = provider
        && let Ok(v) = HeaderValue::from_str(p)
    {
        b.insert_header((X_PROVIDER, v));
    }
    if let Some(ct) = reply.content_type {
        b.insert_header((CONTENT_TYPE, HeaderValue::from_static(ct)));
    }
    let mut has_etag = false;
    for (k, v) in reply.headers {
        has_etag |= k == ETAG;
        b.append_header((k, v));
    }
    if let Some(d) = reply.runtime
        && let Ok(v) = HeaderValue::from_str(&d.as_secs_f64().to_string())
    {
        b.insert_header((X_RUNTIME, v));
    }
    if let Some(s) = reply.stream {
        b.no_chunking(s.len);
        return b.streaming(s.body);
    }
    let body = reply.body;
    if matches!(reply.status.as_u16(), 200 | 201) && !body.is_empty() && !has_etag {
        // Rack::ETag: the MD5 of the body, quoted, with a revalidation-forcing Cache-Control.
        let etag = match memo {
            Some(m) => m.etag(&body),
            None => compute_etag(&body),
        };
        if let Some(v) = etag.and_then(|e| HeaderValue::from_bytes(&e).ok()) {
            b.insert_header((ETAG, v));
            b.insert_header((
                CACHE_CONTROL,
                HeaderValue::from_static("max-age=0, private, must-revalidate"),
            ));
        }
    }
    b.body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_carries_the_api_version() {
        assert_eq!(
            SERVER_NAME,
            format!("Apache-Deltacloud/{}", deltacloud_core::API_VERSION)
        );
    }

    #[test]
    fn etag_only_for_200_201_with_body() {
        let r = finish(
            Reply::new(StatusCode::OK).body(b"hello".to_vec(), "application/xml"),
            "mock",
            None,
            None,
        );
        assert_eq!(
            r.headers().get(ETAG).unwrap(),
            "\"5d41402abc4b2a76b9719d911017c592\""
        );
        assert_eq!(
            r.headers().get(CACHE_CONTROL).unwrap(),
            "max-age=0, private, must-revalidate"
        );
        assert_eq!(r.headers().get(SERVER).unwrap(), SERVER_NAME);
        assert_eq!(r.headers().get(&X_DRIVER).unwrap(), "mock");
        assert!(r.headers().get(&X_PROVIDER).is_none());
        let r = finish(
            Reply::plain(StatusCode::BAD_REQUEST, "x"),
            "mock",
            Some("p1"),
            None,
        );
        assert!(r.headers().get(ETAG).is_none());
        assert_eq!(r.headers().get(&X_PROVIDER).unwrap(), "p1");
        let r = finish(Reply::empty(StatusCode::OK), "mock", None, None);
        assert!(r.headers().get(ETAG).is_none(), "no ETag for an empty body");
        let r = finish(
            Reply::new(StatusCode::ACCEPTED).body(b"x".to_vec(), "application/xml"),
            "mock",
            None,
            None,
        );
        assert!(r.headers().get(ETAG).is_none(), "202 gets no ETag");
    }
}
