//! Fault classification against servers that misbehave on purpose (testkit): each fault gives
//! its kind within the configured timeout, reads retry transient faults, writes do not.

use super::*;
use deltacloud_core::driver::{Instances, Keys, Realms};
use deltacloud_core::{CreateInstance, CreateKey, ErrorKind, Filter};
use deltacloud_testkit::{Fault, FaultServer, refused_url};
use std::time::Instant;

const TIMEOUT: Duration = Duration::from_millis(800);

async fn realms_error(url: &str) -> (ErrorKind, String, Duration) {
    let d = driver(TIMEOUT);
    let started = Instant::now();
    let e = d
        .realms(&ctx(url), &Filter::default())
        .await
        .expect_err("a fault");
    (e.kind(), e.message().to_owned(), started.elapsed())
}

#[tokio::test]
async fn a_hanging_provider_is_a_timeout_within_the_deadline() {
    let s = FaultServer::start(Fault::Hang).unwrap();
    let (kind, msg, took) = realms_error(&s.base_url()).await;
    assert_eq!(kind, ErrorKind::ProviderTimeout, "{msg}");
    assert!(took >= TIMEOUT, "{took:?}");
    assert!(took < TIMEOUT + Duration::from_millis(700), "{took:?}");
    assert_eq!(s.connections(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_slow_but_timely_provider_is_fine() {
    let ok = r#"<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><availabilityZoneInfo><item><zoneName>z1</zoneName><zoneState>available</zoneState></item></availabilityZoneInfo></DescribeAvailabilityZonesResponse>"#;
    let s = FaultServer::start(Fault::Delay(
        Duration::from_millis(200),
        Box::new(Fault::Status(200, ok.into())),
    ))
    .unwrap();
    let d = Ec2Driver::new(crate::endpoint::Flavor::Eucalyptus, TIMEOUT).unwrap();
    let realms = d
        .realms(&ctx(&s.base_url()), &Filter::default())
        .await
        .unwrap();
    assert_eq!(realms.len(), 1);
    assert_eq!(realms[0].id, "z1");
}

#[tokio::test]
async fn a_refused_connection_is_a_provider_error_after_retries() {
    let url = refused_url().unwrap();
    let (kind, msg, took) = realms_error(&url).await;
    assert_eq!(kind, ErrorKind::ProviderError, "{msg}");
    assert!(msg.contains("Cannot connect"), "{msg}");
    assert!(took < TIMEOUT + Duration::from_millis(300), "{took:?}");
}

#[tokio::test]
async fn a_500_is_a_provider_error_and_reads_retry_it() {
    let s = FaultServer::start(Fault::Status(500, "<html>Internal error</html>".into())).unwrap();
    let (kind, msg, _) = realms_error(&s.base_url()).await;
    assert_eq!(kind, ErrorKind::ProviderError, "{msg}");
    assert!(msg.contains("HTTP 500"), "{msg}");
}

#[tokio::test]
async fn garbage_and_undecodable_bodies_are_provider_errors() {
    for fault in [Fault::Garbage, Fault::Undecodable, Fault::CloseImmediately] {
        let s = FaultServer::start(fault.clone()).unwrap();
        let (kind, msg, took) = realms_error(&s.base_url()).await;
        assert_eq!(kind, ErrorKind::ProviderError, "{fault:?}: {msg}");
        assert!(
            took < TIMEOUT + Duration::from_millis(300),
            "{fault:?}: {took:?}"
        );
    }
    // A 200 whose body is XML but not the expected document.
    let s = FaultServer::start(Fault::Status(200, "<unexpected/>".into())).unwrap();
    let d = driver(TIMEOUT);
    let e = d
        .keys(&ctx(&s.base_url()), &Filter::default())
        .await
        .map(|k| k.len());
    // An empty document is an empty key list; that is what EC2's `<keySet/>` means too.
    assert_eq!(e.ok(), Some(0));
    let s = FaultServer::start(Fault::Status(200, "{\"json\": true}".into())).unwrap();
    let e = d
        .create_key(
            &ctx(&s.base_url()),
            &CreateKey {
                name: "k".into(),
                public_key: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError);
    assert!(e.message().contains("could not be understood"), "{e}");
}

#[tokio::test]
async fn throttling_keeps_the_provider_message_and_reads_retry() {
    let body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>";
    let s = FaultServer::start(Fault::Status(503, body.into())).unwrap();
    let d = driver(Duration::from_secs(3));
    let e = d
        .realms(&ctx(&s.base_url()), &Filter::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderThrottled);
    assert_eq!(e.message(), "Request limit exceeded.");
}

/// A write that reached the provider is never re-sent: one 500 for RunInstances is one request.
#[tokio::test]
async fn writes_are_not_retried() {
    let s = FaultServer::start(Fault::Status(500, "<html>boom</html>".into())).unwrap();
    let d = driver(Duration::from_secs(3));
    let c = ctx(&s.base_url());
    let req = CreateInstance {
        image_id: "ami-1".into(),
        ..CreateInstance::default()
    };
    let started = Instant::now();
    let e = d.create_instance(&c, &req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError);
    assert!(
        started.elapsed() < Duration::from_millis(90),
        "no backoff wait for a write"
    );
    // Compare with a read against the same kind of server: it waits for its retries.
    let s2 = FaultServer::start(Fault::Status(500, "<html>boom</html>".into())).unwrap();
    let started = Instant::now();
    let _ = d.realms(&ctx(&s2.base_url()), &Filter::default()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "reads back off and retry"
    );
}
