//! `deltacloudd`: see the crate docs of `deltacloud_server` and `README.md`.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: every request allocates and frees many small strings
/// (parameters, DTOs, log fields) on two to a few worker threads, and glibc's `malloc`/`free`
/// (with `malloc_consolidate`) were about a tenth of the server's CPU time in the EC2
/// DescribeInstances profile (`bench/run.sh`). Only the binary chooses it; the library and the
/// tests keep the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = deltacloud_server::cli::Cli::parse();
    deltacloud_server::run(&cli)
}
