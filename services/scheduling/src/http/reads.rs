//! The read routes: a session or candidate from its stream, the pool and session lists from
//! the read models as the projector has applied them. None of them writes or waits: a caller
//! sees its own writes because each command waits for them before it answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kesos_auth::{Caller, Scope};
use kesos_http::{FieldError, Paging, Path, Problem, Query};
use kesos_readside::Page;
use kesos_regions::RegionCode;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use super::errors::problem;
use super::forms::uuid;
use super::routes::{
    Answer, ApiState, answer, authorize_session, candidate_id, load_session, one, rfc3339,
    session_id,
};
use crate::domain::{ExternalId, WorkerId};
use crate::lsps::roster::build_roster;
use crate::projections::{CandidateFilter, SessionFilter};

pub(super) async fn read_session(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let session = session_id(&id)?;
    let state = load_session(&api, session).await?;
    authorize_session(&caller, &state)?;
    answer(StatusCode::OK, session, &state)
}

pub(super) async fn roster(
    State(api): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
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

/// The filters and paging of the session list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionsQuery {
    /// A scheme code.
    scheme: Option<String>,
    /// open, locked or cancelled.
    status: Option<String>,
    /// A region code prefix: sessions sited (or organised) within it.
    region: Option<String>,
    /// RFC 3339: sessions starting at or after it.
    from: Option<String>,
    /// RFC 3339: sessions starting before it.
    until: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

/// The paging of an LSPS's answers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AnswersQuery {
    /// The last `report_sequence` read (the `next` of the previous page); leave it out for
    /// the first page.
    #[param(minimum = 0)]
    after_sequence: Option<i64>,
    /// How many answers, 1 to 500 (default 50).
    limit: Option<u32>,
}

/// kesos' answers to an LSPS's reports, in report order: what its outcome subject carries,
/// for an LSPS (its own only) or central operations reading over HTTP.
pub(super) async fn list_answers(
    State(api): State<ApiState>,
    caller: Caller,
    Path(lsps): Path<String>,
    Query(query): Query<AnswersQuery>,
) -> Answer {
    let lsps = ExternalId::parse(&lsps)
        .map_err(|e| one(FieldError::new("lsps_id", "lsps_id.format", e.to_string())))?;
    caller.authorize(Scope {
        region: None,
        lsps: Some(lsps.as_str()),
    })?;
    let after = query
        .after_sequence
        .map(|sequence| {
            u64::try_from(sequence).map_err(|_| {
                one(FieldError::new(
                    "after_sequence",
                    "after_sequence.range",
                    "must be a report sequence, 0 or more",
                ))
            })
        })
        .transpose()?;
    let limit = kesos_http::paging::limit_of(query.limit)?;
    let page = api
        .scheduling
        .answers()
        .page(lsps.as_str(), after, limit)
        .await
        .map_err(problem)?;
    // The list's key is the sequence in 20 digits; clients see and pass back the number.
    let next = page.next.as_deref().and_then(|key| key.parse::<u64>().ok());
    Ok(Json(json!({ "items": page.items, "next": next, "total": page.total })).into_response())
}

/// The filters and paging of the candidate list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct CandidatesQuery {
    /// A scheme code.
    scheme: Option<String>,
    /// waiting, departed, seated, no_show, belum_kompeten or kompeten.
    status: Option<String>,
    /// A region code prefix: candidates posted within it.
    region: Option<String>,
    /// The session a candidate is seated in.
    session_id: Option<String>,
    /// The worker.
    worker_id: Option<String>,
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

pub(super) async fn list_sessions(
    State(api): State<ApiState>,
    caller: Caller,
    Query(query): Query<SessionsQuery>,
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

pub(super) async fn list_candidates(
    State(api): State<ApiState>,
    Query(query): Query<CandidatesQuery>,
) -> Answer {
    let paging = Paging::parse(query.after.as_deref(), query.limit)?;
    let filter = CandidateFilter {
        scheme: query.scheme.clone(),
        status: status_filter(
            query.status.as_ref(),
            &[
                "waiting",
                "departed",
                "seated",
                "no_show",
                "belum_kompeten",
                "kompeten",
            ],
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
        .list_candidates(&filter, paging.after.as_deref(), paging.limit)
        .await
        .map_err(problem)?;
    page_answer(page)
}

pub(super) async fn read_candidate(State(api): State<ApiState>, Path(id): Path<String>) -> Answer {
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
