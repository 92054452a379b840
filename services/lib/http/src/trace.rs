//! Request traces: every request runs in a span that continues the caller's W3C trace (the
//! `traceparent` header) or starts a new one. Commands the request issues keep that span's
//! context in their events' metadata, so the relay, NATS and every consumer continue the same
//! trace; log lines written while the request runs carry its `trace_id`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Runs the request in a server span named `<METHOD> <route template>` (a bounded name: an id
/// in a URL does not make a new one), a child of the caller's `traceparent` when it parses, and
/// records the response status in it. Layer it over the whole router with
/// `axum::middleware::from_fn(traced)`, outside the access gate, so refusals are traced too.
pub async fn traced(request: Request, next: Next) -> Response {
    let route = crate::metrics::route_template(&request);
    let method = crate::metrics::method_label(request.method());
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let parent = request
        .headers()
        .get(kesos_trace::TRACEPARENT)
        .and_then(|value| value.to_str().ok());
    kesos_trace::continue_trace(&span, parent);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    // At debug: an access log line per request, with the trace id, for who turns it on
    // (`kesos_http::trace=debug`).
    span.in_scope(|| tracing::debug!(status, "served"));
    response
}
