//! Every [`CertificationError`] as a problem: bad input 400, a missing certificate 404, a
//! refusal by the certificate's current state 409, a number that is not a valid certificate
//! number (or a rule the input can never meet) 422, a store away 503, anything else a logged
//! 500 that leaks nothing.

use axum::http::StatusCode;
use kesos_http::{FieldError, Problem};

use crate::domain::CertificateError;
use crate::service::CertificationError;

/// The problem for an error.
pub fn problem(error: CertificationError) -> Problem {
    match error {
        CertificationError::Invalid(errors) => Problem::invalid(errors),
        CertificationError::InvalidNumber(error) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-certificate-number",
            "Not a valid certificate number",
            error.to_string(),
        ),
        CertificationError::Certificate(error) => certificate(&error),
        CertificationError::NotFound(_)
        | CertificationError::NumberNotFound(_)
        | CertificationError::WrongCode(_) => Problem::not_found(error.to_string()),
        CertificationError::UnknownScheme(_) => Problem::rule(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-scheme",
            error.to_string(),
        ),
        CertificationError::Contended => {
            Problem::rule(StatusCode::CONFLICT, "contended", error.to_string())
        }
        CertificationError::NumbersExhausted(_) => Problem::unavailable(error.to_string()),
        CertificationError::Store(kesos_eventstore::StoreError::Input(input)) => Problem::invalid(
            vec![FieldError::new("body", "store.input", input.to_string())],
        ),
        CertificationError::Store(store) if store.is_transient() => {
            tracing::warn!(%store, "store unavailable");
            Problem::unavailable(
                "the event store is unavailable; retry with the same Idempotency-Key",
            )
        }
        CertificationError::ReadModel(error) => {
            tracing::warn!(%error, "read model unavailable");
            Problem::unavailable("the certificate registry is unavailable; retry shortly")
        }
        CertificationError::Behind(error) => {
            tracing::warn!(%error, "the certificate registry is behind");
            Problem::unavailable("the certificate registry is catching up; retry shortly")
        }
        CertificationError::Identities(error) => {
            tracing::warn!(%error, "holders' names unavailable");
            Problem::unavailable(
                "holders' names cannot be read now (enrollment is away); retry shortly",
            )
        }
        other => Problem::internal(&other),
    }
}

fn certificate(error: &CertificateError) -> Problem {
    let (status, kind) = match error {
        CertificateError::NotIssued => return Problem::not_found(error.to_string()),
        CertificateError::AlreadyIssued(_) => (StatusCode::CONFLICT, "already-issued"),
        CertificateError::InvalidValidity(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-validity")
        }
        CertificateError::SupersedesItself => {
            (StatusCode::UNPROCESSABLE_ENTITY, "supersedes-itself")
        }
        CertificateError::Revoked { .. } => (StatusCode::CONFLICT, "certificate-revoked"),
        CertificateError::Expired { .. } => (StatusCode::CONFLICT, "certificate-expired"),
        CertificateError::Superseded { .. } => (StatusCode::CONFLICT, "certificate-superseded"),
        CertificateError::AlreadySuspended(_) => (StatusCode::CONFLICT, "already-suspended"),
        CertificateError::NotSuspended(_) => (StatusCode::CONFLICT, "not-suspended"),
        CertificateError::NotYetDue { .. } => (StatusCode::CONFLICT, "not-yet-due"),
    };
    Problem::rule(status, kind, error.to_string())
}
