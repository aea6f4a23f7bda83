//! `/cimi` end to end (issue 5): the real binary with the mock driver, driven over HTTP with the
//! example bodies of `shared/reference/cimi-examples` (copied into `fixtures/cimi-examples/`), in
//! JSON and in XML.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const JSON: &str = "application/json";
const XML: &str = "application/xml";
const NS: &str = "http://schemas.dmtf.org/cimi/1";

fn example(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/cimi-examples")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn call(s: &Server, method: &str, path: &str, accept: &str, body: Option<(&str, String)>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client()
        .request(m, s.url(path))
        .header("Accept", accept)
        .basic_auth(USER, Some(PASSWORD));
    if let Some((ctype, b)) = body {
        rb = rb.header("Content-Type", ctype).body(b);
    }
    send(rb)
}

fn post_json(s: &Server, path: &str, v: &Value) -> Resp {
    call(s, "POST", path, JSON, Some((JSON, v.to_string())))
}

fn post_xml(s: &Server, path: &str, x: String) -> Resp {
    call(s, "POST", path, XML, Some((XML, x)))
}

/// The path part of an absolute URL.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |x| x.1);
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

/// The JSON equivalent of an XML create document, by the CIMI representation rules (a test-side
/// converter, so the XML examples can also be sent as JSON).
fn xml_to_json(x: &str) -> Value {
    fn conv(n: roxmltree::Node<'_, '_>) -> Value {
        let mut m = serde_json::Map::new();
        for a in n.attributes() {
            m.insert(a.name().to_owned(), json!(a.value()));
        }
        let mut props = serde_json::Map::new();
        for c in n.children().filter(roxmltree::Node::is_element) {
            if c.tag_name().name() == "property" {
                props.insert(
                    c.attribute("key").unwrap().to_owned(),
                    json!(c.text().unwrap_or("")),
                );
            } else if c.children().any(|x| x.is_element()) || c.attributes().len() > 0 {
                m.insert(c.tag_name().name().to_owned(), conv(c));
            } else {
                m.insert(
                    c.tag_name().name().to_owned(),
                    json!(c.text().unwrap_or("").trim()),
                );
            }
        }
        if !props.is_empty() {
            m.insert("properties".into(), Value::Object(props));
        }
        Value::Object(m)
    }
    let d = xml(x);
    let mut v = conv(d.root_element());
    v["resourceURI"] = json!(format!("{NS}/{}", d.root_element().tag_name().name()));
    v
}

/// The XML equivalent of a JSON create document.
fn json_to_xml(v: &Value) -> String {
    use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
    fn write(w: &mut quick_xml::Writer<Vec<u8>>, name: &str, v: &Value) {
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("href") => {
                let mut e = BytesStart::new(name);
                e.push_attribute(("href", m["href"].as_str().unwrap()));
                w.write_event(Event::Empty(e)).unwrap();
            }
            Value::Object(m) if name == "properties" => {
                for (k, pv) in m {
                    let mut e = BytesStart::new("property");
                    e.push_attribute(("key", k.as_str()));
                    w.write_event(Event::Start(e)).unwrap();
                    w.write_event(Event::Text(BytesText::new(pv.as_str().unwrap())))
                        .unwrap();
                    w.write_event(Event::End(BytesEnd::new("property")))
                        .unwrap();
                }
            }
            Value::Object(m) => {
                w.write_event(Event::Start(BytesStart::new(name))).unwrap();
                for (k, c) in m {
                    if k != "resourceURI" {
                        write(w, k, c);
                    }
                }
                w.write_event(Event::End(BytesEnd::new(name))).unwrap();
            }
            other => {
                let t = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                w.write_event(Event::Start(BytesStart::new(name))).unwrap();
                w.write_event(Event::Text(BytesText::new(&t))).unwrap();
                w.write_event(Event::End(BytesEnd::new(name))).unwrap();
            }
        }
    }
    let root = v["resourceURI"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let mut w = quick_xml::Writer::new(Vec::new());
    write(&mut w, root, v);
    String::from_utf8(w.into_inner()).unwrap()
}

/// Wait for a job to leave RUNNING; returns its final JSON.
fn wait_job(s: &Server, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = call(s, "GET", &path_of(url), JSON, None);
        assert_eq!(r.status, 200, "{}", r.body);
        let j = r.json();
        if j["status"] != "RUNNING" {
            return j;
        }
        assert!(Instant::now() < deadline, "job never finished: {j}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rels(m: &Value) -> Vec<String> {
    m["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["rel"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn created_ok(r: &Resp, ty: &str) -> String {
    assert_eq!(r.status, 201, "{ty}: {}", r.body);
    let loc = r
        .header("location")
        .unwrap_or_else(|| panic!("{ty}: no Location"))
        .to_owned();
    if r.ctype().starts_with(JSON) {
        let j = r.json();
        assert_eq!(j["id"], loc.as_str());
        assert_eq!(j["resourceURI"], format!("{NS}/{ty}"));
    } else {
        let d = xml(&r.body);
        let root = d.root_element();
        assert_eq!(root.tag_name().name(), ty, "{}", r.body);
        assert_eq!(root.tag_name().namespace(), Some(NS));
        assert_eq!(child_text(root, "id"), Some(loc.as_str()));
    }
    loc
}

#[test]
fn cimi_entry_point_and_negotiation() {
    let s = Server::start();
    let r = send(client().get(s.url("/cimi")));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(s.url("/cimi/cloudEntryPoint").as_str())
    );

    // No credentials needed; no Accept header (reqwest would send */*) means XML.
    let r = send(
        client()
            .get(s.url("/cimi/cloudEntryPoint"))
            .header("Accept", ""),
    );
    assert_eq!(r.status, 200);
    assert!(r.ctype().starts_with(XML));
    let d = xml(&r.body);
    let root = d.root_element();
    assert_eq!(root.tag_name().name(), "CloudEntryPoint");
    assert_eq!(
        root.attribute("resourceURI"),
        Some("http://schemas.dmtf.org/cimi/1/CloudEntryPoint")
    );
    assert_eq!(child_text(root, "baseURI"), Some(s.url("/cimi/").as_str()));
    assert_eq!(child_text(root, "name"), Some("mock"));
    assert_eq!(
        child(root, "machines").and_then(|m| m.attribute("href")),
        Some(s.url("/cimi/machines").as_str())
    );

    let j = get_json(&s, "/cimi/cloudEntryPoint").json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "resourceMetadata",
        "machines",
        "machineTemplates",
        "machineConfigs",
        "machineImages",
        "credentials",
        "volumes",
        "volumeTemplates",
        "volumeConfigs",
        "volumeImages",
        "networks",
        "addresses",
        "addressTemplates",
        "forwardingGroups",
        "jobs",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
        // Every link works.
        let r = get_json(&s, &path_of(j[k]["href"].as_str().unwrap()));
        assert_eq!(r.status, 200, "{k}: {}", r.body);
        assert!(
            r.json()["resourceURI"]
                .as_str()
                .unwrap()
                .ends_with("Collection"),
            "{k}"
        );
    }
    assert_eq!(keys.last(), Some(&"resourceURI"), "resourceURI comes last");
    assert!(keys.iter().position(|k| *k == "machines") < keys.iter().position(|k| *k == "volumes"));

    // $expand inlines collections.
    let j = get_json(&s, "/cimi/cloudEntryPoint?$expand=machines,volumes").json();
    assert_eq!(j["machines"]["count"], 4);
    assert_eq!(j["volumes"]["volumes"].as_array().unwrap().len(), 3);
    assert!(j["images"].is_null() && j["machineImages"]["count"].is_null());
    let j = get_json(&s, "/cimi/cloudEntryPoint?$expand=*").json();
    assert_eq!(j["machineConfigs"]["count"], 3);

    // Accept rules: XML at any q wins, */* is JSON, nothing acceptable is 406.
    let r = get(
        &s,
        "/cimi/machines",
        "application/json;q=1, application/xml;q=0.1",
    );
    assert!(r.ctype().starts_with(XML));
    assert!(get(&s, "/cimi/machines", "*/*").ctype().starts_with(JSON));
    assert_eq!(get(&s, "/cimi/machines", "image/jpeg").status, 406);
    assert!(
        get(&s, "/cimi/machines?format=json", XML)
            .ctype()
            .starts_with(JSON)
    );

    // force_auth and authentication passed to the backend.
    assert_eq!(
        send(client().get(s.url("/cimi/cloudEntryPoint?force_auth=1"))).status,
        401
    );
    let r = send(client().get(s.url("/cimi/machines")).header("Accept", JSON));
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Basic realm=")
    );
    let r = send(
        client()
            .get(s.url("/cimi/machines"))
            .basic_auth("mockuser", Some("wrong")),
    );
    assert_eq!(r.status, 401);
    let r = get_json(&s, "/cimi/machines/nosuch");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], 404);
    let r = get_xml(&s, "/cimi/nonsense");
    assert_eq!(r.status, 404);
    assert_eq!(xml(&r.body).root_element().attribute("status"), Some("404"));

    // Resource metadata.
    let j = get_json(&s, "/cimi/resource_metadata/machine").json();
    assert_eq!(j["typeUri"], "http://schemas.dmtf.org/cimi/1/Machine");
    let realms: Vec<&str> = j["attributes"][0]["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(realms, ["us", "eu"]);
    let x = get_xml(&s, "/cimi/resource_metadata/machine").body;
    assert!(
        x.contains("<capability name=\"DefaultInitialState\""),
        "{x}"
    );
}

#[test]
fn cimi_resources_match_the_spec() {
    let s = Server::start();
    let m = get_json(&s, "/cimi/machines/inst0").json();
    assert_eq!(m["state"], "STARTED");
    assert_eq!(m["cpu"], "1");
    assert_eq!(m["memory"], 12_582_912);
    assert_eq!(
        m["machineImage"]["href"],
        s.url("/cimi/machine_images/img1")
    );
    assert_eq!(rels(&m), ["restart", "stop", "capture"]);
    for k in [
        "id",
        "name",
        "description",
        "created",
        "updated",
        "properties",
        "operations",
    ] {
        assert!(m.get(k).is_some(), "{k}");
    }
    let c = get_json(&s, "/cimi/machine_configurations/m1-small").json();
    assert_eq!(
        (c["cpu"].clone(), c["memory"].clone()),
        (json!("1"), json!(1_782_579))
    );
    assert_eq!(c["disks"][0]["capacity"], 167_772_160);
    let i = get_json(&s, "/cimi/machine_images/img1").json();
    assert_eq!(i["created"], "2012-10-25T14:27:53+02:00");
    let v = get_json(&s, "/cimi/volumes/vol1").json();
    assert_eq!(v["capacity"], 1_048_576);
    let vi = get_json(&s, "/cimi/volume_images/snap2").json();
    assert_eq!(
        vi["id"],
        s.url("/cimi/volume_images/snap2"),
        "the requested snapshot, not the first"
    );
    let k = get_json(&s, "/cimi/credentials/test-key").json();
    assert!(k["key"].as_str().unwrap().contains("PRIVATE KEY"));
    let fg = get_json(&s, "/cimi/forwarding_groups").json();
    assert_eq!(fg["count"], 2);
    let n = get_json(&s, "/cimi/networks").json();
    assert_eq!(n["count"], 4);
    let a = get_json(&s, "/cimi/addresses").json();
    assert_eq!(a["count"], 4);

    // XML representation of a machine.
    let r = get_xml(&s, "/cimi/machines/inst0");
    let d = xml(&r.body);
    let root = d.root_element();
    assert_eq!(
        root.attribute("resourceURI"),
        Some("http://schemas.dmtf.org/cimi/1/Machine")
    );
    assert_eq!(child_text(root, "memory"), Some("12582912"));
    assert_eq!(children(root, "operation").count(), 3);
    assert!(child(root, "disks").unwrap().attribute("href").is_some());
    let r = get_xml(&s, "/cimi/machines");
    let d = xml(&r.body);
    assert_eq!(d.root_element().tag_name().name(), "Collection");
    assert_eq!(children(d.root_element(), "Machine").count(), 4);

    // Disks and expansion.
    let dk = get_json(&s, "/cimi/machines/inst0/disks").json();
    assert_eq!(dk["count"], 1);
    let m = get_json(&s, "/cimi/machines/inst0?$expand=disks").json();
    assert_eq!(m["disks"]["count"], 1);
}

#[test]
fn cimi_machine_lifecycle_with_jobs() {
    let s = Server::start_with(&["--mock-transition-delay-ms", "300"], &[]);
    let body: Value = serde_json::from_str(&example("machine.json")).unwrap();
    let r = post_json(&s, "/cimi/machines", &body);
    let loc = created_ok(&r, "Machine");
    let job = r
        .header("cimi-job-uri")
        .expect("create has a job")
        .to_owned();
    let m = r.json();
    assert_eq!(m["name"], "myDatabaseMachine");
    assert_eq!(m["description"], "This is a hangout demo stuff");
    assert_eq!(m["properties"]["life"], "is life");
    let j = get_json(&s, &path_of(&job)).json();
    assert_eq!(j["targetResource"]["href"], loc.as_str());
    assert_eq!(j["action"], "http://schemas.dmtf.org/cimi/1/action/create");
    let j = wait_job(&s, &job);
    assert_eq!(
        (
            j["status"].as_str(),
            j["progress"].as_i64(),
            j["returnCode"].as_i64()
        ),
        (Some("SUCCESS"), Some(100), Some(200))
    );

    let mp = path_of(&loc);
    let m = get_json(&s, &mp).json();
    assert_eq!(m["state"], "STARTED");
    assert_eq!(m["name"], "myDatabaseMachine", "name kept by the gateway");
    assert_eq!(rels(&m), ["restart", "stop", "capture"]);

    // start is not valid while started: 409, and nothing runs.
    let action = |a: &str| json!({"resourceURI": "http://schemas.dmtf.org/cimi/1/Action", "action": format!("http://schemas.dmtf.org/cimi/1/action/{a}")});
    let r = post_json(&s, &format!("{mp}/start"), &action("start"));
    assert_eq!(r.status, 409, "{}", r.body);
    // The body's action must agree with the URL.
    assert_eq!(
        post_json(&s, &format!("{mp}/stop"), &action("start")).status,
        400
    );

    // stop: 202 + job; while the mock is stopping the job runs, then succeeds.
    let r = post_xml(
        &s,
        &format!("{mp}/stop"),
        "<Action xmlns=\"http://schemas.dmtf.org/cimi/1\"><action>http://schemas.dmtf.org/cimi/1/action/stop</action></Action>".into(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.header("cimi-job-uri").unwrap().to_owned();
    let d = xml(&r.body);
    assert_eq!(d.root_element().tag_name().name(), "Job");
    assert_eq!(child_text(d.root_element(), "status"), Some("RUNNING"));
    let j = wait_job(&s, &job);
    assert_eq!(j["status"], "SUCCESS", "{j}");
    let m = get_json(&s, &mp).json();
    assert_eq!(m["state"], "STOPPED");
    assert_eq!(rels(&m), ["start", "delete", "capture"]);

    // start again, then restart.
    let r = post_json(&s, &format!("{mp}/start"), &action("start"));
    assert_eq!(r.status, 202);
    assert_eq!(
        wait_job(&s, r.header("cimi-job-uri").unwrap())["status"],
        "SUCCESS"
    );
    let r = post_json(&s, &format!("{mp}/restart"), &action("restart"));
    assert_eq!(r.status, 202);
    assert_eq!(
        wait_job(&s, r.header("cimi-job-uri").unwrap())["status"],
        "SUCCESS"
    );
    assert_eq!(get_json(&s, &mp).json()["state"], "STARTED");

    // delete is only valid when stopped.
    assert_eq!(call(&s, "DELETE", &mp, JSON, None).status, 409);
    let r = post_json(&s, &format!("{mp}/stop"), &action("stop"));
    wait_job(&s, r.header("cimi-job-uri").unwrap());
    let r = call(&s, "DELETE", &mp, JSON, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let j = wait_job(&s, r.header("cimi-job-uri").unwrap());
    assert_eq!(j["status"], "SUCCESS");
    assert_eq!(get_json(&s, &mp).status, 404);

    // The jobs collection lists them all with their outcome.
    let jobs = get_json(&s, "/cimi/jobs?$filter=status='SUCCESS'").json();
    assert!(jobs["count"].as_u64().unwrap() >= 6, "{jobs}");

    // Capture: MachineImageCreate (XML example, then its JSON form).
    let r = post_xml(&s, "/cimi/machine_images", example("machine_image.xml"));
    created_ok(&r, "MachineImage");
    let mut j = xml_to_json(&example("machine_image.xml"));
    j["name"] = json!("myMachineImage2");
    let r = post_json(&s, "/cimi/machine_images", &j);
    let loc = created_ok(&r, "MachineImage");
    assert_eq!(
        get_json(&s, &path_of(&loc)).json()["name"],
        "myMachineImage2"
    );
    assert_eq!(call(&s, "DELETE", &path_of(&loc), JSON, None).status, 200);
}

#[test]
fn cimi_templates_by_reference_and_inline_and_every_example() {
    let s = Server::start();
    // Machine templates, XML and JSON.
    let t1 = created_ok(
        &post_json(
            &s,
            "/cimi/machine_templates",
            &serde_json::from_str(&example("machine_template.json")).unwrap(),
        ),
        "MachineTemplate",
    );
    let t2 = created_ok(
        &post_xml(
            &s,
            "/cimi/machine_templates",
            example("machine_template.xml"),
        ),
        "MachineTemplate",
    );
    let t = get_json(&s, &path_of(&t1)).json();
    assert_eq!(t["realm"], "us");
    assert_eq!(
        t["machineConfig"]["href"],
        "http://localhost:3001/cimi/machine_configurations/m1-xlarge"
    );
    assert_eq!(rels(&t), ["delete"]);
    let x = xml_to_json(&example("machine_template.xml"));
    created_ok(
        &post_json(&s, "/cimi/machine_templates", &x),
        "MachineTemplate",
    );
    let j: Value = serde_json::from_str(&example("machine_template.json")).unwrap();
    created_ok(
        &post_xml(&s, "/cimi/machine_templates", json_to_xml(&j)),
        "MachineTemplate",
    );

    // Machines by reference (JSON and XML), pointing at the created templates.
    let by_ref_json = example("machine_from_temp.json")
        .replace("http://localhost:3001/cimi/machine_templates/1", &t1);
    let r = post_json(
        &s,
        "/cimi/machines",
        &serde_json::from_str(&by_ref_json).unwrap(),
    );
    let m = created_ok(&r, "Machine");
    let mj = get_json(&s, &path_of(&m)).json();
    assert_eq!(
        mj["machineImage"]["href"],
        s.url("/cimi/machine_images/img3"),
        "image from the template"
    );
    assert_eq!(mj["realm"], "us");
    assert_eq!(mj["cpu"], "4", "m1-xlarge from the template");
    let by_ref_xml = example("machine_from_temp.xml")
        .replace("http://localhost:3001/cimi/machine_templates/1", &t2);
    created_ok(
        &post_xml(&s, "/cimi/machines", by_ref_xml.clone()),
        "Machine",
    );
    created_ok(
        &post_json(&s, "/cimi/machines", &xml_to_json(&by_ref_xml)),
        "Machine",
    );
    let j: Value = serde_json::from_str(&by_ref_json).unwrap();
    created_ok(&post_xml(&s, "/cimi/machines", json_to_xml(&j)), "Machine");
    // Inline.
    let r = post_xml(&s, "/cimi/machines", example("machine.xml"));
    let m = created_ok(&r, "Machine");
    let d = xml(&r.body);
    assert_eq!(
        child_text(d.root_element(), "name"),
        Some("myMachineXML123")
    );
    let mj = get_json(&s, &path_of(&m)).json();
    assert_eq!(mj["properties"]["test"], "value");
    let j: Value = serde_json::from_str(&example("machine.json")).unwrap();
    created_ok(&post_xml(&s, "/cimi/machines", json_to_xml(&j)), "Machine");
    created_ok(
        &post_json(&s, "/cimi/machines", &xml_to_json(&example("machine.xml"))),
        "Machine",
    );
    // A reference to a template that does not exist, and a create without a template.
    let r = post_json(
        &s,
        "/cimi/machines",
        &json!({"machineTemplate": {"href": s.url("/cimi/machine_templates/999")}}),
    );
    assert_eq!(r.status, 400);
    let r = post_json(&s, "/cimi/machines", &json!({"name": "x"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Required attributes not set: machineTemplate"
    );
    let r = post_json(&s, "/cimi/machine_templates", &json!({"name": "x"}));
    assert_eq!(
        r.json()["message"],
        "Required attributes not set: machineConfig,machineImage"
    );

    // Volume configurations, templates and volumes.
    let vc = created_ok(
        &post_json(
            &s,
            "/cimi/volume_configurations",
            &serde_json::from_str(&example("volume_config.json")).unwrap(),
        ),
        "VolumeConfiguration",
    );
    let vcj = get_json(&s, &path_of(&vc)).json();
    assert_eq!(
        (vcj["capacity"].clone(), vcj["format"].clone()),
        (json!(1_048_576), json!("qcow2"))
    );
    created_ok(
        &post_xml(
            &s,
            "/cimi/volume_configurations",
            example("volume_config.xml"),
        ),
        "VolumeConfiguration",
    );
    created_ok(
        &post_json(
            &s,
            "/cimi/volume_configurations",
            &xml_to_json(&example("volume_config.xml")),
        ),
        "VolumeConfiguration",
    );
    let j: Value = serde_json::from_str(&example("volume_config.json")).unwrap();
    created_ok(
        &post_xml(&s, "/cimi/volume_configurations", json_to_xml(&j)),
        "VolumeConfiguration",
    );

    let vt_xml = example("volume_template.xml")
        .replace("http://localhost:3001/cimi/volume_configurations/1", &vc);
    let vt = created_ok(
        &post_xml(&s, "/cimi/volume_templates", vt_xml.clone()),
        "VolumeTemplate",
    );
    created_ok(
        &post_json(&s, "/cimi/volume_templates", &xml_to_json(&vt_xml)),
        "VolumeTemplate",
    );

    let vol_xml =
        example("volume.xml").replace("http://localhost:3001/cimi/volume_configurations/1", &vc);
    let v = created_ok(&post_xml(&s, "/cimi/volumes", vol_xml.clone()), "Volume");
    let vj = get_json(&s, &path_of(&v)).json();
    assert_eq!(
        vj["capacity"], 1_048_576,
        "1 GB from the stored configuration, not 1048576 GB"
    );
    assert_eq!(vj["name"], "myVolume1");
    created_ok(
        &post_json(&s, "/cimi/volumes", &xml_to_json(&vol_xml)),
        "Volume",
    );
    created_ok(
        &post_xml(&s, "/cimi/volumes", example("volume_by_value.xml")),
        "Volume",
    );
    created_ok(
        &post_json(
            &s,
            "/cimi/volumes",
            &xml_to_json(&example("volume_by_value.xml")),
        ),
        "Volume",
    );
    let by_tpl = json!({"name": "fromTemplate", "volumeTemplate": {"href": vt}});
    created_ok(&post_json(&s, "/cimi/volumes", &by_tpl), "Volume");

    // Volume images (the example points at a volume `vo1` the mock does not have).
    let vi_xml = example("volume_image.xml").replace("/volumes/vo1", "/volumes/vol1");
    let vi = created_ok(
        &post_xml(&s, "/cimi/volume_images", vi_xml.clone()),
        "VolumeImage",
    );
    assert_eq!(
        get_json(&s, &path_of(&vi)).json()["properties"]["foo"],
        "bar"
    );
    created_ok(
        &post_json(&s, "/cimi/volume_images", &xml_to_json(&vi_xml)),
        "VolumeImage",
    );
    assert_eq!(
        post_xml(&s, "/cimi/volume_images", example("volume_image.xml")).status,
        404
    );

    // Credentials.
    let j: Value = serde_json::from_str(&example("credential.json")).unwrap();
    let c = created_ok(&post_json(&s, "/cimi/credentials", &j), "Credential");
    assert_eq!(
        get_json(&s, &path_of(&c)).json()["description"],
        "A super secret credential"
    );
    let mut j2 = j.clone();
    j2["name"] = json!("myCredentialXml");
    created_ok(
        &post_xml(&s, "/cimi/credentials", json_to_xml(&j2)),
        "Credential",
    );
    assert_eq!(call(&s, "DELETE", &path_of(&c), JSON, None).status, 200);
    assert_eq!(get_json(&s, &path_of(&c)).status, 404);

    // Address templates and addresses.
    let at = created_ok(
        &post_xml(
            &s,
            "/cimi/address_templates",
            example("address_template.xml"),
        ),
        "AddressTemplate",
    );
    created_ok(
        &post_json(
            &s,
            "/cimi/address_templates",
            &xml_to_json(&example("address_template.xml")),
        ),
        "AddressTemplate",
    );
    let a = created_ok(
        &post_json(
            &s,
            "/cimi/addresses",
            &serde_json::from_str(&example("address.json")).unwrap(),
        ),
        "Address",
    );
    assert_eq!(get_json(&s, &path_of(&a)).json()["name"], "myDemoAddress");
    created_ok(
        &post_xml(&s, "/cimi/addresses", example("address.xml")),
        "Address",
    );
    created_ok(
        &post_json(&s, "/cimi/addresses", &xml_to_json(&example("address.xml"))),
        "Address",
    );
    let j: Value = serde_json::from_str(&example("address.json")).unwrap();
    created_ok(&post_xml(&s, "/cimi/addresses", json_to_xml(&j)), "Address");
    created_ok(
        &post_json(
            &s,
            "/cimi/addresses",
            &json!({"addressTemplate": {"href": at}}),
        ),
        "Address",
    );
    assert_eq!(call(&s, "DELETE", &path_of(&a), JSON, None).status, 200);

    // network.json is not valid JSON (it was an illustration in the original): 400.
    let r = call(
        &s,
        "POST",
        "/cimi/networks",
        JSON,
        Some((JSON, example("network.json"))),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Bad request (")
    );

    // Malformed XML, wrong document type, unsupported content type.
    assert_eq!(
        post_xml(&s, "/cimi/machines", "<MachineCreate>".into()).status,
        400
    );
    assert_eq!(
        post_xml(&s, "/cimi/machines", example("volume.xml")).status,
        400
    );
    let r = call(
        &s,
        "POST",
        "/cimi/machines",
        JSON,
        Some(("text/plain", "x".into())),
    );
    assert_eq!(r.status, 415);
    let r = call(
        &s,
        "POST",
        "/cimi/machines",
        JSON,
        Some(("application/json; charset=utf-8", example("machine.json"))),
    );
    assert_eq!(r.status, 201, "parameters on the content type are accepted");

    // Database-only deletes.
    assert_eq!(call(&s, "DELETE", &path_of(&t1), JSON, None).status, 200);
    assert_eq!(call(&s, "DELETE", &path_of(&t1), JSON, None).status, 404);
    assert_eq!(get_json(&s, &path_of(&t1)).status, 404);
}

#[test]
fn cimi_volume_attach_and_detach() {
    let s = Server::start();
    let attach = json!({"resourceURI": "http://schemas.dmtf.org/cimi/1/MachineVolume",
        "initialLocation": "/dev/sdf", "volume": {"href": s.url("/cimi/volumes/vol1")}});
    let r = post_json(&s, "/cimi/machines/inst1/volume_attach", &attach);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/cimi/machines/inst1/volumes/vol1").as_str())
    );
    assert_eq!(r.json()["initialLocation"], "/dev/sdf");
    let c = get_json(&s, "/cimi/machines/inst1/volumes").json();
    assert_eq!(
        c["resourceURI"],
        "http://schemas.dmtf.org/cimi/1/MachineVolumeCollection"
    );
    assert_eq!(
        c["operations"][0]["href"],
        s.url("/cimi/machines/inst1/volume_attach")
    );
    let n = c["count"].as_u64().unwrap();
    assert!(n >= 1);
    assert_eq!(
        get_json(&s, "/cimi/machines/inst1/volumes/vol1").status,
        200
    );
    let m = get_json(&s, "/cimi/machines/inst1?$expand=volumes").json();
    assert_eq!(m["volumes"]["count"].as_u64(), Some(n));
    assert_eq!(
        get_json(&s, "/cimi/machines/inst0/volumes/vol1").status,
        404
    );

    let r = call(
        &s,
        "DELETE",
        "/cimi/machines/inst1/volumes/vol1",
        JSON,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["count"].as_u64(), Some(n - 1));
    assert_eq!(
        call(
            &s,
            "DELETE",
            "/cimi/machines/inst1/volumes/vol1",
            JSON,
            None
        )
        .status,
        404
    );

    // XML attach.
    let r = post_xml(
        &s,
        "/cimi/machines/inst1/volume_attach",
        format!(
            "<MachineVolume><initialLocation>/dev/sdg</initialLocation><volume href=\"{}\"/></MachineVolume>",
            s.url("/cimi/volumes/vol1")
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        child_text(xml(&r.body).root_element(), "initialLocation"),
        Some("/dev/sdg")
    );
    let r = post_json(
        &s,
        "/cimi/machines/inst1/volume_attach",
        &json!({"volume": {"href": "x"}}),
    );
    assert_eq!(
        r.json()["message"],
        "Required attributes not set: initialLocation"
    );
}

#[test]
fn cimi_query_parameters() {
    let s = Server::start();
    let names = |q: &str| -> (u16, Value) {
        let r = get_json(&s, &format!("/cimi/machines?{q}"));
        if r.status != 200 {
            return (r.status, r.json()["message"].clone());
        }
        let j = r.json();
        let ns: Vec<Value> = j["machines"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                m["id"]
                    .as_str()
                    .map_or(m.clone(), |i| json!(i.rsplit('/').next().unwrap()))
            })
            .collect();
        (200, json!({"count": j["count"], "ids": ns}))
    };
    let ok = |count: u64, ids: &[&str]| (200u16, json!({"count": count, "ids": ids}));
    let table: Vec<(&str, (u16, Value))> = vec![
        ("$filter=name='MockUserInstance'", ok(1, &["inst1"])),
        (
            "$filter=name!='MockUserInstance'",
            ok(3, &["inst0", "inst2", "inst3"]),
        ),
        (
            "$filter=state='STARTED' and realm='us'",
            ok(3, &["inst0", "inst1", "inst2"]),
        ),
        (
            "$filter=realm='eu' or (state='STARTED' and memory>12000000)",
            ok(2, &["inst0", "inst3"]),
        ),
        (
            "$filter=memory>=1782579 and memory<=1782579",
            ok(2, &["inst1", "inst3"]),
        ),
        ("$filter=cpu>1", ok(0, &[])),
        ("$filter=machine_image='http://nope'", ok(0, &[])),
        (
            "$filter=created>2000-01-01",
            ok(4, &["inst0", "inst1", "inst2", "inst3"]),
        ),
        ("$filter=created<2000-01-01T00:00:00Z", ok(0, &[])),
        ("$filter=property['x']='y'", ok(0, &[])),
        (
            "$orderby=name:desc&$select=id",
            ok(4, &["inst1", "inst0", "inst2", "inst3"]),
        ),
        (
            "$orderby=memory:desc,name&$select=id",
            ok(4, &["inst0", "inst2", "inst3", "inst1"]),
        ),
        (
            "$orderby=name&$first=2&$last=3&$select=id",
            ok(4, &["inst2", "inst0"]),
        ),
        ("$first=4", ok(4, &["inst3"])),
        ("$last=1", ok(4, &["inst0"])),
        ("$first=3&$last=2", ok(4, &[])),
        (
            "$select=name",
            (
                200,
                json!({"count": 4, "ids": [
            {"name": "Mock Instance With Profile Change"}, {"name": "MockUserInstance"},
            {"name": "AnotherInstance"}, {"name": ""}]}),
            ),
        ),
    ];
    for (q, want) in table {
        let got = names(q);
        assert_eq!(got, want, "{q}");
    }
    for (q, needle) in [
        ("$filter=name=", "Invalid $filter at position 5"),
        (
            "$filter=(name='x'",
            "Invalid $filter at position 9: expected ')'",
        ),
        ("$filter=name~'x'", "Invalid $filter at position 4"),
        ("$filter=name='x' nand 1", "Invalid $filter at position 9"),
        ("$first=0", "Invalid $first"),
        ("$last=abc", "Invalid $last"),
        ("$orderby=name:sideways", "Invalid $orderby"),
        ("$select=a[3-1]", "Invalid $select"),
    ] {
        let (st, msg) = names(q);
        assert_eq!(st, 400, "{q}");
        assert!(msg.as_str().unwrap().contains(needle), "{q}: {msg}");
    }
    // $select with $expand, and array element selection.
    let j = get_json(
        &s,
        "/cimi/machines?$select=name,operations[0]&$filter=name='MockUserInstance'",
    )
    .json();
    let m = &j["machines"][0];
    assert_eq!(m.as_object().unwrap().len(), 2);
    assert_eq!(m["operations"].as_array().unwrap().len(), 1);
    // Queries work on every collection, including database ones and in XML.
    let j = get_json(&s, "/cimi/machine_configurations?$filter=cpu='4'").json();
    assert_eq!(j["count"], 1);
    let r = get_xml(&s, "/cimi/volumes?$filter=capacity>1000000&$select=name");
    let d = xml(&r.body);
    let vols: Vec<_> = children(d.root_element(), "Volume").collect();
    assert_eq!(vols.len(), 3);
    assert_eq!(child_names(vols[0]), ["name"]);
}
