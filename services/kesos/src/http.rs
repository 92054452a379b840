//! The operational HTTP surface every kesos process serves: health, readiness, the state of
//! its log and checkpoints, audit verification, and the OpenAPI document. Service routes
//! (enrollment, scheduling, certification, progress) are merged in by their crates.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ed25519_dalek::VerifyingKey;
use kesos_eventstore::{EventStore, verify};
use kesos_runtime::Mode;
use serde_json::json;

use kesos_http::Problem;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The process's event store.
    pub store: Arc<dyn EventStore>,
    /// Embedded or distributed.
    pub mode: Mode,
    /// Keys whose checkpoints verification accepts.
    pub trusted_keys: Arc<Vec<VerifyingKey>>,
    /// The NATS connection, in the distributed mode.
    pub nats: Option<async_nats::Client>,
}

/// The routes, with problem+json for unknown paths.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/v1/log", get(log_status))
        .route("/v1/audit/verify", post(audit_verify))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { Problem::not_found("no such route; see /openapi.json") })
        .with_state(state)
}

/// The paths this process serves, for the start-up banner.
pub const SERVED: &[&str] = &[
    "/healthz",
    "/readyz",
    "/v1/log",
    "/v1/audit/verify",
    "/openapi.json",
];

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    if let Err(error) = state.store.head_position().await {
        return Problem::unavailable(format!("event store unreachable: {error}")).into_response();
    }
    let nats = match &state.nats {
        None => "not used (embedded mode)",
        Some(client) if client.connection_state() == async_nats::connection::State::Connected => {
            "connected"
        }
        Some(_) => return Problem::unavailable("NATS is not connected").into_response(),
    };
    Json(json!({ "status": "ready", "mode": state.mode.to_string(), "store": "ok", "nats": nats }))
        .into_response()
}

async fn log_status(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Problem> {
    let head = state
        .store
        .head_position()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let last_checkpoint = state
        .store
        .last_checkpoint()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let checkpoints = last_checkpoint.as_ref().map_or(0, |c| c.sequence);
    let last = last_checkpoint.map(|c| {
        json!({
            "sequence": c.sequence,
            "position": c.position,
            "event_count": c.event_count,
            "signed_at": c.signed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "public_key": hex::encode(c.public_key),
        })
    });
    Ok(Json(json!({
        "mode": state.mode.to_string(),
        "head_position": head,
        "checkpoints": checkpoints,
        "last_checkpoint": last,
    })))
}

async fn audit_verify(State(state): State<AppState>) -> Result<Response, Problem> {
    let report = verify(&*state.store, &state.trusted_keys, |_| {})
        .await
        .map_err(|e| Problem::internal(&e))?;
    let status = if report.first_break.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let body = json!({
        "intact": report.first_break.is_none(),
        "events": report.events,
        "streams": report.streams,
        "checkpoints": report.checkpoints,
        "first_break": report.first_break.as_ref().map(ToString::to_string),
    });
    Ok((status, Json(body)).into_response())
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}
