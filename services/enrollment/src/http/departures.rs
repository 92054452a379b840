//! The departure and return handlers: a worker leaves the programme on a business date and
//! may come back on a later one. Both are worker updates, authorised like a posting move (a
//! Dinas office in its own region), dated by the caller, and answered with the worker.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use kesos_auth::Caller;
use kesos_http::{JsonBody, Path, Problem};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use utoipa::ToSchema;

use super::errors::problem;
use super::handlers::{Answer, authorize_worker, invalid, reason, refused, worker_id};
use crate::domain::{DepartureReason, Worker, WorkerId};
use crate::service::{Enrollment, EnrollmentError, WorkerView};

/// Why and when the worker left the programme.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DepartureBody {
    /// resigned, retired, died or left_programme.
    reason: String,
    /// The business date YYYY-MM-DD (WIB): not before the registration, not in the future.
    departed_on: String,
    /// An optional note, e.g. the decree's number (at most 2,000 characters).
    #[serde(default)]
    note: Option<String>,
}

/// When the worker came back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReturnBody {
    /// The business date YYYY-MM-DD (WIB): after the departure, not in the future.
    returned_on: String,
}

/// A business date as the API takes it: `YYYY-MM-DD`, a real day.
fn business_date(field: &str, text: &str) -> Result<Date, Problem> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| {
        invalid(
            field,
            &format!("{field}.date"),
            format!("{text:?} is not a real business date YYYY-MM-DD"),
        )
    })
}

pub(super) async fn depart(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DepartureBody>,
) -> Answer {
    let worker = worker_id(&id)?;
    authorize_worker(&enrollment, &caller, worker).await?;
    let why = DepartureReason::parse(&body.reason)
        .map_err(|e| invalid("reason", "reason.known", e.to_string()))?;
    let departed_on = business_date("departed_on", &body.departed_on)?;
    let note = body
        .note
        .filter(|note| !note.trim().is_empty())
        .map(|note| reason("note", &note))
        .transpose()?;
    let context = caller.command_context(&headers)?;
    let within = caller.principal().role.region().map(|scope| scope.code());
    let state = enrollment
        .depart(worker, why, departed_on, note, within, &context)
        .await
        .map_err(|e| refused(&caller, e))?;
    answer(&enrollment, &caller, worker, &state).await
}

pub(super) async fn come_back(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReturnBody>,
) -> Answer {
    let worker = worker_id(&id)?;
    authorize_worker(&enrollment, &caller, worker).await?;
    let returned_on = business_date("returned_on", &body.returned_on)?;
    let context = caller.command_context(&headers)?;
    let within = caller.principal().role.region().map(|scope| scope.code());
    let state = enrollment
        .come_back(worker, returned_on, within, &context)
        .await
        .map_err(|e| refused(&caller, e))?;
    answer(&enrollment, &caller, worker, &state).await
}

/// The worker as the command left it, with personal data for those who may see it.
async fn answer(
    enrollment: &Enrollment,
    caller: &Caller,
    worker: WorkerId,
    state: &Worker,
) -> Answer {
    let key = enrollment
        .vault()
        .key(worker.0)
        .await
        .map_err(|e| problem(EnrollmentError::Vault(e)))?;
    let mut view = WorkerView::of(state, &key);
    if !caller.sees_personal_data() {
        view.nik = None;
        view.full_name = None;
        view.birth_date = None;
    }
    Ok(Json(view).into_response())
}
