//! How an aggregate's events become stored bytes and back, without this crate knowing protobuf.

/// The mapping between an aggregate's event type and the store's `(event type, schema
/// version, payload)` triple.
///
/// Services implement it in their `wire` module with prost; keeping it a trait here keeps the
/// domain and this crate free of any wire format. `decode` must never panic on bad input: a
/// stored event this code cannot read is a [`DecodeError`], reported, not a crash.
pub trait EventCodec: Sized {
    /// Fully qualified protobuf message name of this event's payload, e.g.
    /// `kesos.enrollment.v1.WorkerRegistered`; also the NATS subject suffix.
    fn event_type(&self) -> &'static str;

    /// Version of the payload's schema (1 or more), so old payloads stay readable after a
    /// change.
    fn schema_version(&self) -> u32;

    /// The payload bytes.
    fn encode(&self) -> Vec<u8>;

    /// Reads a stored payload back, refusing types, versions or bytes it does not understand.
    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError>;
}

/// A stored event that this code cannot read. Each variant names the event type, so the
/// operator knows which contract broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No event of this aggregate has this type name.
    #[error("unknown event type {event_type}")]
    UnknownType {
        /// The stored type name.
        event_type: String,
    },
    /// The type is known, but not in this schema version (written by newer code, or by a
    /// version whose reader was removed).
    #[error("event type {event_type} in schema version {schema_version} is not supported")]
    UnsupportedSchemaVersion {
        /// The stored type name.
        event_type: String,
        /// The stored schema version.
        schema_version: u32,
    },
    /// The payload does not parse, or parses into values the domain refuses.
    #[error("payload of {event_type} is malformed: {reason}")]
    Malformed {
        /// The stored type name.
        event_type: String,
        /// What failed.
        reason: String,
    },
}

impl DecodeError {
    /// An unknown type name.
    pub fn unknown_type(event_type: &str) -> Self {
        Self::UnknownType {
            event_type: event_type.to_owned(),
        }
    }

    /// A known type in a schema version this code cannot read.
    pub fn unsupported_schema_version(event_type: &str, schema_version: u32) -> Self {
        Self::UnsupportedSchemaVersion {
            event_type: event_type.to_owned(),
            schema_version,
        }
    }

    /// A payload that does not parse; `reason` is usually the prost or `TryFrom` error.
    pub fn malformed(event_type: &str, reason: impl std::fmt::Display) -> Self {
        Self::Malformed {
            event_type: event_type.to_owned(),
            reason: reason.to_string(),
        }
    }
}
