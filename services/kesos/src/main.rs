//! The `kesos` binary: parses the command line and runs it. A failure is one line on stderr and
//! a non-zero exit.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a replay and a catching-up live projection
/// allocate and free millions of small values (decoded events, standings, rows); glibc's
/// malloc took about a third of the replay's planning time and kept freed memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match kesos::cli::run(kesos::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kesos: {error:#}");
            ExitCode::FAILURE
        }
    }
}
