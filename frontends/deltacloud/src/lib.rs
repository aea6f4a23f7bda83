//! The Deltacloud REST frontend, mounted at `/api` (`deltacloud-api.md`).
//!
//! The server crate registers it with
//!
//! ```ignore
//! App::new()
//!     .app_data(web::Data::new(gateway))
//!     .wrap(deltacloud_frontend_api::MatrixParams)
//!     .configure(deltacloud_frontend_api::configure)
//! ```
//!
//! Everything under `/api` goes to one dispatcher (`dispatch.rs`) that parses the request into an
//! operation from the route table (`routes.rs`) and answers with the XML, JSON or HTML
//! representation the client negotiated (`negotiate.rs`). The frontend depends only on
//! `deltacloud-core`: it talks to whichever `dyn Driver` the request selects from the
//! [`Gateway`]'s registry.
//!
//! Module map: `matrix` (the `;name=value` middleware), `params` (query/form/multipart
//! parameters), `handlers` (one function per operation), `xml`/`json`/`html` (one DTO or page
//! builder per wire shape, converted from core types; `view` holds what they share, `xmlser`
//! writes the XML), `error` (the one error renderer, §7), `response` (common headers),
//! `memo` (per-worker memos of rendered documents and ETags).
//!
//! [`Gateway`]: deltacloud_core::Gateway

mod dispatch;
mod docs;
mod error;
mod explorer;
mod handlers;
mod handlers_res;
mod html;
mod html_res;
mod json;
mod json_res;
mod matrix;
mod memo;
mod multipart;
mod negotiate;
mod params;
mod response;
mod routes;
mod view;
mod xml;
mod xml_res;
mod xmlser;

#[cfg(test)]
mod golden;

pub use matrix::{MatrixParams, MatrixParamsMiddleware};

use actix_web::web;

/// Register the `/api` scope. Expects `web::Data<deltacloud_core::Gateway>` in the app data and
/// [`MatrixParams`] wrapped around the app (without it, `;driver=` paths do not route).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            // Built per worker, like the app: see `memo.rs`.
            .app_data(memo::Memos::default())
            .default_service(web::to(dispatch::dispatch)),
    );
}
