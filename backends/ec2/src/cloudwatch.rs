//! Metrics over CloudWatch. Not wired yet: every call answers the typed not-supported error.

use crate::Ec2Driver;
use deltacloud_core::Capability;
use deltacloud_core::driver::Metrics;

/// The metric capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[];

impl Metrics for Ec2Driver {}
