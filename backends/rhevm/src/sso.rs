//! oVirt 4 single sign-on: an OAuth access token from the engine's SSO service
//! (`POST /ovirt-engine/sso/oauth/token`, `grant_type=password`, `scope=ovirt-app-api`), then
//! `Authorization: Bearer <token>` on every API call. This is how oVirt 4 wants API clients to
//! authenticate (its SDKs do this); engines can be set up to refuse HTTP Basic on the API.
//!
//! Which scheme a request uses is the driver option `rhevm_auth` ([`AuthMode`]):
//! * `auto` (default): v4 engines get a token; an engine whose SSO endpoint does not exist
//!   (404, say a proxy that only forwards `/ovirt-engine/api`) is remembered and spoken to with
//!   Basic and persistent sessions; v3 engines always get Basic (RHEV-M 3 has no such service).
//! * `sso`: always a token (v4), no fallback.
//! * `basic`: always Basic with `Prefer: persistent-auth` sessions (see `client.rs`).
//!
//! Tokens are kept per engine and user with the password they were obtained with (compared in
//! constant time before reuse, as for sessions), until shortly before the expiry the engine
//! states; a 401 on a kept token fetches a new one once. A refused login (wrong password) is the
//! engine's 400 `access_denied`, which becomes the usual 401. Tokens and passwords are never
//! logged.

use deltacloud_core::{Error, Result, Secret};
use reqwest::StatusCode;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Driver option: `auto`, `sso` or `basic`.
pub const OPT_AUTH: &str = "rhevm_auth";

/// A token is not used in its last minute, so it does not expire on the way to the engine.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Largest token answer read (a token answer is a few hundred bytes).
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// How requests authenticate; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    #[default]
    Auto,
    Sso,
    Basic,
}

impl AuthMode {
    /// Parse the option value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Some(Self::Auto),
            "sso" | "oauth" | "token" => Some(Self::Sso),
            "basic" => Some(Self::Basic),
            _ => None,
        }
    }
}

struct Token {
    password: Secret,
    token: Secret,
    /// Unix seconds after which the token is not used; `None` when the engine gave no expiry.
    use_until: Option<u64>,
}

/// Tokens by (API URL, user), and the engines found to have no SSO service.
#[derive(Default)]
pub struct Tokens {
    tokens: Mutex<HashMap<(String, String), Token>>,
    no_sso: Mutex<HashSet<String>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Tokens {
    /// A kept, unexpired token for `user` with `password` at `url`.
    pub fn get(&self, url: &str, user: &str, password: &Secret) -> Option<Secret> {
        let map = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(url.to_owned(), user.to_owned()))
            .filter(|t| t.password.ct_eq(password.expose()))
            .filter(|t| t.use_until.is_none_or(|u| now_secs() < u))
            .map(|t| t.token.clone())
    }

    fn put(&self, url: &str, user: &str, password: &Secret, token: Secret, exp_ms: Option<u64>) {
        let use_until = exp_ms.map(|ms| (ms / 1000).saturating_sub(EXPIRY_MARGIN.as_secs()));
        let mut map = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(
            (url.to_owned(), user.to_owned()),
            Token {
                password: password.clone(),
                token,
                use_until,
            },
        );
    }

    /// Drop the kept token (the engine refused it).
    pub fn forget(&self, url: &str, user: &str) {
        let mut map = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&(url.to_owned(), user.to_owned()));
    }

    /// Has `url`'s engine been found to have no SSO service?
    pub fn lacks_sso(&self, url: &str) -> bool {
        self.no_sso
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(url)
    }

    fn mark_no_sso(&self, url: &str) {
        self.no_sso
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned());
    }
}

/// The SSO token endpoint of the engine whose API is at `api_url`: the same origin, at
/// `/ovirt-engine/sso/oauth/token` (where every oVirt 4 engine serves it).
#[must_use]
pub fn token_url(api_url: &str) -> String {
    let base = api_url.find("/ovirt-engine/").map_or_else(
        || {
            // No `/ovirt-engine/` in the path: keep scheme and authority only.
            let after_scheme = api_url.find("://").map_or(0, |i| i + 3);
            let end = api_url[after_scheme..]
                .find('/')
                .map_or(api_url.len(), |i| after_scheme + i);
            &api_url[..end]
        },
        |i| &api_url[..i],
    );
    format!("{base}/ovirt-engine/sso/oauth/token")
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    /// Milliseconds since the epoch, as a string in oVirt's answers (a number is read too).
    #[serde(default)]
    exp: Option<serde_json::Value>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// What the token endpoint said.
pub enum Obtained {
    Token(Secret),
    /// The engine has no SSO service (404/405): use Basic.
    NoService,
}

/// Ask the engine at `api_url` for a token for `user`/`password`, and keep it in `tokens`.
///
/// # Errors
/// `AuthFailed` when the engine refuses the credentials; `ProviderError`/`ProviderTimeout`
/// when it cannot be reached or answers nonsense.
pub async fn obtain(
    http: &reqwest::Client,
    tokens: &Tokens,
    api_url: &str,
    user: &str,
    password: &Secret,
) -> Result<Obtained> {
    let url = token_url(api_url);
    let form = [
        ("grant_type", "password"),
        ("scope", "ovirt-app-api"),
        ("username", user),
        ("password", password.expose()),
    ];
    let what = "the SSO token request";
    let mut resp = http
        .post(&url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| crate::client::transport_error(e, what))?;
    let status = resp.status();
    if matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        tokens.mark_no_sso(api_url);
        return Ok(Obtained::NoService);
    }
    let body = crate::client::read_bounded(&mut resp, MAX_TOKEN_ANSWER, what).await?;
    let answer: Option<TokenAnswer> = serde_json::from_slice(&body).ok();
    let refused = |code: Option<&str>| {
        matches!(
            code,
            Some("access_denied" | "invalid_grant" | "unauthorized_client")
        )
    };
    match (status, answer) {
        (s, Some(a))
            if s.is_success() && a.access_token.as_deref().is_some_and(|t| !t.is_empty()) =>
        {
            let token = Secret::new(a.access_token.unwrap_or_default());
            let exp_ms = a.exp.as_ref().and_then(|v| match v {
                serde_json::Value::String(s) => s.trim().parse().ok(),
                serde_json::Value::Number(n) => n.as_u64(),
                _ => None,
            });
            tokens.put(api_url, user, password, token.clone(), exp_ms);
            tracing::debug!(target: "rhevm", "obtained an engine SSO token");
            Ok(Obtained::Token(token))
        }
        (StatusCode::UNAUTHORIZED, _) => Err(Error::auth_failed("Unauthorized")),
        (s, Some(a)) if s.is_client_error() && refused(a.error_code.as_deref()) => {
            Err(Error::auth_failed("Unauthorized"))
        }
        (s, Some(a)) if s.is_client_error() => Err(Error::validation(format!(
            "The oVirt engine's SSO service refused the request: {}",
            a.error.or(a.error_code).unwrap_or_else(|| s.to_string())
        ))),
        (s, _) => Err(Error::provider(format!(
            "The oVirt engine's SSO service answered {s} without a token"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls() {
        assert_eq!(
            token_url("https://engine.example.com/ovirt-engine/api"),
            "https://engine.example.com/ovirt-engine/sso/oauth/token"
        );
        assert_eq!(
            token_url("http://127.0.0.1:8080/ovirt-engine/api/"),
            "http://127.0.0.1:8080/ovirt-engine/sso/oauth/token"
        );
        assert_eq!(
            token_url("https://rhevm.example.com:8443/api"),
            "https://rhevm.example.com:8443/ovirt-engine/sso/oauth/token"
        );
    }

    #[test]
    fn modes() {
        assert_eq!(AuthMode::parse("AUTO"), Some(AuthMode::Auto));
        assert_eq!(AuthMode::parse(""), Some(AuthMode::Auto));
        assert_eq!(AuthMode::parse("sso"), Some(AuthMode::Sso));
        assert_eq!(AuthMode::parse("Basic"), Some(AuthMode::Basic));
        assert_eq!(AuthMode::parse("kerberos"), None);
    }

    #[test]
    fn kept_tokens_need_the_same_password_and_time_left() {
        let t = Tokens::default();
        let pw = Secret::new("engine");
        let far = (now_secs() + 3600) * 1000;
        t.put("u", "admin", &pw, Secret::new("tok"), Some(far));
        assert_eq!(
            t.get("u", "admin", &pw).map(|s| s.expose().to_owned()),
            Some("tok".into())
        );
        assert!(t.get("u", "admin", &Secret::new("other")).is_none());
        assert!(t.get("u", "someone", &pw).is_none());
        // Inside the margin before expiry: not used.
        t.put(
            "u",
            "admin",
            &pw,
            Secret::new("tok2"),
            Some((now_secs() + 30) * 1000),
        );
        assert!(t.get("u", "admin", &pw).is_none());
        t.put("u", "admin", &pw, Secret::new("tok3"), None);
        assert!(t.get("u", "admin", &pw).is_some());
        t.forget("u", "admin");
        assert!(t.get("u", "admin", &pw).is_none());
    }
}
