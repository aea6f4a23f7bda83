//! `/api` over HTTP against the real binary and the mock backend: every compute collection in XML
//! and JSON against the shapes of `deltacloud-api.md`, negotiation, headers and auth.

use crate::common::*;

#[test]
fn entry_point_xml_lists_mock_collections_and_features() {
    let s = Server::start();
    // The entry point needs no credentials.
    let r = send(
        client()
            .get(s.url("/api"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), "application/xml");
    assert_eq!(r.header("server"), Some("Apache-Deltacloud/1.1.3"));
    assert_eq!(r.header("x-deltacloud-driver"), Some("mock"));
    assert_eq!(
        r.header("x-deltacloud-provider"),
        None,
        "no provider is set"
    );
    let doc = xml(&r.body);
    let api = doc.root_element();
    assert_eq!(api.tag_name().name(), "api");
    assert_eq!(api.attribute("driver"), Some("mock"));
    assert_eq!(api.attribute("version"), Some("1.1.3"));
    assert_eq!(api.attribute("provider"), None);
    let rels: Vec<&str> = children(api, "link")
        .filter_map(|l| l.attribute("rel"))
        .collect();
    for want in [
        "drivers",
        "hardware_profiles",
        "images",
        "instance_states",
        "instances",
        "keys",
        "realms",
    ] {
        assert!(rels.contains(&want), "missing {want} in {rels:?}");
    }
    for never in ["firewalls", "load_balancers"] {
        assert!(!rels.contains(&never), "mock has no {never}");
    }
    let instances = children(api, "link")
        .find(|l| l.attribute("rel") == Some("instances"))
        .expect("instances link");
    assert_eq!(
        instances.attribute("href"),
        Some(s.url("/api/instances").as_str())
    );
    let feats: Vec<(&str, &str, &str)> = children(instances, "feature")
        .map(|f| {
            (
                f.attribute("name").unwrap_or(""),
                f.attribute("rel").unwrap_or(""),
                child(f, "param")
                    .and_then(|p| p.attribute("name"))
                    .unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        feats,
        vec![
            ("metrics", "create", "metrics"),
            ("realm_filter", "index", "realm_id"),
            ("user_name", "create", "name"),
            ("authentication_key", "create", "keyname"),
        ]
    );
}

#[test]
fn entry_point_json_quirks() {
    let s = Server::start();
    let r = send(client().get(s.url("/api?format=json")));
    assert_eq!(r.status, 200);
    assert_eq!(r.ctype(), "application/json");
    let v = r.json();
    assert_eq!(v["api"]["version"], "1.1.3");
    assert_eq!(v["api"]["driver"], "mock");
    assert_eq!(v["api"]["provider"], "default");
    let links = v["api"]["links"].as_array().expect("links");
    let inst = links
        .iter()
        .find(|l| l["rel"] == "instances")
        .expect("instances");
    assert_eq!(inst["href"], s.url("/api/instances"));
    let f = &inst["features"];
    assert_eq!(f[0][0]["name"], "metrics");
    assert_eq!(f[0][0]["rel"], "create");
    assert_eq!(f[0][0]["params"][0], "metrics:string:optional");
    assert!(f[0][0]["constraints"].is_object());
    let realms = links.iter().find(|l| l["rel"] == "realms").expect("realms");
    assert_eq!(realms["features"], serde_json::json!([]));
}

#[test]
fn realms_xml_json_and_404() {
    let s = Server::start();
    let r = get_xml(&s, "/api/realms");
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.body, "realm"), vec!["us", "eu"]);
    let doc = xml(&r.body);
    let us = doc
        .root_element()
        .children()
        .find(|n| n.attribute("id") == Some("us"))
        .expect("us");
    assert_eq!(us.attribute("href"), Some(s.url("/api/realms/us").as_str()));
    assert_eq!(child_text(us, "name"), Some("United States"));
    assert_eq!(child_text(us, "state"), Some("AVAILABLE"));
    assert!(
        child(us, "limit").is_none(),
        "unlimited realms have no limit element"
    );

    let j = get_json(&s, "/api/realms/eu").json();
    assert_eq!(j["realm"]["id"], "eu");
    assert_eq!(j["realm"]["name"], "Europe");
    assert_eq!(j["realm"]["state"], "AVAILABLE");
    assert_eq!(j["realm"]["href"], s.url("/api/realms/eu"));

    let missing = get_xml(&s, "/api/realms/mars");
    assert_eq!(missing.status, 404);
    let doc = xml(&missing.body);
    let e = doc.root_element();
    assert_eq!(e.tag_name().name(), "error");
    assert_eq!(e.attribute("status"), Some("404"));
    assert_eq!(e.attribute("url"), Some("/api/realms/mars"));
    assert_eq!(
        child(e, "backend").and_then(|b| b.attribute("driver")),
        Some("mock")
    );
    assert_eq!(
        child(e, "backend").and_then(|b| b.attribute("provider")),
        Some("default")
    );
    assert_eq!(child_text(e, "code"), Some("404"));
    assert_eq!(child_text(e, "message").map(str::trim), Some("Not Found"));
}

#[test]
fn error_injection_gives_each_5xx_in_xml_and_json() {
    let s = Server::start();
    for (id, status, msg, generic, class) in [
        (
            "500",
            500,
            "DeltacloudErrorMessage",
            "Internal Server Error",
            "Deltacloud::Exceptions::BackendError",
        ),
        (
            "501",
            501,
            "NotImplementedMessage",
            "Not Supported",
            "Deltacloud::Exceptions::NotImplemented",
        ),
        (
            "502",
            502,
            "ProviderErrorMessage",
            "Backend Server Error",
            "Deltacloud::Exceptions::ProviderError",
        ),
        (
            "504",
            504,
            "ProviderTimeoutMessage",
            "Gateway Timeout",
            "Deltacloud::Exceptions::ProviderTimeout",
        ),
    ] {
        let r = get_xml(&s, &format!("/api/realms/{id}"));
        assert_eq!(r.status, status, "{id}: {}", r.body);
        let doc = xml(&r.body);
        assert_eq!(
            child_text(doc.root_element(), "message").map(str::trim),
            Some(msg),
            "{id}"
        );
        // On the list route the message is the generic reason.
        let r = get_json(&s, &format!("/api/realms?id={id}"));
        assert_eq!(r.status, status, "{id}");
        let j = r.json();
        assert_eq!(j["code"], status, "{id}");
        assert_eq!(j["message"], generic, "{id}");
        let got_class = j["error"].as_str().unwrap_or_default();
        assert!(
            got_class == class
                || (id == "501" && got_class == "Deltacloud::Exceptions::NotSupported"),
            "{id}: {got_class}"
        );
    }
}

#[test]
fn hardware_profiles_order_properties_and_filter() {
    let s = Server::start();
    // Static profiles: no credentials needed.
    let r = send(
        client()
            .get(s.url("/api/hardware_profiles"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body, "hardware_profile"),
        vec!["m1-small", "m1-large", "m1-xlarge", "opaque"]
    );

    let r = get_xml(&s, "/api/hardware_profiles/m1-large");
    let doc = xml(&r.body);
    let hp = doc.root_element();
    assert_eq!(child_text(hp, "id"), Some("m1-large"));
    assert_eq!(child_text(hp, "name"), Some("m1-large"));
    let props: Vec<_> = children(hp, "property").collect();
    let summary: Vec<(&str, &str, &str, &str)> = props
        .iter()
        .map(|p| {
            (
                p.attribute("name").unwrap_or(""),
                p.attribute("kind").unwrap_or(""),
                p.attribute("value").unwrap_or(""),
                p.attribute("unit").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("cpu", "range", "1", "count"),
            ("memory", "range", "10240", "MB"),
            ("storage", "enum", "850", "GB"),
            ("architecture", "fixed", "x86_64", "label"),
        ]
    );
    let mem = props[1];
    let range = child(mem, "range").expect("range");
    assert_eq!(
        (range.attribute("first"), range.attribute("last")),
        (Some("7680"), Some("15360"))
    );
    let param = child(mem, "param").expect("param");
    assert_eq!(param.attribute("name"), Some("hwp_memory"));
    assert_eq!(param.attribute("operation"), Some("create"));
    assert_eq!(param.attribute("method"), Some("post"));
    assert_eq!(
        param.attribute("href"),
        Some(s.url("/api/instances").as_str())
    );
    let entries: Vec<&str> = children(child(props[2], "enum").expect("enum"), "entry")
        .filter_map(|e| e.attribute("value"))
        .collect();
    assert_eq!(entries, vec!["850", "1024"]);
    assert!(
        child(props[3], "param").is_none(),
        "fixed properties are not settable"
    );

    let small = get_xml(&s, "/api/hardware_profiles/m1-small");
    let doc = xml(&small.body);
    let mem = children(doc.root_element(), "property")
        .find(|p| p.attribute("name") == Some("memory"))
        .expect("mem");
    assert_eq!(mem.attribute("value"), Some("1740.8"));

    let j = get_json(&s, "/api/hardware_profiles/m1-large").json();
    assert_eq!(
        j["hardware_profile"]["properties"],
        serde_json::json!({"cpu": "1", "memory": "10240", "storage": "850", "architecture": "x86_64"})
    );
    let j = get_json(&s, "/api/hardware_profiles/opaque").json();
    assert!(
        j["hardware_profile"]
            .get("properties")
            .is_none_or(serde_json::Value::is_null)
    );

    assert_eq!(
        ids(
            &get_xml(&s, "/api/hardware_profiles?architecture=i386").body,
            "hardware_profile"
        ),
        vec!["m1-small"]
    );
    assert_eq!(
        ids(
            &get_xml(&s, "/api/hardware_profiles?architecture=x86_64").body,
            "hardware_profile"
        ),
        vec!["m1-large", "m1-xlarge"]
    );
    assert_eq!(get_xml(&s, "/api/hardware_profiles/nope").status, 404);
}

#[test]
fn images_xml_json_filters() {
    let s = Server::start();
    let r = get_xml(&s, "/api/images");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, "image"), vec!["img1", "img2", "img3"]);
    let r = get_xml(&s, "/api/images/img1");
    let doc = xml(&r.body);
    let img = doc.root_element();
    assert_eq!(
        img.attribute("href"),
        Some(s.url("/api/images/img1").as_str())
    );
    assert_eq!(child_text(img, "name"), Some("img1"));
    assert_eq!(child_text(img, "description"), Some("Fedora 10"));
    assert_eq!(child_text(img, "owner_id"), Some("fedoraproject"));
    assert_eq!(child_text(img, "architecture"), Some("x86_64"));
    assert_eq!(child_text(img, "state"), Some("AVAILABLE"));
    assert_eq!(
        child_text(img, "creation_time"),
        Some("Thu Oct 25 14:27:53 CEST 2012")
    );
    assert_eq!(child_text(img, "root_type"), Some("transient"));
    let hwps: Vec<&str> = children(
        child(img, "hardware_profiles").expect("hwps"),
        "hardware_profile",
    )
    .filter_map(|h| h.attribute("id"))
    .collect();
    assert_eq!(hwps.len(), 4);
    let actions: Vec<(&str, &str)> = children(child(img, "actions").expect("actions"), "link")
        .map(|l| {
            (
                l.attribute("rel").unwrap_or(""),
                l.attribute("href").unwrap_or(""),
            )
        })
        .collect();
    let create = s.url("/api/instances;image_id=img1");
    assert!(
        actions.contains(&("create_instance", create.as_str())),
        "{actions:?}"
    );

    let j = get_json(&s, "/api/images/img3").json();
    assert_eq!(
        j["image"]["owner"], "mockuser",
        "JSON says owner, not owner_id"
    );
    assert_eq!(
        j["image"]["hardware_profiles"][0]["rel"],
        "hardware_profile"
    );

    assert_eq!(
        ids(&get_xml(&s, "/api/images?owner_id=self").body, "image"),
        vec!["img3"]
    );
    assert_eq!(
        ids(&get_xml(&s, "/api/images?architecture=i386").body, "image"),
        vec!["img2", "img3"]
    );
    assert_eq!(
        ids(&get_xml(&s, "/api/images?id=img2").body, "image"),
        vec!["img2"]
    );
    assert_eq!(get_xml(&s, "/api/images/nope").status, 404);
    let list = get_json(&s, "/api/images").json();
    assert_eq!(list["images"].as_array().map(Vec::len), Some(3));
}

#[test]
fn instances_xml_shapes() {
    let s = Server::start();
    let r = get_xml(&s, "/api/instances");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body, "instance"),
        vec!["inst0", "inst1", "inst2", "inst3"]
    );

    let r = get_xml(&s, "/api/instances/inst1");
    let doc = xml(&r.body);
    let i = doc.root_element();
    assert_eq!(
        child_names(i),
        vec![
            "name",
            "owner_id",
            "image",
            "realm",
            "state",
            "hardware_profile",
            "actions",
            "public_addresses",
            "private_addresses",
            "storage_volumes",
            "authentication",
            "network_interfaces"
        ]
    );
    assert_eq!(child_text(i, "name"), Some("MockUserInstance"));
    assert_eq!(child_text(i, "owner_id"), Some("mockuser"));
    assert_eq!(
        child(i, "image").and_then(|n| n.attribute("id")),
        Some("img3")
    );
    assert_eq!(
        child(i, "realm").and_then(|n| n.attribute("href")),
        Some(s.url("/api/realms/us").as_str())
    );
    assert_eq!(child_text(i, "state"), Some("RUNNING"));
    let actions: Vec<(&str, &str, &str)> = children(child(i, "actions").expect("actions"), "link")
        .map(|l| {
            (
                l.attribute("rel").unwrap_or(""),
                l.attribute("method").unwrap_or(""),
                l.attribute("href").unwrap_or(""),
            )
        })
        .collect();
    let (reboot, stop, run, img) = (
        s.url("/api/instances/inst1/reboot"),
        s.url("/api/instances/inst1/stop"),
        s.url("/api/instances/inst1/run;id=inst1"),
        s.url("/api/images;instance_id=inst1"),
    );
    assert_eq!(
        actions,
        vec![
            ("reboot", "post", reboot.as_str()),
            ("stop", "post", stop.as_str()),
            ("run", "post", run.as_str()),
            ("create_image", "post", img.as_str())
        ]
    );
    let pubs = child(i, "public_addresses").expect("public");
    let a = child(pubs, "address").expect("address");
    assert_eq!(
        (a.attribute("type"), a.text()),
        (Some("hostname"), Some("img1.inst1.public.com"))
    );
    assert_eq!(
        child(i, "authentication").and_then(|n| n.attribute("type")),
        Some("key")
    );
    let nics: Vec<&str> = children(
        child(i, "network_interfaces").expect("nics"),
        "network_interface",
    )
    .filter_map(|n| n.attribute("id"))
    .collect();
    assert_eq!(nics, vec!["nic1"]);

    // inst0: profile override shown as a fixed property.
    let r = get_xml(&s, "/api/instances/inst0");
    let doc = xml(&r.body);
    let hp = child(doc.root_element(), "hardware_profile").expect("hwp");
    assert_eq!(hp.attribute("id"), Some("m1-large"));
    let p = child(hp, "property").expect("override");
    assert_eq!(
        (
            p.attribute("kind"),
            p.attribute("name"),
            p.attribute("value"),
            p.attribute("unit")
        ),
        (Some("fixed"), Some("memory"), Some("12288"), Some("MB"))
    );

    // inst3: empty name and keyname are shown; no create_image link.
    let r = get_xml(&s, "/api/instances/inst3");
    let doc = xml(&r.body);
    let i = doc.root_element();
    assert_eq!(child_text(i, "name"), Some(""));
    let login = child(child(i, "authentication").expect("auth"), "login").expect("login");
    assert_eq!(child_text(login, "keyname"), Some(""));
    let rels: Vec<&str> = children(child(i, "actions").expect("actions"), "link")
        .filter_map(|l| l.attribute("rel"))
        .collect();
    assert!(!rels.contains(&"create_image"), "{rels:?}");
}

#[test]
fn instances_json_shape() {
    let s = Server::start();
    let j = get_json(&s, "/api/instances/inst0").json();
    let i = &j["instance"];
    assert_eq!(i["id"], "inst0");
    assert_eq!(i["href"], s.url("/api/instances/inst0"));
    assert_eq!(i["name"], "Mock Instance With Profile Change");
    assert_eq!(i["state"], "RUNNING");
    assert_eq!(i["owner"], "mockuser");
    assert_eq!(
        i["image"],
        serde_json::json!({"href": s.url("/api/images/img1"), "id": "img1", "rel": "image"})
    );
    assert_eq!(i["realm"]["rel"], "realm");
    assert_eq!(
        i["actions"][0],
        serde_json::json!({"href": s.url("/api/instances/inst0/reboot"), "rel": "reboot", "method": "post"})
    );
    assert_eq!(i["hardware_profile"]["id"], "m1-large");
    assert_eq!(
        i["hardware_profile"]["properties"],
        serde_json::json!({"memory": "12288"})
    );
    assert_eq!(
        i["public_addresses"],
        serde_json::json!([{"address": "img1.inst0.public.com", "type": "hostname"}])
    );
    assert_eq!(i["create_image"], true);
    assert_eq!(i["storage_volumes"], serde_json::json!([]));
    assert_eq!(i["authentication_type"], "key");
    let keys: Vec<&String> = i.as_object().expect("object").keys().collect();
    assert_eq!(&keys[..5], &["id", "href", "name", "state", "owner"]);

    let j = get_json(&s, "/api/instances/inst3").json();
    assert_eq!(
        j["instance"]["authentication"],
        serde_json::json!({"keyname": ""})
    );
    assert!(
        j["instance"].get("create_image").is_none(),
        "create_image only when true"
    );

    let list = get_json(&s, "/api/instances?state=RUNNING&realm_id=eu").json();
    let ids: Vec<&str> = list["instances"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["inst3"]);
}

#[test]
fn instance_states_xml_and_json() {
    let s = Server::start();
    let r = send(
        client()
            .get(s.url("/api/instance_states"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200, "no credentials needed: {}", r.body);
    let doc = xml(&r.body);
    let states: Vec<&str> = children(doc.root_element(), "state")
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(
        states,
        vec!["start", "pending", "running", "stopped", "finish"]
    );
    let pending = children(doc.root_element(), "state")
        .find(|n| n.attribute("name") == Some("pending"))
        .expect("pending");
    let t = child(pending, "transition").expect("transition");
    assert_eq!(
        (t.attribute("auto"), t.attribute("to")),
        (Some("true"), Some("running"))
    );

    let j = get_json(&s, "/api/instance_states").json();
    assert_eq!(
        j[0],
        serde_json::json!({"name": "start", "transitions": [{"to": "pending", "action": "create"}]})
    );
    assert_eq!(j[1]["transitions"][0]["auto"], "true");
    assert_eq!(j.as_array().map(Vec::len), Some(5));
}

#[test]
fn keys_xml_json_create_duplicate_destroy() {
    let s = Server::start();
    let r = get_xml(&s, "/api/keys/test-key");
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    let k = doc.root_element();
    assert_eq!(k.attribute("type"), Some("key"));
    assert_eq!(child_text(k, "name"), Some("test-key"));
    assert_eq!(
        child_text(k, "fingerprint"),
        Some("5e:ce:b6:dc:59:3b:5c:93:f8:2e:9d:20:ce:60:ca:f5:0b:8a:66:93")
    );
    let pem = child(k, "pem").and_then(|p| p.text()).unwrap_or_default();
    assert!(
        pem.trim().starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pem}"
    );
    let j = get_json(&s, "/api/keys/test-key").json();
    assert_eq!(j["key"]["credential_type"], "key");
    assert!(
        j["key"]["pem_rsa_key"]
            .as_str()
            .is_some_and(|p| p.contains("END RSA PRIVATE KEY"))
    );

    let r = post(&s, "/api/keys", &[("name", "my-key")], "application/xml");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/keys/my-key").as_str())
    );
    let doc = xml(&r.body);
    assert_eq!(doc.root_element().attribute("id"), Some("my-key"));
    assert!(child(doc.root_element(), "pem").is_some());
    let fp = child_text(doc.root_element(), "fingerprint").unwrap_or_default();
    assert_eq!(fp.split(':').count(), 20, "{fp}");

    let dup = post(&s, "/api/keys", &[("name", "my-key")], "application/json");
    assert_eq!(dup.status, 403, "{}", dup.body);
    assert_eq!(dup.json()["message"], "Key with same name already exists");

    let missing = post(&s, "/api/keys", &[], "application/xml");
    assert_eq!(missing.status, 400);
    assert!(
        missing
            .body
            .starts_with("Required parameter 'name' not found"),
        "{}",
        missing.body
    );

    let mut listed = ids(&get_xml(&s, "/api/keys").body, "key");
    listed.sort();
    assert_eq!(listed, vec!["my-key", "test-key"]);
    assert_eq!(delete(&s, "/api/keys/my-key").status, 204);
    assert_eq!(get_xml(&s, "/api/keys/my-key").status, 404);
    assert_eq!(ids(&get_xml(&s, "/api/keys").body, "key"), vec!["test-key"]);
}

#[test]
fn auth_challenge_and_refusal() {
    let s = Server::start();
    let r = send(
        client()
            .get(s.url("/api/instances"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"mock-deltacloud@testhost\"")
    );
    let doc = xml(&r.body);
    assert_eq!(
        child_text(doc.root_element(), "message").map(str::trim),
        Some("Unauthorized")
    );

    // Wrong password: 401, no challenge; list routes give the generic message, show routes the
    // driver's.
    let bad = |path: &str| {
        send(
            client()
                .get(s.url(path))
                .header("Accept", "application/json")
                .basic_auth(USER, Some("wrong")),
        )
    };
    let r = bad("/api/instances");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), None);
    assert_eq!(r.json()["message"], "Unauthorized");
    let r = bad("/api/instances/inst0");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["message"], "Authentication Failure");
    assert_eq!(
        r.json()["error"],
        "Deltacloud::Exceptions::AuthenticationFailure"
    );

    // force_auth validates credentials on the entry point.
    let r = send(
        client()
            .get(s.url("/api?force_auth=1"))
            .basic_auth(USER, Some("wrong")),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body, "Authentication failed");
    let r = send(
        client()
            .get(s.url("/api?force_auth=1"))
            .header("Accept", "application/xml")
            .basic_auth(USER, Some(PASSWORD)),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn content_negotiation() {
    let s = Server::start();
    let with = |accept: Option<&str>, path: &str| {
        let mut rb = client().get(s.url(path)).basic_auth(USER, Some(PASSWORD));
        if let Some(a) = accept {
            rb = rb.header("Accept", a);
        }
        send(rb)
    };
    // reqwest always sends `Accept: */*`, so the "no Accept header" case goes over a raw socket.
    let bare = raw(
        &s,
        &format!(
            "GET /api/realms HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic bW9ja3VzZXI6bW9ja3Bhc3N3b3Jk\r\nConnection: close\r\n\r\n",
            s.authority
        ),
    );
    assert!(bare.starts_with("HTTP/1.1 200"), "{bare}");
    assert!(
        bare.to_ascii_lowercase()
            .contains("content-type: application/xml"),
        "no Accept means XML: {bare}"
    );
    assert_eq!(with(Some("*/*"), "/api/realms").ctype(), "text/html");
    assert_eq!(
        with(Some("text/xml"), "/api/realms").ctype(),
        "application/xml"
    );
    assert_eq!(
        with(
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            "/api/realms"
        )
        .ctype(),
        "text/html"
    );
    assert_eq!(
        with(
            Some("application/xml;q=0.5, application/json"),
            "/api/realms"
        )
        .ctype(),
        "application/json"
    );
    assert_eq!(
        with(Some("text/html"), "/api/realms?format=json").ctype(),
        "application/json"
    );
    let r = with(None, "/api/realms?format=yaml");
    assert_eq!(r.status, 406);
    assert!(r.body.is_empty());
    let r = with(Some("image/png"), "/api/realms");
    assert_eq!(r.status, 406);
    let r = with(Some("application/pdf"), "/api/realms");
    assert_eq!(r.status, 406);
    let html = with(Some("text/html"), "/api/instances/inst1");
    assert_eq!(html.status, 200);
    assert!(html.body.contains("inst1"), "{}", html.body);
}

#[test]
fn response_headers_etag_and_runtime() {
    let s = Server::start();
    let r = get_xml(&s, "/api/realms");
    let etag = r.header("etag").expect("etag").trim_matches('"').to_owned();
    assert_eq!(etag.len(), 32, "MD5 hex");
    assert!(etag.chars().all(|c| c.is_ascii_hexdigit()));
    let again = get_xml(&s, "/api/realms");
    assert_eq!(
        again.header("etag").map(|e| e.trim_matches('"').to_owned()),
        Some(etag)
    );
    assert_eq!(
        r.header("cache-control"),
        Some("max-age=0, private, must-revalidate")
    );
    assert!(
        r.header("x-backend-runtime")
            .is_some_and(|v| v.parse::<f64>().is_ok())
    );
    assert!(r.header("date").is_some());
}

#[test]
fn unknown_routes_methods_and_missing_host() {
    let s = Server::start();
    let r = get_xml(&s, "/api/nonsense");
    assert_eq!(r.status, 404);
    assert_eq!(xml(&r.body).root_element().tag_name().name(), "error");
    assert_eq!(
        get_xml(&s, "/api/realms/").status,
        404,
        "no trailing slash on collections"
    );
    let r = send(
        client()
            .put(s.url("/api/realms"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 405);
    // An HTTP/1.0 request without Host.
    let raw = raw(
        &s,
        "GET /api/realms HTTP/1.0\r\nAccept: application/xml\r\n\r\n",
    );
    assert!(
        raw.starts_with("HTTP/1.0 400") || raw.starts_with("HTTP/1.1 400"),
        "{raw}"
    );
    assert!(raw.contains("Unable to find HTTP Host header"), "{raw}");
}

#[test]
fn head_and_options() {
    let s = Server::start();
    let r = send(
        client()
            .head(s.url("/api/realms"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = send(
        client()
            .head(s.url("/api/instances"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 401, "HEAD behaves like GET, challenge included");
    let r = send(client().request(reqwest::Method::OPTIONS, s.url("/api/instances")));
    assert_eq!(r.status, 200);
    let allow = r.header("allow").unwrap_or_default();
    for m in ["OPTIONS", "GET", "POST", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
    let r = send(client().request(reqwest::Method::OPTIONS, s.url("/api/realms")));
    assert_eq!(r.header("allow"), Some("OPTIONS,GET"));
}

#[test]
fn driver_selection_per_request() {
    let s = Server::start();
    let r = send(
        client()
            .get(s.url("/api;driver=mock"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-deltacloud-driver"), Some("mock"));
    let r = send(
        client()
            .get(s.url("/api;driver=mock;provider=Some-Region/realms"))
            .header("Accept", "application/xml")
            .basic_auth(USER, Some(PASSWORD)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("x-deltacloud-provider"),
        Some("Some-Region"),
        "provider case is preserved"
    );
    assert_eq!(ids(&r.body, "realm"), vec!["us", "eu"]);
    let r = send(
        client()
            .get(s.url("/api/realms"))
            .header("Accept", "application/xml")
            .header("X-Deltacloud-Provider", "p1")
            .basic_auth(USER, Some(PASSWORD)),
    );
    assert_eq!(r.header("x-deltacloud-provider"), Some("p1"));
    // Selection does not leak into the next request.
    let r = get_xml(&s, "/api/realms");
    assert_eq!(r.header("x-deltacloud-provider"), None);
    let r = send(
        client()
            .get(s.url("/api/realms"))
            .header("Accept", "application/xml")
            .header("X-Deltacloud-Driver", "nosuchdriver")
            .basic_auth(USER, Some(PASSWORD)),
    );
    assert!(r.status >= 400, "{}", r.status);
    assert!(r.body.contains("nosuchdriver"), "{}", r.body);
}
