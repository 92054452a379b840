//! The wire form of a stored event: `kesos.envelope.v1.EventEnvelope`, and its checked
//! conversion back into a [`RecordedEvent`]. Nothing decoded from the network is trusted: every
//! field is validated, and a malformed message becomes a typed error (then a dead letter), never
//! a panic.

use kesos_eventstore::{EventType, Metadata, RecordedEvent, StreamId};
use kesos_proto::kesos::envelope::v1::{EventEnvelope, EventMetadata};
use kesos_proto::prost::Message;
use kesos_proto::prost_types::Timestamp;
use time::OffsetDateTime;
use uuid::Uuid;

/// An event as a consumer receives it: the stored event and the name of the store it came
/// from (positions are per source store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The service whose store holds the event, e.g. `enrollment`.
    pub source: String,
    /// The event.
    pub event: RecordedEvent,
}

impl Delivered {
    /// What a consumer's span says of the event: where it is from and the trace it carries.
    pub fn handled(&self) -> kesos_trace::Handled<'_> {
        kesos_trace::Handled {
            source: &self.source,
            position: self.event.position,
            event_type: self.event.event_type.as_str(),
            trace_parent: &self.event.metadata.trace_parent,
        }
    }
}

/// Why a message is not a valid event envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not protobuf, or not an envelope.
    #[error("not a kesos.envelope.v1.EventEnvelope: {0}")]
    Undecodable(String),
    /// A field is missing or out of range.
    #[error("envelope field {field} is invalid: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl ToString) -> EnvelopeError {
    EnvelopeError::InvalidField {
        field,
        reason: reason.to_string(),
    }
}

fn timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or(0),
    }
}

fn instant(field: &'static str, at: Option<Timestamp>) -> Result<OffsetDateTime, EnvelopeError> {
    let at = at.ok_or_else(|| invalid(field, "missing"))?;
    let nanos = i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|error| invalid(field, error))
}

/// Encodes a stored event for the wire.
pub fn encode(source: &str, event: &RecordedEvent) -> Vec<u8> {
    EventEnvelope {
        event_id: event.event_id.to_string(),
        stream_id: event.stream_id.to_string(),
        stream_version: event.stream_version,
        event_type: event.event_type.to_string(),
        schema_version: event.schema_version,
        payload: event.payload.clone(),
        metadata: Some(EventMetadata {
            correlation_id: event.metadata.correlation_id.clone(),
            causation_id: event.metadata.causation_id.clone(),
            actor: event.metadata.actor.clone(),
            trace_parent: event.metadata.trace_parent.clone(),
        }),
        occurred_at: Some(timestamp(event.occurred_at)),
        recorded_at: Some(timestamp(event.recorded_at)),
        log_position: event.position,
        source: source.to_owned(),
        hash: event.hash.to_vec(),
    }
    .encode_to_vec()
}

/// Decodes and validates an envelope.
pub fn decode(bytes: &[u8]) -> Result<Delivered, EnvelopeError> {
    let envelope = EventEnvelope::decode(bytes)
        .map_err(|error| EnvelopeError::Undecodable(error.to_string()))?;
    if envelope.source.is_empty() {
        return Err(invalid("source", "missing"));
    }
    if envelope.stream_version == 0 {
        return Err(invalid("stream_version", "versions start at 1"));
    }
    if envelope.log_position == 0 {
        return Err(invalid("log_position", "positions start at 1"));
    }
    if envelope.schema_version == 0 {
        return Err(invalid("schema_version", "schema versions start at 1"));
    }
    let metadata = envelope.metadata.unwrap_or_default();
    let event = RecordedEvent {
        position: envelope.log_position,
        stream_id: StreamId::parse(envelope.stream_id).map_err(|e| invalid("stream_id", e))?,
        stream_version: envelope.stream_version,
        event_id: Uuid::parse_str(&envelope.event_id).map_err(|e| invalid("event_id", e))?,
        event_type: EventType::parse(envelope.event_type).map_err(|e| invalid("event_type", e))?,
        schema_version: envelope.schema_version,
        payload: envelope.payload,
        metadata: Metadata {
            correlation_id: metadata.correlation_id,
            causation_id: metadata.causation_id,
            actor: metadata.actor,
            // A context that does not parse is dropped, not refused: the event is still good.
            trace_parent: kesos_trace::TraceParent::parse(&metadata.trace_parent)
                .map(|parent| parent.to_string())
                .unwrap_or_default(),
        },
        occurred_at: instant("occurred_at", envelope.occurred_at)?,
        recorded_at: instant("recorded_at", envelope.recorded_at)?,
        hash: envelope
            .hash
            .try_into()
            .map_err(|_| invalid("hash", "must be 32 bytes"))?,
    };
    Ok(Delivered {
        source: envelope.source,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event() -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream_id: StreamId::parse("worker-1").unwrap(),
            stream_version: 2,
            event_id: Uuid::now_v7(),
            event_type: EventType::parse("kesos.enrollment.v1.WorkerRegistered").unwrap(),
            schema_version: 1,
            payload: vec![1, 2, 3],
            metadata: Metadata {
                correlation_id: "c".into(),
                causation_id: "d".into(),
                actor: "a".into(),
                trace_parent: String::new(),
            },
            occurred_at: datetime!(2017-12-03 10:00:00.123456 UTC),
            recorded_at: datetime!(2026-11-22 12:00 UTC),
            hash: [5; 32],
        }
    }

    #[test]
    fn an_event_survives_the_round_trip_through_the_envelope() {
        let original = event();
        let delivered = decode(&encode("enrollment", &original)).unwrap();
        assert_eq!(
            delivered,
            Delivered {
                source: "enrollment".into(),
                event: original
            }
        );
    }

    #[test]
    fn garbage_bytes_are_an_undecodable_envelope_not_a_panic() {
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff]),
            Err(EnvelopeError::Undecodable(_))
        ));
    }

    #[test]
    fn an_envelope_without_a_valid_event_id_names_the_field() {
        let mut envelope = EventEnvelope::decode(&*encode("x", &event())).unwrap();
        envelope.event_id = "not-a-uuid".into();
        let error = decode(&envelope.encode_to_vec()).unwrap_err();
        assert!(matches!(
            error,
            EnvelopeError::InvalidField {
                field: "event_id",
                ..
            }
        ));
    }

    #[test]
    fn an_empty_message_is_refused_for_its_missing_source() {
        assert!(matches!(
            decode(&[]),
            Err(EnvelopeError::InvalidField {
                field: "source",
                ..
            })
        ));
    }
}
