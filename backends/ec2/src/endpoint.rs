//! From the provider string to the endpoint the backend calls (`drivers.md` §3).
//!
//! * `ec2`: a region id (`us-east-1`, …) looked up in the driver catalogue
//!   (`fixtures/ec2/endpoints.yaml`, a copy of the original's `config/drivers/ec2.yaml`); an
//!   endpoint URL (`http://127.0.0.1:5000`, optionally `;REGION` for the signing scope), which is
//!   how EC2-compatible clouds and local emulators are reached; any other string is used as the
//!   endpoint host itself, as the original did. No provider means `us-east-1`.
//! * `eucalyptus`: `ec2=HOST[:PORT];s3=HOST[:PORT]` (port 8773 by default) meaning
//!   `http://HOST:PORT/services/Eucalyptus`, or an endpoint URL. A provider is required.

use deltacloud_core::{Error, ErrorKind, Result};
use url::Url;

/// The region used when the provider names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// `(region, ec2 endpoint host)` in the catalogue's order (`fixtures/ec2/endpoints.yaml`).
pub const EC2_ENDPOINTS: &[(&str, &str)] = &[
    ("us-west-1", "ec2.us-west-1.amazonaws.com"),
    ("us-west-2", "ec2.us-west-2.amazonaws.com"),
    ("ap-southeast-1", "ec2.ap-southeast-1.amazonaws.com"),
    ("ap-northeast-1", "ec2.ap-northeast-1.amazonaws.com"),
    ("eu-west-1", "ec2.eu-west-1.amazonaws.com"),
    ("us-east-1", "ec2.us-east-1.amazonaws.com"),
    ("sa-east-1", "ec2.sa-east-1.amazonaws.com"),
];

/// The catalogue's other endpoint kinds, listed by `/api/drivers`; the S3 hosts are where
/// buckets and blobs go ([`crate::s3`]).
pub const OTHER_ENDPOINTS: &[(&str, &[(&str, &str)])] = &[
    (
        "s3",
        &[
            ("us-west-1", "s3-us-west-1.amazonaws.com"),
            ("us-west-2", "s3-us-west-2.amazonaws.com"),
            ("ap-southeast-1", "s3-ap-southeast-1.amazonaws.com"),
            ("ap-northeast-1", "s3-ap-northeast-1.amazonaws.com"),
            ("eu-west-1", "s3-eu-west-1.amazonaws.com"),
            ("us-east-1", "s3.amazonaws.com"),
            ("sa-east-1", "s3-sa-east-1.amazonaws.com"),
        ],
    ),
    (
        "elb",
        &[
            ("us-west-1", "elasticloadbalancing.us-west-1.amazonaws.com"),
            ("us-west-2", "elasticloadbalancing.us-west-2.amazonaws.com"),
            (
                "ap-southeast-1",
                "elasticloadbalancing.ap-southeast-1.amazonaws.com",
            ),
            (
                "ap-northeast-1",
                "elasticloadbalancing.ap-northeast-1.amazonaws.com",
            ),
            ("eu-west-1", "elasticloadbalancing.eu-west-1.amazonaws.com"),
            ("us-east-1", "elasticloadbalancing.us-east-1.amazonaws.com"),
            ("sa-east-1", "elasticloadbalancing.sa-east-1.amazonaws.com"),
        ],
    ),
    (
        "mon",
        &[
            ("us-west-1", "monitoring.us-west-1.amazonaws.com"),
            ("us-west-2", "monitoring.us-west-2.amazonaws.com"),
            ("ap-southeast-1", "monitoring.ap-southeast-1.amazonaws.com"),
            ("ap-northeast-1", "monitoring.ap-northeast-1.amazonaws.com"),
            ("eu-west-1", "monitoring.eu-west-1.amazonaws.com"),
            ("us-east-1", "monitoring.us-east-1.amazonaws.com"),
            ("sa-east-1", "monitoring.sa-east-1.amazonaws.com"),
        ],
    ),
];

/// Eucalyptus' default Query API port.
pub const EUCALYPTUS_PORT: u16 = 8773;

/// Which cloud a driver speaks to; decides provider syntax and a few behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Ec2,
    Eucalyptus,
}

/// Where to send EC2 Query API calls and how to sign them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: Url,
    /// The SigV4 scope region.
    pub region: String,
}

impl Endpoint {
    /// `host[:port]` as the `Host` header carries it (the port only when not the scheme's
    /// default), which is what SigV4 must sign.
    #[must_use]
    pub fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }
}

fn bad_provider(p: &str, why: &str) -> Error {
    Error::validation(format!("Invalid provider '{p}': {why}"))
}

/// Parse `http(s)://…[;REGION]`.
fn from_url(p: &str, default_region: &str) -> Result<Endpoint> {
    let (raw, region) = match p.split_once(';') {
        Some((u, r)) if !r.trim().is_empty() => (u, Some(r.trim().to_owned())),
        Some((u, _)) => (u, None),
        None => (p, None),
    };
    let url = Url::parse(raw.trim()).map_err(|e| bad_provider(p, &e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad_provider(p, "the URL has no host"));
    }
    let region = region.unwrap_or_else(|| {
        // `ec2.REGION.amazonaws.com` names its region; anything else signs for the default.
        url.host_str()
            .and_then(|h| h.strip_prefix("ec2."))
            .and_then(|h| h.strip_suffix(".amazonaws.com"))
            .unwrap_or(default_region)
            .to_owned()
    });
    Ok(Endpoint { url, region })
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Resolve `provider` for `flavor`.
///
/// # Errors
/// A validation error (400) naming the provider when it cannot be an endpoint.
pub fn resolve(flavor: Flavor, provider: Option<&str>) -> Result<Endpoint> {
    let p = provider.map(str::trim).filter(|p| !p.is_empty());
    match flavor {
        Flavor::Ec2 => {
            let p = p.unwrap_or(DEFAULT_REGION);
            if p.starts_with("http://") || p.starts_with("https://") {
                return from_url(p, DEFAULT_REGION);
            }
            if let Some((region, host)) = EC2_ENDPOINTS.iter().find(|(r, _)| *r == p) {
                return from_url(&format!("https://{host}/"), region);
            }
            if !is_host(p) {
                return Err(bad_provider(
                    p,
                    "expected a region id, an endpoint host or an endpoint URL",
                ));
            }
            from_url(&format!("https://{p}/"), DEFAULT_REGION)
        }
        Flavor::Eucalyptus => {
            let Some(p) = p else {
                return Err(Error::validation("No API provider set for this request."));
            };
            if p.starts_with("http://") || p.starts_with("https://") {
                return from_url(p, "eucalyptus");
            }
            // `ec2=HOST[:PORT];s3=HOST[:PORT]`, or a bare `HOST[:PORT]` meaning the ec2 part.
            let ec2 = p
                .split(';')
                .find_map(|part| part.trim().strip_prefix("ec2="))
                .or_else(|| (!p.contains('=')).then_some(p))
                .map(str::trim)
                .filter(|h| is_host(h))
                .ok_or_else(|| {
                    bad_provider(
                        p,
                        "expected ec2=HOST[:PORT];s3=HOST[:PORT] or an endpoint URL",
                    )
                })?;
            let authority = if ec2.rsplit_once(':').is_some_and(|(_, port)| {
                !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())
            }) {
                ec2.to_owned()
            } else {
                format!("{ec2}:{EUCALYPTUS_PORT}")
            };
            from_url(
                &format!("http://{authority}/services/Eucalyptus"),
                "eucalyptus",
            )
        }
    }
}

/// The endpoint of one of the catalogue's other services (`elb`, `mon`) for `provider`: a
/// region id uses that region's host; an endpoint URL (an emulator, a compatible cloud) serves
/// every service at the same URL; an explicit host names only the EC2 endpoint, so the region
/// default is used for the others.
///
/// # Errors
/// A validation error for a provider [`resolve`] refuses; not-supported for Eucalyptus, whose
/// clouds the original never asked for these services.
pub fn resolve_other(flavor: Flavor, provider: Option<&str>, kind: &str) -> Result<Endpoint> {
    let ep = resolve(flavor, provider)?;
    let p = provider.map(str::trim).filter(|p| !p.is_empty());
    if p.is_some_and(|p| p.starts_with("http://") || p.starts_with("https://")) {
        return Ok(ep);
    }
    if flavor == Flavor::Eucalyptus {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!("The eucalyptus driver has no '{kind}' endpoint"),
        ));
    }
    let host = OTHER_ENDPOINTS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, hosts)| hosts.iter().find(|(r, _)| *r == ep.region))
        .map(|(_, h)| *h)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                format!("No '{kind}' endpoint is known for region '{}'", ep.region),
            )
        })?;
    let url = Url::parse(&format!("https://{host}/"))
        .map_err(|e| Error::internal("Bad catalogue endpoint").with_cause(e))?;
    Ok(Endpoint {
        url,
        region: ep.region,
    })
}

/// Refuse an HTTPS endpoint when this build has no TLS, with a message saying how to get it
/// (instead of reqwest's opaque "scheme not supported").
///
/// # Errors
/// 501 when the endpoint needs TLS and the `tls` feature is off.
pub fn check_tls(ep: &Endpoint) -> Result<()> {
    if ep.url.scheme() == "https" && !cfg!(feature = "tls") {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "The endpoint {} needs HTTPS, and this build of the ec2 backend has no TLS (enable the `tls` feature of deltacloud-backend-ec2)",
                ep.url
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: Flavor, p: Option<&str>) -> Endpoint {
        match resolve(f, p) {
            Ok(e) => e,
            Err(e) => panic!("{p:?}: {e}"),
        }
    }

    #[test]
    fn regions_urls_and_hosts() {
        let e = ok(Flavor::Ec2, None);
        assert_eq!(e.url.as_str(), "https://ec2.us-east-1.amazonaws.com/");
        assert_eq!(e.region, "us-east-1");
        let e = ok(Flavor::Ec2, Some("eu-west-1"));
        assert_eq!(e.url.as_str(), "https://ec2.eu-west-1.amazonaws.com/");
        assert_eq!(e.region, "eu-west-1");
        let e = ok(Flavor::Ec2, Some("http://127.0.0.1:5000"));
        assert_eq!(e.authority(), "127.0.0.1:5000");
        assert_eq!(e.region, "us-east-1");
        let e = ok(Flavor::Ec2, Some("http://127.0.0.1:5000;eu-west-1"));
        assert_eq!(e.region, "eu-west-1");
        assert_eq!(e.url.as_str(), "http://127.0.0.1:5000/");
        let e = ok(
            Flavor::Ec2,
            Some("https://ec2.ap-northeast-1.amazonaws.com"),
        );
        assert_eq!(e.region, "ap-northeast-1");
        assert_eq!(e.authority(), "ec2.ap-northeast-1.amazonaws.com");
        let e = ok(Flavor::Ec2, Some("ec2.example.org"));
        assert_eq!(e.url.as_str(), "https://ec2.example.org/");
        for bad in ["not a host", "http://", "a/b"] {
            let err = resolve(Flavor::Ec2, Some(bad)).err();
            assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Validation), "{bad}");
        }
    }

    #[test]
    fn eucalyptus_providers() {
        let e = ok(Flavor::Eucalyptus, Some("ec2=10.0.0.1;s3=10.0.0.2"));
        assert_eq!(e.url.as_str(), "http://10.0.0.1:8773/services/Eucalyptus");
        let e = ok(Flavor::Eucalyptus, Some("ec2=euca.local:8080;s3=x"));
        assert_eq!(e.url.as_str(), "http://euca.local:8080/services/Eucalyptus");
        let e = ok(Flavor::Eucalyptus, Some("http://127.0.0.1:5000"));
        assert_eq!(e.url.as_str(), "http://127.0.0.1:5000/");
        let missing = resolve(Flavor::Eucalyptus, None).err();
        assert_eq!(missing.map(|e| e.kind()), Some(ErrorKind::Validation));
        assert!(resolve(Flavor::Eucalyptus, Some("s3=only")).is_err());
    }

    /// The table above is the catalogue file, entry for entry.
    #[test]
    fn table_matches_the_catalogue_copy() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/ec2/endpoints.yaml"
        ))
        .unwrap_or_default();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap_or_default();
        let eps = &doc[":ec2"][":entrypoints"];
        let kind = |k: &str| -> Vec<(String, String)> {
            eps[k]
                .as_mapping()
                .map(|m| {
                    m.iter()
                        .map(|(a, b)| {
                            (
                                a.as_str().unwrap_or_default().to_owned(),
                                b.as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let own = |t: &[(&str, &str)]| -> Vec<(String, String)> {
            t.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(kind("ec2"), own(EC2_ENDPOINTS));
        for (k, t) in OTHER_ENDPOINTS {
            assert_eq!(kind(k), own(t), "{k}");
        }
    }
}
