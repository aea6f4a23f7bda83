//! Who is calling: AWS Signature Version 4 (header or presigned query), Signature Version 2, HTTP
//! Basic (the original's only scheme, `ec2-frontend.md` A3), or nobody.
//!
//! [`detect`] reads the request's claims without any secret; the caller then looks the access key
//! up in the credential store and calls the version's `verify`. Nothing here logs: signatures,
//! `Authorization` values and secrets never reach a log line (stack.md §3 pitfall 10).

pub mod sigv2;
pub mod sigv4;

use crate::error::{Ec2Error, Ec2Result};
use base64::Engine as _;
use deltacloud_core::Credentials;
use hmac::{Hmac, KeyInit, Mac};
use sigv4::HttpParts;
use std::fmt;
use subtle::ConstantTimeEq;

/// A signature presented by a client. It has no `PartialEq` on purpose: the only comparison is
/// [`Signature::ct_matches`], which runs in constant time (s3s `auth/signature.rs`). Held inline:
/// the MACs compared here are at most 32 bytes (HMAC-SHA256).
pub struct Signature {
    bytes: [u8; Self::MAX],
    len: usize,
}

impl Signature {
    /// The longest signature that can match: an HMAC-SHA256.
    pub const MAX: usize = 32;

    /// `None` when `bytes` is longer than any MAC we compute, so it could never match.
    #[must_use]
    pub fn try_new(bytes: &[u8]) -> Option<Self> {
        let mut s = Self {
            bytes: [0; Self::MAX],
            len: bytes.len(),
        };
        s.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(s)
    }

    /// A 32-byte signature (what SigV4 sends, hex-decoded).
    #[must_use]
    pub const fn new(bytes: &[u8; Self::MAX]) -> Self {
        Self {
            bytes: *bytes,
            len: Self::MAX,
        }
    }

    /// Constant-time equality with the expected bytes.
    #[must_use]
    pub fn ct_matches(&self, expected: &[u8]) -> bool {
        self.len == expected.len() && bool::from(self.bytes[..self.len].ct_eq(expected))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature([REDACTED])")
    }
}

/// A parsed request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTime {
    pub unix: i64,
}

/// `yyyymmddThhmmssZ`. Read by hand (every signed request has one): `time`'s format-driven
/// parser took about a third of reading a request's signing claims. A property test holds the
/// two to the same answers.
#[must_use]
pub fn parse_amz_date(s: &str) -> Option<ParsedTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0_i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(ParsedTime {
        unix: days * 86_400 + hour * 3600 + minute * 60 + second,
    })
}

/// ISO 8601 as SigV2 clients send it: `2011-10-03T15:19:30Z`, with or without fractional
/// seconds, an offset, or (older boto) no zone at all, which means UTC.
#[must_use]
pub fn parse_iso8601(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    time::OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

#[must_use]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut out = [0u8; 32];
    if let Ok(mut m) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) {
        m.update(data);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

#[must_use]
pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    if let Ok(mut m) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key) {
        m.update(data);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// What the request presents as proof of identity.
#[derive(Debug)]
pub enum Presented<'a> {
    V4(sigv4::V4Claims<'a>),
    V2(sigv2::V2Claims),
    Basic(Credentials),
    Anonymous,
}

impl Presented<'_> {
    /// The access key a signature names (for logs: the key id is not secret).
    #[must_use]
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Self::V4(c) => Some(c.access_key),
            Self::V2(c) => Some(&c.access_key),
            Self::Basic(c) => Some(&c.user),
            Self::Anonymous => None,
        }
    }
}

/// Work out which scheme the request uses. `query` are the decoded query-string pairs, `params`
/// all parameters (query and form body), where SigV2 puts its fields.
///
/// # Errors
/// `IncompleteSignature` for a malformed `Authorization` header or signing parameters.
pub fn detect<'a, K: AsRef<str>, V: AsRef<str>>(
    parts: &HttpParts<'a>,
    query: &'a [(K, V)],
    params: &[(K, V)],
) -> Ec2Result<Presented<'a>> {
    if let Some(auth) = parts.header("authorization") {
        let auth = auth.trim();
        if auth.starts_with(sigv4::ALGORITHM) {
            return sigv4::parse_header(auth, parts).map(Presented::V4);
        }
        if let Some(b64) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
        {
            let bad = || Ec2Error::auth_failure("Malformed Basic credentials");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (user, password) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Presented::Basic(Credentials::new(user, password)));
        }
        return Err(Ec2Error::incomplete_signature(
            "Unsupported Authorization Type",
        ));
    }
    if query.iter().any(|(k, _)| k.as_ref() == "X-Amz-Algorithm") {
        return sigv4::parse_query(query).map(Presented::V4);
    }
    if params.iter().any(|(k, _)| k.as_ref() == "Signature") {
        return sigv2::parse(params).map(Presented::V2);
    }
    Ok(Presented::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_amz_date("20150830T123600Z").unwrap().unix,
            1_440_938_160
        );
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
        assert_eq!(parse_iso8601("2015-08-30T12:36:00Z"), Some(1_440_938_160));
        assert_eq!(
            parse_iso8601("2015-08-30T12:36:00.000Z"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_iso8601("2015-08-30T12:36:00"), Some(1_440_938_160));
        assert_eq!(
            parse_iso8601("2015-08-30T14:36:00+02:00"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
    }

    proptest::proptest! {
        /// The hand-written reader agrees with `time`'s parser, valid dates or not.
        #[test]
        fn amz_dates_read_like_time_reads_them(
            y in 0_u32..10_000, mo in 0_u32..14, d in 0_u32..33,
            h in 0_u32..26, mi in 0_u32..62, sec in 0_u32..62,
            junk in proptest::option::of("[0-9TZ ]{0,17}"),
        ) {
            let s = junk.unwrap_or_else(|| format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{sec:02}Z"));
            let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
            let theirs = time::PrimitiveDateTime::parse(&s, &fmt)
                .ok()
                .map(|t| t.assume_utc().unix_timestamp());
            proptest::prop_assert_eq!(parse_amz_date(&s).map(|t| t.unix), theirs, "{}", s);
        }
    }

    #[test]
    fn signature_compare_is_exact() {
        let s = Signature::try_new(b"abc").unwrap();
        assert!(Signature::try_new(&[0; 33]).is_none());
        assert!(s.ct_matches(b"abc"));
        assert!(!s.ct_matches(b"abd"));
        assert!(!s.ct_matches(b"abcd"));
        assert_eq!(format!("{s:?}"), "Signature([REDACTED])");
    }

    #[test]
    fn detection() {
        const NONE: &[(&str, &str)] = &[];
        let parts = |headers: &'static [(&'static str, &'static str)]| HttpParts {
            method: "GET",
            path: "/ec2",
            query: "",
            decoded_query: None,
            headers,
            body: b"",
        };
        let basic = &[("authorization", "Basic bW9ja3VzZXI6bW9ja3Bhc3N3b3Jk")];
        match detect(&parts(basic), NONE, NONE).unwrap() {
            Presented::Basic(c) => {
                assert_eq!(c.user, "mockuser");
                assert_eq!(c.password.expose(), "mockpassword");
            }
            other => panic!("{other:?}"),
        }
        let bearer = &[("authorization", "Bearer x")];
        assert_eq!(
            detect(&parts(bearer), NONE, NONE).unwrap_err().code,
            "IncompleteSignature"
        );
        assert!(matches!(
            detect(&parts(NONE), NONE, NONE).unwrap(),
            Presented::Anonymous
        ));
    }
}
