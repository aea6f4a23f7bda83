//! The ec2 backend's load balancers (classic ELB) end to end against moto, through `/api` in
//! JSON and XML: create in a zone with a listener, list, show, register and unregister an
//! instance, destroy, and the 404 of a missing one. Skipped without `MOTO_URL` (see
//! `ec2_backend`). Metrics (CloudWatch) are driven by `.ci/moto/boto3_e2e.py`, which can put
//! metric data into moto first.

use crate::common::{client, send, xml};
use crate::ec2_backend::{KEY, SECRET, Server, api, api_ok, moto_url, unique};

#[test]
fn load_balancers_against_moto() {
    let Some(moto) = moto_url("load_balancers_against_moto") else {
        return;
    };
    let s = Server::start(&moto, 10);
    let name = unique("lb")
        .replace('-', "")
        .chars()
        .take(32)
        .collect::<String>();

    let j = api_ok(
        &s,
        "POST",
        "/api/load_balancers",
        &[
            ("name", &name),
            ("realm_id", "us-east-1a"),
            ("listener_protocol", "HTTP"),
            ("listener_balancer_port", "80"),
            ("listener_instance_port", "8080"),
        ],
        201,
    );
    let lb = &j["load_balancer"];
    assert_eq!(lb["id"], name.as_str(), "{j}");
    assert!(j.to_string().contains("us-east-1a"), "{j}");
    assert!(j.to_string().contains("8080"), "{j}");

    let j = api_ok(&s, "GET", "/api/load_balancers", &[], 200);
    assert!(j.to_string().contains(&name), "{j}");

    // XML show with the listener and a public address (the DNS name).
    let r = send(
        client()
            .get(s.url(&format!("/api/load_balancers/{name}")))
            .basic_auth(KEY, Some(SECRET))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    assert_eq!(doc.root_element().attribute("id"), Some(name.as_str()));
    let listener = doc
        .descendants()
        .find(|n| n.has_tag_name("listener"))
        .expect("a listener");
    assert_eq!(listener.attribute("protocol"), Some("HTTP"), "{}", r.body);
    assert!(
        doc.descendants().any(|n| n.has_tag_name("address")),
        "{}",
        r.body
    );

    // An instance to balance.
    let images = api_ok(&s, "GET", "/api/images?owner_id=amazon", &[], 200);
    let image = images["images"][0]["id"].as_str().unwrap().to_owned();
    let inst = api_ok(
        &s,
        "POST",
        "/api/instances",
        &[
            ("image_id", &image),
            ("hwp_id", "m1.small"),
            ("realm_id", "us-east-1a"),
        ],
        201,
    );
    let iid = inst["instance"]["id"].as_str().unwrap().to_owned();
    let j = api_ok(
        &s,
        "POST",
        &format!("/api/load_balancers/{name}/register"),
        &[("instance_id", &iid)],
        200,
    );
    assert!(j.to_string().contains(&iid), "registered: {j}");
    let j = api_ok(
        &s,
        "POST",
        &format!("/api/load_balancers/{name}/unregister"),
        &[("instance_id", &iid)],
        200,
    );
    assert!(!j.to_string().contains(&iid), "unregistered: {j}");

    let r = api(&s, "DELETE", &format!("/api/load_balancers/{name}"), &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api(&s, "GET", &format!("/api/load_balancers/{name}"), &[]);
    assert_eq!(r.status, 404, "{}", r.body);
    api_ok(&s, "DELETE", &format!("/api/instances/{iid}"), &[], 204);
}
