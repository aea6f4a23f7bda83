//! A streaming `multipart/form-data` reader, for the blob upload form (`POST
//! /api/buckets/:bucket`, `deltacloud-api.md` §8.9.2), whose file part must reach the driver
//! without being held in memory whole. `params.rs` keeps the simple whole-body parser for the
//! small forms of every other route.
//!
//! The reader holds at most one network chunk plus a delimiter's length of look-ahead: part
//! data is handed out as soon as it cannot be the start of the next delimiter.

use crate::error::ApiError;
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// Longest header block of one part.
const MAX_HEAD: usize = 16 * 1024;

/// The headers of one part that matter here.
#[derive(Debug, Default)]
pub(crate) struct PartHead {
    pub name: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: a part's headers, or `--` for the end.
    Head,
    /// Inside a part's data.
    Data,
    /// After the closing delimiter.
    End,
}

pub(crate) struct Multipart<S> {
    stream: S,
    buf: BytesMut,
    /// `\r\n--<boundary>`: what ends a part's data.
    delim: Vec<u8>,
    state: State,
    eof: bool,
}

fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("Malformed multipart/form-data body: {what}"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of `key="…"` (or `key=…`) in a `Content-Disposition` header.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn parse_head(raw: &[u8]) -> PartHead {
    let text = String::from_utf8_lossy(raw);
    let mut head = PartHead::default();
    for line in text.split("\r\n") {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let k = k.trim();
        if k.eq_ignore_ascii_case("content-disposition") {
            head.name = disposition_param(v, "name");
            head.filename = disposition_param(v, "filename");
        } else if k.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
    head
}

impl<S, E> Multipart<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    pub(crate) fn new(stream: S, boundary: &str) -> Self {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary.as_bytes());
        Self {
            stream,
            buf: BytesMut::new(),
            delim,
            state: State::Preamble,
            eof: false,
        }
    }

    /// Read one more network chunk into the buffer; `false` at the end of the body.
    async fn fill(&mut self) -> Result<bool, ApiError> {
        if self.eof {
            return Ok(false);
        }
        match self.stream.next().await {
            Some(Ok(b)) => {
                self.buf.extend_from_slice(&b);
                Ok(true)
            }
            Some(Err(e)) => Err(ApiError::bad_request(format!(
                "Could not read the request body: {e}"
            ))),
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// Skip the rest of the current part (if any) and read the next part's headers; `None`
    /// after the last part.
    pub(crate) async fn next_part(&mut self) -> Result<Option<PartHead>, ApiError> {
        while self.state == State::Data {
            self.next_chunk().await?;
        }
        if self.state == State::Preamble {
            // The first delimiter has no leading CRLF when the body starts with it.
            let first = self.delim.get(2..).map(<[u8]>::to_vec).unwrap_or_default();
            loop {
                if let Some(i) = find(&self.buf, &first) {
                    let _ = self.buf.split_to(i + first.len());
                    self.state = State::Head;
                    break;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(bad("no boundary"));
                }
                if !self.fill().await? {
                    return Err(bad("no boundary"));
                }
            }
        }
        if self.state == State::End {
            return Ok(None);
        }
        // After a delimiter: `--` ends the body, else CRLF and the headers up to a blank line.
        loop {
            if self.buf.len() >= 2 {
                if self.buf.starts_with(b"--") {
                    self.state = State::End;
                    return Ok(None);
                }
                if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                    let raw = self.buf.split_to(i + 4);
                    let head = raw.get(..i).unwrap_or_default();
                    let head = head.strip_prefix(b"\r\n").unwrap_or(head);
                    self.state = State::Data;
                    return Ok(Some(parse_head(head)));
                }
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("part headers too long"));
            }
            if !self.fill().await? {
                return Err(bad("truncated part headers"));
            }
        }
    }

    /// The next piece of the current part's data; `None` at its end.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.state != State::Data {
            return Ok(None);
        }
        loop {
            if let Some(i) = find(&self.buf, &self.delim) {
                if i > 0 {
                    return Ok(Some(self.buf.split_to(i).freeze()));
                }
                let _ = self.buf.split_to(self.delim.len());
                self.state = State::Head;
                return Ok(None);
            }
            // Everything but a possible delimiter prefix at the end is data.
            let safe = self.buf.len().saturating_sub(self.delim.len() - 1);
            if safe > 0 {
                return Ok(Some(self.buf.split_to(safe).freeze()));
            }
            if !self.fill().await? {
                return Err(bad("truncated part"));
            }
        }
    }

    /// The current part's data as text, refusing more than `limit` bytes (form fields).
    pub(crate) async fn text(&mut self, limit: usize) -> Result<String, ApiError> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk().await? {
            if out.len() + c.len() > limit {
                return Err(ApiError::payload_too_large());
            }
            out.extend_from_slice(&c);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn body(chunk: usize) -> (Vec<Result<Bytes, std::convert::Infallible>>, &'static str) {
        let raw = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"blob_id\"\r\n\r\nb1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"blob_data\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--Xy world\r\n--XyZ\r\nContent-Disposition: form-data; name=\"meta_params\"\r\n\r\n0\r\n--XyZ--\r\n";
        (
            raw.chunks(chunk)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect(),
            "XyZ",
        )
    }

    #[actix_web::test]
    async fn parts_in_any_chunking() {
        for size in [1, 2, 3, 7, 16, 1000] {
            let (chunks, b) = body(size);
            let mut m = Multipart::new(stream::iter(chunks), b);
            let h = m.next_part().await.unwrap().unwrap();
            assert_eq!(h.name.as_deref(), Some("blob_id"));
            assert_eq!(m.text(100).await.unwrap(), "b1");
            let h = m.next_part().await.unwrap().unwrap();
            assert_eq!(h.name.as_deref(), Some("blob_data"));
            assert_eq!(h.filename.as_deref(), Some("f.txt"));
            assert_eq!(h.content_type.as_deref(), Some("text/plain"));
            assert_eq!(
                m.text(100).await.unwrap(),
                "hello\r\n--Xy world",
                "size {size}"
            );
            let h = m.next_part().await.unwrap().unwrap();
            assert_eq!(h.name.as_deref(), Some("meta_params"));
            assert!(m.next_part().await.unwrap().is_none(), "skips unread data");
        }
    }

    #[actix_web::test]
    async fn truncated_body_is_an_error() {
        let raw = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc";
        let mut m = Multipart::new(
            stream::iter(vec![Ok::<_, std::convert::Infallible>(Bytes::from_static(
                raw,
            ))]),
            "XyZ",
        );
        assert!(m.next_part().await.unwrap().is_some());
        assert_eq!(m.text(100).await.unwrap_err().status.as_u16(), 400);
    }
}
