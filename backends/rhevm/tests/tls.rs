//! The driver option for engines with a private CA (`rhevm_ca_file`), over real HTTPS: the fake
//! oVirt engine behind the test kit's TLS proxy, whose certificate comes from a CA nothing else
//! trusts. Only the public API is used, as the server uses it.

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use deltacloud_backend_rhevm::{OPT_CA_FILE, RhevmDriver};
use deltacloud_core::driver::Realms;
use deltacloud_core::{Credentials, DriverSettings, ErrorKind, Filter, RequestContext};
use deltacloud_testkit::ovirt::{self as fake, FakeEngine};
use deltacloud_testkit::tls::TlsProxy;

/// The engine's plain-HTTP socket, from its `http://127.0.0.1:PORT/ovirt-engine/api` URL.
fn engine_addr(engine: &FakeEngine) -> SocketAddr {
    let url = engine.url();
    let host_port = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("unexpected engine URL {url}"));
    host_port.parse().unwrap()
}

/// The fake engine with the TLS proxy in front of it. Both must outlive the test's requests.
fn https_engine() -> (FakeEngine, TlsProxy) {
    let engine = FakeEngine::start().unwrap();
    let proxy = TlsProxy::start(engine_addr(&engine)).unwrap();
    (engine, proxy)
}

fn driver(ca_file: Option<&Path>) -> deltacloud_core::Result<RhevmDriver> {
    let options = ca_file
        .map(|path| (OPT_CA_FILE.to_owned(), path.display().to_string()))
        .into_iter()
        .collect();
    RhevmDriver::new(&DriverSettings {
        options,
        timeout: Duration::from_secs(10),
        ..DriverSettings::default()
    })
}

/// The seeded data center, through the proxy's `https://localhost:PORT` URL.
fn https_ctx(proxy: &TlsProxy) -> RequestContext {
    RequestContext::new(
        Some(Credentials::new(fake::USER, fake::PASSWORD)),
        Some(format!(
            "{};{}",
            proxy.url("/ovirt-engine/api"),
            fake::DATACENTER_ID
        )),
    )
}

/// The error's cause chain names the unknown issuer: the failure is the certificate check, not,
/// say, a refused connection that would also be a `ProviderError`.
/// List realms through `proxy`, expect the engine's certificate to be refused at the handshake
/// (a provider error naming the unknown issuer), and check no handshake completed.
async fn assert_realms_refused(d: &RhevmDriver, proxy: &TlsProxy) {
    let err = d
        .realms(&https_ctx(proxy), &Filter::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
    assert_certificate_refused(&err);
    assert_eq!(proxy.handshakes(), 0);
}

fn assert_certificate_refused(err: &deltacloud_core::Error) {
    let mut detail = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        detail = format!("{detail} / {c}");
        cause = c.source();
    }
    assert!(detail.contains("UnknownIssuer"), "{detail}");
}

#[tokio::test]
async fn with_the_ca_file_the_engine_is_reached_over_https() {
    let (engine, proxy) = https_engine();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = proxy.write_ca_file(dir.path()).unwrap();
    let d = driver(Some(&ca_file)).unwrap();

    let realms = d
        .realms(&https_ctx(&proxy), &Filter::default())
        .await
        .unwrap();
    let ids: Vec<&str> = realms.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [fake::CLUSTER_ID]);
    // It really went through TLS to this engine.
    assert!(proxy.handshakes() >= 1);
    assert!(!engine.requests().is_empty());
}

#[tokio::test]
async fn without_the_ca_file_the_certificate_is_refused_as_a_provider_error() {
    let (engine, proxy) = https_engine();
    let d = driver(None).unwrap();

    assert_realms_refused(&d, &proxy).await;
    // Refused at the handshake: nothing, credentials least of all, reached the engine.
    assert!(proxy.connections() >= 1);
    assert!(engine.requests().is_empty(), "{:?}", engine.requests());
    assert_eq!(engine.logins(), 0);
}

#[tokio::test]
async fn another_ca_is_not_enough() {
    let (engine, proxy) = https_engine();
    let stranger = TlsProxy::start(engine_addr(&engine)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = driver(Some(&stranger.write_ca_file(dir.path()).unwrap())).unwrap();

    assert_realms_refused(&d, &proxy).await;
}

/// A CA file that holds no certificate must stop the driver at start-up, as a configuration
/// error, instead of leaving it without the private CA (every call then fails at the handshake,
/// far from the cause). With rustls, reqwest's `Certificate::from_pem` only stores the bytes,
/// so the driver parses the file eagerly (`from_pem_bundle`) and refuses an empty result.
#[test]
fn a_ca_file_that_is_not_pem_is_a_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    for content in [
        "this is not a certificate\n",
        "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    ] {
        std::fs::write(&path, content).unwrap();
        let err = driver(Some(&path))
            .err()
            .unwrap_or_else(|| panic!("a CA file holding {content:?} is refused"));
        assert_eq!(err.kind(), ErrorKind::Validation, "{content:?}: {err}");
        assert!(err.message().contains("ca.pem"), "{}", err.message());
    }
}

#[test]
fn a_missing_ca_file_is_a_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-ca.pem");
    let err = driver(Some(&path))
        .err()
        .expect("a missing CA file is refused");
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(
        err.message().contains("no-such-ca.pem"),
        "{}",
        err.message()
    );
}
