use std::time::Duration;

use deltacloud_testkit::{
    BodyMatch, Cassette, Interaction, InteractionRef, MatchRules, ReplayServer, UNMATCHED_STATUS,
};

use crate::raw::Raw;

/// An EC2-style cassette: one DescribeKeyPairs, a DescribeInstances polled three times with
/// changing state, and a 401 with a custom reason.
const EC2: &str = r#"---
http_interactions:
- request:
    method: get
    uri: https://ec2.us-east-1.amazonaws.com/?AWSAccessKeyId=AKIAOLD&Action=DescribeKeyPairs&Signature=abc+def=&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2012-07-30T11:05:00.000Z&Version=2010-08-31
    body:
      string: ""
    headers:
      Accept:
      - "*/*"
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Type:
      - text/xml;charset=UTF-8
      Transfer-Encoding:
      - chunked
      Content-Length:
      - '999'
      Content-Encoding:
      - gzip
      Connection:
      - close
      Set-Cookie:
      - a=1
      - b=2
      Server:
      - AmazonEC2
    body:
      string: |-
        <DescribeKeyPairsResponse>
            <keySet><item><keyName>test1</keyName></item></keySet>
        </DescribeKeyPairsResponse>
- request:
    method: get
    uri: https://ec2.us-east-1.amazonaws.com/?Action=DescribeInstances&InstanceId.1=i-1&Signature=s1&Timestamp=t1&Version=2010-08-31
    body:
      string: ""
  response:
    status:
      code: 200
    body:
      string: pending
- request:
    method: get
    uri: https://ec2.us-east-1.amazonaws.com/?Action=DescribeInstances&InstanceId.1=i-1&Signature=s2&Timestamp=t2&Version=2010-08-31
    body:
      string: ""
  response:
    status:
      code: 200
    body:
      string: running
- request:
    method: get
    uri: https://ec2.us-east-1.amazonaws.com/?Action=DescribeInstances&InstanceId.1=i-1&Signature=s3&Timestamp=t3&Version=2010-08-31
    body:
      string: ""
  response:
    status:
      code: 200
    body:
      string: terminated
- request:
    method: get
    uri: https://ec2.us-east-1.amazonaws.com/?Action=DescribeRegions&Version=2010-08-31
    body:
      string: ""
  response:
    status:
      code: 401
      message: Go Away
    headers:
      Www-Authenticate:
      - Basic realm="x"
    body:
      string: <Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>
"#;

fn ec2_server(rules: MatchRules) -> ReplayServer {
    let cassette = Cassette::from_yaml_str(EC2).unwrap().with_name("ec2");
    ReplayServer::start([cassette], rules).unwrap()
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn replays_status_headers_and_body_ignoring_signature_and_host() {
    let server = ec2_server(MatchRules::default());
    let url = server.url(
        "/?Action=DescribeKeyPairs&Version=2010-08-31&AWSAccessKeyId=AKIANEW&Signature=new%2Bsig&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2024-01-01T00%3A00%3A00Z",
    );
    let resp = client().get(url).send().unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "text/xml;charset=UTF-8");
    assert_eq!(headers["server"], "AmazonEC2");
    let cookies: Vec<_> = headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(headers.get("transfer-encoding").is_none());
    assert!(headers.get("content-encoding").is_none());
    let body = resp.bytes().unwrap();
    assert_eq!(headers["content-length"], body.len().to_string().as_str());
    assert_eq!(
        &body[..],
        b"<DescribeKeyPairsResponse>\n    <keySet><item><keyName>test1</keyName></item></keySet>\n</DescribeKeyPairsResponse>"
    );

    let seen = server.requests_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path(), "/");
    assert_eq!(seen[0].param("Signature").as_deref(), Some("new+sig"));
    assert_eq!(
        seen[0].matched,
        Some(InteractionRef {
            cassette: "ec2".into(),
            index: 0
        })
    );
    server.assert_all_matched();
    assert_eq!(server.unused().len(), 4);
}

#[test]
fn identical_requests_are_served_in_recorded_order_then_the_last_repeats() {
    let server = ec2_server(MatchRules::default());
    let c = client();
    let bodies: Vec<String> = (0..5)
        .map(|i| {
            let url = server.url(&format!(
                "/?Action=DescribeInstances&InstanceId.1=i-1&Version=2010-08-31&Signature=x{i}&Timestamp=t{i}"
            ));
            c.get(url).send().unwrap().text().unwrap()
        })
        .collect();
    assert_eq!(
        bodies,
        [
            "pending",
            "running",
            "terminated",
            "terminated",
            "terminated"
        ]
    );
    let served: Vec<usize> = server
        .requests_seen()
        .iter()
        .map(|r| r.matched.as_ref().unwrap().index)
        .collect();
    assert_eq!(served, [1, 2, 3, 3, 3]);
}

#[test]
fn recorded_reason_phrase_and_error_status_are_kept() {
    let server = ec2_server(MatchRules::default());
    let mut raw = Raw::connect(server.addr());
    raw.send(b"GET /?Version=2010-08-31&Action=DescribeRegions HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = raw.response(false);
    assert_eq!((resp.status, resp.reason.as_str()), (401, "Go Away"));
    assert_eq!(resp.header("www-authenticate"), Some("Basic realm=\"x\""));
    assert!(resp.body.starts_with(b"<Response><Errors>"));
    // The recorded `Connection: close` of another interaction is not replayed: the same
    // connection serves the next request.
    raw.send(b"GET /?Action=DescribeKeyPairs&Version=2010-08-31 HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = raw.response(false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers_named("connection"), Vec::<&str>::new());
    assert_eq!(resp.headers_named("set-cookie"), ["a=1", "b=2"]);
}

#[test]
fn unmatched_requests_get_599_naming_the_closest_recording() {
    let server = ec2_server(MatchRules::default());
    let resp =
        client()
            .get(server.url(
                "/?Action=DescribeKeyPairs&Version=2010-08-31&KeyName.1=nope&Signature=secret",
            ))
            .send()
            .unwrap();
    assert_eq!(resp.status().as_u16(), UNMATCHED_STATUS);
    assert_eq!(resp.headers()["x-testkit-unmatched"], "1");
    let body = resp.text().unwrap();
    assert!(
        body.contains("GET /?Action=DescribeKeyPairs&KeyName.1=nope&Version=2010-08-31"),
        "{body}"
    );
    assert!(body.contains("closest recording: ec2#0"), "{body}");
    assert!(
        body.contains("parameters not in the recording: KeyName.1=nope"),
        "{body}"
    );
    assert!(
        !body.contains("secret"),
        "volatile parameters must not be echoed: {body}"
    );

    let unmatched = server.unmatched();
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0].explanation, body);
    assert_eq!(
        unmatched[0].closest,
        Some(InteractionRef {
            cassette: "ec2".into(),
            index: 0
        })
    );
    assert_eq!(unmatched[0].request.matched, None);
    assert_eq!(server.requests_seen().len(), 1);
    // Nothing was served, so everything is still unused.
    assert_eq!(server.unused().len(), 5);

    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.assert_all_matched()))
            .unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("1 request(s) matched no recording") && msg.contains("KeyName.1=nope"),
        "{msg}"
    );
}

#[test]
fn an_empty_server_reports_that_it_has_no_recordings() {
    let server = ReplayServer::start(Vec::new(), MatchRules::default()).unwrap();
    let resp = client().delete(server.url("/api/vms/1")).send().unwrap();
    assert_eq!(resp.status().as_u16(), UNMATCHED_STATUS);
    assert!(resp.text().unwrap().contains("has no recordings"));
    assert_eq!(server.unmatched()[0].closest, None);
}

#[tokio::test]
async fn works_from_async_tests_and_matches_post_forms_against_recorded_gets() {
    let server = ec2_server(MatchRules::aws_query());
    let client = reqwest::Client::new();
    let resp = client
        .post(server.url("/"))
        .form(&[
            ("Action", "DescribeKeyPairs"),
            ("Version", "2016-11-15"),
            ("X-Amz-Date", "20240101T000000Z"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("<keyName>test1</keyName>")
    );
    let seen = server.requests_seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].param("Action").as_deref(), Some("DescribeKeyPairs"));
    server.assert_all_matched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_one_recorded_answer() {
    let server = ec2_server(MatchRules::default());
    let client = reqwest::Client::new();
    let url = server.url("/?Action=DescribeInstances&InstanceId.1=i-1&Version=2010-08-31");
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (c, u) = (client.clone(), url.clone());
            tokio::spawn(async move { c.get(u).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap());
    }
    bodies.sort();
    assert_eq!(bodies, ["pending", "running", "terminated"]);
}

#[test]
fn json_bodies_chunked_uploads_and_expect_continue() {
    let token = Interaction::new(
        "POST",
        "http://keystone:5000/v2.0/tokens",
        200,
        r#"{"access":{}}"#,
    )
    .with_request_body(
        "application/json",
        r#"{"auth":{"tenantName":"admin","passwordCredentials":{"username":"u"}}}"#,
    )
    .with_response_header("Content-Type", "application/json");
    let server = ReplayServer::start(
        [Cassette::new("keystone", vec![token])],
        MatchRules::default(),
    )
    .unwrap();
    let mut raw = Raw::connect(server.addr());
    // Same JSON, different key order and spacing, sent chunked after a 100-continue.
    let json =
        br#"{ "auth": { "passwordCredentials": {"username": "u"}, "tenantName": "admin" } }"#;
    raw.send(b"POST /v2.0/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(raw.read_line(), "HTTP/1.1 100 Continue");
    assert_eq!(raw.read_line(), "");
    let (a, b) = json.split_at(10);
    raw.send(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    raw.send(a);
    raw.send(format!("\r\n{:x}\r\n", b.len()).as_bytes());
    raw.send(b);
    raw.send(b"\r\n0\r\nX-Trailer: y\r\n\r\n");
    let resp = raw.response(false);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.body, br#"{"access":{}}"#);
    assert_eq!(server.requests_seen()[0].body, json);
    // A different JSON value does not match.
    raw.send(b"POST /v2.0/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    let resp = raw.response(false);
    assert_eq!(resp.status, UNMATCHED_STATUS);
    assert!(
        String::from_utf8_lossy(&resp.body).contains("body: recorded a JSON body, got a JSON body")
    );
}

#[test]
fn ignored_bodies_and_head_requests() {
    let create = Interaction::new("POST", "https://rhevm/api/vms", 201, "<vm id=\"1\"/>")
        .with_request_body("application/xml", "<vm><name>i-1362696169</name></vm>");
    let head = Interaction::new("HEAD", "https://rhevm/api", 200, "<api/>");
    let cassette = Cassette::new("rhevm", vec![create, head]);
    let server = ReplayServer::start([cassette.clone()], MatchRules::default()).unwrap();
    let c = client();
    let resp = c
        .post(server.url("/api/vms"))
        .header("Content-Type", "application/xml")
        .body("<vm><name>i-999</name></vm>")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), UNMATCHED_STATUS);

    let server =
        ReplayServer::start([cassette], MatchRules::default().body(BodyMatch::Ignore)).unwrap();
    let resp = c
        .post(server.url("/api/vms"))
        .header("Content-Type", "application/xml")
        .body("<vm><name>i-999</name></vm>")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.text().unwrap(), "<vm id=\"1\"/>");

    let mut raw = Raw::connect(server.addr());
    raw.send(b"HEAD /api HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = raw.response(true);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("6"));
    // The connection is still usable: no body bytes were sent after the HEAD response.
    raw.send(b"HEAD /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let resp = raw.response(true);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(raw.read_to_end().is_empty());
}

#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    let server = ec2_server(MatchRules::default());
    let mut raw = Raw::connect(server.addr());
    raw.send(b"NONSENSE\r\n\r\n");
    let resp = raw.response(false);
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("malformed request line"));
    assert!(raw.read_to_end().is_empty());
    assert!(server.requests_seen().is_empty());
}

#[test]
fn several_cassettes_are_served_together_and_named() {
    let a = Cassette::new("a", vec![Interaction::new("GET", "http://h/one", 200, "1")]);
    let b = Cassette::new("b", vec![Interaction::new("GET", "http://h/two", 204, "")]);
    let server = ReplayServer::start([a, b], MatchRules::default()).unwrap();
    let c = client();
    assert_eq!(c.get(server.url("/two")).send().unwrap().status(), 204);
    assert_eq!(
        server.unused(),
        [InteractionRef {
            cassette: "a".into(),
            index: 0
        }]
    );
    assert_eq!(
        c.get(server.url("/one")).send().unwrap().text().unwrap(),
        "1"
    );
    assert!(server.unused().is_empty());
}

#[test]
fn dropping_the_server_closes_its_port_and_open_connections() {
    let server = ec2_server(MatchRules::default());
    let addr = server.addr();
    let mut raw = Raw::connect(addr);
    raw.send(b"GET /?Action=DescribeKeyPairs&Version=2010-08-31 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(raw.response(false).status, 200);
    drop(server);
    // The idle keep-alive connection was shut down, and nothing listens any more.
    assert!(raw.read_to_end().is_empty());
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn seen_requests_debug_redacts_credentials() {
    let server = ec2_server(MatchRules::default());
    client()
        .get(server.url("/?Action=DescribeKeyPairs&Version=2010-08-31"))
        .header("Authorization", "Basic c2VjcmV0")
        .header("X-Auth-Token", "tok123")
        .send()
        .unwrap();
    let seen = &server.requests_seen()[0];
    assert_eq!(seen.header("authorization"), Some("Basic c2VjcmV0"));
    let debug = format!("{seen:?}");
    assert!(
        !debug.contains("c2VjcmV0") && !debug.contains("tok123"),
        "{debug}"
    );
    assert!(debug.contains("<redacted>"));
}
