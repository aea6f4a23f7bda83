//! One error type for the whole gateway.
//!
//! Every error records *what* went wrong ([`ErrorKind`]) and, derived from that, *who is at fault*
//! ([`Fault`]): the client, the provider behind a backend, or the gateway itself. Each frontend has
//! exactly one function that maps an [`Error`] to its protocol's status code and error body; no
//! handler builds an error body by hand. (Pingora's `ErrorSource` and Garage's `ApiError` work the
//! same way.)

use std::fmt;

/// Who caused an error. Frontends derive 4xx (client) from 5xx (provider: 502/504, us: 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bad input, missing or wrong credentials, a missing resource, a forbidden state change.
    Client,
    /// The cloud behind the backend failed, timed out or answered garbage.
    Provider,
    /// A bug or an unexpected condition inside the gateway.
    Internal,
}

/// What went wrong. The set mirrors the statuses Deltacloud clients distinguish
/// (`deltacloud-api.md` §7.3), plus the split between "no credentials" and "wrong credentials"
/// that decides whether a `WWW-Authenticate` challenge is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The operation needs credentials and the request carried none (401 with a challenge).
    AuthRequired,
    /// The credentials were checked and refused (401 without a challenge).
    AuthFailed,
    /// The request's parameters are invalid (400).
    Validation,
    /// The operation conflicts with the resource as it is (403 in Deltacloud: key exists,
    /// bucket not empty, address in use; action on a missing instance).
    Forbidden,
    /// The resource does not exist (404).
    NotFound,
    /// The instance's current state does not allow the action (405).
    InvalidState,
    /// The provider reports a conflicting resource (409).
    Conflict,
    /// The driver does not offer this operation at all (501; the `/api` frontend answers 412
    /// before calling when the capability is not declared).
    NotSupported,
    /// The provider answered with an error, refused the connection or sent garbage (502).
    ProviderError,
    /// The provider did not answer in time (504).
    ProviderTimeout,
    /// The provider refused the request because the caller exceeds its request rate
    /// (EC2 `RequestLimitExceeded`, `Throttling`); retrying later may succeed (503).
    ProviderThrottled,
    /// A bug or unexpected condition inside the gateway (500).
    Internal,
}

impl ErrorKind {
    /// Who is at fault for errors of this kind.
    #[must_use]
    pub const fn fault(self) -> Fault {
        match self {
            Self::AuthRequired
            | Self::AuthFailed
            | Self::Validation
            | Self::Forbidden
            | Self::NotFound
            | Self::InvalidState
            | Self::Conflict
            | Self::NotSupported => Fault::Client,
            Self::ProviderError | Self::ProviderTimeout | Self::ProviderThrottled => {
                Fault::Provider
            }
            Self::Internal => Fault::Internal,
        }
    }
}

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The gateway's error: a kind, a human-readable message meant for the client, and an optional
/// cause kept for logs only (it may contain provider details, never credentials).
pub struct Error {
    kind: ErrorKind,
    message: String,
    cause: Option<Cause>,
}

/// Result alias used by every driver method.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a client-facing message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// Attach the underlying cause (for logs; never rendered to clients).
    #[must_use]
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    #[must_use]
    pub const fn fault(&self) -> Fault {
        self.kind.fault()
    }

    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    #[must_use]
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.cause.as_deref()
    }

    /// The operation needs credentials that the request did not carry.
    #[must_use]
    pub fn auth_required() -> Self {
        Self::new(ErrorKind::AuthRequired, "Unauthorized")
    }

    /// The credentials were refused.
    pub fn auth_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AuthFailed, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidState, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// The driver lacks `capability` (e.g. `create_firewall`).
    pub fn not_supported(capability: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::NotSupported,
            format!("Operation '{capability}' is not supported by this driver"),
        )
    }

    pub fn provider(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ProviderError, message)
    }

    pub fn provider_timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ProviderTimeout, message)
    }

    /// The provider throttled the caller; the message is the provider's own.
    pub fn provider_throttled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ProviderThrottled, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(c) = &self.cause {
            d.field("cause", &format_args!("{c}"));
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)?;
        if let Some(c) = &self.cause {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_follows_kind() {
        assert_eq!(Error::auth_required().fault(), Fault::Client);
        assert_eq!(Error::provider("x").fault(), Fault::Provider);
        assert_eq!(Error::provider_timeout("x").fault(), Fault::Provider);
        assert_eq!(Error::internal("x").fault(), Fault::Internal);
    }

    #[test]
    fn cause_is_kept_but_not_in_message() {
        let e =
            Error::provider("Backend Server Error").with_cause(std::io::Error::other("refused"));
        assert_eq!(e.message(), "Backend Server Error");
        assert!(e.to_string().contains("refused"));
        assert!(std::error::Error::source(&e).is_some());
    }
}
