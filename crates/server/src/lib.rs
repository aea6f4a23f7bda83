//! `deltacloudd`, the gateway's server: command line and configuration layering, logging, the
//! driver registry, and the actix-web application that mounts the frontends.
//!
//! This is the only crate that names backends and frontends; everything it wires together
//! meets in `deltacloud_core` (`Registry`, `Gateway`). The binary (`src/main.rs`) is a thin
//! shell around [`run`]; the library exists so tests can load configurations and build the app
//! in-process.

pub mod app;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod logging;
pub mod logwriter;
pub mod serve;
pub mod textlog;

use cli::Cli;
use config::{AVAILABLE_DRIVERS, Config, process_env};
use std::process::ExitCode;

/// `deltacloudd --drivers`: the original's list, of the drivers this build can serve. The other
/// catalogued drivers go to stderr so scripts reading stdout only see usable ids.
#[must_use]
pub fn drivers_listing() -> String {
    let mut out = String::from("Available drivers:\n\n");
    for id in AVAILABLE_DRIVERS {
        out.push_str("* ");
        out.push_str(id);
        out.push('\n');
    }
    out
}

/// The whole program after argument parsing; returns the process exit status.
///
/// Exit codes: 0 after `--help`, `--version`, `--drivers`, `--print-config` or a clean shutdown
/// (SIGTERM, SIGINT); 1 for a configuration or start-up error (printed to stderr as
/// `ERROR: <message>`); 2 for a command-line usage error (clap's).
#[must_use]
pub fn run(cli: &Cli) -> ExitCode {
    if cli.list_drivers {
        println!("{}", drivers_listing());
        let others: Vec<String> = catalogue::known_ids()
            .into_iter()
            .filter(|id| !AVAILABLE_DRIVERS.contains(&id.as_str()))
            .collect();
        eprintln!(
            "Catalogued but not built into this binary: {}",
            others.join(", ")
        );
        return ExitCode::SUCCESS;
    }
    let env = process_env();
    let loaded = match Config::load(cli, &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ERROR: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Held until `run` returns, so queued log lines are written before the process exits.
    let _log_guard = match logging::init(loaded.config.log_format, loaded.config.verbose) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("ERROR: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if cli.print_config {
        return match loaded.config.to_toml() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ERROR: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(cli::Command::Credentials(cmd)) = &cli.command {
        return match credentials_command(&loaded.config, cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ERROR: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let hostname = env.get("HOSTNAME").cloned().unwrap_or_default();
    match serve::run(loaded.config, hostname) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ERROR: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `deltacloudd credentials add|list|remove`: edit the EC2 credential store of the configured
/// data directory. Safe while a server runs on it (SQLite WAL; the server reads keys per request).
///
/// # Errors
/// Store errors, or an unknown access key on `remove`.
pub fn credentials_command(config: &Config, cmd: &cli::CredentialsCommand) -> anyhow::Result<()> {
    use cli::CredentialsCommand as C;
    use deltacloud_core::Secret;
    use deltacloud_frontend_ec2::{CredentialRecord, Identity};
    serve::prepare_data_dir(&config.data_dir)?;
    let store = serve::open_ec2_store(config)?;
    match cmd {
        C::Add {
            access_key,
            secret,
            driver,
            backend_provider,
            user,
            password,
        } => {
            if let Some(d) = driver {
                config::check_driver(d, "--driver")?;
            }
            let (secret, generated) = match secret {
                Some(s) => (s.clone(), false),
                None => (generate_secret(), true),
            };
            store.add(&CredentialRecord {
                access_key: access_key.clone(),
                secret: Secret::new(secret.clone()),
                identity: Identity {
                    driver: driver.clone(),
                    provider: backend_provider.clone(),
                    user: user.clone(),
                    password: Secret::new(password.clone()),
                },
            })?;
            if generated {
                println!("access key: {access_key}\nsecret key: {secret}");
            } else {
                println!("access key {access_key} stored");
            }
        }
        C::List => {
            for c in store.list()? {
                println!(
                    "{}\tdriver={}\tprovider={}\tuser={}",
                    c.access_key,
                    c.driver.as_deref().unwrap_or("(default)"),
                    c.provider.as_deref().unwrap_or("(default)"),
                    c.user
                );
            }
        }
        C::Remove { access_key } => {
            if !store.remove(access_key)? {
                anyhow::bail!("no access key {access_key}");
            }
            println!("access key {access_key} removed");
        }
    }
    Ok(())
}

/// 40 random characters from the base64 alphabet, like AWS secret keys.
fn generate_secret() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
