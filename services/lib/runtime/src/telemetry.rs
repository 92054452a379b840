//! Logging and tracing set-up: `tracing` events as text or JSON lines on stderr, and every span
//! an OpenTelemetry span (W3C trace and span ids, see `kesos_trace`), exported over OTLP/HTTP
//! when an endpoint is configured.
//!
//! Stdout is left to commands whose output is data (`kesos audit verify`, `kesos replay`), so
//! logs never mix into it.

use std::error::Error as StdError;
use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing::Metadata;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, FilterFn, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The variable that overrides the configured filter, as it does for every `tracing` program.
const RUST_LOG: &str = "RUST_LOG";

/// How long finished spans wait to be sent in one batch: short, so a trace is in the collector
/// a second after the request, and a process killed without warning loses at most that.
const EXPORT_EVERY: Duration = Duration::from_secs(1);

/// How long one export may take before it is given up (the spans are dropped, not retried
/// forever: tracing must never hold kesos up).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The OTLP exporter could not be built from the configured endpoint.
    #[error("the OTLP exporter for {endpoint} could not be built: {reason}")]
    Exporter {
        /// The traces URL spans would be posted to.
        endpoint: String,
        /// The exporter's complaint.
        reason: String,
    },
}

/// Where spans are exported: an OpenTelemetry collector's OTLP/HTTP receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otlp {
    /// The receiver's base URL (`otlp_endpoint`, e.g. `http://127.0.0.1:4318`); spans are
    /// posted as protobuf to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// `service.name` of the spans: the configured `service_name`.
    pub service_name: String,
    /// The services this process runs, as the resource attribute `kesos.services`, so the
    /// processes of one deployment can be told apart in a trace.
    pub services: String,
}

impl Otlp {
    /// The URL spans are posted to.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.endpoint.trim_end_matches('/'))
    }
}

/// The installed tracing: keep it for the life of the process. Dropping it (or
/// [`Telemetry::shutdown`]) sends the spans not yet exported.
#[derive(Debug)]
#[must_use = "dropping the telemetry stops exporting spans"]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Sends the spans not yet exported and stops exporting.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::debug!(%error, "spans not all exported at shutdown");
        }
    }
}

/// Installs the global `tracing` subscriber, writing to stderr in `format`, with spans given
/// trace ids but exported nowhere (tools, benchmarks, one-shot commands).
///
/// `RUST_LOG`, when set and non-empty, replaces `filter`, so an operator can raise verbosity
/// without editing configuration. JSON lines carry the current span and the span list, which
/// is where the `trace_id` of a request or a handled event travels. Only the first call in a
/// process can succeed; later ones return [`TelemetryError::AlreadyInstalled`] and change
/// nothing.
pub fn init_tracing(format: LogFormat, filter: &str) -> Result<(), TelemetryError> {
    let telemetry = install(format, filter, SdkTracerProvider::builder().build())?;
    // Nothing to flush without an exporter; the provider must outlive every span.
    std::mem::forget(telemetry);
    Ok(())
}

/// [`init_tracing`] for a serving process: spans are also exported to `otlp` when it is set
/// (in batches, every second). Keep the returned [`Telemetry`] until the process ends.
pub fn init_telemetry(
    format: LogFormat,
    filter: &str,
    otlp: Option<&Otlp>,
) -> Result<Telemetry, TelemetryError> {
    let Some(otlp) = otlp else {
        return install(format, filter, SdkTracerProvider::builder().build());
    };
    let processor = BatchSpanProcessor::builder(exporter(otlp)?)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(EXPORT_EVERY)
                .build(),
        )
        .build();
    let resource = Resource::builder()
        .with_service_name(otlp.service_name.clone())
        .with_attribute(KeyValue::new("kesos.services", otlp.services.clone()))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build();
    let telemetry = install(format, filter, provider)?;
    kesos_trace::set_exporting();
    Ok(telemetry)
}

/// The OTLP/HTTP protobuf exporter. Built on a thread of its own: its blocking HTTP client
/// starts a runtime, which must not happen on a thread of the caller's async runtime.
fn exporter(otlp: &Otlp) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let endpoint = otlp.traces_url();
    let failed = |reason: String| TelemetryError::Exporter {
        endpoint: endpoint.clone(),
        reason,
    };
    let build = || {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| error.to_string())
    };
    std::thread::scope(|scope| scope.spawn(build).join())
        .map_err(|_| failed("building the HTTP client failed".to_owned()))?
        .map_err(failed)
}

/// Installs the subscriber: the filter, the OpenTelemetry layer over `provider`, and the log
/// lines in `format`.
fn install(
    format: LogFormat,
    filter: &str,
    provider: SdkTracerProvider,
) -> Result<Telemetry, TelemetryError> {
    let filter = resolve_filter(filter, std::env::var(RUST_LOG).ok())?;
    let ansi = std::io::stderr().is_terminal();
    subscriber(format, filter, &provider, std::io::stderr, ansi)
        .try_init()
        .map_err(|source| TelemetryError::AlreadyInstalled {
            source: Box::new(source),
        })?;
    Ok(Telemetry { provider })
}

/// The subscriber [`install`] installs, writing its lines to `writer`.
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    provider: &SdkTracerProvider,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    // The log filter decides which lines are written; kesos' own spans are on whatever it
    // says, since the trace context rides on them (a `warn` filter must not stop traces).
    let logs = filter.or(kesos_spans());
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("kesos"))
        .with_filter(kesos_spans());
    let lines = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(spans)
        .with(lines.with_filter(logs))
}

/// Kesos' own spans at `info` and above (a request's, a handled event's): the ones that carry
/// trace context. Decided by the callsite alone, so its answer is cached.
fn kesos_spans() -> FilterFn<impl Fn(&Metadata<'_>) -> bool> {
    filter_fn(|metadata: &Metadata<'_>| {
        metadata.is_span()
            && metadata.target().starts_with("kesos")
            && *metadata.level() <= tracing::Level::INFO
    })
    .with_max_level_hint(tracing::Level::INFO)
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

    /// Lines written by a subscriber under test.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_warn_filter_keeps_the_trace_and_its_warnings_carry_the_trace_id() {
        let lines = Lines::default();
        let writer = lines.clone();
        let provider = SdkTracerProvider::builder().build();
        let filter = resolve_filter("warn", None).unwrap();
        let subscriber = subscriber(
            LogFormat::Json,
            filter,
            &provider,
            move || writer.clone(),
            false,
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(target: "kesos_http::trace", "request", trace_id = tracing::field::Empty);
            let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let trace_id = kesos_trace::continue_trace(&span, Some(parent));
            assert_eq!(
                trace_id.as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            span.in_scope(|| {
                assert!(
                    kesos_trace::current().is_some(),
                    "commands would carry the trace"
                );
                tracing::info!("not written at warn");
                tracing::warn!("written, in the request's span");
            });
        });
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written.lines().count(), 1, "{written}");
        assert!(
            written.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
            "{written}"
        );
    }

    #[test]
    fn a_second_initialisation_returns_an_error_instead_of_panicking() {
        // The only test in this binary that installs a global subscriber, so the first succeeds.
        init_tracing(LogFormat::Json, "off").unwrap();
        let error = init_tracing(LogFormat::Pretty, "off").unwrap_err();
        assert!(matches!(error, TelemetryError::AlreadyInstalled { .. }));
    }
}
