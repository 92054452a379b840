//! Request metrics for every route: counted and timed by the route's template (never the raw
//! path, so an id in a URL does not start a new series), the method and the status. Every
//! label comes from a bounded set, so no client can grow the number of series.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The method as a label: the standard ones by name, any other as `other`, so a client
/// inventing methods cannot make new series (nor new span names).
pub(crate) fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The request's route template (`/v1/workers/{worker_id}`), or `unmatched` when no route
/// matched: a bounded name for metrics and spans.
pub(crate) fn route_template(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
}

/// Counts one request in `kesos_http_requests_total` (method, route, status) and times it in
/// `kesos_http_request_duration_seconds` (method, route). A request no route matched is
/// counted under the route `unmatched`. Layer it over the whole router with
/// `axum::middleware::from_fn(measure)`, outside the access gate, so refusals count too.
pub async fn measure(request: Request, next: Next) -> Response {
    let route = route_template(&request);
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "kesos_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "kesos_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::method_label;

    #[test]
    fn an_invented_method_is_labelled_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"FROBNICATE").unwrap_or(Method::GET)),
            "other"
        );
    }
}
