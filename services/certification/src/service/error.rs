//! What a certification operation can fail with, between the domain's rules and HTTP: each
//! variant says which status it maps to (see `http`).

use kesos_aggregate::DecodeError;
use kesos_commands::AppError;
use kesos_eventstore::StoreError;
use kesos_http::FieldError;
use kesos_readside::WaitError;

use crate::domain::{CertificateError, CertificateId, NumberError};

/// Why a certification operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CertificationError {
    /// Input that breaks field rules (HTTP 400); nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// Text that is not a valid certificate number: malformed, or its check character does not
    /// match (HTTP 422; never "not found").
    #[error(transparent)]
    InvalidNumber(#[from] NumberError),
    /// A certificate rule refused the command (HTTP 404, 409 or 422).
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// No certificate with this id (HTTP 404).
    #[error("certificate {0} does not exist")]
    NotFound(CertificateId),
    /// A valid number that no certificate carries (HTTP 404).
    #[error("no certificate has number {0}")]
    NumberNotFound(String),
    /// A verification code that is not the one printed on the certificate with this number
    /// (HTTP 404: nothing is shown for it).
    #[error(
        "no certificate has number {0} and this verification code; check the code printed beside the number"
    )]
    WrongCode(String),
    /// A decision for a scheme the reference data does not know: the decision is
    /// dead-lettered until the scheme is added (consumer: permanent failure).
    #[error(
        "scheme {0} is not in the certification reference data; add it and replay the decision"
    )]
    UnknownScheme(String),
    /// No free number was found after many attempts (HTTP 503; the consumer retries).
    #[error("no free certificate number after {0} attempts; retry later")]
    NumbersExhausted(u32),
    /// Other writers kept changing the certificate (HTTP 409; retry with the same key).
    #[error("the certificate kept changing under the command; retry with the same Idempotency-Key")]
    Contended,
    /// A stored event could not be read (HTTP 500, logged).
    #[error("a stored event could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The store failed (HTTP 503 when transient, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Enrollment, which alone can say who a worker is, did not answer (HTTP 503): the
    /// holder's name is asked of it at read time (see [`crate::service::views`]).
    #[error("worker identities are unavailable: {0}")]
    Identities(String),
    /// The read model's database failed (HTTP 503/500).
    #[error("read model: {0}")]
    ReadModel(#[from] sqlx::Error),
    /// The registry did not reach a position a command must read (HTTP 503; the consumer and
    /// the expiry job retry): its projector is behind or stalled (readiness says which).
    #[error("the certificate registry is behind the log: {0}")]
    Behind(#[from] WaitError),
    /// An export could not be rendered (HTTP 500, logged).
    #[error("export: {0}")]
    Export(String),
}

impl From<AppError<CertificateError>> for CertificationError {
    fn from(error: AppError<CertificateError>) -> Self {
        match error {
            AppError::Domain(e) => Self::Certificate(e),
            AppError::Conflict { .. } => Self::Contended,
            AppError::Decode(e) => Self::Decode(e),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl CertificationError {
    /// One invalid field.
    pub fn field(field: &str, rule: &str, detail: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, rule, detail)])
    }

    /// Whether retrying the same thing later may succeed (the consumer retries these).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(error) => error.is_transient(),
            Self::ReadModel(_)
            | Self::Behind(_)
            | Self::Contended
            | Self::NumbersExhausted(_)
            | Self::Identities(_) => true,
            _ => false,
        }
    }
}
