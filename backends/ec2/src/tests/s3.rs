//! S3: endpoints per provider, error classification, the multipart completion document, part
//! splitting of upload streams, and faults of a misbehaving S3.

use super::*;
use crate::s3::{PART_SIZE, classify_s3, kind_of_s3, resolve};
use bytes::Bytes;
use deltacloud_core::driver::Buckets;
use deltacloud_core::{BlobId, BucketId, ErrorKind, Filter};
use deltacloud_testkit::{Fault, FaultServer};
use futures_util::StreamExt as _;

#[test]
fn endpoints_follow_the_provider() {
    let e = resolve(Flavor::Ec2, None).unwrap();
    assert_eq!(
        (e.url.as_str(), e.region.as_str()),
        ("https://s3.amazonaws.com/", "us-east-1")
    );
    let e = resolve(Flavor::Ec2, Some("eu-west-1")).unwrap();
    assert_eq!(
        (e.url.as_str(), e.region.as_str()),
        ("https://s3-eu-west-1.amazonaws.com/", "eu-west-1")
    );
    // An emulator's URL serves S3 at the root of the same authority.
    let e = resolve(
        Flavor::Ec2,
        Some("http://127.0.0.1:5000/some/path;us-west-2"),
    )
    .unwrap();
    assert_eq!(
        (e.url.as_str(), e.region.as_str()),
        ("http://127.0.0.1:5000/", "us-west-2")
    );
    let e = resolve(Flavor::Eucalyptus, Some("ec2=10.0.0.1;s3=10.0.0.2")).unwrap();
    assert_eq!(e.url.as_str(), "http://10.0.0.2:8773/services/Walrus/");
    let e = resolve(Flavor::Eucalyptus, Some("ec2=10.0.0.1;s3=walrus:9000")).unwrap();
    assert_eq!(e.url.as_str(), "http://walrus:9000/services/Walrus/");
    let e = resolve(Flavor::Eucalyptus, Some("ec2=10.0.0.1")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
}

#[test]
fn s3_errors_are_classified() {
    let doc = |code: &str, msg: &str| {
        format!(
            "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>1</RequestId></Error>"
        )
    };
    for (status, code, kind) in [
        (404, "NoSuchBucket", ErrorKind::NotFound),
        (404, "NoSuchKey", ErrorKind::NotFound),
        (409, "BucketNotEmpty", ErrorKind::Forbidden),
        (409, "BucketAlreadyExists", ErrorKind::Conflict),
        (403, "InvalidAccessKeyId", ErrorKind::AuthFailed),
        (403, "SignatureDoesNotMatch", ErrorKind::AuthFailed),
        (403, "AccessDenied", ErrorKind::Forbidden),
        (400, "InvalidBucketName", ErrorKind::Validation),
        (503, "SlowDown", ErrorKind::ProviderThrottled),
        (500, "InternalError", ErrorKind::ProviderError),
        (500, "NoSuchKey", ErrorKind::ProviderError),
    ] {
        let e = classify_s3(status, &doc(code, "why"));
        assert_eq!(e.kind(), kind, "{code}");
    }
    assert_eq!(
        classify_s3(503, &doc("SlowDown", "Please reduce your request rate.")).message(),
        "Please reduce your request rate."
    );
    // HEAD answers carry no body: the status decides.
    assert_eq!(classify_s3(404, "").kind(), ErrorKind::NotFound);
    assert_eq!(classify_s3(503, "").kind(), ErrorKind::ProviderThrottled);
    assert_eq!(
        classify_s3(502, "<html>bad gateway</html>").kind(),
        ErrorKind::ProviderError
    );
    assert_eq!(kind_of_s3("Gremlins"), ErrorKind::ProviderError);
}

fn driver_for(url: &str) -> (Ec2Driver, RequestContext) {
    (driver(Duration::from_millis(800)), ctx(url))
}

#[tokio::test]
async fn a_failing_s3_is_a_provider_error_and_a_hanging_one_a_timeout() {
    let boom = FaultServer::start(Fault::Status(500, "<html>oops</html>".into())).unwrap();
    let (d, c) = driver_for(&boom.base_url());
    let started = std::time::Instant::now();
    let e = d.buckets(&c, &Filter::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError, "{e}");
    // Reads are retried on 5xx: two backoffs (100 ms, 200 ms) before giving up.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    let hang = FaultServer::start(Fault::Hang).unwrap();
    let (d, c) = driver_for(&hang.base_url());
    let e = d
        .blob(&c, &BucketId::new("b"), &BlobId::new("k"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderTimeout, "{e}");

    let junk = FaultServer::start(Fault::Garbage).unwrap();
    let (d, c) = driver_for(&junk.base_url());
    let e = d.buckets(&c, &Filter::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError, "{e}");
}

#[tokio::test]
async fn an_upload_to_a_failing_s3_is_sent_once() {
    let boom = FaultServer::start(Fault::Status(
        500,
        "<Error><Code>InternalError</Code><Message>x</Message></Error>".into(),
    ))
    .unwrap();
    let (d, c) = driver_for(&boom.base_url());
    let data = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"hello"))]).boxed();
    let started = std::time::Instant::now();
    let e = d
        .create_blob(
            &c,
            &BucketId::new("b"),
            &BlobId::new("k"),
            None,
            Default::default(),
            data,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError);
    assert!(
        started.elapsed() < Duration::from_millis(90),
        "a write is not retried (no backoff wait): {:?}",
        started.elapsed()
    );
}

#[test]
fn parts_never_exceed_the_part_size() {
    // 3 chunks of 5 MiB: the first part takes the first chunk and 3 MiB of the second.
    let chunk = Bytes::from(vec![7u8; 5 * 1024 * 1024]);
    let mut data: deltacloud_core::ByteStream =
        futures_util::stream::iter(vec![Ok(chunk.clone()), Ok(chunk.clone()), Ok(chunk)]).boxed();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sizes: Vec<usize> = rt.block_on(async {
        let mut sizes = Vec::new();
        loop {
            let p = crate::s3::next_part(&mut data).await.unwrap();
            if p.is_empty() {
                break;
            }
            sizes.push(p.len());
        }
        sizes
    });
    assert_eq!(sizes, [PART_SIZE, 15 * 1024 * 1024 - PART_SIZE]);
}
