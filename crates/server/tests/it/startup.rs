//! Start-up, the pages the server itself serves, logging and shutdown, against the real binary
//! on an ephemeral loopback port.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

struct Daemon {
    child: Child,
    base: String,
    port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

fn drain(r: impl Read + Send + 'static, buf: Arc<Mutex<String>>, tx: Option<mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx
                && let Some(rest) = line.strip_prefix("Listening on ")
            {
                let _ = tx.send(rest.to_owned());
            }
            buf.lock().unwrap().push_str(&(line + "\n"));
        }
    });
}

impl Daemon {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deltacloudd"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOSTNAME", "testhost")
            .args(["-i", "mock", "-p", "0", "-r", "127.0.0.1", "--data-dir"])
            .arg(data.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (stdout, stderr) = (
            Arc::new(Mutex::new(String::new())),
            Arc::new(Mutex::new(String::new())),
        );
        let (tx, rx) = mpsc::channel();
        drain(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
        drain(child.stderr.take().unwrap(), stderr.clone(), None);
        let Ok(url) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("no Listening line; stderr:\n{}", stderr.lock().unwrap());
        };
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Self {
            child,
            base: url,
            port,
            stdout,
            stderr,
            _data: data,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send `signal`, wait for the exit, return the exit code.
    fn stop(&mut self, signal: &str) -> Option<i32> {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..300 {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the drain threads catch the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[test]
fn ephemeral_port_banner_index_and_graceful_stop() {
    let mut d = Daemon::start(&[], &[]);
    assert_ne!(d.port, 0);
    assert!(d.base.starts_with("http://127.0.0.1:"), "{}", d.base);

    // The index is HTML whatever the Accept header says, and lists the enabled frontends.
    for accept in ["application/xml", "text/html", "*/*"] {
        let r = client()
            .get(d.url("/"))
            .header("Accept", accept)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = r.text().unwrap();
        assert!(body.contains("<a href=\"/api\">deltacloud</a>"), "{body}");
        assert!(
            body.contains("<a href=\"/cimi/cloudEntryPoint\">cimi</a>"),
            "{body}"
        );
        assert!(body.contains("<a href=\"/ec2\">ec2</a>"), "{body}");
    }
    assert_eq!(client().head(d.url("/")).send().unwrap().status(), 200);
    let r = client().get(d.url("/robots.txt")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("User-agent: *"));
    let r = client()
        .get(d.url("/api"))
        .header("Accept", "application/xml")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the deltacloud frontend is mounted");
    let r = client()
        .get(d.url("/cimi/cloudEntryPoint"))
        .header("Accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the cimi frontend is mounted");
    assert_eq!(
        client().get(d.url("/ec2")).send().unwrap().status(),
        401,
        "the ec2 frontend is mounted and wants credentials"
    );

    assert_eq!(d.stop("-TERM"), Some(0), "{}", d.stderr());
    let out = d.stdout();
    let banner = format!(
        "Starting Deltacloud API :: mock :: http://127.0.0.1:{}/api",
        d.port
    );
    assert!(
        out.lines().any(|l| l == banner),
        "banner with the bound port:\n{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("Listening on "))
            .count(),
        1,
        "{out}"
    );
    let err = d.stderr();
    assert!(
        !err.contains("cimi frontend is not implemented in this build"),
        "{err}"
    );
    assert!(!err.contains("not implemented in this build"), "{err}");
}

#[test]
fn sigint_stops_cleanly_and_closes_the_database() {
    let mut d = Daemon::start(&["-f", "deltacloud"], &[]);
    let r = client()
        .post(d.url("/api/keys"))
        .basic_auth("mockuser", Some("mockpassword"))
        .header("Accept", "application/xml")
        .form(&[("name", "written-before-stop")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(d.stop("-INT"), Some(0), "{}", d.stderr());
    let db = d._data.path().join("mock.db");
    assert!(
        db.is_file(),
        "the mock keeps its database in the data directory"
    );
    let wal = d._data.path().join("mock.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed on close"
    );
    assert!(
        !d.stderr().contains("not implemented in this build"),
        "only deltacloud was enabled"
    );
}

#[test]
fn bind_failure_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_deltacloudd"))
        .env_clear()
        .args(["-i", "mock", "-r", "127.0.0.1", "-p", &port, "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("ERROR: cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Listening on"));
}

#[test]
fn json_logs_carry_request_ids_and_no_credentials() {
    let mut d = Daemon::start(&["--log-format", "json"], &[]);
    let c = client();
    let r = c
        .get(d.url("/api/images?format=json"))
        .basic_auth("mockuser", Some("mockpassword"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let ec2_body = c
        .get(d.url("/ec2?Action=DescribeRegions&AWSAccessKeyId=AKIDSECRET&Signature=SIGSECRET"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let ec2_request_id = ec2_body
        .split_once("<RequestID>")
        .and_then(|(_, rest)| rest.split_once("</RequestID>"))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("no RequestID in {ec2_body}"));
    assert_eq!(d.stop("-TERM"), Some(0));
    let err = d.stderr();
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["message"] == "request")
        .collect();
    assert!(requests.len() >= 2, "{err}");
    let images = requests
        .iter()
        .find(|e| e["path"] == "/api/images")
        .expect("request event for /api/images");
    assert_eq!(images["status"], 200);
    assert_eq!(images["method"], "GET");
    assert_eq!(images["query"], "format=json");
    assert_eq!(images["frontend"], "deltacloud");
    assert_eq!(images["driver"], "mock");
    assert!(images["elapsed_ms"].as_f64().is_some(), "{images}");
    assert_eq!(
        images["span"]["request_id"].as_str().map(str::len),
        Some(36),
        "a UUID request id"
    );
    let ec2 = requests
        .iter()
        .find(|e| e["path"] == "/ec2")
        .expect("request event for /ec2");
    assert!(ec2.get("query").is_none(), "{ec2}");
    assert_eq!(ec2["frontend"], "ec2");
    assert_eq!(
        ec2["span"]["request_id"], ec2_request_id,
        "the EC2 response's RequestID is the logged request id"
    );
    for secret in [
        "SIGSECRET",
        "AKIDSECRET",
        "mockpassword",
        "bW9ja3VzZXI6bW9ja3Bhc3N3b3Jk",
    ] {
        assert!(
            !err.contains(secret),
            "{secret} leaked into the logs:\n{err}"
        );
    }
}

#[test]
fn fixed_credentials_turn_authentication_off() {
    let mut d = Daemon::start(
        &["-f", "deltacloud"],
        &[("API_USER", "mockuser"), ("API_PASSWORD", "mockpassword")],
    );
    let r = client()
        .get(d.url("/api/instances"))
        .header("Accept", "application/xml")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "no credentials needed");
    assert_eq!(d.stop("-TERM"), Some(0));
    assert!(!d.stderr().contains("mockpassword"));
    assert!(
        d.stderr().contains("authentication is off"),
        "{}",
        d.stderr()
    );
}
