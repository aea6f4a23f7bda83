//! The EC2 Query API client: one signed POST per call, faults classified once.
//!
//! * **Transport**: one `reqwest::Client` per driver (connection pooling across requests and
//!   callers); the configured provider timeout bounds each call *including* its retries, so a
//!   client never waits longer than `timeout` for an answer.
//! * **Signing**: SigV4 through `aws-sigv4` over the exact form body sent, with `host` (with the
//!   port when not the default, as reqwest sends it) and `content-type` signed. The caller's
//!   access key and secret come with each request and are never logged.
//! * **Faults** ([`classify_status`], [`transport_error`]): timeout ⇒ 504, refused connection,
//!   5xx, garbage or an undecodable body ⇒ 502, `AuthFailure` ⇒ 401, `*.NotFound` ⇒ 404,
//!   duplicates and "in use" ⇒ 403, bad parameters ⇒ 400, throttling ⇒ 503 with the
//!   provider's message (the core's `ProviderThrottled`).
//! * **Retries**: reads ([`Call::Read`]) retry refused connections, 5xx and throttling with
//!   exponential backoff while the deadline allows. Writes are never re-sent once they may have
//!   reached the provider (a retried `RunInstances` could start a second machine); they are
//!   retried only when the connection itself failed, i.e. the request provably never left.

use crate::endpoint::{Endpoint, check_tls};
use crate::wire;
use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use deltacloud_core::{Credentials, Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant, SystemTime};

/// The API version requested; real EC2 and moto both serve it.
pub const API_VERSION: &str = "2016-11-15";

/// A Query API service: its SigV4 signing name and the API version asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub signing_name: &'static str,
    pub version: &'static str,
}

/// EC2 itself.
pub const EC2: Service = Service {
    signing_name: "ec2",
    version: API_VERSION,
};
/// Classic Elastic Load Balancing.
pub const ELB: Service = Service {
    signing_name: "elasticloadbalancing",
    version: "2012-06-01",
};
/// CloudWatch.
pub const CLOUDWATCH: Service = Service {
    signing_name: "monitoring",
    version: "2010-08-01",
};

/// Attempts a retriable call gets in total.
const MAX_ATTEMPTS: u32 = 3;
/// First backoff; doubled for each further attempt.
const BACKOFF: Duration = Duration::from_millis(100);

/// Whether a call may be repeated blindly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Idempotent (`Describe*`): retried on transient faults.
    Read,
    /// Changes something: retried only when the connection failed before sending.
    Write,
}

/// Query parameters of one call, in insertion order (`Action` and `Version` are added).
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `name=value`.
    #[must_use]
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    /// Add `name=value` when there is a value.
    #[must_use]
    pub fn opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self,
        }
    }

    /// Add `prefix.1=a&prefix.2=b…` (EC2's list encoding).
    #[must_use]
    pub fn list<S: AsRef<str>>(mut self, prefix: &str, values: &[S]) -> Self {
        for (i, v) in values.iter().enumerate() {
            self.0
                .push((format!("{prefix}.{}", i + 1), v.as_ref().to_owned()));
        }
        self
    }

    /// The parameters so far (for tests).
    #[must_use]
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// The HTTP side of the backend; cheap to share.
#[derive(Clone, Debug)]
pub struct QueryClient {
    http: reqwest::Client,
    timeout: Duration,
}

/// A failed attempt and whether another may follow.
struct Attempt {
    error: Error,
    retry: bool,
    /// The connection failed, so nothing reached the provider.
    connect: bool,
}

impl QueryClient {
    /// A client whose calls (retries included) end within `timeout`.
    ///
    /// # Errors
    /// When reqwest cannot build its client (no usable TLS backend, for instance).
    pub fn new(timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!(
                "deltacloud-backend-ec2/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| Error::internal("Cannot build the EC2 HTTP client").with_cause(e))?;
        Ok(Self { http, timeout })
    }

    /// The configured per-call deadline.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Call `action` and parse the answer as `T`.
    ///
    /// # Errors
    /// Every fault, classified (see the module docs).
    pub async fn call<T: DeserializeOwned>(
        &self,
        ep: &Endpoint,
        creds: &Credentials,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<T> {
        self.call_service(EC2, ep, creds, action, params, kind)
            .await
    }

    /// Call `action` of another Query API `service` and parse the answer as `T`.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn call_service<T: DeserializeOwned>(
        &self,
        service: Service,
        ep: &Endpoint,
        creds: &Credentials,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<T> {
        let body = self
            .call_raw_service(service, ep, creds, action, params, kind)
            .await?;
        wire::parse(&body).map_err(|e| {
            Error::provider(format!(
                "The provider's answer to {action} could not be understood"
            ))
            .with_cause(e)
        })
    }

    /// Call `action` and return the body of its successful answer.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn call_raw(
        &self,
        ep: &Endpoint,
        creds: &Credentials,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<String> {
        self.call_raw_service(EC2, ep, creds, action, params, kind)
            .await
    }

    async fn call_raw_service(
        &self,
        service: Service,
        ep: &Endpoint,
        creds: &Credentials,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<String> {
        check_tls(ep)?;
        let mut pairs = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), service.version.to_owned()),
        ];
        pairs.extend(params.0);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let deadline = Instant::now() + self.timeout;
        let work = async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.attempt(service, ep, creds, action, &body).await {
                    Ok(text) => return Ok(text),
                    Err(a) => {
                        let wait = BACKOFF * 2u32.pow(attempt - 1);
                        let may_retry = a.retry
                            && attempt < MAX_ATTEMPTS
                            && (kind == Call::Read || a.connect)
                            && Instant::now() + wait < deadline;
                        if !may_retry {
                            return Err(a.error);
                        }
                        tracing::debug!(action, attempt, error = %a.error, "retrying EC2 call");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(timeout_error(action, self.timeout)),
        }
    }

    async fn attempt(
        &self,
        service: Service,
        ep: &Endpoint,
        creds: &Credentials,
        action: &str,
        body: &str,
    ) -> Result<String, Attempt> {
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed =
            sign_request(service, ep, creds, body, content_type).map_err(|error| Attempt {
                error,
                retry: false,
                connect: false,
            })?;
        let mut rb = self
            .http
            .post(ep.url.clone())
            .header("content-type", content_type)
            .body(body.to_owned());
        for (k, v) in signed {
            rb = rb.header(k, v);
        }
        let started = Instant::now();
        let resp = rb
            .send()
            .await
            .map_err(|e| transport_error(action, e, self.timeout))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(action, e, self.timeout))?;
        tracing::debug!(
            action,
            status,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "EC2 call"
        );
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| Attempt {
            error: Error::provider(format!(
                "The provider's answer to {action} is not valid UTF-8"
            ))
            .with_cause(e),
            retry: false,
            connect: false,
        })?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let err = classify_status(status, &text);
        let retry = status >= 500 || is_throttling(&err.code);
        Err(Attempt {
            error: err.error,
            retry,
            connect: false,
        })
    }
}

/// The SigV4 headers for a POST of `body` to `ep`.
fn sign_request(
    service: Service,
    ep: &Endpoint,
    creds: &Credentials,
    body: &str,
    content_type: &str,
) -> Result<Vec<(String, String)>> {
    sign_v4(
        service.signing_name,
        ep,
        creds,
        SigningSettings::default(),
        ("POST", ep.url.as_str()),
        &[("content-type", content_type)],
        SignableBody::Bytes(body.as_bytes()),
    )
}

/// The SigV4 headers for one request to `ep` (the `host` header is added and signed here), with
/// the caller's key pair, for the service `signing_name`. Shared by the Query APIs and S3, which
/// differ only in their settings and body.
pub(crate) fn sign_v4(
    signing_name: &str,
    ep: &Endpoint,
    creds: &Credentials,
    settings: SigningSettings,
    (method, url): (&str, &str),
    headers: &[(&str, &str)],
    body: SignableBody<'_>,
) -> Result<Vec<(String, String)>> {
    let msg = format!("Cannot sign the {signing_name} request");
    let identity = AwsCredentials::new(
        creds.user.clone(),
        creds.password.expose().to_owned(),
        None,
        None,
        "deltacloud",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&ep.region)
        .name(signing_name)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| Error::internal(msg.clone()).with_cause(e))?
        .into();
    let authority = ep.authority();
    let all = std::iter::once(("host", authority.as_str())).chain(headers.iter().copied());
    let req = SignableRequest::new(method, url, all, body)
        .map_err(|e| Error::internal(msg.clone()).with_cause(e))?;
    let (instructions, _signature) = sign(req, &params)
        .map_err(|e| Error::internal(msg.clone()).with_cause(e))?
        .into_parts();
    let (signed, _query) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect())
}

fn timeout_error(action: &str, timeout: Duration) -> Error {
    Error::provider_timeout(format!(
        "The provider did not answer {action} within {} s",
        timeout.as_secs_f64()
    ))
}

/// A reqwest failure as a classified error. Timeouts are final (the deadline is spent);
/// connection failures may be retried.
fn transport_error(action: &str, e: reqwest::Error, timeout: Duration) -> Attempt {
    if e.is_timeout() {
        return Attempt {
            error: timeout_error(action, timeout).with_cause(e),
            retry: false,
            connect: false,
        };
    }
    if e.is_connect() {
        return Attempt {
            error: Error::provider(format!("Cannot connect to the provider for {action}"))
                .with_cause(e),
            retry: true,
            connect: true,
        };
    }
    // A reset connection, a response that is not HTTP, a body cut short.
    Attempt {
        error: Error::provider(format!(
            "The provider's answer to {action} was not a valid HTTP response"
        ))
        .with_cause(e),
        retry: false,
        connect: false,
    }
}

/// An error answer: the classified error and the provider's code (empty if none).
pub struct Classified {
    pub error: Error,
    pub code: String,
}

/// Is `code` one of EC2's "slow down" answers?
#[must_use]
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "RequestThrottled"
    )
}

/// Map an EC2 error code (and its message) onto the core's kinds, in the order of the original's
/// rule list (`drivers.md` §5.2), first match wins.
#[must_use]
pub fn kind_of(code: &str, message: &str) -> ErrorKind {
    if is_throttling(code) {
        return ErrorKind::ProviderThrottled;
    }
    if message.contains("root device is not supported for the instance") {
        return ErrorKind::Validation;
    }
    if matches!(
        code,
        "AuthFailure"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "InvalidClientTokenId"
            | "MissingAuthenticationToken"
            | "OptInRequired"
    ) {
        return ErrorKind::AuthFailed;
    }
    if code.contains("NotFound")
        || code.starts_with("InvalidInstanceID")
        || code.starts_with("InvalidAMIID")
        || code.starts_with("InvalidLoadBalancer")
        || message.contains("Invalid availability zone")
    {
        return ErrorKind::NotFound;
    }
    if code.ends_with(".Duplicate") || code.contains("KeyExist") {
        return ErrorKind::Forbidden;
    }
    if code.ends_with(".InUse") || code == "DependencyViolation" || code == "VolumeInUse" {
        return ErrorKind::Forbidden;
    }
    if code == "UnauthorizedOperation" {
        return ErrorKind::Forbidden;
    }
    if code.starts_with("IncorrectInstanceState") || code == "IncorrectState" {
        return ErrorKind::InvalidState;
    }
    if code.starts_with("InvalidParameter")
        || code.ends_with(".Malformed")
        || code == "MissingParameter"
        || code == "InvalidInput"
        || code == "UnknownParameter"
        || code == "InvalidKeyPair.Format"
        || code == "InvalidInstanceType"
    {
        return ErrorKind::Validation;
    }
    ErrorKind::ProviderError
}

/// Classify a non-2xx answer. A body in EC2's error format gives the code and message; anything
/// else is the provider's fault (502).
#[must_use]
pub fn classify_status(status: u16, body: &str) -> Classified {
    let item = wire::parse::<wire::ErrorResponse>(body)
        .ok()
        .and_then(|r| r.errors.error.into_iter().next())
        .or_else(|| {
            wire::parse::<wire::ServiceErrorResponse>(body)
                .ok()
                .map(|r| r.error)
        });
    match item {
        Some(e) => {
            let kind = if status >= 500 && !is_throttling(&e.code) {
                ErrorKind::ProviderError
            } else {
                kind_of(&e.code, &e.message)
            };
            let message = if e.message.trim().is_empty() {
                e.code.clone()
            } else {
                e.message.trim().to_owned()
            };
            let message = if kind == ErrorKind::ProviderError {
                format!("{}: {message}", e.code)
            } else {
                message
            };
            Classified {
                error: Error::new(kind, message),
                code: e.code,
            }
        }
        None => Classified {
            error: Error::provider(format!(
                "The provider answered HTTP {status} without an EC2 error document"
            )),
            code: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(code: &str, msg: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{msg}</Message></Error></Errors><RequestID>r</RequestID></Response>"
        )
    }

    #[test]
    fn error_documents_are_classified() {
        let cases = [
            (
                401,
                "AuthFailure",
                "AWS was not able to validate",
                ErrorKind::AuthFailed,
            ),
            (
                400,
                "InvalidInstanceID.NotFound",
                "The instance ID 'i-00000000' does not exist",
                ErrorKind::NotFound,
            ),
            (
                400,
                "InvalidAMIID.Malformed",
                "Invalid id",
                ErrorKind::NotFound,
            ),
            (
                400,
                "InvalidParameterValue",
                "Invalid availability zone: [unknown]",
                ErrorKind::NotFound,
            ),
            (
                400,
                "InvalidKeyPair.Duplicate",
                "exists",
                ErrorKind::Forbidden,
            ),
            (
                400,
                "IncorrectInstanceState",
                "nope",
                ErrorKind::InvalidState,
            ),
            (
                400,
                "InvalidParameterValue",
                "bad size",
                ErrorKind::Validation,
            ),
            (
                503,
                "RequestLimitExceeded",
                "Request limit exceeded.",
                ErrorKind::ProviderThrottled,
            ),
            (
                400,
                "Throttling",
                "Rate exceeded",
                ErrorKind::ProviderThrottled,
            ),
            (
                500,
                "InvalidInstanceID.NotFound",
                "odd",
                ErrorKind::ProviderError,
            ),
            (400, "Gremlins", "odd", ErrorKind::ProviderError),
        ];
        for (status, code, msg, kind) in cases {
            let c = classify_status(status, &doc(code, msg));
            assert_eq!(c.error.kind(), kind, "{code}");
            assert_eq!(c.code, code);
        }
        let c = classify_status(503, &doc("RequestLimitExceeded", "Request limit exceeded."));
        assert_eq!(c.error.message(), "Request limit exceeded.");
        let c = classify_status(400, &doc("InvalidInstanceID.NotFound", "gone"));
        assert_eq!(c.error.message(), "gone");
    }

    #[test]
    fn non_documents_are_provider_errors() {
        for body in ["", "<html>oops</html>", "garbage \u{1}"] {
            let c = classify_status(500, body);
            assert_eq!(c.error.kind(), ErrorKind::ProviderError);
            assert!(c.code.is_empty());
        }
    }

    #[test]
    fn list_parameters_are_numbered_from_one() {
        let p = Params::new()
            .list("InstanceId", &["i-1", "i-2"])
            .opt("KeyName", None::<String>)
            .set("MinCount", "1");
        let got: Vec<(&str, &str)> = p
            .pairs()
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("InstanceId.1", "i-1"),
                ("InstanceId.2", "i-2"),
                ("MinCount", "1")
            ]
        );
    }
}
