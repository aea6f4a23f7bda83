//! The request pipeline of `/api`. Every request under the prefix goes through [`dispatch`],
//! which applies the checks in the order the original applied them:
//!
//! 1. `Host` header present (else plain-text 400, §1.3);
//! 2. parameters gathered (query, form body, last-segment matrix parameters, path id), with
//!    `_method` overriding a `POST`;
//! 3. routing (404 / 405; `HEAD` and `OPTIONS` per §6.4);
//! 4. driver selection (unknown driver: 500);
//! 5. capability (plain-text 412 with `Expect`, before authentication, §6.2);
//! 6. required parameters (plain-text 400, §6.3);
//! 7. format (empty 406, §2);
//! 8. the handler, with credentials passed lazily (401 only if the driver needs them, §3);
//!
//! and finally adds the common headers (§1.2). Errors become §7 documents in the negotiated
//! format (XML when nothing acceptable can carry one).

use crate::error::{self, ApiError, ErrorScope};
use crate::handlers::{self, Cx};
use crate::matrix::MatrixInfo;
use crate::memo::Memos;
use crate::negotiate::{Format, Formats, Ranking, negotiate};
use crate::params::{self, BodyKind, Params};
use crate::response::{self, Reply, X_DRIVER, X_PROVIDER};
use crate::routes::{self, Body, Lookup, Op, Route, Shape};
use crate::view::{Traits, Urls};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use deltacloud_core::{Credentials, Driver, Gateway, RequestContext};
use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use std::sync::Arc;

const EXPECT: HeaderName = header::EXPECT;
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

fn header_str<'r>(req: &'r HttpRequest, name: &HeaderName) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The host (and port) for absolute URLs: `X-Forwarded-Host` (first hop) as Rack honoured it,
/// else `Host`, else the HTTP/2 authority. `None` when the request names no host at all.
fn request_host(req: &HttpRequest) -> Option<&str> {
    let direct =
        header_str(req, &header::HOST).or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let forwarded = header_str(req, &X_FORWARDED_HOST)
        .and_then(|h| h.split(',').next())
        .map(str::trim);
    Some(forwarded.filter(|h| !h.is_empty()).unwrap_or(direct))
}

fn request_scheme(req: &HttpRequest) -> &str {
    if let Some(p) = header_str(req, &X_FORWARDED_PROTO)
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        && (p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("http"))
    {
        return if p.eq_ignore_ascii_case("https") {
            "https"
        } else {
            "http"
        };
    }
    match req.uri().scheme_str() {
        Some(s) => s,
        None if req.app_config().secure() => "https",
        None => "http",
    }
}

/// HTTP Basic credentials, if the request carries well-formed ones.
fn basic_auth(req: &HttpRequest) -> Option<Credentials> {
    let v = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
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

/// Lower-case a driver name without allocating when it already is.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The request handler registered for everything under `/api`.
pub(crate) async fn dispatch(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(gw) = req.app_data::<web::Data<Gateway>>() else {
        tracing::error!("the /api frontend needs web::Data<Gateway> in the app data");
        return response::finish(
            Reply::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The gateway is not configured",
            ),
            "",
            None,
            None,
        );
    };
    let mut matrix = req.extensions().get::<MatrixInfo>().cloned();
    let matrix_params = matrix
        .as_mut()
        .map(|m| std::mem::take(&mut m.params))
        .unwrap_or_default();
    // Driver and provider: `;driver=`/`;provider=` on the api segment win over the headers,
    // which win over the server defaults. Driver names are case-insensitive; provider strings
    // keep their case (they may be URLs).
    let driver_name = matrix
        .as_ref()
        .and_then(|m| m.driver.as_deref())
        .filter(|d| !d.is_empty())
        .or_else(|| header_str(&req, &X_DRIVER))
        .map_or(Cow::Borrowed(gw.default_driver.as_str()), lower);
    let provider = matrix
        .as_ref()
        .and_then(|m| m.provider.as_deref())
        .filter(|p| !p.is_empty())
        .or_else(|| header_str(&req, &X_PROVIDER))
        .or(gw.default_provider.as_deref());

    let reply = match request_host(&req) {
        None => Reply::plain(StatusCode::BAD_REQUEST, "Unable to find HTTP Host header"),
        Some(host) => {
            let urls = Urls::new(request_scheme(&req), host);
            let mut params = Params::default();
            params.extend_urlencoded(req.query_string().as_bytes());
            let p = Pipeline {
                req: &req,
                gw,
                driver_name: &driver_name,
                provider,
                urls: &urls,
            };
            p.run(payload, &mut params, matrix_params).await
        }
    };
    response::finish(
        reply,
        &driver_name,
        provider,
        req.app_data::<Memos>().map(|m| &m.etag),
    )
}

struct Pipeline<'a> {
    req: &'a HttpRequest,
    gw: &'a Gateway,
    driver_name: &'a str,
    provider: Option<&'a str>,
    urls: &'a Urls,
}

impl Pipeline<'_> {
    /// Render an error document.
    fn fail(&self, err: ApiError, params: &Params, format: Format, index: bool) -> Reply {
        let err = if index { err.generic() } else { err };
        let scope = ErrorScope {
            url: self.req.path(),
            driver: self.driver_name,
            provider: self.provider,
            params: params.for_error_document(),
            realm: self
                .gw
                .fixed_credentials
                .is_none()
                .then(|| format!("{}-deltacloud@{}", self.driver_name, self.gw.hostname)),
            format,
            base: self.urls.base(),
        };
        error::render(&err, &scope)
    }

    fn driver(&self) -> Result<Arc<dyn Driver>, ApiError> {
        // The original's message, but a client error: issue 3 asks for a clear 400 where the
        // original answered 500 (§4.1); the caller named a driver this server cannot serve.
        self.gw
            .registry
            .driver(self.driver_name)
            .map_err(ApiError::from)
    }

    async fn run(
        &self,
        payload: web::Payload,
        params: &mut Params,
        matrix_params: Vec<(String, String)>,
    ) -> Reply {
        let req = self.req;
        let ranking: Option<Ranking> = negotiate(
            params.get("format"),
            req.headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        )
        .ok();
        // Error documents use the best acceptable format that can carry one, else XML.
        let err_format = ranking
            .and_then(|r| r.pick(Formats::STANDARD).ok())
            .unwrap_or(Format::Xml);

        let method = req.method();
        // The path below `/api`, segments percent-decoded. (The scope only routes `/api` and
        // `/api/…` here.)
        let Some(rest) = req.path().strip_prefix("/api") else {
            return self.fail(ApiError::not_found(), params, err_format, false);
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let segments: Vec<Cow<'_, str>> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/')
                .map(|s| percent_decode_str(s).decode_utf8_lossy())
                .collect()
        };
        // Empty segments (`/api/realms/`, `//`) match nothing: only the entry point takes a
        // trailing slash.
        if segments.iter().any(|s| s.is_empty()) {
            return self.fail(ApiError::not_found(), params, err_format, false);
        }
        let segs: Vec<&str> = segments.iter().map(AsRef::as_ref).collect();

        // `/api/docs*` (§6.5): HTML generated from the route table, no negotiation, no auth.
        if segs.first() == Some(&"docs") && matches!(*method, Method::GET | Method::HEAD) {
            let driver = self.driver().ok();
            return crate::docs::reply(&segs[1..], self.urls, driver.as_deref());
        }

        // Form bodies, except where the route takes the body itself (blob uploads), which is
        // decided on the request's own method before any `_method` override.
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let body_kind = params::body_kind(content_type);
        let streamed = match routes::lookup(&segs, method.as_str()) {
            Lookup::Found(r) => match r.body {
                Body::Form => false,
                Body::Raw => true,
                Body::MultipartStream => matches!(body_kind, Some(BodyKind::Multipart { .. })),
            },
            _ => false,
        };
        let mut payload = Some(payload);
        if !streamed
            && matches!(
                *method,
                Method::POST | Method::PUT | Method::DELETE | Method::PATCH
            )
            && let Some(kind) = body_kind.as_ref()
            && let Some(payload) = payload.take()
        {
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            let parsed = match params::read_body(payload, declared).await {
                Ok(body) => match kind {
                    BodyKind::UrlEncoded => {
                        params.extend_urlencoded(&body);
                        Ok(())
                    }
                    BodyKind::Multipart { boundary } => {
                        params::parse_multipart(&body, boundary, params)
                    }
                },
                Err(e) => Err(e),
            };
            if let Err(e) = parsed {
                return self.fail(e, params, err_format, false);
            }
        }
        for (k, v) in matrix_params {
            params.push(k, v);
        }

        // `_method=delete|put` on a POST, for HTML forms.
        let mut verb = method.as_str();
        if *method == Method::POST {
            match params
                .get("_method")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("delete") => verb = "DELETE",
                Some("put") => verb = "PUT",
                _ => {}
            }
        }

        if *method == Method::OPTIONS {
            return self.options(&segs, params, err_format);
        }

        let route: &'static Route = match routes::lookup(&segs, verb) {
            Lookup::Found(r) => r,
            Lookup::HeadOnly => return Reply::empty(StatusCode::OK),
            Lookup::NotFound => return self.fail(ApiError::not_found(), params, err_format, false),
            Lookup::MethodNotAllowed => {
                return self.fail(
                    ApiError::status(StatusCode::METHOD_NOT_ALLOWED),
                    params,
                    err_format,
                    false,
                );
            }
            Lookup::Unserved(col) => {
                let driver = match self.driver() {
                    Ok(d) => d,
                    Err(e) => return self.fail(e, params, err_format, false),
                };
                if !col.need.satisfied_by(driver.as_ref()) {
                    return missing_capability(col.name);
                }
                return self.fail(ApiError::not_found(), params, err_format, false);
            }
        };
        let id = match route.shape {
            Shape::Member | Shape::Action(_) | Shape::SubMember | Shape::SubAction(_) => {
                segs.get(1).copied().unwrap_or_default()
            }
            Shape::Root | Shape::Collection | Shape::Fixed(_) => "",
        };
        if !id.is_empty() {
            params.push("id", id);
        }
        // The sub-resource of `/<coll>/:id/:sub[/<action>]`: a blob, or a firewall rule.
        let sub = match route.shape {
            Shape::SubMember | Shape::SubAction(_) => segs.get(2).copied().unwrap_or_default(),
            _ => "",
        };
        if !sub.is_empty() {
            params.push(
                if route.coll == "firewalls" {
                    "rule_id"
                } else {
                    "blob_id"
                },
                sub,
            );
        }
        let index = route.kind == routes::Kind::Index;

        // The unknown-driver message names the driver even on index routes: clients need it.
        let driver = match self.driver() {
            Ok(d) => d,
            Err(e) => return self.fail(e, params, err_format, false),
        };
        if !route.need.satisfied_by(driver.as_ref()) {
            return missing_capability(route.expect);
        }
        if let Some(missing) = route
            .params
            .iter()
            .find(|p| p.required && params.opt(p.name).is_none())
        {
            return Reply::plain(
                StatusCode::BAD_REQUEST,
                format!(
                    "Required parameter '{}' not found in [{}]",
                    missing.name,
                    params.names().join(",")
                ),
            );
        }
        // The driver switch answers with a redirect whatever the client accepts.
        let format = if route.op == Op::SwitchDriver {
            err_format
        } else {
            // Explorer forms exist only as HTML (§11).
            let renderable = if route.kind == routes::Kind::Form {
                Formats::of(&[Format::Html])
            } else {
                Formats::STANDARD
            };
            match ranking.map(|r| r.pick(renderable)) {
                Some(Ok(f)) => f,
                _ => return Reply::empty(StatusCode::NOT_ACCEPTABLE),
            }
        };

        let credentials = self
            .gw
            .fixed_credentials
            .clone()
            .or_else(|| basic_auth(req));
        let rctx = RequestContext::new(credentials, self.provider.map(str::to_owned));
        let cx = Cx {
            gw: self.gw,
            driver: driver.as_ref(),
            driver_name: self.driver_name,
            provider: self.provider,
            urls: self.urls,
            params,
            id,
            sub,
            body: std::cell::RefCell::new(if streamed { payload } else { None }),
            content_type,
            head: *method == Method::HEAD,
            req,
            format,
            rctx: &rctx,
            traits: Traits::of(driver.as_ref()),
            route,
            referer: header_str(req, &header::REFERER),
            memos: req.app_data::<Memos>(),
        };
        match handlers::handle(&cx).await {
            Ok(reply) => crate::explorer::after_form(&cx, reply),
            Err(e) => self.fail(e, params, format, index),
        }
    }

    /// `OPTIONS` (§5.6, §6.4): 200 with an `Allow` header.
    fn options(&self, segs: &[&str], params: &Params, err_format: Format) -> Reply {
        let allow = if segs.is_empty() {
            // The entry point's collections depend on the driver.
            match self.driver() {
                Ok(d) => Some(
                    routes::listed_collections(d.as_ref())
                        .map(|c| c.class)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Err(e) => return self.fail(e, params, err_format, false),
            }
        } else {
            routes::options_allow(segs, self.driver().ok().as_deref())
        };
        match allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            Some(v) => Reply::empty(StatusCode::OK).header(header::ALLOW, v),
            None => self.fail(ApiError::not_found(), params, err_format, false),
        }
    }
}

/// 412 with `Expect: <capability>` and the original's plain-text body (§6.2).
fn missing_capability(capability: &'static str) -> Reply {
    Reply::plain(
        StatusCode::PRECONDITION_FAILED,
        "The required capability to execute this operation is missing",
    )
    .header(EXPECT, HeaderValue::from_static(capability))
}
