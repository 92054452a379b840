//! The operational HTTP surface every kesos process serves: health, readiness, the state of
//! its log and checkpoints, audit verification, and the OpenAPI document. Service routes
//! (enrollment, scheduling, certification, progress) are merged in by their crates.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use ed25519_dalek::VerifyingKey;
use kesos_auth::{
    AccessLog, Action, ApiPart, Gate, LegacyKeys, Lifetimes, RateLimiter, RevocationList, Rule,
    Secured, TokenVerifier,
};
use kesos_eventstore::{EventStore, verify};
use kesos_runtime::{Config, Mode};
use serde_json::json;

use kesos_http::{Operation, Problem};

use crate::open::OpenedStore;

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
    /// The consumers held up by a transient failure: while any is, the process is not ready.
    pub stalls: kesos_bus::Stalls,
}

/// Every operational route once, with its access rule and its description: the router, the
/// gate's policy and the OpenAPI paths are built from this table only.
fn secured() -> Secured<AppState> {
    Secured::new()
        .get(
            "/healthz",
            Action::Probe,
            health,
            Operation::new("Liveness: the process answers.").answers(200, "alive"),
        )
        .get(
            "/readyz",
            Action::Probe,
            ready,
            Operation::new("Readiness: the event store (and NATS, when distributed) answer.")
                .answers(200, "ready")
                .problem(503, "a dependency is away"),
        )
        .get(
            "/v1/log",
            Action::ReadHistory,
            log_status,
            Operation::new("Head position of the event log and its last signed checkpoint.")
                .answers(200, "log status")
                .problem(500, "store failure"),
        )
        .post(
            "/v1/audit/verify",
            Action::ReadHistory,
            audit_verify,
            Operation::new(
                "Walk every hash chain and signed checkpoint; name the first broken event.",
            )
            .answers(200, "the log is intact")
            .answers(409, "the log was altered; first_break names where")
            .problem(500, "store failure"),
        )
        .get(
            "/openapi.json",
            Action::Probe,
            openapi,
            Operation::new(
                "This document: the OpenAPI 3.1 description of every route, built from the \
                 route tables that also build the router and the access policy.",
            )
            .answers(200, "the document"),
        )
}

/// The routes, with problem+json for unknown paths: 404 to a caller with a valid token, 401
/// to anyone else, so that an anonymous caller learns nothing about which paths exist (every
/// public path is a route of its own).
pub fn router(state: AppState) -> Router {
    let unknown = kesos_auth::guard_all(
        Router::new()
            .route("/", any(no_such_route))
            .route("/{*path}", any(no_such_route)),
        Action::ReadReference,
    );
    secured()
        .into_router()
        .fallback_service(unknown)
        .with_state(state)
}

async fn no_such_route() -> Problem {
    Problem::not_found("no such route; see /openapi.json")
}

/// Every route table's part of the OpenAPI document, in the order of [`access_rules`].
pub fn api() -> ApiPart {
    let mut api = secured().api();
    for part in [
        kesos_auth::routes::openapi(),
        kesos_enrollment::http::openapi(),
        kesos_scheduling::http::openapi(),
        kesos_certification::http::openapi(),
        kesos_progress::http::openapi(),
        kesos_dashboard::openapi(),
    ] {
        api.merge(part);
    }
    api
}

/// The access rule of every route this process serves through [`crate::Application`]: the
/// operational routes, the access log, and every service's routes.
pub fn access_rules() -> Vec<Rule> {
    let mut rules = secured().rules().to_vec();
    rules.extend(kesos_auth::routes::rules());
    rules.extend(kesos_enrollment::http::access_rules());
    rules.extend(kesos_scheduling::http::access_rules());
    rules.extend(kesos_certification::http::access_rules());
    rules.extend(kesos_progress::http::access_rules());
    rules.extend(kesos_dashboard::access_rules());
    rules
}

/// The token revocation list in the store's database (its table created when missing).
pub async fn revocation_list(store: &OpenedStore) -> anyhow::Result<RevocationList> {
    RevocationList::open(store.db())
        .await
        .context("cannot open the token revocation list")
}

/// Where the gate looks up idempotency keys recorded before command ids used SHA-256.
pub fn legacy_keys(store: &OpenedStore) -> LegacyKeys {
    LegacyKeys::new(store.db())
}

/// The access gate for this configuration: tokens are verified with the public half of the
/// token key (`token_key_file`, created under the data directory in the embedded mode) and
/// every key in `token_trusted_keys_file`, held to each role's maximum lifetime, and looked up
/// in `revocations` on every request. The distributed mode refuses to start with no key.
pub fn gate(
    config: &Config,
    mode: Mode,
    revocations: RevocationList,
    legacy: LegacyKeys,
) -> anyhow::Result<Gate> {
    let mut keys = Vec::new();
    if let Some(path) = &config.token_key_file {
        if mode == Mode::Embedded {
            let (key, created) = kesos_auth::keys::load_or_create_signing_key(path)?;
            if created {
                tracing::info!(path = %path.display(), "created a token signing key");
            }
            keys.push(key.verifying_key());
        } else if path.exists() {
            keys.push(kesos_auth::keys::read_signing_key(path)?.verifying_key());
        }
    }
    if let Some(path) = &config.token_trusted_keys_file {
        keys.extend(kesos_auth::keys::read_trusted_keys(path)?);
    }
    if keys.is_empty() {
        anyhow::bail!(
            "no token verification key: set KESOS_TOKEN_TRUSTED_KEYS_FILE (public keys, one per \
             line) or KESOS_TOKEN_KEY_FILE; see the README's \"Access control\""
        );
    }
    let limiter = RateLimiter::new(
        config.public_rate_limit_per_minute,
        config.public_rate_limit_burst,
        kesos_auth::rate::DEFAULT_MAX_CLIENTS,
    );
    let access_log = AccessLog::new(kesos_auth::access_log::DEFAULT_CAPACITY);
    let verifier =
        TokenVerifier::new(keys, config.token_audience.clone()).with_lifetimes(lifetimes(config));
    Ok(Gate::revocable(
        verifier,
        limiter,
        access_log,
        revocations,
        legacy,
    ))
}

/// The longest lifetime of each role's token, from the configuration.
pub fn lifetimes(config: &Config) -> Lifetimes {
    Lifetimes::from_secs(
        config.token_max_lifetime_people_secs,
        config.token_max_lifetime_lsps_secs,
    )
}

/// The paths this process serves, each once, in the order of the route tables: for the
/// start-up banner.
pub fn served_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Vec::new();
    for rule in access_rules() {
        if !paths.contains(&rule.path) {
            paths.push(rule.path);
        }
    }
    paths
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The public answer of a process that is not ready: a fixed text, because `/readyz` needs no
/// token and a store's error names databases, tables, hosts and users. The cause goes to the
/// log.
async fn ready(State(state): State<AppState>) -> Response {
    match readiness(&state).await {
        Ok(nats) => Json(
            json!({ "status": "ready", "mode": state.mode.to_string(), "store": "ok", "nats": nats }),
        )
        .into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// Whether the process is ready: its store readable, NATS connected (distributed mode), no
/// consumer stalled. Answers NATS's state for `/readyz`, or the 503 and logs why. Shared by
/// `/readyz` and the `kesos_ready` metric.
pub async fn readiness(state: &AppState) -> Result<&'static str, Problem> {
    let not_ready =
        || Problem::unavailable("kesos is not ready; the operator finds the cause in its log");
    if let Err(error) = state.store.head_position().await {
        tracing::warn!(%error, "not ready: the event store cannot be read");
        return Err(not_ready());
    }
    let nats = match &state.nats {
        None => "not used (embedded mode)",
        Some(client) if client.connection_state() == async_nats::connection::State::Connected => {
            "connected"
        }
        Some(client) => {
            tracing::warn!(state = %client.connection_state(), "not ready: NATS is not connected");
            return Err(not_ready());
        }
    };
    let stalled = state.stalls.current();
    if !stalled.is_empty() {
        for (consumer, stall) in &stalled {
            tracing::warn!(
                consumer, attempts = stall.attempts, seconds = stall.since.elapsed().as_secs(),
                reason = %stall.reason, "not ready: a consumer is stalled"
            );
        }
        return Err(Problem::unavailable(
            "a consumer is stalled on a transient failure; see the log",
        ));
    }
    Ok(nats)
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
