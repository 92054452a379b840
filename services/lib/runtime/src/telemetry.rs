//! Logging set-up: `tracing` events as text or JSON lines on stderr.
//!
//! Stdout is left to commands whose output is data (`kesos audit verify`, `kesos replay`), so
//! logs never mix into it.

use std::error::Error as StdError;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The variable that overrides the configured filter, as it does for every `tracing` program.
const RUST_LOG: &str = "RUST_LOG";

/// Why the global subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The filter directives do not parse; `origin` is `RUST_LOG` or `log_filter`.
    #[error("invalid tracing filter {filter:?} from {origin}: {source}")]
    InvalidFilter {
        /// Where the directives came from.
        origin: &'static str,
        /// The directives as given.
        filter: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is already installed (by an earlier call, or a test harness); the
    /// existing one stays in place.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled {
        /// The error from `tracing_subscriber`.
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}

/// Installs the global `tracing` subscriber, writing to stderr in `format`.
///
/// `RUST_LOG`, when set and non-empty, replaces `filter`, so an operator can raise verbosity
/// without editing configuration. JSON lines carry the current span and the span list, which is
/// where the correlation id travels. Only the first call in a process can succeed; later ones
/// return [`TelemetryError::AlreadyInstalled`] and change nothing.
pub fn init_tracing(format: LogFormat, filter: &str) -> Result<(), TelemetryError> {
    let filter = resolve_filter(filter, std::env::var(RUST_LOG).ok())?;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder
            .compact()
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    installed.map_err(|source| TelemetryError::AlreadyInstalled { source })
}

/// The filter to use: `rust_log` if it is set and non-empty, else the configured one.
fn resolve_filter(configured: &str, rust_log: Option<String>) -> Result<EnvFilter, TelemetryError> {
    let (origin, filter) = match rust_log {
        Some(rust_log) if !rust_log.trim().is_empty() => (RUST_LOG, rust_log),
        _ => ("log_filter", configured.to_owned()),
    };
    EnvFilter::try_new(&filter).map_err(|source| TelemetryError::InvalidFilter {
        origin,
        filter,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_the_configured_filter() {
        let filter = resolve_filter("info", Some("kesos=trace".to_owned())).unwrap();
        assert_eq!(filter.to_string(), "kesos=trace");
    }

    #[test]
    fn an_empty_rust_log_leaves_the_configured_filter() {
        let filter = resolve_filter("warn", Some(" ".to_owned())).unwrap();
        assert_eq!(filter.to_string(), "warn");
        let filter = resolve_filter("warn", None).unwrap();
        assert_eq!(filter.to_string(), "warn");
    }

    #[test]
    fn an_invalid_rust_log_is_an_error_naming_rust_log() {
        let error = resolve_filter("info", Some("kesos=loud".to_owned())).unwrap_err();
        assert!(error.to_string().contains("from RUST_LOG"), "{error}");
    }

    #[test]
    fn a_second_initialisation_returns_an_error_instead_of_panicking() {
        // The only test in this binary that installs a global subscriber, so the first succeeds.
        init_tracing(LogFormat::Json, "off").unwrap();
        let error = init_tracing(LogFormat::Pretty, "off").unwrap_err();
        assert!(matches!(error, TelemetryError::AlreadyInstalled { .. }));
    }
}
