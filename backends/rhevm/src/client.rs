//! One conversation with an engine: HTTP Basic with the caller's credentials, the headers the
//! engine wants, and the classification of every failure into a core [`Error`] (done here once,
//! so no `reqwest::Error` ever leaves this module).
//!
//! | engine says | core error | status clients see |
//! |---|---|---|
//! | no answer within the driver's timeout | `ProviderTimeout` | 504 |
//! | connection refused, reset, 5xx, unreadable body | `ProviderError` | 502 |
//! | 401 | `AuthFailed` | 401 |
//! | 403 | `Forbidden` | 403 |
//! | 404 | `NotFound` | 404 |
//! | fault "Template is being used" | `Conflict` | 409 |
//! | fault "Cannot <action> VM. VM is …" (400 in v3, 409 in v4) | `InvalidState` | 405 on `/api` |
//! | fault about custom properties / "not supported" | `NotSupported` | 501 |
//! | other 409 | `Conflict`; other 4xx | `Validation` |
//!
//! The message is the fault's `detail` (without the engine's brackets), else its `reason`.
//!
//! **Sessions**: every request asks for `Prefer: persistent-auth`; the `JSESSIONID` the engine
//! answers with is kept per engine and user ([`Sessions`]) and sent instead of the credentials
//! on later calls, so a busy gateway does not log in to the engine on every call (a login is an
//! expensive operation on RHEV-M). A 401 on a kept session drops it and the call is repeated
//! once with the credentials: a 401 means the engine did nothing, so even a `POST` may be.

use crate::provider::{ApiVersion, Provider};
use crate::sso::{self, AuthMode, Tokens};
use crate::xml::{self, Fault};
use deltacloud_core::{Error, ErrorKind, Result, Secret};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Engine sessions by (API URL, user): the password they were opened with and the
/// `JSESSIONID`. The password is compared in constant time before a session is reused, so a
/// caller with the right user name but another password never rides on someone else's session.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<(String, String), (Secret, String)>>);

impl Sessions {
    fn get(&self, url: &str, user: &str, password: &Secret) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(url.to_owned(), user.to_owned()))
            .filter(|(p, _)| p.ct_eq(password.expose()))
            .map(|(_, id)| id.clone())
    }

    fn put(&self, url: &str, user: &str, password: &Secret, id: String) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert((url.to_owned(), user.to_owned()), (password.clone(), id));
    }

    fn forget(&self, url: &str, user: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&(url.to_owned(), user.to_owned()));
    }
}

/// The `JSESSIONID` value of a `Set-Cookie` header, if it sets one.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let first = v.split(';').next()?.trim();
            let id = first.strip_prefix("JSESSIONID=")?;
            (!id.is_empty()).then(|| id.to_owned())
        })
}

/// Largest response body read from an engine (a big engine's full VM list is a few MB).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The message of the spec's error rule for user data on engines without the floppy hook.
const NO_USER_DATA_HOOK: &str =
    "The user_data, require the floppyinject hook installed in your RHEV-M deployment";

/// How one request authenticates.
#[derive(Clone, Copy)]
enum Cred<'s> {
    /// HTTP Basic with the caller's credentials, asking for a persistent session.
    Basic,
    /// A kept `JSESSIONID`.
    Session(&'s str),
    /// An SSO access token (`sso.rs`).
    Bearer(&'s str),
}

/// A request-scoped engine client: the shared connection pool plus who is asking where.
pub struct Engine<'a> {
    http: &'a reqwest::Client,
    sessions: &'a Sessions,
    tokens: &'a Tokens,
    auth: AuthMode,
    pub provider: Provider,
    user: &'a str,
    password: &'a Secret,
}

/// What the shared driver keeps between requests for its engine clients.
pub struct Shared<'a> {
    pub http: &'a reqwest::Client,
    pub sessions: &'a Sessions,
    pub tokens: &'a Tokens,
    pub auth: AuthMode,
}

impl<'a> Engine<'a> {
    /// Fails with `NotSupported` for `https://` engines when this build has no TLS (see the
    /// crate's `tls` feature), rather than letting reqwest fail with a confusing scheme error.
    pub fn new(
        shared: &Shared<'a>,
        provider: Provider,
        user: &'a str,
        password: &'a Secret,
    ) -> Result<Self> {
        if provider.is_https() && !cfg!(feature = "tls") {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "This deltacloudd was built without TLS support for oVirt engines (enable the deltacloud-backend-rhevm 'tls' feature); use an http:// engine URL or a TLS-terminating proxy",
            ));
        }
        Ok(Self {
            http: shared.http,
            sessions: shared.sessions,
            tokens: shared.tokens,
            auth: shared.auth,
            provider,
            user,
            password,
        })
    }

    /// Does this request authenticate with an SSO token (see `sso.rs`)?
    fn wants_token(&self) -> bool {
        !self.is_v3()
            && match self.auth {
                AuthMode::Basic => false,
                AuthMode::Sso => true,
                AuthMode::Auto => !self.tokens.lacks_sso(&self.provider.url),
            }
    }

    /// A new token from the engine; `None` when it has no SSO service and Basic may be used.
    async fn fetch_token(&self) -> Result<Option<Secret>> {
        match sso::obtain(
            self.http,
            self.tokens,
            &self.provider.url,
            self.user,
            self.password,
        )
        .await?
        {
            sso::Obtained::Token(t) => Ok(Some(t)),
            sso::Obtained::NoService if self.auth == AuthMode::Sso => Err(Error::provider(
                "The oVirt engine has no SSO service (driver option rhevm_auth=sso)",
            )),
            sso::Obtained::NoService => Ok(None),
        }
    }

    #[must_use]
    pub fn is_v3(&self) -> bool {
        self.provider.version == ApiVersion::V3
    }

    /// A request that authenticates with `cred`.
    fn request(&self, method: Method, path: &str, cred: Cred<'_>) -> reqwest::RequestBuilder {
        let url = format!("{}/{}", self.provider.url, path.trim_start_matches('/'));
        let mut rb = self
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/xml");
        rb = match cred {
            Cred::Session(id) => rb.header(reqwest::header::COOKIE, format!("JSESSIONID={id}")),
            // Ask the engine to keep the session: without it every call is a fresh login.
            Cred::Basic => rb
                .basic_auth(self.user, Some(self.password.expose()))
                .header("Prefer", "persistent-auth"),
            // The token already spares the engine a login per call.
            Cred::Bearer(token) => rb.bearer_auth(token),
        };
        if self.provider.filtered {
            // The user-level API: the engine shows only what this user may see.
            rb = rb.header("Filter", "true");
        }
        if self.provider.version == ApiVersion::V4 {
            rb = rb.header("Version", "4");
        }
        rb
    }

    /// Send the request `make` builds, on the kept session if there is one (see the module
    /// docs), read the body (bounded), and turn any non-2xx answer into an error.
    async fn send(
        &self,
        make: impl Fn(Cred<'_>) -> reqwest::RequestBuilder,
        what: &str,
    ) -> Result<String> {
        let url = &self.provider.url;
        if self.wants_token() {
            let token = match self.tokens.get(url, self.user, self.password) {
                Some(t) => Some((t, true)),
                None => self.fetch_token().await?.map(|t| (t, false)),
            };
            if let Some((token, kept)) = token {
                match self
                    .send_once(make(Cred::Bearer(token.expose())), what)
                    .await
                {
                    Err(e) if e.kind() == ErrorKind::AuthFailed && kept => {
                        tracing::debug!(target: "rhevm", what, "engine SSO token refused; obtaining a new one");
                        self.tokens.forget(url, self.user);
                        if let Some(t) = self.fetch_token().await? {
                            return self.send_once(make(Cred::Bearer(t.expose())), what).await;
                        }
                    }
                    other => return other,
                }
            }
        }
        if let Some(id) = self.sessions.get(url, self.user, self.password) {
            match self.send_once(make(Cred::Session(&id)), what).await {
                Err(e) if e.kind() == ErrorKind::AuthFailed => {
                    tracing::debug!(target: "rhevm", what, "engine session expired; logging in again");
                    self.sessions.forget(url, self.user);
                }
                other => return other,
            }
        }
        self.send_once(make(Cred::Basic), what).await
    }

    async fn send_once(&self, rb: reqwest::RequestBuilder, what: &str) -> Result<String> {
        let mut resp = rb.send().await.map_err(|e| transport_error(e, what))?;
        let status = resp.status();
        if status.is_success()
            && let Some(id) = session_cookie(&resp)
        {
            self.sessions
                .put(&self.provider.url, self.user, self.password, id);
        }
        let body = read_bounded(&mut resp, MAX_BODY_BYTES, what).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            tracing::debug!(target: "rhevm", what, status = status.as_u16(), "engine call");
            Ok(text)
        } else {
            tracing::debug!(target: "rhevm", what, status = status.as_u16(), "engine call failed");
            Err(status_error(status, &text))
        }
    }

    fn parse<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
        xml::from_xml(text).map_err(|e| {
            Error::provider(format!(
                "The oVirt engine sent an unreadable answer to {what}"
            ))
            .with_cause(e)
        })
    }

    /// `GET path?query` parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        let what = format!("GET {path}");
        let make = |cred: Cred<'_>| {
            let rb = self.request(Method::GET, path, cred);
            if query.is_empty() {
                rb
            } else {
                rb.query(query)
            }
        };
        let text = self.send(make, &what).await?;
        Self::parse(&text, &what)
    }

    /// `GET path`, with 404 as `None` (the "show" helpers return nothing for unknown ids).
    pub async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.get(path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST path` with an XML body, answer parsed as `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let what = format!("POST {path}");
        let text = self.post_raw(path, body, &what).await?;
        Self::parse(&text, &what)
    }

    async fn post_raw<B: Serialize>(&self, path: &str, body: &B, what: &str) -> Result<String> {
        self.send_xml(Method::POST, path, body, what).await
    }

    /// `method path` with `body` as XML.
    async fn send_xml<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<String> {
        let xml = xml::to_xml(body).map_err(|e| {
            Error::internal("Cannot encode the request for the oVirt engine").with_cause(e)
        })?;
        let make = |cred: Cred<'_>| {
            self.request(method.clone(), path, cred)
                .header(reqwest::header::CONTENT_TYPE, "application/xml")
                .body(xml.clone())
        };
        self.send(make, what).await
    }

    /// `POST vms/{id}/{action}` with an empty `<action/>`; the answer (an action status) is
    /// not needed.
    pub async fn action(&self, path: &str) -> Result<()> {
        let what = format!("POST {path}");
        self.post_raw(path, &xml::Action::default(), &what)
            .await
            .map(drop)
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let what = format!("DELETE {path}");
        self.send(|c| self.request(Method::DELETE, path, c), &what)
            .await
            .map(drop)
    }

    /// `DELETE path` with an XML body (v3's detach: `<action><detach>true</detach></action>`).
    pub async fn delete_with<B: Serialize>(&self, path: &str, body: &B) -> Result<()> {
        let what = format!("DELETE {path}");
        self.send_xml(Method::DELETE, path, body, &what)
            .await
            .map(drop)
    }
}

/// The whole body of `resp`, refused beyond `max` bytes (an engine, or something posing as
/// one, must not make the gateway buffer without bound).
pub(crate) async fn read_bounded(
    resp: &mut reqwest::Response,
    max: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(e, what))? {
        if body.len() + chunk.len() > max {
            return Err(Error::provider(format!(
                "The oVirt engine's answer to {what} is larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Transport failures. reqwest's message names the URL (never the credentials, which travel in
/// a header), so it is kept as the cause for logs only.
pub(crate) fn transport_error(e: reqwest::Error, what: &str) -> Error {
    let err = if e.is_timeout() {
        Error::provider_timeout(format!("The oVirt engine did not answer {what} in time"))
    } else if e.is_connect() {
        Error::provider("Cannot connect to the oVirt engine")
    } else {
        Error::provider(format!(
            "Communication with the oVirt engine failed during {what}"
        ))
    };
    err.with_cause(e)
}

/// Does this fault say the VM's state forbids the action?
fn is_state_fault(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.starts_with("cannot ")
        && (m.contains("vm is ")
            || m.contains("status")
            || m.contains("not running")
            || m.contains("is running")
            || m.contains("not down"))
}

/// A non-2xx answer as a core error (see the module table).
#[must_use]
pub fn status_error(status: StatusCode, body: &str) -> Error {
    let fault = xml::from_xml::<Fault>(body).ok().and_then(|f| f.message());
    let msg = fault
        .clone()
        .unwrap_or_else(|| format!("The oVirt engine answered {status}"));
    let lower = msg.to_ascii_lowercase();
    match status.as_u16() {
        401 => Error::auth_failed("Unauthorized"),
        403 => Error::forbidden(msg),
        404 => Error::not_found(fault.unwrap_or_else(|| "Not found".to_owned())),
        _ if lower.contains("template is being used") => Error::conflict(msg),
        _ if lower.contains("custom properties are not configured")
            || lower.contains("not supported") =>
        {
            Error::new(ErrorKind::NotSupported, NO_USER_DATA_HOOK)
        }
        400 | 409 if is_state_fault(&msg) => Error::invalid_state(msg),
        409 => Error::conflict(msg),
        400..=499 => Error::validation(msg),
        _ => Error::provider(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(detail: &str) -> String {
        xml::to_xml(&Fault {
            reason: Some("Operation Failed".into()),
            detail: Some(format!("[{detail}]")),
        })
        .unwrap()
    }

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s: u16, b: &str| status_error(StatusCode::from_u16(s).unwrap(), b).kind();
        assert_eq!(k(401, "<html/>"), ErrorKind::AuthFailed);
        assert_eq!(k(404, "<html>JBoss</html>"), ErrorKind::NotFound);
        assert_eq!(k(403, ""), ErrorKind::Forbidden);
        assert_eq!(
            k(
                400,
                &fault("Cannot delete Template. Template is being used by the following VMs: a.")
            ),
            ErrorKind::Conflict
        );
        assert_eq!(
            k(409, &fault("Cannot run VM. VM is running.")),
            ErrorKind::InvalidState
        );
        assert_eq!(
            k(400, &fault("Cannot shutdown VM. VM is not running.")),
            ErrorKind::InvalidState
        );
        assert_eq!(k(409, &fault("Name in use.")), ErrorKind::Conflict);
        assert_eq!(k(400, &fault("Bad name")), ErrorKind::Validation);
        assert_eq!(k(500, "garbage"), ErrorKind::ProviderError);
        assert_eq!(k(503, ""), ErrorKind::ProviderError);
        assert_eq!(
            k(400, &fault("Custom properties are not configured")),
            ErrorKind::NotSupported
        );
        let e = status_error(
            StatusCode::CONFLICT,
            &fault("Cannot run VM. VM is running."),
        );
        assert_eq!(e.message(), "Cannot run VM. VM is running.");
    }
}
