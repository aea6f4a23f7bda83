//! Networks, subnets, network interfaces and metrics through the real binary
//! (`deltacloud-api.md` §8.13–§8.14), in XML and JSON.

use crate::common::*;

#[test]
fn networks_subnets_xml_json_create_destroy() {
    let s = Server::start();
    let r = get_xml(&s, "/api/networks");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, "network"), ["net1", "net2"]);
    let r = get_xml(&s, "/api/networks/net1");
    let doc = xml(&r.body);
    let n = doc.root_element();
    assert_eq!(
        child_names(n),
        ["name", "state", "address_blocks", "subnets", "actions"]
    );
    assert_eq!(child_text(n, "name"), Some("network1"));
    let subnets: Vec<_> = children(child(n, "subnets").unwrap(), "subnet")
        .map(|x| x.attribute("id").unwrap().to_owned())
        .collect();
    assert_eq!(subnets, ["subnet1", "subnet2"]);
    let j = get_json(&s, "/api/networks/net2").json();
    assert_eq!(
        j["network"]["address_blocks"],
        serde_json::json!(["10.0.0.0/8"])
    );
    assert_eq!(j["network"]["subnets"][0]["id"], "subnet3");
    assert_eq!(
        get_xml(&s, "/api/networks?id=net2")
            .body
            .matches("<network ")
            .count(),
        1
    );

    let r = get_xml(&s, "/api/subnets/subnet1");
    let doc = xml(&r.body);
    assert_eq!(child_text(doc.root_element(), "network"), Some("net1"));
    assert_eq!(
        child_text(doc.root_element(), "address_block"),
        Some("192.168.1.0/24")
    );
    let j = get_json(&s, "/api/subnets/subnet4").json();
    assert_eq!(j["subnet"]["type"], "PRIVATE");
    assert_eq!(j["subnet"]["network"]["id"], "net2");

    // Create: 201 + Location in both formats (the original's XML answered 500).
    let r = post(
        &s,
        "/api/networks",
        &[("address_block", "172.16.0.0/12"), ("name", "lab")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/networks/lab").as_str())
    );
    let r = post(&s, "/api/networks", &[], "application/xml");
    assert_eq!(r.status, 400);
    let r = post(
        &s,
        "/api/subnets",
        &[
            ("network_id", "lab"),
            ("address_block", "172.16.1.0/24"),
            ("name", "labsub"),
        ],
        "application/json",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["subnet"]["network"]["id"], "lab");
    let j = get_json(&s, "/api/networks/lab").json();
    assert_eq!(j["network"]["subnets"][0]["id"], "labsub");
    assert_eq!(delete(&s, "/api/subnets/labsub").status, 204);
    assert_eq!(delete(&s, "/api/networks/lab").status, 204);
    assert_eq!(get_xml(&s, "/api/networks/lab").status, 404);
    assert_eq!(get_xml(&s, "/api/subnets/nope").status, 404);
}

#[test]
fn network_interfaces_xml_json_create_destroy() {
    let s = Server::start();
    let r = get_xml(&s, "/api/network_interfaces");
    assert_eq!(ids(&r.body, "network_interface"), ["nic1", "nicinst3"]);
    let r = get_xml(&s, "/api/network_interfaces/nic1");
    let doc = xml(&r.body);
    let n = doc.root_element();
    let net = child(n, "network").unwrap();
    assert_eq!(net.attribute("rel"), Some("subnet"), "the mock has subnets");
    assert_eq!(
        net.attribute("href"),
        Some(s.url("/api/subnets/subnet1").as_str())
    );
    assert_eq!(net.text(), Some("subnet1"));
    assert_eq!(child(n, "instance").unwrap().text(), Some("inst1"));
    let j = get_json(&s, "/api/network_interfaces/nic1").json();
    assert_eq!(j["network_interface"]["ip_address"], "192.168.1.2");
    assert_eq!(j["network_interface"]["instance"]["id"], "inst1");

    let r = post(
        &s,
        "/api/network_interfaces",
        &[
            ("instance", "inst0"),
            ("network", "subnet2"),
            ("name", "eth1"),
        ],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/network_interfaces/eth1").as_str())
    );
    let r = post(
        &s,
        "/api/network_interfaces",
        &[("instance", "inst0")],
        "application/xml",
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("'network'"), "{}", r.body);
    assert_eq!(delete(&s, "/api/network_interfaces/eth1").status, 204);
    assert_eq!(get_xml(&s, "/api/network_interfaces/eth1").status, 404);
}

#[test]
fn metrics_list_and_samples() {
    let s = Server::start();
    let r = get_xml(&s, "/api/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, "metric"), ["inst0", "inst1", "inst2", "inst3"]);
    let doc = xml(&r.body);
    let first = children(doc.root_element(), "metric").next().unwrap();
    let props = child(first, "properties").unwrap();
    assert_eq!(child_names(props).len(), 9);
    assert!(
        child(props, "cpuUtilization")
            .unwrap()
            .children()
            .all(|c| !c.is_element())
    );

    let r = get_xml(&s, "/api/metrics/inst0");
    let doc = xml(&r.body);
    let m = doc.root_element();
    assert_eq!(
        child_text(m, "entity"),
        Some("Mock Instance With Profile Change")
    );
    let cpu = child(child(m, "properties").unwrap(), "cpuUtilization").unwrap();
    let samples: Vec<_> = children(cpu, "sample").collect();
    assert_eq!(samples.len(), 6);
    let names: Vec<_> = children(samples[0], "property")
        .map(|p| p.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names,
        ["minimum", "maximum", "average", "timestamp", "unit"]
    );

    let j = get_json(&s, "/api/metrics").json();
    assert_eq!(
        j["metrics"][0]["properties"][0]["values"],
        serde_json::Value::Null
    );
    let j = get_json(&s, "/api/metrics/inst0").json();
    let v = &j["metric"]["properties"][0]["values"][0];
    assert_eq!(v["unit"], "Percent");
    assert!(v["minimum"].as_f64().unwrap() < v["maximum"].as_f64().unwrap());
}

#[test]
fn html_pages_for_networks() {
    let s = Server::start();
    for p in [
        "/api/networks",
        "/api/networks/net1",
        "/api/subnets",
        "/api/subnets/subnet1",
        "/api/network_interfaces",
        "/api/network_interfaces/nic1",
        "/api/metrics",
        "/api/metrics/inst0",
    ] {
        let r = get(&s, p, "text/html");
        assert_eq!(r.status, 200, "{p}");
        assert!(r.body.contains("<table"), "{p}");
    }
}
