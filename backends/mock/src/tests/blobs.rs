//! Buckets and blobs, including streaming a multi-megabyte blob through the database.

use super::*;
use crate::blobs::CHUNK_SIZE;
use deltacloud_core::driver::Buckets;
use deltacloud_core::{ByteStream, Error, ErrorKind, Filter};
use futures_util::{StreamExt as _, TryStreamExt as _};
use std::collections::BTreeMap;

fn stream_of(parts: Vec<Vec<u8>>) -> ByteStream {
    futures_util::stream::iter(parts.into_iter().map(|p| Ok(bytes::Bytes::from(p)))).boxed()
}

async fn content(c: &Cloud, bucket: &str, blob: &str) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> =
        c.d.blob_data(&ctx(), &bucket.into(), &blob.into())
            .await
            .expect("data")
            .try_collect()
            .await
            .expect("stream");
    chunks.concat()
}

#[tokio::test]
async fn bucket_lifecycle() {
    let c = Cloud::new();
    let b =
        c.d.create_bucket(&ctx(), "fresh", Some("eu"))
            .await
            .expect("create");
    assert_eq!(
        (b.id.as_str(), b.name.as_str(), b.size, b.blob_list.len()),
        ("fresh", "fresh", Some(0), 0)
    );
    assert_eq!(
        kind(c.d.create_bucket(&ctx(), "fresh", None).await),
        ErrorKind::Conflict
    );
    assert_eq!(
        kind(c.d.create_bucket(&ctx(), "", None).await),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(c.d.create_bucket(&ctx(), "../x", None).await),
        ErrorKind::Validation
    );
    assert_eq!(
        err(c.d.delete_bucket(&ctx(), &"bucket1".into()).await),
        (
            ErrorKind::Forbidden,
            "Delete operation not valid for non-empty bucket".to_owned()
        )
    );
    assert_eq!(
        err(c.d.delete_bucket(&ctx(), &"nope".into()).await),
        (ErrorKind::NotFound, "BucketNotExist".to_owned())
    );
    c.d.delete_bucket(&ctx(), &"fresh".into())
        .await
        .expect("delete");
    let left = ids(
        &c.d.buckets(&ctx(), &Filter::default()).await.expect("list"),
        |b| b.id.to_string(),
    );
    assert_eq!(left, ["bucket1", "bucket2"]);
    assert_eq!(
        c.d.buckets(&ctx(), &Filter::by_id("bucket2"))
            .await
            .expect("by id")
            .len(),
        1
    );
}

#[tokio::test]
async fn blob_create_overwrite_and_delete() {
    let c = Cloud::new();
    let meta: BTreeMap<String, String> = [("Version".to_owned(), "2.1".to_owned())].into();
    let b =
        c.d.create_blob(
            &ctx(),
            &"bucket2".into(),
            &"new".into(),
            Some("text/plain"),
            meta,
            stream_of(vec![b"hello ".to_vec(), b"world".to_vec()]),
        )
        .await
        .expect("create");
    assert_eq!(
        (b.id.as_str(), b.bucket.as_str(), b.content_length),
        ("new", "bucket2", 11)
    );
    assert_eq!(b.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        b.user_metadata,
        Some([("version".to_owned(), "2.1".to_owned())].into()),
        "keys lower-cased"
    );
    assert!(b.last_modified.is_some());
    assert_eq!(content(&c, "bucket2", "new").await, b"hello world");
    let bucket =
        c.d.buckets(&ctx(), &Filter::by_id("bucket2"))
            .await
            .expect("bucket")
            .remove(0);
    assert_eq!((bucket.size, bucket.blob_list.len()), (Some(3), 3));

    // Overwrite: new content, no content type, count unchanged.
    let b =
        c.d.create_blob(
            &ctx(),
            &"bucket2".into(),
            &"new".into(),
            None,
            BTreeMap::new(),
            stream_of(vec![]),
        )
        .await
        .expect("overwrite");
    assert_eq!((b.content_length, b.content_type.clone()), (0, None));
    assert!(content(&c, "bucket2", "new").await.is_empty());
    let bucket =
        c.d.buckets(&ctx(), &Filter::by_id("bucket2"))
            .await
            .expect("bucket")
            .remove(0);
    assert_eq!(bucket.size, Some(3));

    // One namespace: creating blob1 in bucket2 moves it there.
    c.d.create_blob(
        &ctx(),
        &"bucket2".into(),
        &"blob1".into(),
        None,
        BTreeMap::new(),
        stream_of(vec![b"x".to_vec()]),
    )
    .await
    .expect("move");
    assert!(
        c.d.blob(&ctx(), &"bucket1".into(), &"blob1".into())
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(content(&c, "bucket2", "blob1").await, b"x");

    // Wrong bucket ⇒ not found for show and content.
    assert!(
        c.d.blob(&ctx(), &"bucket1".into(), &"blob4".into())
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(
        kind(
            c.d.blob_data(&ctx(), &"bucket1".into(), &"blob4".into())
                .await
                .map(drop)
        ),
        ErrorKind::NotFound
    );

    assert_eq!(
        kind(
            c.d.create_blob(
                &ctx(),
                &"nope".into(),
                &"x".into(),
                None,
                BTreeMap::new(),
                stream_of(vec![b"x".to_vec()])
            )
            .await
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            c.d.create_blob(
                &ctx(),
                &"bucket1".into(),
                &"a/b".into(),
                None,
                BTreeMap::new(),
                stream_of(vec![])
            )
            .await
        ),
        ErrorKind::Validation
    );

    // Delete keys on the blob id alone; a missing blob is the mapped 500.
    c.d.delete_blob(&ctx(), &"whatever".into(), &"new".into())
        .await
        .expect("delete");
    assert_eq!(
        err(c
            .d
            .delete_blob(&ctx(), &"bucket2".into(), &"new".into())
            .await),
        (
            ErrorKind::Internal,
            "Could not delete a non existent blob".to_owned()
        )
    );
    // The bucket can be emptied and deleted.
    for b in ["blob1", "blob4", "blob5"] {
        c.d.delete_blob(&ctx(), &"bucket2".into(), &b.into())
            .await
            .expect("delete");
    }
    c.d.delete_bucket(&ctx(), &"bucket2".into())
        .await
        .expect("now empty");
}

#[tokio::test]
async fn failed_upload_leaves_nothing_behind() {
    let c = Cloud::new();
    let parts: Vec<deltacloud_core::Result<bytes::Bytes>> = vec![
        Ok(bytes::Bytes::from(vec![1u8; CHUNK_SIZE * 2])),
        Err(Error::validation("client went away")),
    ];
    let r =
        c.d.create_blob(
            &ctx(),
            &"bucket1".into(),
            &"broken".into(),
            None,
            BTreeMap::new(),
            futures_util::stream::iter(parts).boxed(),
        )
        .await;
    assert_eq!(kind(r), ErrorKind::Validation);
    assert!(
        c.d.blob(&ctx(), &"bucket1".into(), &"broken".into())
            .await
            .expect("lookup")
            .is_none()
    );
    let orphans: i64 = c
        .d
        .read(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM blob_chunks WHERE content_id NOT IN (SELECT content_id FROM blobs)", [], |r| r.get(0))?))
        .await
        .expect("count");
    assert_eq!(orphans, 0);
    // Overwriting with a failed upload keeps the old content.
    let parts: Vec<deltacloud_core::Result<bytes::Bytes>> = vec![Err(Error::validation("nope"))];
    assert!(
        c.d.create_blob(
            &ctx(),
            &"bucket1".into(),
            &"blob1".into(),
            None,
            BTreeMap::new(),
            futures_util::stream::iter(parts).boxed()
        )
        .await
        .is_err()
    );
    assert_eq!(content(&c, "bucket1", "blob1").await, b"content of blob 1");
}

#[tokio::test]
async fn multi_megabyte_round_trip_is_streamed_in_chunks() {
    let c = Cloud::new();
    // 5 MiB + a bit, arriving in uneven pieces.
    let total = 5 * 1024 * 1024 + 12_345;
    let data: Vec<u8> = (0..total)
        .map(|i| u8::try_from((i * 31 + i / 7) % 251).unwrap_or(0))
        .collect();
    let mut parts = Vec::new();
    let mut at = 0;
    let mut n = 1;
    while at < total {
        let len = (n * 37_411) % 300_000 + 1;
        let end = (at + len).min(total);
        parts.push(data[at..end].to_vec());
        at = end;
        n += 1;
    }
    let b =
        c.d.create_blob(
            &ctx(),
            &"bucket1".into(),
            &"big".into(),
            Some("application/octet-stream"),
            BTreeMap::new(),
            stream_of(parts),
        )
        .await
        .expect("upload");
    assert_eq!(b.content_length, total as u64);
    let stream =
        c.d.blob_data(&ctx(), &"bucket1".into(), &"big".into())
            .await
            .expect("download");
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("read");
    assert!(chunks.len() > 1, "streamed in several chunks");
    assert!(
        chunks.iter().all(|c| c.len() <= CHUNK_SIZE),
        "never more than one chunk at a time"
    );
    assert_eq!(chunks.concat(), data);
    // Persisted: a reopened cloud serves the same bytes.
    let c = c.reopen();
    assert_eq!(content(&c, "bucket1", "big").await, data);
}

#[tokio::test]
async fn overwrite_during_download_never_mixes_versions() {
    let c = Cloud::new();
    let old = vec![b'a'; CHUNK_SIZE * 3];
    c.d.create_blob(
        &ctx(),
        &"bucket1".into(),
        &"v".into(),
        None,
        BTreeMap::new(),
        stream_of(vec![old]),
    )
    .await
    .expect("v1");
    let mut s =
        c.d.blob_data(&ctx(), &"bucket1".into(), &"v".into())
            .await
            .expect("download");
    let first = s.next().await.expect("item").expect("chunk");
    assert!(first.iter().all(|&b| b == b'a'));
    c.d.create_blob(
        &ctx(),
        &"bucket1".into(),
        &"v".into(),
        None,
        BTreeMap::new(),
        stream_of(vec![vec![b'b'; CHUNK_SIZE * 3]]),
    )
    .await
    .expect("v2");
    // The old content is gone: the download ends with an error, not with 'b' bytes.
    let rest: Vec<deltacloud_core::Result<bytes::Bytes>> = s.collect().await;
    assert!(
        rest.iter()
            .all(|r| r.as_ref().map_or(true, |b| b.iter().all(|&x| x == b'a')))
    );
    assert!(rest.last().is_some_and(Result::is_err));
    assert_eq!(
        content(&c, "bucket1", "v").await,
        vec![b'b'; CHUNK_SIZE * 3]
    );
}

#[tokio::test]
async fn metadata() {
    let c = Cloud::new();
    let m =
        c.d.blob_metadata(&ctx(), &"bucket1".into(), &"blob1".into())
            .await
            .expect("meta");
    assert_eq!(
        m,
        Some([("SOMENEWKEY".to_owned(), "NEWVALUE".to_owned())].into())
    );
    // The seed's empty-string metadata reads as an empty map.
    assert_eq!(
        c.d.blob_metadata(&ctx(), &"bucket1".into(), &"blob3".into())
            .await
            .expect("meta"),
        Some(BTreeMap::new())
    );
    assert_eq!(
        c.d.blob_metadata(&ctx(), &"bucket1".into(), &"nope".into())
            .await
            .expect("meta"),
        None
    );
    // Keyed on the blob id alone.
    assert!(
        c.d.blob_metadata(&ctx(), &"bucket1".into(), &"blob4".into())
            .await
            .expect("meta")
            .is_some()
    );

    let new: BTreeMap<String, String> = [
        ("Owner".to_owned(), "me".to_owned()),
        ("X".to_owned(), "1".to_owned()),
    ]
    .into();
    c.d.update_blob_metadata(&ctx(), &"bucket1".into(), &"blob1".into(), new)
        .await
        .expect("update");
    let m =
        c.d.blob_metadata(&ctx(), &"bucket1".into(), &"blob1".into())
            .await
            .expect("meta");
    assert_eq!(
        m,
        Some(
            [
                ("owner".to_owned(), "me".to_owned()),
                ("x".to_owned(), "1".to_owned())
            ]
            .into()
        ),
        "replaced, lower-cased"
    );
    assert_eq!(
        kind(
            c.d.update_blob_metadata(&ctx(), &"bucket1".into(), &"nope".into(), BTreeMap::new())
                .await
        ),
        ErrorKind::NotFound
    );
}
