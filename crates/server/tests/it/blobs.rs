//! Blobs through the real binary (`deltacloud-api.md` §8.9.2): metadata documents, streamed
//! upload (raw `PUT` and multipart `POST`) and download, metadata headers, name validation, and
//! a ~300 MB blob streamed up and down while the server's peak memory stays far below it.

use crate::common::*;
use std::io::Read;

fn auth(rb: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
    rb.basic_auth(USER, Some(PASSWORD))
}

const BOUNDARY: &str = "----dc-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body: `(name, file content type, value)`; parts with a content type
/// are file parts.
fn multipart(parts: &[(&str, Option<&str>, &str)]) -> String {
    let mut out = String::new();
    for (name, ctype, value) in parts {
        out.push_str(&format!("--{BOUNDARY}\r\n"));
        match ctype {
            Some(t) => out.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\nContent-Type: {t}\r\n\r\n"
            )),
            None => out.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{BOUNDARY}--\r\n"));
    out
}

#[test]
fn blob_documents_content_and_metadata_headers() {
    let s = Server::start();
    let r = get_xml(&s, "/api/buckets/bucket1/blob1");
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    let b = doc.root_element();
    assert_eq!(
        child_names(b),
        [
            "bucket",
            "content_length",
            "content_type",
            "last_modified",
            "user_metadata",
            "content"
        ]
    );
    assert_eq!(child_text(b, "content_length"), Some("17"));
    let entry = child(child(b, "user_metadata").unwrap(), "entry").unwrap();
    assert_eq!(entry.attribute("key"), Some("SOMENEWKEY"));
    assert_eq!(entry.text(), Some("NEWVALUE"));
    assert_eq!(
        child(b, "content").unwrap().attribute("href"),
        Some(s.url("/api/buckets/bucket1/blob1/content").as_str())
    );

    let j = get_json(&s, "/api/buckets/bucket1/blob2").json();
    assert_eq!(j["blob"]["bucket"]["id"], "bucket1");
    assert_eq!(
        j["blob"]["content"],
        "<html><head></head><body>content of blob 2</body></html>"
    );
    assert_eq!(j["blob"]["user_metadata"]["VERSION"], "1.2");
    // blob3's "empty string" metadata is normalised to an object.
    let j = get_json(&s, "/api/buckets/bucket1/blob3").json();
    assert_eq!(j["blob"]["user_metadata"], serde_json::json!({}));

    // Wrong bucket, missing blob: 404.
    assert_eq!(get_xml(&s, "/api/buckets/bucket2/blob1").status, 404);
    assert_eq!(get_xml(&s, "/api/buckets/bucket1/nope").status, 404);

    let r = send(auth(
        client().get(s.url("/api/buckets/bucket2/blob5/content")),
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "content of blob 5");
    assert_eq!(r.ctype(), "application/pdf");
    assert_eq!(r.header("content-length"), Some("17"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=blob5")
    );

    // HEAD: 204 and the metadata as headers (none for blob3).
    let r = send(auth(client().head(s.url("/api/buckets/bucket1/blob2"))));
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-deltacloud-blobmeta-version"), Some("1.2"));
    let r = send(auth(
        client().head(s.url("/api/buckets/bucket1/blob3/metadata")),
    ));
    assert_eq!(r.status, 204);
    assert!(
        !r.headers
            .keys()
            .any(|k| k.as_str().starts_with("x-deltacloud-blobmeta-"))
    );
    let r = send(auth(client().head(s.url("/api/buckets/bucket1/nope"))));
    assert_eq!(r.status, 404);

    // Metadata update replaces the map; keys are stored lower-cased.
    let r = send(auth(
        client()
            .post(s.url("/api/buckets/bucket1/blob3"))
            .header("X-Deltacloud-Blobmeta-Owner", "me"),
    ));
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("x-deltacloud-blobmeta-owner"), Some("me"));
    let r = send(auth(client().head(s.url("/api/buckets/bucket1/blob3"))));
    assert_eq!(r.header("x-deltacloud-blobmeta-owner"), Some("me"));
}

#[test]
fn put_post_delete_and_bad_names() {
    let s = Server::start();
    let r = send(auth(
        client()
            .put(s.url("/api/buckets/bucket2/notes.txt"))
            .header("Accept", "application/xml")
            .header("Content-Type", "text/x-notes")
            .header("X-Deltacloud-Blobmeta-Version", "2.1")
            .body("some notes"),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    assert_eq!(doc.root_element().attribute("id"), Some("notes.txt"));
    assert_eq!(child_text(doc.root_element(), "content_length"), Some("10"));
    assert_eq!(
        child_text(doc.root_element(), "content_type"),
        Some("text/x-notes")
    );
    let entry = child(child(doc.root_element(), "user_metadata").unwrap(), "entry").unwrap();
    assert_eq!(
        (entry.attribute("key"), entry.text()),
        (Some("version"), Some("2.1"))
    );
    let r = send(auth(
        client().get(s.url("/api/buckets/bucket2/notes.txt/content")),
    ));
    assert_eq!(r.body, "some notes");
    assert_eq!(r.ctype(), "text/x-notes");

    // `…/stream` behaves like PUT; its JSON is the bare blob object.
    let r = send(auth(
        client()
            .put(s.url("/api/buckets/bucket2/streamed/stream"))
            .header("Accept", "application/json")
            .body("abc"),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], "streamed");
    assert_eq!(r.json()["content_length"], 3);

    // Multipart form upload, with metadata fields before and after the file.
    let form = multipart(&[
        ("blob_id", None, "upload1"),
        ("meta_params", None, "1"),
        ("meta_name1", None, "Color"),
        ("blob_data", Some("application/x-test"), "form data here"),
        ("meta_value1", None, "red"),
    ]);
    let r = send(auth(
        client()
            .post(s.url("/api/buckets/bucket1"))
            .header("Accept", "application/json")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(form),
    ));
    assert_eq!(r.status, 201, "{}", r.body);
    let b = &r.json()["blob"];
    assert_eq!(b["id"], "upload1");
    assert_eq!(b["content_length"], 14);
    assert_eq!(b["content_type"], "application/x-test");
    assert_eq!(
        b["user_metadata"]["color"], "red",
        "metadata after the file applies"
    );
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/buckets/bucket1/upload1").as_str())
    );
    let r = send(auth(
        client().get(s.url("/api/buckets/bucket1/upload1/content")),
    ));
    assert_eq!(r.body, "form data here");

    // Form without blob_id: plain-text 400.
    let form = multipart(&[("blob_data", Some("text/plain"), "x")]);
    let r = send(auth(
        client()
            .post(s.url("/api/buckets/bucket1"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(form),
    ));
    assert_eq!(r.status, 400);
    assert!(
        r.body.starts_with("Required parameter 'blob_id'"),
        "{}",
        r.body
    );

    // Into a missing bucket: 404.
    let r = send(auth(client().put(s.url("/api/buckets/nope/x")).body("x")));
    assert_eq!(r.status, 404, "{}", r.body);

    // Names that could escape the storage area: 400, and nothing is stored.
    // (`..` itself is sent raw: URL libraries resolve dot segments before sending.)
    for dots in ["..", "%2E%2E"] {
        let out = raw(
            &s,
            &format!(
                "PUT /api/buckets/bucket1/{dots} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic bW9ja3VzZXI6bW9ja3Bhc3N3b3Jk\r\nAccept: application/xml\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
                s.authority
            ),
        );
        assert!(out.starts_with("HTTP/1.1 400"), "{dots}: {out}");
    }
    for bad in ["..%2Fescape", "a%5Cb", "a%00b"] {
        let r = send(auth(
            client()
                .put(format!("{}/api/buckets/bucket1/{bad}", s.base))
                .header("Accept", "application/xml")
                .body("x"),
        ));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = send(auth(
        client()
            .put(format!("{}/api/buckets/..%2F..%2Fetc/passwd", s.base))
            .body("x"),
    ));
    assert_eq!(r.status, 400);
    let doc_body = get_xml(&s, "/api/buckets/bucket1").body;
    assert!(!doc_body.contains("escape"), "{doc_body}");

    // Delete: 204, then gone; deleting again is the mock's 500.
    let r = send(auth(
        client()
            .delete(s.url("/api/buckets/bucket1/upload1"))
            .header("Accept", "application/xml"),
    ));
    assert_eq!(r.status, 204);
    assert_eq!(get_xml(&s, "/api/buckets/bucket1/upload1").status, 404);
    let r = send(auth(
        client()
            .delete(s.url("/api/buckets/bucket1/upload1"))
            .header("Accept", "application/xml"),
    ));
    assert_eq!(r.status, 500);
}

#[test]
fn large_blob_streams_up_and_down_in_bounded_memory() {
    const SIZE: u64 = 300 * 1024 * 1024;
    let s = Server::start();
    let pid = s.pid().expect("pid");
    let before = peak_rss_kib(pid);
    let big = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();

    let r = big
        .put(s.url("/api/buckets/bucket1/big.bin"))
        .basic_auth(USER, Some(PASSWORD))
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
    assert_eq!(j["blob"]["content_length"], SIZE);
    assert_eq!(j["blob"]["content"], serde_json::Value::Null);

    let mut r = big
        .get(s.url("/api/buckets/bucket1/big.bin/content"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(SIZE.to_string().as_str())
    );
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

    // The JSON show does not pull a large blob in either.
    let j = get_json(&s, "/api/buckets/bucket1/big.bin").json();
    assert_eq!(j["blob"]["content"], serde_json::Value::Null);

    let peak = peak_rss_kib(pid);
    let size_kib = SIZE / 1024;
    assert!(
        peak < size_kib / 4,
        "server peak RSS {peak} KiB (was {before} KiB before) for a {size_kib} KiB blob"
    );
}
