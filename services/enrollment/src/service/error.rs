//! What an enrollment operation can fail with, between the domain's rules and HTTP: each
//! variant says which status it maps to (see `http`).

use kesos_aggregate::DecodeError;
use kesos_commands::AppError;
use kesos_eventstore::StoreError;
use kesos_http::FieldError;
use kesos_vault::VaultError;

use crate::domain::{TargetError, WorkerError, WorkerId};

/// Why an enrollment operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollmentError {
    /// Input that breaks field rules (HTTP 400); nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// An uploaded file goes beyond one of the reader's limits (HTTP 422): the field error names
    /// the limit (`file.limit.columns`, ...) and its value.
    #[error("{}: {}", .0.field, .0.detail)]
    OverLimit(FieldError),
    /// The service is stopping and the work was cancelled (HTTP 503).
    #[error("the service is shutting down")]
    ShuttingDown,
    /// A worker rule refused the command (HTTP 409 or 422).
    #[error(transparent)]
    Worker(WorkerError),
    /// A target rule refused the command (HTTP 422).
    #[error(transparent)]
    Target(TargetError),
    /// The NIK belongs to a registered worker already (HTTP 409).
    #[error("this NIK is registered already, to worker {existing}")]
    DuplicateNik {
        /// The worker who holds it.
        existing: WorkerId,
    },
    /// No such worker (HTTP 404).
    #[error("worker {0} does not exist")]
    WorkerNotFound(WorkerId),
    /// Other writers kept changing the stream (HTTP 409; retry with the same key).
    #[error("the record kept changing under the command; retry with the same Idempotency-Key")]
    Contended,
    /// A stored event could not be read (HTTP 500, logged).
    #[error("a stored event could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The store failed (HTTP 503 when transient, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key vault failed (HTTP 500, logged).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The read model's database failed (HTTP 503/500).
    #[error("read model: {0}")]
    ReadModel(#[from] sqlx::Error),
}

impl From<AppError<WorkerError>> for EnrollmentError {
    fn from(error: AppError<WorkerError>) -> Self {
        match error {
            AppError::Domain(e) => Self::Worker(e),
            AppError::Conflict { .. } => Self::Contended,
            AppError::Decode(e) => Self::Decode(e),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl From<AppError<TargetError>> for EnrollmentError {
    fn from(error: AppError<TargetError>) -> Self {
        match error {
            AppError::Domain(e) => Self::Target(e),
            AppError::Conflict { .. } => Self::Contended,
            AppError::Decode(e) => Self::Decode(e),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl EnrollmentError {
    /// One invalid field.
    pub fn field(field: &str, rule: &str, detail: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, rule, detail)])
    }
}
