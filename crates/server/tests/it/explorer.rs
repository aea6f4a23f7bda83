//! The HTML explorer and the generated API docs of `/api` (`deltacloud-api.md` §6.5, §11) over
//! HTTP against the real binary: docs without credentials, form pages whose fields follow the
//! route table and the driver's hardware profiles, and form submissions answered with
//! `303 See Other`.

use crate::common::*;

const HTML: &str = "text/html";

/// GET without credentials.
fn anon(s: &Server, path: &str) -> Resp {
    send(client().get(s.url(path)).header("Accept", HTML))
}

/// A browser's form submission: multipart, `Accept: text/html`.
fn submit(s: &Server, path: &str, fields: &[(&str, &str)]) -> Resp {
    let boundary = "----explorer-test-boundary";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    send(
        client()
            .post(s.url(path))
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .basic_auth(USER, Some(PASSWORD))
            .body(body),
    )
}

#[test]
fn docs_are_html_without_credentials_and_cover_the_route_table() {
    let s = Server::start();
    let r = anon(&s, "/api/docs");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), "text/html");
    for c in [
        "instances",
        "storage_volumes",
        "buckets",
        "network_interfaces",
    ] {
        assert!(
            r.body.contains(&format!("/api/docs/{c}\"")),
            "docs index links {c}"
        );
    }
    // Not negotiated: XML is asked for, HTML is what the docs are.
    let r = send(
        client()
            .get(s.url("/api/docs/instances"))
            .header("Accept", "application/xml"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.ctype(), "text/html");
    for op in [
        "index", "show", "create", "start", "stop", "reboot", "destroy", "run",
    ] {
        assert!(
            r.body.contains(&format!("/api/docs/instances/{op}\"")),
            "instances docs list {op}"
        );
    }
    assert!(r.body.contains("authentication_key"), "features table");
    assert!(r.body.contains("user_data"), "all features, offered or not");

    let r = anon(&s, "/api/docs/instances/create");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("image_id *"),
        "required parameters are starred"
    );
    assert!(r.body.contains("/api/instances"));
    // Feature parameters, with which feature adds them.
    assert!(r.body.contains("keyname") && r.body.contains("authentication_key"));
    assert!(r.body.contains("hwp_memory"));
    assert!(
        r.body
            .contains("user_data (not offered by the current driver)"),
        "the mock does not offer user_data: {}",
        r.body
    );

    let r = anon(&s, "/api/docs/load_balancers/create");
    assert!(r.body.contains("HTTP, TCP"), "declared value list");

    assert_eq!(anon(&s, "/api/docs/nonsense").status, 404);
    assert_eq!(anon(&s, "/api/docs/instances/fly").status, 404);
}

#[test]
fn launch_form_follows_profiles_realms_and_features() {
    let s = Server::start();
    // Forms need credentials (they list the caller's resources): a browser gets the challenge.
    let r = anon(&s, "/api/instances/new?image_id=img1");
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic realm=")),
        "{:?}",
        r.headers
    );

    let r = get(&s, "/api/instances/new?image_id=img1&hwp_id=m1-large", HTML);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ctype(), "text/html");
    let b = &r.body;
    assert!(b.contains(r#"<meta name="viewport""#));
    assert!(
        b.contains(r#"action="http://"#)
            && b.contains(r#"/api/instances" enctype="multipart/form-data""#)
    );
    assert!(b.contains(r#"<input type="hidden" name="image_id" value="img1">"#));
    assert!(b.contains(r#"<input type="hidden" name="hwp_id" value="m1-large">"#));
    // m1-large: cpu range 1..6, memory range 7680..15360 (default 10240), storage enum 850/1024.
    assert!(
        b.contains(r#"name="hwp_cpu" value="1" min="1" max="6" step="1""#),
        "{b}"
    );
    assert!(b.contains(r#"name="hwp_memory" value="10240" min="7680" max="15360""#));
    assert!(b.contains(r#"<select id="f-hwp_storage" name="hwp_storage">"#));
    assert!(b.contains(r#"<option value="850" selected>850</option>"#));
    // The profile chooser offers every profile of the image.
    for p in ["m1-small", "m1-large", "m1-xlarge", "opaque"] {
        assert!(
            b.contains(&format!(r#"<option value="{p}""#)),
            "profile {p}"
        );
    }
    // Realms and keys are selects; the mock's features add name, keyname, metrics.
    assert!(b.contains(r#"<option value="us">"#) && b.contains(r#"<option value="eu">"#));
    assert!(b.contains(r#"<option value="test-key">test-key</option>"#));
    assert!(b.contains(r#"name="name""#));
    assert!(b.contains(r#"type="checkbox" id="f-metrics" name="metrics""#));
    assert!(
        !b.contains(r#"name="user_data""#),
        "the mock has no user_data feature"
    );
    assert!(
        !b.contains("format=xml"),
        "a form has no XML representation"
    );
    assert!(
        !b.contains("<script") && !b.contains("<link "),
        "self-contained page"
    );

    // Forms are HTML only, and need the image.
    let r = get(&s, "/api/instances/new?image_id=img1", "application/xml");
    assert_eq!(r.status, 406);
    let r = get(&s, "/api/instances/new", HTML);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Required parameter 'image_id'"));
    assert_eq!(
        get(&s, "/api/instances/new?image_id=nope", HTML).status,
        404
    );
}

#[test]
fn launch_stop_and_destroy_redirect_back_to_pages() {
    let s = Server::start();
    let r = submit(
        &s,
        "/api/instances",
        &[
            ("image_id", "img1"),
            ("hwp_id", "m1-large"),
            ("hwp_memory", "8192"),
            ("realm_id", "eu"),
            ("keyname", ""),
            ("name", "from-form"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").expect("location").to_owned();
    assert!(loc.starts_with(&s.url("/api/instances/inst")), "{loc}");
    let id = loc.rsplit('/').next().unwrap().to_owned();

    let page = get(&s, &format!("/api/instances/{id}"), HTML);
    assert!(page.body.contains("from-form"));
    assert!(page.body.contains("memory=8192"));
    // The instance page links the run and create-image forms.
    assert!(page.body.contains(&format!("/api/instances/{id}/run\"")));
    assert!(
        page.body
            .contains(&format!("/api/images/new?instance_id={id}\""))
    );

    let r = submit(&s, &format!("/api/instances/{id}/stop"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(loc.as_str()));
    let x = get_xml(&s, &format!("/api/instances/{id}"));
    assert!(x.body.contains("<state>STOPPED</state>"), "{}", x.body);

    let r = submit(
        &s,
        &format!("/api/instances/{id}"),
        &[("_method", "delete")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(s.url("/api/instances").as_str()));

    // API clients keep the API's answers.
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1")],
        "application/xml",
    );
    assert_eq!(r.status, 201);
}

#[test]
fn resource_forms_and_their_submissions() {
    let s = Server::start();
    // Lists link their create forms; only what the driver can do (the mock has no firewalls).
    let list = get(&s, "/api/instances", HTML);
    assert!(
        !list.body.contains("/api/instances/new"),
        "launching starts from an image"
    );
    let img = get(&s, "/api/images/img1", HTML);
    assert!(img.body.contains("/api/instances/new?image_id=img1\""));
    let keys = get(&s, "/api/keys", HTML);
    assert!(keys.body.contains("/api/keys/new\""), "{}", keys.body);
    let r = get(&s, "/api/keys/new", HTML);
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"name="name""#) && r.body.contains(" required"));
    assert_eq!(get(&s, "/api/firewalls/new", HTML).status, 412);

    // Creating a key shows the key (its private half is shown only once) rather than
    // redirecting; deleting it redirects to the list.
    let r = submit(&s, "/api/keys", &[("name", "browser-key")]);
    assert_eq!(r.status, 201);
    assert!(r.body.contains("BEGIN"), "private key shown: {}", r.body);
    let r = submit(&s, "/api/keys/browser-key", &[("_method", "delete")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(s.url("/api/keys").as_str()));

    // Volumes: create form with a capacity number, attach form with an instance select.
    let r = get(&s, "/api/storage_volumes/new", HTML);
    assert!(
        r.body.contains(r#"name="capacity" value="1" min="1""#),
        "{}",
        r.body
    );
    let r = submit(
        &s,
        "/api/storage_volumes",
        &[("capacity", "2"), ("name", ""), ("snapshot_id", "")],
    );
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with(&s.url("/api/storage_volumes/")))
    );
    let vol = get(&s, "/api/storage_volumes/vol1", HTML);
    assert!(
        vol.body
            .contains("/api/storage_volumes/vol1/attach_instance\"")
    );
    assert!(
        vol.body
            .contains("/api/storage_snapshots/new?volume_id=vol1\"")
    );
    let r = get(&s, "/api/storage_volumes/vol1/attach_instance", HTML);
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains(r#"<select id="f-instance_id" name="instance_id" required>"#)
    );
    assert!(r.body.contains(r#"/api/storage_volumes/vol1/attach""#));
    let r = get(&s, "/api/storage_snapshots/new?volume_id=vol1", HTML);
    assert!(
        r.body
            .contains(r#"<input type="hidden" name="volume_id" value="vol1">"#)
    );

    // Buckets: create and the multipart blob upload form.
    let r = submit(&s, "/api/buckets", &[("name", "formbucket")]);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/buckets/formbucket").as_str())
    );
    let b = get(&s, "/api/buckets/formbucket", HTML);
    assert!(
        b.body
            .contains("/api/buckets/formbucket/new_blob_form_d15cfd90\"")
    );
    let r = get(&s, "/api/buckets/formbucket/new_blob_form_d15cfd90", HTML);
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"enctype="multipart/form-data""#));
    assert!(
        r.body
            .contains(r#"<input type="file" id="f-blob_data" name="blob_data" required>"#)
    );
    assert!(r.body.contains(r#"name="meta_params" value="3""#));
    assert!(r.body.contains(r#"name="meta_name1""#) && r.body.contains(r#"name="meta_value3""#));
    let r = submit(
        &s,
        "/api/buckets/formbucket",
        &[
            ("blob_id", "note"),
            ("blob_data", "hello"),
            ("meta_params", "1"),
            ("meta_name1", "k"),
            ("meta_value1", "v"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(s.url("/api/buckets/formbucket/note").as_str())
    );

    // The remaining forms render.
    for p in [
        "/api/instances/inst1/run",
        "/api/images/new?instance_id=inst1",
        "/api/addresses/192.168.0.1/associate",
        "/api/networks/new",
        "/api/subnets/new",
        "/api/network_interfaces/new",
    ] {
        let r = get(&s, p, HTML);
        assert_eq!(r.status, 200, "{p}: {}", r.body);
        assert!(r.body.contains("<form class=\"edit\""), "{p}");
    }
    // §11: the create-image form exists only for an instance.
    assert_eq!(get(&s, "/api/images/new", HTML).status, 404);
}
