//! The route table (each route once, with its access rule: the router and the gate's policy
//! are built from it) and what the command and read handlers share.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kesos_auth::{Action, ApiPart, Caller, Rule, Scope, Secured};
use kesos_http::{FieldError, Operation, Problem};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::errors::problem;
use super::forms::{
    AllocateForm, ChangeForm, ReasonForm, RescheduleForm, ResultForm, ScheduleForm, SeatForm, uuid,
};
use super::openapi::{command, list};
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

/// Every route once, with its access rule and its description: the router, the gate's policy
/// and the OpenAPI paths are built from this table only.
fn secured() -> Secured<ApiState> {
    use Action as A;
    use commands as c;
    use reads as r;
    Secured::new()
        .post(
            "/v1/sessions",
            A::ScheduleSession,
            c::schedule,
            command(
                "Schedule a competency-test session; its assessors are booked in half-hour \
                 slots.",
            )
            .body::<ScheduleForm>()
            .answers(201, "the session"),
        )
        .get(
            "/v1/sessions",
            A::ReadSessions,
            r::list_sessions,
            list(
                "List sessions by session id; filter by scheme, status (open, locked, \
                 cancelled), region prefix, start range. A Dinas sees its region's sessions, \
                 an LSPS its own.",
            )
            .query::<r::SessionsQuery>(),
        )
        .get(
            "/v1/sessions/{session_id}",
            A::ReadSessions,
            r::read_session,
            Operation::new("A session with its plan, status and seats.")
                .answers(200, "the session")
                .problem(400, "not a UUID")
                .problem(404, "no such session"),
        )
        .post(
            "/v1/sessions/{session_id}/change",
            A::ScheduleSession,
            c::change,
            command("Change time, capacity, assessors or cut-off (bookings follow).")
                .body::<ChangeForm>()
                .answers(200, "the session"),
        )
        .post(
            "/v1/sessions/{session_id}/cancel",
            A::ScheduleSession,
            c::cancel,
            command("Cancel the session; every candidate goes back to the pool.")
                .body::<ReasonForm>()
                .answers(200, "the session"),
        )
        .post(
            "/v1/sessions/{session_id}/lock",
            A::ScheduleSession,
            c::lock,
            command("Lock the roster (after the cut-off) and send it to LSPS.")
                .answers(200, "the session"),
        )
        .post(
            "/v1/sessions/{session_id}/results",
            A::RecordResults,
            c::record_result,
            command("Record a result by hand (for an LSPS without the integration).")
                .body::<ResultForm>()
                .answers(200, "the session"),
        )
        .get(
            "/v1/lsps/{lsps_id}/outcomes",
            A::ReadSessions,
            r::list_answers,
            list(
                "kesos' answers to an LSPS's reports over NATS (the ReportOutcome messages), in \
                 report order: each report's stream sequence and message id, accepted, \
                 already_recorded, rejected or partly_accepted, and each refusal's field and \
                 rule. An LSPS reads its own; `after_sequence` is the last report_sequence \
                 read (the `next` of the previous page).",
            )
            .path_text(
                "lsps_id",
                "the LSPS: 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-'",
            )
            .query::<r::AnswersQuery>()
            .problem(403, "another LSPS's answers"),
        )
        .get(
            "/v1/sessions/{session_id}/roster",
            A::ReadRoster,
            r::roster,
            Operation::new("The locked roster with names and NIKs readable (what LSPS receives).")
                .answers(200, "roster")
                .problem(404, "no such session")
                .problem(409, "not locked yet"),
        )
        .post(
            "/v1/sessions/{session_id}/seats",
            A::SeatCandidates,
            c::seat,
            command("Seat a waiting candidate by hand.")
                .body::<SeatForm>()
                .answers(200, "the session"),
        )
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/unseat",
            A::SeatCandidates,
            c::unseat,
            command("Give up a seat before the cut-off.")
                .body::<ReasonForm>()
                .answers(200, "the session"),
        )
        .post(
            "/v1/sessions/{session_id}/seats/{candidate_id}/reschedule",
            A::SeatCandidates,
            c::reschedule,
            command("Move a candidate to another session before the cut-off.")
                .body::<RescheduleForm>()
                .answers(200, "the session joined"),
        )
        .post(
            "/v1/allocations",
            A::SeatCandidates,
            c::allocate,
            command(
                "Auto-allocate waiting candidates to open sessions: same kabupaten/kota first, \
                 then province, then online anywhere; oldest verification first.",
            )
            .body::<AllocateForm>()
            .answers(200, "{ seated, sessions, planned, waiting }"),
        )
        .get(
            "/v1/candidates",
            A::ReadCandidates,
            r::list_candidates,
            list(
                "List candidates by candidate id; filter by scheme, status (waiting, departed, \
                 seated, no_show, belum_kompeten, kompeten), region prefix, session, worker. A \
                 departed candidate (its worker left the programme) carries departed_on and \
                 departure_reason.",
            )
            .query::<r::CandidatesQuery>(),
        )
        .get(
            "/v1/candidates/{candidate_id}",
            A::ReadCandidates,
            r::read_candidate,
            Operation::new(
                "A candidate: scheme, region, queue time, waiting period and failed attempts.",
            )
            .answers(200, "the candidate")
            .problem(404, "no such candidate"),
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

/// The scheduling routes' part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
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
        "units": plan.units.iter().map(|unit| json!({ "code": unit.code, "title": unit.title })).collect::<Vec<_>>(),
        "seats": seats,
    })
}

pub(super) fn answer(status: StatusCode, id: SessionId, state: &Session) -> Answer {
    Ok((status, Json(session_json(id, state))).into_response())
}
