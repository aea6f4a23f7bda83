//! Deciding whether a live request is "the same" as a recorded one.
//!
//! A recording can never be matched byte for byte: signatures, timestamps and access keys change
//! on every run, the host is now the replay server, and form bodies may list parameters in a
//! different order. So both sides are first *normalized* (method, percent-decoded path, sorted
//! parameter multiset without volatile parameters, body in a comparable shape) and then compared.

use std::fmt;

/// Query/form parameters that change on every signed AWS request, ignored by default.
///
/// SigV2 (what the recordings use): `Signature`, `SignatureMethod`, `SignatureVersion`,
/// `Timestamp`, `Expires`, `AWSAccessKeyId`. SigV4 presigned URLs: the `X-Amz-*` family.
/// `Version` is not here: [`MatchRules::aws_query`] ignores it as well, [`MatchRules::default`]
/// does not.
pub const AWS_VOLATILE_PARAMS: &[&str] = &[
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "Timestamp",
    "Expires",
    "AWSAccessKeyId",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// How non-form request bodies are compared. Form bodies
/// (`application/x-www-form-urlencoded`) are always compared as parameter multisets, minus the
/// ignored parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyMatch {
    /// JSON bodies compare as JSON values (key order and whitespace do not matter); other text
    /// compares after collapsing whitespace and dropping whitespace between XML tags; anything
    /// else byte for byte.
    #[default]
    Auto,
    /// Bytes must be identical.
    Exact,
    /// Bodies are not compared at all: useful when the body holds generated values (the rhevm
    /// recordings create VMs named `i-<unix time>`).
    Ignore,
}

/// The configurable part of matching. Build with [`MatchRules::default`] or
/// [`MatchRules::aws_query`], then adjust with the builder methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRules {
    ignored_params: Vec<String>,
    body: BodyMatch,
    query_api: bool,
    drop_empty_params: bool,
    s3_path_style: bool,
}

impl Default for MatchRules {
    /// Ignores [`AWS_VOLATILE_PARAMS`] (harmless for providers that never send them), compares
    /// bodies with [`BodyMatch::Auto`], keeps GET and POST apart and keeps empty parameters.
    fn default() -> Self {
        Self {
            ignored_params: AWS_VOLATILE_PARAMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            body: BodyMatch::Auto,
            query_api: false,
            drop_empty_params: false,
            s3_path_style: false,
        }
    }
}

impl MatchRules {
    /// Same as [`MatchRules::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Rules for the EC2/S3 Query API: the defaults, plus `Version` ignored (the recordings are
    /// API 2010-08-31; a backend may speak a newer version; re-enable with
    /// `.keep_param("Version")`), plus [`MatchRules::query_api`] so that a signed POST with a
    /// form body matches a recorded GET with the same parameters in its query string.
    pub fn aws_query() -> Self {
        Self::default().ignore_param("Version").query_api(true)
    }

    /// No ignored parameters at all.
    pub fn strict() -> Self {
        Self {
            ignored_params: Vec::new(),
            ..Self::default()
        }
    }

    /// Also ignore this query/form parameter (compared case-insensitively).
    #[must_use]
    pub fn ignore_param(mut self, name: &str) -> Self {
        if !self.is_ignored(name) {
            self.ignored_params.push(name.to_owned());
        }
        self
    }

    /// Stop ignoring this parameter, e.g. `MatchRules::aws_query().keep_param("Version")`.
    #[must_use]
    pub fn keep_param(mut self, name: &str) -> Self {
        self.ignored_params
            .retain(|p| !p.eq_ignore_ascii_case(name));
        self
    }

    /// How to compare non-form bodies.
    #[must_use]
    pub fn body(mut self, body: BodyMatch) -> Self {
        self.body = body;
        self
    }

    /// Treat query-string and form-body parameters as one set and GET and POST as the same
    /// method, as the AWS Query API does.
    #[must_use]
    pub fn query_api(mut self, on: bool) -> Self {
        self.query_api = on;
        self
    }

    /// Treat `name=` as if the parameter were absent (the rhevm recordings send `?search=`).
    #[must_use]
    pub fn drop_empty_params(mut self, on: bool) -> Self {
        self.drop_empty_params = on;
        self
    }

    /// Match recorded S3 virtual-host requests (`https://BUCKET.s3[-REGION].amazonaws.com/KEY`)
    /// against path-style requests (`/BUCKET/KEY`), which is what a backend pointed at the replay
    /// server's single host must send. Also ignores a trailing `/` on paths, so `/BUCKET` and
    /// `/BUCKET/` are the same bucket.
    #[must_use]
    pub fn s3_path_style(mut self, on: bool) -> Self {
        self.s3_path_style = on;
        self
    }

    /// The parameters currently ignored.
    pub fn ignored_params(&self) -> &[String] {
        &self.ignored_params
    }

    fn is_ignored(&self, name: &str) -> bool {
        self.ignored_params
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
    }

    fn params(&self, raw: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(raw)
            .filter(|(k, v)| !(self.is_ignored(k) || (self.drop_empty_params && v.is_empty())))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Normalizes one request. `target` is a URI in origin form (`/p?q`) or absolute form
    /// (`https://user@host/p?q`); `body` is `None` when the recording has none.
    pub(crate) fn normalize(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Normalized {
        let mut method = method.to_ascii_uppercase();
        let (host, path, query) = split_target(target);
        let mut path = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if self.s3_path_style {
            if let Some(bucket) = host.and_then(s3_bucket) {
                path = format!("/{bucket}{path}");
            }
            while path.len() > 1 && path.ends_with('/') {
                path.pop();
            }
        }
        let mut params = self.params(query.as_bytes());
        let content_type = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        let body = match body {
            None => Body::Any,
            Some(b) if b.iter().all(u8::is_ascii_whitespace) => Body::Empty,
            Some(b) if is_form(content_type.as_deref(), &method, b, self.query_api) => {
                let form = self.params(b);
                if self.query_api {
                    params.extend(form);
                    Body::Empty
                } else {
                    let mut form = form;
                    form.sort();
                    Body::Form(form)
                }
            }
            Some(b) => match self.body {
                BodyMatch::Ignore => Body::Any,
                BodyMatch::Exact => Body::Bytes(b.to_vec()),
                BodyMatch::Auto => auto_body(b),
            },
        };
        if self.query_api && method == "POST" {
            method = "GET".to_owned();
        }
        params.sort();
        Normalized {
            method,
            path,
            params,
            body,
        }
    }
}

/// A form body is one that says so; under the Query API a POST whose body merely looks like
/// `a=b&c=d` counts too, since some recorders dropped the request headers.
fn is_form(content_type: Option<&str>, method: &str, body: &[u8], query_api: bool) -> bool {
    match content_type {
        Some(ct) => ct.starts_with("application/x-www-form-urlencoded"),
        None => {
            query_api
                && method == "POST"
                && body.contains(&b'=')
                && !body
                    .iter()
                    .any(|b| b.is_ascii_whitespace() || matches!(b, b'<' | b'{' | b'['))
        }
    }
}

fn auto_body(b: &[u8]) -> Body {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(b) {
        return Body::Json(json);
    }
    match std::str::from_utf8(b) {
        Ok(text) => Body::Text(normalize_text(text)),
        Err(_) => Body::Bytes(b.to_vec()),
    }
}

/// Collapses whitespace runs to one space, then removes the space between `>` and `<`, so that
/// pretty-printed and compact XML compare equal while text content still counts.
fn normalize_text(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let mut chars = collapsed.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' && out.ends_with('>') && chars.peek() == Some(&'<') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Host (absolute form only, without credentials and port), path and raw query of a request
/// target, without fragment.
fn split_target(target: &str) -> (Option<&str>, &str, &str) {
    let target = target.split('#').next().unwrap_or_default();
    let (authority, rest) = match target.find("://") {
        Some(i) => {
            let after = &target[i + 3..];
            match after.find(['/', '?']) {
                Some(j) => (Some(&after[..j]), &after[j..]),
                None => (Some(after), ""),
            }
        }
        None => (None, target),
    };
    let host = authority.map(|a| {
        let a = a.rsplit_once('@').map_or(a, |(_, h)| h);
        a.split(':').next().unwrap_or_default()
    });
    match rest.split_once('?') {
        Some((p, q)) => (host, p, q),
        None => (host, rest, ""),
    }
}

/// The bucket of an S3 virtual-host name: `b.s3.amazonaws.com`, `b.s3-eu-west-1.amazonaws.com`,
/// `b.s3.eu-west-1.amazonaws.com`.
fn s3_bucket(host: &str) -> Option<&str> {
    let host_lc = host.to_ascii_lowercase();
    if !host_lc.ends_with(".amazonaws.com") {
        return None;
    }
    let idx = host_lc.find(".s3.").or_else(|| host_lc.find(".s3-"))?;
    (idx > 0).then(|| &host[..idx])
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    /// Not recorded, or not compared: matches anything.
    Any,
    Empty,
    Form(Vec<(String, String)>),
    Json(serde_json::Value),
    Text(String),
    Bytes(Vec<u8>),
}

/// A request reduced to what matching looks at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Normalized {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Sorted multiset, ignored parameters removed.
    pub(crate) params: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Normalized {
    /// True when a live request (`self`) matches the recorded one.
    pub(crate) fn matches(&self, recorded: &Normalized) -> bool {
        self.method == recorded.method
            && self.path == recorded.path
            && self.params == recorded.params
            && bodies_match(&recorded.body, &self.body)
    }

    /// A rough distance used only to name the closest recording in a mismatch report: a wrong
    /// path weighs most, then a wrong method, then each differing parameter, then the body.
    pub(crate) fn distance(&self, recorded: &Normalized) -> usize {
        let mut d = 0;
        if self.path != recorded.path {
            d += 8 + segment_difference(&self.path, &recorded.path);
        }
        if self.method != recorded.method {
            d += 4;
        }
        let (missing, extra) = multiset_diff(&recorded.params, &self.params);
        d += 2 * (missing.len() + extra.len());
        if !bodies_match(&recorded.body, &self.body) {
            d += 1;
        }
        d
    }

    /// Human-readable list of what differs, for the mismatch report.
    pub(crate) fn explain_difference(&self, recorded: &Normalized) -> Vec<String> {
        let mut out = Vec::new();
        if self.method != recorded.method {
            out.push(format!(
                "method: recorded {}, got {}",
                recorded.method, self.method
            ));
        }
        if self.path != recorded.path {
            out.push(format!(
                "path: recorded {}, got {}",
                recorded.path, self.path
            ));
        }
        let (missing, extra) = multiset_diff(&recorded.params, &self.params);
        if !missing.is_empty() {
            out.push(format!(
                "parameters missing from the request: {}",
                pairs(&missing)
            ));
        }
        if !extra.is_empty() {
            out.push(format!(
                "parameters not in the recording: {}",
                pairs(&extra)
            ));
        }
        if !bodies_match(&recorded.body, &self.body) {
            out.push(format!(
                "body: recorded {}, got {}",
                recorded.body.kind(),
                self.body.kind()
            ));
            if let (Body::Form(r), Body::Form(g)) = (&recorded.body, &self.body) {
                let (missing, extra) = multiset_diff(r, g);
                out.push(format!(
                    "form fields missing: {}; unexpected: {}",
                    pairs(&missing),
                    pairs(&extra)
                ));
            }
        }
        out
    }
}

impl Body {
    fn kind(&self) -> &'static str {
        match self {
            Body::Any => "any body",
            Body::Empty => "no body",
            Body::Form(_) => "a form body",
            Body::Json(_) => "a JSON body",
            Body::Text(_) => "a text body",
            Body::Bytes(_) => "a binary body",
        }
    }
}

impl fmt::Display for Normalized {
    /// `GET /path?a=1&b=2` with the normalized (sorted, volatile-free) parameters. Safe to print:
    /// signatures and access keys are among the ignored parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.params.is_empty() {
            write!(f, "?{}", pairs(&self.params))?;
        }
        Ok(())
    }
}

fn bodies_match(recorded: &Body, got: &Body) -> bool {
    matches!(recorded, Body::Any) || matches!(got, Body::Any) || recorded == got
}

fn pairs(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A decoded query or form parameter.
type Param = (String, String);

/// Elements of sorted `a` not in sorted `b`, and of `b` not in `a`, respecting multiplicity.
fn multiset_diff(a: &[Param], b: &[Param]) -> (Vec<Param>, Vec<Param>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                only_a.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                only_b.push(b[j].clone());
                j += 1;
            }
        }
    }
    only_a.extend_from_slice(&a[i..]);
    only_b.extend_from_slice(&b[j..]);
    (only_a, only_b)
}

fn segment_difference(a: &str, b: &str) -> usize {
    let sa: Vec<_> = a.split('/').collect();
    let sb: Vec<_> = b.split('/').collect();
    let common = sa.iter().zip(&sb).filter(|(x, y)| x == y).count();
    sa.len().max(sb.len()) - common
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ct: &str) -> Vec<(String, String)> {
        vec![("Content-Type".to_owned(), ct.to_owned())]
    }

    fn b(x: &[u8]) -> Option<&[u8]> {
        Some(x)
    }

    const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

    #[test]
    fn volatile_params_host_and_order_are_ignored() {
        let r = MatchRules::default();
        let rec = r.normalize(
            "get",
            "https://ec2.us-east-1.amazonaws.com/?AWSAccessKeyId=AKIA&Action=CreateVpc&CidrBlock=172.16.0.0/16&Signature=62kO+Ux=&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2012-08-28T23:23:35.000Z&Version=2010-08-31",
            &[],
            b(b""),
        );
        let got = r.normalize(
            "GET",
            "/?Version=2010-08-31&CidrBlock=172.16.0.0%2F16&Action=CreateVpc&Signature=zzz&Timestamp=now&AWSAccessKeyId=other",
            &[],
            None,
        );
        assert!(got.matches(&rec));
        assert_eq!(got.distance(&rec), 0);
        assert_eq!(
            rec.to_string(),
            "GET /?Action=CreateVpc&CidrBlock=172.16.0.0/16&Version=2010-08-31"
        );
    }

    #[test]
    fn params_are_a_multiset() {
        let r = MatchRules::default();
        let rec = r.normalize("GET", "/x?a=1&a=2", &[], b(b""));
        assert!(r.normalize("GET", "/x?a=2&a=1", &[], None).matches(&rec));
        assert!(!r.normalize("GET", "/x?a=1", &[], None).matches(&rec));
        assert!(!r.normalize("GET", "/x?a=1&a=1", &[], None).matches(&rec));
        assert!(
            !r.normalize("GET", "/x?a=1&a=2&a=2", &[], None)
                .matches(&rec)
        );
    }

    #[test]
    fn method_path_and_values_must_agree() {
        let r = MatchRules::default();
        let rec = r.normalize("GET", "https://h/api/vms?search=", &[], b(b""));
        assert!(
            r.normalize("GET", "/api/vms?search=", &[], None)
                .matches(&rec)
        );
        assert!(
            !r.normalize("POST", "/api/vms?search=", &[], None)
                .matches(&rec)
        );
        assert!(
            !r.normalize("GET", "/api/vms/?search=", &[], None)
                .matches(&rec)
        );
        assert!(!r.normalize("GET", "/api/vms", &[], None).matches(&rec));
        assert!(
            !r.normalize("GET", "/api/vms?search=x", &[], None)
                .matches(&rec)
        );
        // Empty parameters can be declared absent.
        let lax = MatchRules::default().drop_empty_params(true);
        let rec = lax.normalize("GET", "https://h/api/vms?search=", &[], b(b""));
        assert!(lax.normalize("GET", "/api/vms", &[], None).matches(&rec));
        // Percent-encoding of the path does not matter, its content does.
        let rec = r.normalize("GET", "http://h/a%20b/c", &[], b(b""));
        assert!(r.normalize("GET", "/a b/c", &[], None).matches(&rec));
        assert!(r.normalize("GET", "/a%20b/c", &[], None).matches(&rec));
        // A host-only URI is the root path.
        let rec = r.normalize("GET", "http://h", &[], b(b""));
        assert!(r.normalize("GET", "/", &[], None).matches(&rec));
    }

    #[test]
    fn ignore_list_is_configurable() {
        let rec_uri = "https://h/?Action=X&Version=2010-08-31&Signature=s";
        let default = MatchRules::default();
        let rec = default.normalize("GET", rec_uri, &[], b(b""));
        assert!(
            !default
                .normalize("GET", "/?Action=X&Version=2016-11-15", &[], None)
                .matches(&rec)
        );

        let aws = MatchRules::aws_query();
        let rec = aws.normalize("GET", rec_uri, &[], b(b""));
        assert!(
            aws.normalize("GET", "/?Action=X&Version=2016-11-15", &[], None)
                .matches(&rec)
        );
        assert!(aws.normalize("GET", "/?Action=X", &[], None).matches(&rec));

        let kept = MatchRules::aws_query().keep_param("version");
        let rec = kept.normalize("GET", rec_uri, &[], b(b""));
        assert!(!kept.normalize("GET", "/?Action=X", &[], None).matches(&rec));

        let strict = MatchRules::strict();
        let rec = strict.normalize("GET", rec_uri, &[], b(b""));
        assert!(
            !strict
                .normalize("GET", "/?Action=X&Version=2010-08-31", &[], None)
                .matches(&rec)
        );

        let custom = MatchRules::strict()
            .ignore_param("Token")
            .ignore_param("token");
        assert_eq!(custom.ignored_params(), ["Token"]);
        let rec = custom.normalize("GET", "/p?token=1&a=b", &[], b(b""));
        assert!(
            custom
                .normalize("GET", "/p?a=b&TOKEN=2", &[], None)
                .matches(&rec)
        );
    }

    #[test]
    fn form_bodies_compare_as_param_multisets() {
        let r = MatchRules::default();
        let rec = r.normalize(
            "POST",
            "/",
            &h(FORM),
            b(b"Action=RunInstances&MinCount=1&Timestamp=t1&Signature=a"),
        );
        let ok = r.normalize(
            "POST",
            "/",
            &h(FORM),
            b(b"MinCount=1&Signature=b&Action=RunInstances&Timestamp=t2"),
        );
        assert!(ok.matches(&rec));
        let bad = r.normalize("POST", "/", &h(FORM), b(b"Action=RunInstances&MinCount=2"));
        assert!(!bad.matches(&rec));
        let why = bad.explain_difference(&rec).join("\n");
        assert!(
            why.contains("MinCount=1") && why.contains("MinCount=2"),
            "{why}"
        );
        // Without query_api, GET+query and POST+form are different requests.
        let get = r.normalize("GET", "/?Action=RunInstances&MinCount=1", &[], None);
        assert!(!get.matches(&rec));
    }

    #[test]
    fn query_api_merges_post_form_and_get_query() {
        let r = MatchRules::aws_query();
        let rec = r.normalize(
            "get",
            "https://ec2.amazonaws.com/?Action=DescribeInstances&InstanceId.1=i-1&Signature=x&Version=2010-08-31",
            &[],
            b(b""),
        );
        let post = r.normalize(
            "POST",
            "/",
            &h(FORM),
            b(b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&X-Amz-Date=20240101T000000Z"),
        );
        assert!(post.matches(&rec));
        let headerless = r.normalize(
            "POST",
            "/",
            &[],
            b(b"InstanceId.1=i-1&Action=DescribeInstances"),
        );
        assert!(headerless.matches(&rec));
        let other = r.normalize(
            "POST",
            "/",
            &h(FORM),
            b(b"Action=DescribeInstances&InstanceId.1=i-2"),
        );
        assert!(!other.matches(&rec));
    }

    #[test]
    fn json_and_xml_bodies_compare_semantically_under_auto() {
        let r = MatchRules::default();
        let json = h("application/json");
        let rec = r.normalize(
            "POST",
            "/v2.0/tokens",
            &json,
            b(br#"{"auth":{"a":1,"b":[1,2]}}"#),
        );
        assert!(
            r.normalize(
                "POST",
                "/v2.0/tokens",
                &json,
                b(b"{ \"auth\": {\"b\": [1, 2], \"a\": 1} }")
            )
            .matches(&rec)
        );
        assert!(
            !r.normalize(
                "POST",
                "/v2.0/tokens",
                &json,
                b(br#"{"auth":{"a":1,"b":[2,1]}}"#)
            )
            .matches(&rec)
        );

        let xml = h("application/xml");
        let rec = r.normalize(
            "POST",
            "/api/vms",
            &xml,
            b(b"<vm>\n  <name>a b</name>\n</vm>"),
        );
        assert!(
            r.normalize("POST", "/api/vms", &xml, b(b"<vm><name>a b</name></vm>"))
                .matches(&rec)
        );
        assert!(
            !r.normalize("POST", "/api/vms", &xml, b(b"<vm><name>a  c</name></vm>"))
                .matches(&rec)
        );
        assert!(!r.normalize("POST", "/api/vms", &xml, b(b"")).matches(&rec));

        let exact = MatchRules::default().body(BodyMatch::Exact);
        let rec = exact.normalize("POST", "/api/vms", &xml, b(b"<vm>\n</vm>"));
        assert!(
            !exact
                .normalize("POST", "/api/vms", &xml, b(b"<vm></vm>"))
                .matches(&rec)
        );
        assert!(
            exact
                .normalize("POST", "/api/vms", &xml, b(b"<vm>\n</vm>"))
                .matches(&rec)
        );

        let ignore = MatchRules::default().body(BodyMatch::Ignore);
        let rec = ignore.normalize("POST", "/api/vms", &xml, b(b"<vm><name>i-1</name></vm>"));
        assert!(
            ignore
                .normalize("POST", "/api/vms", &xml, b(b"<vm><name>i-2</name></vm>"))
                .matches(&rec)
        );
    }

    #[test]
    fn unrecorded_bodies_match_anything() {
        let r = MatchRules::default();
        let rec = r.normalize("POST", "/api/vms/1/start", &[], None);
        assert!(
            r.normalize(
                "POST",
                "/api/vms/1/start",
                &h("application/xml"),
                b(b"<action/>")
            )
            .matches(&rec)
        );
    }

    #[test]
    fn distance_prefers_same_path_and_explains() {
        let r = MatchRules::default();
        let a = r.normalize("GET", "/api/vms?search=", &[], b(b""));
        let b = r.normalize("GET", "/api/templates?search=", &[], b(b""));
        let got = r.normalize("GET", "/api/vms?search=name%3Dx", &[], None);
        assert!(got.distance(&a) < got.distance(&b));
        let why = got.explain_difference(&a);
        assert_eq!(
            why,
            [
                "parameters missing from the request: search=",
                "parameters not in the recording: search=name=x"
            ]
        );
        let why = r
            .normalize("DELETE", "/api/templates", &[], None)
            .explain_difference(&b);
        assert_eq!(why[0], "method: recorded GET, got DELETE");
    }

    #[test]
    fn text_normalization() {
        assert_eq!(
            normalize_text("  <a>\n   <b>x  y</b>\n</a>\n"),
            "<a><b>x y</b></a>"
        );
        assert_eq!(normalize_text("a \n b"), "a b");
        assert_eq!(
            split_target("https://u:p@h:1/p/q?x=1#frag"),
            (Some("h"), "/p/q", "x=1")
        );
        assert_eq!(split_target("https://h?x=1"), (Some("h"), "", "x=1"));
        assert_eq!(split_target("/p"), (None, "/p", ""));
    }

    #[test]
    fn s3_virtual_hosts_match_path_style_requests() {
        let r = MatchRules::default().s3_path_style(true);
        let rec = r.normalize(
            "GET",
            "https://my-bucket.s3-eu-west-1.amazonaws.com/?location",
            &[],
            b(b""),
        );
        assert!(
            r.normalize("GET", "/my-bucket?location", &[], None)
                .matches(&rec)
        );
        assert!(
            r.normalize("GET", "/my-bucket/?location=", &[], None)
                .matches(&rec)
        );
        let rec = r.normalize("GET", "https://b.s3.amazonaws.com/dir/key.txt", &[], b(b""));
        assert!(
            r.normalize("GET", "/b/dir/key.txt", &[], None)
                .matches(&rec)
        );
        let rec = r.normalize("GET", "https://s3.amazonaws.com/", &[], b(b""));
        assert!(r.normalize("GET", "/", &[], None).matches(&rec));
        // Off by default: the virtual host is ignored like any other host.
        let plain = MatchRules::default();
        let rec = plain.normalize("GET", "https://b.s3.amazonaws.com/key", &[], b(b""));
        assert!(plain.normalize("GET", "/key", &[], None).matches(&rec));
        assert!(!plain.normalize("GET", "/b/key", &[], None).matches(&rec));
        assert_eq!(s3_bucket("ec2.us-east-1.amazonaws.com"), None);
        assert_eq!(s3_bucket("s3.amazonaws.com"), None);
        assert_eq!(s3_bucket("x.s3.eu-west-1.amazonaws.com"), Some("x"));
    }
}
