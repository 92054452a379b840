//! The store's errors: bad input caught at the edge, and what the store itself can answer.

use uuid::Uuid;

use crate::model::{ClaimKey, ExpectedVersion, StreamId};

/// Input that can never be stored; the caller must change it, retrying will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A stream id outside the allowed alphabet or length.
    #[error("stream id {0:?} is invalid: use 1-200 ASCII letters, digits or -_.:")]
    InvalidStreamId(String),
    /// An event type that is not a dotted protobuf message name.
    #[error(
        "event type {0:?} is invalid: use a dotted name such as kesos.enrollment.v1.WorkerRegistered"
    )]
    InvalidEventType(String),
    /// A payload above the limit.
    #[error("event payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The payload's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Schema versions start at 1.
    #[error("schema version must be 1 or more")]
    SchemaVersionZero,
    /// A metadata text above the limit.
    #[error("metadata field {field} exceeds 200 bytes")]
    MetadataTooLong {
        /// Which field.
        field: &'static str,
    },
    /// An append without events.
    #[error("an append needs at least one event")]
    NoEvents,
    /// The same event id twice in one append.
    #[error("event id {0} appears twice in one append")]
    DuplicateEventInAppend(Uuid),
    /// A claim key outside the allowed form. The key itself is not repeated: a malformed key
    /// may be personal data passed by mistake.
    #[error("claim key is invalid: {reason} (1-200 printable ASCII bytes, scope:value)")]
    InvalidClaimKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// One append both takes and releases the same key: which one is meant is unclear.
    #[error("claim key {0} is both taken and released in one append")]
    ClaimTakenAndReleased(ClaimKey),
    /// An instant outside the representable range.
    #[error("instant of {0} microseconds since the epoch is out of range")]
    InstantOutOfRange(i64),
}

/// Everything an event store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input can never be stored.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another writer changed the stream since the caller read it; nothing was written.
    #[error(
        "conflict on stream {stream}: expected {expected}, but the stream is at version {actual}"
    )]
    Conflict {
        /// The stream.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's actual version (0 = no stream).
        actual: u64,
    },
    /// Some of the appended event ids are stored already and some are not: this is not a retry
    /// of an earlier append, but a different append reusing ids.
    #[error(
        "append to {stream} reuses stored event id {event_id} with events that are not stored: not a retry of the same append"
    )]
    IdempotencyMismatch {
        /// The stream.
        stream: StreamId,
        /// One of the stored ids.
        event_id: Uuid,
    },
    /// The append takes a claim another stream holds; nothing of the append was stored. Not
    /// transient: retrying fails the same way until the holder releases the key.
    #[error("claim {key} is held by stream {holder}")]
    ClaimTaken {
        /// The key asked for.
        key: ClaimKey,
        /// The stream that holds it.
        holder: StreamId,
    },
    /// The stream has no events (at the requested point in time).
    #[error("stream {0} not found")]
    StreamNotFound(StreamId),
    /// A stored row that does not decode into an event: the database was altered outside kesos.
    #[error("stored event at position {position} is corrupt: {reason}")]
    Corrupt {
        /// Its position.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The database failed or went away; the operation may be retried.
    #[error("event store database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("event store migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A shared write failed (the database went away mid-batch); retry with the same event ids.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The store's writer is shut down.
    #[error("the event store is shutting down")]
    ShuttingDown,
}

impl StoreError {
    /// Whether retrying the same operation later may succeed (the database was unreachable,
    /// a connection dropped), as opposed to a decision that will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(error) => !matches!(
                error,
                sqlx::Error::RowNotFound
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::Decode(_)
            ),
            Self::ShuttingDown | Self::Unavailable(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_taken_by_another_stream_is_not_transient() {
        let error = StoreError::ClaimTaken {
            key: ClaimKey::parse("enrollment.nik:5f3a").unwrap(),
            holder: StreamId::parse("worker-1").unwrap(),
        };
        assert!(!error.is_transient());
        assert_eq!(
            error.to_string(),
            "claim enrollment.nik:5f3a is held by stream worker-1"
        );
    }
}
