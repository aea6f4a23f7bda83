//! Just enough HTTP/1.1 for loopback test servers, on blocking `std::net`.
//!
//! Why not hyper or wiremock: the servers must work from plain `#[test]`s and from any tokio
//! runtime flavour without sharing one, must be able to misbehave on purpose (hang, garbage,
//! abrupt close), and the backends under test only need HTTP/1.1 with `Content-Length` or chunked
//! bodies. A thread per connection on loopback is plenty for tests.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Limits that keep a confused client from exhausting memory.
const MAX_LINE: u64 = 64 * 1024;
const MAX_HEADERS: usize = 256;
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client asked to close (or spoke HTTP/1.0 without keep-alive).
    pub(crate) close: bool,
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// One line without its CRLF; `None` at a clean end of stream.
fn read_line(r: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(bad("line too long or truncated"));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| bad("non-UTF-8 request line or header"))
}

/// Reads the next request. `Ok(None)` means the client closed the connection between requests.
/// `writer` receives the `100 Continue` interim response when the client waits for one.
pub(crate) fn read_request(
    r: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    // Tolerate stray empty lines between pipelined requests (RFC 9112 §2.2).
    let line = loop {
        match read_line(r)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(format!("malformed request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(bad(format!("malformed request line {line:?}")));
    }
    let mut headers = Vec::new();
    loop {
        let Some(l) = read_line(r)? else {
            return Err(bad("connection closed inside the headers"));
        };
        if l.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(bad(format!("malformed header line {l:?}")));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let connection = header(&headers, "connection").map(str::to_ascii_lowercase);
    let close = match version {
        "HTTP/1.0" => !connection
            .as_deref()
            .is_some_and(|c| c.contains("keep-alive")),
        _ => connection.as_deref().is_some_and(|c| c.contains("close")),
    };
    if header(&headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let chunked = header(&headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(r)?
    } else if let Some(len) = header(&headers, "content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        body
    } else {
        Vec::new()
    };
    Ok(Some(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
        close,
    }))
}

fn read_chunked(r: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| bad("connection closed inside a chunked body"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| bad(format!("bad chunk size {size:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while read_line(r)?.is_some_and(|l| !l.is_empty()) {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(bad("chunk not followed by CRLF"));
        }
    }
}

/// Headers a replayed response must not carry verbatim: the body length is recomputed, the body
/// is stored decoded (so `Content-Encoding: gzip` would be a lie), and connection management is
/// this server's business, not the recording's.
pub(crate) fn is_hop_by_hop(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Writes a complete response with a computed `Content-Length`.
pub(crate) fn write_response(
    w: &mut impl Write,
    status: u16,
    reason: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
    head_only: bool,
    close: bool,
) -> io::Result<()> {
    let reason = reason
        .map(clean)
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| canonical_reason(status).to_owned());
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers.iter().filter(|(n, _)| !is_hop_by_hop(n)) {
        let name = clean(name);
        if name.is_empty() || name.contains(':') {
            continue;
        }
        out.push_str(&format!("{name}: {}\r\n", clean(value)));
    }
    // 1xx, 204 and 304 never carry a body or a length.
    let bodiless = status < 200 || status == 204 || status == 304;
    if !bodiless {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !bodiless && !head_only {
        bytes.extend_from_slice(body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

/// Header text cannot contain line breaks (YAML folding sometimes leaves them in recordings).
fn clean(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_owned()
}

fn canonical_reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// A loopback listener with an accept thread and a thread per connection, shut down on drop:
/// open connections are shut down (which wakes any blocked read), then every thread is joined,
/// so a test never leaks a thread that still serves the next test.
pub(crate) struct Listener {
    addr: SocketAddr,
    shared: Arc<ListenerShared>,
    accept: Option<JoinHandle<()>>,
}

struct ListenerShared {
    stop: AtomicBool,
    accepted: AtomicUsize,
    /// Clones of open connections (for shutdown) and their worker threads.
    conns: Mutex<Vec<(u64, TcpStream)>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// What a connection handler gets besides its stream.
pub(crate) struct ConnCtx {
    shared: Arc<ListenerShared>,
}

impl ConnCtx {
    /// True once the server is being dropped; long waits poll it.
    pub(crate) fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Listener {
    /// Binds 127.0.0.1 on an ephemeral port and runs `handler` for every accepted connection on
    /// its own thread.
    pub(crate) fn spawn<F>(name: &str, handler: F) -> io::Result<Self>
    where
        F: Fn(TcpStream, &ConnCtx) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ListenerShared {
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            conns: Mutex::new(Vec::new()),
            workers: Mutex::new(Vec::new()),
        });
        let handler = Arc::new(handler);
        let accept_shared = Arc::clone(&shared);
        let thread_name = format!("{name}-{}", addr.port());
        let accept = std::thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || {
                let mut next_id = 0u64;
                for stream in listener.incoming() {
                    if accept_shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accept_shared.accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_nodelay(true);
                    let id = next_id;
                    next_id += 1;
                    if let Ok(clone) = stream.try_clone() {
                        lock(&accept_shared.conns).push((id, clone));
                    }
                    let ctx = ConnCtx {
                        shared: Arc::clone(&accept_shared),
                    };
                    let handler = Arc::clone(&handler);
                    let worker = std::thread::Builder::new()
                        .name(format!("{thread_name}-conn{id}"))
                        .spawn(move || {
                            handler(stream, &ctx);
                            lock(&ctx.shared.conns).retain(|(i, _)| *i != id);
                        });
                    let mut workers = lock(&accept_shared.workers);
                    workers.retain(|w| !w.is_finished());
                    if let Ok(w) = worker {
                        workers.push(w);
                    }
                }
            })?;
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.addr)
            .field("accepted", &self.accepted())
            .finish()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a connection of our own. If that fails the thread is
        // left detached rather than risking a hang in drop.
        let woke = TcpStream::connect(self.addr).is_ok();
        if let Some(accept) = self.accept.take()
            && woke
        {
            let _ = accept.join();
        }
        for (_, conn) in lock(&self.shared.conns).drain(..) {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        let workers: Vec<_> = lock(&self.shared.workers).drain(..).collect();
        for w in workers {
            let _ = w.join();
        }
    }
}
