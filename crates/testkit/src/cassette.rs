//! Recorded provider conversations and their two on-disk formats.
//!
//! * **VCR** (Ruby VCR 2.x, used by every file under `recordings/{ec2,openstack,rhevm}` and
//!   `recordings/ovirt-v4/vm_fetch_disks.yml`): a top-level `http_interactions` list, each with a
//!   `request` (`method`, `uri`, `headers`, `body.string`) and a `response` (`status.code`,
//!   `status.message`, `headers`, `body.string`). Psych writes non-specific tags (`! '*/*'`) and
//!   header values either as a list or, when hand-edited, as a plain string; both are accepted.
//! * **Inventory** (`recordings/ovirt-v4/inventory.yml`, written by the oVirt Ruby SDK's test
//!   helpers): a mapping whose keys are `URL{query}METHOD`, where `{query}` is a Ruby `Hash#inspect`
//!   (`{}` or `{:search=>"status=up"}`), and whose values are lists of responses with `:body`,
//!   `:code`, `:headers` and `:message`. A list with several responses means the same request was
//!   answered differently over time, so they become consecutive interactions that the replay
//!   server serves in order. The format records no request body or headers.
//!
//! Both loaders produce the same [`Cassette`], so the replay server does not care where an
//! interaction came from.

use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use serde_norway::Value;

use crate::error::{Result, TestkitError};

/// A named, ordered list of recorded request/response pairs.
///
/// Fields are public on purpose: a test may patch a recorded response (say, a different instance
/// state) or build a cassette from scratch with [`Cassette::new`] and [`Interaction::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cassette {
    /// Shown in mismatch reports: the file stem for loaded files, `inline` otherwise.
    pub name: String,
    /// In recorded order; the order decides which of several identical requests is answered first.
    pub interactions: Vec<Interaction>,
}

/// One recorded request and the response the provider gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// What the recorded client sent.
    pub request: RecordedRequest,
    /// What the provider answered.
    pub response: RecordedResponse,
}

/// A recorded request. Only method, URI and body take part in matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Upper case (`GET`), whatever the file said.
    pub method: String,
    /// As recorded: usually absolute (`https://host/path?query`); scheme, credentials and host
    /// are ignored when matching because the backend under test talks to the replay server.
    pub uri: String,
    /// Recorded request headers in file order (a list value becomes several entries).
    pub headers: Vec<(String, String)>,
    /// `None` when the format records no body (the inventory format); such a request matches any
    /// body.
    pub body: Option<Vec<u8>>,
}

/// A recorded response, replayed byte for byte (see `ReplayServer` for the headers it drops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// The reason phrase, when recorded.
    pub message: Option<String>,
    /// Recorded response headers in file order.
    pub headers: Vec<(String, String)>,
    /// The body as the recording client saw it (already decompressed).
    pub body: Vec<u8>,
}

impl Cassette {
    /// A cassette built in code, for tests that need a response no recording has.
    pub fn new(name: impl Into<String>, interactions: Vec<Interaction>) -> Self {
        Self {
            name: name.into(),
            interactions,
        }
    }

    /// Parses VCR cassette text; the cassette is named `inline`.
    pub fn from_yaml_str(yaml: &str) -> Result<Self> {
        parse_vcr(yaml, "inline")
    }

    /// Parses oVirt SDK inventory text (`URL{query}METHOD` keys); the cassette is named `inline`.
    pub fn from_inventory_yaml_str(yaml: &str) -> Result<Self> {
        parse_inventory(yaml, "inline")
    }

    /// Reads a cassette file in either format, named after the file stem.
    ///
    /// The format is detected from the content: a top-level `http_interactions` key means VCR,
    /// anything else is tried as an inventory (whose keys are validated, so a random YAML file
    /// is rejected with a message rather than loaded as nothing).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TestkitError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let mut cassette = if looks_like_vcr(&text) {
            parse_vcr(&text, &origin)?
        } else {
            parse_inventory(&text, &origin)?
        };
        cassette.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(origin);
        Ok(cassette)
    }

    /// Renames the cassette (the name appears in mismatch reports).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.interactions.len()
    }

    /// True when the cassette holds no interaction.
    pub fn is_empty(&self) -> bool {
        self.interactions.is_empty()
    }
}

impl Interaction {
    /// A minimal interaction: `method uri` answered by `status` with `body` and no headers.
    /// The recorded request body is empty, so it matches requests without a body.
    pub fn new(method: &str, uri: &str, status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            request: RecordedRequest {
                method: method.to_ascii_uppercase(),
                uri: uri.to_owned(),
                headers: Vec::new(),
                body: Some(Vec::new()),
            },
            response: RecordedResponse {
                status,
                message: None,
                headers: Vec::new(),
                body: body.into(),
            },
        }
    }

    /// Sets the recorded request body (with its `Content-Type`, which decides how it is
    /// compared: form parameters, JSON or text).
    #[must_use]
    pub fn with_request_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        self.request
            .headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.request.body = Some(body.into());
        self
    }

    /// Recorded request body `None`: the request matches whatever body is sent.
    #[must_use]
    pub fn with_any_request_body(mut self) -> Self {
        self.request.body = None;
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_response_header(mut self, name: &str, value: &str) -> Self {
        self.response
            .headers
            .push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Cheap detection that avoids parsing large files twice: VCR files start with a `---` line and
/// then either `http_interactions:` or `recorded_with:` at column 0.
fn looks_like_vcr(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("http_interactions:") || l.starts_with("recorded_with:"))
}

// ---------------------------------------------------------------------------------------------
// VCR

#[derive(Deserialize)]
struct VcrFile {
    http_interactions: Vec<VcrInteraction>,
}

#[derive(Deserialize)]
struct VcrInteraction {
    request: VcrRequest,
    response: VcrResponse,
}

#[derive(Deserialize)]
struct VcrRequest {
    method: Value,
    uri: Value,
    #[serde(default)]
    headers: Value,
    #[serde(default)]
    body: Option<VcrBody>,
}

#[derive(Deserialize)]
struct VcrResponse {
    status: VcrStatus,
    #[serde(default)]
    headers: Value,
    #[serde(default)]
    body: Option<VcrBody>,
}

#[derive(Deserialize)]
struct VcrStatus {
    code: Value,
    #[serde(default)]
    message: Value,
}

#[derive(Deserialize)]
struct VcrBody {
    #[serde(default)]
    string: Value,
    /// VCR writes binary bodies base64-encoded under this key instead of `string`.
    #[serde(default)]
    base64_string: Value,
}

fn parse_vcr(yaml: &str, origin: &str) -> Result<Cassette> {
    let file: VcrFile = serde_norway::from_str(yaml).map_err(|source| TestkitError::Yaml {
        origin: origin.to_owned(),
        source,
    })?;
    let format = |i: usize, message: String| TestkitError::Format {
        origin: origin.to_owned(),
        message: format!("http_interactions[{i}]: {message}"),
    };
    let mut interactions = Vec::with_capacity(file.http_interactions.len());
    for (i, it) in file.http_interactions.into_iter().enumerate() {
        let method = scalar(&it.request.method)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| format(i, "request.method is missing".into()))?
            .to_ascii_uppercase();
        let uri = scalar(&it.request.uri)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| format(i, "request.uri is missing".into()))?;
        let status = status_code(&it.response.status.code)
            .ok_or_else(|| format(i, "response.status.code is not an HTTP status".into()))?;
        let request_body = match it.request.body {
            Some(b) => body_bytes(&b).map_err(|m| format(i, format!("request.body: {m}")))?,
            None => Vec::new(),
        };
        let response_body = match it.response.body {
            Some(b) => body_bytes(&b).map_err(|m| format(i, format!("response.body: {m}")))?,
            None => Vec::new(),
        };
        interactions.push(Interaction {
            request: RecordedRequest {
                method,
                uri,
                headers: headers(&it.request.headers),
                body: Some(request_body),
            },
            response: RecordedResponse {
                status,
                message: scalar(&it.response.status.message).filter(|m| !m.is_empty()),
                headers: headers(&it.response.headers),
                body: response_body,
            },
        });
    }
    Ok(Cassette::new("inline", interactions))
}

fn body_bytes(body: &VcrBody) -> std::result::Result<Vec<u8>, String> {
    if let Some(b64) = scalar(&body.base64_string) {
        // VCR wraps base64 at 60 columns; YAML folding may leave spaces or newlines in it.
        let compact: String = b64.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| format!("base64_string is not base64: {e}"));
    }
    Ok(scalar(&body.string).unwrap_or_default().into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Inventory (oVirt SDK)

#[derive(Deserialize)]
struct InventoryResponse {
    #[serde(rename = ":body", default)]
    body: Value,
    #[serde(rename = ":code", default)]
    code: Value,
    #[serde(rename = ":headers", default)]
    headers: Value,
    #[serde(rename = ":message", default)]
    message: Value,
}

fn parse_inventory(yaml: &str, origin: &str) -> Result<Cassette> {
    let yaml_err = |source| TestkitError::Yaml {
        origin: origin.to_owned(),
        source,
    };
    let format = |message: String| TestkitError::Format {
        origin: origin.to_owned(),
        message,
    };
    let root: Value = serde_norway::from_str(yaml).map_err(yaml_err)?;
    let Value::Mapping(map) = root else {
        return Err(format(
            "expected a mapping of `URL{query}METHOD` keys (inventory format) or `http_interactions` (VCR)"
                .into(),
        ));
    };
    let mut interactions = Vec::new();
    for (key, value) in map {
        let key = scalar(&key).ok_or_else(|| format("a key is not a string".into()))?;
        let (method, uri) =
            parse_inventory_key(&key).map_err(|m| format(format!("key {key:?}: {m}")))?;
        let responses: Vec<InventoryResponse> =
            serde_norway::from_value(value).map_err(yaml_err)?;
        for (i, r) in responses.into_iter().enumerate() {
            let status = match &r.code {
                Value::Null => 200,
                code => status_code(code).ok_or_else(|| {
                    format(format!("key {key:?}[{i}]: :code is not an HTTP status"))
                })?,
            };
            interactions.push(Interaction {
                request: RecordedRequest {
                    method: method.clone(),
                    uri: uri.clone(),
                    headers: Vec::new(),
                    body: None,
                },
                response: RecordedResponse {
                    status,
                    message: scalar(&r.message).filter(|m| !m.is_empty()),
                    headers: headers(&r.headers),
                    body: scalar(&r.body).unwrap_or_default().into_bytes(),
                },
            });
        }
    }
    Ok(Cassette::new("inline", interactions))
}

/// Splits `https://host/path{:search=>"status=up"}GET` into `GET` and
/// `https://host/path?search=status%3Dup`.
fn parse_inventory_key(key: &str) -> std::result::Result<(String, String), String> {
    let close = key
        .rfind('}')
        .ok_or("expected `URL{query}METHOD` (no closing brace)")?;
    let method = &key[close + 1..];
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("{method:?} after the query is not an HTTP method"));
    }
    let open = key[..close]
        .find('{')
        .ok_or("expected `URL{query}METHOD` (no opening brace)")?;
    let url = &key[..open];
    if url.is_empty() {
        return Err("the URL is empty".into());
    }
    let pairs = parse_ruby_hash(&key[open + 1..close])?;
    let uri = if pairs.is_empty() {
        url.to_owned()
    } else {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{query}")
    };
    Ok((method.to_ascii_uppercase(), uri))
}

/// Parses the inside of a Ruby `Hash#inspect` with symbol or string keys and string or bare
/// (numbers, `true`, `nil`) values: `:search=>"status=up", :max=>10`. `nil` becomes an empty
/// string, which is how the SDK would have sent it.
fn parse_ruby_hash(s: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut chars = s.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        skip_ws(&mut chars);
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let key = match chars.peek() {
            Some(':') => {
                chars.next();
                if chars.peek() == Some(&'"') {
                    ruby_string(&mut chars)?
                } else {
                    bare(&mut chars, |c| c == '=' || c.is_whitespace())
                }
            }
            Some('"') => ruby_string(&mut chars)?,
            _ => {
                return Err(format!(
                    "cannot parse query hash {s:?}: expected :symbol or \"string\" key"
                ));
            }
        };
        skip_ws(&mut chars);
        if !(chars.next() == Some('=') && chars.next() == Some('>')) {
            return Err(format!(
                "cannot parse query hash {s:?}: expected `=>` after {key:?}"
            ));
        }
        skip_ws(&mut chars);
        let value = if chars.peek() == Some(&'"') {
            ruby_string(&mut chars)?
        } else {
            let v = bare(&mut chars, |c| c == ',');
            let v = v.trim();
            if v == "nil" {
                String::new()
            } else {
                v.to_owned()
            }
        };
        pairs.push((key, value));
        skip_ws(&mut chars);
        match chars.next() {
            None => return Ok(pairs),
            Some(',') => {}
            Some(c) => return Err(format!("cannot parse query hash {s:?}: unexpected {c:?}")),
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_ws(chars: &mut Chars<'_>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

fn bare(chars: &mut Chars<'_>, stop: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next_if(|c| !stop(*c)) {
        out.push(c);
    }
    out
}

/// A double-quoted Ruby string as `inspect` writes it.
fn ruby_string(chars: &mut Chars<'_>) -> std::result::Result<String, String> {
    chars.next(); // opening quote
    let mut out = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated string in query hash".into()),
            Some('"') => return Ok(out),
            Some('\\') => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('e') => out.push('\u{1b}'),
                Some(c) => out.push(c),
                None => return Err("unterminated escape in query hash".into()),
            },
            Some(c) => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// YAML helpers

/// A scalar as text. YAML may type `'978'` as a string but `978` as a number, and Psych tags
/// strings with `!`; all of them are text to HTTP.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

fn status_code(v: &Value) -> Option<u16> {
    scalar(v)?
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|c| (100..=999).contains(c))
}

/// Header maps: `Name: [v1, v2]`, `Name: v`, or `Name:` (null, dropped).
fn headers(v: &Value) -> Vec<(String, String)> {
    let Value::Mapping(map) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in map {
        let Some(name) = scalar(name) else { continue };
        match value {
            Value::Sequence(items) => {
                out.extend(items.iter().filter_map(scalar).map(|v| (name.clone(), v)));
            }
            other => {
                if let Some(v) = scalar(other) {
                    out.push((name, v));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VCR: &str = r#"---
http_interactions:
- request:
    method: get
    uri: https://user:pw@ec2.example.com/?Action=DescribeKeyPairs&Version=2010-08-31
    body:
      encoding: US-ASCII
      string: ""
    headers:
      Accept:
      - ! '*/*'
      Authorization: Basic abc
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Type:
      - text/xml;charset=UTF-8
      Set-Cookie:
      - a=1
      - b=2
      Content-Length:
      - '17'
    body:
      encoding: UTF-8
      string: ! '<keys>one</keys>'
    http_version:
  recorded_at: Tue, 28 Aug 2012 23:23:36 GMT
- request:
    method: post
    uri: http://h/v2.0/tokens
    body:
      string: '{"auth":{}}'
    headers:
  response:
    status:
      code: '401'
      message:
    headers:
    body:
      encoding: ASCII-8BIT
      base64_string: |
        AAEC
        /w==
recorded_with: VCR 2.4.0
"#;

    #[test]
    fn vcr_loader_reads_requests_responses_and_header_shapes() {
        let c = Cassette::from_yaml_str(VCR).unwrap();
        assert_eq!(c.name, "inline");
        assert_eq!(c.len(), 2);
        let first = &c.interactions[0];
        assert_eq!(first.request.method, "GET");
        assert_eq!(
            first.request.uri,
            "https://user:pw@ec2.example.com/?Action=DescribeKeyPairs&Version=2010-08-31"
        );
        assert_eq!(
            first.request.headers,
            vec![
                ("Accept".to_owned(), "*/*".to_owned()),
                ("Authorization".to_owned(), "Basic abc".to_owned())
            ]
        );
        assert_eq!(first.request.body.as_deref(), Some(&b""[..]));
        assert_eq!(first.response.status, 200);
        assert_eq!(first.response.message.as_deref(), Some("OK"));
        assert_eq!(first.response.body, b"<keys>one</keys>");
        let cookies: Vec<_> = first
            .response
            .headers
            .iter()
            .filter(|(n, _)| n == "Set-Cookie")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"]);

        let second = &c.interactions[1];
        assert_eq!(second.request.method, "POST");
        assert_eq!(second.request.body.as_deref(), Some(&br#"{"auth":{}}"#[..]));
        assert!(second.request.headers.is_empty());
        assert_eq!(second.response.status, 401);
        assert_eq!(second.response.message, None);
        assert_eq!(second.response.body, [0u8, 1, 2, 0xff]);
    }

    #[test]
    fn vcr_loader_rejects_bad_input_with_a_message() {
        let err = Cassette::from_yaml_str("just: text").unwrap_err();
        assert!(err.to_string().contains("http_interactions"), "{err}");
        let err = Cassette::from_yaml_str(
            "http_interactions:\n- request: {method: get, uri: /}\n  response: {status: {code: abc}}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("http_interactions[0]"), "{err}");
        assert!(Cassette::from_yaml_str("http_interactions: [").is_err());
    }

    const INVENTORY: &str = r#"---
https://ovirt.example.com:443/ovirt-engine/api/vms{}GET:
- :body: |
    <vms/>
  :code: 200
  :headers:
    content-encoding: gzip
    content-type: application/xml
  :message:
- :body: <vms><vm id="1"/></vms>
  :code: 200
  :headers:
    content-type: application/xml
  :message: OK
https://ovirt.example.com:443/ovirt-engine/api/datacenters{:search=>"status=up", "max"=>10, :x=>nil}GET:
- :body: <data_centers/>
  :code: 200
  :headers: {}
  :message:
"#;

    #[test]
    fn inventory_loader_expands_keys_and_keeps_response_order() {
        let c = Cassette::from_inventory_yaml_str(INVENTORY).unwrap();
        assert_eq!(c.len(), 3);
        let uris: Vec<_> = c
            .interactions
            .iter()
            .map(|i| i.request.uri.as_str())
            .collect();
        assert_eq!(
            uris,
            [
                "https://ovirt.example.com:443/ovirt-engine/api/vms",
                "https://ovirt.example.com:443/ovirt-engine/api/vms",
                "https://ovirt.example.com:443/ovirt-engine/api/datacenters?search=status%3Dup&max=10&x=",
            ]
        );
        assert!(c.interactions.iter().all(|i| i.request.method == "GET"));
        assert!(c.interactions.iter().all(|i| i.request.body.is_none()));
        assert_eq!(c.interactions[0].response.body, b"<vms/>\n");
        assert_eq!(
            c.interactions[1].response.body,
            br#"<vms><vm id="1"/></vms>"#
        );
        assert_eq!(c.interactions[1].response.message.as_deref(), Some("OK"));
        assert_eq!(
            c.interactions[0].response.headers[1],
            ("content-type".to_owned(), "application/xml".to_owned())
        );
    }

    #[test]
    fn inventory_keys_are_validated() {
        assert!(parse_inventory_key("https://h/x{}").is_err());
        assert!(parse_inventory_key("https://h/x").is_err());
        assert!(parse_inventory_key("https://h/x{:a=>}GET").is_ok());
        assert!(parse_inventory_key("https://h/x{a}GET").is_err());
        assert!(parse_inventory_key("https://h/x{:a=>\"b}GET").is_err());
        assert_eq!(
            parse_inventory_key(r#"https://h/x{:q=>"a \"b\" c"}post"#).unwrap(),
            ("POST".to_owned(), "https://h/x?q=a+%22b%22+c".to_owned())
        );
        let err = Cassette::from_inventory_yaml_str("foo: bar").unwrap_err();
        assert!(err.to_string().contains("foo"), "{err}");
        let err = Cassette::from_inventory_yaml_str("- a\n- b\n").unwrap_err();
        assert!(err.to_string().contains("mapping"), "{err}");
    }

    #[test]
    fn builder_interactions() {
        let i = Interaction::new("post", "/x", 201, "made")
            .with_request_body("application/json", "{}")
            .with_response_header("Location", "/x/1");
        assert_eq!(i.request.method, "POST");
        assert_eq!(
            i.request.headers,
            [("Content-Type".into(), "application/json".into())]
        );
        assert_eq!(i.response.headers, [("Location".into(), "/x/1".into())]);
        assert!(i.with_any_request_body().request.body.is_none());
    }

    #[test]
    fn load_detects_format_and_names_the_cassette() {
        let dir = std::env::temp_dir().join(format!("testkit-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vcr = dir.join("keys.yml");
        let inv = dir.join("inventory.yml");
        std::fs::write(&vcr, VCR).unwrap();
        std::fs::write(&inv, INVENTORY).unwrap();
        let a = Cassette::load(&vcr).unwrap();
        let b = Cassette::load(&inv).unwrap();
        assert_eq!((a.name.as_str(), a.len()), ("keys", 2));
        assert_eq!((b.name.as_str(), b.len()), ("inventory", 3));
        let missing = Cassette::load(dir.join("nope.yml")).unwrap_err();
        assert!(matches!(missing, TestkitError::Io { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
