//! In-process tests of `/api` (actix_web::test, no TCP) against a small fake driver: status codes,
//! headers, negotiation, auth, and the checks of `deltacloud-api.md` §6.

mod fake;
mod network_services;

use actix_web::http::Method;
use fake::*;

const XML: &str = "application/xml";
const JSON: &str = "application/json";

#[actix_web::test]
async fn missing_host_is_a_plain_400() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        actix_web::test::TestRequest::get()
            .uri("/api/realms")
            .insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, "Unable to find HTTP Host header");
    assert_eq!(r.header("server"), Some("Apache-Deltacloud/1.1.3"));
}

#[actix_web::test]
async fn entry_point_in_every_format_without_credentials() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(&app, get("/api").insert_header(("Accept", XML))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), Some("application/xml"));
    assert_eq!(r.header("server"), Some("Apache-Deltacloud/1.1.3"));
    assert_eq!(r.header("x-deltacloud-driver"), Some("fake"));
    assert_eq!(r.header("x-deltacloud-provider"), None);
    assert!(!r.body.starts_with("<?xml"), "no declaration on /api");
    let rels: Vec<String> = {
        let doc = r.xml();
        doc.root_element()
            .children()
            .filter_map(|c| c.attribute("rel").map(str::to_owned))
            .collect()
    };
    assert_eq!(
        rels,
        [
            "drivers",
            "hardware_profiles",
            "images",
            "instance_states",
            "instances",
            "keys",
            "realms",
            "storage_volumes"
        ]
    );
    assert_eq!(r.xml().root_element().attribute("driver"), Some("fake"));

    let j = call(&app, get("/api/?format=json")).await;
    assert_eq!(j.ctype(), Some("application/json"));
    assert_eq!(j.json()["api"]["provider"], "default");
    assert_eq!(
        j.json()["api"]["links"][4]["features"][0][0]["constraints"]["max_length"],
        50
    );

    let h = call(&app, get("/api").insert_header(("Accept", "*/*"))).await;
    assert_eq!(h.ctype(), Some("text/html"));
    assert!(
        h.body.contains("Deltacloud API 1.1.3") && h.body.contains("fake@default"),
        "{}",
        h.body
    );
    assert!(
        h.body.contains(
            r#"href="http://localhost:3001/api/hardware_profiles">Hardware Profiles</a>"#
        ),
        "{}",
        h.body
    );
}

#[actix_web::test]
async fn negotiation() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let with = |accept: Option<&str>, uri: &str| {
        let r = authed(Method::GET, uri, "x/x");
        match accept {
            Some(a) => r.insert_header(("Accept", a)),
            // TestRequest cannot remove a header; an empty Accept counts as missing.
            None => r.insert_header(("Accept", "")),
        }
    };
    assert_eq!(
        call(&app, with(None, "/api/realms")).await.ctype(),
        Some("application/xml")
    );
    assert_eq!(
        call(&app, with(Some("*/*"), "/api/realms")).await.ctype(),
        Some("text/html")
    );
    assert_eq!(
        call(&app, with(Some("text/xml"), "/api/realms"))
            .await
            .ctype(),
        Some("application/xml")
    );
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    assert_eq!(
        call(&app, with(Some(browser), "/api/realms")).await.ctype(),
        Some("text/html")
    );
    assert_eq!(
        call(
            &app,
            with(
                Some("application/xml;q=0.5, application/json"),
                "/api/realms"
            )
        )
        .await
        .ctype(),
        Some("application/json")
    );
    assert_eq!(
        call(&app, with(Some("text/html"), "/api/realms?format=json"))
            .await
            .ctype(),
        Some("application/json")
    );
    for (accept, uri) in [
        (None, "/api/realms?format=yaml"),
        (Some("image/png"), "/api/realms"),
        (Some("application/pdf"), "/api/realms"),
        (None, "/api/realms?format=png"),
    ] {
        let r = call(&app, with(accept, uri)).await;
        assert_eq!(r.status, 406, "{accept:?} {uri}");
        assert!(r.body.is_empty(), "406 has an empty body");
        assert_eq!(r.ctype(), None, "406 has no content type");
    }
}

#[actix_web::test]
async fn lazy_auth_challenge_and_refusal() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    // No credentials, on a route that needs them: challenge.
    let r = call(&app, get("/api/realms").insert_header(("Accept", XML))).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"fake-deltacloud@testhost\"")
    );
    assert_eq!(r.xml_text("message").as_deref(), Some("Unauthorized"));
    assert_eq!(r.ctype(), Some("application/xml"));
    // HEAD behaves like GET, challenge included.
    let r = call(
        &app,
        req(Method::HEAD, "/api/realms").insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    // A non-Basic Authorization counts as none.
    let r = call(
        &app,
        get("/api/realms").insert_header(("Authorization", "Bearer abc")),
    )
    .await;
    assert!(r.header("www-authenticate").is_some());

    // Wrong credentials: 401 without a challenge; generic message on index, driver's on show.
    let bad = |uri: &str| {
        get(uri)
            .insert_header(("Accept", JSON))
            .insert_header(("Authorization", basic(USER, "nope")))
    };
    let r = call(&app, bad("/api/realms")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), None);
    assert_eq!(r.json()["message"], "Unauthorized");
    assert_eq!(
        r.json()["error"],
        "Deltacloud::Exceptions::AuthenticationFailure"
    );
    let r = call(&app, bad("/api/realms/us")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["message"], "Authentication Failure");

    // Anonymous routes.
    for uri in [
        "/api",
        "/api/hardware_profiles",
        "/api/hardware_profiles/m1-large",
        "/api/instance_states",
        "/api/drivers",
    ] {
        let r = call(&app, get(uri).insert_header(("Accept", XML))).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
    }
}

#[actix_web::test]
async fn force_auth() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        get("/api?force_auth=1").insert_header(("Authorization", basic(USER, "wrong"))),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, "Authentication failed");
    assert_eq!(r.header("www-authenticate"), None);
    let r = call(
        &app,
        get("/api?force_auth=1").insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate").is_some(),
        "no credentials: the lazy challenge"
    );
    let r = call(&app, authed(Method::GET, "/api?force_auth=yes", XML)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.xml().root_element().tag_name().name(), "api");
}

#[actix_web::test]
async fn fixed_credentials_never_challenge() {
    let (gw, _) = gateway(Some(deltacloud_core::Credentials::new(USER, PASSWORD)));
    let app = app(gw).await;
    let r = call(&app, get("/api/realms").insert_header(("Accept", XML))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids("realm"), ["us", "eu"]);
}

#[actix_web::test]
async fn missing_capability_is_412_before_auth() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    for (method, uri, expect) in [
        (Method::GET, "/api/firewalls", "firewalls"),
        (Method::POST, "/api/load_balancers", "create_load_balancer"),
        (Method::GET, "/api/load_balancers/lb1", "load_balancer"),
        (Method::PUT, "/api;driver=bare/buckets/b/x", "create_blob"),
        (
            Method::HEAD,
            "/api;driver=bare/buckets/b/x",
            "blob_metadata",
        ),
        (Method::GET, "/api;driver=bare/images", "images"),
        (Method::GET, "/api;driver=bare/images/img1", "image"),
        (Method::POST, "/api;driver=bare/keys", "create_key"),
        (
            Method::DELETE,
            "/api;driver=bare/instances/inst0",
            "destroy_instance",
        ),
        (
            Method::GET,
            "/api;driver=bare/instance_states",
            "instance_states",
        ),
        (
            Method::GET,
            "/api;driver=bare/hardware_profiles",
            "hardware_profiles",
        ),
    ] {
        let r = call(
            &app,
            req(method.clone(), uri).insert_header(("Accept", XML)),
        )
        .await;
        assert_eq!(r.status, 412, "{method} {uri}: {}", r.body);
        assert_eq!(r.header("expect"), Some(expect), "{uri}");
        assert_eq!(
            r.body,
            "The required capability to execute this operation is missing"
        );
    }
    // The bare driver's entry point lists only what it has.
    let r = call(
        &app,
        get("/api;driver=bare").insert_header(("Accept", JSON)),
    )
    .await;
    let rels: Vec<String> = r.json()["api"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rels, ["drivers", "realms"]);
}

#[actix_web::test]
async fn missing_parameters_are_a_plain_400() {
    let (gw, fake) = gateway(None);
    let app = app(gw).await;
    let r = call(&app, form(Method::POST, "/api/keys", XML, "")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, "Required parameter 'name' not found in []");
    assert_eq!(r.ctype(), Some("text/plain"));
    let r = call(
        &app,
        form(Method::POST, "/api/instances", XML, "name=x&realm_id=us"),
    )
    .await;
    assert_eq!(
        r.body,
        "Required parameter 'image_id' not found in [name,realm_id]"
    );
    let r = call(
        &app,
        form(Method::POST, "/api/instances/inst0/run?x=1", XML, ""),
    )
    .await;
    assert_eq!(
        r.body, "Required parameter 'cmd' not found in [x,id]",
        "path ids count as received"
    );
    // Validation happens before authentication and before the driver is called.
    let r = call(&app, req(Method::POST, "/api/keys")).await;
    assert_eq!(r.status, 400);
    assert!(fake.state.lock().unwrap().mutations.is_empty());
}

#[actix_web::test]
async fn instance_actions_403_405_202_204() {
    let (gw, fake) = gateway(None);
    let app = app(gw).await;
    // Missing instance: 403, generic message.
    let r = call(
        &app,
        form(Method::POST, "/api/instances/nope/stop", JSON, ""),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::ForbiddenError");
    assert_eq!(r.json()["message"], "Forbidden");
    assert_eq!(
        call(&app, authed(Method::DELETE, "/api/instances/nope", XML))
            .await
            .status,
        403
    );
    // Not allowed in the current state: 405, and the driver is not called.
    let r = call(&app, authed(Method::DELETE, "/api/instances/inst0", XML)).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.xml_text("message").as_deref(), Some("Method Not Allowed"));
    assert_eq!(
        call(
            &app,
            form(Method::POST, "/api/instances/inst0/start", XML, "")
        )
        .await
        .status,
        405
    );
    assert!(
        fake.state.lock().unwrap().mutations.is_empty(),
        "state checks come before the driver"
    );

    let r = call(
        &app,
        form(Method::POST, "/api/instances/inst0/stop", XML, ""),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.xml_text("state").as_deref(), Some("STOPPED"));
    assert!(
        r.header("x-backend-runtime")
            .is_some_and(|v| v.parse::<f64>().is_ok())
    );
    assert!(r.header("etag").is_none(), "ETag only on 200/201");
    let r = call(
        &app,
        form(Method::POST, "/api/instances/inst0/start", JSON, ""),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        r.json()["state"],
        "RUNNING",
        "action JSON is the bare instance"
    );
    assert_eq!(r.json()["id"], "inst0");
    assert_eq!(
        call(
            &app,
            form(Method::POST, "/api/instances/inst0/reboot", XML, "")
        )
        .await
        .status,
        202
    );

    // inst1 is stopped: destroy through the HTML explorer's method override.
    let r = call(
        &app,
        form(Method::POST, "/api/instances/inst1", XML, "_method=delete"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    assert_eq!(
        call(&app, authed(Method::GET, "/api/instances/inst1", XML))
            .await
            .status,
        404
    );
    assert_eq!(
        fake.state.lock().unwrap().mutations,
        ["stop inst0", "start inst0", "reboot inst0", "destroy inst1"]
    );
}

#[actix_web::test]
async fn unknown_paths_and_methods() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    for uri in [
        "/api/nonsense",
        "/api/realms/",
        "/api//realms",
        "/api/realms/us/x/y",
        "/api/instances/inst0/fly",
    ] {
        let r = call(&app, authed(Method::GET, uri, XML)).await;
        assert_eq!(r.status, 404, "{uri}");
        let doc = r.xml();
        assert_eq!(doc.root_element().tag_name().name(), "error", "{uri}");
    }
    let r = call(&app, authed(Method::GET, "/api/nonsense", JSON)).await;
    assert_eq!(r.json()["code"], 404);
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::ObjectNotFound");
    let r = call(&app, authed(Method::GET, "/api/nonsense", "text/html")).await;
    assert_eq!(r.ctype(), Some("text/html"));
    assert!(
        r.body.contains("<title>404 - Not Found</title>"),
        "{}",
        r.body
    );
    // A missing resource: the generic message, and the url without matrix parameters.
    let r = call(&app, authed(Method::GET, "/api/realms/mars;x=1?y=2", XML)).await;
    assert_eq!(r.status, 404);
    let doc = r.xml();
    let e = doc.root_element();
    assert_eq!(
        (e.attribute("status"), e.attribute("url")),
        (Some("404"), Some("/api/realms/mars"))
    );
    let backend = e.children().find(|c| c.has_tag_name("backend")).unwrap();
    assert_eq!(
        (backend.attribute("driver"), backend.attribute("provider")),
        (Some("fake"), Some("default"))
    );
    // A collection the driver declares but does not implement: the typed "not supported".
    assert_eq!(
        call(&app, authed(Method::GET, "/api/storage_volumes", XML))
            .await
            .status,
        501
    );
    // Known paths, wrong methods.
    for (m, uri) in [
        (Method::PUT, "/api/realms"),
        (Method::POST, "/api/realms/us"),
        (Method::GET, "/api/instances/inst0/stop"),
    ] {
        let r = call(&app, authed(m.clone(), uri, XML)).await;
        assert_eq!(r.status, 405, "{m} {uri}");
        assert_eq!(r.xml_text("code").as_deref(), Some("405"));
    }
}

#[actix_web::test]
async fn head_and_options() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let get_r = call(&app, authed(Method::GET, "/api/realms", XML)).await;
    let head = call(&app, authed(Method::HEAD, "/api/realms", XML)).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("etag"),
        get_r.header("etag"),
        "HEAD has GET's headers (actix drops the body on the wire)"
    );
    let r = call(&app, authed(Method::HEAD, "/api/instances/inst0/stop", XML)).await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(
        call(&app, authed(Method::HEAD, "/api/nonsense", XML))
            .await
            .status,
        404
    );

    let allow = |r: &Resp| r.header("allow").map(str::to_owned);
    let r = call(&app, req(Method::OPTIONS, "/api/instances")).await;
    assert_eq!(r.status, 200);
    assert_eq!(allow(&r).as_deref(), Some("OPTIONS,GET,POST,DELETE"));
    let r = call(&app, req(Method::OPTIONS, "/api/realms")).await;
    assert_eq!(allow(&r).as_deref(), Some("OPTIONS,GET"));
    let r = call(&app, req(Method::OPTIONS, "/api/instances/create")).await;
    assert_eq!(
        allow(&r).as_deref(),
        Some(
            "image_id:string:required,realm_id:string:optional,hwp_id:string:optional,name:string:optional,keyname:string:optional"
        )
    );
    let r = call(&app, req(Method::OPTIONS, "/api/instances/inst0/run")).await;
    assert!(allow(&r).is_some_and(|a| a.starts_with("id:string:required,cmd:string:required")));
    let r = call(&app, req(Method::OPTIONS, "/api")).await;
    assert_eq!(
        allow(&r).as_deref(),
        Some(
            "Deltacloud::Rabbit::DriversCollection,Deltacloud::Rabbit::HardwareProfilesCollection,\
Deltacloud::Rabbit::ImagesCollection,Deltacloud::Rabbit::InstanceStatesCollection,\
Deltacloud::Rabbit::InstancesCollection,Deltacloud::Rabbit::KeysCollection,Deltacloud::Rabbit::RealmsCollection,\
Deltacloud::Rabbit::StorageVolumesCollection"
        )
    );
    assert_eq!(
        call(&app, req(Method::OPTIONS, "/api/nonsense"))
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn common_headers_etag_runtime_and_provider_echo() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/realms", XML)).await;
    let etag = r.header("etag").unwrap().trim_matches('"').to_owned();
    assert_eq!(etag.len(), 32);
    assert!(etag.bytes().all(|b| b.is_ascii_hexdigit()));
    let again = call(&app, authed(Method::GET, "/api/realms", XML)).await;
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
    assert!(
        call(&app, get("/api/drivers"))
            .await
            .header("x-backend-runtime")
            .is_none(),
        "no driver call"
    );

    let r = call(
        &app,
        authed(Method::GET, "/api/realms", XML)
            .insert_header(("X-Deltacloud-Provider", "Some-Region")),
    )
    .await;
    assert_eq!(
        r.header("x-deltacloud-provider"),
        Some("Some-Region"),
        "case preserved"
    );
    let r = call(
        &app,
        authed(Method::GET, "/api;driver=FAKE;provider=P1/realms", XML),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("x-deltacloud-driver"),
        Some("fake"),
        "driver names are case-insensitive"
    );
    assert_eq!(r.header("x-deltacloud-provider"), Some("P1"));
    // Matrix selection wins over the header.
    let r = call(
        &app,
        authed(Method::GET, "/api;driver=bare/realms", XML)
            .insert_header(("X-Deltacloud-Driver", "fake")),
    )
    .await;
    assert_eq!(r.header("x-deltacloud-driver"), Some("bare"));
    // Nothing leaks into the next request.
    let r = call(&app, authed(Method::GET, "/api/realms", XML)).await;
    assert_eq!(
        (
            r.header("x-deltacloud-driver"),
            r.header("x-deltacloud-provider")
        ),
        (Some("fake"), None)
    );
}

#[actix_web::test]
async fn unknown_driver_is_a_400_naming_it() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        authed(Method::GET, "/api/realms", JSON)
            .insert_header(("X-Deltacloud-Driver", "nosuchdriver")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-deltacloud-driver"), Some("nosuchdriver"));
    let msg = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        msg.starts_with("Driver 'nosuchdriver' is not available"),
        "{msg}"
    );
    // A catalogue-only driver cannot serve either.
    let r = call(&app, authed(Method::GET, "/api;driver=ec2", XML)).await;
    assert_eq!(r.status, 400);
}

#[actix_web::test]
async fn driver_errors_keep_their_message_except_on_index() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(&app, authed(Method::GET, "/api/realms/500", XML)).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.xml_text("message").as_deref(),
        Some("DeltacloudErrorMessage")
    );
    let r = call(&app, authed(Method::GET, "/api/realms?id=500", JSON)).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["message"], "Internal Server Error");
    assert_eq!(r.json()["error"], "Deltacloud::Exceptions::BackendError");
}

#[actix_web::test]
async fn create_instance_variants() {
    let (gw, fake) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            XML,
            "image_id=img1&hwp_id=m1-large&hwp_memory=8192&hwp_cpu=2&name=web&keyname=k1&user_data=ZWNobyBoaQ%3D%3D&realm_id=eu",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.xml().root_element().attribute("id").unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:3001/api/instances/{id}").as_str())
    );
    assert!(r.header("etag").is_some(), "201 with a body gets an ETag");
    {
        let st = fake.state.lock().unwrap();
        let c = st.last_create.as_ref().unwrap();
        assert_eq!(
            c.user_data.as_deref(),
            Some(&b"echo hi"[..]),
            "user_data is decoded"
        );
        assert_eq!(c.hwp_id.as_ref().map(|h| h.as_str()), Some("m1-large"));
        assert_eq!(c.hwp_overrides.len(), 2);
        assert_eq!(c.realm_id.as_ref().map(|r| r.as_str()), Some("eu"));
        assert_eq!(
            (c.name.as_deref(), c.keyname.as_deref()),
            (Some("web"), Some("k1"))
        );
    }
    // Bad base64 is a 400 document, without the secret-bearing parameters.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            XML,
            "image_id=img1&user_data=%25%25%25&password=hunter2",
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.xml().root_element().tag_name().name(), "error");
    assert!(
        r.body.contains("image_id") && !r.body.contains("hunter2") && !r.body.contains("%%%"),
        "{}",
        r.body
    );
    // Unknown profile.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            JSON,
            "image_id=img1&hwp_id=m9-huge",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Hardware profile 'm9-huge' does not exists."
    );
    assert_eq!(
        r.json()["error"],
        "Deltacloud::Exceptions::ValidationFailure"
    );
    // The image's create_instance href: image_id as a matrix parameter.
    let r = call(
        &app,
        form(Method::POST, "/api/instances;image_id=img7", XML, ""),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = r.xml();
    let img = doc
        .root_element()
        .children()
        .find(|c| c.has_tag_name("image"))
        .unwrap();
    assert_eq!(img.attribute("id"), Some("img7"));
    // Several instances: a list, no Location.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            XML,
            "image_id=img1&instance_count=3",
        ),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("location"), None);
    assert_eq!(r.ids("instance").len(), 3);
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            JSON,
            "image_id=img1&instance_count=2",
        ),
    )
    .await;
    assert_eq!(r.json()["instances"].as_array().map(Vec::len), Some(2));
    // Multipart works too.
    let body = "--B\r\nContent-Disposition: form-data; name=\"image_id\"\r\n\r\nimg1\r\n--B--\r\n";
    let r = call(
        &app,
        authed(Method::POST, "/api/instances", JSON)
            .insert_header(("Content-Type", "multipart/form-data; boundary=B"))
            .set_payload(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["instance"]["image"]["id"], "img1");
}

#[actix_web::test]
async fn run_command() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances/inst0/run",
            XML,
            "cmd=uname+-a&password=pw",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.starts_with("<?xml"));
    assert_eq!(r.xml_text("command").as_deref(), Some("uname -a"));
    assert_eq!(
        r.xml_text("output").as_deref(),
        Some("ran 'uname -a' on port 22")
    );
    // The advertised href carries the id as a matrix parameter.
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances/inst0/run;id=inst0",
            JSON,
            "cmd=ls&port=2222",
        ),
    )
    .await;
    assert_eq!(r.json()["instance"]["output"], "ran 'ls' on port 2222");
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances/inst0/run",
            XML,
            "cmd=ls&port=http",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[actix_web::test]
async fn images_and_keys_create_and_destroy() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/images;instance_id=inst0",
            XML,
            "name=golden&description=d",
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api/images/golden")
    );
    assert_eq!(r.xml_text("description").as_deref(), Some("d"));
    let r = call(
        &app,
        form(Method::POST, "/api/images", XML, "instance_id=nope&name=x"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.xml_text("message").as_deref(),
        Some("Instance not found"),
        "driver message on create"
    );
    assert_eq!(
        call(&app, authed(Method::DELETE, "/api/images/golden", XML))
            .await
            .status,
        204
    );
    let r = call(
        &app,
        authed(Method::DELETE, "/api/images/img1", "text/html"),
    )
    .await;
    assert_eq!(r.status, 303, "browsers are sent back to the list");
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api/images")
    );

    let r = call(&app, form(Method::POST, "/api/keys", XML, "name=my-key")).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api/keys/my-key")
    );
    assert!(
        r.xml_text("pem")
            .is_some_and(|p| p.contains("BEGIN RSA PRIVATE KEY"))
    );
    let r = call(&app, form(Method::POST, "/api/keys", JSON, "name=my-key")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Key with same name already exists");
    let mut ids = call(&app, authed(Method::GET, "/api/keys", XML))
        .await
        .ids("key");
    ids.sort();
    assert_eq!(ids, ["my-key", "test-key"]);
    let r = call(&app, authed(Method::GET, "/api/keys?id=my-key", JSON)).await;
    assert_eq!(r.json()["keys"][0]["id"], "my-key");
    assert_eq!(
        call(&app, authed(Method::DELETE, "/api/keys/my-key", XML))
            .await
            .status,
        204
    );
    assert_eq!(
        call(&app, authed(Method::DELETE, "/api/keys/my-key", XML))
            .await
            .status,
        404
    );
    // Ids with awkward characters round-trip through their encoded hrefs.
    let r = call(&app, form(Method::POST, "/api/keys", XML, "name=my+key")).await;
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api/keys/my%20key")
    );
    assert_eq!(
        call(&app, authed(Method::GET, "/api/keys/my%20key", XML))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn hardware_profiles_list_order_and_filters() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        get("/api/hardware_profiles").insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(
        r.ids("hardware_profile"),
        ["m1-small", "m1-large", "opaque"],
        "by (cpu, memory), opaque last"
    );
    let r = call(
        &app,
        get("/api/hardware_profiles?id[]=opaque&id[]=m1-small").insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(r.ids("hardware_profile"), ["m1-small", "opaque"]);
    assert_eq!(
        call(
            &app,
            get("/api/hardware_profiles/nope").insert_header(("Accept", XML))
        )
        .await
        .status,
        404
    );
    let r = call(
        &app,
        get("/api/hardware_profiles/m1-large").insert_header(("Accept", "text/html")),
    )
    .await;
    assert!(r.body.contains("hwp_memory"), "{}", r.body);
}

#[actix_web::test]
async fn instances_list_filters_and_html() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        authed(Method::GET, "/api/instances?state=STOPPED", XML),
    )
    .await;
    assert_eq!(r.ids("instance"), ["inst1"]);
    let r = call(&app, authed(Method::GET, "/api/instances", "*/*")).await;
    assert_eq!(r.ctype(), Some("text/html"));
    assert!(
        r.body
            .contains(r#"<a href="http://localhost:3001/api/instances/inst0">inst0</a>"#),
        "{}",
        r.body
    );
    let r = call(
        &app,
        authed(Method::GET, "/api/instances/inst0", "text/html"),
    )
    .await;
    assert!(
        r.body
            .contains(r#"action="http://localhost:3001/api/instances/inst0/stop""#),
        "{}",
        r.body
    );
    let r = call(
        &app,
        authed(Method::GET, "/api/instances/inst1", "text/html"),
    )
    .await;
    assert!(
        r.body.contains(r#"name="_method" value="delete""#),
        "destroy posts with _method: {}",
        r.body
    );
}

#[actix_web::test]
async fn instance_states_and_drivers() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        get("/api/instance_states").insert_header(("Accept", XML)),
    )
    .await;
    assert!(!r.body.starts_with("<?xml"));
    assert_eq!(
        r.xml()
            .root_element()
            .children()
            .filter(|c| c.has_tag_name("state"))
            .count(),
        5
    );
    let r = call(&app, get("/api/instance_states?format=json")).await;
    assert_eq!(r.json()[1]["transitions"][0]["auto"], "true");
    assert_eq!(
        call(&app, get("/api/instance_states?format=png"))
            .await
            .status,
        406
    );

    let r = call(&app, get("/api/drivers").insert_header(("Accept", XML))).await;
    assert_eq!(r.ids("driver"), ["bare", "ec2", "fake"]);
    let r = call(&app, get("/api/drivers").insert_header(("Accept", JSON))).await;
    assert_eq!(
        r.json()["ec2"]["entrypoints"]["ec2"]["us-east-1"],
        "ec2.us-east-1.amazonaws.com"
    );
    let r = call(
        &app,
        get("/api/drivers/ec2").insert_header(("Accept", JSON)),
    )
    .await;
    assert_eq!(r.json()["driver"]["id"], "ec2");
    let r = call(
        &app,
        get("/api/drivers/nope").insert_header(("Accept", XML)),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, ""),
        "unknown driver: empty 404"
    );
}

#[actix_web::test]
async fn driver_switch_redirects() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let post = |body: &str| {
        req(Method::POST, "/api")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(body.to_owned())
    };
    let r = call(&app, post("driver=ec2")).await;
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("http://localhost:3001/api;driver=ec2"))
    );
    let r = call(&app, post("provider=us-west-1")).await;
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api;provider=us-west-1")
    );
    let r = call(
        &app,
        post("provider=us-west-1")
            .insert_header(("Referer", "http://localhost:3001/api;driver=ec2/realms")),
    )
    .await;
    assert_eq!(
        r.header("location"),
        Some("http://localhost:3001/api;driver=ec2;provider=us-west-1")
    );
    let r = call(&app, post("provider=default")).await;
    assert_eq!(r.header("location"), Some("http://localhost:3001/api/"));
}

#[actix_web::test]
async fn forwarded_host_and_proto_shape_hrefs() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(
        &app,
        authed(Method::GET, "/api/realms/us", XML)
            .insert_header(("X-Forwarded-Host", "cloud.example.com"))
            .insert_header(("X-Forwarded-Proto", "https")),
    )
    .await;
    assert_eq!(
        r.xml().root_element().attribute("href"),
        Some("https://cloud.example.com/api/realms/us")
    );
}

#[actix_web::test]
async fn oversized_and_malformed_bodies_get_error_documents() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let big = format!("name={}", "a".repeat(5 * 1024 * 1024));
    let r = call(&app, form(Method::POST, "/api/keys", JSON, &big)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], 413);
    let r = call(
        &app,
        authed(Method::POST, "/api/keys", XML)
            .insert_header(("Content-Type", "multipart/form-data; boundary=B"))
            .set_payload("junk"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.xml().root_element().tag_name().name(), "error");
}

#[actix_web::test]
async fn paths_outside_api_are_untouched() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    let r = call(&app, get("/apifoo;driver=x")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("server"), None, "not served by this frontend");
}

#[actix_web::test]
async fn repeated_documents_follow_data_host_and_format() {
    let (gw, fake) = gateway(None);
    let app = app(gw).await;
    let first = call(&app, authed(Method::GET, "/api/instances", XML)).await;
    let again = call(&app, authed(Method::GET, "/api/instances", XML)).await;
    assert_eq!(
        (first.body.as_str(), first.header("etag")),
        (again.body.as_str(), again.header("etag"))
    );
    // The driver's data changes: the document does too.
    fake.state.lock().unwrap().instances[0].name = Some("renamed".into());
    let changed = call(&app, authed(Method::GET, "/api/instances", XML)).await;
    assert!(changed.body.contains("renamed"), "{}", changed.body);
    assert_ne!(changed.header("etag"), first.header("etag"));
    // Another host: other hrefs.
    let other = call(
        &app,
        authed(Method::GET, "/api/instances", XML).insert_header(("Host", "elsewhere:9")),
    )
    .await;
    assert!(
        other
            .body
            .contains("http://elsewhere:9/api/instances/inst0"),
        "{}",
        other.body
    );
    // Another format, another driver selection.
    let json = call(&app, authed(Method::GET, "/api/instances", JSON)).await;
    assert_eq!(json.json()["instances"][0]["name"], "renamed");
    let show = call(&app, authed(Method::GET, "/api/instances/inst0", XML)).await;
    assert_eq!(show.xml_text("name").as_deref(), Some("renamed"));
    fake.state.lock().unwrap().instances[0].name = Some("again".into());
    let show = call(&app, authed(Method::GET, "/api/instances/inst0", XML)).await;
    assert_eq!(show.xml_text("name").as_deref(), Some("again"));
    assert!(show.header("x-backend-runtime").is_some());
}

#[actix_web::test]
async fn feature_constraints_are_enforced_on_create() {
    let (gw, _) = gateway(None);
    let app = app(gw).await;
    // The fake declares `user_name` with `max_length=50`.
    let long = "n".repeat(51);
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            XML,
            &format!("image_id=img1&name={long}"),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("longer than 50"), "{}", r.body);
    let ok = "n".repeat(50);
    let r = call(
        &app,
        form(
            Method::POST,
            "/api/instances",
            XML,
            &format!("image_id=img1&name={ok}"),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
