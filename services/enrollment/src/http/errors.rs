//! Every [`EnrollmentError`] as a problem: bad input 400, a missing worker or nomination 404,
//! a refusal that depends on current state 409, one that can never succeed as given 422 (an
//! upload beyond a reader limit among them), a store away or a shutdown 503, anything else a logged 500 that leaks nothing.

use axum::http::StatusCode;
use kesos_http::{FieldError, Problem};

use crate::domain::WorkerError;
use crate::service::EnrollmentError;

/// The problem for an error.
pub fn problem(error: EnrollmentError) -> Problem {
    match error {
        EnrollmentError::Invalid(errors) => Problem::invalid(errors),
        EnrollmentError::OverLimit(limit) => {
            let mut problem = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "file-limit",
                "File beyond a limit",
                format!("{}: {}", limit.field, limit.detail),
            );
            problem.errors = vec![limit];
            problem
        }
        EnrollmentError::ShuttingDown => Problem::unavailable(error.to_string()),
        EnrollmentError::Worker(error) => worker(&error),
        EnrollmentError::Target(error @ crate::domain::TargetError::InForceInFuture { .. }) => {
            let mut problem = Problem::rule(
                StatusCode::UNPROCESSABLE_ENTITY,
                "date-in-future",
                error.to_string(),
            );
            problem.errors = vec![FieldError::new(
                "in_force_from",
                "in_force_from.not_in_future",
                error.to_string(),
            )];
            problem
        }
        EnrollmentError::Target(error) => Problem::rule(
            StatusCode::UNPROCESSABLE_ENTITY,
            "target-rule",
            error.to_string(),
        ),
        EnrollmentError::DuplicateNik { .. } => {
            Problem::rule(StatusCode::CONFLICT, "duplicate-nik", error.to_string())
        }
        EnrollmentError::WorkerNotFound(_) => Problem::not_found(error.to_string()),
        EnrollmentError::Contended => {
            Problem::rule(StatusCode::CONFLICT, "contended", error.to_string())
        }
        EnrollmentError::Store(kesos_eventstore::StoreError::Input(input)) => {
            Problem::invalid(vec![kesos_http::FieldError::new(
                "body",
                "store.input",
                input.to_string(),
            )])
        }
        EnrollmentError::Store(store) if store.is_transient() => {
            tracing::warn!(%store, "store unavailable");
            Problem::unavailable(
                "the event store is unavailable; retry with the same Idempotency-Key",
            )
        }
        EnrollmentError::ReadModel(error) => {
            tracing::warn!(%error, "read model unavailable");
            Problem::unavailable("the worker directory is unavailable; retry shortly")
        }
        other => Problem::internal(&other),
    }
}

fn worker(error: &WorkerError) -> Problem {
    if let Some((kind, field, rule)) = date_rule(error) {
        let mut problem = Problem::rule(StatusCode::UNPROCESSABLE_ENTITY, kind, error.to_string());
        problem.errors = vec![FieldError::new(field, rule, error.to_string())];
        return problem;
    }
    let (status, kind) = match error {
        WorkerError::NotRegistered => return Problem::not_found(error.to_string()),
        WorkerError::UnknownNomination(_) => return Problem::not_found(error.to_string()),
        WorkerError::AlreadyRegistered(_) => (StatusCode::CONFLICT, "already-registered"),
        WorkerError::Erased => (StatusCode::CONFLICT, "worker-erased"),
        WorkerError::NominationAlreadyOpen { .. } => {
            (StatusCode::CONFLICT, "nomination-already-open")
        }
        WorkerError::WrongNominationStatus { .. } => (StatusCode::CONFLICT, "nomination-status"),
        WorkerError::NominationIdTaken(_) => (StatusCode::CONFLICT, "nomination-id-taken"),
        WorkerError::PenyuluhMustBeAsn(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "penyuluh-must-be-asn")
        }
        WorkerError::SchemeCategoryMismatch { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "scheme-category-mismatch")
        }
        WorkerError::PeriodOutOfRange(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "period-out-of-range")
        }
        WorkerError::Departed { .. } => (StatusCode::CONFLICT, "worker-departed"),
        WorkerError::AlreadyDeparted { .. } => (StatusCode::CONFLICT, "already-departed"),
        WorkerError::NotDeparted => (StatusCode::CONFLICT, "not-departed"),
        // Dated refusals are answered by `date_rule` above.
        WorkerError::DateInFuture { .. }
        | WorkerError::DepartureBeforeRegistration { .. }
        | WorkerError::DepartureBeforeReturn { .. }
        | WorkerError::ReturnNotAfterDeparture { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "date-rule")
        }
        // Refused as the gate refuses: nothing about the worker's whereabouts.
        WorkerError::OutsideRegion { .. } => return kesos_auth::forbidden(),
    };
    Problem::rule(status, kind, error.to_string())
}

/// A refusal of a date as given (422): its problem type, and the field and rule it names.
fn date_rule(error: &WorkerError) -> Option<(&'static str, &'static str, String)> {
    let (kind, field, rule) = match error {
        WorkerError::DateInFuture { field, .. } => ("date-in-future", *field, "not_in_future"),
        WorkerError::DepartureBeforeRegistration { .. } => (
            "departure-before-registration",
            "departed_on",
            "not_before_registration",
        ),
        WorkerError::DepartureBeforeReturn { .. } => (
            "departure-before-return",
            "departed_on",
            "not_before_return",
        ),
        WorkerError::ReturnNotAfterDeparture { .. } => (
            "return-not-after-departure",
            "returned_on",
            "after_departure",
        ),
        _ => return None,
    };
    Some((kind, field, format!("{field}.{rule}")))
}
