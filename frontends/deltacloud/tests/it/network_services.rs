//! Firewalls (`deltacloud-api.md` §8.11) and load balancers (§8.12) against the EC2-like
//! `cloud` fake: every route in XML and JSON, a GET of each in HTML, and the entry point that
//! lists both collections. The mock backend has neither, so these are the only tests that render
//! these documents.

use crate::fake::*;
use actix_web::http::Method;
use roxmltree::Node;
use serde_json::{Value, json};

const XML: &str = "application/xml";
const JSON: &str = "application/json";
const BASE: &str = "http://localhost:3001/api";
/// The seeded rule of `default`, with the id format of the EC2 driver (§8.11).
const RULE: &str = "393485797142~tcp~22~22~@group,393485797142,default,@address,ipv4,10.1.2.3,24";

// ---------------------------------------------------------------------------------------------
// XML helpers: shapes are compared element by element, never by substring.

fn elems<'a, 'i>(n: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    n.children().filter(Node::is_element).collect()
}

fn tags(n: Node<'_, '_>) -> Vec<String> {
    elems(n)
        .iter()
        .map(|c| c.tag_name().name().to_owned())
        .collect()
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    n.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("<{}> has no <{name}>", n.tag_name().name()))
}

fn text_of(n: Node<'_, '_>, name: &str) -> String {
    child(n, name).text().unwrap_or_default().to_owned()
}

/// All attributes, sorted by name.
fn attrs(n: Node<'_, '_>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = n
        .attributes()
        .map(|a| (a.name().to_owned(), a.value().to_owned()))
        .collect();
    v.sort();
    v
}

fn a(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The path of an absolute href of this test host, for requesting it.
fn path_of(href: &str) -> &str {
    href.strip_prefix("http://localhost:3001")
        .unwrap_or_else(|| panic!("not one of ours: {href}"))
}

fn rule_href() -> String {
    format!("{BASE}/firewalls/default/{RULE}")
}

/// The seeded rule's XML, in the show view (`list == false`) or the list view.
fn assert_seeded_rule(rule: Node<'_, '_>, list: bool) {
    let href = rule_href();
    if list {
        assert_eq!(
            attrs(rule),
            a(&[("id", RULE)]),
            "list view: no href on rules"
        );
    } else {
        assert_eq!(attrs(rule), a(&[("href", &href), ("id", RULE)]));
    }
    assert_eq!(
        tags(rule),
        [
            "actions",
            "allow_protocol",
            "port_from",
            "port_to",
            "direction",
            "sources"
        ],
        "unset rule_action/log_rule are left out"
    );
    let links = elems(child(rule, "actions"));
    assert_eq!(links.len(), 1);
    let mut want = vec![
        ("href", href.as_str()),
        ("method", "delete"),
        ("rel", "destroy"),
    ];
    if list {
        want.push(("id", RULE));
    }
    assert_eq!(attrs(links[0]), a(&want));
    assert_eq!(text_of(rule, "allow_protocol"), "tcp");
    assert_eq!(text_of(rule, "port_from"), "22");
    assert_eq!(text_of(rule, "port_to"), "22");
    assert_eq!(text_of(rule, "direction"), "ingress");
    let sources = elems(child(rule, "sources"));
    assert_eq!(sources.len(), 2);
    assert!(sources.iter().all(|s| s.has_tag_name("source")));
    assert_eq!(
        attrs(sources[0]),
        a(&[("name", "default"), ("owner", OWNER), ("type", "group")])
    );
    assert_eq!(
        attrs(sources[1]),
        a(&[
            ("address", "10.1.2.3"),
            ("family", "ipv4"),
            ("prefix", "24"),
            ("type", "address")
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Entry point

#[actix_web::test]
async fn entry_point_lists_firewalls_load_balancers_and_their_features() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, get("/api").insert_header(("Accept", XML))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.xml();
    let root = doc.root_element();
    assert_eq!(root.attribute("driver"), Some("cloud"));
    let links = elems(root);
    let rels: Vec<&str> = links.iter().filter_map(|l| l.attribute("rel")).collect();
    assert_eq!(
        rels,
        [
            "drivers",
            "firewalls",
            "hardware_profiles",
            "images",
            "instance_states",
            "instances",
            "keys",
            "load_balancers",
            "realms",
            "storage_volumes"
        ]
    );
    for coll in ["firewalls", "load_balancers"] {
        let l = links
            .iter()
            .find(|l| l.attribute("rel") == Some(coll))
            .unwrap();
        assert_eq!(
            attrs(*l),
            a(&[("href", &format!("{BASE}/{coll}")), ("rel", coll)])
        );
        assert!(elems(*l).is_empty(), "{coll} has no features");
    }
    // The instance features that refer to these collections, in feature-table order.
    let inst = links
        .iter()
        .find(|l| l.attribute("rel") == Some("instances"))
        .unwrap();
    let feats: Vec<(String, String, Vec<String>)> = elems(*inst)
        .iter()
        .map(|f| {
            (
                f.attribute("name").unwrap().to_owned(),
                f.attribute("rel").unwrap().to_owned(),
                elems(*f)
                    .iter()
                    .filter(|p| p.has_tag_name("param"))
                    .map(|p| p.attribute("name").unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let feat = |n: &str, p: &str| (n.to_owned(), "create".to_owned(), vec![p.to_owned()]);
    assert_eq!(
        feats,
        [
            feat("user_name", "name"),
            feat("firewalls", "firewalls"),
            feat("authentication_key", "keyname"),
            feat("register_to_load_balancer", "load_balancer_id"),
        ]
    );

    let j = call(&app, get("/api").insert_header(("Accept", JSON))).await;
    let links = j.json()["api"]["links"].clone();
    let by_rel = |rel: &str| {
        links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .cloned()
            .unwrap_or_else(|| panic!("no {rel} in {links}"))
    };
    assert_eq!(
        by_rel("firewalls"),
        json!({"rel": "firewalls", "href": format!("{BASE}/firewalls"), "features": []})
    );
    assert_eq!(
        by_rel("load_balancers"),
        json!({"rel": "load_balancers", "href": format!("{BASE}/load_balancers"), "features": []})
    );
    let inst = by_rel("instances");
    let names: Vec<&str> = inst["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "user_name",
            "firewalls",
            "authentication_key",
            "register_to_load_balancer"
        ]
    );
    let fw = &inst["features"][1][0];
    assert_eq!(keys(fw), sorted(&["name", "rel", "params", "constraints"]));
    assert_eq!(
        (&fw["name"], &fw["rel"]),
        (&json!("firewalls"), &json!("create"))
    );
    assert_eq!(fw["constraints"], json!({}));
    // The original declared this parameter `:array` (`firewalls:array:optional`); the type is
    // not asserted here, only the name and optionality.
    let p = fw["params"][0].as_str().unwrap();
    assert!(
        p.starts_with("firewalls:") && p.ends_with(":optional"),
        "{p}"
    );
    assert_eq!(
        inst["features"][3][0]["params"],
        json!(["load_balancer_id:string:optional"])
    );

    let o = call(&app, req(Method::OPTIONS, "/api")).await;
    let allow = o.header("allow").unwrap_or_default();
    for class in [
        "Deltacloud::Rabbit::FirewallsCollection",
        "Deltacloud::Rabbit::LoadBalancersCollection",
    ] {
        assert!(allow.split(',').any(|c| c == class), "{allow}");
    }
}

// ---------------------------------------------------------------------------------------------
// Firewalls

#[actix_web::test]
async fn firewall_show_xml_has_the_spec_shape() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/firewalls/default", XML)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("application/xml"));
    assert!(
        r.body
            .starts_with("<?xml version='1.0' encoding='utf-8' ?>")
    );
    assert!(r.header("x-backend-runtime").is_some());
    let doc = r.xml();
    let fw = doc.root_element();
    assert!(fw.has_tag_name("firewall"));
    assert_eq!(
        attrs(fw),
        a(&[
            ("href", &format!("{BASE}/firewalls/default")),
            ("id", "default")
        ])
    );
    assert_eq!(
        tags(fw),
        ["actions", "name", "description", "owner_id", "rules"]
    );
    let links = elems(child(fw, "actions"));
    assert_eq!(links.len(), 2);
    assert_eq!(
        attrs(links[0]),
        a(&[
            ("href", &format!("{BASE}/firewalls/default")),
            ("method", "delete"),
            ("rel", "destroy")
        ])
    );
    assert_eq!(
        attrs(links[1]),
        a(&[
            ("href", &format!("{BASE}/firewalls/default/rules")),
            ("method", "post"),
            ("rel", "update")
        ])
    );
    assert_eq!(text_of(fw, "name"), "default");
    assert_eq!(text_of(fw, "description"), "default group");
    assert_eq!(text_of(fw, "owner_id"), OWNER);
    let rules = elems(child(fw, "rules"));
    assert_eq!(rules.len(), 1);
    assert!(rules[0].has_tag_name("rule"));
    assert_seeded_rule(rules[0], false);

    // A firewall without rules still has an (empty) <rules>.
    let r = call(&app, authed(Method::GET, "/api/firewalls/web", XML)).await;
    let doc = r.xml();
    assert!(elems(child(doc.root_element(), "rules")).is_empty());
}

#[actix_web::test]
async fn firewall_list_xml_uses_the_list_view() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/firewalls", XML)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("firewalls"));
    assert!(attrs(root).is_empty());
    assert_eq!(tags(root), ["firewall", "firewall"]);
    assert_eq!(r.ids("firewall"), ["default", "web"]);
    let fw = elems(root)[0];
    assert_eq!(
        tags(fw),
        ["actions", "name", "description", "owner_id", "rules"]
    );
    let links = elems(child(fw, "actions"));
    assert_eq!(
        attrs(links[0]),
        a(&[
            ("href", &format!("{BASE}/firewalls/default")),
            ("id", "default"),
            ("method", "delete"),
            ("rel", "destroy")
        ])
    );
    assert_eq!(
        attrs(links[1]),
        a(&[
            ("href", &format!("{BASE}/firewalls/default/rules")),
            ("id", "default"),
            ("method", "post"),
            ("rel", "add_rule")
        ])
    );
    assert_seeded_rule(elems(child(fw, "rules"))[0], true);

    // The `id` filter (§10).
    let r = call(&app, authed(Method::GET, "/api/firewalls?id=web", XML)).await;
    assert_eq!(r.ids("firewall"), ["web"]);
    let r = call(&app, authed(Method::GET, "/api/firewalls?id=nope", XML)).await;
    assert_eq!((r.status, r.ids("firewall").len()), (200, 0));
}

#[actix_web::test]
async fn firewall_json_show_and_list() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/firewalls/default", JSON)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("application/json"));
    let j = r.json();
    assert_eq!(keys(&j), ["firewall"]);
    let fw = &j["firewall"];
    assert_eq!(
        keys(fw),
        sorted(&["id", "href", "name", "description", "owner_id", "rules"])
    );
    assert_eq!(fw["id"], "default");
    assert_eq!(fw["href"], format!("{BASE}/firewalls/default"));
    assert_eq!(fw["name"], "default");
    assert_eq!(fw["description"], "default group");
    assert_eq!(fw["owner_id"], OWNER);
    assert_eq!(
        fw["rules"],
        json!([{
            "id": RULE,
            "allow_protocol": "tcp",
            "port_from": "22",
            "port_to": "22",
            "direction": "ingress",
            "sources": [
                {"type": "group", "name": "default", "owner": OWNER},
                {"type": "address", "family": "ipv4", "address": "10.1.2.3", "prefix": "24"}
            ]
        }]),
        "null rule keys (rule_action, log_rule) are omitted"
    );

    let r = call(&app, authed(Method::GET, "/api/firewalls", JSON)).await;
    let j = r.json();
    assert_eq!(keys(&j), ["firewalls"]);
    let list = j["firewalls"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], *fw, "list items have the show shape");
    assert_eq!(list[1]["rules"], json!([]));
}

#[actix_web::test]
async fn firewall_unknown_ids_are_404() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/firewalls/nope", XML)).await;
    assert_eq!(r.status, 404);
    let doc = r.xml();
    assert!(doc.root_element().has_tag_name("error"));
    assert_eq!(doc.root_element().attribute("status"), Some("404"));
    assert_eq!(r.xml_text("message").as_deref(), Some("Not Found"));
    let r = call(&app, authed(Method::GET, "/api/firewalls/nope", JSON)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::ObjectNotFound");

    // Driver "not found" on destroy, add rule and delete rule.
    for (m, uri, body) in [
        (Method::DELETE, "/api/firewalls/nope", ""),
        (
            Method::POST,
            "/api/firewalls/nope/rules",
            "protocol=tcp&port_from=80&port_to=80&ip_address1=0.0.0.0/0",
        ),
        (Method::DELETE, "/api/firewalls/nope/some-rule", ""),
        (Method::DELETE, "/api/firewalls/default/some-rule", ""),
    ] {
        let r = call(&app, form(m.clone(), uri, JSON, body)).await;
        assert_eq!(r.status, 404, "{m} {uri}: {}", r.body);
        assert_eq!(r.json()["code"], 404);
    }
    // Nothing was removed.
    let st = fake.state.lock().unwrap();
    assert_eq!(st.firewalls.len(), 2);
    assert_eq!(st.firewalls[0].rules.len(), 1);
}

#[actix_web::test]
async fn firewall_create_and_destroy() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls",
            XML,
            "name=db&description=database+servers",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let loc = format!("{BASE}/firewalls/db");
    assert_eq!(r.header("location"), Some(loc.as_str()));
    let doc = r.xml();
    let fw = doc.root_element();
    assert!(fw.has_tag_name("firewall"));
    assert_eq!(attrs(fw), a(&[("href", &loc), ("id", "db")]));
    assert_eq!(
        tags(fw),
        ["actions", "name", "description", "owner_id", "rules"]
    );
    assert_eq!(
        elems(child(fw, "actions"))[1].attribute("rel"),
        Some("update"),
        "a created firewall is shown in the show view"
    );
    assert_eq!(text_of(fw, "description"), "database servers");
    assert!(elems(child(fw, "rules")).is_empty());

    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls",
            JSON,
            "name=cache&description=memcached",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("{BASE}/firewalls/cache").as_str())
    );
    assert_eq!(
        r.json(),
        json!({"firewall": {"id": "cache", "href": format!("{BASE}/firewalls/cache"),
            "name": "cache", "description": "memcached", "owner_id": OWNER, "rules": []}})
    );

    // A duplicate name is the driver's conflict, with its message.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls",
            JSON,
            "name=db&description=again",
        ),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.json()["message"],
        "The security group 'db' already exists"
    );

    // Destroy: 204, empty body; then it is gone.
    for (fmt, id) in [(XML, "db"), (JSON, "cache")] {
        let r = call(
            &app,
            authed(Method::DELETE, &format!("/api/firewalls/{id}"), fmt),
        )
        .await;
        assert_eq!((r.status, r.body.as_str()), (204, ""), "{fmt}");
        let r = call(
            &app,
            authed(Method::GET, &format!("/api/firewalls/{id}"), fmt),
        )
        .await;
        assert_eq!(r.status, 404);
    }
    let st = fake.state.lock().unwrap();
    assert_eq!(
        st.mutations,
        [
            "create_firewall db",
            "create_firewall cache",
            "delete_firewall db",
            "delete_firewall cache"
        ]
    );
}

#[actix_web::test]
async fn firewall_create_needs_name_and_description() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, form(Method::POST, "/api/firewalls", XML, "name=x")).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Required parameter 'description' not found in [name]"
    );
    let r = call(
        &app,
        form(Method::POST, "/api/firewalls", JSON, "description=x"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Required parameter 'name' not found in [description]"
    );
    assert!(fake.state.lock().unwrap().mutations.is_empty());
}

#[actix_web::test]
async fn firewall_rule_add_and_delete() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    // XML: 201 with the firewall, now holding the new rule (EC2 rule id).
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls/web/rules",
            XML,
            "protocol=tcp&port_from=80&port_to=443&ip_address1=0.0.0.0/0&ip_address2=192.168.1.0/24",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = r.xml();
    let fw = doc.root_element();
    assert!(fw.has_tag_name("firewall"));
    assert_eq!(fw.attribute("id"), Some("web"));
    let rules = elems(child(fw, "rules"));
    assert_eq!(rules.len(), 1);
    let id = format!("{OWNER}~tcp~80~443~@address,ipv4,0.0.0.0,0,@address,ipv4,192.168.1.0,24");
    assert_eq!(rules[0].attribute("id"), Some(id.as_str()));
    let href = rules[0].attribute("href").unwrap().to_owned();
    assert_eq!(text_of(rules[0], "port_to"), "443");
    let srcs: Vec<_> = elems(child(rules[0], "sources"))
        .iter()
        .map(|s| attrs(*s))
        .collect();
    assert_eq!(
        srcs,
        [
            a(&[
                ("address", "0.0.0.0"),
                ("family", "ipv4"),
                ("prefix", "0"),
                ("type", "address")
            ]),
            a(&[
                ("address", "192.168.1.0"),
                ("family", "ipv4"),
                ("prefix", "24"),
                ("type", "address")
            ]),
        ]
    );

    // JSON, with a group source (`group<N>` + `group<N>owner`) and `ip-address` spelling.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls/web/rules",
            JSON,
            "protocol=udp&port_from=53&port_to=53&group1=default&group1owner=393485797142&ip-address=10.0.0.0/8",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    assert_eq!(keys(&j), ["firewall"]);
    let rules = j["firewall"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[1],
        json!({
            "id": format!("{OWNER}~udp~53~53~@group,{OWNER},default,@address,ipv4,10.0.0.0,8"),
            "allow_protocol": "udp",
            "port_from": "53",
            "port_to": "53",
            "direction": "ingress",
            "sources": [
                {"type": "group", "name": "default", "owner": OWNER},
                {"type": "address", "family": "ipv4", "address": "10.0.0.0", "prefix": "8"}
            ]
        })
    );

    // Delete the first rule through the href the document gave: 204, and it is gone.
    let r = call(&app, authed(Method::DELETE, path_of(&href), XML)).await;
    assert_eq!((r.status, r.body.as_str()), (204, ""), "{href}");
    let r = call(&app, authed(Method::GET, "/api/firewalls/web", JSON)).await;
    let ids: Vec<String> = r.json()["firewall"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].contains("~udp~"), "{ids:?}");

    // The seeded rule's id (with `~`, `@` and `,`) also round-trips, in JSON.
    let r = call(&app, authed(Method::DELETE, path_of(&rule_href()), JSON)).await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    // Again: the driver no longer has it.
    let r = call(&app, authed(Method::DELETE, path_of(&rule_href()), JSON)).await;
    assert_eq!(r.status, 404);
    let st = fake.state.lock().unwrap();
    assert!(st.firewalls[0].rules.is_empty());
    assert_eq!(st.firewalls[1].rules.len(), 1);
}

#[actix_web::test]
async fn firewall_rule_validation() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    // No source at all: the §7 error document, 400, with the spec's message.
    for fmt in [XML, JSON] {
        let r = call(
            &app,
            form(
                Method::POST,
                "/api/firewalls/web/rules",
                fmt,
                "protocol=tcp&port_from=22&port_to=22",
            ),
        )
        .await;
        assert_eq!(r.status, 400, "{fmt}: {}", r.body);
        let msg = "No sources. Specify at least one source ip address or group.";
        if fmt == XML {
            assert_eq!(r.xml_text("message").as_deref(), Some(msg));
            assert_eq!(r.xml().root_element().attribute("status"), Some("400"));
        } else {
            assert_eq!(r.json()["message"], msg);
            assert_eq!(
                r.json()["error"],
                "Deltacloud::Exceptions::ValidationFailure"
            );
        }
    }
    // Missing protocol/ports: the plain-text §6.3 400 (we enforce what the original meant to).
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls/web/rules",
            XML,
            "port_from=22&port_to=22&ip_address1=1.2.3.4/32",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Required parameter 'protocol' not found in [port_from,port_to,ip_address1,id]"
    );
    // A protocol outside tcp/udp/icmp.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/firewalls/web/rules",
            JSON,
            "protocol=sctp&port_from=22&port_to=22&ip_address1=1.2.3.4/32",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Parameter 'protocol' value 'sctp' not found in list of allowed values [tcp,udp,icmp]"
    );
    let st = fake.state.lock().unwrap();
    assert!(st.mutations.is_empty(), "{:?}", st.mutations);
}

#[actix_web::test]
async fn firewall_html_pages() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/firewalls", "text/html")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("text/html"));
    assert!(
        r.body
            .contains(&format!(r#"href="{BASE}/firewalls/default""#)),
        "{}",
        r.body
    );
    assert!(r.body.contains("web servers"), "{}", r.body);
    let r = call(
        &app,
        authed(Method::GET, "/api/firewalls/default", "text/html"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Firewall default"), "{}", r.body);
    assert!(r.body.contains("10.1.2.3/24"), "{}", r.body);
    let r = call(
        &app,
        authed(Method::GET, "/api/firewalls/nope", "text/html"),
    )
    .await;
    assert_eq!(r.status, 404);
}

// ---------------------------------------------------------------------------------------------
// Load balancers

/// `lb1` as seeded: one listener, in realm `us`, with `inst0` registered.
fn assert_lb1_xml(lb: Node<'_, '_>, instances: &[&str]) {
    let url = format!("{BASE}/load_balancers/lb1");
    assert!(lb.has_tag_name("load_balancer"));
    assert_eq!(attrs(lb), a(&[("href", &url), ("id", "lb1")]));
    assert_eq!(
        tags(lb),
        [
            "actions",
            "public_addresses",
            "created_at",
            "realm",
            "listeners",
            "instances"
        ]
    );
    let links = elems(child(lb, "actions"));
    assert_eq!(links.len(), 2);
    assert_eq!(
        attrs(links[0]),
        a(&[("href", &url), ("method", "delete"), ("rel", "destroy")])
    );
    assert_eq!(
        attrs(links[1]),
        a(&[
            ("href", &format!("{url}/register")),
            ("method", "post"),
            ("rel", "register")
        ])
    );
    let addrs = elems(child(lb, "public_addresses"));
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0].has_tag_name("address"));
    assert_eq!(
        addrs[0].text(),
        Some("lb1-1234567890.us-east-1.elb.amazonaws.com")
    );
    assert_eq!(text_of(lb, "created_at"), "Thu Jul 28 13:29:52 UTC 2011");
    let realm = child(lb, "realm");
    assert_eq!(
        attrs(realm),
        a(&[("href", &format!("{BASE}/realms/us")), ("id", "us")])
    );
    let listeners = elems(child(lb, "listeners"));
    assert_eq!(listeners.len(), 1);
    assert!(listeners[0].has_tag_name("listener"));
    assert_eq!(attrs(listeners[0]), a(&[("protocol", "HTTP")]));
    assert_eq!(tags(listeners[0]), ["load_balancer_port", "instance_port"]);
    assert_eq!(text_of(listeners[0], "load_balancer_port"), "80");
    assert_eq!(text_of(listeners[0], "instance_port"), "3001");
    let insts = elems(child(lb, "instances"));
    let ids: Vec<&str> = insts.iter().filter_map(|i| i.attribute("id")).collect();
    assert_eq!(ids, instances);
    for (i, id) in insts.iter().zip(instances) {
        assert!(i.has_tag_name("instance"));
        assert_eq!(
            attrs(*i),
            a(&[("href", &format!("{BASE}/instances/{id}")), ("id", id)])
        );
        let l = elems(*i);
        assert_eq!(l.len(), 1);
        assert!(l[0].has_tag_name("link"));
        assert_eq!(
            attrs(l[0]),
            a(&[
                ("href", &format!("{url}/unregister?instance_id={id}")),
                ("rel", "unregister")
            ])
        );
    }
}

/// `lb1` in JSON, with `instances` the members' own instance documents (§8.12).
fn lb1_json(instances: &[Value]) -> Value {
    json!({
        "id": "lb1",
        "href": format!("{BASE}/load_balancers/lb1"),
        "realms": [{"id": "us", "href": format!("{BASE}/realms/us"), "rel": "realm"}],
        "listeners": [{"protocol": "HTTP", "load_balancer_port": "80", "instance_port": "3001"}],
        "instances": instances,
        "public_addresses": ["lb1-1234567890.us-east-1.elb.amazonaws.com"],
        "created_at": "Thu Jul 28 13:29:52 UTC 2011"
    })
}

/// The instance documents `GET /api/instances/:id` gives in JSON.
async fn instance_docs<S, B>(app: &S, ids: &[&str]) -> Vec<Value>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut out = Vec::new();
    for id in ids {
        let r = call(
            app,
            authed(Method::GET, &format!("/api/instances/{id}"), JSON),
        )
        .await;
        assert_eq!(r.status, 200, "{id}: {}", r.body);
        let doc = r.json()["instance"].clone();
        assert_eq!(doc["id"], *id);
        out.push(doc);
    }
    out
}

#[actix_web::test]
async fn load_balancer_show_and_list_xml() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/load_balancers/lb1", XML)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("application/xml"));
    assert!(
        r.body
            .starts_with("<?xml version='1.0' encoding='utf-8' ?>")
    );
    assert!(r.header("x-backend-runtime").is_some());
    assert_lb1_xml(r.xml().root_element(), &["inst0"]);

    let r = call(&app, authed(Method::GET, "/api/load_balancers", XML)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("load_balancers"));
    assert_eq!(tags(root), ["load_balancer"]);
    assert_lb1_xml(elems(root)[0], &["inst0"]);

    let r = call(&app, authed(Method::GET, "/api/load_balancers/nope", XML)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.xml().root_element().attribute("status"), Some("404"));
}

#[actix_web::test]
async fn load_balancer_show_and_list_json() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/load_balancers/lb1", JSON)).await;
    // The original answered 500 here; §8.12 says we SHOULD return the balancer.
    assert_eq!(r.status, 200, "{}", r.body);
    let inst0 = instance_docs(&app, &["inst0"]).await;
    assert_eq!(r.json(), json!({"load_balancer": lb1_json(&inst0)}));
    let r = call(&app, authed(Method::GET, "/api/load_balancers", JSON)).await;
    assert_eq!(r.json(), json!({"load_balancers": [lb1_json(&inst0)]}));
    let r = call(&app, authed(Method::GET, "/api/load_balancers/nope", JSON)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::ObjectNotFound");
}

#[actix_web::test]
async fn load_balancer_create_and_destroy() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    let body = "name=web-lb&realm_id=eu&listener_protocol=TCP&listener_balancer_port=443&listener_instance_port=8443";
    let r = call(&app, form(Method::POST, "/api/load_balancers", XML, body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = format!("{BASE}/load_balancers/web-lb");
    assert_eq!(r.header("location"), Some(url.as_str()));
    let doc = r.xml();
    let lb = doc.root_element();
    assert!(lb.has_tag_name("load_balancer"));
    assert_eq!(attrs(lb), a(&[("href", &url), ("id", "web-lb")]));
    assert_eq!(
        attrs(child(lb, "realm")),
        a(&[("href", &format!("{BASE}/realms/eu")), ("id", "eu")])
    );
    let l = child(child(lb, "listeners"), "listener");
    assert_eq!(l.attribute("protocol"), Some("TCP"));
    assert_eq!(text_of(l, "load_balancer_port"), "443");
    assert_eq!(text_of(l, "instance_port"), "8443");
    assert!(elems(child(lb, "instances")).is_empty());

    let body = "name=api-lb&realm_id=us&listener_protocol=HTTP&listener_balancer_port=80&listener_instance_port=8080";
    let r = call(&app, form(Method::POST, "/api/load_balancers", JSON, body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("{BASE}/load_balancers/api-lb").as_str())
    );
    let j = r.json();
    assert_eq!(keys(&j), ["load_balancer"]);
    let lb = &j["load_balancer"];
    assert_eq!(
        keys(lb),
        sorted(&[
            "id",
            "href",
            "realms",
            "listeners",
            "instances",
            "public_addresses",
            "created_at"
        ])
    );
    assert_eq!(
        lb["listeners"],
        json!([{"protocol": "HTTP", "load_balancer_port": "80", "instance_port": "8080"}])
    );
    assert_eq!(lb["instances"], json!([]));
    assert_eq!(
        lb["public_addresses"],
        json!(["api-lb-987654321.us-east-1.elb.amazonaws.com"])
    );

    // The driver's validation and conflict errors keep their messages.
    let bad_realm = "name=x&realm_id=mars&listener_protocol=HTTP&listener_balancer_port=80&listener_instance_port=80";
    let r = call(
        &app,
        form(Method::POST, "/api/load_balancers", JSON, bad_realm),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Invalid availability zone: [mars]");
    let r = call(&app, form(Method::POST, "/api/load_balancers", JSON, body)).await;
    assert_eq!(r.status, 409);

    for (fmt, id) in [(XML, "web-lb"), (JSON, "api-lb")] {
        let r = call(
            &app,
            authed(Method::DELETE, &format!("/api/load_balancers/{id}"), fmt),
        )
        .await;
        assert_eq!((r.status, r.body.as_str()), (204, ""), "{fmt}");
    }
    let r = call(
        &app,
        authed(Method::DELETE, "/api/load_balancers/web-lb", XML),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(&app, authed(Method::GET, "/api/load_balancers", JSON)).await;
    assert_eq!(r.json()["load_balancers"].as_array().unwrap().len(), 1);
    let st = fake.state.lock().unwrap();
    assert_eq!(
        st.mutations,
        [
            "create_load_balancer web-lb",
            "create_load_balancer api-lb",
            "destroy_load_balancer web-lb",
            "destroy_load_balancer api-lb"
        ]
    );
}

#[actix_web::test]
async fn load_balancer_create_parameters() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers",
            XML,
            "name=x&realm_id=us&listener_protocol=HTTP&listener_balancer_port=80",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Required parameter 'listener_instance_port' not found in \
         [name,realm_id,listener_protocol,listener_balancer_port]"
    );
    // The intended enumeration (§6.3 MAY).
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers",
            JSON,
            "name=x&realm_id=us&listener_protocol=UDP&listener_balancer_port=80&listener_instance_port=80",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Parameter 'listener_protocol' value 'UDP' not found in list of allowed values [HTTP,TCP]"
    );
    assert!(fake.state.lock().unwrap().mutations.is_empty());
}

#[actix_web::test]
async fn load_balancer_register_and_unregister() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    // Register: 200 with the balancer (the code's behaviour, not the docs' 204).
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers/lb1/register",
            XML,
            "instance_id=inst1",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("location"), None);
    assert_lb1_xml(r.xml().root_element(), &["inst0", "inst1"]);

    // Unregister through the per-instance link the document carries (its query names the
    // instance), in JSON.
    let doc = r.xml();
    let link = child(elems(child(doc.root_element(), "instances"))[0], "link")
        .attribute("href")
        .unwrap()
        .to_owned();
    let r = call(&app, authed(Method::POST, path_of(&link), JSON)).await;
    assert_eq!(r.status, 200, "{link}: {}", r.body);
    let inst1 = instance_docs(&app, &["inst1"]).await;
    assert_eq!(r.json(), json!({"load_balancer": lb1_json(&inst1)}));

    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers/lb1/unregister",
            XML,
            "instance_id=inst1",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_lb1_xml(r.xml().root_element(), &[]);

    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers/lb1/register",
            JSON,
            "instance_id=inst0",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let inst0 = instance_docs(&app, &["inst0"]).await;
    assert_eq!(r.json(), json!({"load_balancer": lb1_json(&inst0)}));

    let st = fake.state.lock().unwrap();
    assert_eq!(
        st.mutations,
        [
            "lb_register_instance lb1 inst1",
            "lb_unregister_instance lb1 inst0",
            "lb_unregister_instance lb1 inst1",
            "lb_register_instance lb1 inst0"
        ]
    );
}

#[actix_web::test]
async fn load_balancer_json_writes_a_vanished_member_as_a_reference() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers/lb1/register",
            JSON,
            "instance_id=inst1",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&app, authed(Method::DELETE, "/api/instances/inst1", JSON)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let inst0 = instance_docs(&app, &["inst0"]).await;
    let gone = json!({"id": "inst1", "href": format!("{BASE}/instances/inst1"), "rel": "instance"});
    let r = call(&app, authed(Method::GET, "/api/load_balancers/lb1", JSON)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"load_balancer": lb1_json(&[inst0[0].clone(), gone])})
    );
    // The XML lists both by reference, as always.
    let r = call(&app, authed(Method::GET, "/api/load_balancers/lb1", XML)).await;
    assert_lb1_xml(r.xml().root_element(), &["inst0", "inst1"]);
}

#[actix_web::test]
async fn load_balancer_member_errors() {
    let (gw, fake) = cloud_gateway();
    let app = app(gw).await;
    for action in ["register", "unregister"] {
        // instance_id is required: plain-text 400 naming what was received.
        let r = call(
            &app,
            form(
                Method::POST,
                &format!("/api/load_balancers/lb1/{action}"),
                XML,
                "",
            ),
        )
        .await;
        assert_eq!(r.status, 400, "{action}");
        assert_eq!(r.body, "Required parameter 'instance_id' not found in [id]");
        // Unknown balancer.
        let r = call(
            &app,
            form(
                Method::POST,
                &format!("/api/load_balancers/nope/{action}"),
                JSON,
                "instance_id=inst0",
            ),
        )
        .await;
        assert_eq!(r.status, 404, "{action}: {}", r.body);
        assert_eq!(r.json()["message"], "There is no load balancer 'nope'");
    }
    // Unknown instance.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/load_balancers/lb1/register",
            XML,
            "instance_id=i-missing",
        ),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        r.xml_text("message").as_deref(),
        Some("There is no instance 'i-missing'")
    );
    let st = fake.state.lock().unwrap();
    assert_eq!(st.load_balancers[0].instances, ["inst0"]);
}

#[actix_web::test]
async fn load_balancer_html_pages() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    let r = call(
        &app,
        authed(Method::GET, "/api/load_balancers", "text/html"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("text/html"));
    assert!(
        r.body
            .contains(&format!(r#"href="{BASE}/load_balancers/lb1""#)),
        "{}",
        r.body
    );
    let r = call(
        &app,
        authed(Method::GET, "/api/load_balancers/lb1", "text/html"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Load balancer lb1"), "{}", r.body);
    assert!(
        r.body
            .contains("lb1-1234567890.us-east-1.elb.amazonaws.com"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!(r#"href="{BASE}/instances/inst0""#)),
        "{}",
        r.body
    );
}

// ---------------------------------------------------------------------------------------------
// Routing model on these collections

#[actix_web::test]
async fn options_and_credentials() {
    let (gw, _) = cloud_gateway();
    let app = app(gw).await;
    for coll in ["firewalls", "load_balancers"] {
        let r = call(&app, req(Method::OPTIONS, &format!("/api/{coll}"))).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("allow"), Some("OPTIONS,GET,POST,DELETE"), "{coll}");
        // Listing needs credentials: the lazy challenge.
        let r = call(
            &app,
            get(&format!("/api/{coll}")).insert_header(("Accept", XML)),
        )
        .await;
        assert_eq!(r.status, 401, "{coll}");
        assert!(r.header("www-authenticate").is_some());
    }
    let r = call(
        &app,
        req(Method::OPTIONS, "/api/load_balancers/lb1/register"),
    )
    .await;
    assert_eq!(r.status, 200);
    let allow = r.header("allow").unwrap_or_default();
    assert!(allow.contains("instance_id:string:required"), "{allow}");
    // The bare driver has neither collection: 412 naming the capability.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api;driver=bare/firewalls/default/rules",
            XML,
            "protocol=tcp",
        ),
    )
    .await;
    assert_eq!(r.status, 412);
    assert_eq!(r.header("expect"), Some("create_firewall_rule"));
    let r = call(
        &app,
        form(
            Method::POST,
            "/api;driver=bare/load_balancers/lb1/register",
            XML,
            "",
        ),
    )
    .await;
    assert_eq!(r.status, 412);
    assert_eq!(r.header("expect"), Some("lb_register_instance"));
}
