//! Progress over HTTP: a region's figures with drill-down to its children, monthly series, as-of
//! parameters, and a worker's history for auditors. Errors are `application/problem+json` naming
//! the field and the rule. Every route declares its access rule: progress is read by central
//! operations, auditors and a Dinas office within its own region (a Dinas asking for the nation
//! gets its own region); the projection's status and worker histories by central operations and
//! auditors.

pub mod openapi;
mod question;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, Caller, Rule, Secured};
use kesos_http::{Path, Problem};
use kesos_proto::kesos::enrollment::v1::WorkerCategory;
use kesos_regions::{RegionCode, Regions};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::service::{Figures, Progress};
use question::{Params, Question, invalid, question};

/// The paths this module serves, for the start-up banner.
pub const ROUTES: &[&str] = &[
    "/v1/progress",
    "/v1/progress/series",
    "/v1/progress/status",
    "/v1/audit/workers/{worker_id}/history",
];

fn secured() -> Secured<Progress> {
    Secured::new()
        .get("/v1/progress", Action::ReadProgress, region)
        .get("/v1/progress/series", Action::ReadProgress, series)
        .get("/v1/progress/status", Action::ReadHistory, status)
        .get(
            "/v1/audit/workers/{worker_id}/history",
            Action::ReadHistory,
            history,
        )
}

/// The progress routes.
pub fn router(progress: Progress) -> Router {
    secured().into_router().with_state(progress)
}

/// The access rule of every progress route.
pub fn access_rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

type Answer = Result<Response, Problem>;

fn region_name(code: &str) -> Option<String> {
    if code.is_empty() {
        return Some("Indonesia".to_owned());
    }
    let parsed = RegionCode::parse(code).ok()?;
    Regions::embedded()
        .get(&parsed)
        .map(|r| r.name().to_owned())
}

#[derive(Serialize)]
struct Named<'a> {
    code: &'a str,
    name: Option<String>,
    figures: &'a Figures,
}

fn as_of_json(question: &Question) -> serde_json::Value {
    json!({
        "date": question.as_of_date.map(|d| d.to_string()),
        "known_at": question.known_at.and_then(|t| t.format(&Rfc3339).ok()),
    })
}

fn internal(error: &crate::error::ProgressError) -> Problem {
    Problem::internal(error)
}

async fn region(State(progress): State<Progress>, caller: Caller, params: Params) -> Answer {
    let question = question(params, &caller)?;
    let report = progress
        .region(&question.filter, question.as_of, question.year)
        .await
        .map_err(|e| internal(&e))?;
    let children: Vec<Named<'_>> = report
        .children
        .iter()
        .map(|(code, figures)| Named {
            code,
            name: region_name(code),
            figures,
        })
        .collect();
    Ok(Json(json!({
        "region": { "code": report.code, "name": region_name(&report.code) },
        "as_of": as_of_json(&question),
        "category": question.filter.category.and_then(|c| WorkerCategory::try_from(c).ok()).map(|c| c.as_str_name()),
        "scheme": question.filter.scheme,
        "year": question.year,
        "figures": report.figures,
        "children": children,
    }))
    .into_response())
}

async fn series(State(progress): State<Progress>, caller: Caller, params: Params) -> Answer {
    let question = question(params, &caller)?;
    let months = progress
        .series(&question.filter, question.as_of)
        .await
        .map_err(|e| internal(&e))?;
    Ok(Json(json!({
        "region": { "code": question.filter.scope.code(), "name": region_name(question.filter.scope.code()) },
        "as_of": as_of_json(&question),
        "months": months,
    }))
    .into_response())
}

async fn status(State(progress): State<Progress>) -> Answer {
    let applied = progress
        .model()
        .checkpoints()
        .await
        .map_err(|e| internal(&e))?;
    let mut sources = Vec::new();
    for source in progress.sources() {
        let head = source
            .store
            .head_position()
            .await
            .map_err(|e| Problem::internal(&e))?;
        let done = applied.get(&source.name).copied().unwrap_or(0);
        sources.push(json!({
            "source": source.name,
            "head": head,
            "applied": done,
            "behind": head.saturating_sub(done),
        }));
    }
    Ok(Json(json!({ "sources": sources, "checkpoints": applied })).into_response())
}

async fn history(State(progress): State<Progress>, Path(worker): Path<String>) -> Answer {
    let worker = Uuid::parse_str(&worker)
        .map_err(|_| invalid("worker_id", "worker_id.uuid", "must be a UUID"))?;
    let steps = progress.history(worker).await.map_err(|e| internal(&e))?;
    if steps.is_empty() {
        return Err(Problem::not_found("no history for this worker"));
    }
    Ok(Json(json!({ "worker_id": worker, "steps": steps })).into_response())
}
