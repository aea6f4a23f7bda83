//! Matrix parameters (`;name=value` inside path segments, `deltacloud-api.md` §4.2).
//!
//! [`MatrixParams`] strips them from `/api` paths *before routing* (so `/api;driver=ec2/realms`
//! routes like `/api/realms`) and leaves what it found in the request extensions as
//! [`MatrixInfo`]:
//!
//! * the `api` segment's `driver` and `provider` select the driver for this request, for every
//!   method (the original dropped them on `POST`, a defect);
//! * the last segment's parameters become ordinary request parameters (the spec's SHOULD), so the
//!   hrefs the API itself advertises work: `POST /api/instances;image_id=img1`,
//!   `POST /api/images;instance_id=inst1`, `POST /api/instances/inst1/run;id=inst1`.
//!
//! The rewrite follows actix-web's own `NormalizePath`: replace the head's URI and update the
//! router's path, keeping the query string.

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Uri;
use actix_web::http::uri::PathAndQuery;
use actix_web::{Error, HttpMessage};
use futures_util::future::{Ready, ready};
use percent_encoding::percent_decode_str;

/// What the middleware found in an `/api` path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MatrixInfo {
    /// `;driver=` on the `api` segment.
    pub driver: Option<String>,
    /// `;provider=` on the `api` segment (case preserved: provider strings may be URLs).
    pub provider: Option<String>,
    /// Matrix parameters of the last path segment (unless that segment is `api` itself).
    pub params: Vec<(String, String)>,
}

/// Is `path` under `/api` (or `/cimi`, which selects its driver the same way)?
fn under_api(path: &str) -> bool {
    ["/api", "/cimi"].iter().any(|root| {
        path.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with(';'))
    })
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Split `path` into the path without matrix parameters and what they said. `None` when the path
/// is not under `/api` or has no `;` (the fast path: nothing is allocated).
pub(crate) fn strip(path: &str) -> Option<(String, MatrixInfo)> {
    if !path.contains(';') || !under_api(path) {
        return None;
    }
    let mut clean = String::with_capacity(path.len());
    let mut info = MatrixInfo::default();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            clean.push('/');
        }
        let mut parts = seg.split(';');
        let name = parts.next().unwrap_or_default();
        clean.push_str(name);
        let is_api = i == 1 && (name == "api" || name == "cimi");
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            if k.is_empty() {
                continue;
            }
            let (k, v) = (decode(k), decode(v));
            if is_api {
                match k.as_str() {
                    "driver" => info.driver = Some(v),
                    "provider" => info.provider = Some(v),
                    _ => {}
                }
            } else if i == last {
                info.params.push((k, v));
            }
        }
    }
    Some((clean, info))
}

/// Middleware stripping matrix parameters from `/api` paths before routing; see the module docs.
/// Register it on the `App` (`App::new().wrap(MatrixParams)`) so it runs before the router.
/// Paths outside `/api` and `/cimi` are not touched.
#[derive(Clone, Copy, Debug, Default)]
pub struct MatrixParams;

impl<S, B> Transform<S, ServiceRequest> for MatrixParams
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = MatrixParamsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MatrixParamsMiddleware { service }))
    }
}

/// The service [`MatrixParams`] wraps around the app.
pub struct MatrixParamsMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for MatrixParamsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        rewrite(&mut req);
        self.service.call(req)
    }
}

fn rewrite(req: &mut ServiceRequest) {
    let Some((clean, info)) = strip(req.head().uri.path()) else {
        return;
    };
    let mut parts = req.head().uri.clone().into_parts();
    let pq = match parts.path_and_query.as_ref().and_then(PathAndQuery::query) {
        Some(q) => format!("{clean}?{q}"),
        None => clean,
    };
    // The new path is a subsequence of a valid one, so these conversions cannot fail in
    // practice; if they ever did, the request is routed unchanged rather than rejected here.
    let Ok(pq) = PathAndQuery::from_maybe_shared(pq) else {
        return;
    };
    parts.path_and_query = Some(pq);
    let Ok(uri) = Uri::from_parts(parts) else {
        return;
    };
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
    // The same selection in core's type, for frontends that cannot name `MatrixInfo` (`/cimi`).
    req.extensions_mut()
        .insert(deltacloud_core::MatrixSelection {
            driver: info.driver.clone(),
            provider: info.provider.clone(),
        });
    req.extensions_mut().insert(info);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn api_segment_selects_driver_and_provider() {
        let (p, i) = strip("/api;driver=ec2;provider=us-west-1").unwrap();
        assert_eq!(p, "/api");
        assert_eq!(i.driver.as_deref(), Some("ec2"));
        assert_eq!(i.provider.as_deref(), Some("us-west-1"));
        assert!(
            i.params.is_empty(),
            "api-segment params are not ordinary params"
        );

        let (p, i) = strip("/api;driver=ec2/hardware_profiles").unwrap();
        assert_eq!(p, "/api/hardware_profiles");
        assert_eq!(i.driver.as_deref(), Some("ec2"));
        assert_eq!(i.provider, None);
    }

    #[test]
    fn provider_case_and_encoding_preserved() {
        let (_, i) = strip("/api;provider=https%3A%2F%2FEngine.example.com%2Fapi/realms").unwrap();
        assert_eq!(
            i.provider.as_deref(),
            Some("https://Engine.example.com/api")
        );
    }

    #[test]
    fn last_segment_params_are_ordinary() {
        let (p, i) = strip("/api/instances;image_id=img1").unwrap();
        assert_eq!(p, "/api/instances");
        assert_eq!(i.params, vec![("image_id".to_owned(), "img1".to_owned())]);
        let (p, i) = strip("/api/instances/inst1/run;id=inst1").unwrap();
        assert_eq!(p, "/api/instances/inst1/run");
        assert_eq!(i.params, vec![("id".to_owned(), "inst1".to_owned())]);
        // Middle segments are stripped but not turned into parameters.
        let (p, i) = strip("/api/instances;x=1/inst1").unwrap();
        assert_eq!(p, "/api/instances/inst1");
        assert!(i.params.is_empty());
    }

    #[test]
    fn odd_forms() {
        let (p, i) = strip("/api/keys;flag;=v;a=b=c").unwrap();
        assert_eq!(p, "/api/keys");
        assert_eq!(
            i.params,
            vec![
                ("flag".to_owned(), String::new()),
                ("a".to_owned(), "b=c".to_owned())
            ]
        );
        let (p, _) = strip("/api/;x=1").unwrap();
        assert_eq!(p, "/api/");
    }

    #[test]
    fn other_paths_untouched() {
        assert_eq!(strip("/api/realms"), None);
        let (p, i) = strip("/cimi;driver=ec2;provider=eu/machines").unwrap();
        assert_eq!(p, "/cimi/machines");
        assert_eq!(i.driver.as_deref(), Some("ec2"));
        assert_eq!(i.provider.as_deref(), Some("eu"));
        assert_eq!(strip("/cimix;driver=ec2"), None);
        assert_eq!(strip("/apix;driver=ec2"), None);
        assert_eq!(strip("/ec2;a=b"), None);
        assert!(under_api("/api"));
        assert!(under_api("/api/"));
        assert!(!under_api("/apis"));
    }

    fn token() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.-]{1,8}"
    }

    // Values may hold anything; they travel percent-encoded when they would break the syntax.
    fn value() -> impl Strategy<Value = String> {
        "[ -~é]{0,10}"
    }

    fn enc(s: &str) -> String {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    proptest! {
        /// For any path of segments with matrix parameters: the stripped path is the segment
        /// names joined by `/`, the api segment's driver/provider and the last segment's
        /// parameters are recovered exactly (decoded), and the middle ones vanish.
        #[test]
        fn strip_recovers_everything(
            segs in proptest::collection::vec((token(), proptest::collection::vec((token(), value()), 0..3)), 0..4),
            driver in proptest::option::of(token()),
            provider in proptest::option::of(value()),
        ) {
            let mut path = String::from("/api");
            if let Some(d) = &driver { path.push_str(&format!(";driver={d}")); }
            if let Some(p) = &provider { path.push_str(&format!(";provider={}", enc(p))); }
            let mut want_clean = String::from("/api");
            for (name, params) in &segs {
                path.push('/');
                path.push_str(name);
                want_clean.push('/');
                want_clean.push_str(name);
                for (k, v) in params {
                    path.push_str(&format!(";{k}={}", enc(v)));
                }
            }
            match strip(&path) {
                None => prop_assert!(!path.contains(';')),
                Some((clean, info)) => {
                    prop_assert_eq!(clean, want_clean);
                    prop_assert_eq!(info.driver, driver);
                    prop_assert_eq!(info.provider, provider);
                    let want_params = segs.last().map(|(_, p)| p.clone()).unwrap_or_default();
                    prop_assert_eq!(info.params, want_params);
                }
            }
        }

        /// Stripping is idempotent and never lengthens the path.
        #[test]
        fn strip_is_idempotent(path in "/api(;[a-z=]{0,6})?(/[a-z;=%0-9]{0,8}){0,4}") {
            if let Some((clean, _)) = strip(&path) {
                prop_assert!(clean.len() <= path.len());
                prop_assert!(!clean.contains(';'));
                prop_assert_eq!(strip(&clean), None);
            }
        }
    }
}
