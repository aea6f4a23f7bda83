//! `/cimi` end to end, part two (issue 5): the CIMI-only entities the mock driver holds
//! (systems, system templates, network ports, network and port configurations and templates,
//! forwarding-group and address templates) in JSON and XML with query parameters, and driver
//! selection by `/cimi;driver=…;provider=…` matrix parameters.

use crate::common::*;
use serde_json::{Value, json};

const JSON: &str = "application/json";
const SCHEMA: &str = "http://schemas.dmtf.org/cimi/1/";

fn ids_of(j: &Value, key: &str) -> Vec<String> {
    j[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    e["id"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every resource carries the common attributes (the list) and `resourceURI` last.
#[track_caller]
fn assert_resource(j: &Value, ty: &str) {
    for k in [
        "id",
        "name",
        "description",
        "created",
        "updated",
        "properties",
        "operations",
    ] {
        assert!(j.get(k).is_some(), "{ty} lacks {k}: {j}");
    }
    assert_eq!(j["resourceURI"], format!("{SCHEMA}{ty}"));
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("resourceURI"));
}

#[test]
fn cimi_driver_held_entities_in_json_and_xml() {
    let s = Server::start();

    // The entry point lists every collection the mock can list, in the spec's order, including
    // the two the original wrongly hid (networkPorts, forwardingGroupTemplates).
    let cep = get_json(&s, "/cimi/cloudEntryPoint").json();
    let keys: Vec<&str> = cep
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.get("href").is_some())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "resourceMetadata",
            "systems",
            "systemTemplates",
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
            "networkTemplates",
            "networkConfigs",
            "networkPorts",
            "networkPortTemplates",
            "networkPortConfigs",
            "addresses",
            "addressTemplates",
            "forwardingGroups",
            "forwardingGroupTemplates",
            "jobs",
        ]
    );
    assert_eq!(
        cep["networkPortConfigs"]["href"],
        s.url("/cimi/network_port_configurations")
    );
    let x = get_json(&s, "/cimi/cloudEntryPoint?$expand=systems,networkPorts").json();
    assert_eq!(x["systems"]["count"], 2);
    assert_eq!(
        x["networkPorts"]["networkPorts"].as_array().unwrap().len(),
        4
    );

    // Each new collection, JSON and XML.
    let table: &[(&str, &str, &str, &[&str])] = &[
        ("systems", "System", "systems", &["system1", "system2"]),
        (
            "system_templates",
            "SystemTemplate",
            "systemTemplates",
            &["template1"],
        ),
        (
            "network_ports",
            "NetworkPort",
            "networkPorts",
            &[
                "network_port1",
                "network_port2",
                "network_port3",
                "network_port4",
            ],
        ),
        (
            "network_configurations",
            "NetworkConfiguration",
            "networkConfigurations",
            &["network_config1", "network_config2"],
        ),
        (
            "network_templates",
            "NetworkTemplate",
            "networkTemplates",
            &["template1", "template2"],
        ),
        (
            "network_port_configurations",
            "NetworkPortConfiguration",
            "networkPortConfigurations",
            &["portconfig1", "portconfig2"],
        ),
        (
            "network_port_templates",
            "NetworkPortTemplate",
            "networkPortTemplates",
            &["template1", "template2"],
        ),
        (
            "forwarding_group_templates",
            "ForwardingGroupTemplate",
            "forwardingGroupTemplates",
            &["template1"],
        ),
        (
            "address_templates",
            "AddressTemplate",
            "addressTemplates",
            &["addr_template1", "addr_template2"],
        ),
    ];
    for (path, ty, key, want) in table {
        let r = get_json(&s, &format!("/cimi/{path}"));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let j = r.json();
        assert_eq!(
            j["resourceURI"],
            format!("{SCHEMA}{ty}Collection"),
            "{path}"
        );
        assert_eq!(j["id"], s.url(&format!("/cimi/{path}")));
        assert_eq!(j["count"], want.len(), "{path}");
        assert_eq!(ids_of(&j, key), *want, "{path}");
        // Read-only collections offer no `add`; address templates can still be created.
        let add = j["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["rel"] == "add");
        assert_eq!(add, *path == "address_templates", "{path}");
        for e in j[*key].as_array().unwrap() {
            assert!(
                e.get("resourceURI").is_none(),
                "entries carry no resourceURI"
            );
        }

        let one = get_json(&s, &format!("/cimi/{path}/{}", want[0]));
        assert_eq!(one.status, 200, "{path}/{}", want[0]);
        assert_resource(&one.json(), ty);
        assert_eq!(get_json(&s, &format!("/cimi/{path}/nosuch")).status, 404);

        let xr = get_xml(&s, &format!("/cimi/{path}"));
        assert_eq!(xr.status, 200);
        let d = xml(&xr.body);
        let root = d.root_element();
        assert_eq!(root.tag_name().name(), "Collection");
        assert_eq!(
            root.attribute("resourceURI"),
            Some(format!("{SCHEMA}{ty}Collection").as_str())
        );
        assert_eq!(
            child_text(root, "count"),
            Some(want.len().to_string().as_str())
        );
        assert_eq!(
            children(root, ty).count(),
            want.len(),
            "{path}: {}",
            xr.body
        );
    }

    // Values and references, rewritten to this server.
    let p = get_json(&s, "/cimi/network_ports/network_port3").json();
    assert_eq!(p["name"], "network_port3");
    assert_eq!(p["description"], "a mock switchport");
    assert_eq!(p["created"], "2012-03-16T17:10:36+02:00");
    assert_eq!(p["state"], "STARTED");
    assert_eq!(p["network"]["href"], s.url("/cimi/networks/network2"));
    assert_eq!(
        (p["portType"].clone(), p["classOfService"].clone()),
        (json!("ACCESS"), json!("GOLD"))
    );
    assert_eq!(p["properties"], json!({}));
    assert_eq!(
        p["operations"],
        json!([]),
        "no route performs the seeds' edit/delete, so none is listed"
    );
    let x = get_xml(&s, "/cimi/network_ports/network_port3").body;
    let d = xml(&x);
    let root = d.root_element();
    assert_eq!(root.tag_name().name(), "NetworkPort");
    assert_eq!(
        root.attribute("resourceURI"),
        Some(format!("{SCHEMA}NetworkPort").as_str())
    );
    assert_eq!(
        child(root, "network").and_then(|n| n.attribute("href")),
        Some(s.url("/cimi/networks/network2").as_str())
    );
    assert_eq!(child_text(root, "portType"), Some("ACCESS"));

    let c = get_json(&s, "/cimi/network_configurations/network_config1").json();
    assert_eq!(c["mtu"], 1500, "numbers stay numbers");
    assert_eq!(c["networkType"], "Public");
    let t = get_json(&s, "/cimi/network_templates/template1").json();
    assert_eq!(
        t["networkConfig"]["href"],
        s.url("/cimi/network_configurations/network_config1")
    );
    assert_eq!(
        t["forwardingGroup"]["href"],
        s.url("/cimi/forwarding_groups/group1")
    );
    let t = get_json(&s, "/cimi/network_port_templates/template2").json();
    assert_eq!(
        t["networkPortConfig"]["href"],
        s.url("/cimi/network_port_configurations/portconfig2")
    );
    let g = get_json(&s, "/cimi/forwarding_group_templates/template1").json();
    assert_eq!(
        g["networks"],
        json!([{"href": s.url("/cimi/networks/network1")}, {"href": s.url("/cimi/networks/network2")}])
    );
    let gx = get_xml(&s, "/cimi/forwarding_group_templates/template1").body;
    assert_eq!(
        children(xml(&gx).root_element(), "network").count(),
        2,
        "{gx}"
    );

    // Address templates: the driver's seeds plus the ones created through CIMI.
    let a = get_json(&s, "/cimi/address_templates/addr_template1").json();
    assert_eq!(a["hostname"], "marios.local");
    assert_eq!(a["created"], "2012-04-03T10:34:45+02:00");
    assert_eq!(a["network"]["href"], s.url("/cimi/networks/network1"));
    let r = send(
        client()
            .post(s.url("/cimi/address_templates"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", JSON)
            .header("Content-Type", JSON)
            .body(
                json!({"name": "mine", "ip": "10.0.0.9", "hostname": "h", "allocation": "static",
                       "defaultGateway": "10.0.0.1", "dns": "10.0.0.2", "protocol": "IPv4",
                       "mask": "255.0.0.0"})
                .to_string(),
            ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.header("location").unwrap().to_owned();
    let j = get_json(&s, "/cimi/address_templates").json();
    assert_eq!(j["count"], 3);
    assert_eq!(
        ids_of(&j, "addressTemplates")[..2],
        ["addr_template1", "addr_template2"]
    );
    let shown = get_json(&s, &created.replace(&s.url(""), "")).json();
    assert_eq!(shown["name"], "mine");
    assert_eq!(
        delete(&s, "/cimi/address_templates/addr_template1").status,
        405
    );
    assert_eq!(get_json(&s, "/cimi/address_templates").json()["count"], 3);

    // Systems and their members.
    let sys = get_json(&s, "/cimi/systems/system1").json();
    assert_eq!(sys["state"], "STOPPED");
    assert_eq!(sys["created"], "2013-02-08T15:25:41+02:00");
    for (attr, path) in [
        ("machines", "machines"),
        ("credentials", "credentials"),
        ("volumes", "volumes"),
        ("networks", "networks"),
        ("networkPorts", "network_ports"),
        ("addresses", "addresses"),
        ("forwardingGroups", "forwarding_groups"),
    ] {
        assert_eq!(
            sys[attr]["href"],
            s.url(&format!("/cimi/systems/system1/{path}")),
            "{attr}"
        );
    }
    let sys2 = get_json(&s, "/cimi/systems/system2").json();
    assert!(sys2["machines"].is_object() && sys2.get("volumes").is_none());
    let m = get_json(&s, "/cimi/systems/system1/machines").json();
    assert_eq!(m["resourceURI"], format!("{SCHEMA}SystemMachineCollection"));
    assert_eq!(m["count"], 1);
    assert_eq!(
        m["systemMachines"][0]["machine"]["href"],
        s.url("/cimi/machines/inst0")
    );
    assert_eq!(m["systemMachines"][0]["name"], "sysmach1");
    let one = get_json(&s, "/cimi/systems/system1/machines/sys_machine_1").json();
    assert_resource(&one, "SystemMachine");
    let fg = get_json(&s, "/cimi/systems/system1/forwarding_groups").json();
    assert_eq!(
        fg["systemForwardingGroups"][0]["forwardingGroup"]["href"],
        s.url("/cimi/forwarding_groups/group1")
    );
    let mx = get_xml(&s, "/cimi/systems/system1/volumes").body;
    let d = xml(&mx);
    let v = child(d.root_element(), "SystemVolume").expect("SystemVolume entry");
    assert_eq!(
        child(v, "volume").and_then(|n| n.attribute("href")),
        Some(s.url("/cimi/volumes/vol1").as_str())
    );
    assert_eq!(get_json(&s, "/cimi/systems/system2/volumes").status, 404);
    assert_eq!(get_json(&s, "/cimi/systems/nosuch/machines").status, 404);
    assert_eq!(
        get_json(&s, "/cimi/systems/system1/machines/nosuch").status,
        404
    );
    let e = get_json(&s, "/cimi/systems/system1?$expand=machines").json();
    assert_eq!(e["machines"]["count"], 1);
    assert!(
        e["volumes"].get("count").is_none(),
        "only what was asked is expanded"
    );

    // System templates: component descriptors with templates inline and by reference.
    let t = get_json(&s, "/cimi/system_templates/template1").json();
    let cds = t["componentDescriptors"].as_array().unwrap();
    assert_eq!(cds.len(), 3);
    assert_eq!(cds[0]["type"], format!("{SCHEMA}Machine"));
    assert_eq!(cds[0]["quantity"], 2);
    assert_eq!(
        cds[0]["machineTemplate"]["machineConfig"]["href"],
        "http://example.com/configs/m1-small"
    );
    assert_eq!(
        cds[2]["machineTemplate"],
        json!({"href": "http://example.com/machine_templates/1"})
    );
    let tx = get_xml(&s, "/cimi/system_templates/template1").body;
    let d = xml(&tx);
    let cd: Vec<_> = children(d.root_element(), "componentDescriptor").collect();
    assert_eq!(cd.len(), 3, "{tx}");
    assert_eq!(child_text(cd[0], "quantity"), Some("2"));
    assert_eq!(
        child(cd[2], "machineTemplate").and_then(|n| n.attribute("href")),
        Some("http://example.com/machine_templates/1")
    );

    // Query parameters work on them like on every collection.
    let q = |path: &str| get_json(&s, path).json();
    let j = q("/cimi/network_port_configurations?$filter=classOfService='GOLD'");
    assert_eq!(
        (j["count"].clone(), ids_of(&j, "networkPortConfigurations")),
        (json!(1), vec!["portconfig1".to_owned()])
    );
    let j = q("/cimi/network_ports?$orderby=name:desc&$first=1&$last=2");
    assert_eq!(j["count"], 4);
    assert_eq!(
        ids_of(&j, "networkPorts"),
        ["network_port4", "network_port3"]
    );
    let j = q(
        "/cimi/network_ports?$filter=network/href!=''%20and%20created>2012-03-16T17:07:00%2B02:00&$select=id,state",
    );
    assert_eq!(
        ids_of(&j, "networkPorts"),
        ["network_port2", "network_port3", "network_port4"]
    );
    assert_eq!(
        j["networkPorts"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id", "state"]
    );
    let bad = get_json(&s, "/cimi/systems?$filter=state=");
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Read-only here; credentials still go to the driver.
    let r = send(
        client()
            .post(s.url("/cimi/systems"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", JSON)
            .header("Accept", JSON)
            .body(json!({"systemTemplate": {"href": "x"}}).to_string()),
    );
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(delete(&s, "/cimi/network_ports/network_port1").status, 405);
    let r = send(client().get(s.url("/cimi/systems")).header("Accept", JSON));
    assert_eq!(r.status, 401);
}

#[test]
fn cimi_matrix_parameters_select_driver_and_provider() {
    let s = Server::start();
    // The matrix names the driver: an unknown one is the same 400 as the header gives.
    let r = get_json(&s, "/cimi;driver=nosuch/machines");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["message"].as_str().unwrap().contains("nosuch"),
        "{}",
        r.body
    );
    let r = get_json(&s, "/cimi;driver=MOCK/machines");
    assert_eq!(
        r.status, 200,
        "driver names are case-insensitive: {}",
        r.body
    );
    assert_eq!(r.json()["count"], 4);
    // It wins over the headers, which win over the defaults.
    let r = send(
        client()
            .get(s.url("/cimi;driver=mock/machines"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", JSON)
            .header("X-Deltacloud-Driver", "nosuch"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        client()
            .get(s.url("/cimi/machines"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", JSON)
            .header("X-Deltacloud-Driver", "nosuch"),
    );
    assert_eq!(r.status, 400);
    // The provider reaches the entry point (and the store scope).
    let j = get_json(&s, "/cimi;driver=mock;provider=eu-west/cloudEntryPoint").json();
    assert_eq!(
        (j["driver"].clone(), j["provider"].clone()),
        (json!("mock"), json!("eu-west"))
    );
    let j = get_json(&s, "/cimi;provider=a%2Fb/cloudEntryPoint?format=json").json();
    assert_eq!(j["provider"], "a/b", "values are percent-decoded");
    // The rendered machine list is memoized per worker; a change made through `/api` shows at once.
    for _ in 0..3 {
        assert_eq!(get_json(&s, "/cimi/machines").json()["count"], 4);
    }
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(get_json(&s, "/cimi/machines").json()["count"], 5);
    // Bare `/cimi;driver=mock` still redirects to the entry point; deeper paths route.
    let r = send(client().get(s.url("/cimi;driver=mock")));
    assert_eq!(r.status, 301);
    let r = get_xml(&s, "/cimi;driver=mock/systems/system1/machines");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        children(xml(&r.body).root_element(), "SystemMachine").count(),
        1
    );
}
