//! In-crate tests: each opens a fresh mock cloud in a temporary directory.

mod auth;
mod blobs;
mod capabilities;
mod compute;
mod durability;
mod network;
mod seed;
mod storage;

use crate::{MockDriver, MockOptions};
use deltacloud_core::{Credentials, ErrorKind, RequestContext, Result};

/// A mock cloud in its own temporary directory (removed on drop).
pub struct Cloud {
    pub dir: tempfile::TempDir,
    pub d: MockDriver,
}

impl Cloud {
    pub fn new() -> Self {
        Self::with(MockOptions::default())
    }

    pub fn with(options: MockOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = MockDriver::open(dir.path(), options).expect("open");
        Self { dir, d }
    }

    /// Drop the driver and open the same directory again.
    pub fn reopen(self) -> Self {
        let Self { dir, d } = self;
        let options = d.options();
        drop(d);
        let d = MockDriver::open(dir.path(), options).expect("reopen");
        Self { dir, d }
    }
}

pub fn ctx() -> RequestContext {
    RequestContext::new(Some(Credentials::new("mockuser", "mockpassword")), None)
}

pub fn anonymous() -> RequestContext {
    RequestContext::default()
}

pub fn wrong_password() -> RequestContext {
    RequestContext::new(Some(Credentials::new("mockuser", "mockpassworD")), None)
}

/// The kind of an expected error.
#[track_caller]
pub fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.kind(),
    }
}

/// The kind and message of an expected error.
#[track_caller]
pub fn err<T: std::fmt::Debug>(r: Result<T>) -> (ErrorKind, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.kind(), e.message().to_owned()),
    }
}

pub fn ids<T>(items: &[T], id: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(id).collect()
}
