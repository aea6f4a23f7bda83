//! The mock's state survives restarts and kill -9, concurrent creates never collide, and the
//! optional transition delay shows transitional states consistently.

use crate::common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn state_survives_a_graceful_restart() {
    let mut s = Server::start();
    assert!(
        s.data_dir.join("mock.db").is_file(),
        "the state lives in --data-dir"
    );
    let tmp = s.take_tmp().expect("tmp");
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img2"), ("name", "keeper")],
        "application/xml",
    );
    assert_eq!(r.status, 201);
    let id = xml(&r.body)
        .root_element()
        .attribute("id")
        .expect("id")
        .to_owned();
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
    assert_eq!(
        post(&s, "/api/keys", &[("name", "kept-key")], "application/xml").status,
        201
    );
    assert_eq!(delete(&s, "/api/keys/test-key").status, 204);
    assert_eq!(
        s.terminate(),
        Some(0),
        "graceful exit on SIGTERM; output:\n{}",
        s.output()
    );

    let s2 = Server::start_in(tmp.path(), &[], &[]);
    let r = get_xml(&s2, &format!("/api/instances/{id}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = xml(&r.body);
    assert_eq!(child_text(doc.root_element(), "name"), Some("keeper"));
    assert_eq!(child_text(doc.root_element(), "state"), Some("STOPPED"));
    let keys = ids(&get_xml(&s2, "/api/keys").body, "key");
    assert_eq!(
        keys,
        vec!["kept-key"],
        "the deletion of test-key persisted too"
    );
}

#[test]
fn acknowledged_creates_survive_kill_9_during_concurrent_load() {
    let mut s = Server::start();
    let tmp = s.take_tmp().expect("tmp");
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let url = s.url("/api/instances");
    let mut workers = Vec::new();
    for w in 0..8 {
        let (acked, stop, url) = (acked.clone(), stop.clone(), url.clone());
        workers.push(std::thread::spawn(move || {
            let c = client();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 500 {
                n += 1;
                let res = c
                    .post(&url)
                    .header("Accept", "application/xml")
                    .basic_auth(USER, Some(PASSWORD))
                    .form(&[("image_id", "img1"), ("name", format!("w{w}-{n}").as_str())])
                    .send();
                let Ok(res) = res else { break };
                if res.status().as_u16() != 201 {
                    continue;
                }
                let Ok(body) = res.text() else { break };
                if let Ok(doc) = roxmltree::Document::parse(&body)
                    && let Some(id) = doc.root_element().attribute("id")
                    && let Ok(mut a) = acked.lock()
                {
                    a.push(id.to_owned());
                }
            }
        }));
    }
    // Let the load run, then kill without warning while requests are in flight.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        if acked.lock().map(|a| a.len()).unwrap_or(0) >= 40
            && start.elapsed() > Duration::from_millis(500)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(
        acked.len() >= 5,
        "some creates were acknowledged before the kill ({})",
        acked.len()
    );
    let unique: std::collections::BTreeSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "ids never collide");

    let s2 = Server::start_in(tmp.path(), &[], &[]);
    let present: std::collections::BTreeSet<String> =
        ids(&get_xml(&s2, "/api/instances").body, "instance")
            .into_iter()
            .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !present.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged creates lost after kill -9: {lost:?}",
        lost.len()
    );
}

#[test]
fn transition_delay_shows_pending_and_stopping() {
    let s = Server::start_with(&["--mock-transition-delay-ms", "400"], &[]);
    let r = post(
        &s,
        "/api/instances",
        &[("image_id", "img1")],
        "application/xml",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = xml(&r.body);
    let id = doc.root_element().attribute("id").expect("id").to_owned();
    assert_eq!(child_text(doc.root_element(), "state"), Some("PENDING"));
    // Observed the same way through list and show while pending.
    let show = get_xml(&s, &format!("/api/instances/{id}"));
    assert_eq!(
        child_text(xml(&show.body).root_element(), "state"),
        Some("PENDING")
    );
    let list = get_json(&s, &format!("/api/instances?id={id}")).json();
    assert_eq!(list["instances"][0]["state"], "PENDING");
    // No action is allowed while pending.
    assert_eq!(
        post(
            &s,
            &format!("/api/instances/{id}/stop"),
            &[],
            "application/xml"
        )
        .status,
        405
    );
    std::thread::sleep(Duration::from_millis(600));
    let show = get_xml(&s, &format!("/api/instances/{id}"));
    assert_eq!(
        child_text(xml(&show.body).root_element(), "state"),
        Some("RUNNING")
    );

    let r = post(
        &s,
        &format!("/api/instances/{id}/stop"),
        &[],
        "application/xml",
    );
    assert_eq!(r.status, 202);
    assert_eq!(
        child_text(xml(&r.body).root_element(), "state"),
        Some("STOPPING")
    );
    std::thread::sleep(Duration::from_millis(600));
    let show = get_xml(&s, &format!("/api/instances/{id}"));
    assert_eq!(
        child_text(xml(&show.body).root_element(), "state"),
        Some("STOPPED")
    );
}
