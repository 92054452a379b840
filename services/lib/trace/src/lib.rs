//! W3C trace context across kesos: one registration can be followed from the HTTP request that
//! made it, through the event store and NATS, to every consumer and read model it reaches.
//!
//! - [`TraceParent`] is the `traceparent` value of the W3C Trace Context recommendation
//!   (version 00): a trace id, the id of the caller's span, and the sampled flag. It is parsed
//!   strictly (anything else is ignored, never an error: a caller's bad header must not fail
//!   its request) and written in the one canonical form.
//! - Spans are `tracing` spans; the OpenTelemetry layer the binary installs
//!   (`kesos_runtime::init_tracing`) gives each one a trace and span id. [`continue_trace`]
//!   makes a new span the child of a remote parent (an HTTP header, an event's metadata) and
//!   records its `trace_id` field, so JSON log lines written inside it carry the trace id.
//! - [`current`] is the `traceparent` of the span the code runs in: what a command keeps in its
//!   events' metadata, and what a publish sends as a NATS header.
//!
//! Without the OpenTelemetry layer (unit tests, tools) every function here is a harmless no-op:
//! spans get no ids and [`current`] is `None`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The HTTP header and NATS header that carry a [`TraceParent`].
pub const TRACEPARENT: &str = "traceparent";

/// The span field every traced span declares (`trace_id = tracing::field::Empty`), filled by
/// [`continue_trace`]; JSON log lines list their spans' fields, so they carry it.
pub const TRACE_ID_FIELD: &str = "trace_id";

/// The length of a version-00 `traceparent`: `00-` + 32 + `-` + 16 + `-` + 2.
const LENGTH: usize = 55;

/// Whether spans are being exported (the OTLP exporter is on). Spans that exist only to be
/// exported — one per event a read model applies — are made only then.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Says that spans are exported from now on; called once by the binary when it installs an
/// exporter.
pub fn set_exporting() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether an exporter is installed (see [`set_exporting`]).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// A W3C `traceparent`: which trace, which span is the parent, and whether it is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// Parses a `traceparent` value as the recommendation says a receiver must: version 00 is
    /// exactly 55 characters; a later version may be longer (its extra fields, after a `-`,
    /// are ignored); version `ff`, upper-case hex, an all-zero trace or span id, or any other
    /// shape is `None`, and the receiver then starts a new trace.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let bytes = value.as_bytes();
        if bytes.len() < LENGTH || !value.is_ascii() {
            return None;
        }
        let version = &value[0..2];
        if !is_lower_hex(version) || version == "ff" {
            return None;
        }
        if version == "00" && bytes.len() != LENGTH {
            return None;
        }
        if bytes.len() > LENGTH && bytes[LENGTH] != b'-' {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let (trace, parent, flags) = (&value[3..35], &value[36..52], &value[53..55]);
        if !(is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags)) {
            return None;
        }
        let trace_id = TraceId::from_hex(trace).ok()?;
        let parent_id = SpanId::from_hex(parent).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            // Only the sampled bit is defined; the others are not passed on.
            flags: TraceFlags::new(flags) & TraceFlags::SAMPLED,
        })
    }

    /// The trace's id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        self.trace_id.to_string()
    }

    /// The parent span's id, 16 lower-case hex digits.
    pub fn parent_id(&self) -> String {
        self.parent_id.to_string()
    }

    /// Whether the caller sampled (records) this trace.
    pub fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }

    fn from_context(context: &SpanContext) -> Option<Self> {
        context.is_valid().then(|| Self {
            trace_id: context.trace_id(),
            parent_id: context.span_id(),
            flags: context.trace_flags() & TraceFlags::SAMPLED,
        })
    }

    fn remote(&self) -> opentelemetry::Context {
        let context = SpanContext::new(
            self.trace_id,
            self.parent_id,
            self.flags,
            true,
            TraceState::NONE,
        );
        opentelemetry::Context::new().with_remote_span_context(context)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            self.flags.to_u8()
        )
    }
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Makes `span` (new, not yet entered) the child of `parent` when it is a valid
/// `traceparent`, else the root of a new trace, and records the span's `trace_id` field.
/// Returns the trace id (`None` without the OpenTelemetry layer, or when the span is
/// disabled by the filter).
pub fn continue_trace(span: &tracing::Span, parent: Option<&str>) -> Option<String> {
    if let Some(parent) = parent.and_then(TraceParent::parse) {
        // Fails only without the layer or on a span already started: then it stays a root.
        let _ = span.set_parent(parent.remote());
    }
    let context = span.context();
    let own = TraceParent::from_context(context.span().span_context())?;
    let trace_id = own.trace_id();
    span.record(TRACE_ID_FIELD, trace_id.as_str());
    Some(trace_id)
}

/// The `traceparent` of the span the code runs in (its trace, with that span as the parent),
/// for an event's metadata or an outgoing header; `None` outside a traced span.
pub fn current() -> Option<TraceParent> {
    let context = tracing::Span::current().context();
    TraceParent::from_context(context.span().span_context())
}

/// [`current`] as text, empty outside a traced span: the form event metadata stores.
pub fn current_text() -> String {
    current()
        .map(|parent| parent.to_string())
        .unwrap_or_default()
}

/// An event as a consumer sees it, for its span: where it comes from and the trace it carries.
#[derive(Debug, Clone, Copy)]
pub struct Handled<'a> {
    /// The service whose log holds the event.
    pub source: &'a str,
    /// Its position in that log.
    pub position: u64,
    /// Its protobuf type, e.g. `kesos.enrollment.v1.WorkerRegistered`.
    pub event_type: &'a str,
    /// The `traceparent` kept in its metadata (empty when none).
    pub trace_parent: &'a str,
}

/// The span of one event handled by `worker` (a consumer or a read model): named
/// `<worker> <event>` for trace viewers, a child of the event's trace when it has one.
/// Enter it (or instrument the handling with it) so that commands the handling issues carry
/// the trace on.
pub fn handling_span(worker: &str, event: Handled<'_>) -> tracing::Span {
    let short = event
        .event_type
        .rsplit('.')
        .next()
        .unwrap_or(event.event_type);
    let span = tracing::info_span!(
        "handle",
        otel.name = %format_args!("{worker} {short}"),
        otel.kind = "consumer",
        worker,
        source = event.source,
        position = event.position,
        event_type = event.event_type,
        trace_id = tracing::field::Empty,
    );
    // An empty context does not parse: the span then starts a trace of its own.
    continue_trace(&span, Some(event.trace_parent));
    span
}

/// One [`handling_span`] per traced event of a batch handled together, to keep alive until
/// the batch commits; empty unless spans are exported, since such spans exist only to be
/// exported (a batch has no single place to log from inside each event's span).
pub fn batch_spans<'a>(
    worker: &str,
    events: impl IntoIterator<Item = Handled<'a>>,
) -> Vec<tracing::Span> {
    if !exporting() {
        return Vec::new();
    }
    events
        .into_iter()
        .filter(|event| !event.trace_parent.is_empty())
        .map(|event| handling_span(worker, event))
        .collect()
}

#[cfg(test)]
mod tests;
