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
pub mod serve;

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
    if let Err(e) = logging::init(loaded.config.log_format, loaded.config.verbose) {
        eprintln!("ERROR: {e:#}");
        return ExitCode::FAILURE;
    }
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
