//! What a frontend hands a driver with every call: who is asking, and which provider.

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Backend credentials as the client gave them (HTTP Basic on `/api` and `/cimi`, the access key
/// on `/ec2`) or as the server was configured (`API_USER`/`API_PASSWORD`).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: Secret::new(password),
        }
    }
}

/// The id the server gives each request. Every log event of the request carries it, and a
/// frontend whose protocol has a request id of its own (EC2's `requestId`) answers with it, so
/// the id in a client's error report finds the server's log lines. The server puts one in each
/// HTTP request's extensions; a frontend that finds none makes its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(u128);

impl RequestId {
    /// The id whose 128 bits are `bits` (a UUID's, as the server generates them).
    #[must_use]
    pub const fn from_u128(bits: u128) -> Self {
        Self(bits)
    }
}

/// The UUID form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower case, as the log shows it.
impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            b >> 96,
            (b >> 80) & 0xffff,
            (b >> 64) & 0xffff,
            (b >> 48) & 0xffff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The per-request context. Credentials are optional because the original asked for them
/// lazily: only an operation that touches the cloud needs them, and it answers
/// [`Error::auth_required`] when they are absent, which frontends turn into a challenge.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub credentials: Option<Credentials>,
    /// The provider string in effect (region, endpoint URL, …), if any. Its syntax is the
    /// driver's business (`drivers.md` §3); case is preserved.
    pub provider: Option<String>,
}

impl RequestContext {
    #[must_use]
    pub fn new(credentials: Option<Credentials>, provider: Option<String>) -> Self {
        Self {
            credentials,
            provider,
        }
    }

    /// The credentials, or the "please authenticate" error.
    pub fn credentials(&self) -> Result<&Credentials> {
        self.credentials.as_ref().ok_or_else(Error::auth_required)
    }
}

/// The driver and provider a request named in its path, as matrix parameters on a frontend's
/// root segment (`/api;driver=ec2;provider=eu-west-1/…`, `/cimi;driver=ec2/…`). The server's
/// path middleware leaves it in the request extensions; a frontend lets it win over the
/// `X-Deltacloud-Driver`/`X-Deltacloud-Provider` headers. Empty values count as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatrixSelection {
    pub driver: Option<String>,
    pub provider: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn request_ids_print_as_uuids() {
        assert_eq!(
            RequestId::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8).to_string(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
        assert_eq!(
            RequestId::from_u128(1).to_string(),
            "00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(
            RequestId::from_u128(u128::MAX).to_string(),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
    }
}
