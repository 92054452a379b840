//! Every [`SchedulingError`] as a problem: bad input 400, a missing session or candidate 404,
//! a refusal that depends on current state 409, one that can never succeed as given 422, a
//! store away 503, anything else a logged 500 that leaks nothing.

use axum::http::StatusCode;
use kesos_http::Problem;

use crate::domain::SessionError as E;
use crate::service::SchedulingError;

/// The problem for an error.
pub fn problem(error: SchedulingError) -> Problem {
    match error {
        SchedulingError::Invalid(errors) => Problem::invalid(errors),
        SchedulingError::Session(error) => session(&error),
        SchedulingError::Candidate(error) => {
            Problem::rule(StatusCode::CONFLICT, "candidate-rule", error.to_string())
        }
        SchedulingError::SessionNotFound(_) | SchedulingError::CandidateNotFound(_) => {
            Problem::not_found(error.to_string())
        }
        SchedulingError::AssessorBooked { .. } => {
            Problem::rule(StatusCode::CONFLICT, "assessor-booked", error.to_string())
        }
        SchedulingError::SeatedElsewhere { .. } => {
            Problem::rule(StatusCode::CONFLICT, "seated-elsewhere", error.to_string())
        }
        SchedulingError::RescheduleFailed { .. } => {
            Problem::rule(StatusCode::CONFLICT, "reschedule-failed", error.to_string())
        }
        SchedulingError::UnknownScheme(_) => Problem::rule(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-scheme",
            error.to_string(),
        ),
        SchedulingError::Contended => {
            Problem::rule(StatusCode::CONFLICT, "contended", error.to_string())
        }
        SchedulingError::Store(kesos_eventstore::StoreError::Input(input)) => {
            Problem::invalid(vec![kesos_http::FieldError::new(
                "body",
                "store.input",
                input.to_string(),
            )])
        }
        SchedulingError::Store(store) if store.is_transient() => {
            tracing::warn!(%store, "store unavailable");
            Problem::unavailable(
                "the event store is unavailable; retry with the same Idempotency-Key",
            )
        }
        SchedulingError::ReadModel(error) => {
            tracing::warn!(%error, "read model unavailable");
            Problem::unavailable("the session lists are unavailable; retry shortly")
        }
        SchedulingError::Lagging(reason) => {
            tracing::warn!(%reason, "read models behind the log");
            Problem::unavailable("the session lists are behind; retry shortly")
        }
        other => Problem::internal(&other),
    }
}

fn session(error: &E) -> Problem {
    let (status, kind) = match error {
        E::NotScheduled => return Problem::not_found(error.to_string()),
        E::AlreadyScheduled => (StatusCode::CONFLICT, "already-scheduled"),
        E::CapacityZero => (StatusCode::UNPROCESSABLE_ENTITY, "capacity-zero"),
        E::TooFewAssessors { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too-few-assessors"),
        E::RepeatedAssessor(_) => (StatusCode::UNPROCESSABLE_ENTITY, "repeated-assessor"),
        E::StartsInThePast { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "starts-in-the-past"),
        E::EndsBeforeStart => (StatusCode::UNPROCESSABLE_ENTITY, "ends-before-start"),
        E::TooLong { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too-long"),
        E::CutoffOutOfRange => (StatusCode::UNPROCESSABLE_ENTITY, "cutoff-out-of-range"),
        E::NotOpen(_) => (StatusCode::CONFLICT, "session-not-open"),
        E::CutoffPassed { .. } => (StatusCode::CONFLICT, "cutoff-passed"),
        E::Full { .. } => (StatusCode::CONFLICT, "session-full"),
        E::SchemeMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "scheme-mismatch"),
        E::RegionNotServed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "region-not-served"),
        E::StillWaiting { .. } => (StatusCode::CONFLICT, "still-waiting"),
        E::Departed { .. } => (StatusCode::CONFLICT, "candidate-departed"),
        E::AlreadySeated => (StatusCode::CONFLICT, "already-seated"),
        E::NotSeated => (StatusCode::CONFLICT, "not-seated"),
        E::MoveToSameSession => (StatusCode::UNPROCESSABLE_ENTITY, "same-session"),
        E::CapacityBelowSeated { .. } => (StatusCode::CONFLICT, "capacity-below-seated"),
        E::LockBeforeCutoff { .. } => (StatusCode::CONFLICT, "lock-before-cutoff"),
        E::EmptyRoster => (StatusCode::CONFLICT, "empty-roster"),
        E::RosterNotLocked => (StatusCode::CONFLICT, "roster-not-locked"),
        E::SessionCancelled => (StatusCode::CONFLICT, "session-cancelled"),
        E::NotOnRoster => (StatusCode::CONFLICT, "not-on-roster"),
        E::AlreadyHeld => (StatusCode::CONFLICT, "already-held"),
        E::WrongLsps { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "wrong-lsps"),
        E::ContradictingAttendance { .. } => (StatusCode::CONFLICT, "contradicting-attendance"),
        E::ContradictingDecision { .. } => (StatusCode::CONFLICT, "contradicting-decision"),
        E::DecisionForNoShow => (StatusCode::CONFLICT, "decision-for-no-show"),
        E::NoUnits => (StatusCode::UNPROCESSABLE_ENTITY, "no-units"),
        E::RepeatedUnit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "repeated-unit"),
        E::UnknownUnit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown-unit"),
        E::MissingUnit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "missing-unit"),
        E::InconsistentDecision => (StatusCode::UNPROCESSABLE_ENTITY, "inconsistent-decision"),
        E::UnknownAssessor(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown-assessor"),
        E::NoAssessors => (StatusCode::UNPROCESSABLE_ENTITY, "no-assessors"),
        E::DecidedBeforeStart { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "decided-before-start"),
        E::NotReleasable => (StatusCode::CONFLICT, "not-releasable"),
    };
    Problem::rule(status, kind, error.to_string())
}
