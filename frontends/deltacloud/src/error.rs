//! The one place where errors become responses (`deltacloud-api.md` §7): a core [`Error`] or a
//! framework decision (unknown path, missing instance, …) turns into an [`ApiError`], and
//! [`render`] writes the §7.1 error document in the negotiated format.
//!
//! Not everything that fails is an error document: the plain-text 400 of parameter validation,
//! the 412 of a missing capability, the empty 406 and the missing-`Host` 400 are built by the
//! dispatcher as plain replies, because that is what the original sent.

use crate::html;
use crate::json::ErrorJson;
use crate::negotiate::Format;
use crate::response::Reply;
use crate::xml::{self, ErrorXml};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use deltacloud_core::{Error, ErrorKind};

/// An error on its way to becoming an error document.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The original's exception class, shown as `error` in JSON.
    pub class: &'static str,
    /// No credentials were sent and the operation needs some: answer with a Basic challenge.
    pub challenge: bool,
}

const VALIDATION: &str = "Deltacloud::Exceptions::ValidationFailure";
const AUTH: &str = "Deltacloud::Exceptions::AuthenticationFailure";
const FORBIDDEN: &str = "Deltacloud::Exceptions::ForbiddenError";
const NOT_FOUND: &str = "Deltacloud::Exceptions::ObjectNotFound";
const NOT_ALLOWED: &str = "Deltacloud::Exceptions::MethodNotAllowed";
const CONFLICT: &str = "Deltacloud::Exceptions::Conflict";
const BACKEND: &str = "Deltacloud::Exceptions::BackendError";
const NOT_IMPLEMENTED: &str = "Deltacloud::Exceptions::NotImplemented";
const PROVIDER: &str = "Deltacloud::Exceptions::ProviderError";
const TIMEOUT: &str = "Deltacloud::Exceptions::ProviderTimeout";
const UNAVAILABLE: &str = "Deltacloud::Exceptions::ServiceUnavailable";

/// The generic message for a status (§7.3): what the framework says when it decides the status
/// itself, and what every error on an index route says.
pub(crate) fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Resource Conflict",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        501 => "Not Supported",
        502 => "Backend Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// Status and exception class of a core error kind (§7.3).
fn classify(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::AuthRequired | ErrorKind::AuthFailed => (StatusCode::UNAUTHORIZED, AUTH),
        ErrorKind::Validation => (StatusCode::BAD_REQUEST, VALIDATION),
        ErrorKind::Forbidden => (StatusCode::FORBIDDEN, FORBIDDEN),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, NOT_FOUND),
        ErrorKind::InvalidState => (StatusCode::METHOD_NOT_ALLOWED, NOT_ALLOWED),
        ErrorKind::Conflict => (StatusCode::CONFLICT, CONFLICT),
        ErrorKind::NotSupported => (StatusCode::NOT_IMPLEMENTED, NOT_IMPLEMENTED),
        ErrorKind::ProviderError => (StatusCode::BAD_GATEWAY, PROVIDER),
        ErrorKind::ProviderTimeout => (StatusCode::GATEWAY_TIMEOUT, TIMEOUT),
        ErrorKind::ProviderThrottled => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, BACKEND),
    }
}

fn class_of_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => VALIDATION,
        401 => AUTH,
        403 => FORBIDDEN,
        404 => NOT_FOUND,
        405 => NOT_ALLOWED,
        409 => CONFLICT,
        501 => NOT_IMPLEMENTED,
        502 => PROVIDER,
        503 => UNAVAILABLE,
        504 => TIMEOUT,
        _ => BACKEND,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, class) = classify(e.kind());
        if status.is_server_error() {
            // The cause may hold provider details; it goes to the log, never to the client.
            tracing::error!(class, message = e.message(), cause = ?e.cause().map(ToString::to_string), "backend error");
        }
        let challenge = e.kind() == ErrorKind::AuthRequired;
        let message = if e.message().is_empty() {
            reason(status).to_owned()
        } else {
            e.message().to_owned()
        };
        Self {
            status,
            message,
            class,
            challenge,
        }
    }
}

impl ApiError {
    /// A status the framework decides, with the generic message.
    pub(crate) fn status(status: StatusCode) -> Self {
        Self {
            status,
            message: reason(status).to_owned(),
            class: class_of_status(status),
            challenge: false,
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND)
    }

    pub(crate) fn bad_request(message: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message,
            class: VALIDATION,
            challenge: false,
        }
    }

    pub(crate) fn payload_too_large() -> Self {
        Self::status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    pub(crate) fn internal(message: String) -> Self {
        tracing::error!(%message, "internal error in the /api frontend");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
            class: BACKEND,
            challenge: false,
        }
    }

    /// Index routes report every error with the generic reason (§7.2).
    #[must_use]
    pub(crate) fn generic(mut self) -> Self {
        reason(self.status).clone_into(&mut self.message);
        self
    }
}

/// What an error document needs to know about the request.
pub(crate) struct ErrorScope<'a> {
    /// The request path without matrix parameters and query.
    pub url: &'a str,
    pub driver: &'a str,
    pub provider: Option<&'a str>,
    /// Request parameters, secrets already removed.
    pub params: Vec<(&'a str, &'a str)>,
    /// The Basic realm, `<driver>-deltacloud@<hostname>`, or `None` when no challenge may be sent
    /// (server-side fixed credentials).
    pub realm: Option<String>,
    pub format: Format,
    /// Base URL for the HTML page's links.
    pub base: &'a str,
}

/// Render `err` as a §7.1 error document.
pub(crate) fn render(err: &ApiError, scope: &ErrorScope<'_>) -> Reply {
    let status = err.status.as_u16();
    let provider = scope.provider.unwrap_or("default");
    let body: Result<Vec<u8>, ApiError> = match scope.format {
        Format::Json => crate::json::render(&ErrorJson {
            code: status,
            message: &err.message,
            error: err.class,
        }),
        Format::Html => Ok(html::error_page(err, scope).into_bytes()),
        _ => xml::render(
            &ErrorXml::new(
                status,
                scope.url,
                scope.driver,
                provider,
                &err.message,
                &scope.params,
            ),
            true,
        )
        .map(String::into_bytes),
    };
    let (body, format) = match body {
        Ok(b) => (b, scope.format),
        // Serializing these small structs cannot really fail; if it did, say so in plain text.
        Err(e) => (e.message.into_bytes(), Format::Html),
    };
    let mut reply = Reply::new(err.status).body(body, format.content_type());
    if err.challenge
        && let Some(realm) = &scope.realm
        && let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\""))
    {
        reply = reply.header(WWW_AUTHENTICATE, v);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses_and_classes() {
        let cases = [
            (Error::auth_required(), 401, AUTH, true),
            (
                Error::auth_failed("Authentication Failure"),
                401,
                AUTH,
                false,
            ),
            (Error::validation("x"), 400, VALIDATION, false),
            (Error::forbidden("x"), 403, FORBIDDEN, false),
            (Error::not_found("x"), 404, NOT_FOUND, false),
            (Error::invalid_state("x"), 405, NOT_ALLOWED, false),
            (Error::conflict("x"), 409, CONFLICT, false),
            (Error::not_supported("x"), 501, NOT_IMPLEMENTED, false),
            (Error::provider("x"), 502, PROVIDER, false),
            (Error::provider_timeout("x"), 504, TIMEOUT, false),
            (Error::internal("x"), 500, BACKEND, false),
        ];
        for (e, status, class, challenge) in cases {
            let a = ApiError::from(e);
            assert_eq!(
                (a.status.as_u16(), a.class, a.challenge),
                (status, class, challenge)
            );
        }
    }

    #[test]
    fn generic_messages() {
        let e = ApiError::from(Error::provider("ProviderErrorMessage"));
        assert_eq!(e.message, "ProviderErrorMessage");
        assert_eq!(e.generic().message, "Backend Server Error");
        assert_eq!(
            ApiError::from(Error::not_supported("x")).generic().message,
            "Not Supported"
        );
        assert_eq!(ApiError::not_found().message, "Not Found");
        assert_eq!(ApiError::status(StatusCode::FORBIDDEN).class, FORBIDDEN);
        assert_eq!(
            ApiError::status(StatusCode::CONFLICT).message,
            "Resource Conflict"
        );
    }
}
