//! Storage volumes, snapshots, buckets and addresses through the real binary
//! (`deltacloud-api.md` §8.7–§8.10), in XML and JSON, with the spec's status codes.

use crate::common::*;

#[test]
fn volumes_xml_json_filter_and_404() {
    let s = Server::start();
    let r = get_xml(&s, "/api/storage_volumes");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, "storage_volume"), ["vol1", "vol2", "vol3"]);

    let r = get_xml(&s, "/api/storage_volumes/vol3");
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .starts_with("<?xml version='1.0' encoding='utf-8' ?>")
    );
    let doc = xml(&r.body);
    let v = doc.root_element();
    assert_eq!(v.tag_name().name(), "storage_volume");
    assert_eq!(
        child_names(v),
        [
            "created", "capacity", "name", "device", "realm", "realm_id", "state", "mount"
        ]
    );
    let cap = child(v, "capacity").unwrap();
    assert_eq!(cap.attribute("unit"), Some("GB"));
    assert_eq!(cap.text(), Some("1"));
    assert_eq!(
        child_text(v, "name"),
        Some("vol3"),
        "the id stands in for a name"
    );
    assert_eq!(child_text(v, "state"), Some("IN-USE"));
    let mount = child(v, "mount").unwrap();
    assert_eq!(
        child(mount, "instance").unwrap().attribute("href"),
        Some(s.url("/api/instances/inst1").as_str())
    );
    assert_eq!(
        child(mount, "device").unwrap().attribute("name"),
        Some("/dev/sda1")
    );
    assert!(child(v, "actions").is_none(), "the mock reports no actions");

    let j = get_json(&s, "/api/storage_volumes/vol1").json();
    let v = &j["storage_volume"];
    assert_eq!(v["id"], "vol1");
    assert_eq!(v["name"], serde_json::Value::Null, "raw name in JSON");
    assert_eq!(v["capacity"], "1");
    assert_eq!(v["realm"]["rel"], "realm");
    assert_eq!(
        v["instance"],
        serde_json::json!({}),
        "detached: empty object"
    );
    let j = get_json(&s, "/api/storage_volumes/vol3").json();
    assert_eq!(j["storage_volume"]["instance"]["id"], "inst1");

    let r = get_xml(&s, "/api/storage_volumes?id=vol2");
    assert_eq!(ids(&r.body, "storage_volume"), ["vol2"]);
    let j = get_json(&s, "/api/storage_volumes").json();
    assert_eq!(j["storage_volumes"].as_array().unwrap().len(), 3);

    let r = get_xml(&s, "/api/storage_volumes/nope");
    assert_eq!(r.status, 404);
    assert_eq!(xml(&r.body).root_element().attribute("status"), Some("404"));
    // Unauthenticated: the lazy challenge.
    let r = send(client().get(s.url("/api/storage_volumes")));
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
}

#[test]
fn volume_create_attach_detach_destroy() {
    let s = Server::start();
    let r = post(
        &s,
        "/api/storage_volumes",
        &[("capacity", "5"), ("name", "data")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = xml(&r.body);
    let id = doc.root_element().attribute("id").unwrap().to_owned();
    assert!(id.starts_with("volume_"), "{id}");
    assert_eq!(
        r.header("location"),
        Some(s.url(&format!("/api/storage_volumes/{id}")).as_str())
    );
    assert_eq!(child_text(doc.root_element(), "capacity"), Some("5"));
    assert_eq!(child_text(doc.root_element(), "name"), Some("data"));

    let r = post(
        &s,
        "/api/storage_volumes",
        &[("capacity", "lots")],
        "application/xml",
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // attach needs instance_id and device (plain-text 400 otherwise)
    let r = post(
        &s,
        &format!("/api/storage_volumes/{id}/attach"),
        &[("instance_id", "inst0")],
        "application/xml",
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body.starts_with("Required parameter 'device' not found"),
        "{}",
        r.body
    );

    let r = post(
        &s,
        &format!("/api/storage_volumes/{id}/attach"),
        &[("instance_id", "inst0"), ("device", "/dev/sdb")],
        "application/json",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = &r.json()["storage_volume"];
    assert_eq!(v["state"], "IN-USE");
    assert_eq!(v["device"], "/dev/sdb");
    assert_eq!(v["instance"]["id"], "inst0");
    let inst = get_xml(&s, "/api/instances/inst0");
    let doc = xml(&inst.body);
    let vols: Vec<_> = children(
        child(doc.root_element(), "storage_volumes").unwrap(),
        "storage_volume",
    )
    .map(|n| {
        (
            n.attribute("id").unwrap().to_owned(),
            n.attribute("device").unwrap().to_owned(),
        )
    })
    .collect();
    assert_eq!(vols, [(id.clone(), "/dev/sdb".to_owned())]);

    let r = post(
        &s,
        &format!("/api/storage_volumes/{id}/detach"),
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let doc = xml(&r.body);
    assert_eq!(child_text(doc.root_element(), "state"), Some("AVAILABLE"));
    assert!(child(doc.root_element(), "mount").is_none());

    let r = post(
        &s,
        "/api/storage_volumes/nope/detach",
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 404);

    let r = delete(&s, &format!("/api/storage_volumes/{id}"));
    assert_eq!(r.status, 204);
    assert_eq!(
        get_xml(&s, &format!("/api/storage_volumes/{id}")).status,
        404
    );
}

#[test]
fn snapshots_list_show_create_destroy() {
    let s = Server::start();
    let r = get_xml(&s, "/api/storage_snapshots");
    assert_eq!(
        ids(&r.body, "storage_snapshot"),
        ["snap1", "snap2", "snap3"]
    );
    let r = get_xml(&s, "/api/storage_snapshots/snap2");
    let doc = xml(&r.body);
    let n = doc.root_element();
    assert_eq!(child_names(n), ["name", "created", "storage_volume"]);
    assert_eq!(child_text(n, "name"), Some("snap2"));
    assert_eq!(
        child(n, "storage_volume").unwrap().attribute("id"),
        Some("vol2")
    );
    let j = get_json(&s, "/api/storage_snapshots/snap1").json();
    assert_eq!(j["storage_snapshot"]["state"], "COMPLETED");
    assert_eq!(
        j["storage_snapshot"]["storage_volume"]["rel"],
        "storage_volume"
    );

    let r = post(&s, "/api/storage_snapshots", &[], "application/xml");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("'volume_id'"), "{}", r.body);
    let r = post(
        &s,
        "/api/storage_snapshots",
        &[("volume_id", "vol1")],
        "application/json",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["storage_snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("store_snapshot_"), "{id}");
    assert!(r.header("location").unwrap().ends_with(&id));
    assert_eq!(
        delete(&s, &format!("/api/storage_snapshots/{id}")).status,
        204
    );
    assert_eq!(
        get_xml(&s, &format!("/api/storage_snapshots/{id}")).status,
        404
    );
}

#[test]
fn buckets_create_show_delete_and_names() {
    let s = Server::start();
    let r = get_xml(&s, "/api/buckets");
    assert_eq!(ids(&r.body, "bucket"), ["bucket1", "bucket2"]);
    let r = get_xml(&s, "/api/buckets/bucket1");
    let doc = xml(&r.body);
    let b = doc.root_element();
    assert_eq!(child_text(b, "size"), Some("3"));
    let blobs: Vec<_> = children(b, "blob")
        .map(|n| n.attribute("href").unwrap().to_owned())
        .collect();
    assert_eq!(blobs[0], s.url("/api/buckets/bucket1/blob1"));
    let j = get_json(&s, "/api/buckets/bucket2").json();
    assert_eq!(j["bucket"]["blob_list"][0]["rel"], "blob");
    assert_eq!(j["bucket"]["blob_list"][1]["id"], "blob5");

    let r = post(&s, "/api/buckets", &[("name", "fresh")], "application/xml");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/buckets/fresh").as_str())
    );
    // Names that could leave the storage area are refused before the driver sees them.
    for bad in ["..", ".", "a/b", "a\\b"] {
        let r = post(&s, "/api/buckets", &[("name", bad)], "application/xml");
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // Non-empty bucket: 403; missing: 404; empty: 204.
    assert_eq!(delete(&s, "/api/buckets/bucket1").status, 403);
    assert_eq!(delete(&s, "/api/buckets/nope").status, 404);
    assert_eq!(delete(&s, "/api/buckets/fresh").status, 204);
    assert_eq!(get_xml(&s, "/api/buckets/fresh").status, 404);
}

#[test]
fn addresses_create_associate_disassociate_destroy() {
    let s = Server::start();
    let r = get_xml(&s, "/api/addresses");
    assert_eq!(
        ids(&r.body, "address"),
        ["192.168.0.1", "192.168.0.2", "192.168.0.3", "192.168.0.4"]
    );
    let r = get_xml(&s, "/api/addresses/192.168.0.1");
    let doc = xml(&r.body);
    let a = doc.root_element();
    assert_eq!(child_text(a, "ip"), Some("192.168.0.1"));
    let rels: Vec<_> = children(child(a, "actions").unwrap(), "link")
        .map(|l| l.attribute("rel").unwrap().to_owned())
        .collect();
    assert_eq!(rels, ["destroy", "associate"]);

    let r = post(&s, "/api/addresses", &[], "application/json");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["address"]["id"], "192.168.0.5");
    assert_eq!(r.json()["address"]["associated"], false);

    let r = post(
        &s,
        "/api/addresses/192.168.0.5/associate",
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 400, "instance_id is required");
    let r = post(
        &s,
        "/api/addresses/192.168.0.5/associate",
        &[("instance_id", "inst1")],
        "application/xml",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.is_empty());
    let j = get_json(&s, "/api/addresses/192.168.0.5").json();
    assert_eq!(j["address"]["associated"], true);
    assert_eq!(j["address"]["instance_id"], "inst1");
    let r = get_xml(&s, "/api/addresses/192.168.0.5");
    let doc = xml(&r.body);
    assert_eq!(
        child(doc.root_element(), "instance")
            .unwrap()
            .attribute("id"),
        Some("inst1")
    );
    // The instance now shows the address.
    let inst = get_json(&s, "/api/instances/inst1").json();
    assert_eq!(
        inst["instance"]["public_addresses"][0]["address"],
        "192.168.0.5"
    );
    // In use: cannot associate again or destroy (403).
    let r = post(
        &s,
        "/api/addresses/192.168.0.5/associate",
        &[("instance_id", "inst0")],
        "application/xml",
    );
    assert_eq!(r.status, 403);
    assert_eq!(delete(&s, "/api/addresses/192.168.0.5").status, 403);

    let r = post(
        &s,
        "/api/addresses/192.168.0.5/disassociate",
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 202);
    let r = post(
        &s,
        "/api/addresses/192.168.0.5/disassociate",
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 403, "not associated any more");
    assert_eq!(delete(&s, "/api/addresses/192.168.0.5").status, 204);
    assert_eq!(get_xml(&s, "/api/addresses/192.168.0.5").status, 404);
}

#[test]
fn firewalls_and_load_balancers_need_their_capability() {
    let s = Server::start();
    for (method, path, expect) in [
        ("GET", "/api/firewalls", "firewalls"),
        ("POST", "/api/firewalls", "create_firewall"),
        (
            "POST",
            "/api/firewalls/default/rules",
            "create_firewall_rule",
        ),
        (
            "DELETE",
            "/api/firewalls/default/rule1",
            "delete_firewall_rule",
        ),
        ("GET", "/api/load_balancers", "load_balancers"),
        ("GET", "/api/load_balancers/lb1", "load_balancer"),
        (
            "POST",
            "/api/load_balancers/lb1/register",
            "lb_register_instance",
        ),
    ] {
        let r = send(
            client()
                .request(method.parse().unwrap(), s.url(path))
                .basic_auth(USER, Some(PASSWORD)),
        );
        assert_eq!(r.status, 412, "{method} {path}");
        assert_eq!(r.header("expect"), Some(expect), "{method} {path}");
    }
}

#[test]
fn html_pages_for_storage() {
    let s = Server::start();
    for p in [
        "/api/storage_volumes",
        "/api/storage_volumes/vol3",
        "/api/storage_snapshots",
        "/api/storage_snapshots/snap1",
        "/api/buckets",
        "/api/buckets/bucket1",
        "/api/buckets/bucket1/blob1",
        "/api/addresses",
        "/api/addresses/192.168.0.1",
    ] {
        let r = get(&s, p, "text/html");
        assert_eq!(r.status, 200, "{p}");
        assert_eq!(r.ctype(), "text/html", "{p}");
        assert!(r.body.contains("<table"), "{p}");
    }
}
