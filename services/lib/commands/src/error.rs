//! The application layer's error: what the command path can fail with, between the service's
//! domain errors (below) and its HTTP mapping (above).

use kesos_eventstore::{StoreError, StreamId};

use kesos_aggregate::DecodeError;

/// Why a command or a load did not succeed. Every variant says which HTTP status the service's
/// HTTP layer should answer with; this crate itself knows nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum AppError<E> {
    /// A business rule refused the command (`SessionFull`); nothing was written.
    /// HTTP: 409 when the refusal depends on current state (full, already revoked), 422 when
    /// the command can never succeed as given; the service's domain error decides which.
    #[error(transparent)]
    Domain(E),
    /// Other writers kept changing the stream: every attempt met a newer version. Nothing was
    /// written. HTTP: 409, and the client may retry with the same Idempotency-Key.
    #[error("stream {stream} kept changing under the command; gave up after {attempts} attempts")]
    Conflict {
        /// The contended stream.
        stream: StreamId,
        /// How many times the command was decided.
        attempts: u32,
    },
    /// A stored event this code cannot read (a newer writer, or a broken contract).
    /// HTTP: 500, logged; the body leaks nothing.
    #[error("a stored event could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The store failed. HTTP: 503 when [`StoreError::is_transient`] (the client may retry
    /// with the same Idempotency-Key), otherwise 500; logged either way.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> AppError<E> {
    /// Whether the same command may succeed if retried later unchanged (a conflict, or the
    /// database being unreachable); the HTTP layer answers 409/503 rather than 500/422.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Conflict { .. } => true,
            Self::Store(error) => error.is_transient(),
            Self::Domain(_) | Self::Decode(_) => false,
        }
    }
}
