//! The benchmark's ceiling: a bare actix-web server answering every GET with one fixed body, so
//! `bench/run.sh` can say how close `deltacloudd` gets to what the HTTP stack alone can do on
//! this machine.
//!
//! Usage: `bench-ceiling PORT [BODY_FILE]` (PORT 0 picks a free one; the `Listening on` line
//! says which). It listens on 127.0.0.1 only. `BODY_FILE` is
//! normally a copy of deltacloudd's own `/api/instances` XML, so both serve the same bytes;
//! without it a built-in body of about the same size is used. Stops on SIGTERM/SIGINT.

use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::process::ExitCode;

/// Stand-in body when no file is given: about the size of the mock's `/api/instances` XML.
fn default_body() -> String {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<instances>\n");
    for i in 0..3 {
        body.push_str(&format!(
            "  <instance href=\"http://127.0.0.1/api/instances/inst{i}\" id=\"inst{i}\">\n    <name>Mock Instance {i}</name>\n    \
             <owner_id>mockuser</owner_id>\n    <image href=\"http://127.0.0.1/api/images/img1\" id=\"img1\"/>\n    \
             <realm href=\"http://127.0.0.1/api/realms/us\" id=\"us\"/>\n    <state>RUNNING</state>\n    \
             <hardware_profile href=\"http://127.0.0.1/api/hardware_profiles/m1-small\" id=\"m1-small\"/>\n    <actions>\n      \
             <link href=\"http://127.0.0.1/api/instances/inst{i}/reboot\" method=\"post\" rel=\"reboot\"/>\n      \
             <link href=\"http://127.0.0.1/api/instances/inst{i}/stop\" method=\"post\" rel=\"stop\"/>\n    </actions>\n    \
             <public_addresses><address type=\"hostname\">img1.inst{i}.public.com</address></public_addresses>\n    \
             <private_addresses><address type=\"hostname\">img1.inst{i}.private.com</address></private_addresses>\n  \
             </instance>\n"
        ));
    }
    body.push_str("</instances>\n");
    body
}

async fn fixed(body: web::Data<web::Bytes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::xml())
        .body(body.get_ref().clone())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(port) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: bench-ceiling PORT [BODY_FILE]");
        return ExitCode::from(2);
    };
    let body = match args.next() {
        Some(path) => match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("bench-ceiling: cannot read {path}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => default_body().into_bytes(),
    };
    let body = web::Data::new(web::Bytes::from(body));
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(body.clone())
                .default_service(web::get().to(fixed))
        })
        .bind(("127.0.0.1", port))?;
        for addr in server.addrs() {
            println!("Listening on http://{addr}");
        }
        server.run().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}
