//! Query-protocol parameters: flat `Name=value` pairs whose names encode lists (`InstanceId.1`,
//! `InstanceId.2`) and nested structures (`Filter.1.Name`, `Filter.1.Value.2`,
//! `TagSpecification.1.Tag.1.Key`) — `ec2-frontend.md` B4.
//!
//! [`Params`] is read only by the action parser ([`crate::action`]); no handler sees raw
//! parameters. Indexes are 1-based in the protocol, but we only require them to be positive
//! integers and keep their numeric order, because SDKs always number from 1 and a gap is
//! harmless.

use crate::error::{Ec2Error, Ec2Result};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Upper bound on parameters per request, so a hostile request cannot make us build huge maps.
pub const MAX_PARAMS: usize = 2000;

/// One decoded `name=value`.
pub type Pair<'q> = (Cow<'q, str>, Cow<'q, str>);

/// The request's parameters, in the order received. Names and values borrow from the request
/// (`'q`) unless decoding changed them (`%XX`, `+`): a signed request's parameters were a
/// dozen `String`s per request before, most of them copies of what the request already held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'q> {
    pairs: Vec<Pair<'q>>,
}

/// One `Filter.N`: a name and the values it accepts (OR within a filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    pub name: String,
    pub values: Vec<String>,
}

impl<'q> Params<'q> {
    /// Parse a `application/x-www-form-urlencoded` string (query string or POST body).
    ///
    /// # Errors
    /// `InvalidParameterValue` when the request carries more than [`MAX_PARAMS`] parameters.
    pub fn parse(encoded: &'q [u8]) -> Ec2Result<Self> {
        // One slot per `&`-separated piece (an upper bound), so the vector never regrows.
        let pieces = memchr::memchr_iter(b'&', encoded).count() + 1;
        let mut pairs = Vec::with_capacity(pieces.min(MAX_PARAMS));
        // Validated once: cut at the ASCII `&` and `=`, valid UTF-8 stays valid in every piece,
        // so no piece needs validating again (about a third of the parse, measured).
        let text = std::str::from_utf8(encoded).ok();
        let part =
            |from: usize, to: usize| (&encoded[from..to], text.and_then(|t| t.get(from..to)));
        let mut start = 0;
        while start < encoded.len() {
            let end = memchr::memchr(b'&', &encoded[start..]).map_or(encoded.len(), |i| start + i);
            if end > start {
                if pairs.len() >= MAX_PARAMS {
                    return Err(Ec2Error::invalid_value(format!(
                        "Too many parameters (at most {MAX_PARAMS})"
                    )));
                }
                let (name, value) = match memchr::memchr(b'=', &encoded[start..end]) {
                    Some(eq) => (part(start, start + eq), part(start + eq + 1, end)),
                    None => (part(start, end), part(end, end)),
                };
                pairs.push((decode(name.0, name.1), decode(value.0, value.1)));
            }
            start = end + 1;
        }
        Ok(Self { pairs })
    }

    #[must_use]
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into()), Cow::Owned(v.into())))
                .collect(),
        }
    }

    /// Append the pairs of `other` (GET query plus POST body).
    pub fn extend(&mut self, other: Self) {
        self.pairs.extend(other.pairs);
    }

    pub fn pairs(&self) -> &[Pair<'q>] {
        &self.pairs
    }

    /// The first value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The value of `name`, or `MissingParameter`.
    ///
    /// # Errors
    /// `MissingParameter` naming `name`.
    pub fn required(&self, name: &str) -> Ec2Result<String> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| Ec2Error::missing(name))
    }

    /// A boolean (`true`/`false`, case-insensitive); absent ⇒ `None`.
    ///
    /// # Errors
    /// `InvalidParameterValue` for anything else.
    pub fn bool(&self, name: &str) -> Ec2Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Ec2Error::invalid_value(format!(
                "Value ({v}) for parameter {name} is invalid. Expected: 'true' or 'false'."
            ))),
        }
    }

    /// An integer; absent ⇒ `None`.
    ///
    /// # Errors
    /// `InvalidParameterValue` when it does not parse.
    pub fn int(&self, name: &str) -> Ec2Result<Option<i64>> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    Ec2Error::invalid_value(format!(
                        "Value ({v}) for parameter {name} is invalid. Expected an integer."
                    ))
                })
            })
            .transpose()
    }

    /// Members of `prefix.N.…`, grouped by `N` in numeric order; each group holds the rest of
    /// the name after `prefix.N.` (empty for `prefix.N` itself) with the value.
    ///
    /// # Errors
    /// `InvalidParameterValue` when `N` is not a positive integer.
    pub fn indexed(&self, prefix: &str) -> Ec2Result<BTreeMap<u32, Params<'_>>> {
        let mut out: BTreeMap<u32, Params<'_>> = BTreeMap::new();
        for (k, v) in &self.pairs {
            let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let (index, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let n: u32 = index.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Ec2Error::invalid_value(format!(
                    "Parameter {k} has an invalid list index '{index}'"
                ))
            })?;
            out.entry(n)
                .or_default()
                .pairs
                .push((Cow::Borrowed(tail), Cow::Borrowed(v.as_ref())));
        }
        Ok(out)
    }

    /// A simple list `prefix.1`, `prefix.2`, … in index order.
    ///
    /// # Errors
    /// As [`Params::indexed`].
    pub fn list(&self, prefix: &str) -> Ec2Result<Vec<String>> {
        Ok(self
            .indexed(prefix)?
            .into_values()
            .filter_map(|p| p.get("").map(str::to_owned))
            .collect())
    }

    /// `Filter.N.Name` + `Filter.N.Value.M`.
    ///
    /// # Errors
    /// `MissingParameter` for a filter without a name; index errors as [`Params::indexed`].
    pub fn filters(&self) -> Ec2Result<Vec<FilterSpec>> {
        let mut out = Vec::new();
        for (n, p) in self.indexed("Filter")? {
            let name = p
                .get("Name")
                .ok_or_else(|| Ec2Error::missing(&format!("Filter.{n}.Name")))?
                .to_owned();
            out.push(FilterSpec {
                name,
                values: p.list("Value")?,
            });
        }
        Ok(out)
    }

    /// `prefix.N.Key` + `prefix.N.Value` pairs (value `None` when absent, which DeleteTags
    /// distinguishes from an empty value).
    ///
    /// # Errors
    /// `MissingParameter` for a tag without a key.
    pub fn tags(&self, prefix: &str) -> Ec2Result<Vec<(String, Option<String>)>> {
        let mut out = Vec::new();
        for (n, p) in self.indexed(prefix)? {
            let key = p
                .get("Key")
                .ok_or_else(|| Ec2Error::missing(&format!("{prefix}.{n}.Key")))?
                .to_owned();
            out.push((key, p.get("Value").map(str::to_owned)));
        }
        Ok(out)
    }
}

/// One form-urlencoded name or value: `+` is a space, `%XX` a byte (a `%` not followed by two
/// hex digits stays as it is), and the bytes are read as UTF-8 with invalid sequences replaced,
/// exactly as `form_urlencoded::parse` does (a property test holds them equal). Borrowed from
/// the input when nothing needs decoding, which is most names and values; `form_urlencoded`
/// made up to three passes and two copies per value.
///
/// `text` is `raw` as a `str` when the caller already knows it is valid UTF-8.
fn decode<'q>(raw: &'q [u8], text: Option<&'q str>) -> Cow<'q, str> {
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        return match text {
            Some(s) => Cow::Borrowed(s),
            None => String::from_utf8_lossy(raw),
        };
    }
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(hi), Some(lo)) = (
                    raw.get(i + 1).copied().and_then(hex),
                    raw.get(i + 2).copied().and_then(hex),
                ) {
                    // Two hex digits: at most 0xFF.
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_filters_and_tags() {
        let p = Params::parse(
            b"Action=DescribeInstances&InstanceId.2=b&InstanceId.1=a&InstanceId.10=c&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=stopped&Filter.2.Name=tag%3AName&Filter.2.Value.1=web+1&Tag.1.Key=k&Tag.2.Key=x&Tag.2.Value=",
        )
        .unwrap();
        assert_eq!(p.get("Action"), Some("DescribeInstances"));
        assert_eq!(p.list("InstanceId").unwrap(), ["a", "b", "c"]);
        let f = p.filters().unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "instance-state-name");
        assert_eq!(f[0].values, ["running", "stopped"]);
        assert_eq!(f[1].name, "tag:Name");
        assert_eq!(f[1].values, ["web 1"]);
        assert_eq!(
            p.tags("Tag").unwrap(),
            [
                ("k".to_owned(), None),
                ("x".to_owned(), Some(String::new()))
            ]
        );
    }

    #[test]
    fn bad_index_and_missing_name_are_client_errors() {
        let p = Params::parse(b"InstanceId.x=a").unwrap();
        assert_eq!(
            p.list("InstanceId").unwrap_err().code,
            "InvalidParameterValue"
        );
        let p = Params::parse(b"InstanceId.0=a").unwrap();
        assert!(p.list("InstanceId").is_err());
        let p = Params::parse(b"Filter.1.Value.1=a").unwrap();
        let e = p.filters().unwrap_err();
        assert_eq!(
            (e.code.as_ref(), e.message.as_str()),
            (
                "MissingParameter",
                "The request must contain the parameter Filter.1.Name"
            )
        );
        // A prefix that merely starts the same way is not a member.
        let p = Params::parse(b"InstanceIds.1=a&InstanceId=b").unwrap();
        assert!(p.list("InstanceId").unwrap().is_empty());
    }

    #[test]
    fn typed_values() {
        let p = Params::parse(b"DryRun=TRUE&MaxResults=5&Bad=x").unwrap();
        assert_eq!(p.bool("DryRun").unwrap(), Some(true));
        assert_eq!(p.int("MaxResults").unwrap(), Some(5));
        assert!(p.int("Bad").is_err());
        assert!(p.bool("Bad").is_err());
        assert_eq!(p.bool("Nope").unwrap(), None);
        assert_eq!(p.required("Nope").unwrap_err().code, "MissingParameter");
    }

    #[test]
    fn too_many_parameters() {
        let body: String = (0..=MAX_PARAMS).map(|i| format!("a{i}=1&")).collect();
        assert!(Params::parse(body.as_bytes()).is_err());
    }

    proptest! {
        /// Whatever order the members arrive in, a list comes back in index order.
        #[test]
        fn list_order_follows_indexes(values in proptest::collection::vec("[a-z0-9]{1,8}", 1..20)) {
            let mut pairs: Vec<(String, String)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("VolumeId.{}", i + 1), v.clone()))
                .collect();
            pairs.reverse();
            let p = Params::from_pairs(pairs);
            prop_assert_eq!(p.list("VolumeId").unwrap(), values);
        }

        /// Our decoder reads every input exactly as `form_urlencoded` does.
        #[test]
        fn parses_like_form_urlencoded(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'a'), Just(b'F'),
                    Just(b'2'), Just(b'0'), Just(0xC3), Just(0xA9), Just(0xFF), any::<u8>()
                ],
                0..60,
            )
        ) {
            let ours: Vec<(String, String)> = Params::parse(&body)
                .unwrap()
                .pairs()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(ours, theirs);
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn arbitrary_input_does_not_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(p) = Params::parse(&body) {
                let _ = p.filters();
                let _ = p.list("InstanceId");
                let _ = p.tags("Tag");
            }
        }
    }
}
