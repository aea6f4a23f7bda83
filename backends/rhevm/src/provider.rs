//! The provider string `URL;DATACENTER_ID[;USER|ADMIN]` (`drivers.md` §3) and the API version it
//! implies.

use deltacloud_core::{Error, Result};

/// Which REST API the engine speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// RHEV-M 3.x at `…/api` (what `shared/recordings/rhevm` recorded).
    V3,
    /// oVirt 4.x at `…/ovirt-engine/api`.
    V4,
}

/// How the API version is chosen: the driver option `rhevm_api_version` (`3`, `4` or `auto`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionChoice {
    /// From the URL: `…/ovirt-engine/api` is v4 (the only place a v4 engine serves it), any
    /// other path is v3. This needs no request, so it cannot fail on a hung engine before the
    /// real call has its chance to report the fault.
    #[default]
    Auto,
    Fixed(ApiVersion),
}

impl VersionChoice {
    /// Parse the option value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Some(Self::Auto),
            "3" | "v3" => Some(Self::Fixed(ApiVersion::V3)),
            "4" | "v4" => Some(Self::Fixed(ApiVersion::V4)),
            _ => None,
        }
    }
}

/// A parsed provider string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The API root without a trailing slash: `https://engine.example.com/ovirt-engine/api`.
    pub url: String,
    /// The data center whose clusters, templates and VMs this driver shows; `None` = the first
    /// one the engine lists (what the original's client did).
    pub datacenter: Option<String>,
    /// `USER`: the filtered (user-level) API, requested with the `Filter: true` header.
    pub filtered: bool,
    pub version: ApiVersion,
}

impl Provider {
    /// Parse `URL;DATACENTER_ID[;USER|ADMIN]`. A missing provider is the original's 400.
    pub fn parse(s: Option<&str>, choice: VersionChoice) -> Result<Self> {
        let s = s
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::validation("No API provider set for this request."))?;
        let mut parts = s.split(';').map(str::trim);
        let url = parts.next().unwrap_or_default().trim_end_matches('/');
        let datacenter = parts
            .next()
            .filter(|d| !d.is_empty())
            .map(ToOwned::to_owned);
        // Anything but USER (case-insensitive) is the admin API, as in the original.
        let filtered = parts.next().is_some_and(|m| m.eq_ignore_ascii_case("USER"));
        if parts.next().is_some() {
            return Err(Error::validation(format!(
                "Invalid rhevm provider '{s}': expected URL;DATACENTER_ID;USER|ADMIN"
            )));
        }
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            return Err(Error::validation(format!(
                "Invalid rhevm provider URL '{url}': expected http(s)://HOST[:PORT]/ovirt-engine/api or .../api"
            )));
        }
        let version = match choice {
            VersionChoice::Fixed(v) => v,
            VersionChoice::Auto if lower.ends_with("/ovirt-engine/api") => ApiVersion::V4,
            VersionChoice::Auto => ApiVersion::V3,
        };
        Ok(Self {
            url: url.to_owned(),
            datacenter,
            filtered,
            version,
        })
    }

    /// Is the engine reached over TLS?
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.url.to_ascii_lowercase().starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltacloud_core::ErrorKind;

    #[test]
    fn parses_the_original_format() {
        let p = Provider::parse(
            Some("https://rhevm.example.com:8443/api;645e425e-66fe-4ac9-8874-537bd10ef08d;USER"),
            VersionChoice::Auto,
        )
        .unwrap();
        assert_eq!(p.url, "https://rhevm.example.com:8443/api");
        assert_eq!(
            p.datacenter.as_deref(),
            Some("645e425e-66fe-4ac9-8874-537bd10ef08d")
        );
        assert!(p.filtered);
        assert_eq!(p.version, ApiVersion::V3);
        assert!(p.is_https());

        let p = Provider::parse(
            Some("http://127.0.0.1:1/ovirt-engine/api/;dc;admin"),
            VersionChoice::Auto,
        )
        .unwrap();
        assert_eq!(p.url, "http://127.0.0.1:1/ovirt-engine/api");
        assert!(!p.filtered);
        assert_eq!(p.version, ApiVersion::V4);

        let p = Provider::parse(
            Some("http://h/ovirt-engine/api"),
            VersionChoice::Fixed(ApiVersion::V3),
        )
        .unwrap();
        assert_eq!(p.datacenter, None);
        assert_eq!(p.version, ApiVersion::V3);
    }

    #[test]
    fn rejects_bad_strings() {
        let e = Provider::parse(None, VersionChoice::Auto).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert_eq!(e.message(), "No API provider set for this request.");
        for bad in ["ftp://x/api", "http:///api", "x;y;z;w", "https://"] {
            assert_eq!(
                Provider::parse(Some(bad), VersionChoice::Auto)
                    .unwrap_err()
                    .kind(),
                ErrorKind::Validation,
                "{bad}"
            );
        }
        assert_eq!(
            VersionChoice::parse("4"),
            Some(VersionChoice::Fixed(ApiVersion::V4))
        );
        assert_eq!(VersionChoice::parse("5"), None);
    }
}
