//! AWS Signature Version 2 for the Query API (older SDKs, euca2ools, libcloud's v2 mode).
//!
//! `StringToSign = METHOD \n lower(Host incl. port) \n path-or-/ \n sorted-params`, where the
//! parameters are those of the query (GET) or form body (POST) minus `Signature`, each key and
//! value RFC 3986-encoded, sorted by encoded key (byte order) and joined with `&`. The signature
//! is base64 of `HMAC-SHA256` or `HMAC-SHA1` of that string with the secret key. The request must
//! carry a `Timestamp` within ±15 min or an `Expires` that has not passed.

use super::sigv4::{MAX_SKEW_SECS, uri_encode};
use super::{Signature, hmac_sha1, hmac_sha256, parse_iso8601};
use crate::error::{Ec2Error, Ec2Result};
use base64::Engine as _;

/// The hash a SigV2 request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HmacSha256,
    HmacSha1,
}

/// The signing claims of a SigV2 request.
#[derive(Debug)]
pub struct V2Claims {
    pub access_key: String,
    pub method: Method,
    pub signature: Signature,
    /// `Timestamp` (must be within the skew) or `Expires` (must not have passed), Unix seconds.
    pub timestamp: Option<i64>,
    pub expires: Option<i64>,
}

/// Read the SigV2 parameters.
///
/// # Errors
/// `IncompleteSignature` for a missing or unknown part.
pub fn parse<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Ec2Result<V2Claims> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.as_ref() == k)
            .map(|(_, v)| v.as_ref())
    };
    if get("SignatureVersion") != Some("2") {
        return Err(Ec2Error::incomplete_signature(
            "Only SignatureVersion 2 is supported for query signatures",
        ));
    }
    let method = match get("SignatureMethod") {
        Some("HmacSHA256") => Method::HmacSha256,
        Some("HmacSHA1") => Method::HmacSha1,
        _ => {
            return Err(Ec2Error::incomplete_signature(
                "SignatureMethod must be HmacSHA256 or HmacSHA1",
            ));
        }
    };
    let access_key = get("AWSAccessKeyId")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Ec2Error::incomplete_signature("Missing AWSAccessKeyId"))?;
    let signature =
        get("Signature").ok_or_else(|| Ec2Error::incomplete_signature("Missing Signature"))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|raw| Signature::try_new(&raw))
        .ok_or_else(|| Ec2Error::incomplete_signature("Signature is not a base64 HMAC"))?;
    let time = |k: &str| -> Ec2Result<Option<i64>> {
        get(k)
            .map(|v| {
                parse_iso8601(v)
                    .ok_or_else(|| Ec2Error::incomplete_signature(format!("Malformed {k}: '{v}'")))
            })
            .transpose()
    };
    let timestamp = time("Timestamp")?;
    let expires = time("Expires")?;
    if timestamp.is_none() && expires.is_none() {
        return Err(Ec2Error::missing("Timestamp"));
    }
    Ok(V2Claims {
        access_key: access_key.to_owned(),
        method,
        signature,
        timestamp,
        expires,
    })
}

/// Is the request inside its validity window at `now`?
///
/// # Errors
/// `RequestExpired`.
pub fn check_time(c: &V2Claims, now: i64) -> Ec2Result<()> {
    let ok = match (c.expires, c.timestamp) {
        (Some(exp), _) => now <= exp,
        (None, Some(ts)) => (ts - now).abs() <= MAX_SKEW_SECS,
        (None, None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::expired("Request has expired."))
    }
}

/// The string to sign.
#[must_use]
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    host: &str,
    path: &str,
    params: &[(K, V)],
) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_ref() != "Signature")
        .map(|(k, v)| {
            (
                uri_encode(k.as_ref().as_bytes(), false),
                uri_encode(v.as_ref().as_bytes(), false),
            )
        })
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let path = if path.is_empty() { "/" } else { path };
    format!("{method}\n{}\n{path}\n{query}", host.to_ascii_lowercase())
}

/// Recompute with `secret` and compare in constant time.
///
/// # Errors
/// `SignatureDoesNotMatch`.
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    c: &V2Claims,
    method: &str,
    host: &str,
    path: &str,
    params: &[(K, V)],
    secret: &str,
) -> Ec2Result<()> {
    let sts = string_to_sign(method, host, path, params);
    let mac: Vec<u8> = match c.method {
        Method::HmacSha256 => hmac_sha256(secret.as_bytes(), sts.as_bytes()).to_vec(),
        Method::HmacSha1 => hmac_sha1(secret.as_bytes(), sts.as_bytes()).to_vec(),
    };
    if c.signature.ct_matches(&mac) {
        Ok(())
    } else {
        Err(Ec2Error::signature_mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(method: Method, secret: &str, sts: &str) -> String {
        let mac: Vec<u8> = match method {
            Method::HmacSha256 => hmac_sha256(secret.as_bytes(), sts.as_bytes()).to_vec(),
            Method::HmacSha1 => hmac_sha1(secret.as_bytes(), sts.as_bytes()).to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(mac)
    }

    #[test]
    fn aws_documentation_example() {
        // The worked example of the EC2 SigV2 documentation (DescribeImages, 2009 timestamp);
        // the string to sign is fixed by the algorithm, the signature by the example key.
        let params: Vec<(String, String)> = [
            ("Action", "DescribeImages"),
            ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
            ("SignatureMethod", "HmacSHA256"),
            ("SignatureVersion", "2"),
            ("Timestamp", "2011-10-03T15:19:30"),
            ("Version", "2011-10-01"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let sts = string_to_sign("GET", "EC2.amazonaws.com", "/", &params);
        assert_eq!(
            sts,
            "GET\nec2.amazonaws.com\n/\nAWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeImages&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30&Version=2011-10-01"
        );
    }

    #[test]
    fn both_methods_round_trip_and_reject_tampering() {
        for method in [Method::HmacSha256, Method::HmacSha1] {
            let name = if method == Method::HmacSha256 {
                "HmacSHA256"
            } else {
                "HmacSHA1"
            };
            let mut params: Vec<(String, String)> = [
                ("Action", "DescribeInstances"),
                ("AWSAccessKeyId", "mockuser"),
                ("SignatureMethod", name),
                ("SignatureVersion", "2"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
                ("InstanceId.1", "a b+c~é"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            let sts = string_to_sign("POST", "127.0.0.1:3001", "/ec2/", &params);
            params.push(("Signature".to_owned(), sign(method, "mockpassword", &sts)));
            let c = parse(&params).unwrap();
            assert_eq!(c.method, method);
            verify(
                &c,
                "POST",
                "127.0.0.1:3001",
                "/ec2/",
                &params,
                "mockpassword",
            )
            .unwrap();
            assert_eq!(
                verify(&c, "POST", "127.0.0.1:3001", "/ec2/", &params, "wrong")
                    .unwrap_err()
                    .code,
                "SignatureDoesNotMatch"
            );
            assert!(
                verify(
                    &c,
                    "GET",
                    "127.0.0.1:3001",
                    "/ec2/",
                    &params,
                    "mockpassword"
                )
                .is_err()
            );
            assert!(
                verify(
                    &c,
                    "POST",
                    "127.0.0.1:3002",
                    "/ec2/",
                    &params,
                    "mockpassword"
                )
                .is_err()
            );
            let ts = c.timestamp.unwrap();
            assert!(check_time(&c, ts + 60).is_ok());
            assert_eq!(
                check_time(&c, ts + 3600).unwrap_err().code,
                "RequestExpired"
            );
        }
    }

    #[test]
    fn missing_parts() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(parse(&p(&[("SignatureVersion", "1")])).is_err());
        assert!(
            parse(&p(&[
                ("SignatureVersion", "2"),
                ("SignatureMethod", "HmacMD5")
            ]))
            .is_err()
        );
        let e = parse(&p(&[
            ("SignatureVersion", "2"),
            ("SignatureMethod", "HmacSHA1"),
            ("AWSAccessKeyId", "a"),
            ("Signature", "AAAA"),
        ]))
        .unwrap_err();
        assert_eq!(e.code, "MissingParameter");
    }
}
