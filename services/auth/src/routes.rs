//! The access log's read route, for auditors: `GET /v1/access-log?limit=100`, newest first.

use axum::extract::{Query, State};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::gate::{Caller, Gate};
use crate::policy::Action;
use crate::secured::{Rule, Secured};

/// Most entries one read returns.
const MAX_LIMIT: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<usize>,
}

fn secured() -> Secured<Gate> {
    Secured::new().get("/v1/access-log", Action::ReadHistory, recent)
}

/// The access-log route over `gate`'s log.
pub fn router(gate: Gate) -> Router {
    secured().into_router().with_state(gate)
}

/// The access log route's rules.
pub fn rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

async fn recent(
    State(gate): State<Gate>,
    _caller: Caller,
    Query(query): Query<LimitQuery>,
) -> Json<Value> {
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    Json(json!({ "denials": gate.access_log().recent(limit) }))
}
