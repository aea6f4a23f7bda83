//! The ec2 backend's buckets and blobs (S3, path-style) end to end against moto, through `/api`:
//! bucket create / list / show / delete, blobs uploaded by `PUT` and by multipart form with
//! metadata, read back with their metadata, a large blob streamed up (a multipart upload to
//! S3) and down in bounded memory, deletions and the 404s and 403s around them. Skipped without
//! `MOTO_URL` (see `ec2_backend`).

use crate::common::{Pattern, byte_at, child, child_text, client, peak_rss_kib, send, xml};
use crate::ec2_backend::{KEY, SECRET, Server, api, api_ok, moto_url, unique};
use std::io::Read;
use std::time::Duration;

#[test]
fn buckets_and_blobs_against_moto() {
    let Some(moto) = moto_url("buckets_and_blobs_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let bucket = unique("dc-bucket");

    let j = api_ok(&s, "POST", "/api/buckets", &[("name", &bucket)], 201);
    assert_eq!(j["bucket"]["id"], bucket.as_str());
    let j = api_ok(&s, "GET", "/api/buckets", &[], 200);
    let names: Vec<&str> = j["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert!(names.contains(&bucket.as_str()), "{j}");
    // Creating it again is a conflict (moto: BucketAlreadyOwnedByYou in us-east-1 is a 200, so
    // only the status class is pinned: never a 5xx).
    assert!(api(&s, "POST", "/api/buckets", &[("name", &bucket)]).status < 500);

    // PUT with a content type and metadata, read back in XML.
    let r = send(
        client()
            .put(s.url(&format!("/api/buckets/{bucket}/today.txt")))
            .basic_auth(KEY, Some(SECRET))
            .header("Accept", "application/xml")
            .header("Content-Type", "text/x-notes")
            .header("X-Deltacloud-Blobmeta-Version", "2.1")
            .body("some notes"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.attribute("id"), Some("today.txt"));
    assert_eq!(child_text(root, "content_length"), Some("10"));
    assert_eq!(child_text(root, "content_type"), Some("text/x-notes"));
    let entry = child(child(root, "user_metadata").unwrap(), "entry").unwrap();
    assert_eq!(
        (entry.attribute("key"), entry.text().map(str::trim)),
        (Some("version"), Some("2.1"))
    );
    let r = send(
        client()
            .get(s.url(&format!("/api/buckets/{bucket}/today.txt/content")))
            .basic_auth(KEY, Some(SECRET)),
    );
    assert_eq!((r.status, r.body.as_str()), (200, "some notes"));

    // The bucket shown by id lists its blobs.
    let j = api_ok(&s, "GET", &format!("/api/buckets/{bucket}"), &[], 200);
    assert_eq!(j["bucket"]["size"], 1, "{j}");

    // Metadata replaced in place (a copy onto itself at S3).
    let r = send(
        client()
            .post(s.url(&format!("/api/buckets/{bucket}/today.txt")))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Deltacloud-Blobmeta-Reviewed", "yes"),
    );
    assert!(r.status < 300, "{}: {}", r.status, r.body);
    let r = send(
        client()
            .head(s.url(&format!("/api/buckets/{bucket}/today.txt")))
            .basic_auth(KEY, Some(SECRET)),
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-deltacloud-blobmeta-reviewed"), Some("yes"));

    // A bucket with a blob cannot be deleted.
    let r = api(&s, "DELETE", &format!("/api/buckets/{bucket}"), &[]);
    assert_eq!(r.status, 403, "{}", r.body);

    // Missing things.
    let r = api(&s, "GET", &format!("/api/buckets/{bucket}/nope"), &[]);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api(
        &s,
        "GET",
        &format!("/api/buckets/{}", unique("dc-none")),
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // Delete the blob, then the bucket.
    let r = api(
        &s,
        "DELETE",
        &format!("/api/buckets/{bucket}/today.txt"),
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api(&s, "DELETE", &format!("/api/buckets/{bucket}"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    let j = api_ok(&s, "GET", "/api/buckets", &[], 200);
    assert!(!j.to_string().contains(&bucket), "{j}");
}

#[test]
fn a_large_blob_streams_through_s3_in_bounded_memory() {
    // Larger than several upload parts, so the backend must use a multipart upload.
    const SIZE: u64 = 48 * 1024 * 1024;
    let Some(moto) = moto_url("a_large_blob_streams_through_s3_in_bounded_memory") else {
        return;
    };
    let s = Server::start(&moto, 30);
    let before = peak_rss_kib(s.pid());
    let bucket = unique("dc-large");
    api_ok(&s, "POST", "/api/buckets", &[("name", &bucket)], 201);
    let big = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let r = big
        .put(s.url(&format!("/api/buckets/{bucket}/big.bin")))
        .basic_auth(KEY, Some(SECRET))
        .header("Accept", "application/json")
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::blocking::Body::sized(
            Pattern { pos: 0, len: SIZE },
            SIZE,
        ))
        .send()
        .expect("upload");
    let status = r.status().as_u16();
    let body = r.text().unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["blob"]["content_length"], SIZE, "{j}");

    let mut r = big
        .get(s.url(&format!("/api/buckets/{bucket}/big.bin/content")))
        .basic_auth(KEY, Some(SECRET))
        .send()
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    loop {
        let n = r.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        for (k, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, byte_at(pos + k as u64), "byte {}", pos + k as u64);
        }
        pos += n as u64;
    }
    assert_eq!(pos, SIZE, "whole blob downloaded");

    // At most one upload part (8 MiB) and transfer buffers are held, never the blob.
    let peak = peak_rss_kib(s.pid());
    assert!(
        peak - before < SIZE / 1024 / 2,
        "server peak RSS grew from {before} KiB to {peak} KiB for a {} KiB blob",
        SIZE / 1024
    );
    let r = api(&s, "DELETE", &format!("/api/buckets/{bucket}/big.bin"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api(&s, "DELETE", &format!("/api/buckets/{bucket}"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
}
