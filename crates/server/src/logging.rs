//! Structured logs on stderr (stdout carries only the start-up banner and the `Listening on`
//! line), as text or JSON, plus the per-request root span.
//!
//! Redaction lives here, in one place: request logs carry the method, the path, the status, the
//! driver and provider that served the request, and a request id; never a header (so never
//! `Authorization`), never a body, and a query string only under `/api` and `/cimi` (an `/ec2`
//! query can carry `Signature=` and `AWSAccessKeyId=`).

use crate::cli::LogFormat;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderName;
use std::time::Instant;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Set up the global subscriber: text lines from [`crate::textlog`], or `fmt`'s JSON. The filter is `debug` when verbose (`-V`, `API_VERBOSE`), else
/// `RUST_LOG` when set, else `info`: the explicit verbose setting wins over the generic variable.
///
/// Lines go to in-memory buffers that one thread writes to stderr every 50 ms
/// ([`crate::logwriter`]): writing each request's line from the worker that served it cost a
/// `write` syscall under the contended stderr lock per request (measured, a fifth of the
/// throughput of `GET /api/instances`, `bench/run.sh` at `RUST_LOG=info` against `warn`), and a
/// channel to a writer thread cost a thread wake-up per line. No line is dropped: when the
/// writer falls behind, workers wait. Keep the returned guard alive until exit: dropping it
/// flushes what is pending.
///
/// # Errors
/// If a subscriber is already installed, or the writer thread cannot start.
pub fn init(format: LogFormat, verbose: bool) -> anyhow::Result<crate::logwriter::FlushGuard> {
    let directives = if verbose {
        Some("debug,h2=info,mio=info".to_owned())
    } else {
        std::env::var("RUST_LOG").ok()
    };
    let (targets, env_filter) = level_filter(directives.as_deref());
    let (writer, guard) = crate::logwriter::BatchedStderr::start()
        .map_err(|e| anyhow::anyhow!("cannot start the log writer: {e}"))?;
    let registry = tracing_subscriber::registry()
        .with(targets)
        .with(env_filter);
    let result = match format {
        LogFormat::Text => registry
            .with(crate::textlog::TextLayer::new(writer))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true)
                    .with_writer(writer),
            )
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(guard)
}

/// The filter for `directives` (`RUST_LOG` syntax; unset or blank means `info`): a plain
/// [`Targets`] filter when they are all `target=level` directives, which is what deployments
/// set, else an [`EnvFilter`]. Both read those directives alike (longest target prefix wins,
/// a bare target means `trace`); only `EnvFilter` understands span and field directives
/// (`[request{request_id=…}]=debug`), and for that it runs code at every span's creation,
/// entry, exit and close, several times per request (about 2 % of a cheap request's CPU in
/// the `bench/run.sh` profiles). Exactly one of the two is `Some`.
fn level_filter(directives: Option<&str>) -> (Option<Targets>, Option<EnvFilter>) {
    let text = directives
        .filter(|d| !d.trim().is_empty())
        .unwrap_or("info");
    match text.parse::<Targets>() {
        Ok(targets) => (Some(targets), None),
        // Invalid directives are skipped (all invalid: `info`), as `from_env_lossy` does.
        Err(_) => (
            None,
            Some(
                EnvFilter::builder()
                    .with_default_directive(tracing::Level::INFO.into())
                    .parse_lossy(text),
            ),
        ),
    }
}

/// Which frontend a path belongs to, for the span (`-` for the index page and unknown paths).
#[must_use]
pub fn frontend_of(path: &str) -> &'static str {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with(';'))
    };
    if under("/api") {
        "deltacloud"
    } else if under("/cimi") {
        "cimi"
    } else if under("/ec2") {
        "ec2"
    } else {
        "-"
    }
}

/// The query string to log, if any: only for frontends whose queries carry no credentials.
#[must_use]
pub fn loggable_query<'a>(path: &str, query: &'a str) -> Option<&'a str> {
    match frontend_of(path) {
        "deltacloud" | "cimi" if !query.is_empty() => Some(query),
        _ => None,
    }
}

/// A provider string with any `user:password@` part of a URL removed, because provider strings
/// may be endpoint URLs (`drivers.md` §3).
#[must_use]
pub fn redact_provider(provider: &str) -> String {
    if let Some((scheme, rest)) = provider.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{scheme}://[REDACTED]@{}", &rest[at + 1..]);
        }
    }
    provider.to_owned()
}

/// The client address to log: what `Forwarded`/`X-Forwarded-For` name when the request has
/// either (actix's `realip_remote_addr`), else the peer's IP. Only the first case builds
/// actix's `ConnectionInfo`, which allocates several strings.
enum Client {
    Forwarded(String),
    Peer(Option<std::net::IpAddr>),
}

impl Client {
    fn of(req: &actix_web::HttpRequest) -> Self {
        use actix_web::http::header::{FORWARDED, X_FORWARDED_FOR};
        let h = req.headers();
        if h.contains_key(FORWARDED) || h.contains_key(X_FORWARDED_FOR) {
            let conn = req.connection_info();
            Self::Forwarded(conn.realip_remote_addr().unwrap_or("-").to_owned())
        } else {
            Self::Peer(req.peer_addr().map(|a| a.ip()))
        }
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Forwarded(addr) => f.write_str(addr),
            Self::Peer(Some(ip)) => write!(f, "{ip}"),
            Self::Peer(None) => f.write_str("-"),
        }
    }
}

/// When the request started, left in the request's extensions for the end-of-request event.
#[derive(Clone, Copy)]
struct Started(Instant);

/// The root span of every request, and its one access-log event.
///
/// The span holds only the request id, which every event logged while serving the request
/// carries; the request's details (method, path, loggable query, frontend, client address,
/// status, driver, provider, error, duration) are fields of the one `request` event logged
/// when it ends. Recording them on the span instead, as they become known, had the formatter
/// re-render the span's fields at each `record` and again in front of every event: about a
/// sixth of the throughput of a cheap request (`bench/run.sh`, `RUST_LOG=info` against `warn`).
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request.extensions().get::<RequestId>().copied();
        let span = match id {
            Some(id) => tracing::info_span!("request", request_id = %id),
            None => tracing::info_span!("request", request_id = ""),
        };
        let mut ext = request.extensions_mut();
        ext.insert(Started(Instant::now()));
        if let Some(id) = id {
            // The same id for the frontends, which cannot know this middleware's type.
            ext.insert(deltacloud_core::RequestId::from_u128(id.as_u128()));
        }
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let _in = span.enter();
        let res = match outcome {
            Ok(res) => res,
            Err(e) => {
                let status = e.as_response_error().status_code().as_u16();
                tracing::warn!(status, error = %e, "request failed");
                return;
            }
        };
        // Header names as constants: looking one up by `&str` parses (and, for these, allocates)
        // the name on every request.
        const DRIVER: HeaderName = HeaderName::from_static("x-deltacloud-driver");
        const PROVIDER: HeaderName = HeaderName::from_static("x-deltacloud-provider");
        let req = res.request();
        let path = req.path();
        let header = |name: &HeaderName| res.headers().get(name).and_then(|v| v.to_str().ok());
        let status = res.status();
        // Whole microseconds, so the field reads `0.481`, not `0.48100000000000004`.
        #[allow(clippy::cast_precision_loss)]
        let elapsed_ms = req
            .extensions()
            .get::<Started>()
            .map(|s| s.0.elapsed().as_micros() as f64 / 1000.0);
        let client = Client::of(req);
        let query = loggable_query(path, req.query_string());
        let provider = header(&PROVIDER).map(redact_provider);
        let error = res.response().error().map(tracing::field::display);
        macro_rules! access_log {
            ($level:ident, $msg:literal) => {
                tracing::$level!(
                    method = %req.method(),
                    path,
                    query,
                    frontend = frontend_of(path),
                    client = %client,
                    status = status.as_u16(),
                    driver = header(&DRIVER),
                    provider = provider.as_deref(),
                    error,
                    elapsed_ms,
                    $msg
                )
            };
        }
        if status.is_server_error() {
            access_log!(warn, "request failed");
        } else {
            access_log!(info, "request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_directives_get_the_cheap_filter_and_others_env_filter() {
        use tracing::Level;
        let plain = |d: Option<&str>| {
            let (targets, env) = level_filter(d);
            assert!(env.is_none(), "{d:?}");
            targets.unwrap()
        };
        for d in [None, Some(""), Some("  "), Some("info")] {
            let t = plain(d);
            assert!(t.would_enable("anything", &Level::INFO), "{d:?}");
            assert!(!t.would_enable("anything", &Level::DEBUG), "{d:?}");
        }
        let t = plain(Some("warn,deltacloud_backend_rhevm=debug"));
        assert!(t.would_enable("deltacloud_backend_rhevm::sso", &Level::DEBUG));
        assert!(!t.would_enable("deltacloud_server::logging", &Level::INFO));
        let t = plain(Some("debug,h2=info,mio=info"));
        assert!(!t.would_enable("h2::codec", &Level::DEBUG));
        assert!(t.would_enable("actix_server", &Level::DEBUG));
        // Span directives need EnvFilter.
        let (targets, env) = level_filter(Some("info,[request{path=/ec2}]=debug"));
        assert!(targets.is_none() && env.is_some());
    }

    #[test]
    fn frontends_by_path() {
        assert_eq!(frontend_of("/api"), "deltacloud");
        assert_eq!(frontend_of("/api;driver=mock/realms"), "deltacloud");
        assert_eq!(frontend_of("/api/instances"), "deltacloud");
        assert_eq!(frontend_of("/apis"), "-");
        assert_eq!(frontend_of("/cimi/cloudEntryPoint"), "cimi");
        assert_eq!(frontend_of("/ec2"), "ec2");
        assert_eq!(frontend_of("/"), "-");
    }

    #[test]
    fn ec2_queries_are_never_logged() {
        assert_eq!(
            loggable_query("/ec2", "Action=DescribeRegions&Signature=abc"),
            None
        );
        assert_eq!(loggable_query("/ec2/", "AWSAccessKeyId=AK"), None);
        assert_eq!(
            loggable_query("/api/images", "format=json"),
            Some("format=json")
        );
        assert_eq!(
            loggable_query("/cimi/machines", "$filter=x"),
            Some("$filter=x")
        );
        assert_eq!(loggable_query("/api", ""), None);
        assert_eq!(loggable_query("/elsewhere", "a=b"), None);
    }

    #[test]
    fn provider_userinfo_is_redacted() {
        assert_eq!(
            redact_provider("https://u:p@keystone:5000/v2.0;R"),
            "https://[REDACTED]@keystone:5000/v2.0;R"
        );
        assert_eq!(
            redact_provider("https://keystone:5000/v2.0;R"),
            "https://keystone:5000/v2.0;R"
        );
        assert_eq!(redact_provider("https://h/path@x"), "https://h/path@x");
        assert_eq!(redact_provider("us-east-1"), "us-east-1");
    }
}
