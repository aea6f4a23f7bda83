//! The EC2 Query API frontend, mounted at `/ec2` (`ec2-frontend.md`), usable by unmodified
//! aws-cli, boto3 and libcloud.
//!
//! One request goes: raw bytes ⇒ parameters ([`params`]) ⇒ who is calling ([`auth`]: SigV4
//! header or presigned query, SigV2, HTTP Basic) ⇒ the access key's secret and backend identity
//! ([`store`]) ⇒ signature check ⇒ a typed [`action::Action`] ⇒ driver calls ([`handlers`]) ⇒
//! an EC2 XML document ([`xml`]) or EC2 error ([`error`]).
//!
//! The server crate builds an [`Ec2State`] (credential store, built-in identities such as the
//! mock's `mockuser`/`mockpassword`, region name) and passes it to [`configure`]; the driver comes
//! from the `web::Data<Gateway>` the server puts in the app data, as for `/api`.

pub mod action;
pub mod auth;
pub mod error;
pub mod filter;
pub mod handlers;
pub mod params;
pub mod store;
pub mod xml;

use action::Action;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth::Presented;
use auth::sigv4::HttpParts;
use deltacloud_core::{Credentials, Gateway, RequestContext};
use error::{Ec2Error, Ec2Result};
use params::Params;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use store::{CredentialRecord, Identity, Store, StoreError, StoreKey};

/// The API version used when a request names none (what aws-cli v1 and boto3 send).
pub const DEFAULT_VERSION: &str = "2016-11-15";
/// `Server` header of every response (A1).
pub const SERVER_HEADER: &str = "Apache-Deltacloud-EC2/2012-04-01";
/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;

/// Settings of the frontend.
#[derive(Clone, Debug)]
pub struct Ec2Config {
    /// The region this gateway presents itself as; SigV4 scopes must name it (or the provider
    /// of the access key's identity).
    pub region: String,
    /// Identities that work without being stored: the backend's well-known users (the mock's
    /// `mockuser`), and `API_USER`/`API_PASSWORD`. The server decides what goes here, so this
    /// crate never names a backend.
    /// Shared (`Arc`) like the store's cached records, so a signed request copies none of them.
    pub builtin: Vec<Arc<CredentialRecord>>,
}

impl Default for Ec2Config {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            builtin: Vec::new(),
        }
    }
}

/// A terminated instance kept visible (B3: boto3's `instance_terminated` waiter needs it).
#[derive(Clone, Debug)]
pub struct Tombstone {
    pub dto: xml::InstanceDto,
    pub at: Instant,
}

/// Everything the frontend keeps between requests.
pub struct Ec2State {
    pub store: Store,
    pub config: Ec2Config,
    /// `(scope, instance id)` ⇒ tombstone. Per-process and short-lived by design.
    pub(crate) tombstones: Mutex<HashMap<(String, String), Tombstone>>,
}

impl std::fmt::Debug for Ec2State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2State")
            .field("region", &self.config.region)
            .field("builtin_keys", &self.config.builtin.len())
            .finish_non_exhaustive()
    }
}

impl Ec2State {
    #[must_use]
    pub fn new(store: Store, config: Ec2Config) -> Self {
        Self {
            store,
            config,
            tombstones: Mutex::new(HashMap::new()),
        }
    }

    /// The stored credential of `access_key`, else a built-in one. Goes through the store's
    /// read cache: this runs on every signed request.
    async fn lookup(&self, access_key: &str) -> Ec2Result<Option<Arc<CredentialRecord>>> {
        let stored = self.store.lookup_cached(access_key).await.map_err(|e| {
            tracing::error!(error = %e, "EC2 credential lookup failed");
            Ec2Error::internal()
        })?;
        Ok(stored.or_else(|| {
            self.config
                .builtin
                .iter()
                .find(|r| r.access_key == access_key)
                .cloned()
        }))
    }
}

/// Register `/ec2` and `/ec2/` (GET and POST). Expects `web::Data<Gateway>` in the app data.
///
/// Two resources with one static path each, rather than one resource with both paths: actix
/// matches a multi-path resource with a regex set on every request (measured at about 2 % of
/// a DescribeInstances), a static path with a string comparison.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<Ec2State>) {
    // One memo per worker, shared by both paths: `configure` runs in each worker's app factory.
    let memo = web::Data::new(handlers::RenderMemo::default());
    let keys = web::Data::new(auth::sigv4::SigningKeys::default());
    for path in ["/ec2", "/ec2/"] {
        cfg.service(
            web::resource(path)
                .app_data(state.clone())
                .app_data(memo.clone())
                .app_data(keys.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .route(web::get().to(handle))
                .route(web::post().to(handle)),
        );
    }
}

/// The request's id: the one the server gave it (in every log line of the request), else a
/// random (v4) UUID. The workspace enables uuid's `fast-rng`, so that draws from the
/// thread-local CSPRNG rather than asking the kernel (`getrandom`) on every request.
fn request_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage as _;
    match req.extensions().get::<deltacloud_core::RequestId>() {
        Some(id) => id.to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

fn respond(status: u16, request_id: &str, xml: String) -> HttpResponse {
    use actix_web::http::header::{self, HeaderName, HeaderValue};
    // Names and fixed values as constants: built from `&str` on every response, each was a
    // parse and an allocation.
    const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
    const XML: HeaderValue = HeaderValue::from_static("text/xml;charset=UTF-8");
    const SERVER: HeaderValue = HeaderValue::from_static(SERVER_HEADER);
    let mut r = HttpResponse::build(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    r.insert_header((header::CONTENT_TYPE, XML))
        .insert_header((header::SERVER, SERVER));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        r.insert_header((REQUEST_ID, id));
    }
    r.body(xml)
}

fn error_response(e: &Ec2Error, request_id: &str) -> HttpResponse {
    let mut r = respond(e.status, request_id, e.to_xml(request_id));
    if e.status == 401 && e.code == "AuthFailure" {
        // Lets browsers and curl users fall back to Basic, the original's only scheme.
        if let Ok(v) =
            actix_web::http::header::HeaderValue::from_str("Basic realm=\"ec2-deltacloud\"")
        {
            r.headers_mut()
                .insert(actix_web::http::header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// The whole `/ec2` endpoint.
async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    gw: web::Data<Gateway>,
    state: web::Data<Ec2State>,
) -> HttpResponse {
    let request_id = request_id(&req);
    match serve(&req, &body, &gw, &state).await {
        Ok((action, xmlns, b)) => {
            let root = format!("{action}Response");
            match b.render(&root, &xmlns, &request_id) {
                Ok(xml) => respond(200, &request_id, xml),
                Err(e) => {
                    tracing::error!(error = %e, "cannot render EC2 response");
                    error_response(&Ec2Error::internal(), &request_id)
                }
            }
        }
        Err(e) => {
            tracing::debug!(code = %e.code, status = e.status, "EC2 request failed");
            error_response(&e, &request_id)
        }
    }
}

/// Header names (which the `http` crate keeps in lower case) with their values, borrowed from
/// the request; a signed header that is not UTF-8 fails the signature rather than being
/// guessed at.
fn header_pairs(req: &HttpRequest) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    if !out.iter().any(|(k, _)| *k == "host") {
        // HTTP/2 has no Host header: the authority stands in for it.
        if let Some(a) = req.uri().authority() {
            out.push(("host", a.as_str()));
        }
    }
    out
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// `2016-11-15`-shaped, so it can go into the namespace URI verbatim.
fn valid_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

async fn serve(
    req: &HttpRequest,
    body: &[u8],
    gw: &Gateway,
    state: &Ec2State,
) -> Ec2Result<(String, String, handlers::Body)> {
    let headers = header_pairs(req);
    // The query's pairs come first in `params`, then the form body's.
    let mut params = Params::parse(req.query_string().as_bytes())?;
    let in_query = params.pairs().len();
    if req.method() == actix_web::http::Method::POST && is_form(req) {
        params.extend(Params::parse(body)?);
    }
    let query = &params.pairs()[..in_query];
    let parts = HttpParts {
        method: req.method().as_str(),
        path: req.path(),
        query: req.query_string(),
        decoded_query: Some(query),
        headers: &headers,
        body,
    };

    // Who is calling.
    let presented = auth::detect(&parts, query, params.pairs())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let caller = match presented {
        Presented::V4(c) => {
            if c.service != "ec2" {
                return Err(Ec2Error::auth_failure(format!(
                    "Credential should be scoped to correct service: 'ec2', not '{}'",
                    c.service
                )));
            }
            auth::sigv4::check_time(&c, now)?;
            let rec = state.lookup(c.access_key).await?.ok_or_else(unknown_key)?;
            let region_ok = c.region == state.config.region
                || rec.identity.provider.as_deref() == Some(c.region);
            if !region_ok {
                return Err(Ec2Error::auth_failure(format!(
                    "Credential should be scoped to a valid region, not '{}'",
                    c.region
                )));
            }
            match req.app_data::<web::Data<auth::sigv4::SigningKeys>>() {
                Some(keys) => keys.verify(&parts, &c, &rec.secret)?,
                None => auth::sigv4::verify(&parts, &c, rec.secret.expose())?,
            }
            Caller::Stored(rec)
        }
        Presented::V2(c) => {
            auth::sigv2::check_time(&c, now)?;
            let rec = state.lookup(&c.access_key).await?.ok_or_else(unknown_key)?;
            let host = parts.header("host").unwrap_or_default();
            auth::sigv2::verify(
                &c,
                parts.method,
                host,
                parts.path,
                params.pairs(),
                rec.secret.expose(),
            )?;
            Caller::Stored(rec)
        }
        // Basic passes straight through to the backend, as in the original (A3); the driver
        // decides whether the credentials are good.
        Presented::Basic(c) => Caller::Direct(Identity {
            driver: None,
            provider: None,
            user: c.user,
            password: c.password,
        }),
        Presented::Anonymous => match &gw.fixed_credentials {
            // API_USER/API_PASSWORD turn authentication off for every frontend.
            Some(c) => Caller::Direct(Identity {
                driver: None,
                provider: None,
                user: c.user.clone(),
                password: c.password.clone(),
            }),
            None => {
                return Err(Ec2Error::auth_failure(
                    "AWS was not able to validate the provided access credentials",
                ));
            }
        },
    };
    let identity = caller.identity();

    let action_name = params
        .get("Action")
        .ok_or_else(|| Ec2Error::missing("Action"))?
        .to_owned();
    let version = params.get("Version").unwrap_or(DEFAULT_VERSION).to_owned();
    if !valid_version(&version) {
        return Err(Ec2Error::invalid_value(format!(
            "Invalid API version '{version}'"
        )));
    }
    let action = Action::parse(&action_name, &params)?;
    if params.bool("DryRun")? == Some(true) {
        return Err(Ec2Error::new(
            "DryRunOperation",
            412,
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }

    let driver_id = identity.driver.as_deref().unwrap_or(&gw.default_driver);
    let driver = gw
        .registry
        .driver(driver_id)
        .map_err(|e| Ec2Error::from_core(&e, error::Res::Other))?;
    let provider = identity
        .provider
        .clone()
        .or_else(|| gw.default_provider.clone());
    let cx = handlers::Cx {
        scope: format!("{driver_id}/{}", provider.as_deref().unwrap_or("")),
        rctx: RequestContext::new(
            Some(Credentials {
                user: identity.user.clone(),
                password: identity.password.clone(),
            }),
            provider,
        ),
        driver,
        state,
        user: identity.user.clone(),
        region: state.config.region.clone(),
        host: parts.header("host").unwrap_or("localhost").to_owned(),
        xmlns: format!("http://ec2.amazonaws.com/doc/{version}/"),
        memo: req
            .app_data::<web::Data<handlers::RenderMemo>>()
            .map(|m| &***m),
    };
    tracing::debug!(action = %action_name, access_key = %caller.access_key(), "EC2 request");
    let b = handlers::execute(&cx, action).await?;
    Ok((action_name, cx.xmlns, b))
}

/// Who a request acts as: a stored or built-in credential (shared with the store's cache, so
/// a signed request copies none of its strings), or an identity the request carried itself.
enum Caller {
    Stored(Arc<CredentialRecord>),
    Direct(Identity),
}

impl Caller {
    fn identity(&self) -> &Identity {
        match self {
            Self::Stored(rec) => &rec.identity,
            Self::Direct(identity) => identity,
        }
    }

    /// For debug logs: the access key, or the Basic user (neither is secret).
    fn access_key(&self) -> &str {
        match self {
            Self::Stored(rec) => &rec.access_key,
            Self::Direct(identity) => &identity.user,
        }
    }
}

fn unknown_key() -> Ec2Error {
    Ec2Error::auth_failure("AWS was not able to validate the provided access credentials")
}
