//! The operations dashboard: a small single-page application that kesos serves itself, with
//! no separate web server and no internet. Central operations and Dinas Sosial offices look at
//! regional progress (a province table with bars, a map shaded by certification rate, monthly
//! trends), drill down to a kabupaten/kota and the sessions, candidates, workers and
//! certificates behind its numbers, and move an "as of" date to see every figure as it stood.
//!
//! The pages carry no data: the browser asks the HTTP API with the caller's bearer token, so
//! the API's access rules decide what each role sees (a Dinas office only its region, names
//! only to roles that may read workers). The public certificate verification page, which a
//! certificate's QR code opens, is served by the certification service (`/verify`).

mod assets;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kesos_auth::{Action, ApiPart, Rule, Secured};
use kesos_http::{Operation, Path, Problem};

pub use assets::{ASSETS, Asset};

/// The dashboard's routes, each with its access rule and its OpenAPI operation.
fn secured() -> Secured<()> {
    Secured::new()
        .get(
            "/",
            Action::Page,
            index,
            Operation::new(
                "The operations dashboard (HTML; it reads the API with the bearer token the \
                 user signs in with).",
            )
            .answers(200, "text/html"),
        )
        .get(
            "/assets/{name}",
            Action::Page,
            asset,
            Operation::new(
                "The dashboard's built-in files (script, style sheet, province map, notices), \
                 with entity tags.",
            )
            .answers(200, "the file")
            .answers(304, "not modified")
            .problem(404, "no such asset"),
        )
}

/// The dashboard's routes: its page and its assets, public (they hold no data).
pub fn router() -> Router {
    secured().into_router().with_state(())
}

/// The access rule of every dashboard route.
pub fn access_rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

/// The dashboard's part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
}

async fn index(headers: HeaderMap) -> Response {
    match assets::find("index.html") {
        Some(page) => serve(page, &headers),
        None => Problem::not_found("the dashboard page is missing from this build").into_response(),
    }
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match assets::find(&name) {
        Some(found) => serve(found, &headers),
        None => Problem::not_found(format!("no dashboard asset named {name}")).into_response(),
    }
}

/// The asset with its type and entity tag; `304 Not Modified` when the browser has it already.
/// Browsers revalidate every time (`no-cache`), so a new kesos version is picked up at once.
fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = asset.etag();
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if asset.name == "index.html" {
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    response
}
