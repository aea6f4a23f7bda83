//! Servers that misbehave on purpose, for a backend's timeout and fault classification tests.
//!
//! Each fault maps to one error class a backend must tell apart (see stack.md §4): a hang is a
//! timeout (504), a refused connection, a 5xx, garbage and an undecodable body are provider
//! failures (502).

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::http::{self, ConnCtx, Listener};

/// How a [`FaultServer`] treats every connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Accepts and reads the request, then never answers; the connection stays open until the
    /// client gives up or the server is dropped. Drives read-timeout tests.
    Hang,
    /// Answers every request with this status and body (keep-alive). The `Content-Type` follows
    /// the body: `application/xml` if it starts with `<`, `application/json` if with `{` or `[`,
    /// `text/plain` otherwise.
    Status(u16, String),
    /// Reads the request, writes bytes that are not HTTP at all, then closes.
    Garbage,
    /// A well-formed `200 OK` with `Content-Type: application/xml` whose body is neither XML,
    /// JSON nor UTF-8: drives "undecodable provider response" tests.
    Undecodable,
    /// Closes every connection as soon as it is accepted, before reading anything.
    CloseImmediately,
    /// Waits this long after reading each request, then behaves like the inner fault. Drives
    /// tests that a slow-but-in-time provider is not treated as a timeout (and vice versa).
    Delay(Duration, Box<Fault>),
}

/// The bytes [`Fault::Garbage`] sends.
pub const GARBAGE: &[u8] = b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n\x7f";

/// The body [`Fault::Undecodable`] sends: invalid UTF-8 inside something that starts like XML.
pub const UNDECODABLE_BODY: &[u8] = b"<?xml version=\"1.0\"?>\n<response><\xff\xfe unclosed \x00";

/// A loopback server exhibiting one [`Fault`].
#[derive(Debug)]
pub struct FaultServer {
    listener: Listener,
    fault: Fault,
}

impl FaultServer {
    /// Starts the server on `127.0.0.1:<ephemeral port>`. Fails only if no port can be bound.
    pub fn start(fault: Fault) -> io::Result<Self> {
        let behaviour = fault.clone();
        let listener = Listener::spawn("testkit-fault", move |stream, ctx| {
            serve(stream, &behaviour, ctx);
        })?;
        Ok(Self { listener, fault })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listener.addr())
    }

    /// `base_url()` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// The fault this server exhibits.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    /// How many connections were accepted so far; lets a test assert how often a backend retried.
    pub fn connections(&self) -> usize {
        self.listener.accepted()
    }
}

/// A loopback address on which connections are refused right now.
///
/// It binds an ephemeral port and releases it, so nothing listens there. Another process could
/// grab the same port in between, but the kernel hands out ephemeral ports in rotation, so that
/// is very unlikely within a test's lifetime.
pub fn refused_addr() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    listener.local_addr()
}

/// [`refused_addr`] as `http://127.0.0.1:<port>`.
pub fn refused_url() -> io::Result<String> {
    Ok(format!("http://{}", refused_addr()?))
}

fn serve(stream: TcpStream, fault: &Fault, ctx: &ConnCtx) {
    if *fault == Fault::CloseImmediately {
        // Dropping the stream closes it; a client that already sent its request sees a reset.
        drop(stream);
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let Ok(Some(req)) = http::read_request(&mut reader, &mut writer) else {
            return;
        };
        if !respond(fault, &req, &mut reader, &mut writer, ctx) || req.close {
            return;
        }
    }
}

/// Acts on one request; returns whether the connection may serve another.
fn respond(
    fault: &Fault,
    req: &http::Request,
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    ctx: &ConnCtx,
) -> bool {
    match fault {
        Fault::Hang => {
            // Block until the client closes or the server's drop shuts the socket down; discard
            // anything else the client sends.
            let mut sink = [0u8; 4096];
            while !ctx.stopping() && matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
            false
        }
        Fault::Status(code, body) => {
            let ct = if body.starts_with('<') {
                "application/xml"
            } else if body.starts_with(['{', '[']) {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            http::write_response(
                writer,
                *code,
                None,
                &[("Content-Type".into(), ct.into())],
                body.as_bytes(),
                req.method.eq_ignore_ascii_case("HEAD"),
                req.close,
            )
            .is_ok()
        }
        Fault::Garbage => {
            let _ = writer.write_all(GARBAGE).and_then(|()| writer.flush());
            let _ = writer.shutdown(std::net::Shutdown::Write);
            false
        }
        Fault::Undecodable => http::write_response(
            writer,
            200,
            None,
            &[("Content-Type".into(), "application/xml".into())],
            UNDECODABLE_BODY,
            req.method.eq_ignore_ascii_case("HEAD"),
            req.close,
        )
        .is_ok(),
        Fault::CloseImmediately => false,
        Fault::Delay(delay, inner) => {
            let until = Instant::now() + *delay;
            while Instant::now() < until {
                if ctx.stopping() {
                    return false;
                }
                std::thread::sleep(
                    Duration::from_millis(5).min(until.saturating_duration_since(Instant::now())),
                );
            }
            if **inner == Fault::CloseImmediately {
                return false;
            }
            respond(inner, req, reader, writer, ctx)
        }
    }
}
