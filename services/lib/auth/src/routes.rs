//! The access log's read route, for auditors: `GET /v1/access-log?limit=100`, newest first
//! (`limit` by the paging rule of every list, [`kesos_http::paging`]).

use axum::extract::State;
use axum::{Json, Router};
use kesos_http::{Operation, Problem, Query};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::gate::{Caller, Gate};
use crate::policy::Action;
use crate::secured::{ApiPart, Rule, Secured};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LimitQuery {
    limit: Option<u32>,
}

fn secured() -> Secured<Gate> {
    Secured::new().get(
        "/v1/access-log",
        Action::ReadHistory,
        recent,
        Operation::new(
            "The most recent denied requests (who, what, when, why), newest first; for \
             auditors and central operations.",
        )
        .query::<LimitQuery>()
        .answers(200, "{ denials: [AccessEntry] }"),
    )
}

/// The access-log route over `gate`'s log.
pub fn router(gate: Gate) -> Router {
    secured().into_router().with_state(gate)
}

/// The access log route's rules.
pub fn rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

/// The access log route's part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
}

async fn recent(
    State(gate): State<Gate>,
    _caller: Caller,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Value>, Problem> {
    // The one paging rule of every list: `limit` from 1 to 500, default 50.
    let limit = kesos_http::paging::limit_of(query.limit)?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(Json(json!({ "denials": gate.access_log().recent(limit) })))
}
