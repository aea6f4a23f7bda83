//! Instance lifecycle and the create/action/destroy routes of `/api` against the mock, with the
//! status codes the spec gives (201/202/204, 400/403/405, 412).

use crate::common::*;

fn actions_of(body: &str) -> Vec<String> {
    let doc = xml(body);
    child(doc.root_element(), "actions")
        .map(|a| {
            children(a, "link")
                .filter_map(|l| l.attribute("rel").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn state_of(body: &str) -> String {
    let doc = xml(body);
    child_text(doc.root_element(), "state")
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn create_stop_start_reboot_destroy() {
    let s = Server::start();
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("name", "web-1")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = xml(&r.body);
    let id = doc.root_element().attribute("id").expect("id").to_owned();
    assert_eq!(id, "inst4", "first create on the seed is inst4");
    assert_eq!(
        r.header("location"),
        Some(s.url(&format!("/api/instances/{id}")).as_str())
    );
    assert_eq!(
        state_of(&r.body),
        "RUNNING",
        "the mock's create is instantaneous"
    );
    let i = doc.root_element();
    assert_eq!(child_text(i, "name"), Some("web-1"));
    assert_eq!(
        child(i, "realm").and_then(|n| n.attribute("id")),
        Some("us")
    );
    assert_eq!(
        child(i, "hardware_profile").and_then(|n| n.attribute("id")),
        Some("m1-small")
    );
    let pubs = child(i, "public_addresses").expect("public");
    assert_eq!(
        child_text(pubs, "address"),
        Some(format!("img1.{id}.public.com").as_str())
    );
    assert_eq!(actions_of(&r.body)[..2], ["reboot", "stop"]);

    // Destroying a running instance is not allowed by the state machine.
    let r = delete(&s, &format!("/api/instances/{id}"));
    assert_eq!(r.status, 405, "{}", r.body);
    // Starting a running one neither.
    let r = post(
        &s,
        &format!("/api/instances/{id}/start"),
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 405);

    let r = post(
        &s,
        &format!("/api/instances/{id}/stop"),
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(state_of(&r.body), "STOPPED");
    assert_eq!(actions_of(&r.body)[..2], ["start", "destroy"]);
    let destroy = children(
        child(xml(&r.body).root_element(), "actions").expect("actions"),
        "link",
    )
    .find(|l| l.attribute("rel") == Some("destroy"))
    .map(|l| {
        (
            l.attribute("method").map(str::to_owned),
            l.attribute("href").map(str::to_owned),
        )
    });
    assert_eq!(
        destroy,
        Some((
            Some("delete".to_owned()),
            Some(s.url(&format!("/api/instances/{id}")))
        ))
    );

    let r = post(
        &s,
        &format!("/api/instances/{id}/start"),
        &[],
        "application/json",
    );
    assert_eq!(r.status, 202);
    let j = r.json();
    assert_eq!(
        j["state"], "RUNNING",
        "action JSON is the unwrapped instance: {j}"
    );
    assert_eq!(j["id"], id.as_str());

    let r = post(
        &s,
        &format!("/api/instances/{id}/reboot"),
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 202);
    assert_eq!(state_of(&r.body), "RUNNING");

    assert_eq!(
        post(
            &s,
            &format!("/api/instances/{id}/stop"),
            &[],
            "application/xml"
        )
        .status,
        202
    );
    let r = delete(&s, &format!("/api/instances/{id}"));
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(get_xml(&s, &format!("/api/instances/{id}")).status, 404);
    assert!(!ids(&get_xml(&s, "/api/instances").body, "instance").contains(&id));
}

#[test]
fn actions_on_missing_instances_are_forbidden() {
    let s = Server::start();
    assert_eq!(
        post(&s, "/api/instances/nope/stop", &[], "application/xml").status,
        403
    );
    assert_eq!(delete(&s, "/api/instances/nope").status, 403);
    let r = post(&s, "/api/instances/nope/reboot", &[], "application/json");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::ForbiddenError");
}

#[test]
fn create_with_profile_overrides_realm_and_key() {
    let s = Server::start();
    let r = post(
        &s,
        "/api/instances",
        &[
            ("image_id", "img2"),
            ("realm_id", "eu"),
            ("hwp_id", "m1-large"),
            ("hwp_memory", "8192"),
            ("hwp_cpu", "2"),
            ("keyname", "test-key"),
        ],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = xml(&r.body);
    let i = doc.root_element();
    assert_eq!(
        child(i, "realm").and_then(|n| n.attribute("id")),
        Some("eu")
    );
    let hp = child(i, "hardware_profile").expect("hwp");
    assert_eq!(hp.attribute("id"), Some("m1-large"));
    let props: Vec<(&str, &str)> = children(hp, "property")
        .map(|p| {
            (
                p.attribute("name").unwrap_or(""),
                p.attribute("value").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        props,
        vec![("memory", "8192"), ("cpu", "2")],
        "order memory, storage, architecture, cpu"
    );
    let login = child(child(i, "authentication").expect("auth"), "login").expect("login");
    assert_eq!(child_text(login, "keyname"), Some("test-key"));

    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("hwp_id", "m9-huge")],
        "application/xml",
    );
    assert_eq!(r.status, 400);
    let doc = xml(&r.body);
    assert_eq!(
        child_text(doc.root_element(), "message").map(str::trim),
        Some("Hardware profile 'm9-huge' does not exists.")
    );

    let r = post(&s, "/api/instances", &[("name", "x")], "application/xml");
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .starts_with("Required parameter 'image_id' not found in ["),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("name"),
        "lists the parameters received: {}",
        r.body
    );

    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("user_data", "%%%not base64%%%")],
        "application/xml",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("user_data", "ZWNobyBoaQ==")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn create_from_image_matrix_href_and_many_instances() {
    let s = Server::start();
    // The create_instance href an image advertises carries image_id as a matrix parameter.
    let r = post(&s, "/api/instances;image_id=img3", &[], "application/xml");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        child(xml(&r.body).root_element(), "image").and_then(|n| n.attribute("id")),
        Some("img3")
    );

    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("instance_count", "3")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.header("location").is_none(),
        "no Location for several instances"
    );
    let made = ids(&r.body, "instance");
    assert_eq!(made.len(), 3, "{}", r.body);
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1"), ("instance_count", "2")],
        "application/json",
    );
    assert_eq!(r.json()["instances"].as_array().map(Vec::len), Some(2));
    let all = ids(&get_xml(&s, "/api/instances").body, "instance");
    for id in &made {
        assert!(all.contains(id));
    }
}

#[test]
fn run_command_and_create_image() {
    let s = Server::start();
    let r = post(
        &s,
        "/api/instances/inst0/run",
        &[("cmd", "uname -a")],
        "application/xml",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    let i = doc.root_element();
    assert_eq!(i.attribute("id"), Some("inst0"));
    assert_eq!(child_text(i, "command"), Some("uname -a"));
    assert_eq!(
        child_text(i, "public_address"),
        Some("img1.inst0.public.com")
    );
    assert!(child_text(i, "output").is_some_and(|o| o.contains("uname -a")));
    let r = post(&s, "/api/instances/inst0/run", &[], "application/xml");
    assert_eq!(r.status, 400);

    let r = post(
        &s,
        "/api/images",
        &[
            ("instance_id", "inst1"),
            ("name", "golden"),
            ("description", "from inst1"),
        ],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/images/golden").as_str())
    );
    let doc = xml(&r.body);
    assert_eq!(
        child_text(doc.root_element(), "description"),
        Some("from inst1")
    );
    assert!(ids(&get_xml(&s, "/api/images").body, "image").contains(&"golden".to_owned()));
    // The create_image href an instance advertises carries instance_id as a matrix parameter.
    let r = post(
        &s,
        "/api/images;instance_id=inst2",
        &[("name", "golden2")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // inst3 cannot be snapshotted; an unknown instance is not found.
    assert_eq!(
        post(
            &s,
            "/api/images",
            &[("instance_id", "inst3"), ("name", "x")],
            "application/xml"
        )
        .status,
        500
    );
    assert_eq!(
        post(
            &s,
            "/api/images",
            &[("instance_id", "nope"), ("name", "y")],
            "application/xml"
        )
        .status,
        404
    );
    assert_eq!(delete(&s, "/api/images/golden").status, 204);
    assert_eq!(get_xml(&s, "/api/images/golden").status, 404);
}

#[test]
fn missing_capability_is_412_before_auth() {
    let s = Server::start();
    // The mock has no firewalls and no load balancers.
    for path in ["/api/firewalls", "/api/load_balancers"] {
        let r = send(
            client()
                .get(s.url(path))
                .header("Accept", "application/xml"),
        );
        assert_eq!(r.status, 412, "{path}: {}", r.body);
        assert_eq!(r.header("expect"), Some(&path[5..]));
        assert_eq!(
            r.body,
            "The required capability to execute this operation is missing"
        );
    }
}

#[test]
fn method_override_deletes_from_a_form() {
    let s = Server::start();
    assert_eq!(
        post(&s, "/api/keys", &[("name", "k2")], "application/xml").status,
        201
    );
    let r = post(
        &s,
        "/api/keys/k2",
        &[("_method", "delete")],
        "application/xml",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(get_xml(&s, "/api/keys/k2").status, 404);
}
