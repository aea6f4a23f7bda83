use std::io::ErrorKind;
use std::time::{Duration, Instant};

use deltacloud_testkit::{
    Fault, FaultServer, GARBAGE, UNDECODABLE_BODY, refused_addr, refused_url,
};

use crate::raw::Raw;

fn client(timeout_ms: u64) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .build()
        .unwrap()
}

#[test]
fn hang_times_out_and_drop_releases_the_client() {
    let server = FaultServer::start(Fault::Hang).unwrap();
    let started = Instant::now();
    let err = client(300).get(server.url("/api")).send().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.connections(), 1);
    assert_eq!(server.fault(), &Fault::Hang);

    // A client still waiting when the server is dropped gets an error instead of hanging.
    let mut raw = Raw::connect(server.addr());
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let started = Instant::now();
    drop(server);
    assert!(raw.read_to_end().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn status_answers_every_request_with_a_typed_body() {
    let xml = "<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>";
    let server = FaultServer::start(Fault::Status(500, xml.into())).unwrap();
    let c = client(5000);
    for _ in 0..2 {
        let resp = c
            .get(server.url("/?Action=DescribeInstances"))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(resp.headers()["content-type"], "application/xml");
        assert_eq!(resp.text().unwrap(), xml);
    }
    // Keep-alive: both requests used one connection.
    assert_eq!(server.connections(), 1);

    let server = FaultServer::start(Fault::Status(503, r#"{"error":"busy"}"#.into())).unwrap();
    let resp = c.get(server.url("/")).send().unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let server = FaultServer::start(Fault::Status(502, "bad gateway".into())).unwrap();
    let resp = c.get(server.url("/")).send().unwrap();
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
}

#[test]
fn garbage_is_not_http() {
    let server = FaultServer::start(Fault::Garbage).unwrap();
    let err = client(5000).get(server.url("/")).send().unwrap_err();
    assert!(!err.is_timeout() && !err.is_connect(), "{err:?}");

    let mut raw = Raw::connect(server.addr());
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(raw.read_to_end(), GARBAGE);
}

#[test]
fn undecodable_is_a_well_formed_200_with_a_broken_body() {
    let server = FaultServer::start(Fault::Undecodable).unwrap();
    let resp = client(5000).get(server.url("/api/vms")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let body = resp.bytes().unwrap();
    assert_eq!(&body[..], UNDECODABLE_BODY);
    assert!(std::str::from_utf8(&body).is_err());
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
}

#[test]
fn close_immediately_fails_the_request_without_a_timeout() {
    let server = FaultServer::start(Fault::CloseImmediately).unwrap();
    let started = Instant::now();
    let err = client(5000).get(server.url("/")).send().unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(server.connections() >= 1);
}

#[test]
fn delay_then_inner_fault() {
    let server = FaultServer::start(Fault::Delay(
        Duration::from_millis(400),
        Box::new(Fault::Status(200, "late".into())),
    ))
    .unwrap();
    let err = client(100).get(server.url("/")).send().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let started = Instant::now();
    let resp = client(5000).get(server.url("/")).send().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(resp.text().unwrap(), "late");
}

#[test]
fn refused_address_refuses() {
    let addr = refused_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let err = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let err = client(5000).get(refused_url().unwrap()).send().unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn fault_servers_work_from_async_tests() {
    let server = FaultServer::start(Fault::Hang).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.get(server.base_url()).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}
