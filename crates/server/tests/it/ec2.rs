//! `/ec2` over real HTTP: transport, namespaces, EC2 error documents, signature checks (SigV4
//! header and presigned, SigV2, Basic), pagination, and the credential store CLI. Requests are
//! signed with `aws-sigv4` (an implementation independent of ours); the end-to-end runs with
//! aws-cli, boto3 and libcloud live in `.ci/python/`.

use crate::common::{Resp, Server, child, child_text, client, send, xml};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use std::time::{Duration, SystemTime};

type Pairs = Vec<(String, String)>;
/// `(parameters, expected code, expected status)`.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, u16);

const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

struct Signer {
    key: String,
    secret: String,
    region: String,
    service: String,
    /// Offset of the signing time from now.
    skew: i64,
    presign: bool,
}

impl Default for Signer {
    fn default() -> Self {
        Self {
            key: "mockuser".into(),
            secret: "mockpassword".into(),
            region: "us-east-1".into(),
            service: "ec2".into(),
            skew: 0,
            presign: false,
        }
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Signer {
    fn time(&self) -> SystemTime {
        let now = SystemTime::now();
        if self.skew >= 0 {
            now + Duration::from_secs(self.skew.unsigned_abs())
        } else {
            now - Duration::from_secs(self.skew.unsigned_abs())
        }
    }

    /// A signed POST form to `path`; returns the response.
    fn post(&self, s: &Server, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let body = form(pairs);
        let url = s.url(path);
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = vec![
            ("host".to_owned(), s.authority.clone()),
            ("content-type".to_owned(), ct.to_owned()),
        ];
        let signed = self.sign("POST", &url, &headers, body.as_bytes());
        let mut rb = client().post(&url).header("content-type", ct).body(body);
        for (k, v) in signed {
            rb = rb.header(k, v);
        }
        send(rb)
    }

    /// A signed GET with the parameters in the query (header or presigned form).
    fn get(&self, s: &Server, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let url = format!("{}?{}", s.url(path), form(pairs));
        let headers = vec![("host".to_owned(), s.authority.clone())];
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        if self.presign {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(300));
        }
        let (extra_headers, extra_query) = self.sign_with(settings, "GET", &url, &headers, b"");
        let mut full = url.clone();
        for (k, v) in extra_query {
            full.push('&');
            full.push_str(&form(&[(&k, &v)]));
        }
        let mut rb = client().get(&full);
        for (k, v) in extra_headers {
            rb = rb.header(k, v);
        }
        send(rb)
    }

    fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        self.sign_with(settings, method, url, headers, body).0
    }

    fn sign_with(
        &self,
        settings: SigningSettings,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (Pairs, Pairs) {
        let identity = Credentials::new(&self.key, &self.secret, None, None, "it").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.time())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let req = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(req, &params).unwrap().into_parts();
        let (h, q) = instructions.into_parts();
        (
            h.into_iter()
                .map(|h| (h.name().to_owned(), h.value().to_owned()))
                .collect(),
            q.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_string()))
                .collect(),
        )
    }
}

/// `(Code, status)` of an EC2 error document, checking its shape on the way.
fn error(r: &Resp) -> (String, u16) {
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Response", "{}", r.body);
    let err = child(child(root, "Errors").unwrap(), "Error").unwrap();
    let names: Vec<&str> = err
        .children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect();
    assert_eq!(names, ["Code", "Message"], "nothing else in <Error>");
    let rid = child_text(root, "RequestID").unwrap();
    assert_eq!(Some(rid), r.header("x-amzn-requestid"));
    (child_text(err, "Code").unwrap().to_owned(), r.status)
}

fn ids(body: &str, item_path: &[&str]) -> Vec<String> {
    let doc = xml(body);
    let mut nodes = vec![doc.root_element()];
    for name in item_path {
        nodes = nodes
            .into_iter()
            .flat_map(|n| {
                n.children()
                    .filter(|c| c.has_tag_name(*name))
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    nodes
        .iter()
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect()
}

const INSTANCE_IDS: &[&str] = &[
    "reservationSet",
    "item",
    "instancesSet",
    "item",
    "instanceId",
];

#[test]
fn transport_namespaces_and_request_ids() {
    let s = Server::start();
    let sig = Signer::default();
    // POST on /ec2/ (what SDKs send) and /ec2; GET with the query; the namespace follows Version.
    let r = sig.post(
        &s,
        "/ec2/",
        &[("Action", "DescribeRegions"), ("Version", "2016-11-15")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), "text/xml;charset=UTF-8");
    assert!(
        r.body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    let doc = xml(&r.body);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "DescribeRegionsResponse");
    assert_eq!(root.tag_name().namespace(), Some(NS));
    let rid = child_text(root, "requestId").unwrap();
    assert_eq!(Some(rid), r.header("x-amzn-requestid"));
    assert_eq!(rid.len(), 36, "a UUID");

    let r = sig.post(
        &s,
        "/ec2",
        &[
            ("Action", "DescribeAvailabilityZones"),
            ("Version", "2014-10-01"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://ec2.amazonaws.com/doc/2014-10-01/")
    );
    assert_eq!(
        ids(&r.body, &["availabilityZoneInfo", "item", "zoneName"]),
        ["us", "eu"]
    );

    let r = sig.get(
        &s,
        "/ec2",
        &[
            ("Action", "DescribeInstances"),
            ("Version", "2016-11-15"),
            ("InstanceId.1", "inst1"),
            ("InstanceId.2", "inst3"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, INSTANCE_IDS), ["inst1", "inst3"]);
    let doc = xml(&r.body);
    let state = doc
        .descendants()
        .find(|n| n.has_tag_name("instanceState"))
        .unwrap();
    assert_eq!(child_text(state, "code"), Some("16"));
    assert_eq!(child_text(state, "name"), Some("running"));

    // The presigned-query form.
    let pre = Signer {
        presign: true,
        ..Signer::default()
    };
    let r = pre.get(
        &s,
        "/ec2/",
        &[
            ("Action", "DescribeImages"),
            ("Version", "2016-11-15"),
            ("Owner.1", "self"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, &["imagesSet", "item", "imageId"]), ["img3"]);

    // HTTP Basic, the original's scheme, still works.
    let r = send(
        client()
            .get(s.url("/ec2?Action=DescribeKeyPairs&Version=2016-11-15"))
            .basic_auth("mockuser", Some("mockpassword")),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, &["keySet", "item", "keyName"]), ["test-key"]);
    let r = send(
        client()
            .get(s.url("/ec2?Action=DescribeInstances&Version=2016-11-15"))
            .basic_auth("mockuser", Some("nope")),
    );
    assert_eq!(error(&r), ("AuthFailure".to_owned(), 401));
}

#[test]
fn error_documents() {
    let s = Server::start();
    let sig = Signer::default();
    let v = ("Version", "2016-11-15");
    let cases: &[Case<'_>] = &[
        (&[("Action", "FlyToTheMoon"), v], "InvalidAction", 400),
        (&[v], "MissingParameter", 400),
        (
            &[
                ("Action", "DescribeInstances"),
                v,
                ("InstanceId.1", "inst9"),
            ],
            "InvalidInstanceID.NotFound",
            400,
        ),
        (&[("Action", "StopInstances"), v], "MissingParameter", 400),
        (
            &[
                ("Action", "DescribeInstances"),
                v,
                ("Filter.1.Name", "bogus"),
                ("Filter.1.Value.1", "x"),
            ],
            "InvalidParameterValue",
            400,
        ),
        (
            &[
                ("Action", "RunInstances"),
                v,
                ("ImageId", "img9"),
                ("MinCount", "1"),
                ("MaxCount", "1"),
            ],
            "InvalidAMIID.NotFound",
            400,
        ),
        (
            &[("Action", "DescribeSecurityGroups"), v],
            "UnsupportedOperation",
            400,
        ),
        (
            &[("Action", "GetConsoleOutput"), v, ("InstanceId", "inst0")],
            "UnsupportedOperation",
            400,
        ),
        (
            &[("Action", "DescribeInstances"), v, ("DryRun", "true")],
            "DryRunOperation",
            412,
        ),
        (
            &[("Action", "DescribeInstances"), ("Version", "latest")],
            "InvalidParameterValue",
            400,
        ),
    ];
    for (pairs, code, status) in cases {
        let r = sig.post(&s, "/ec2/", pairs);
        assert_eq!(
            error(&r),
            ((*code).to_owned(), *status),
            "{pairs:?}: {}",
            r.body
        );
    }
    // No credentials at all.
    let r = send(client().get(s.url("/ec2?Action=DescribeInstances&Version=2016-11-15")));
    assert_eq!(error(&r), ("AuthFailure".to_owned(), 401));
    // A malformed Authorization header.
    let r = send(
        client()
            .get(s.url("/ec2?Action=DescribeInstances"))
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=x"),
    );
    assert_eq!(error(&r), ("IncompleteSignature".to_owned(), 400));
}

#[test]
fn signature_failures() {
    let s = Server::start();
    let ok = &[("Action", "DescribeRegions"), ("Version", "2016-11-15")];
    let check = |sig: Signer, code: &str, status: u16| {
        let r = sig.post(&s, "/ec2/", ok);
        assert_eq!(error(&r), (code.to_owned(), status), "{}", r.body);
    };
    check(
        Signer {
            secret: "wrong".into(),
            ..Signer::default()
        },
        "SignatureDoesNotMatch",
        403,
    );
    check(
        Signer {
            skew: -3600,
            ..Signer::default()
        },
        "RequestExpired",
        400,
    );
    check(
        Signer {
            skew: 3600,
            ..Signer::default()
        },
        "RequestExpired",
        400,
    );
    check(
        Signer {
            region: "eu-west-9".into(),
            ..Signer::default()
        },
        "AuthFailure",
        401,
    );
    check(
        Signer {
            service: "s3".into(),
            ..Signer::default()
        },
        "AuthFailure",
        401,
    );
    check(
        Signer {
            key: "AKIDUNKNOWN".into(),
            ..Signer::default()
        },
        "AuthFailure",
        401,
    );
    // Within the skew window is fine.
    let r = Signer {
        skew: -600,
        ..Signer::default()
    }
    .post(&s, "/ec2/", ok);
    assert_eq!(r.status, 200, "{}", r.body);

    // A body changed after signing.
    let sig = Signer::default();
    let url = s.url("/ec2/");
    let ct = "application/x-www-form-urlencoded; charset=utf-8";
    let headers = vec![
        ("host".to_owned(), s.authority.clone()),
        ("content-type".to_owned(), ct.to_owned()),
    ];
    let signed = sig.sign("POST", &url, &headers, form(ok).as_bytes());
    let mut rb = client().post(&url).header("content-type", ct).body(form(&[
        ("Action", "DescribeRegions"),
        ("Version", "2016-11-16"),
    ]));
    for (k, v) in &signed {
        rb = rb.header(k.as_str(), v.as_str());
    }
    assert_eq!(error(&send(rb)), ("SignatureDoesNotMatch".to_owned(), 403));
    // The same request signed for another port (Host carries the port).
    let other = vec![
        ("host".to_owned(), "127.0.0.1:1".to_owned()),
        ("content-type".to_owned(), ct.to_owned()),
    ];
    let signed = sig.sign("POST", &url, &other, form(ok).as_bytes());
    let mut rb = client()
        .post(&url)
        .header("content-type", ct)
        .body(form(ok));
    for (k, v) in &signed {
        rb = rb.header(k.as_str(), v.as_str());
    }
    assert_eq!(error(&send(rb)), ("SignatureDoesNotMatch".to_owned(), 403));
}

#[test]
fn pagination_and_lifecycle() {
    let s = Server::start();
    let sig = Signer::default();
    let v = ("Version", "2016-11-15");
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "RunInstances"),
            v,
            ("ImageId", "img1"),
            ("MinCount", "3"),
            ("MaxCount", "3"),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", "batch"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let created = ids(&r.body, &["instancesSet", "item", "instanceId"]);
    assert_eq!(created, ["inst4", "inst5", "inst6"]);

    // 7 instances, pages of 5.
    let r = sig.post(
        &s,
        "/ec2/",
        &[("Action", "DescribeInstances"), v, ("MaxResults", "5")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let first = ids(&r.body, INSTANCE_IDS);
    assert_eq!(first.len(), 5);
    let token = ids(&r.body, &["nextToken"]).pop().expect("nextToken");
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "DescribeInstances"),
            v,
            ("MaxResults", "5"),
            ("NextToken", &token),
        ],
    );
    let second = ids(&r.body, INSTANCE_IDS);
    assert_eq!(second, ["inst5", "inst6"]);
    assert!(ids(&r.body, &["nextToken"]).is_empty());
    let r = sig.post(
        &s,
        "/ec2/",
        &[("Action", "DescribeInstances"), v, ("NextToken", "bogus")],
    );
    assert_eq!(error(&r), ("InvalidParameterValue".to_owned(), 400));

    // Filters by tag and state; every listed id is acted on, with real previous states.
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "DescribeInstances"),
            v,
            ("Filter.1.Name", "tag:Name"),
            ("Filter.1.Value.1", "bat*"),
            ("Filter.2.Name", "instance-state-code"),
            ("Filter.2.Value.1", "16"),
        ],
    );
    assert_eq!(ids(&r.body, INSTANCE_IDS), created);
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "StopInstances"),
            v,
            ("InstanceId.1", "inst4"),
            ("InstanceId.2", "inst5"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body, &["instancesSet", "item", "previousState", "code"]),
        ["16", "16"]
    );
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "TerminateInstances"),
            v,
            ("InstanceId.1", "inst4"),
            ("InstanceId.2", "inst6"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body, &["instancesSet", "item", "previousState", "code"]),
        ["80", "16"]
    );
    assert_eq!(
        ids(&r.body, &["instancesSet", "item", "currentState", "name"]),
        ["terminated", "terminated"]
    );
    // Tombstones keep terminated instances visible for boto3's waiter.
    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "DescribeInstances"),
            v,
            ("InstanceId.1", "inst4"),
        ],
    );
    assert_eq!(
        ids(
            &r.body,
            &[
                "reservationSet",
                "item",
                "instancesSet",
                "item",
                "instanceState",
                "code"
            ]
        ),
        ["48"]
    );
}

#[test]
fn credentials_cli_and_sigv2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_deltacloudd"))
            .env_clear()
            .env("DELTACLOUD_BACKEND_PASSWORD", "mockpassword")
            .args(["--data-dir", dir])
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "credentials",
        "add",
        "AKIDCI",
        "--user",
        "mockuser",
        "--secret",
        "ci-secret-1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["credentials", "add", "AKIDGEN", "--user", "mockuser"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let generated = text
        .lines()
        .find_map(|l| l.strip_prefix("secret key: "))
        .expect("generated secret printed")
        .to_owned();
    let out = cli(&["credentials", "list"]);
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listing.contains("AKIDCI\t")
            && listing.contains("AKIDGEN\t")
            && !listing.contains("ci-secret-1")
            && !listing.contains("mockpassword"),
        "{listing}"
    );
    assert!(!cli(&["credentials", "remove", "NOPE"]).status.success());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(tmp.path().join("ec2.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let s = Server::start_in(tmp.path(), &[], &[]);
    let ok = &[("Action", "DescribeInstances"), ("Version", "2016-11-15")];
    for (key, secret) in [("AKIDCI", "ci-secret-1"), ("AKIDGEN", generated.as_str())] {
        let r = Signer {
            key: key.into(),
            secret: secret.into(),
            ..Signer::default()
        }
        .post(&s, "/ec2/", ok);
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert_eq!(ids(&r.body, INSTANCE_IDS).len(), 4);
    }

    // SigV2 (HmacSHA1, GET, libcloud style) with the stored key.
    let ts = time_fmt();
    let mut pairs: Vec<(String, String)> = [
        ("Action", "DescribeImages"),
        ("Version", "2016-11-15"),
        ("AWSAccessKeyId", "AKIDCI"),
        ("SignatureMethod", "HmacSHA1"),
        ("SignatureVersion", "2"),
        ("Timestamp", ts.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let sts =
        deltacloud_frontend_ec2::auth::sigv2::string_to_sign("GET", &s.authority, "/ec2", &pairs);
    let mac = deltacloud_frontend_ec2::auth::hmac_sha1(b"ci-secret-1", sts.as_bytes());
    pairs.push(("Signature".into(), b64(&mac)));
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let r = send(client().get(format!("{}?{q}", s.url("/ec2"))));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body, &["imagesSet", "item", "imageId"]),
        ["img1", "img2", "img3"]
    );
    pairs.pop();
    pairs.push(("Signature".into(), b64(&[0u8; 20])));
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let r = send(client().get(format!("{}?{q}", s.url("/ec2"))));
    assert_eq!(error(&r), ("SignatureDoesNotMatch".to_owned(), 403));

    drop(s);
    let out = cli(&["credentials", "remove", "AKIDCI"]);
    assert!(out.status.success());
    let s = Server::start_in(tmp.path(), &[], &[]);
    let r = Signer {
        key: "AKIDCI".into(),
        secret: "ci-secret-1".into(),
        ..Signer::default()
    }
    .post(&s, "/ec2/", ok);
    assert_eq!(error(&r), ("AuthFailure".to_owned(), 401));
}

fn time_fmt() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Civil-from-days (Howard Hinnant), to avoid a time-crate dependency in the tests.
    let days = i64::try_from(secs / 86_400).unwrap();
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// DescribeInstances is served from a per-worker memo of the rendered document: repeated polls
/// must differ only in their request ids, and every change (a state, a tag, a new instance, a
/// different namespace version) must show at once.
#[test]
fn polled_describe_instances_sees_every_change() {
    let s = Server::start();
    let sig = Signer::default();
    let v = ("Version", "2016-11-15");
    let describe = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("Action", "DescribeInstances"), v];
        pairs.extend_from_slice(extra);
        let r = sig.post(&s, "/ec2/", &pairs);
        assert_eq!(r.status, 200, "{}", r.body);
        r
    };
    let request_id = |body: &str| {
        let doc = xml(body);
        child_text(doc.root_element(), "requestId")
            .unwrap()
            .to_owned()
    };
    let state_of = |body: &str, id: &str| -> String {
        let doc = xml(body);
        doc.descendants()
            .filter(|n| n.has_tag_name("item"))
            .find(|n| child_text(*n, "instanceId") == Some(id))
            .and_then(|n| child(n, "instanceState"))
            .and_then(|st| child_text(st, "name"))
            .unwrap_or_default()
            .to_owned()
    };

    let a = describe(&[]);
    let b = describe(&[]);
    let (ida, idb) = (request_id(&a.body), request_id(&b.body));
    assert_ne!(ida, idb, "every response has its own request id");
    // The mock has no launch times: they read as the current second, which may tick between
    // the two polls.
    let same = |body: &str, id: &str| {
        body.replace(id, "ID")
            .split("<launchTime>")
            .map(|part| {
                part.split_once("</launchTime>")
                    .map_or(part, |(_, rest)| rest)
            })
            .collect::<String>()
    };
    assert_eq!(same(&a.body, &ida), same(&b.body, &idb));
    assert_eq!(state_of(&b.body, "inst1"), "running");

    let r = sig.post(
        &s,
        "/ec2/",
        &[("Action", "StopInstances"), v, ("InstanceId.1", "inst1")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(state_of(&describe(&[]).body, "inst1"), "stopped");

    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "CreateTags"),
            v,
            ("ResourceId.1", "inst1"),
            ("Tag.1.Key", "polled"),
            ("Tag.1.Value", "yes"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let tagged = describe(&[("Filter.1.Name", "tag:polled"), ("Filter.1.Value.1", "yes")]);
    assert_eq!(ids(&tagged.body, INSTANCE_IDS), ["inst1"]);
    assert!(describe(&[]).body.contains("<key>polled</key>"));

    let r = sig.post(
        &s,
        "/ec2/",
        &[
            ("Action", "RunInstances"),
            v,
            ("ImageId", "img1"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let created = ids(&r.body, &["instancesSet", "item", "instanceId"]);
    assert!(ids(&describe(&[]).body, INSTANCE_IDS).contains(&created[0]));

    let old = sig.post(
        &s,
        "/ec2/",
        &[("Action", "DescribeInstances"), ("Version", "2014-10-01")],
    );
    assert!(
        old.body
            .contains("http://ec2.amazonaws.com/doc/2014-10-01/"),
        "{}",
        old.body
    );
    assert!(describe(&[]).body.contains(NS));
}
