//! Integration tests: the servers driven over real loopback TCP by reqwest and by hand-written
//! HTTP, and the loaders on the real recordings in `../shared` (skipped when it is absent).

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fault;
mod ovirt;
mod raw;
mod recordings;
mod replay;
mod tls;
