//! Per-request driver and provider selection (`deltacloud-api.md` §4): headers and `;driver=`
//! / `;provider=` matrix parameters on any route, the effective values echoed, unknown drivers
//! refused, and nothing leaking into the next request.

use crate::common::*;

#[test]
fn provider_header_and_matrix_on_new_routes() {
    let s = Server::start();
    // No provider: the entry point omits it (XML) / says "default" (JSON), no response header.
    let r = get_xml(&s, "/api");
    assert_eq!(r.header("x-deltacloud-driver"), Some("mock"));
    assert_eq!(r.header("x-deltacloud-provider"), None);
    assert_eq!(xml(&r.body).root_element().attribute("provider"), None);

    let r = get_xml(&s, "/api;provider=Region-One");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-deltacloud-provider"),
        Some("Region-One"),
        "case kept"
    );
    assert_eq!(
        xml(&r.body).root_element().attribute("provider"),
        Some("Region-One")
    );
    let j = get_json(&s, "/api;driver=mock;provider=p2").json();
    assert_eq!(j["api"]["driver"], "mock");
    assert_eq!(j["api"]["provider"], "p2");

    // On the new collections, GET and POST alike.
    let r = get_xml(&s, "/api;provider=p3/storage_volumes/vol1");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-deltacloud-provider"), Some("p3"));
    assert!(
        r.body.contains(&s.url("/api/storage_volumes/vol1")),
        "matrix not in hrefs"
    );
    let r = send(
        client()
            .get(s.url("/api/buckets/bucket1/blob1"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/json")
            .header("X-Deltacloud-Driver", "MOCK")
            .header("X-Deltacloud-Provider", "hdr"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-deltacloud-driver"), Some("mock"), "lower-cased");
    assert_eq!(r.header("x-deltacloud-provider"), Some("hdr"));
    let r = post(
        &s,
        "/api;driver=mock;provider=p4/addresses",
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("x-deltacloud-provider"), Some("p4"));
    // The matrix wins over the header.
    let r = send(
        client()
            .get(s.url("/api;provider=matrix/networks"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/xml")
            .header("X-Deltacloud-Provider", "header"),
    );
    assert_eq!(r.header("x-deltacloud-provider"), Some("matrix"));
    // Nothing leaks into the next request.
    let r = get_xml(&s, "/api/networks");
    assert_eq!(r.header("x-deltacloud-provider"), None);
}

#[test]
fn unknown_and_unbuilt_drivers_are_refused() {
    let s = Server::start();
    for path in ["/api;driver=nosuch/buckets", "/api;driver=nosuch"] {
        let r = get_xml(&s, path);
        assert_eq!(r.status, 400, "{path}");
        let doc = xml(&r.body);
        let msg = child_text(doc.root_element(), "message").unwrap_or_default();
        assert!(msg.starts_with("Driver 'nosuch' is not available"), "{msg}");
    }
    let r = send(
        client()
            .get(s.url("/api/storage_volumes"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/json")
            .header("X-Deltacloud-Driver", "nosuch"),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("nosuch"));
    // A catalogued driver that this build cannot serve is listed, but selecting it fails.
    let drivers = get_xml(&s, "/api/drivers");
    assert!(ids(&drivers.body, "driver").contains(&"openstack".to_owned()));
    let r = get_xml(&s, "/api;driver=openstack/buckets");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(get_xml(&s, "/api/drivers/nosuch").status, 404);
}

#[test]
fn entry_point_lists_collections_and_features_of_the_driver() {
    let s = Server::start();
    let r = get_xml(&s, "/api");
    let doc = xml(&r.body);
    let rels: Vec<_> = children(doc.root_element(), "link")
        .map(|l| l.attribute("rel").unwrap().to_owned())
        .collect();
    assert_eq!(
        rels,
        [
            "addresses",
            "buckets",
            "drivers",
            "hardware_profiles",
            "images",
            "instance_states",
            "instances",
            "keys",
            "metrics",
            "network_interfaces",
            "networks",
            "realms",
            "storage_snapshots",
            "storage_volumes",
            "subnets"
        ],
        "the mock's list (§5.1): no firewalls, no load balancers"
    );
    let r = send(
        client()
            .request(reqwest::Method::OPTIONS, s.url("/api"))
            .basic_auth(USER, Some(PASSWORD)),
    );
    let allow = r.header("allow").unwrap_or_default().to_owned();
    assert!(
        allow.contains("Deltacloud::Rabbit::StorageVolumesCollection"),
        "{allow}"
    );
    assert!(!allow.contains("Firewalls"), "{allow}");
    let r = send(
        client()
            .request(reqwest::Method::OPTIONS, s.url("/api/buckets"))
            .basic_auth(USER, Some(PASSWORD)),
    );
    assert_eq!(r.header("allow"), Some("OPTIONS,GET,POST,DELETE,PUT,HEAD"));
}
