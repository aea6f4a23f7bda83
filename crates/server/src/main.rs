//! `deltacloudd`: see the crate docs of `deltacloud_server` and `README.md`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = deltacloud_server::cli::Cli::parse();
    deltacloud_server::run(&cli)
}
