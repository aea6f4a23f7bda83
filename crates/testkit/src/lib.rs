//! Test kit for backend tests: replay recorded provider conversations, and misbehave on purpose.
//!
//! Backend tests must exercise the real HTTP client code against what providers really sent,
//! without a provider and without stubbing our own code. So this crate serves recordings (VCR
//! cassettes and oVirt SDK inventories, see [`cassette`]) from a loopback [`ReplayServer`], and
//! offers [`FaultServer`]s plus [`refused_addr`] for the timeout/5xx/garbage/refused cases.
//!
//! Both servers are plain threads with blocking sockets on `127.0.0.1:<ephemeral port>`: they
//! work from sync tests and from any async runtime, never block the test's runtime, and shut down
//! (port closed, threads joined) when dropped.
//!
//! # Replaying a recording
//!
//! ```no_run
//! use deltacloud_testkit::{Cassette, MatchRules, ReplayServer};
//!
//! let cassette = Cassette::load("fixtures/recordings/ec2/keys.yml")?; // VCR or inventory
//! let server = ReplayServer::start([cassette], MatchRules::aws_query())?;
//! // Point the backend at server.base_url() (http://127.0.0.1:PORT) and run it ...
//! server.assert_all_matched(); // panics listing every request no recording matched
//! assert!(server.requests_seen()[0].header("user-agent").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Which [`MatchRules`] to use:
//! * **EC2/S3** (SigV2 GETs at API 2010-08-31 in the recordings): [`MatchRules::aws_query`]
//!   ignores signature, timestamp, access key and `Version`, and lets a signed POST form match a
//!   recorded GET query. Add `.s3_path_style(true)` for S3 recordings made against
//!   `BUCKET.s3.amazonaws.com`.
//! * **rhevm / oVirt** (REST, XML bodies): [`MatchRules::default`]. Requests that create things
//!   carry generated names in the body (`<name>i-1362696169</name>`): use
//!   `.body(BodyMatch::Ignore)` unless the test controls the name. The v3 recordings send
//!   `?search=` on list calls; `.drop_empty_params(true)` makes that optional. The oVirt v4
//!   inventory records no request bodies, so bodies never prevent a match there.
//! * **OpenStack** (JSON): [`MatchRules::default`]; JSON bodies compare as values.
//!
//! When the same request was recorded several times (polling an instance until it runs), the
//! answers come back in recorded order and the last one repeats. A request nothing matches gets
//! status [`UNMATCHED_STATUS`] (599) with a body that names the closest recording and what
//! differs, and lands in [`ReplayServer::unmatched`].
//!
//! # Faults
//!
//! ```no_run
//! use std::time::Duration;
//! use deltacloud_testkit::{Fault, FaultServer, refused_url};
//!
//! let hang = FaultServer::start(Fault::Hang)?;          // expect a timeout (504)
//! let boom = FaultServer::start(Fault::Status(500, "<Response/>".into()))?; // 502
//! let junk = FaultServer::start(Fault::Garbage)?;        // 502
//! let bad = FaultServer::start(Fault::Undecodable)?;     // 502
//! let slow = FaultServer::start(Fault::Delay(Duration::from_millis(200), Box::new(Fault::Hang)))?;
//! let refused = refused_url()?;                          // connection refused (502)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A stateful fake oVirt engine
//!
//! Replaying recordings cannot follow a VM from `image_locked` to `up`, so [`ovirt::FakeEngine`]
//! is a small stateful oVirt (API v4) engine for end-to-end tests of the rhevm backend: seeded
//! with the recorded inventory's data centers, templates and VMs, plus a storage domain and
//! disks, with sessions, SSO bearer tokens, the engine's 409 faults and a hang mode. It writes
//! its XML itself, independent of the backend's serde structs, so a shape mismatch between the
//! backend and the engine fails a test instead of passing on both sides.
//!
//! # HTTPS
//!
//! Providers are HTTPS, often behind an operator's private CA. [`tls::TlsProxy`] puts TLS in
//! front of any of these servers (or anything else on loopback TCP), with a certificate for
//! `localhost` and `127.0.0.1` from a CA generated per proxy, so a test can prove that a backend's
//! CA option is what makes the handshake succeed.
//!
//! # Where recordings are
//!
//! Recordings live in `../shared/recordings` on developer machines and in CI, but the project
//! must build and test without it: copy what a test needs into `fixtures/` ([`fixtures_dir`]),
//! or locate it with [`shared_recording`] and skip (with a printed note) when that returns
//! `None`.

pub mod cassette;
mod error;
mod fault;
mod http;
mod matcher;
pub mod ovirt;
mod paths;
mod replay;
pub mod tls;

pub use cassette::{Cassette, Interaction, RecordedRequest, RecordedResponse};
pub use error::{Result, TestkitError};
pub use fault::{Fault, FaultServer, GARBAGE, UNDECODABLE_BODY, refused_addr, refused_url};
pub use matcher::{AWS_VOLATILE_PARAMS, BodyMatch, MatchRules};
pub use paths::{SHARED_DIR_ENV, fixtures_dir, shared_dir, shared_recording, workspace_dir};
pub use replay::{InteractionRef, ReplayServer, SeenRequest, UNMATCHED_STATUS, UnmatchedRequest};
