//! The kesos program: one binary whose subcommands run, migrate, audit and measure the
//! system. `main.rs` only parses the command line; everything it runs lives here so that
//! tests can drive it (an [`Application`] on port 0).

pub mod app;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
pub mod certification;
pub mod cli;
pub mod dead_letters;
pub mod enrollment;
pub mod http;
pub mod identities;
pub mod import;
pub mod keys;
pub mod lsps_sim;
pub mod metrics;
pub mod nats;
pub mod open;
pub mod openapi;
pub mod progress;
pub mod scheduling;
pub mod tokens;

pub use app::Application;
