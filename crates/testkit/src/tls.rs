//! A TLS-terminating loopback proxy, for testing a backend's HTTPS setup (private CA files).
//!
//! Real provider endpoints are HTTPS, often with a certificate from the operator's own CA, and a
//! backend's CA option is only proven by a handshake that fails without it and succeeds with it.
//! The other test servers speak plain HTTP, so instead of teaching each of them TLS, a
//! [`TlsProxy`] sits in front of any of them: it terminates TLS with a certificate for
//! `localhost` and `127.0.0.1` issued by a CA generated for this proxy alone (so no system or
//! other test's trust store can accidentally trust it), and pipes the decrypted bytes to the
//! upstream's plain TCP port.
//!
//! Like the other servers it is a plain thread per connection on blocking sockets (two per
//! proxied connection: one per direction), and dropping it closes the port and joins them all.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::http::{ConnCtx, Listener};

/// The names the proxy's certificate is valid for: what a test can put in an `https://` URL.
pub const TLS_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// How much ciphertext or plaintext one read moves at a time (one maximal TLS record).
const CHUNK: usize = 16 * 1024;

/// A loopback TLS server that forwards every connection, decrypted, to a plain TCP upstream.
///
/// ```no_run
/// use deltacloud_testkit::tls::TlsProxy;
/// use deltacloud_testkit::{Fault, FaultServer};
///
/// let upstream = FaultServer::start(Fault::Status(200, "ok".into()))?;
/// let proxy = TlsProxy::start(upstream.addr())?;
/// let ca_file = proxy.write_ca_file(std::env::temp_dir())?; // for a backend's CA option
/// // A client that trusts proxy.ca_pem() reaches the upstream at proxy.url("/"); one that
/// // does not fails the handshake, and proxy.handshakes() stays 0.
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TlsProxy {
    listener: Listener,
    upstream: SocketAddr,
    ca_pem: String,
    handshakes: Arc<AtomicUsize>,
}

impl TlsProxy {
    /// Generates a fresh CA and server certificate, and starts listening on
    /// `127.0.0.1:<ephemeral port>`. The upstream is connected per client connection, after its
    /// handshake succeeded, so it need not be up yet.
    ///
    /// # Errors
    /// When the certificates or the TLS configuration cannot be built, or no port can be bound.
    pub fn start(upstream: SocketAddr) -> io::Result<Self> {
        let (ca_pem, config) = server_config()?;
        let config = Arc::new(config);
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handshakes);
        let listener = Listener::spawn("testkit-tls", move |stream, ctx: &ConnCtx| {
            proxy(stream, upstream, &config, &counter, ctx);
        })?;
        Ok(Self {
            listener,
            upstream,
            ca_pem,
            handshakes,
        })
    }

    /// The CA certificate (PEM) that issued the proxy's certificate: what a client must trust.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Writes [`ca_pem`](Self::ca_pem) to `dir/testkit-ca-<port>.pem` (the port keeps the files of
    /// concurrent proxies apart) and returns that path, for options that take a CA file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_ca_file(&self, dir: impl AsRef<Path>) -> io::Result<PathBuf> {
        let path = dir.as_ref().join(format!("testkit-ca-{}.pem", self.port()));
        std::fs::write(&path, &self.ca_pem)?;
        Ok(path)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.addr().port()
    }

    /// The bound address (always `127.0.0.1`).
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// Where decrypted connections go.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `https://localhost:<port>{path}`: the name a certificate check normally sees.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port())
    }

    /// How many connections were accepted, whether or not their handshake succeeded.
    pub fn connections(&self) -> usize {
        self.listener.accepted()
    }

    /// How many TLS handshakes completed. A client that rejects the certificate aborts its
    /// handshake, so this tells "refused our CA" apart from "failed later".
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("testkit TLS proxy: {what}: {e}"))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A new CA, a `localhost`/`127.0.0.1` certificate it signed, and a server configuration with
/// that certificate. Returns the CA's PEM too.
fn server_config() -> io::Result<(String, ServerConfig)> {
    let certs = |e| tls_error("cannot generate certificates", e);
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(certs)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    // A subject name of its own per CA: a verifier that finds an issuer by name then checks its
    // signature, so two CAs with one name would fail with a confusing "bad signature" where a
    // test expects "unknown issuer". (Different from the leaf's name too, or the leaf would
    // look self-issued.)
    static CAS: AtomicUsize = AtomicUsize::new(0);
    ca_params.distinguished_name = name(&format!(
        "deltacloud-testkit throwaway CA {}-{}",
        std::process::id(),
        CAS.fetch_add(1, Ordering::Relaxed)
    ));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(certs)?)
        .map_err(certs)?;

    let mut leaf = CertificateParams::new(TLS_NAMES.map(String::from).to_vec()).map_err(certs)?;
    leaf.distinguished_name = name("localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(certs)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(certs)?;

    // The provider is chosen here rather than installed process-wide: a test binary may hold
    // other rustls users, and aws-lc-rs is the one reqwest's `rustls` feature already builds.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = |e| tls_error("cannot configure the TLS server", e);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(config)?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(config)?;
    // The upstreams speak HTTP/1.1 only; a client must not negotiate h2 with them.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca.pem(), config))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One proxied connection: the TLS state both directions share, and the client socket's write
/// half.
struct Pair {
    tls: Mutex<ServerConnection>,
    client_out: Mutex<TcpStream>,
}

impl Pair {
    /// Sends whatever TLS records `tls` has pending. The socket lock is taken before the state
    /// lock is released, so records reach the client in the order rustls produced them, while a
    /// write stuck on a slow client does not hold up decrypting the other direction.
    fn flush(&self, mut tls: MutexGuard<'_, ServerConnection>) -> io::Result<()> {
        let mut records = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut records)?;
        }
        let mut out = lock(&self.client_out);
        drop(tls);
        out.write_all(&records)?;
        out.flush()
    }
}

/// Serves one client connection: handshake, then connect upstream and pipe both ways until
/// either side ends. Returns once both directions are done.
fn proxy(
    mut client: TcpStream,
    upstream: SocketAddr,
    config: &Arc<ServerConfig>,
    handshakes: &AtomicUsize,
    _ctx: &ConnCtx,
) {
    let Ok(mut tls) = ServerConnection::new(Arc::clone(config)) else {
        return;
    };
    // Handshake before touching the upstream: a client that rejects the certificate must leave
    // no trace there. complete_io sends our alert when the client's messages are bad; on
    // drop, the listener shuts the socket down, which ends a handshake waiting here.
    while tls.is_handshaking() {
        if tls.complete_io(&mut client).is_err() {
            return;
        }
    }
    handshakes.fetch_add(1, Ordering::SeqCst);
    let Ok(mut up) = TcpStream::connect(upstream) else {
        tls.send_close_notify();
        let _ = tls.complete_io(&mut client);
        return;
    };
    let _ = up.set_nodelay(true);
    // The records that finished the handshake may have carried the first request with them
    // (a TLS 1.3 client sends it right behind its Finished): forward it before waiting for more.
    let mut early = Vec::new();
    let client_done = decrypt(&mut tls, &mut early);
    if up.write_all(&early).is_err() || client_done {
        let _ = up.shutdown(Shutdown::Both);
        return;
    }
    let (Ok(client_out), Ok(up_in)) = (client.try_clone(), up.try_clone()) else {
        return;
    };
    let pair = Arc::new(Pair {
        tls: Mutex::new(tls),
        client_out: Mutex::new(client_out),
    });
    let downstream = {
        let pair = Arc::clone(&pair);
        let Ok(client) = client.try_clone() else {
            return;
        };
        std::thread::Builder::new()
            .name(format!("testkit-tls-down-{}", upstream.port()))
            .spawn(move || upstream_to_client(up_in, &client, &pair))
    };
    client_to_upstream(&mut client, up, &pair);
    if let Ok(downstream) = downstream {
        let _ = downstream.join();
    }
}

/// Processes the records `tls` has read, appending their plaintext to `out`. Returns whether
/// the client is done: it sent `close_notify`, or broke the protocol (the alert rustls queued
/// then goes out with the next flush).
fn decrypt(tls: &mut ServerConnection, out: &mut Vec<u8>) -> bool {
    let Ok(state) = tls.process_new_packets() else {
        return true;
    };
    let start = out.len();
    out.resize(start + state.plaintext_bytes_to_read(), 0);
    tls.reader().read_exact(&mut out[start..]).is_err() || state.peer_has_closed()
}

/// Decrypts what the client sends and writes it upstream. When the client closes (TCP or
/// `close_notify`), breaks the protocol, or the proxy is dropped (which shuts the client socket
/// down), the upstream connection is shut down, which ends the other direction too.
fn client_to_upstream(client: &mut TcpStream, mut up: TcpStream, pair: &Pair) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut tls = lock(&pair.tls);
        let mut ciphertext = &buf[..n];
        let mut plaintext = Vec::new();
        let mut done = false;
        while !ciphertext.is_empty() && !done {
            done = tls.read_tls(&mut ciphertext).is_err() || decrypt(&mut tls, &mut plaintext);
        }
        // Handshake leftovers, alerts and the like; failing to send them ends the pair too.
        done |= pair.flush(tls).is_err();
        if up.write_all(&plaintext).is_err() || done {
            break;
        }
    }
    let _ = up.shutdown(Shutdown::Both);
}

/// Encrypts what the upstream answers and sends it to the client. When the upstream closes (or
/// the other direction shut it down), says `close_notify` and closes the client connection,
/// which ends the other direction if it still runs.
fn upstream_to_client(mut up: TcpStream, client: &TcpStream, pair: &Pair) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match up.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut tls = lock(&pair.tls);
        if tls.writer().write_all(&buf[..n]).is_err() || pair.flush(tls).is_err() {
            break;
        }
    }
    let mut tls = lock(&pair.tls);
    tls.send_close_notify();
    let _ = pair.flush(tls);
    let _ = client.shutdown(Shutdown::Both);
}
