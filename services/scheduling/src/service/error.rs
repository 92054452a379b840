//! What a scheduling operation can fail with, between the domain's rules and HTTP: each
//! variant says which status it maps to (see `http`).

use kesos_aggregate::DecodeError;
use kesos_commands::AppError;
use kesos_eventstore::StoreError;
use kesos_http::FieldError;

use crate::domain::{CandidateError, CandidateId, SessionError, SessionId};

/// Why a scheduling operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulingError {
    /// Input that breaks field rules (HTTP 400); nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// A session rule refused the command (HTTP 409 or 422).
    #[error(transparent)]
    Session(SessionError),
    /// A candidate rule refused the command (HTTP 409).
    #[error(transparent)]
    Candidate(CandidateError),
    /// No such session (HTTP 404).
    #[error("session {0} does not exist")]
    SessionNotFound(SessionId),
    /// No such candidate (HTTP 404).
    #[error("candidate {0} does not exist")]
    CandidateNotFound(CandidateId),
    /// An assessor is booked in an overlapping session (HTTP 409).
    #[error("assessor {assessor} is booked in overlapping session {session}")]
    AssessorBooked {
        /// The assessor.
        assessor: String,
        /// The stream that holds the booking.
        session: String,
    },
    /// The candidate holds a seat in another session (HTTP 409).
    #[error("the candidate is already seated in session {session}")]
    SeatedElsewhere {
        /// The stream that holds the seat.
        session: String,
    },
    /// A reschedule left its first session but could not join the second (HTTP 409).
    #[error("the candidate could not join the new session ({reason}); {outcome}")]
    RescheduleFailed {
        /// Why the new session refused.
        reason: String,
        /// Where the candidate is now.
        outcome: String,
    },
    /// The scheme is not in the catalogue (HTTP 422).
    #[error("scheme {0} is not in the scheme catalogue")]
    UnknownScheme(String),
    /// Other writers kept changing the stream (HTTP 409; retry with the same key).
    #[error("the session kept changing under the command; retry with the same Idempotency-Key")]
    Contended,
    /// A stored event could not be read (HTTP 500, logged).
    #[error("a stored event could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The store failed (HTTP 503 when transient, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The read model's database failed (HTTP 503/500).
    #[error("read model: {0}")]
    ReadModel(#[from] sqlx::Error),
    /// The read models did not show the log's head in time for a command that decides on
    /// them (HTTP 503; the projection is behind or stalled, so a retry may succeed).
    #[error("the read models are behind the log: {0}")]
    Lagging(String),
    /// NATS failed (HTTP 503).
    #[error("NATS: {0}")]
    Nats(String),
}

impl From<AppError<SessionError>> for SchedulingError {
    fn from(error: AppError<SessionError>) -> Self {
        match error {
            AppError::Domain(e) => Self::Session(e),
            AppError::Conflict { .. } => Self::Contended,
            AppError::Decode(e) => Self::Decode(e),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl From<AppError<CandidateError>> for SchedulingError {
    fn from(error: AppError<CandidateError>) -> Self {
        match error {
            AppError::Domain(e) => Self::Candidate(e),
            AppError::Conflict { .. } => Self::Contended,
            AppError::Decode(e) => Self::Decode(e),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl SchedulingError {
    /// One invalid field.
    pub fn field(field: &str, rule: &str, detail: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, rule, detail)])
    }

    /// True when the same operation may succeed later unchanged (the caller retries).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(error) => error.is_transient(),
            Self::ReadModel(_) | Self::Lagging(_) | Self::Nats(_) | Self::Contended => true,
            _ => false,
        }
    }
}
