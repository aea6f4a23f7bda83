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
