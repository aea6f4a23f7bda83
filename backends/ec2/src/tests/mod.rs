//! Backend tests: wire parsing (real EC2 and moto spellings), replay of the recorded EC2
//! conversations, and fault classification against misbehaving servers.

// Test helpers panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capabilities;
mod faults;
mod parse;
mod replay;
mod s3;
mod services;

use crate::Ec2Driver;
use crate::endpoint::Flavor;
use deltacloud_core::{Credentials, RequestContext};
use std::time::Duration;

/// A driver with a short provider timeout, so fault tests stay fast.
fn driver(timeout: Duration) -> Ec2Driver {
    Ec2Driver::new(Flavor::Ec2, timeout).expect("driver")
}

/// A request for `provider` with a made-up key pair.
fn ctx(provider: &str) -> RequestContext {
    RequestContext::new(
        Some(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )),
        Some(provider.to_owned()),
    )
}
