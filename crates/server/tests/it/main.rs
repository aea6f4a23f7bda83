//! Integration tests of `deltacloudd`: one test binary for the whole crate (`autotests = false`),
//! one module per area. They start the real binary, so they exercise argument parsing,
//! configuration layering and the wiring exactly as a user or systemd would.

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod blobs;
mod cimi;
mod cimi_more;
mod common;
mod config;
mod ec2;
mod ec2_backend;
mod ec2_elb;
mod ec2_s3;
mod explorer;
mod lifecycle;
mod network;
mod persistence;
mod rhevm;
mod startup;
mod storage;
mod switching;
