//! Transport concerns of `/cimi`: format negotiation, request bodies, the one error renderer,
//! and the common response headers (`cimi.md` §1, §8).

use crate::resources::SCHEMA;
use crate::xml;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use deltacloud_core::{Capability, Error, ErrorKind};
use serde_json::{Map, Value};
use std::hash::{Hash, Hasher};

/// The two representations CIMI has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    Xml,
    Json,
}

/// Pick the response format (`cimi.md` §1): `?format=` wins; no `Accept` ⇒ XML; XML named at
/// any q-value ⇒ XML; JSON-compatible ⇒ JSON; anything else ⇒ `None` (406).
#[must_use]
pub fn negotiate(req: &HttpRequest, format_param: Option<&str>) -> Option<Fmt> {
    match format_param {
        Some("xml") => return Some(Fmt::Xml),
        Some("json") => return Some(Fmt::Json),
        _ => {}
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Some(Fmt::Xml);
    };
    let types: Vec<String> = accept
        .split(',')
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    if types
        .iter()
        .any(|t| t == "application/xml" || t == "text/xml")
    {
        return Some(Fmt::Xml);
    }
    if types.iter().any(|t| {
        matches!(
            t.as_str(),
            "application/json" | "*/*" | "application/*" | "text/*" | "text/html"
        )
    }) {
        return Some(Fmt::Json);
    }
    None
}

/// An error as `/cimi` renders it.
#[derive(Debug)]
pub struct CimiError {
    pub status: StatusCode,
    pub message: String,
    /// Missing capability: plain-text 412 with `Expect` (`cimi.md` §8).
    pub expect: Option<Capability>,
    /// Send a Basic challenge (no credentials were given).
    pub challenge: bool,
}

impl CimiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            expect: None,
            challenge: false,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found")
    }
    pub fn missing(attrs: &[&str]) -> Self {
        Self::bad_request(format!("Required attributes not set: {}", attrs.join(",")))
    }
    pub fn capability(c: Capability) -> Self {
        Self {
            status: StatusCode::PRECONDITION_FAILED,
            message: format!("Capability '{c}' is not supported by the current driver"),
            expect: Some(c),
            challenge: false,
        }
    }
}

impl From<Error> for CimiError {
    fn from(e: Error) -> Self {
        let status = match e.kind() {
            ErrorKind::AuthRequired | ErrorKind::AuthFailed => StatusCode::UNAUTHORIZED,
            ErrorKind::Validation => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            // CIMI has no 405 for state conflicts: an action the state does not allow is 409.
            ErrorKind::InvalidState | ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::NotSupported => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::ProviderError => StatusCode::BAD_GATEWAY,
            ErrorKind::ProviderTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::ProviderThrottled => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(error = %e, "cimi request failed");
        }
        Self {
            status,
            message: e.message().to_owned(),
            expect: None,
            challenge: e.kind() == ErrorKind::AuthRequired,
        }
    }
}

/// What an error document needs to know about the request.
pub struct ErrorScope<'a> {
    pub url: &'a str,
    pub driver: &'a str,
    pub provider: &'a str,
    pub realm: Option<String>,
    pub fmt: Fmt,
}

/// The one place errors become responses.
#[must_use]
pub fn render_error(e: &CimiError, s: &ErrorScope<'_>) -> HttpResponse {
    let mut b = HttpResponse::build(e.status);
    b.insert_header(("CIMI-Specification-Version", "1.0.1"));
    if let Some(c) = e.expect {
        b.insert_header((header::EXPECT, c.as_str()));
        return b
            .content_type("text/plain; charset=utf-8")
            .body(e.message.clone());
    }
    if e.status == StatusCode::UNAUTHORIZED
        && e.challenge
        && let Some(realm) = &s.realm
    {
        b.insert_header((header::WWW_AUTHENTICATE, format!("Basic realm=\"{realm}\"")));
    }
    match s.fmt {
        Fmt::Json => {
            let body = serde_json::json!({
                "code": e.status.as_u16(),
                "message": e.message,
                "error": e.status.canonical_reason().unwrap_or("Error"),
            });
            b.content_type("application/json").body(body.to_string())
        }
        Fmt::Xml => {
            let doc = xml::ErrorDoc {
                status: e.status.as_u16(),
                url: s.url,
                backend: xml::Backend {
                    driver: s.driver,
                    provider: s.provider,
                },
                code: e.status.as_u16(),
                message: &e.message,
            };
            let mut out = String::new();
            let ser = quick_xml::se::Serializer::new(&mut out);
            match serde::Serialize::serialize(&doc, ser) {
                Ok(_) => b.content_type("application/xml").body(out),
                Err(_) => b
                    .content_type("text/plain; charset=utf-8")
                    .body(e.message.clone()),
            }
        }
    }
}

/// A successful document response. `root` is the XML root element; the JSON form gets
/// `resourceURI` last (`cimi.md` §2).
#[must_use]
pub fn document(
    status: StatusCode,
    fmt: Fmt,
    root: &str,
    type_name: &str,
    doc: Map<String, Value>,
) -> HttpResponse {
    Rendered::new(fmt, root, type_name, doc).respond(status)
}

/// A rendered document: what [`document`] sends, kept apart so it can be memoized.
#[derive(Clone, Debug)]
pub struct Rendered {
    ctype: &'static str,
    body: actix_web::web::Bytes,
    etag: String,
}

impl Rendered {
    #[must_use]
    pub fn new(fmt: Fmt, root: &str, type_name: &str, mut doc: Map<String, Value>) -> Self {
        doc.insert(
            "resourceURI".into(),
            Value::String(format!("{SCHEMA}{type_name}")),
        );
        let (ctype, body) = match fmt {
            Fmt::Json => ("application/json", Value::Object(doc).to_string()),
            Fmt::Xml => ("application/xml", xml::render(root, &doc)),
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        Self {
            ctype,
            body: body.into(),
            etag: format!("\"{:016x}\"", h.finish()),
        }
    }

    /// The response (the body is shared, not copied).
    #[must_use]
    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status)
            .insert_header(("CIMI-Specification-Version", "1.0.1"))
            .insert_header((header::ETAG, self.etag.as_str()))
            .insert_header((header::CACHE_CONTROL, "max-age=0, private, must-revalidate"))
            .content_type(self.ctype)
            .body(self.body.clone())
    }
}

/// An empty response (deletes, actions without a job document).
#[must_use]
pub fn empty(status: StatusCode) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("CIMI-Specification-Version", "1.0.1"))
        .finish()
}

/// Read a request body as the JSON form of a CIMI document. The body's `Content-Type` decides
/// the parser (parameters such as `charset` are accepted); without one, the first character
/// decides. Other types are 415.
///
/// # Errors
/// 415 for other content types; 400 for malformed documents.
pub fn read_body(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Option<String>, Map<String, Value>), CimiError> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty());
    let text = std::str::from_utf8(body)
        .map_err(|_| CimiError::bad_request("Bad request (the body is not UTF-8)"))?;
    let is_xml = match ctype.as_deref() {
        Some("application/xml" | "text/xml") => true,
        Some("application/json") => false,
        None => text.trim_start().starts_with('<'),
        Some(other) => {
            return Err(CimiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Unsupported content type '{other}': use application/json or application/xml"
                ),
            ));
        }
    };
    if text.trim().is_empty() {
        return Err(CimiError::bad_request("Bad request (empty body)"));
    }
    if is_xml {
        let (root, m) =
            xml::parse(text).map_err(|e| CimiError::bad_request(format!("Bad request ({e})")))?;
        Ok((Some(root), m))
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok((None, m)),
            Ok(_) => Err(CimiError::bad_request(
                "Bad request (expected a JSON object)",
            )),
            Err(e) => Err(CimiError::bad_request(format!("Bad request ({e})"))),
        }
    }
}

/// A string attribute (numbers are accepted and printed).
#[must_use]
pub fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A reference attribute: `{"href": …}` (or a bare string, which some clients send).
#[must_use]
pub fn href(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::Object(o) => text(o, "href"),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// The last path segment of an href (the backend id).
#[must_use]
pub fn last_segment(href: &str) -> &str {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
}

/// The `properties` of a create document.
#[must_use]
pub fn properties(m: &Map<String, Value>) -> std::collections::BTreeMap<String, String> {
    m.get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
