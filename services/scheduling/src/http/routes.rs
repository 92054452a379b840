//! The route table (each route once, with its access rule: the router and the gate's policy
//! are built from it) and what the command and read handlers share.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, Caller, Rule, Scope, Secured};
use kesos_http::{FieldError, Problem};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::errors::problem;
use super::forms::uuid;
use super::{commands, reads};
use crate::domain::{Attendance, CandidateId, Session, SessionId};
use crate::lsps::roster::RosterNames;
use crate::service::Scheduling;

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
    use commands as c;
    use reads as r;
    Secured::new()
        .post("/v1/sessions", A::ScheduleSession, c::schedule)
        .get("/v1/sessions", A::ReadSessions, r::list_sessions)
        .get(
            "/v1/sessions/{session_id}",
            A::ReadSessions,
            r::read_session,
        )
        .post(
            "/v1/sessions/{session_id}/change",
            A::ScheduleSession,
            c::change,
        )
        .post(
            "/v1/sessions/{session_id}/cancel",
            A::ScheduleSession,
            c::cancel,
        )
        .post(
            "/v1/sessions/{session_id}/lock",
            A::ScheduleSession,
            c::lock,
        )
        .post(
            "/v1/sessions/{session_id}/results",
            A::RecordResults,
            c::record_result,
        )
        .get("/v1/sessions/{session_id}/roster", A::ReadRoster, r::roster)
        .post(
            "/v1/sessions/{session_id}/seats",
            A::SeatCandidates,
            c::seat,
        )
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/unseat",
            A::SeatCandidates,
            c::unseat,
        )
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/reschedule",
            A::SeatCandidates,
            c::reschedule,
        )
        .post("/v1/allocations", A::SeatCandidates, c::allocate)
        .get("/v1/candidates", A::ReadCandidates, r::list_candidates)
        .get(
            "/v1/candidates/{candidate_id}",
            A::ReadCandidates,
            r::read_candidate,
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

/// What every handler answers: JSON, or a problem.
pub(super) type Answer = Result<Response, Problem>;

/// Checks the caller may take its route's action on a session: a Dinas where the session is
/// sited (or organised), an LSPS on its own sessions.
pub(super) fn authorize_session(caller: &Caller, state: &Session) -> Result<(), Problem> {
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

pub(super) async fn load_session(api: &ApiState, session: SessionId) -> Result<Session, Problem> {
    api.scheduling
        .session(session)
        .await
        .map_err(problem)?
        .ok_or_else(|| Problem::not_found(format!("session {session} does not exist")))
}

pub(super) fn one(error: FieldError) -> Problem {
    Problem::invalid(vec![error])
}

pub(super) fn session_id(text: &str) -> Result<SessionId, Problem> {
    uuid("session_id", text).map(SessionId).map_err(one)
}

pub(super) fn candidate_id(text: &str) -> Result<CandidateId, Problem> {
    uuid("candidate_id", text).map(CandidateId).map_err(one)
}

pub(super) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub(super) fn session_json(id: SessionId, state: &Session) -> Value {
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

pub(super) fn answer(status: StatusCode, id: SessionId, state: &Session) -> Answer {
    Ok((status, Json(session_json(id, state))).into_response())
}
