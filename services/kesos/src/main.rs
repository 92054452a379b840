//! The `kesos` binary: parses the command line and runs it. A failure is one line on stderr and
//! a non-zero exit.

use std::process::ExitCode;

use clap::Parser;

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
