//! Progress over HTTP: a region's figures with drill-down to its children, monthly series, as-of
//! parameters, and a worker's history for auditors. Errors are `application/problem+json` naming
//! the field and the rule. Every route declares its access rule: progress is read by central
//! operations, auditors and a Dinas office within its own region (a Dinas asking for the nation
//! gets its own region); the projection's status and worker histories by central operations and
//! auditors. Each route is written once, in the route table, with its access rule and its
//! OpenAPI operation: the router, the policy and the document's paths all come from it.

pub mod export;
mod openapi;
mod question;
mod workbook;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, ApiPart, Caller, Rule, Secured};
use kesos_http::{Operation, Path, Problem, Query};
use kesos_proto::kesos::enrollment::v1::WorkerCategory;
use kesos_regions::{RegionCode, Regions};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::service::{Figures, Progress};
use question::{Params, Question, invalid, question, question_within};

/// Every route once, with its access rule and its description: the router, the gate's policy
/// and the OpenAPI paths are built from this table only.
fn secured() -> Secured<Progress> {
    Secured::new()
        .get(
            "/v1/progress",
            Action::ReadProgress,
            region,
            openapi::region_answer(openapi::question(
                "A region's figures and each child region's (provinces of the nation, \
                 kabupaten/kota of a province), now or as of a business date and/or a recorded \
                 time, with the certification rate and progress against the year's target.",
            ))
            .problem(
                400,
                "a parameter is malformed or unknown: `errors` names it and the rule",
            ),
        )
        .get(
            "/v1/progress/table",
            Action::ReadProgress,
            table,
            openapi::question(
                "The same region's tables as files to take away: its children (a row for the \
                 region and one per child region, every measure, the target and the rates) or \
                 its months (a row per month, each count's change and its value at the month's \
                 end), with the as-of date and the filters on every row.",
            )
            .query_one_of(
                "table",
                "Which table: children (the default) or months (the monthly series).",
                &["children", "months"],
            )
            .query_one_of("format", "The file: CSV (UTF-8) or XLSX.", &["csv", "xlsx"])
            .answers_file(
                200,
                "the table, as an attachment named after the table, the region and the as-of \
                 date",
                &["text/csv", export::XLSX],
            )
            .problem(
                400,
                "a parameter is malformed, unknown or missing (`format`): `errors` names it \
                 and the rule",
            ),
        )
        .post(
            "/v1/progress/workbook",
            Action::ReadProgress,
            workbook::workbook,
            Operation::new(
                "The caller's own table (a header row and rows of text) written as an Excel \
                 workbook, every column formatted as text: how the dashboard takes away the \
                 lists it reads from the other services. Nothing is read or stored.",
            )
            .body::<workbook::WorkbookBody>()
            .answers_file(
                200,
                "the workbook, as an attachment named `<name>.xlsx`",
                &[export::XLSX],
            )
            .problem(
                400,
                "the body is malformed, or breaks a rule (`name`, `headers`, `rows`): `errors` \
                 names the field and the rule",
            ),
        )
        .get(
            "/v1/progress/series",
            Action::ReadProgress,
            series,
            openapi::question(
                "A region's monthly series: each count's net change during the month and its \
                 value at the month's end.",
            )
            .answers(200, "{ region, as_of, months: [{ month, change, end }] }")
            .problem(400, "a parameter is malformed"),
        )
        .get(
            "/v1/progress/status",
            Action::ReadHistory,
            status,
            Operation::new(
                "How far the live projection has applied each event log (head, applied, behind).",
            )
            .answers(200, "per source"),
        )
        .get(
            "/v1/audit/workers/{worker_id}/history",
            Action::ReadHistory,
            history,
            Operation::new(
                "A worker's full history across enrollment, scheduling and certification, in \
                 business-time order: each step with actor, business and recorded time, reason \
                 or basis, causation and correlation ids.",
            )
            .answers(200, "{ worker_id, steps: [Step] }")
            .problem(400, "not a UUID")
            .problem(404, "no history for this worker"),
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

/// The progress routes' part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
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

async fn table(State(progress): State<Progress>, caller: Caller, params: Params) -> Answer {
    let Query(params) = params;
    let table = export(&progress, params, |requested| {
        caller.region_filter(requested)
    })
    .await?;
    Ok(table.into_response())
}

/// The table `GET /v1/progress/table` answers, as central operations see it (every region),
/// for the same parameters: `kesos report progress` writes it to a file. A bad parameter is
/// the same problem, naming the field and the rule.
pub async fn table_for_operators(
    progress: &Progress,
    params: BTreeMap<String, String>,
) -> Result<export::Table, Problem> {
    export(progress, params, Ok).await
}

async fn export(
    progress: &Progress,
    mut params: BTreeMap<String, String>,
    allowed: impl FnOnce(Option<RegionCode>) -> Result<Option<RegionCode>, Problem>,
) -> Result<export::Table, Problem> {
    let format = export::Format::parse(params.remove("format").as_deref())?;
    let contents = export::Contents::parse(params.remove("table").as_deref())?;
    let question = question_within(params, allowed)?;
    match contents {
        export::Contents::Children => {
            let report = progress
                .region(&question.filter, question.as_of, question.year)
                .await
                .map_err(|e| internal(&e))?;
            export::table(format, &report, &question)
        }
        export::Contents::Months => {
            let months = progress
                .series(&question.filter, question.as_of)
                .await
                .map_err(|e| internal(&e))?;
            let code = question.filter.scope.code();
            export::months_table(format, code, &months, &question)
        }
    }
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
