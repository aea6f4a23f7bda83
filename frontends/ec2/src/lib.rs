//! The EC2 Query API frontend, mounted at `/ec2` (`ec2-frontend.md`). Being written (issue 4).

use actix_web::web;

/// Register the `/ec2` routes. Not yet implemented: registers nothing.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
