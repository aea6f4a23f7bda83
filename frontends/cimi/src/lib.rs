//! The DMTF CIMI frontend, mounted at `/cimi` (`cimi.md`). Being written (issue 5).

use actix_web::web;

/// Register the `/cimi` routes. Not yet implemented: registers nothing.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
