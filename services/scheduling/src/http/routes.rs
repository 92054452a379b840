//! The handlers: each reads and checks its input, calls the service, and answers JSON.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, Caller, Rule, Scope, Secured};
use kesos_http::{FieldError, JsonBody, Paging, Path, Problem, Query};
use kesos_regions::{RegionCode, Regions};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::errors::problem;
use super::forms::{
    AllocateForm, ChangeForm, ReasonForm, RescheduleForm, ResultForm, ResultInput, ScheduleForm,
    SeatForm, uuid,
};
use crate::domain::{Attendance, CandidateId, Session, SessionId, WorkerId};
use crate::lsps::roster::{RosterNames, build_roster};
use crate::service::{CandidateFilter, Page, ReportedDecision, Scheduling, SessionFilter};

/// What the handlers share: the service, and where names come from for rosters fetched over
/// HTTP (enrollment, when it runs in this process).
#[derive(Clone)]
pub struct ApiState {
    /// The service.
    pub scheduling: Scheduling,
    /// Names and NIKs for rosters; `None` answers 503 on the roster route.
    pub names: Option<Arc<dyn RosterNames>>,
}

/// Every route with its access rule: the router is built from this table only.
fn secured() -> Secured<ApiState> {
    use Action as A;
    Secured::new()
        .post("/v1/sessions", A::ScheduleSession, schedule)
        .get("/v1/sessions", A::ReadSessions, list_sessions)
        .get("/v1/sessions/{session_id}", A::ReadSessions, read_session)
        .post(
            "/v1/sessions/{session_id}/change",
            A::ScheduleSession,
            change,
        )
        .post(
            "/v1/sessions/{session_id}/cancel",
            A::ScheduleSession,
            cancel,
        )
        .post("/v1/sessions/{session_id}/lock", A::ScheduleSession, lock)
        .post(
            "/v1/sessions/{session_id}/results",
            A::RecordResults,
            record_result,
        )
        .get("/v1/sessions/{session_id}/roster", A::ReadRoster, roster)
        .post("/v1/sessions/{session_id}/seats", A::SeatCandidates, seat)
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/unseat",
            A::SeatCandidates,
            unseat,
        )
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/reschedule",
            A::SeatCandidates,
            reschedule,
        )
        .post("/v1/allocations", A::SeatCandidates, allocate)
        .get("/v1/candidates", A::ReadCandidates, list_candidates)
        .get(
            "/v1/candidates/{candidate_id}",
            A::ReadCandidates,
            read_candidate,
        )
}

/// The scheduling routes; each passes the access gate with its rule.
pub fn router(state: ApiState) -> Router {
    secured().into_router().with_state(state)
}

/// The access rule of every scheduling route.
pub fn access_rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

type Answer = Result<Response, Problem>;

/// Checks the caller may take its route's action on a session: a Dinas where the session is
/// sited (or organised), an LSPS on its own sessions.
fn authorize_session(caller: &Caller, state: &Session) -> Result<(), Problem> {
    let Some(plan) = &state.plan else {
        return caller.authorize(Scope::none());
    };
    let region = match &plan.venue {
        crate::domain::Venue::TestSite { region, .. } => region,
        crate::domain::Venue::Online { organiser } => organiser,
    };
    let lsps = plan.lsps.to_string();
    caller.authorize(Scope {
        region: Some(region),
        lsps: Some(&lsps),
    })
}

async fn load_session(api: &ApiState, session: SessionId) -> Result<Session, Problem> {
    api.scheduling
        .session(session)
        .await
        .map_err(problem)?
        .ok_or_else(|| Problem::not_found(format!("session {session} does not exist")))
}

fn one(error: FieldError) -> Problem {
    Problem::invalid(vec![error])
}

fn session_id(text: &str) -> Result<SessionId, Problem> {
    uuid("session_id", text).map(SessionId).map_err(one)
}

fn candidate_id(text: &str) -> Result<CandidateId, Problem> {
    uuid("candidate_id", text).map(CandidateId).map_err(one)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn session_json(id: SessionId, state: &Session) -> Value {
    let Some(plan) = &state.plan else {
        return json!({ "session_id": id.to_string() });
    };
    let seats: Vec<Value> = state
        .seats
        .iter()
        .map(|(candidate, seat)| {
            json!({
                "candidate_id": candidate.to_string(),
                "worker_id": seat.worker.to_string(),
                "attendance": seat.attendance.map(|a| match a {
                    Attendance::Present => "present",
                    Attendance::NoShow => "no_show",
                }),
                "decision": seat.decision.as_ref().map(|(d, _)| match d {
                    crate::domain::Decision::Kompeten => "kompeten",
                    crate::domain::Decision::BelumKompeten => "belum_kompeten",
                }),
                "released": seat.released,
            })
        })
        .collect();
    let (mode, site) = match &plan.venue {
        crate::domain::Venue::TestSite { name, region } => (
            "test_site",
            json!({ "name": name, "region": region.to_string() }),
        ),
        crate::domain::Venue::Online { organiser } => (
            "online",
            json!({ "organiser_region": organiser.to_string() }),
        ),
    };
    json!({
        "session_id": id.to_string(),
        "status": state.status.code(),
        "scheme": { "code": plan.scheme.code, "category": plan.scheme.category, "level": plan.scheme.level },
        "mode": mode,
        "venue": site,
        "starts_at": rfc3339(plan.starts_at),
        "ends_at": rfc3339(plan.ends_at),
        "reschedule_cutoff": rfc3339(plan.cutoff),
        "capacity": plan.capacity,
        "seated": state.seated(),
        "assessor_ids": plan.assessors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "served_regions": plan.served.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "lsps_id": plan.lsps.to_string(),
        "seats": seats,
    })
}

fn answer(status: StatusCode, id: SessionId, state: &Session) -> Answer {
    Ok((status, Json(session_json(id, state))).into_response())
}

async fn schedule(
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
    answer(StatusCode::CREATED, session, &ran.state)
}

async fn read_session(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let session = session_id(&id)?;
    let state = load_session(&api, session).await?;
    authorize_session(&caller, &state)?;
    answer(StatusCode::OK, session, &state)
}

async fn change(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn cancel(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn lock(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn seat(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn unseat(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn reschedule(
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
    answer(StatusCode::OK, to, &ran.state)
}

async fn record_result(
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
    answer(StatusCode::OK, session, &ran.state)
}

async fn roster(State(api): State<ApiState>, caller: Caller, Path(id): Path<String>) -> Answer {
    let session = session_id(&id)?;
    let state = load_session(&api, session).await?;
    authorize_session(&caller, &state)?;
    let names = api.names.as_ref().ok_or_else(|| {
        Problem::unavailable("rosters are built where enrollment runs; ask that process")
    })?;
    if state.status != crate::domain::SessionStatus::Locked {
        return Err(Problem::rule(
            StatusCode::CONFLICT,
            "roster-not-locked",
            "the roster is available once it is locked",
        ));
    }
    let roster = build_roster(
        &api.scheduling,
        &**names,
        session,
        format!("http:{session}"),
    )
    .await
    .map_err(|e| Problem::unavailable(format!("the roster cannot be built now: {e}")))?;
    let candidates: Vec<Value> = roster
        .candidates
        .iter()
        .map(|c| json!({ "candidate_id": c.candidate_id, "worker_id": c.worker_id, "full_name": c.full_name, "nik": c.nik }))
        .collect();
    Ok(Json(json!({ "session_id": roster.session_id, "lsps_id": roster.lsps_id, "candidates": candidates })).into_response())
}

async fn allocate(
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
    Ok(Json(allocation).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    scheme: Option<String>,
    status: Option<String>,
    region: Option<String>,
    session_id: Option<String>,
    worker_id: Option<String>,
    from: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

fn region_filter(text: Option<&String>) -> Result<Option<RegionCode>, Problem> {
    text.map(|code| {
        RegionCode::parse(code)
            .map_err(|e| one(FieldError::new("region", "region.format", e.to_string())))
    })
    .transpose()
}

fn instant_filter(field: &str, text: Option<&String>) -> Result<Option<OffsetDateTime>, Problem> {
    text.map(|t| {
        OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            one(FieldError::new(
                field,
                format!("{field}.rfc3339"),
                "must be an RFC 3339 instant",
            ))
        })
    })
    .transpose()
}

fn status_filter(text: Option<&String>, allowed: &[&str]) -> Result<Option<String>, Problem> {
    match text {
        Some(status) if !allowed.contains(&status.as_str()) => Err(one(FieldError::new(
            "status",
            "status.enum",
            format!("must be one of {}", allowed.join(", ")),
        ))),
        other => Ok(other.cloned()),
    }
}

/// Which sessions a caller may list: an LSPS its own (a region filter only narrows them), a
/// Dinas its region's, other roles what the policy lets them read.
fn session_scope(
    caller: &Caller,
    requested: Option<RegionCode>,
) -> Result<(Option<RegionCode>, Option<String>), Problem> {
    match caller.principal().role.lsps() {
        Some(own) => {
            caller.authorize(Scope {
                region: None,
                lsps: Some(own.as_str()),
            })?;
            Ok((requested, Some(own.as_str().to_owned())))
        }
        None => Ok((caller.region_filter(requested)?, None)),
    }
}

async fn list_sessions(
    State(api): State<ApiState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Answer {
    let (region, lsps) = session_scope(&caller, region_filter(query.region.as_ref())?)?;
    let filter = SessionFilter {
        scheme: query.scheme.clone(),
        status: status_filter(query.status.as_ref(), &["open", "locked", "cancelled"])?,
        region,
        from: instant_filter("from", query.from.as_ref())?,
        until: instant_filter("until", query.until.as_ref())?,
        lsps,
    };
    let paging = Paging::parse(query.after.as_deref(), query.limit)?;
    let page = api
        .scheduling
        .pool()
        .await
        .map_err(problem)?
        .list_sessions(&filter, paging.after.as_deref(), paging.limit)
        .await
        .map_err(problem)?;
    page_answer(page)
}

fn page_answer<T: serde::Serialize>(page: Page<T>) -> Answer {
    Ok(
        Json(json!({ "items": page.items, "next": page.next, "total": page.total }))
            .into_response(),
    )
}

async fn list_candidates(State(api): State<ApiState>, Query(query): Query<ListQuery>) -> Answer {
    let paging = Paging::parse(query.after.as_deref(), query.limit)?;
    let filter = CandidateFilter {
        scheme: query.scheme.clone(),
        status: status_filter(
            query.status.as_ref(),
            &["waiting", "seated", "no_show", "belum_kompeten", "kompeten"],
        )?,
        region: region_filter(query.region.as_ref())?,
        session: query
            .session_id
            .as_ref()
            .map(|s| session_id(s))
            .transpose()?,
        worker: query
            .worker_id
            .as_ref()
            .map(|w| uuid("worker_id", w).map(WorkerId).map_err(one))
            .transpose()?,
    };
    let page = api
        .scheduling
        .pool()
        .await
        .map_err(problem)?
        .list_candidates(&filter, paging.after.as_deref(), paging.limit)
        .await
        .map_err(problem)?;
    page_answer(page)
}

async fn read_candidate(State(api): State<ApiState>, Path(id): Path<String>) -> Answer {
    let candidate = candidate_id(&id)?;
    let state = api
        .scheduling
        .candidate(candidate)
        .await
        .map_err(problem)?
        .and_then(|state| state.queued.clone().map(|q| (state, q)))
        .ok_or_else(|| Problem::not_found(format!("candidate {candidate} does not exist")))?;
    let (state, queued) = state;
    Ok(Json(json!({
        "candidate_id": candidate.to_string(),
        "worker_id": queued.worker.to_string(),
        "scheme": queued.scheme.code,
        "region": queued.region.to_string(),
        "verified_at": rfc3339(queued.verified_at),
        "eligible_from": state.eligible_from.map(|d| d.to_string()),
        "failed_attempts": state.failures.len(),
    }))
    .into_response())
}
