//! The assembled actix-web application: request logging, matrix parameters, the `/` index page,
//! `/robots.txt`, and the enabled frontends (`deltacloud-api.md` §1.1).
//!
//! [`build_app`] is what every worker runs; tests can call it with `actix_web::test` to drive the
//! whole gateway in-process.

use crate::config::Frontend;
use crate::logging::RootSpan;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, web};
use askama::Template;
use deltacloud_core::Gateway;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

/// The `/` page: the enabled frontends with links to their entry points.
#[derive(Template)]
#[template(path = "index.html")]
struct IndexTemplate<'a> {
    frontends: Vec<IndexEntry<'a>>,
}

struct IndexEntry<'a> {
    name: &'a str,
    href: &'a str,
    /// `cimi` and `ec2` may be enabled by configuration but are not in this build; they are
    /// listed without a link rather than linking to a 404.
    mounted: bool,
}

/// What the app serves besides the frontends, computed once at start-up.
#[derive(Clone, Debug)]
pub struct Site {
    frontends: Arc<[Frontend]>,
    index_html: Arc<str>,
    /// The CIMI database, opened at start-up when the cimi frontend is enabled.
    cimi_store: Option<web::Data<deltacloud_frontend_cimi::Store>>,
    /// The EC2 frontend's state (credential store, built-in identities), set at start-up when
    /// the ec2 frontend is enabled.
    ec2_state: Option<web::Data<deltacloud_frontend_ec2::Ec2State>>,
}

impl Site {
    /// Render the static pages for these enabled frontends.
    ///
    /// # Errors
    /// If the index template fails to render (it has no fallible parts; askama checks it at
    /// compile time, but rendering still returns a `Result`).
    pub fn new(frontends: &[Frontend]) -> anyhow::Result<Self> {
        let page = IndexTemplate {
            frontends: frontends
                .iter()
                .map(|f| IndexEntry {
                    name: f.name(),
                    href: f.root_path(),
                    mounted: f.implemented(),
                })
                .collect(),
        };
        Ok(Self {
            frontends: frontends.into(),
            index_html: page.render()?.into(),
            cimi_store: None,
            ec2_state: None,
        })
    }

    /// Mount `/cimi` with this database (only if the cimi frontend is enabled).
    #[must_use]
    pub fn with_cimi_store(mut self, store: deltacloud_frontend_cimi::Store) -> Self {
        self.cimi_store = Some(web::Data::new(store));
        self
    }

    /// Mount `/ec2` with this state (only if the ec2 frontend is enabled).
    #[must_use]
    pub fn with_ec2_state(mut self, state: deltacloud_frontend_ec2::Ec2State) -> Self {
        self.ec2_state = Some(web::Data::new(state));
        self
    }

    fn enabled(&self, f: Frontend) -> bool {
        self.frontends.contains(&f)
    }
}

/// The `/` index page. It is always HTML: the original negotiated it but only had an HTML
/// template, so anything else (even no `Accept` header) got a 500 there (`deltacloud-api.md`
/// §1.1 says to serve the HTML instead).
async fn index(site: web::Data<Site>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(site.index_html.to_string())
}

/// An API gateway has nothing for crawlers.
async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("User-agent: *\nDisallow: /\n")
}

/// The application one worker serves. `TracingLogger` is the outermost layer so every response,
/// even a routing 404, is logged; `MatrixParams` rewrites `/api;driver=x/...` paths before
/// routing. The access log shows the rewritten path: matrix parameters can carry a provider URL
/// with credentials in it, and the driver and (redacted) provider are logged as fields anyway.
pub fn build_app(
    gateway: web::Data<Gateway>,
    site: Site,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let deltacloud = site.enabled(Frontend::Deltacloud);
    let cimi = site
        .cimi_store
        .clone()
        .filter(|_| site.enabled(Frontend::Cimi));
    let ec2 = site
        .ec2_state
        .clone()
        .filter(|_| site.enabled(Frontend::Ec2));
    App::new()
        .app_data(gateway)
        .app_data(web::Data::new(site))
        .service(
            web::resource("/")
                .route(web::get().to(index))
                .route(web::head().to(index)),
        )
        .route("/robots.txt", web::get().to(robots))
        .configure(|cfg| {
            if deltacloud {
                deltacloud_frontend_api::configure(cfg);
            }
            if let Some(store) = cimi {
                deltacloud_frontend_cimi::configure(cfg, store);
            }
            if let Some(state) = ec2 {
                deltacloud_frontend_ec2::configure(cfg, state);
            }
        })
        .wrap(deltacloud_frontend_api::MatrixParams)
        .wrap(TracingLogger::<RootSpan>::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use deltacloud_core::Registry;

    #[actix_web::test]
    async fn index_is_html_whatever_the_accept_header_and_robots_is_served() {
        let gateway = web::Data::new(Gateway {
            registry: Registry::new(),
            default_driver: "mock".to_owned(),
            default_provider: None,
            fixed_credentials: None,
            hostname: String::new(),
        });
        let app = init_service(build_app(
            gateway,
            Site::new(&[Frontend::Deltacloud]).unwrap(),
        ))
        .await;
        for accept in ["application/xml", "application/json", "text/html"] {
            let res = call_service(
                &app,
                TestRequest::get()
                    .uri("/")
                    .insert_header(("Accept", accept))
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), 200);
            assert_eq!(
                res.headers().get("content-type").unwrap(),
                "text/html; charset=utf-8"
            );
            let body = read_body(res).await;
            assert!(
                std::str::from_utf8(&body)
                    .unwrap()
                    .contains("<a href=\"/api\">deltacloud</a>")
            );
        }
        let res = call_service(&app, TestRequest::get().uri("/robots.txt").to_request()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(read_body(res).await, "User-agent: *\nDisallow: /\n");
        let res = call_service(
            &app,
            TestRequest::get().uri("/cimi/cloudEntryPoint").to_request(),
        )
        .await;
        assert_eq!(res.status(), 404, "disabled frontends are not mounted");
    }

    #[test]
    fn index_lists_enabled_frontends_and_links_only_mounted_ones() {
        let site = Site::new(&[Frontend::Ec2, Frontend::Deltacloud]).unwrap();
        let html = &*site.index_html;
        assert!(html.contains("<h2>Enabled Frontends:</h2>"), "{html}");
        assert!(html.contains("<a href=\"/api\">deltacloud</a>"), "{html}");
        assert!(html.contains("<a href=\"/ec2\">ec2</a>"), "{html}");
        assert!(!html.contains("cimi"), "{html}");
        let ec2 = html.find("ec2").unwrap();
        let dc = html.find(">deltacloud<").unwrap();
        assert!(ec2 < dc, "configured order is kept");
    }
}
