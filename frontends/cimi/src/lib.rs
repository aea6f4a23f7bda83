//! The DMTF CIMI frontend, mounted at `/cimi` (`cimi.md`, DSP0263).
//!
//! The server registers it with
//!
//! ```ignore
//! let store = deltacloud_frontend_cimi::Store::open_in(&data_dir)?; // blocking, at start-up
//! App::new()
//!     .app_data(web::Data::new(gateway))
//!     .configure(|cfg| deltacloud_frontend_cimi::configure(cfg, web::Data::new(store)))
//! ```
//!
//! Module map: `handlers` (routing and operations), `resources` (CIMI resources from core
//! types, JSON form), `xml` (the XML form of those, and XML request bodies), `query` (`$filter`
//! and the other query parameters), `http` (negotiation, bodies, the error renderer), `store`
//! (the gateway's CIMI database: overlays, templates, jobs).

mod handlers;
mod http;
pub mod query;
mod resources;
mod store;
mod xml;

pub use store::{DB_FILE, Store};

use actix_web::web;

/// Largest request body accepted on `/cimi` (create documents are small).
const BODY_LIMIT: usize = 1024 * 1024;

/// Register the `/cimi` scope. Expects `web::Data<deltacloud_core::Gateway>` in the app data;
/// `store` is the CIMI database opened at start-up.
pub fn configure(cfg: &mut web::ServiceConfig, store: web::Data<Store>) {
    cfg.service(
        web::scope("/cimi")
            .app_data(store)
            // Built here, so once per worker thread: no locking, nothing shared.
            .app_data(handlers::RenderMemo::default())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .default_service(web::to(handlers::dispatch)),
    );
}
