//! The data the store keeps: stream ids, expected versions, events to append and recorded events.
//!
//! Every type here is valid by construction: a [`StreamId`] or [`EventType`] that exists has
//! passed its `parse`, a [`NewEvent`] carries a payload within the size limit and instants
//! already truncated to the microsecond the databases keep (so that the hash computed before and
//! after a round trip through storage is the same).

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::InputError;

/// Largest payload one event may carry. Events are facts, not documents: anything larger
/// belongs in a document store and is referenced from the event.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Longest stream id, event type or metadata text accepted.
pub const MAX_NAME_BYTES: usize = 200;

/// Names one stream (one aggregate instance), e.g. `worker-0190f1f4-...`.
///
/// Invariant: 1 to [`MAX_NAME_BYTES`] bytes of ASCII letters, digits and `-_.:`; the characters
/// that NATS subjects, URLs and log lines all carry without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(String);

impl StreamId {
    /// Checks and wraps a stream id.
    pub fn parse(raw: impl Into<String>) -> Result<Self, InputError> {
        let raw = raw.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if raw.is_empty() || raw.len() > MAX_NAME_BYTES || !raw.chars().all(allowed) {
            return Err(InputError::InvalidStreamId(raw));
        }
        Ok(Self(raw))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fully qualified protobuf message name of an event's payload, e.g.
/// `kesos.enrollment.v1.WorkerRegistered`.
///
/// Invariant: 1 to [`MAX_NAME_BYTES`] bytes of ASCII letters, digits, `_` and `.`, not starting
/// or ending with a dot; so it maps one to one onto a NATS subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(String);

impl EventType {
    /// Checks and wraps an event type name.
    pub fn parse(raw: impl Into<String>) -> Result<Self, InputError> {
        let raw = raw.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.');
        let valid = !raw.is_empty()
            && raw.len() <= MAX_NAME_BYTES
            && raw.chars().all(allowed)
            && !raw.starts_with('.')
            && !raw.ends_with('.')
            && !raw.contains("..");
        if !valid {
            return Err(InputError::InvalidEventType(raw));
        }
        Ok(Self(raw))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unique claim: a value that at most one stream may hold at a time, such as
/// `enrollment.nik:5f3a…` (one worker per NIK). Claims are taken and released in the same
/// transaction as an append, so "unique across streams" holds under concurrent writers, which a
/// stream's own version check cannot give.
///
/// Invariant: 1 to [`MAX_NAME_BYTES`] bytes of printable ASCII without whitespace, with a
/// non-empty scope and a non-empty value separated by the first `:`. The value should be a
/// blind index (an HMAC), never the personal data itself: the store keeps keys in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimKey(String);

impl ClaimKey {
    /// Checks and wraps a claim key. The error does not repeat the input: a malformed key may
    /// be personal data passed by mistake, and errors end up in logs.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let reason = if raw.is_empty() || raw.len() > MAX_NAME_BYTES {
            Some("use 1-200 bytes")
        } else if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            Some("use printable ASCII without whitespace")
        } else {
            match raw.split_once(':') {
                Some((scope, value)) if !scope.is_empty() && !value.is_empty() => None,
                _ => Some("write it as scope:value"),
            }
        };
        match reason {
            Some(reason) => Err(InputError::InvalidClaimKey { reason }),
            None => Ok(Self(raw.to_owned())),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The claims one append takes and releases, in the append's transaction. The default is none.
///
/// Taking a key no stream holds records it for the appended stream; taking a key the stream
/// already holds is a no-op; taking a key another stream holds refuses the whole append with
/// [`StoreError::ClaimTaken`](crate::StoreError::ClaimTaken). Releasing a key the stream holds
/// deletes it; releasing any other key is a no-op. A key may not be both taken and released by
/// one append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claims {
    /// Keys to take for the appended stream.
    pub take: Vec<ClaimKey>,
    /// Keys the appended stream gives up.
    pub release: Vec<ClaimKey>,
}

impl Claims {
    /// Whether the append takes and releases nothing.
    pub fn is_empty(&self) -> bool {
        self.take.is_empty() && self.release.is_empty()
    }
}

/// What the writer believes about a stream's current version; the append is refused with a
/// `Conflict` when the belief is wrong, so no decision is ever made on stale state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds (for streams whose order nobody decides on).
    Any,
    /// The stream must not exist yet (creating an aggregate).
    NoStream,
    /// The stream's last event must have exactly this version (1-based).
    Exactly(u64),
}

impl ExpectedVersion {
    /// The expectation of a writer that last saw the stream at `version` (0: no stream yet).
    pub fn after(version: u64) -> Self {
        match version {
            0 => Self::NoStream,
            version => Self::Exactly(version),
        }
    }

    /// Whether a stream now at `actual` (0 = no stream) satisfies this expectation.
    pub fn is_met_by(self, actual: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::Exactly(expected) => actual == expected,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exactly(version) => write!(f, "version {version}"),
        }
    }
}

/// Who caused an event and within which flow; auditors read these to answer "who changed what,
/// on what basis".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Shared by every event of one user request, import or saga.
    pub correlation_id: String,
    /// The command or event that directly caused this event.
    pub causation_id: String,
    /// Who issued the command: a user id, an LSPS system, or `system:<job>`.
    pub actor: String,
    /// The W3C `traceparent` of the span that appended the event (empty when none), so the
    /// relay can send it on as a NATS header and consumers continue the trace. Operational
    /// metadata: not part of the event's hash.
    pub trace_parent: String,
}

impl Metadata {
    fn check(&self) -> Result<(), InputError> {
        for (field, value) in [
            ("correlation_id", &self.correlation_id),
            ("causation_id", &self.causation_id),
            ("actor", &self.actor),
            ("trace_parent", &self.trace_parent),
        ] {
            if value.len() > MAX_NAME_BYTES {
                return Err(InputError::MetadataTooLong { field });
            }
        }
        Ok(())
    }
}

/// An event a command decided on, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    event_id: Uuid,
    event_type: EventType,
    schema_version: u32,
    payload: Vec<u8>,
    metadata: Metadata,
    occurred_at: OffsetDateTime,
}

impl NewEvent {
    /// Builds an event to append, checking the payload size and metadata lengths and truncating
    /// `occurred_at` to microseconds (the precision both databases keep).
    ///
    /// `event_id` should be a UUIDv7, and the same id on every retry of the same command: the
    /// store appends an event id at most once.
    pub fn new(
        event_id: Uuid,
        event_type: EventType,
        schema_version: u32,
        payload: Vec<u8>,
        metadata: Metadata,
        occurred_at: OffsetDateTime,
    ) -> Result<Self, InputError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InputError::PayloadTooLarge {
                size: payload.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        if schema_version == 0 {
            return Err(InputError::SchemaVersionZero);
        }
        metadata.check()?;
        Ok(Self {
            event_id,
            event_type,
            schema_version,
            payload,
            metadata,
            occurred_at: truncate_to_micros(occurred_at),
        })
    }

    /// The event's id.
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }
    /// The payload's message name.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }
    /// The payload's schema version (1 or more).
    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }
    /// The protobuf-encoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// Who and why.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    /// Business time.
    pub fn occurred_at(&self) -> OffsetDateTime {
        self.occurred_at
    }
}

/// An event as the store holds it: its place in its stream and in the whole log, when the
/// store learned it, and its link in the stream's hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Position in the store's whole, ordered log; increases in commit order.
    pub position: u64,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// 1-based version within the stream.
    pub stream_version: u64,
    /// Unique id (UUIDv7).
    pub event_id: Uuid,
    /// Payload message name.
    pub event_type: EventType,
    /// Payload schema version.
    pub schema_version: u32,
    /// Protobuf-encoded payload.
    pub payload: Vec<u8>,
    /// Who and why.
    pub metadata: Metadata,
    /// Business time.
    pub occurred_at: OffsetDateTime,
    /// When the store recorded it.
    pub recorded_at: OffsetDateTime,
    /// `SHA-256(previous event's hash ‖ canonical bytes)`.
    pub hash: [u8; 32],
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The log position of each event, in the order given (the existing ones for a retry).
    pub positions: Vec<u64>,
    /// The stream's version after the append (or after the original append, for a retry).
    pub stream_version: u64,
    /// True when every event id was already stored: nothing was appended this time.
    pub already_stored: bool,
}

/// Which part of the log a read may see: what the store knew up to a position or up to a
/// recorded time (for "as of" questions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsOf {
    /// Everything committed so far.
    #[default]
    Now,
    /// Events at or before this log position.
    Position(u64),
    /// Events recorded at or before this instant.
    RecordedAt(OffsetDateTime),
}

pub use kesos_sql::{to_i64, to_u64, unix_micros};

/// Cuts an instant to whole microseconds, the precision PostgreSQL and the SQLite schema keep.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// Inverse of [`unix_micros`], failing as the store's input errors do.
pub fn from_unix_micros(micros: i64) -> Result<OffsetDateTime, InputError> {
    kesos_sql::from_unix_micros(micros).map_err(|out| InputError::InstantOutOfRange(out.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_id_with_a_space_or_slash_is_refused() {
        assert!(StreamId::parse("worker 1").is_err());
        assert!(StreamId::parse("worker/1").is_err());
        assert!(StreamId::parse("").is_err());
        assert!(StreamId::parse("worker-0190f1f4:v1.a_b").is_ok());
    }

    #[test]
    fn a_claim_key_is_a_scope_and_a_value_of_printable_ascii() {
        let key = ClaimKey::parse("enrollment.nik:5f3a9c").unwrap();
        assert_eq!(key.as_str(), "enrollment.nik:5f3a9c");
        assert_eq!(key.to_string(), "enrollment.nik:5f3a9c");
        assert!(ClaimKey::parse("a:b:c").is_ok());
        assert!(ClaimKey::parse(&format!("s:{}", "x".repeat(MAX_NAME_BYTES - 2))).is_ok());
    }

    #[test]
    fn a_claim_key_without_a_scope_or_a_value_is_refused() {
        for raw in ["", "3201234567890001", ":value", "scope:", ":"] {
            assert!(
                matches!(
                    ClaimKey::parse(raw),
                    Err(InputError::InvalidClaimKey { .. })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_claim_key_with_whitespace_control_or_non_ascii_bytes_is_refused() {
        for raw in [
            "scope:a b",
            "scope:a\tb",
            "scope:a\nb",
            "scope:\u{7f}",
            "scope:é",
        ] {
            assert!(ClaimKey::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn a_claim_key_over_200_bytes_is_refused() {
        let long = format!("s:{}", "x".repeat(MAX_NAME_BYTES - 1));
        assert!(ClaimKey::parse(&long).is_err());
    }

    #[test]
    fn a_refused_claim_key_is_not_repeated_in_the_error() {
        let error = ClaimKey::parse("3201234567890001").unwrap_err();
        assert!(!error.to_string().contains("3201234567890001"), "{error}");
    }

    #[test]
    fn an_event_type_must_be_a_dotted_name() {
        assert!(EventType::parse("kesos.enrollment.v1.WorkerRegistered").is_ok());
        assert!(EventType::parse("kesos..x").is_err());
        assert!(EventType::parse(".kesos").is_err());
        assert!(EventType::parse("kesos.*").is_err());
    }

    #[test]
    fn an_oversized_payload_is_refused_before_it_reaches_the_store() {
        let result = NewEvent::new(
            Uuid::now_v7(),
            EventType::parse("a.B").unwrap(),
            1,
            vec![0; MAX_PAYLOAD_BYTES + 1],
            Metadata::default(),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(matches!(result, Err(InputError::PayloadTooLarge { .. })));
    }

    #[test]
    fn expected_versions_match_as_documented() {
        assert!(ExpectedVersion::Any.is_met_by(7));
        assert!(ExpectedVersion::NoStream.is_met_by(0));
        assert!(!ExpectedVersion::NoStream.is_met_by(1));
        assert!(ExpectedVersion::Exactly(3).is_met_by(3));
        assert!(!ExpectedVersion::Exactly(3).is_met_by(4));
        assert_eq!(ExpectedVersion::after(0), ExpectedVersion::NoStream);
        assert_eq!(ExpectedVersion::after(3), ExpectedVersion::Exactly(3));
    }

    #[test]
    fn instants_keep_microseconds_through_storage_form() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let truncated = truncate_to_micros(at);
        assert_eq!(from_unix_micros(unix_micros(truncated)).unwrap(), truncated);
        assert_eq!(truncated.nanosecond() % 1_000, 0);
    }
}
