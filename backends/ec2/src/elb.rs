//! Load balancers over classic ELB. Not wired yet: every call answers the typed
//! not-supported error.

use crate::Ec2Driver;
use deltacloud_core::Capability;
use deltacloud_core::driver::LoadBalancers;

/// The load balancer capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[];

impl LoadBalancers for Ec2Driver {}
