//! The command routes: each reads and checks its input, runs the command, waits until the
//! read models show the command's own write (so the caller's next list sees it), and answers
//! the state it left.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use kesos_auth::Caller;
use kesos_commands::Executed;
use kesos_http::{JsonBody, Path, Problem};
use kesos_regions::Regions;

use super::errors::problem;
use super::forms::{
    AllocateForm, ChangeForm, ReasonForm, RescheduleForm, ResultForm, ResultInput, ScheduleForm,
    SeatForm,
};
use super::routes::{
    Answer, ApiState, answer, authorize_session, candidate_id, load_session, session_id,
};
use crate::domain::{Attendance, Session, SessionId};
use crate::service::ReportedDecision;

/// Answers a command's outcome once the read models show its appends (or the wait gave up:
/// the write is durable either way).
async fn settled(
    api: &ApiState,
    status: StatusCode,
    id: SessionId,
    ran: Executed<Session>,
) -> Answer {
    api.scheduling.settle(&ran.positions).await;
    answer(status, id, &ran.state)
}

pub(super) async fn schedule(
    State(api): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(form): JsonBody<ScheduleForm>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let session = match &form.session_id {
        Some(text) => session_id(text)?,
        None => SessionId(context.command_id),
    };
    let scheme = api
        .scheduling
        .scheme(form.scheme_code())
        .map_err(|e| e.to_string());
    let plan = form
        .plan(
            scheme,
            Regions::embedded(),
            api.scheduling.policy().roster_lock_days,
        )
        .map_err(Problem::invalid)?;
    let ran = api
        .scheduling
        .schedule(&context, session, plan)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::CREATED, session, ran).await
}

pub(super) async fn change(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<ChangeForm>,
) -> Answer {
    let session = session_id(&id)?;
    let context = caller.command_context(&headers)?;
    let (timing, reason) = form.timing().map_err(Problem::invalid)?;
    let ran = api
        .scheduling
        .change(&context, session, timing, reason)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn cancel(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<ReasonForm>,
) -> Answer {
    let session = session_id(&id)?;
    let context = caller.command_context(&headers)?;
    let reason = form.reason().map_err(Problem::invalid)?;
    let ran = api
        .scheduling
        .cancel(&context, session, reason)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn lock(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let session = session_id(&id)?;
    let context = caller.command_context(&headers)?;
    let ran = api
        .scheduling
        .lock(&context, session)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn seat(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<SeatForm>,
) -> Answer {
    let session = session_id(&id)?;
    let candidate = candidate_id(&form.candidate_id)?;
    let context = caller.command_context(&headers)?;
    let ran = api
        .scheduling
        .seat(&context, session, candidate)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn unseat(
    State(api): State<ApiState>,
    caller: Caller,
    Path((id, candidate)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<ReasonForm>,
) -> Answer {
    let session = session_id(&id)?;
    let candidate = candidate_id(&candidate)?;
    let context = caller.command_context(&headers)?;
    let reason = form.reason().map_err(Problem::invalid)?;
    let ran = api
        .scheduling
        .unseat(&context, session, candidate, reason)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn reschedule(
    State(api): State<ApiState>,
    caller: Caller,
    Path((id, candidate)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<RescheduleForm>,
) -> Answer {
    let from = session_id(&id)?;
    let candidate = candidate_id(&candidate)?;
    let context = caller.command_context(&headers)?;
    let (to, reason) = form.checked().map_err(Problem::invalid)?;
    let ran = api
        .scheduling
        .reschedule(&context, from, candidate, to, reason)
        .await
        .map_err(problem)?;
    settled(&api, StatusCode::OK, to, ran).await
}

pub(super) async fn record_result(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<ResultForm>,
) -> Answer {
    let session = session_id(&id)?;
    authorize_session(&caller, &load_session(&api, session).await?)?;
    let context = caller.command_context(&headers)?;
    let ran = match form.checked().map_err(Problem::invalid)? {
        ResultInput::NoShow(candidate, lsps) => {
            api.scheduling
                .record_attendance(&context, session, candidate, Attendance::NoShow, lsps)
                .await
        }
        ResultInput::Decided {
            candidate,
            units,
            decision,
            assessors,
            decided_at,
            lsps,
        } => {
            let reported = ReportedDecision {
                candidate,
                units,
                decision,
                assessors,
                decided_at: decided_at.unwrap_or(context.occurred_at),
                lsps,
                message_id: format!("manual:{}", context.command_id),
            };
            api.scheduling
                .record_decision(&context, session, reported)
                .await
        }
    }
    .map_err(problem)?;
    settled(&api, StatusCode::OK, session, ran).await
}

pub(super) async fn allocate(
    State(api): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Answer {
    let form: AllocateForm = if body.is_empty() {
        AllocateForm::default()
    } else {
        kesos_http::body::parse(&body)?
    };
    let context = caller.command_context(&headers)?;
    if let Some(scheme) = &form.scheme {
        api.scheduling.scheme(scheme).map_err(problem)?;
    }
    let allocation = api
        .scheduling
        .allocate(&context, form.scheme.as_deref())
        .await
        .map_err(problem)?;
    api.scheduling.settle(&[allocation.position]).await;
    Ok(Json(allocation).into_response())
}
