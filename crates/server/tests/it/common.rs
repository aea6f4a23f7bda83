//! Test harness: starts the real `deltacloudd` binary on an ephemeral loopback port with its own
//! data directory, and offers a small HTTP client plus XML helpers.
//!
//! The binary prints `Listening on http://<ip>:<port>` on stdout once bound; the harness waits
//! for that line. Both output pipes are drained by threads (so the child never blocks on a full
//! pipe) and kept for diagnostics.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const USER: &str = "mockuser";
pub const PASSWORD: &str = "mockpassword";

pub struct Server {
    child: Option<Child>,
    pub base: String,
    /// `host:port` the server listens on.
    pub authority: String,
    pub data_dir: PathBuf,
    output: Arc<Mutex<String>>,
    _tmp: Option<tempfile::TempDir>,
}

fn drain(r: impl Read + Send + 'static, out: Arc<Mutex<String>>, tx: Option<mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        let reader = BufReader::new(r);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx
                && let Some(rest) = line.strip_prefix("Listening on ")
            {
                let _ = tx.send(rest.trim().to_owned());
            }
            if let Ok(mut o) = out.lock() {
                o.push_str(&line);
                o.push('\n');
            }
        }
    });
}

impl Server {
    /// A server on a fresh data directory with default settings.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    /// A server on a fresh data directory (removed with the server) with extra flags and env.
    pub fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, args, envs);
        s._tmp = Some(tmp);
        s
    }

    /// A server on `data_dir` with extra flags and environment.
    pub fn start_in(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deltacloudd"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOSTNAME", "testhost")
            .env("RUST_LOG", "info")
            .args(["-i", "mock", "-p", "0", "-r", "127.0.0.1", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn deltacloudd");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        drain(
            child.stdout.take().expect("stdout"),
            output.clone(),
            Some(tx.clone()),
        );
        drain(
            child.stderr.take().expect("stderr"),
            output.clone(),
            Some(tx),
        );
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                let out = output.lock().map(|o| o.clone()).unwrap_or_default();
                panic!("deltacloudd did not report its address; output:\n{out}");
            }
        };
        let authority = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Self {
            child: Some(child),
            base: format!("http://{authority}"),
            authority,
            data_dir: data_dir.to_path_buf(),
            output,
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The server process's id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Keep the temp dir alive after this server is gone, to restart on the same data.
    pub fn take_tmp(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.body))
    }
    pub fn ctype(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

pub fn send(rb: reqwest::blocking::RequestBuilder) -> Resp {
    let r = rb.send().expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// Authenticated GET with an Accept header.
pub fn get(s: &Server, path: &str, accept: &str) -> Resp {
    send(
        client()
            .get(s.url(path))
            .header("Accept", accept)
            .basic_auth(USER, Some(PASSWORD)),
    )
}

pub fn get_xml(s: &Server, path: &str) -> Resp {
    get(s, path, "application/xml")
}

pub fn get_json(s: &Server, path: &str) -> Resp {
    get(s, path, "application/json")
}

/// Authenticated form POST.
pub fn post(s: &Server, path: &str, form: &[(&str, &str)], accept: &str) -> Resp {
    send(
        client()
            .post(s.url(path))
            .header("Accept", accept)
            .basic_auth(USER, Some(PASSWORD))
            .form(form),
    )
}

pub fn delete(s: &Server, path: &str) -> Resp {
    send(
        client()
            .delete(s.url(path))
            .header("Accept", "application/xml")
            .basic_auth(USER, Some(PASSWORD)),
    )
}

/// Parse an XML body; panics with the body on error.
pub fn xml(body: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("bad XML ({e}):\n{body}"))
}

/// Text of the first child element `name` of `n`.
pub fn child_text<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    n.children()
        .find(|c| c.has_tag_name(name))
        .map(|c| c.text().unwrap_or(""))
}

pub fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
    n.children().find(|c| c.has_tag_name(name))
}

pub fn children<'a>(
    n: roxmltree::Node<'a, 'a>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'a>> {
    n.children().filter(move |c| c.has_tag_name(name))
}

/// Element children's names in order (to check element order).
pub fn child_names(n: roxmltree::Node<'_, '_>) -> Vec<String> {
    n.children()
        .filter(roxmltree::Node::is_element)
        .map(|c| c.tag_name().name().to_owned())
        .collect()
}

/// Ids (`id` attribute) of the root's children named `name`.
pub fn ids(body: &str, name: &str) -> Vec<String> {
    let doc = xml(body);
    children(doc.root_element(), name)
        .filter_map(|n| n.attribute("id").map(str::to_owned))
        .collect()
}

/// Send raw bytes over TCP and return the raw response (for requests reqwest cannot make, such as
/// HTTP/1.0 without a Host header).
pub fn raw(s: &Server, request: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(&s.authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

/// Peak resident set size (`VmHWM`) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Deterministic content: byte `i` is `(i * 7 + i / 4096) mod 251`.
pub fn byte_at(i: u64) -> u8 {
    ((i.wrapping_mul(7) + i / 4096) % 251) as u8
}

/// A reader producing `len` bytes of [`byte_at`] without holding them.
pub struct Pattern {
    pub pos: u64,
    pub len: u64,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.len - self.pos) as usize);
        for (k, b) in buf.iter_mut().take(n).enumerate() {
            *b = byte_at(self.pos + k as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}
