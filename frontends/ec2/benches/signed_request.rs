//! The CPU cost of a SigV4-presigned `/ec2` request before any driver is called, without HTTP:
//! parsing its parameters, reading the signing claims, and verifying the signature with a
//! signing key kept from an earlier request (what the handler does) or derived afresh.
//!
//! `cargo bench -p deltacloud-frontend-ec2 --bench signed_request`. The request is the one
//! `bench/run.sh` replays (DescribeInstances, presigned for `mockuser`). Compare the rows with
//! each other, in one run: absolute times depend on the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deltacloud_core::Secret;
use deltacloud_frontend_ec2::auth::sigv4::{self, HttpParts, SigningKeys};
use deltacloud_frontend_ec2::auth::{Presented, detect};
use deltacloud_frontend_ec2::params::Params;
use divan::black_box;

fn main() {
    divan::main();
}

const SECRET: &str = "mockpassword";
const HEADERS: &[(&str, &str)] = &[("host", "127.0.0.1:3001")];
const UNSIGNED: &str = "Action=DescribeInstances&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=mockuser%2F20261206%2Fus-east-1%2Fec2%2Faws4_request\
    &X-Amz-Date=20261206T120000Z&X-Amz-Expires=3000&X-Amz-SignedHeaders=host";

fn parts<'a>(query: &'a str, decoded: Option<&'a Params<'a>>) -> HttpParts<'a> {
    HttpParts {
        method: "GET",
        path: "/ec2",
        query,
        decoded_query: decoded.map(Params::pairs),
        headers: HEADERS,
        body: b"",
    }
}

fn claims<'a>(parts: &HttpParts<'a>, params: &'a Params<'a>) -> sigv4::V4Claims<'a> {
    match detect(parts, params.pairs(), params.pairs()).unwrap() {
        Presented::V4(c) => c,
        other => panic!("not SigV4: {other:?}"),
    }
}

/// The presigned query with a valid signature (computed through the `String` forms).
fn signed_query() -> String {
    let dummy = format!("{UNSIGNED}&X-Amz-Signature={}", "0".repeat(64));
    let params = Params::parse(dummy.as_bytes()).unwrap();
    let p = parts(&dummy, None);
    let c = claims(&p, &params);
    let sts = sigv4::string_to_sign(&c, &sigv4::canonical_request(&p, &c).unwrap());
    let key = sigv4::signing_key(SECRET, "20261206", "us-east-1", "ec2");
    let sig = deltacloud_frontend_ec2::auth::hmac_sha256(&key, sts.as_bytes());
    format!("{UNSIGNED}&X-Amz-Signature={}", hex::encode(sig))
}

#[divan::bench]
fn parse_parameters(b: divan::Bencher) {
    let q = signed_query();
    b.bench_local(|| {
        Params::parse(black_box(q.as_bytes()))
            .unwrap()
            .pairs()
            .len()
    });
}

#[divan::bench]
fn read_claims(b: divan::Bencher) {
    let q = signed_query();
    let params = Params::parse(q.as_bytes()).unwrap();
    let p = parts(&q, Some(&params));
    b.bench_local(|| claims(black_box(&p), &params).time.unix);
}

#[divan::bench]
fn verify_with_kept_key(b: divan::Bencher) {
    let q = signed_query();
    let params = Params::parse(q.as_bytes()).unwrap();
    let p = parts(&q, Some(&params));
    let c = claims(&p, &params);
    let keys = SigningKeys::default();
    let secret = Secret::new(SECRET);
    keys.verify(&p, &c, &secret).unwrap();
    b.bench_local(|| keys.verify(black_box(&p), &c, &secret).unwrap());
}

#[divan::bench]
fn verify_deriving_the_key(b: divan::Bencher) {
    let q = signed_query();
    let params = Params::parse(q.as_bytes()).unwrap();
    let p = parts(&q, Some(&params));
    let c = claims(&p, &params);
    b.bench_local(|| sigv4::verify(black_box(&p), &c, SECRET).unwrap());
}

/// Everything the handler does before the driver: parse, claims, verify with the kept key.
#[divan::bench]
fn whole_signed_request(b: divan::Bencher) {
    let q = signed_query();
    let keys = SigningKeys::default();
    let secret = Secret::new(SECRET);
    b.bench_local(|| {
        let params = Params::parse(black_box(q.as_bytes())).unwrap();
        let p = parts(&q, Some(&params));
        let c = claims(&p, &params);
        keys.verify(&p, &c, &secret).unwrap();
    });
}
