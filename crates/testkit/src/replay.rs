//! A loopback HTTP server that answers with recorded responses.

use std::fmt;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use crate::cassette::{Cassette, RecordedResponse};
use crate::http::{self, Listener};
use crate::matcher::{MatchRules, Normalized};

/// Status of the answer to a request that matches no recording. 599 is outside every registry,
/// so no provider could have sent it and a backend cannot mistake it for a real answer; it still
/// is a 5xx, so a backend fails the operation instead of carrying on with made-up data.
pub const UNMATCHED_STATUS: u16 = 599;

/// Replays cassettes on `127.0.0.1:<ephemeral port>`.
///
/// The server runs on its own threads with blocking sockets, so it works the same from a plain
/// `#[test]`, a `#[tokio::test]` (either flavour) or an actix test: start it, point the backend's
/// endpoint at [`ReplayServer::base_url`], run the test, then check
/// [`ReplayServer::assert_all_matched`]. Dropping it closes the port and joins its threads.
///
/// Matching and ordering:
/// * a request matches a recorded one when [`MatchRules`] say so (method, decoded path, query
///   and form parameters as a multiset without volatile ones, body); the host is ignored;
/// * several recorded interactions matching the same request are served in recorded order, and
///   once all were served the last one repeats (a polling loop sees `pending`, `running`,
///   `running`, ...);
/// * the response is replayed with its recorded status, reason, headers and body, except
///   `Content-Length`, `Transfer-Encoding`, `Content-Encoding` and `Connection`: the length is
///   recomputed, and bodies are stored decoded so a recorded `gzip` would be a lie;
/// * a request nothing matches gets [`UNMATCHED_STATUS`] with a `text/plain` body naming the
///   closest recording and what differs, and is kept in [`ReplayServer::unmatched`].
pub struct ReplayServer {
    listener: Listener,
    state: Arc<Mutex<State>>,
}

/// Identifies one recorded interaction: the cassette name and the index in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InteractionRef {
    /// [`Cassette::name`].
    pub cassette: String,
    /// Position in [`Cassette::interactions`].
    pub index: usize,
}

impl fmt::Display for InteractionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.cassette, self.index)
    }
}

/// A request as the replay server received it.
#[derive(Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// As sent (`GET`).
    pub method: String,
    /// The request target as sent: path and raw query (`/api/vms?search=`).
    pub target: String,
    /// Request headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// The decoded (de-chunked) body.
    pub body: Vec<u8>,
    /// The interaction that answered it; `None` when nothing matched.
    pub matched: Option<InteractionRef>,
}

impl SeenRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header(&self.headers, name)
    }

    /// The raw path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The decoded query and (for form bodies) form parameters, in order. Volatile parameters
    /// are *not* removed: a test may want to check that a signature is present.
    pub fn params(&self) -> Vec<(String, String)> {
        let query = self
            .target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        let mut out: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let is_form = self.header("content-type").is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if is_form {
            out.extend(form_urlencoded::parse(&self.body).into_owned());
        }
        out
    }

    /// The first value of a query or form parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Header names whose values are credentials; [`SeenRequest`]'s `Debug` prints them redacted,
/// so a failing assertion never writes a token into CI logs.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-amz-security-token",
    "x-auth-token",
];

impl fmt::Debug for SeenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let sensitive = SENSITIVE_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (
                    n.as_str(),
                    if sensitive { "<redacted>" } else { v.as_str() },
                )
            })
            .collect();
        f.debug_struct("SeenRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("matched", &self.matched)
            .finish()
    }
}

/// A request that no recording matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedRequest {
    /// The request as received.
    pub request: SeenRequest,
    /// The recording that came closest, if the server has any.
    pub closest: Option<InteractionRef>,
    /// The report that was also sent as the response body: the normalized request, the closest
    /// recording and what differs. Signatures and access keys are not in it (they are ignored
    /// parameters).
    pub explanation: String,
}

struct Entry {
    id: InteractionRef,
    norm: Normalized,
    response: RecordedResponse,
    served: usize,
}

struct State {
    rules: MatchRules,
    entries: Vec<Entry>,
    seen: Vec<SeenRequest>,
    unmatched: Vec<UnmatchedRequest>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ReplayServer {
    /// Starts serving the interactions of `cassettes` (in the order given) under `rules`.
    ///
    /// Fails only if no loopback port can be bound.
    pub fn start(
        cassettes: impl IntoIterator<Item = Cassette>,
        rules: MatchRules,
    ) -> io::Result<Self> {
        let mut entries = Vec::new();
        for cassette in cassettes {
            for (index, it) in cassette.interactions.into_iter().enumerate() {
                let req = &it.request;
                entries.push(Entry {
                    id: InteractionRef {
                        cassette: cassette.name.clone(),
                        index,
                    },
                    norm: rules.normalize(&req.method, &req.uri, &req.headers, req.body.as_deref()),
                    response: it.response,
                    served: 0,
                });
            }
        }
        let state = Arc::new(Mutex::new(State {
            rules,
            entries,
            seen: Vec::new(),
            unmatched: Vec::new(),
        }));
        let conn_state = Arc::clone(&state);
        let listener = Listener::spawn("testkit-replay", move |stream, _ctx| {
            serve_connection(stream, &conn_state);
        })?;
        Ok(Self { listener, state })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listener.addr())
    }

    /// `base_url()` followed by `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// Every request received so far, matched or not, in arrival order.
    pub fn requests_seen(&self) -> Vec<SeenRequest> {
        lock(&self.state).seen.clone()
    }

    /// The requests that matched no recording, in arrival order.
    pub fn unmatched(&self) -> Vec<UnmatchedRequest> {
        lock(&self.state).unmatched.clone()
    }

    /// Recorded interactions that were never served; useful to check that a backend made every
    /// call the recorded client made.
    pub fn unused(&self) -> Vec<InteractionRef> {
        lock(&self.state)
            .entries
            .iter()
            .filter(|e| e.served == 0)
            .map(|e| e.id.clone())
            .collect()
    }

    /// Panics with every explanation if any request went unmatched. For test code.
    #[track_caller]
    pub fn assert_all_matched(&self) {
        let unmatched = self.unmatched();
        if !unmatched.is_empty() {
            let report: Vec<String> = unmatched.iter().map(|u| u.explanation.clone()).collect();
            panic!(
                "{} request(s) matched no recording:\n\n{}",
                unmatched.len(),
                report.join("\n\n")
            );
        }
    }
}

impl fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("ReplayServer")
            .field("addr", &self.listener.addr())
            .field("interactions", &state.entries.len())
            .field("seen", &state.seen.len())
            .field("unmatched", &state.unmatched.len())
            .finish()
    }
}

impl Drop for ReplayServer {
    /// Unmatched requests are also reported on stderr, in case the test forgot to assert.
    fn drop(&mut self) {
        let state = lock(&self.state);
        if !state.unmatched.is_empty() {
            eprintln!(
                "deltacloud-testkit: replay server {} saw {} unmatched request(s); first:\n{}",
                self.listener.addr(),
                state.unmatched.len(),
                state.unmatched[0].explanation
            );
        }
    }
}

fn serve_connection(stream: TcpStream, state: &Mutex<State>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let req = match http::read_request(&mut reader, &mut writer) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let body = format!("deltacloud-testkit: cannot parse request: {e}\n");
                    let _ = http::write_response(
                        &mut writer,
                        400,
                        None,
                        &[("Content-Type".into(), "text/plain".into())],
                        body.as_bytes(),
                        false,
                        true,
                    );
                }
                return;
            }
        };
        let (status, reason, headers, body) = answer(&req, state);
        let head_only = req.method.eq_ignore_ascii_case("HEAD");
        let written = http::write_response(
            &mut writer,
            status,
            reason.as_deref(),
            &headers,
            &body,
            head_only,
            req.close,
        );
        if written.is_err() || req.close {
            return;
        }
    }
}

type Answer = (u16, Option<String>, Vec<(String, String)>, Vec<u8>);

/// Finds the response for `req` and logs it. The lock is held only for the lookup.
fn answer(req: &http::Request, state: &Mutex<State>) -> Answer {
    let mut state = lock(state);
    let norm = state
        .rules
        .normalize(&req.method, &req.target, &req.headers, Some(&req.body));
    let mut seen = SeenRequest {
        method: req.method.clone(),
        target: req.target.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        matched: None,
    };
    // Recorded order first; after every match was served, the last one repeats.
    let mut first_unserved = None;
    let mut last = None;
    for (i, e) in state.entries.iter().enumerate() {
        if norm.matches(&e.norm) {
            if first_unserved.is_none() && e.served == 0 {
                first_unserved = Some(i);
            }
            last = Some(i);
        }
    }
    if let Some(i) = first_unserved.or(last) {
        let entry = &mut state.entries[i];
        entry.served += 1;
        seen.matched = Some(entry.id.clone());
        let r = entry.response.clone();
        state.seen.push(seen);
        return (r.status, r.message, r.headers, r.body);
    }

    let closest = state.entries.iter().min_by_key(|e| norm.distance(&e.norm));
    let explanation = match closest {
        Some(e) => format!(
            "deltacloud-testkit: no recorded interaction matches\n  {norm}\nclosest recording: {}\n  {}\ndifferences:\n  - {}\n",
            e.id,
            e.norm,
            norm.explain_difference(&e.norm).join("\n  - ")
        ),
        None => format!(
            "deltacloud-testkit: no recorded interaction matches\n  {norm}\n(the replay server has no recordings)\n"
        ),
    };
    let closest = closest.map(|e| e.id.clone());
    state.seen.push(seen.clone());
    state.unmatched.push(UnmatchedRequest {
        request: seen,
        closest,
        explanation: explanation.clone(),
    });
    (
        UNMATCHED_STATUS,
        Some("Unmatched Replay Request".to_owned()),
        vec![
            (
                "Content-Type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            ),
            ("X-Testkit-Unmatched".to_owned(), "1".to_owned()),
        ],
        explanation.into_bytes(),
    )
}
