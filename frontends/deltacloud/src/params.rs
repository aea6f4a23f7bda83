//! Request parameters: the query string, a form body (`application/x-www-form-urlencoded` or
//! `multipart/form-data`), the last path segment's matrix parameters and the path's `id`, merged
//! into one ordered list (`deltacloud-api.md` §1.5). There is no JSON or XML request-body parsing
//! anywhere in `/api`.

use crate::error::ApiError;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

/// Largest request body this frontend reads (form fields only: `user_data`, `public_key`, a
/// base64 `user_iso`). Larger bodies get 413 in the frontend's error format rather than actix's
/// plain-text default.
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Parameter names whose values never appear in error documents (`deltacloud-api.md` §7.1: the
/// `request` element MUST NOT leak credentials).
const SECRET_PARAMS: [&str; 4] = ["password", "secret", "user_data", "private_key"];

/// The merged parameters of one request, in arrival order. Lookups take the *last* value of a
/// plain name (later sources override earlier ones, as Rack's `GET.merge(POST)` did); `name[]`
/// collects arrays.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn push(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.pairs.push((k.into(), v.into()));
    }

    pub(crate) fn extend_urlencoded(&mut self, input: &[u8]) {
        self.pairs
            .extend(form_urlencoded::parse(input).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// The value of `name` (the last one given).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` unless empty: HTML forms submit untouched optional fields as `""`,
    /// which means "not given".
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Every value given as `name`, `name[]` or `name[<n>]` (Rack's array forms), in order;
    /// `None` if none was given. Used for filters (`?id[]=a&id[]=b`).
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let v: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| is_array_key(k, name))
            .map(|(_, v)| v.clone())
            .collect();
        if v.is_empty() { None } else { Some(v) }
    }

    /// Distinct parameter names in arrival order (the list a §6.3 400 message shows).
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(self.pairs.len());
        for (k, _) in &self.pairs {
            if !out.contains(&k.as_str()) {
                out.push(k);
            }
        }
        out
    }

    /// Name and value of each distinct parameter for error documents, with secrets left out.
    pub(crate) fn for_error_document(&self) -> Vec<(&str, &str)> {
        self.names()
            .into_iter()
            .filter(|n| !SECRET_PARAMS.contains(n))
            .filter_map(|n| self.get(n).map(|v| (n, v)))
            .collect()
    }
}

fn is_array_key(k: &str, name: &str) -> bool {
    match k.strip_prefix(name) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with('[')
                && rest.ends_with(']')
                && !rest[1..rest.len() - 1].contains(['[', ']'])
        }
        None => false,
    }
}

/// The kinds of body this frontend parses.
pub(crate) enum BodyKind {
    UrlEncoded,
    Multipart { boundary: String },
}

/// What kind of form the `Content-Type` announces, if any. Other bodies are ignored (not an
/// error), as Sinatra ignored them.
pub(crate) fn body_kind(content_type: Option<&str>) -> Option<BodyKind> {
    let ct = content_type?;
    let mut parts = ct.split(';');
    let media = parts.next()?.trim();
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Some(BodyKind::UrlEncoded);
    }
    if media.eq_ignore_ascii_case("multipart/form-data") {
        let boundary = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())?;
        return Some(BodyKind::Multipart { boundary });
    }
    None
}

/// Read the whole body, up to [`MAX_BODY`].
pub(crate) async fn read_body(
    mut payload: actix_web::web::Payload,
    declared_len: Option<usize>,
) -> Result<Bytes, ApiError> {
    if declared_len.is_some_and(|n| n > MAX_BODY) {
        return Err(ApiError::payload_too_large());
    }
    let mut buf = BytesMut::with_capacity(declared_len.unwrap_or(0).min(MAX_BODY));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::payload_too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parse a `multipart/form-data` body into `params`. Every part becomes a parameter named by its
/// `Content-Disposition` `name`; file parts contribute their content as text (the fields that
/// carry files here, `user_data`/`user_iso`, are base64 text). Blob uploads, which must stream,
/// will get their own route.
pub(crate) fn parse_multipart(
    body: &[u8],
    boundary: &str,
    params: &mut Params,
) -> Result<(), ApiError> {
    let bad = || ApiError::bad_request("Malformed multipart/form-data body".to_owned());
    if boundary.is_empty() {
        return Err(bad());
    }
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut rest = match find(body, delim) {
        Some(i) => &body[i + delim.len()..],
        None => return Err(bad()),
    };
    loop {
        if rest.starts_with(b"--") {
            return Ok(());
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(bad)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&rest[..head_end]);
        let after_head = &rest[head_end + 4..];
        let end = find_part_end(after_head, delim).ok_or_else(bad)?;
        let content = &after_head[..end];
        if let Some(name) = disposition_name(&head) {
            params.push(name, String::from_utf8_lossy(content).into_owned());
        }
        rest = &after_head[end + 2 + delim.len()..];
    }
}

/// Position of `\r\n--boundary` after a part's content.
fn find_part_end(hay: &[u8], delim: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&hay[from..], delim) {
        let at = from + i;
        if at >= 2 && &hay[at - 2..at] == b"\r\n" {
            return Some(at - 2);
        }
        from = at + 1;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn disposition_name(head: &str) -> Option<String> {
    let line = head.split("\r\n").find(|l| {
        l.split(':')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_override_and_arrays_collect() {
        let mut p = Params::default();
        p.extend_urlencoded(b"id[]=a&id[]=b&name=x&name=y&empty=&state=RUNNING");
        assert_eq!(p.get("name"), Some("y"));
        assert_eq!(p.opt("empty"), None);
        assert!(p.has("empty"));
        assert_eq!(p.list("id"), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(p.list("state"), Some(vec!["RUNNING".to_owned()]));
        assert_eq!(p.list("nope"), None);
        assert_eq!(p.names(), vec!["id[]", "name", "empty", "state"]);
        assert!(!is_array_key("identity", "id"));
        assert!(is_array_key("id[0]", "id"));
    }

    #[test]
    fn secrets_never_reach_error_documents() {
        let mut p = Params::default();
        p.extend_urlencoded(
            b"image_id=img1&password=hunter2&user_data=abc&private_key=k&secret=s&id=x",
        );
        let shown = p.for_error_document();
        assert_eq!(shown, vec![("image_id", "img1"), ("id", "x")]);
    }

    #[test]
    fn content_types() {
        assert!(matches!(
            body_kind(Some("application/x-www-form-urlencoded; charset=utf-8")),
            Some(BodyKind::UrlEncoded)
        ));
        assert!(matches!(
            body_kind(Some("multipart/form-data; boundary=\"abc\"")),
            Some(BodyKind::Multipart { boundary }) if boundary == "abc"
        ));
        assert!(
            body_kind(Some("multipart/form-data")).is_none(),
            "no boundary, nothing to parse"
        );
        assert!(body_kind(Some("application/json")).is_none());
        assert!(body_kind(None).is_none());
    }

    #[test]
    fn multipart_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"image_id\"\r\n\r\nimg1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"user_data\"; filename=\"u.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n\
--XyZ\r\ncontent-disposition: form-data; name=empty\r\n\r\n\r\n--XyZ--\r\n";
        let mut p = Params::default();
        parse_multipart(body, "XyZ", &mut p).unwrap();
        assert_eq!(p.get("image_id"), Some("img1"));
        assert_eq!(p.get("user_data"), Some("line1\r\nline2"));
        assert_eq!(p.get("empty"), Some(""));
    }

    #[test]
    fn malformed_multipart_is_an_error() {
        let mut p = Params::default();
        assert!(parse_multipart(b"garbage", "XyZ", &mut p).is_err());
        assert!(
            parse_multipart(
                b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nno end",
                "XyZ",
                &mut p
            )
            .is_err()
        );
        assert!(parse_multipart(b"--XyZ--", "", &mut p).is_err());
        assert!(parse_multipart(b"--XyZ--\r\n", "XyZ", &mut p).is_ok());
    }
}
