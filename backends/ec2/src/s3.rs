//! Buckets and blobs over S3 (path-style addressing). Not wired yet: every call answers the
//! typed not-supported error.

use crate::Ec2Driver;
use deltacloud_core::Capability;
use deltacloud_core::driver::Buckets;

/// The bucket capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[];

impl Buckets for Ec2Driver {}
