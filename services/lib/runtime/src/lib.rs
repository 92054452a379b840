//! Runtime plumbing shared by every kesos process: configuration, tracing and graceful shutdown.
//!
//! A binary does the same three things before it serves anything:
//!
//! 1. [`Config::load`] from an optional TOML file and the `KESOS_*` environment (the defaults
//!    alone run the embedded mode),
//! 2. [`init_tracing`] with the configured [`LogFormat`] and filter,
//! 3. [`Shutdown::on_signals`], whose clones it hands to every server loop so SIGINT or SIGTERM
//!    stops them all, and tests can stop them with [`Shutdown::trigger`].

pub mod config;
pub mod shutdown;
pub mod telemetry;

pub use config::{
    CONFIG_FILE_VAR, Config, ConfigError, LogFormat, Mode, NatsConnection, NatsLogin, NatsTls,
    Origin, Service, Services,
};
pub use shutdown::Shutdown;
pub use telemetry::{Otlp, Telemetry, TelemetryError, init_telemetry, init_tracing};
