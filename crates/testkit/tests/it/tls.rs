use std::error::Error as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use deltacloud_testkit::tls::{TLS_NAMES, TlsProxy};
use deltacloud_testkit::{Fault, FaultServer, refused_addr};
use reqwest::tls::Version;

fn ca(proxy: &TlsProxy) -> reqwest::Certificate {
    reqwest::Certificate::from_pem(proxy.ca_pem().as_bytes()).unwrap()
}

fn builder() -> reqwest::blocking::ClientBuilder {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(10))
}

/// The error and all its causes, so a test can look for the certificate failure in the chain.
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(" / ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[test]
fn a_client_trusting_the_ca_reaches_the_upstream_over_tls_1_2_and_1_3() {
    let upstream = FaultServer::start(Fault::Status(200, "through the tunnel".into())).unwrap();
    let proxy = TlsProxy::start(upstream.addr()).unwrap();
    assert_eq!(proxy.upstream(), upstream.addr());
    assert_eq!(proxy.addr().port(), proxy.port());
    assert_eq!(
        proxy.url("/api?x=1"),
        format!("https://localhost:{}/api?x=1", proxy.port())
    );

    let tls12 = builder()
        .tls_certs_only([ca(&proxy)])
        .tls_version_max(Version::TLS_1_2)
        .build()
        .unwrap();
    let tls13 = builder()
        .tls_certs_merge([ca(&proxy)])
        .tls_version_min(Version::TLS_1_3)
        .build()
        .unwrap();
    for (client, host) in [(&tls12, TLS_NAMES[0]), (&tls13, TLS_NAMES[1])] {
        // Both names are in the certificate: the host name and the IP SAN.
        let url = format!("https://{host}:{}/api", proxy.port());
        for _ in 0..2 {
            let resp = client.get(&url).send().unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            assert_eq!(resp.text().unwrap(), "through the tunnel");
        }
    }
    // Keep-alive works through the proxy: one TLS connection, one upstream connection per
    // client.
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.handshakes(), 2);
    assert_eq!(upstream.connections(), 2);
}

#[test]
fn a_client_without_the_ca_gets_a_certificate_error_and_the_upstream_no_connection() {
    let upstream = FaultServer::start(Fault::Status(200, "secret".into())).unwrap();
    let proxy = TlsProxy::start(upstream.addr()).unwrap();
    let other = TlsProxy::start(upstream.addr()).unwrap();
    assert_ne!(proxy.ca_pem(), other.ca_pem(), "every proxy has its own CA");

    // The platform's roots, and another proxy's CA: neither issued this certificate.
    let clients = [
        builder().build().unwrap(),
        builder().tls_certs_only([ca(&other)]).build().unwrap(),
    ];
    for client in clients {
        let err = client.get(proxy.url("/")).send().unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        let text = chain(&err);
        assert!(text.contains("certificate"), "{text}");
        assert!(text.contains("UnknownIssuer"), "{text}");
    }
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.handshakes(), 0);
    assert_eq!(upstream.connections(), 0);
}

#[test]
fn large_bodies_cross_in_both_directions() {
    let answer: String = "0123456789abcdef".repeat(128 * 1024); // 2 MiB, many TLS records
    let upstream = FaultServer::start(Fault::Status(200, answer.clone())).unwrap();
    let proxy = TlsProxy::start(upstream.addr()).unwrap();
    let client = builder().tls_certs_only([ca(&proxy)]).build().unwrap();
    let upload = vec![b'u'; 3 * 1024 * 1024 + 17];
    for _ in 0..2 {
        let resp = client
            .post(proxy.url("/upload"))
            .body(upload.clone())
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().unwrap(), answer);
    }
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn the_ca_file_holds_the_ca_and_a_client_can_load_it() {
    let upstream = FaultServer::start(Fault::Status(204, String::new())).unwrap();
    let proxy = TlsProxy::start(upstream.addr()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = proxy.write_ca_file(dir.path()).unwrap();
    assert_eq!(path.parent(), Some(dir.path()));
    let pem = std::fs::read(&path).unwrap();
    assert_eq!(pem, proxy.ca_pem().as_bytes());
    assert!(proxy.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let client = builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    assert_eq!(client.get(proxy.url("/")).send().unwrap().status(), 204);
}

#[test]
fn an_unreachable_upstream_closes_the_connection_after_the_handshake() {
    let proxy = TlsProxy::start(refused_addr().unwrap()).unwrap();
    let client = builder().tls_certs_only([ca(&proxy)]).build().unwrap();
    let err = client.get(proxy.url("/")).send().unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(proxy.handshakes(), 1);
}

#[test]
fn dropping_the_proxy_closes_its_port_and_open_connections() {
    let upstream = FaultServer::start(Fault::Hang).unwrap();
    let proxy = TlsProxy::start(upstream.addr()).unwrap();
    let addr = proxy.addr();
    let client = builder().tls_certs_only([ca(&proxy)]).build().unwrap();
    let url = proxy.url("/");
    // A request stuck on a hanging upstream, through the proxy, while the proxy goes away.
    let waiting = std::thread::spawn(move || client.get(url).send());
    let started = Instant::now();
    while upstream.connections() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "request never got upstream"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(proxy);
    let err = waiting.join().unwrap().unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(addr).is_err(), "the port is closed");
}
