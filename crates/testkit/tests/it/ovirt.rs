//! The fake oVirt engine driven over HTTP: its answers are compared element by element with the
//! recorded v4 inventory (so the fake cannot drift from the real engine's shapes), and its state
//! machines, faults, sessions, SSO tokens and hang mode are exercised as a client sees them.

use std::collections::BTreeSet;
use std::time::Duration;

use deltacloud_testkit::ovirt::{
    CLUSTER_ID, DATACENTER_ID, FREE_DISK_ID, FakeEngine, OTHER_CLUSTER_ID, OTHER_DATACENTER_ID,
    PASSWORD, STORAGE_DOMAIN_ID, TEMPLATE_ID, TEMPLATE2_ID, USER, VM_OFF_ID, VM_ON_DISK_ID,
    VM_ON_ID,
};
use deltacloud_testkit::{Cassette, fixtures_dir};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A request to `path` under the API root, with Basic credentials.
fn basic(c: &Client, e: &FakeEngine, method: reqwest::Method, path: &str) -> RequestBuilder {
    c.request(method, format!("{}/{path}", e.url()))
        .basic_auth(USER, Some(PASSWORD))
}

fn get(c: &Client, e: &FakeEngine, path: &str) -> (StatusCode, String) {
    let r = basic(c, e, reqwest::Method::GET, path).send().unwrap();
    (r.status(), r.text().unwrap())
}

fn post(c: &Client, e: &FakeEngine, path: &str, body: &str) -> (StatusCode, String) {
    let r = basic(c, e, reqwest::Method::POST, path)
        .header("Content-Type", "application/xml")
        .body(body.to_owned())
        .send()
        .unwrap();
    (r.status(), r.text().unwrap())
}

fn delete(c: &Client, e: &FakeEngine, path: &str) -> (StatusCode, String) {
    let r = basic(c, e, reqwest::Method::DELETE, path).send().unwrap();
    (r.status(), r.text().unwrap())
}

/// The text of the first descendant element `name` of the document's root.
fn text_of(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.root_element()
        .descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(str::to_owned)
}

fn root_text(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.root_element()
        .children()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(str::to_owned)
}

/// Every element path and attribute below `node` (`cpu/topology/cores`, `cluster@id`).
fn shape(node: roxmltree::Node<'_, '_>, prefix: &str, out: &mut BTreeSet<String>) {
    for a in node.attributes() {
        out.insert(format!("{prefix}@{}", a.name()));
    }
    for c in node.children().filter(roxmltree::Node::is_element) {
        let p = format!("{prefix}/{}", c.tag_name().name());
        out.insert(p.clone());
        shape(c, &p, out);
    }
}

fn recorded_body(inventory: &Cassette, path: &str) -> String {
    let want = format!("/ovirt-engine/api/{path}");
    let i = inventory
        .interactions
        .iter()
        .find(|i| i.request.method == "GET" && i.request.uri.ends_with(&want))
        .unwrap_or_else(|| panic!("no recording of GET {want}"));
    String::from_utf8(i.response.body.clone()).unwrap()
}

#[test]
fn answers_have_the_recorded_shapes_and_ids() {
    let inventory = Cassette::load(fixtures_dir().join("rhevm/ovirt-v4/inventory.yml")).unwrap();
    let e = FakeEngine::start().unwrap();
    let c = client();
    let cases = [
        ("datacenters", "data_center", true),
        ("clusters", "cluster", true),
        ("templates", "template", true),
        ("vms", "vm", true),
        ("disks", "disk", true),
        // The brief names the fake's storage domain `data1`; the recording calls it otherwise.
        ("storagedomains", "storage_domain", false),
        (&format!("vms/{VM_ON_ID}/nics"), "nic", true),
        (
            &format!("vms/{VM_ON_ID}/diskattachments"),
            "disk_attachment",
            false,
        ),
    ];
    for (path, item, same_name) in cases {
        let (status, fake) = get(&c, &e, path);
        assert_eq!(status, StatusCode::OK, "{path}");
        let recorded = recorded_body(&inventory, path);
        let fake_doc = roxmltree::Document::parse(&fake).unwrap();
        let rec_doc = roxmltree::Document::parse(&recorded).unwrap();
        assert_eq!(
            fake_doc.root_element().tag_name().name(),
            rec_doc.root_element().tag_name().name(),
            "{path}"
        );
        let mut matched = 0;
        for f in fake_doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name(item))
        {
            let id = f.attribute("id").unwrap();
            let href = f.attribute("href").unwrap();
            assert!(
                href.starts_with("/ovirt-engine/api/") && href.ends_with(id),
                "{href}"
            );
            let Some(r) = rec_doc
                .root_element()
                .children()
                .find(|n| n.has_tag_name(item) && n.attribute("id") == Some(id))
            else {
                continue;
            };
            matched += 1;
            let name = |n: roxmltree::Node<'_, '_>| {
                n.children()
                    .find(|c| c.has_tag_name("name"))
                    .and_then(|c| c.text())
                    .map(str::to_owned)
            };
            if same_name {
                assert_eq!(name(f), name(r), "{path} {id}");
            }
            let (mut fs, mut rs) = (BTreeSet::new(), BTreeSet::new());
            shape(f, "", &mut fs);
            shape(r, "", &mut rs);
            let extra: Vec<_> = fs.difference(&rs).collect();
            assert!(
                extra.is_empty(),
                "{path} {id}: the fake writes what the engine does not: {extra:?}"
            );
        }
        assert!(matched > 0, "{path}: no item with a recorded id");
    }
    // The seeded ids are the recorded ones.
    let (_, dcs) = get(&c, &e, "datacenters");
    assert!(dcs.contains(DATACENTER_ID) && dcs.contains(OTHER_DATACENTER_ID));
    let (_, clusters) = get(&c, &e, "clusters");
    assert!(clusters.contains(CLUSTER_ID) && clusters.contains(OTHER_CLUSTER_ID));
    assert_eq!(e.template_ids().len(), 3);
    assert!(e.template_ids().contains(&TEMPLATE2_ID.to_owned()));
    let (_, vm_on) = get(&c, &e, &format!("vms/{VM_ON_ID}"));
    assert_eq!(root_text(&vm_on, "status").as_deref(), Some("up"));
    let (_, nics) = get(&c, &e, &format!("vms/{VM_ON_ID}/nics"));
    assert!(nics.contains("<address>10.46.8.199</address>"));
    let (_, types) = get(&c, &e, "instancetypes");
    assert_eq!(text_of(&types, "name").as_deref(), Some("Small"));
}

#[test]
fn vm_lifecycle_shows_transitional_states_once() {
    let e = FakeEngine::start().unwrap();
    let c = client();
    let body = format!(
        "<vm><name>i-1</name><cluster id=\"{CLUSTER_ID}\"/><template id=\"{TEMPLATE_ID}\"/><memory>536870912</memory><cpu><topology><cores>2</cores><sockets>1</sockets></topology></cpu></vm>"
    );
    let (status, created) = post(&c, &e, "vms", &body);
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        root_text(&created, "status").as_deref(),
        Some("image_locked")
    );
    assert_eq!(text_of(&created, "cores").as_deref(), Some("2"));
    assert_eq!(root_text(&created, "memory").as_deref(), Some("536870912"));
    let doc = roxmltree::Document::parse(&created).unwrap();
    let id = doc.root_element().attribute("id").unwrap().to_owned();
    assert_eq!(e.vm_name(&id).as_deref(), Some("i-1"));
    // The same name again is refused.
    let (status, dup) = post(&c, &e, "vms", &body);
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(dup.contains("name is already in use"));

    let path = format!("vms/{id}");
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("image_locked")
    );
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("down")
    );
    assert_eq!(e.vm_status(&id).as_deref(), Some("down"));

    let (status, done) = post(&c, &e, &format!("{path}/start"), "<action/>");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&done, "status").as_deref(), Some("complete"));
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("powering_up")
    );
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("up")
    );

    let (status, fault) = post(&c, &e, &format!("{path}/start"), "<action/>");
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        root_text(&fault, "reason").as_deref(),
        Some("Operation Failed")
    );
    assert_eq!(
        root_text(&fault, "detail").as_deref(),
        Some("[Cannot run VM. VM is running.]")
    );
    let (status, _) = delete(&c, &e, &path);
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = post(&c, &e, &format!("{path}/stop"), "<action/>");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e.vm_status(&id).as_deref(), Some("down"));
    let (status, _) = delete(&c, &e, &path);
    assert_eq!(status, StatusCode::OK);
    assert!(!e.vm_ids().contains(&id));
    assert_eq!(get(&c, &e, &path).0, StatusCode::NOT_FOUND);
}

#[test]
fn templates_in_use_and_escaped_names() {
    let e = FakeEngine::start().unwrap();
    let c = client();
    let (status, fault) = delete(&c, &e, &format!("templates/{TEMPLATE_ID}"));
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(root_text(&fault, "detail").unwrap().contains("vm_off"));
    // A name with markup characters survives the round trip (the fake escapes what it writes).
    let (status, made) = post(
        &c,
        &e,
        "templates",
        &format!("<template><name>a&lt;b &amp; \"c\"</name><vm id=\"{VM_OFF_ID}\"/></template>"),
    );
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(root_text(&made, "name").as_deref(), Some("a<b & \"c\""));
    assert_eq!(e.template_ids().len(), 4);
    // Only a down VM can become a template.
    let (status, _) = post(
        &c,
        &e,
        "templates",
        &format!("<template><name>t</name><vm id=\"{VM_ON_ID}\"/></template>"),
    );
    assert_eq!(status, StatusCode::CONFLICT);
}

#[test]
fn disk_lifecycle_attach_detach_delete() {
    let e = FakeEngine::start().unwrap();
    let c = client();
    let sd =
        format!("<storage_domains><storage_domain id=\"{STORAGE_DOMAIN_ID}\"/></storage_domains>");
    let (status, made) = post(
        &c,
        &e,
        "disks",
        &format!(
            "<disk><alias>data</alias><provisioned_size>2147483648</provisioned_size><format>cow</format>{sd}</disk>"
        ),
    );
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(root_text(&made, "status").as_deref(), Some("locked"));
    assert_eq!(root_text(&made, "name").as_deref(), Some("data"));
    let doc = roxmltree::Document::parse(&made).unwrap();
    let id = doc.root_element().attribute("id").unwrap().to_owned();
    let path = format!("disks/{id}");
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("locked")
    );
    assert_eq!(
        root_text(&get(&c, &e, &path).1, "status").as_deref(),
        Some("ok")
    );
    assert_eq!(e.disk_status(&id).as_deref(), Some("ok"));
    assert!(e.disk_ids().contains(&id));

    // Bad requests.
    let (status, _) = post(&c, &e, "disks", &format!("<disk><name>x</name>{sd}</disk>"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &c,
        &e,
        "disks",
        "<disk><name>x</name><provisioned_size>1</provisioned_size><storage_domains><storage_domain id=\"nope\"/></storage_domains></disk>",
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Attach to the down VM: no guest device name while it is down.
    let attach = format!(
        "<disk_attachment><disk id=\"{id}\"/><interface>virtio</interface><bootable>false</bootable><active>true</active></disk_attachment>"
    );
    let (status, att) = post(&c, &e, &format!("vms/{VM_OFF_ID}/diskattachments"), &attach);
    assert_eq!(status, StatusCode::CREATED);
    let doc = roxmltree::Document::parse(&att).unwrap();
    assert_eq!(doc.root_element().attribute("id"), Some(id.as_str()));
    assert_eq!(root_text(&att, "bootable").as_deref(), Some("false"));
    assert_eq!(root_text(&att, "logical_name"), None);
    assert_eq!(e.disk_attached_to(&id).as_deref(), Some(VM_OFF_ID));
    let (_, list) = get(&c, &e, &format!("vms/{VM_OFF_ID}/diskattachments"));
    assert!(list.contains(&format!("id=\"{id}\"")));

    // Already attached: refused wherever it goes.
    let (status, fault) = post(&c, &e, &format!("vms/{VM_ON_ID}/diskattachments"), &attach);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        root_text(&fault, "detail").as_deref(),
        Some("[Cannot attach Virtual Disk. The disk is already attached to VM vm_off.]")
    );
    let (status, _) = post(
        &c,
        &e,
        "vms/nope/diskattachments",
        &attach.replace(&id, FREE_DISK_ID),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The running VM's disk: a device name, and it cannot be deleted.
    let (_, on) = get(&c, &e, &format!("vms/{VM_ON_ID}/diskattachments"));
    assert_eq!(text_of(&on, "logical_name").as_deref(), Some("/dev/vda"));
    let (status, fault) = delete(&c, &e, &format!("disks/{VM_ON_DISK_ID}"));
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        root_text(&fault, "detail").as_deref(),
        Some("[Cannot remove Virtual Disk. Disk is attached to a running VM.]")
    );

    // Detach (from the right VM only), then delete.
    let (status, _) = delete(&c, &e, &format!("vms/{VM_ON_ID}/diskattachments/{id}"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = delete(&c, &e, &format!("vms/{VM_OFF_ID}/diskattachments/{id}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e.disk_attached_to(&id), None);
    assert!(e.disk_ids().contains(&id));
    let (status, done) = delete(&c, &e, &path);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&done, "status").as_deref(), Some("complete"));
    assert_eq!(get(&c, &e, &path).0, StatusCode::NOT_FOUND);
    assert_eq!(delete(&c, &e, &path).0, StatusCode::NOT_FOUND);

    // Attached to the running VM it gets the next device name, and cannot be deleted there.
    let free = attach.replace(&id, FREE_DISK_ID);
    let (status, att) = post(&c, &e, &format!("vms/{VM_ON_ID}/diskattachments"), &free);
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(root_text(&att, "logical_name").as_deref(), Some("/dev/vdb"));
    assert_eq!(
        delete(&c, &e, &format!("disks/{FREE_DISK_ID}")).0,
        StatusCode::CONFLICT
    );
    let detach = format!("vms/{VM_ON_ID}/diskattachments/{FREE_DISK_ID}");
    assert_eq!(delete(&c, &e, &detach).0, StatusCode::OK);

    // A disk attached to a down VM can be deleted, and its attachment goes with it.
    let (status, _) = post(
        &c,
        &e,
        &format!("vms/{VM_OFF_ID}/diskattachments"),
        &attach.replace(&id, FREE_DISK_ID),
    );
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        delete(&c, &e, &format!("disks/{FREE_DISK_ID}")).0,
        StatusCode::OK
    );
    let (_, list) = get(&c, &e, &format!("vms/{VM_OFF_ID}/diskattachments"));
    assert!(!list.contains(FREE_DISK_ID));
    assert_eq!(e.disk_ids(), [VM_ON_DISK_ID]);
}

fn token_request(c: &Client, e: &FakeEngine, form: &str) -> Response {
    c.post(e.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(form.to_owned())
        .send()
        .unwrap()
}

#[test]
fn sso_tokens_authorize_and_expire() {
    let e = FakeEngine::start().unwrap();
    let c = client();
    let r = token_request(
        &c,
        &e,
        "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=wrong",
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["error_code"], "access_denied");
    assert_eq!(
        v["error"],
        "Cannot authenticate user 'admin@internal': The username or password is incorrect.."
    );
    let r = token_request(&c, &e, "username=admin%40internal&password=engine");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["error_code"], "invalid_request");

    let r = token_request(
        &c,
        &e,
        "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=engine",
    );
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["scope"], "ovirt-app-api");
    let exp: u128 = v["exp"].as_str().unwrap().parse().unwrap();
    assert!(exp > 1_700_000_000_000);
    let token = v["access_token"].as_str().unwrap().to_owned();
    // The same in the query string.
    let r = c
        .post(format!(
            "{}?grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=engine",
            e.token_url()
        ))
        .header("Accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().unwrap();
    assert_ne!(v["access_token"].as_str(), Some(token.as_str()));
    assert_eq!(e.token_requests(), 4);

    let bearer = |t: &str| {
        c.get(format!("{}/vms", e.url()))
            .bearer_auth(t)
            .send()
            .unwrap()
    };
    assert_eq!(bearer(&token).status(), StatusCode::OK);
    assert_eq!(bearer("not-a-token").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(e.logins(), 0, "bearer requests are not logins");

    // SSO only: Basic is refused, the token and a session opened with it still work.
    e.set_require_sso(true);
    assert_eq!(get(&c, &e, "vms").0, StatusCode::UNAUTHORIZED);
    assert_eq!(e.logins(), 0);
    let r = c
        .get(format!("{}/vms", e.url()))
        .bearer_auth(&token)
        .header("Prefer", "persistent-auth")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    assert!(session.starts_with("JSESSIONID="));

    e.expire_tokens();
    assert_eq!(bearer(&token).status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(format!("{}/vms", e.url()))
        .header("Cookie", &session)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "sessions outlive their token");
    e.set_require_sso(false);
    assert_eq!(get(&c, &e, "vms").0, StatusCode::OK);
    assert_eq!(e.logins(), 1);
}

#[test]
fn sessions_and_the_401_page() {
    let e = FakeEngine::start().unwrap();
    let c = client();
    let r = c.get(format!("{}/vms", e.url())).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert!(r.text().unwrap().contains("HTTP Status 401"));
    let r = c
        .get(format!("{}/vms", e.url()))
        .basic_auth(USER, Some("wrong"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(e.logins(), 0);

    let r = basic(&c, &e, reqwest::Method::GET, "vms")
        .header("Prefer", "persistent-auth")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Path=/ovirt-engine"));
    let session = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(e.logins(), 1);
    let with_session = || {
        c.get(format!("{}/vms", e.url()))
            .header("Cookie", &session)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with_session(), StatusCode::OK);
    assert_eq!(with_session(), StatusCode::OK);
    assert_eq!(e.logins(), 1, "session requests are not logins");
    e.expire_sessions();
    assert_eq!(with_session(), StatusCode::UNAUTHORIZED);
    // Without Prefer, Basic works but opens nothing.
    let r = basic(&c, &e, reqwest::Method::GET, "vms").send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(e.logins(), 2);
}

#[test]
fn hang_mode_makes_clients_time_out() {
    let e = FakeEngine::start().unwrap();
    let quick = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    e.set_hang(true);
    let err = basic(&quick, &e, reqwest::Method::GET, "vms")
        .send()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    e.set_hang(false);
    assert_eq!(get(&quick, &e, "vms").0, StatusCode::OK);
    let seen = e.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r == "GET /ovirt-engine/api/vms"));
}
