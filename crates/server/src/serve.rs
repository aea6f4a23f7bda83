//! Start-up and shutdown: data directory, sockets, driver registry, the HTTP server, the banner,
//! and a clean close of the drivers when a signal stops the server.
//!
//! Sockets are bound by hand (not by `HttpServer::bind`) so that `--port 0` gets one ephemeral
//! port shared by every address of the host, and so the actual port is known for the banner and
//! the `Listening on http://<ip>:<port>` line, which integration tests read from stdout.

use crate::app::{Site, build_app};
use crate::catalogue;
use crate::config::{Config, Frontend};
use actix_web::{HttpServer, web};
use anyhow::{Context, bail};
use deltacloud_core::{DriverFactory, DriverSettings, Gateway, Registry};
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight requests get to finish after SIGTERM.
const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Build the drivers this binary serves and the catalogue entries of the others.
///
/// # Errors
/// If a driver cannot start (for the mock: its data directory or database is unusable).
pub fn build_registry(settings: &DriverSettings) -> anyhow::Result<Registry> {
    let factories: Vec<Box<dyn DriverFactory>> = vec![
        deltacloud_backend_mock::factory(),
        deltacloud_backend_rhevm::factory(),
        deltacloud_backend_ec2::factory(),
        deltacloud_backend_ec2::eucalyptus_factory(),
    ];
    let mut registry = Registry::new();
    for factory in factories {
        let info = factory.info();
        let driver = factory.build(settings).with_context(|| {
            format!(
                "cannot start the {} driver (data directory {})",
                info.id,
                settings.data_dir.display()
            )
        })?;
        registry.add_driver(info, driver);
    }
    // Built drivers keep their factory's entry; the rest of the catalogue is listed only.
    for info in catalogue::catalogue()? {
        registry.add_info(info);
    }
    Ok(registry)
}

/// Open the EC2 credential store in the data directory, with the configured key or the key
/// file (created with mode 0600 on first use). Blocking: call it off the async reactor.
///
/// # Errors
/// An unusable key, key file or database.
pub fn open_ec2_store(config: &Config) -> anyhow::Result<deltacloud_frontend_ec2::Store> {
    use deltacloud_frontend_ec2::{Store, StoreKey};
    let key = match &config.ec2_key {
        Some(k) => StoreKey::parse(k.expose()).context("ec2_key")?,
        None => StoreKey::load_or_create(&config.data_dir)?,
    };
    Ok(Store::open(&config.data_dir, &key)?)
}

/// The EC2 frontend's state: the store, seeded from `[[ec2_credentials]]`, plus the identities
/// that work out of the box. With the mock driver its user works as an access key (secret = its
/// password), and `API_USER`/`API_PASSWORD` likewise, which is the original's "access key =
/// backend user, secret = backend password" (`ec2-frontend.md` B2 compatibility mode).
///
/// # Errors
/// As [`open_ec2_store`], or a seed the store refuses.
pub fn ec2_state(config: &Config) -> anyhow::Result<deltacloud_frontend_ec2::Ec2State> {
    use deltacloud_core::Secret;
    use deltacloud_frontend_ec2::{CredentialRecord, Ec2Config, Ec2State, Identity};
    let store = open_ec2_store(config)?;
    for seed in &config.ec2_credentials {
        store
            .add(&CredentialRecord {
                access_key: seed.access_key.clone(),
                secret: seed.secret.clone(),
                identity: Identity {
                    driver: seed.driver.clone(),
                    provider: seed.provider.clone(),
                    user: seed.user.clone(),
                    password: seed.password.clone(),
                },
            })
            .with_context(|| format!("ec2_credentials: access key {}", seed.access_key))?;
    }
    let mut builtin = Vec::new();
    let compat = |user: &str, password: &Secret| CredentialRecord {
        access_key: user.to_owned(),
        secret: password.clone(),
        identity: Identity {
            driver: None,
            provider: None,
            user: user.to_owned(),
            password: password.clone(),
        },
    };
    if let Some(c) = &config.credentials {
        builtin.push(Arc::new(compat(&c.user, &c.password)));
    }
    if config.driver == deltacloud_backend_mock::DRIVER_ID {
        builtin.push(Arc::new(compat(
            deltacloud_backend_mock::MOCK_USER,
            &Secret::new(deltacloud_backend_mock::MOCK_PASSWORD),
        )));
    }
    Ok(Ec2State::new(
        store,
        Ec2Config {
            region: config.ec2_region.clone(),
            builtin,
        },
    ))
}

/// The settings every driver is built with.
#[must_use]
pub fn driver_settings(config: &Config) -> DriverSettings {
    let mut options = BTreeMap::new();
    if let Some(ms) = config.mock_transition_delay_ms {
        options.insert("transition_delay_ms".to_owned(), ms.to_string());
    }
    if let Some(v) = &config.rhevm_api_version {
        options.insert(
            deltacloud_backend_rhevm::OPT_API_VERSION.to_owned(),
            v.clone(),
        );
    }
    if let Some(v) = &config.rhevm_auth {
        options.insert(deltacloud_backend_rhevm::OPT_AUTH.to_owned(), v.clone());
    }
    if let Some(p) = &config.rhevm_ca_file {
        options.insert(
            deltacloud_backend_rhevm::OPT_CA_FILE.to_owned(),
            p.to_string_lossy().into_owned(),
        );
    }
    DriverSettings {
        data_dir: config.data_dir.clone(),
        timeout: config.timeout,
        options,
    }
}

/// Create the data directory (owner-only, since `/var/tmp` is shared).
///
/// # Errors
/// With the path and a hint at the settings that choose it.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| {
            format!(
                "cannot create the data directory {} (set --data-dir or DELTACLOUD_MOCK_STORAGE)",
                dir.display()
            )
        })
}

/// Bind every address `host` resolves to on `port`. With port 0 the first address picks a free
/// port and the others reuse it. An address the machine does not have (typically `::1` where IPv6
/// is off) is skipped with a warning as long as another one binds; anything else, such as a port
/// already in use, is an error.
///
/// # Errors
/// When the host does not resolve or no address can be bound.
pub fn bind(host: &str, port: u16) -> anyhow::Result<Vec<TcpListener>> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in (bare, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve host {host} (--hostname/API_HOST)"))?
    {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut chosen = port;
    let mut skipped = Vec::new();
    for addr in addrs {
        let addr = SocketAddr::new(addr.ip(), chosen);
        match TcpListener::bind(addr) {
            Ok(l) => {
                if chosen == 0 {
                    chosen = l.local_addr()?.port();
                }
                listeners.push(l);
            }
            // Port 0 was resolved on an earlier address; if this one cannot share it, the
            // server is still reachable on the first.
            Err(e) if port == 0 && !listeners.is_empty() => skipped.push(format!("{addr}: {e}")),
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
                skipped.push(format!("{addr}: {e}"))
            }
            Err(e) => bail!("cannot listen on {addr} (--hostname/--port): {e}"),
        }
    }
    if listeners.is_empty() {
        bail!(
            "cannot listen on {host}:{port}: {}",
            if skipped.is_empty() {
                "no address".to_owned()
            } else {
                skipped.join("; ")
            }
        );
    }
    for s in skipped {
        tracing::warn!("not listening on {s}");
    }
    Ok(listeners)
}

/// The original's start-up line: `Starting Deltacloud API :: <driver> [:: <provider> ]:: <url>`,
/// with the actual port. The URL is the entry point of the first useful frontend: `/api` when the
/// Deltacloud frontend is enabled (the original's rule), else `/cimi/cloudEntryPoint` or `/ec2`.
#[must_use]
pub fn banner(config: &Config, port: u16) -> String {
    let mut msg = format!("Starting Deltacloud API :: {} ", config.driver);
    if let Some(p) = &config.provider {
        msg.push_str(&format!(":: {p} "));
    }
    let root = if config.frontends.contains(&Frontend::Deltacloud) {
        Frontend::Deltacloud.root_path()
    } else {
        config.frontends.first().map_or("/api", |f| f.root_path())
    };
    let host = if config.host.contains(':') && !config.host.starts_with('[') {
        format!("[{}]", config.host)
    } else {
        config.host.clone()
    };
    msg.push_str(&format!(":: http://{host}:{port}{root}"));
    msg
}

/// Run the server until SIGTERM or SIGINT. `hostname` is the `HOSTNAME` shown in the 401 realm.
///
/// # Errors
/// Start-up failures (data directory, sockets, drivers); a clean shutdown is `Ok`.
pub fn run(config: Config, hostname: String) -> anyhow::Result<()> {
    prepare_data_dir(&config.data_dir)?;
    // Resolving and binding block, so they happen before the runtime starts.
    let listeners = bind(&config.host, config.port)?;
    actix_web::rt::System::new().block_on(serve(config, listeners, hostname))
}

async fn serve(
    config: Config,
    listeners: Vec<TcpListener>,
    hostname: String,
) -> anyhow::Result<()> {
    let settings = driver_settings(&config);
    // The mock opens SQLite here: blocking I/O, so off the reactor.
    let registry = actix_web::rt::task::spawn_blocking(move || build_registry(&settings))
        .await
        .context("driver start-up panicked")??;
    let gateway = web::Data::new(Gateway {
        registry,
        default_driver: config.driver.clone(),
        default_provider: config.provider.clone(),
        fixed_credentials: config.credentials.clone(),
        hostname,
    });
    gateway
        .default_driver()
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    for f in config.frontends.iter().filter(|f| !f.implemented()) {
        tracing::warn!(
            frontend = f.name(),
            "the {} frontend is not implemented in this build; nothing is mounted at {}",
            f.name(),
            f.root_path()
        );
    }
    let mut site = Site::new(&config.frontends)?;
    if config.frontends.contains(&Frontend::Cimi) {
        // Opening SQLite is blocking I/O, so off the reactor.
        let dir = config.data_dir.clone();
        let store = actix_web::rt::task::spawn_blocking(move || {
            deltacloud_frontend_cimi::Store::open_in(&dir)
        })
        .await
        .context("CIMI database start-up panicked")?
        .map_err(|e| anyhow::anyhow!("cannot open the CIMI database: {e}"))?;
        site = site.with_cimi_store(store);
    }
    if config.frontends.contains(&Frontend::Ec2) {
        // Opening SQLite and the key file is blocking I/O, so off the reactor.
        let cfg = config.clone();
        let state = actix_web::rt::task::spawn_blocking(move || ec2_state(&cfg))
            .await
            .context("EC2 credential store start-up panicked")?
            .context("cannot open the EC2 credential store")?;
        site = site.with_ec2_state(state);
    }

    let app_gateway = gateway.clone();
    let mut server = HttpServer::new(move || build_app(app_gateway.clone(), site.clone()))
        .shutdown_timeout(SHUTDOWN_GRACE_SECS);
    let mut addrs = Vec::new();
    for l in listeners {
        addrs.push(l.local_addr()?);
        server = server.listen(l)?;
    }
    let Some(first) = addrs.first().copied() else {
        bail!("no socket to serve on")
    };
    let running = server.run();

    println!("{}", banner(&config, first.port()));
    println!("Listening on http://{first}");
    tracing::info!(
        driver = %config.driver,
        provider = config.provider.as_deref().unwrap_or(""),
        frontends = %config.mounted_frontends().map(Frontend::name).collect::<Vec<_>>().join(","),
        addresses = %addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        data_dir = %config.data_dir.display(),
        "deltacloudd started"
    );

    running.await.context("HTTP server failed")?;
    close(gateway).await;
    tracing::info!("deltacloudd stopped");
    Ok(())
}

/// Release the drivers once the workers have let go of them, so the mock closes its database
/// (checkpointing the WAL) instead of relying on process exit. The workers drop their apps
/// shortly after the server future resolves, hence the short wait.
async fn close(gateway: web::Data<Gateway>) {
    let mut shared = gateway.into_inner();
    for _ in 0..100 {
        match Arc::try_unwrap(shared) {
            Ok(gateway) => {
                // Closing SQLite does file I/O.
                let _ = actix_web::rt::task::spawn_blocking(move || drop(gateway)).await;
                tracing::debug!("drivers closed");
                return;
            }
            Err(still) => {
                shared = still;
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::warn!("drivers still in use at shutdown; they are released when the process exits");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn config(args: &[&str]) -> Config {
        let cli = Cli::try_parse_from(std::iter::once("deltacloudd").chain(args.iter().copied()))
            .unwrap();
        Config::load(&cli, &crate::config::Vars::new())
            .unwrap()
            .config
    }

    #[test]
    fn banner_like_the_original() {
        assert_eq!(
            banner(&config(&[]), 3001),
            "Starting Deltacloud API :: mock :: http://localhost:3001/api"
        );
        assert_eq!(
            banner(&config(&["-P", "eu", "-r", "0.0.0.0"]), 4567),
            "Starting Deltacloud API :: mock :: eu :: http://0.0.0.0:4567/api"
        );
        assert_eq!(
            banner(&config(&["-f", "cimi"]), 1),
            "Starting Deltacloud API :: mock :: http://localhost:1/cimi/cloudEntryPoint"
        );
        assert_eq!(
            banner(&config(&["-f", "ec2,cimi"]), 1),
            "Starting Deltacloud API :: mock :: http://localhost:1/ec2"
        );
        assert_eq!(
            banner(&config(&["-r", "::1"]), 2),
            "Starting Deltacloud API :: mock :: http://[::1]:2/api"
        );
    }

    #[test]
    fn port_zero_binds_one_ephemeral_port() {
        let ls = bind("127.0.0.1", 0).unwrap();
        assert_eq!(ls.len(), 1);
        assert_ne!(ls[0].local_addr().unwrap().port(), 0);
        let ls = bind("localhost", 0).unwrap();
        let ports: Vec<u16> = ls.iter().map(|l| l.local_addr().unwrap().port()).collect();
        assert!(ports.iter().all(|p| *p == ports[0] && *p != 0), "{ports:?}");
    }

    #[test]
    fn a_taken_port_is_an_error_naming_the_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = bind("127.0.0.1", port).unwrap_err().to_string();
        assert!(
            e.contains(&format!("127.0.0.1:{port}")) && e.contains("--port"),
            "{e}"
        );
        assert!(bind("no-such-host.invalid", 1).is_err());
    }

    #[test]
    fn settings_carry_the_mock_options() {
        let s = driver_settings(&config(&[
            "--mock-transition-delay-ms",
            "400",
            "--data-dir",
            "/x",
            "-t",
            "7",
        ]));
        assert_eq!(
            s.options.get("transition_delay_ms").map(String::as_str),
            Some("400")
        );
        assert_eq!(s.data_dir, Path::new("/x"));
        assert_eq!(s.timeout, Duration::from_secs(7));
        assert!(driver_settings(&config(&[])).options.is_empty());
    }

    #[test]
    fn data_dir_is_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a/b");
        prepare_data_dir(&d).unwrap();
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let file = tmp.path().join("f");
        std::fs::write(&file, "").unwrap();
        let e = format!("{:#}", prepare_data_dir(&file.join("x")).unwrap_err());
        assert!(e.contains("--data-dir"), "{e}");
    }
}
