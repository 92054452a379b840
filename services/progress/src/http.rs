//! Progress over HTTP: a region's figures with drill-down to its children, monthly series, as-of
//! parameters, and a worker's history for auditors. Errors are `application/problem+json` naming
//! the field and the rule. Every route declares its access rule: progress is read by central
//! operations, auditors and a Dinas office within its own region (a Dinas asking for the nation
//! gets its own region); the projection's status and worker histories by central operations and
//! auditors.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, Caller, Rule, Secured};
use kesos_http::{FieldError, Path, Problem, Query};
use kesos_proto::kesos::enrollment::v1::{WorkerCategory, WorkerRole};
use kesos_regions::{RegionCode, Regions};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::measure::ALL_SCHEMES;
use crate::plan::micros;
use crate::query::{AsOf, Filter, Scope};
use crate::reads::{Figures, Progress, day_of};

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
type Params = Query<BTreeMap<String, String>>;

const KNOWN: [&str; 7] = [
    "region", "category", "role", "scheme", "as_of", "known_at", "year",
];

fn invalid(field: &str, rule: &str, detail: impl Into<String>) -> Problem {
    Problem::invalid(vec![FieldError::new(field, rule, detail)])
}

/// The question a query string asks.
struct Question {
    filter: Filter,
    as_of: AsOf,
    as_of_date: Option<Date>,
    known_at: Option<OffsetDateTime>,
    year: i32,
}

fn question(params: Params, caller: &Caller) -> Result<Question, Problem> {
    let Query(params) = params;
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(
            unknown,
            "query.unknown",
            format!("is not a parameter; known: {}", KNOWN.join(", ")),
        ));
    }
    let requested = match params.get("region").map(String::as_str) {
        None | Some("") => None,
        Some(code) => Some(
            RegionCode::parse(code)
                .map_err(|e| invalid("region", "region.format", e.to_string()))?,
        ),
    };
    let allowed = caller.region_filter(requested)?;
    let scope = scope(allowed.as_ref().map_or("", RegionCode::as_str))?;
    let category = params
        .get("category")
        .map(|text| {
            WorkerCategory::from_str_name(&format!("WORKER_CATEGORY_{}", text.to_uppercase()))
                .filter(|c| *c != WorkerCategory::Unspecified)
                .map(|c| c as i32)
                .ok_or_else(|| {
                    invalid(
                        "category",
                        "category.enum",
                        "must be one of peksos, tks, penyuluh_sosial, relawan_sosial",
                    )
                })
        })
        .transpose()?;
    let role = params
        .get("role")
        .map(|text| {
            WorkerRole::from_str_name(&format!("WORKER_ROLE_{}", text.to_uppercase()))
                .filter(|r| *r != WorkerRole::Unspecified)
                .map(|r| r as i32)
                .ok_or_else(|| invalid("role", "role.enum", "is not a worker role code"))
        })
        .transpose()?;
    let scheme = match params.get("scheme") {
        Some(code) if code.is_empty() || code.len() > 64 => {
            return Err(invalid(
                "scheme",
                "scheme.length",
                "must be 1-64 characters",
            ));
        }
        Some(code) => code.clone(),
        None => ALL_SCHEMES.to_owned(),
    };
    let as_of_date = params
        .get("as_of")
        .map(|text| {
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| invalid("as_of", "as_of.date", "must be a business date YYYY-MM-DD"))
        })
        .transpose()?;
    let known_at = params
        .get("known_at")
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                invalid(
                    "known_at",
                    "known_at.rfc3339",
                    "must be an RFC 3339 instant",
                )
            })
        })
        .transpose()?;
    let year = match params.get("year") {
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|y| (1945..=9999).contains(y))
            .ok_or_else(|| invalid("year", "year.range", "must be a year from 1945"))?,
        None => as_of_date.map_or_else(|| OffsetDateTime::now_utc().year(), |d| d.year()),
    };
    Ok(Question {
        filter: Filter {
            scope,
            category,
            role,
            scheme,
        },
        as_of: AsOf {
            day: as_of_date.map(day_of),
            recorded_us: known_at.map(micros),
        },
        as_of_date,
        known_at,
        year,
    })
}

fn scope(code: &str) -> Result<Scope, Problem> {
    if code.is_empty() {
        return Ok(Scope::Nation);
    }
    let parsed =
        RegionCode::parse(code).map_err(|e| invalid("region", "region.format", e.to_string()))?;
    if Regions::embedded().get(&parsed).is_none() {
        return Err(invalid(
            "region",
            "region.known",
            "is not a Kemendagri region code",
        ));
    }
    Scope::of_code(parsed.as_str()).ok_or_else(|| {
        invalid(
            "region",
            "region.level",
            "must be a province or kabupaten/kota",
        )
    })
}

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

fn internal(error: &crate::ProgressError) -> Problem {
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
