//! EC2 errors: one type, one mapping from core errors, one renderer (`ec2-frontend.md` B5).
//!
//! The wire shape is the public EC2 one, `<Response><Errors><Error><Code/><Message/></Error>
//! </Errors><RequestID/></Response>`, and nothing else goes into `<Error>`: SDKs read exactly
//! `Code` and `Message`. The original's documents lacked the `<Error>` wrapper (A6), which real
//! clients cannot parse, so we follow Part B.

use deltacloud_core::{Error, ErrorKind};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The kind of resource an action works on; it picks the resource-specific error codes
/// (`InvalidInstanceID.NotFound`, `InvalidKeyPair.Duplicate`, …) for core errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Instance,
    Image,
    KeyPair,
    Volume,
    Snapshot,
    Group,
    Address,
    Zone,
    /// Anything without specific codes (regions, tags, hardware).
    Other,
}

impl Res {
    /// The `*.NotFound` code of this resource.
    #[must_use]
    pub const fn not_found_code(self) -> &'static str {
        match self {
            Self::Instance => "InvalidInstanceID.NotFound",
            Self::Image => "InvalidAMIID.NotFound",
            Self::KeyPair => "InvalidKeyPair.NotFound",
            Self::Volume => "InvalidVolume.NotFound",
            Self::Snapshot => "InvalidSnapshot.NotFound",
            Self::Group => "InvalidGroup.NotFound",
            Self::Address => "InvalidAddress.NotFound",
            Self::Zone => "InvalidZone.NotFound",
            Self::Other => "InvalidParameterValue",
        }
    }

    const fn conflict_code(self) -> &'static str {
        match self {
            Self::KeyPair => "InvalidKeyPair.Duplicate",
            Self::Group => "InvalidGroup.Duplicate",
            Self::Volume => "VolumeInUse",
            Self::Address => "InvalidIPAddress.InUse",
            Self::Instance => "IncorrectInstanceState",
            _ => "InvalidParameterValue",
        }
    }

    const fn state_code(self) -> &'static str {
        match self {
            Self::Instance => "IncorrectInstanceState",
            _ => "IncorrectState",
        }
    }

    /// How a message names one id of this resource (`The instance ID 'x' does not exist`).
    #[must_use]
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Instance => "instance ID",
            Self::Image => "image id",
            Self::KeyPair => "key pair",
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
            Self::Group => "security group",
            Self::Address => "address",
            Self::Zone => "zone",
            Self::Other => "ID",
        }
    }
}

/// An EC2 error: code, client-facing message, HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
}

pub type Ec2Result<T> = Result<T, Ec2Error>;

impl Ec2Error {
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        status: u16,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    pub fn invalid_action(action: &str) -> Self {
        Self::new(
            "InvalidAction",
            400,
            format!("The action {action} is not valid for this web service."),
        )
    }

    pub fn missing(param: &str) -> Self {
        Self::new(
            "MissingParameter",
            400,
            format!("The request must contain the parameter {param}"),
        )
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    pub fn combination(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterCombination", 400, message)
    }

    pub fn not_found(res: Res, id: &str) -> Self {
        Self::new(
            res.not_found_code(),
            400,
            format!("The {} '{id}' does not exist", res.noun()),
        )
    }

    pub fn auth_failure(message: impl Into<String>) -> Self {
        Self::new("AuthFailure", 401, message)
    }

    pub fn signature_mismatch() -> Self {
        Self::new(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        )
    }

    pub fn incomplete_signature(message: impl Into<String>) -> Self {
        Self::new("IncompleteSignature", 400, message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new("RequestExpired", 400, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new("UnsupportedOperation", 400, message)
    }

    pub fn internal() -> Self {
        Self::new(
            "InternalError",
            500,
            "An internal error has occurred. Please try again later.",
        )
    }

    /// Map a core error for an action on `res`. The core's message is kept where it is meant
    /// for clients; internal causes never leave the gateway.
    #[must_use]
    pub fn from_core(e: &Error, res: Res) -> Self {
        let msg = e.message().to_owned();
        match e.kind() {
            ErrorKind::AuthRequired => {
                Self::auth_failure("AWS was not able to validate the provided access credentials")
            }
            ErrorKind::AuthFailed => Self::auth_failure(if msg.is_empty() {
                "AWS was not able to validate the provided access credentials".to_owned()
            } else {
                msg
            }),
            ErrorKind::Validation => Self::invalid_value(msg),
            ErrorKind::NotFound => Self::new(res.not_found_code(), 400, msg),
            // Deltacloud's 403 is a conflict with the resource as it is (key exists, address in
            // use); EC2 reports those as the resource's duplicate / in-use code.
            ErrorKind::Forbidden | ErrorKind::Conflict => Self::new(res.conflict_code(), 400, msg),
            ErrorKind::InvalidState => Self::new(res.state_code(), 400, msg),
            ErrorKind::NotSupported => Self::unsupported(msg),
            ErrorKind::ProviderError | ErrorKind::ProviderTimeout => Self::new(
                "Unavailable",
                503,
                "The server is overloaded or the backend cloud is unavailable",
            ),
            // EC2's own throttling code, which SDKs back off and retry on.
            ErrorKind::ProviderThrottled => Self::new("RequestLimitExceeded", 503, msg),
            ErrorKind::Internal => Self::internal(),
        }
    }

    /// The error document for this error.
    #[must_use]
    pub fn to_xml(&self, request_id: &str) -> String {
        let doc = ErrorDoc {
            errors: Errors {
                error: ErrorBody {
                    code: &self.code,
                    message: &self.message,
                },
            },
            request_id,
        };
        crate::xml::to_document("Response", &doc).unwrap_or_else(|_| {
            // Serializing two strings cannot fail; keep a well-formed answer regardless.
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InternalError</Code><Message/></Error></Errors><RequestID/></Response>".to_owned()
        })
    }
}

impl fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

#[derive(Serialize)]
struct ErrorDoc<'a> {
    #[serde(rename = "Errors")]
    errors: Errors<'a>,
    #[serde(rename = "RequestID")]
    request_id: &'a str,
}

#[derive(Serialize)]
struct Errors<'a> {
    #[serde(rename = "Error")]
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Code")]
    code: &'a str,
    #[serde(rename = "Message")]
    message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_document_shape() {
        let e = Ec2Error::not_found(Res::Instance, "inst9");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.to_xml("rid-1"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Errors>\n    <Error>\n      <Code>InvalidInstanceID.NotFound</Code>\n      <Message>The instance ID 'inst9' does not exist</Message>\n    </Error>\n  </Errors>\n  <RequestID>rid-1</RequestID>\n</Response>"
        );
    }

    #[test]
    fn core_errors_map_to_codes() {
        let m = |e: Error, r| Ec2Error::from_core(&e, r);
        assert_eq!(m(Error::auth_required(), Res::Other).code, "AuthFailure");
        assert_eq!(m(Error::auth_required(), Res::Other).status, 401);
        assert_eq!(
            m(
                Error::forbidden("Key with same name already exists"),
                Res::KeyPair
            )
            .code,
            "InvalidKeyPair.Duplicate"
        );
        assert_eq!(
            m(Error::not_found("x"), Res::Volume).code,
            "InvalidVolume.NotFound"
        );
        let u = m(Error::not_supported("create_firewall"), Res::Group);
        assert_eq!((u.code.as_ref(), u.status), ("UnsupportedOperation", 400));
        let p = m(Error::provider("boom"), Res::Other);
        assert_eq!((p.code.as_ref(), p.status), ("Unavailable", 503));
        let i = m(Error::internal("secret detail"), Res::Other);
        assert_eq!((i.code.as_ref(), i.status), ("InternalError", 500));
        assert!(!i.message.contains("secret"));
        assert_eq!(
            m(Error::invalid_state("no"), Res::Instance).code,
            "IncorrectInstanceState"
        );
    }
}
