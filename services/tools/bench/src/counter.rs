//! The command path's aggregate: a counter. Tiny on purpose, so that the figure measures the
//! shell (load, decode, decide, encode, append), not business logic; its event still carries a
//! payload-sized body, so the rows are as large as real ones.

use kesos_aggregate::{Aggregate, DecodeError, EventCodec};

use crate::workload::{PAYLOAD_BYTES, Random};

/// The counter's only event type.
pub(crate) const INCREMENTED: &str = "kesos.bench.v1.Incremented";

/// Bytes of the note each increment carries: the payload less the two counts.
const NOTE_BYTES: usize = PAYLOAD_BYTES - 16;

/// A counter's state: the sum of its increments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counter {
    count: u64,
}

/// Adds `by` to the counter. The note is opaque bytes that arrive in the command (the core
/// makes up nothing), standing in for the fields a real command carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Increment {
    by: u64,
    note: [u8; NOTE_BYTES],
}

impl Increment {
    /// An increment by `by` with a random note.
    pub(crate) fn new(by: u64, random: &mut Random) -> Self {
        let mut note = [0; NOTE_BYTES];
        random.fill(&mut note);
        Self { by, note }
    }
}

/// The counter was incremented by `by`, to `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incremented {
    by: u64,
    total: u64,
    note: [u8; NOTE_BYTES],
}

/// Why an increment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CounterError {
    /// The sum would not fit in 64 bits.
    #[error("the counter would overflow")]
    Overflow,
}

impl Aggregate for Counter {
    type Command = Increment;
    type Event = Incremented;
    type Error = CounterError;

    fn decide(&self, command: &Increment) -> Result<Vec<Incremented>, CounterError> {
        let total = self
            .count
            .checked_add(command.by)
            .ok_or(CounterError::Overflow)?;
        Ok(vec![Incremented {
            by: command.by,
            total,
            note: command.note,
        }])
    }

    fn evolve(self, event: &Incremented) -> Self {
        Self { count: event.total }
    }
}

impl EventCodec for Incremented {
    fn event_type(&self) -> &'static str {
        INCREMENTED
    }

    fn schema_version(&self) -> u32 {
        1
    }

    /// `by` and `total` big-endian, then the note: always [`PAYLOAD_BYTES`] bytes.
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(PAYLOAD_BYTES);
        bytes.extend_from_slice(&self.by.to_be_bytes());
        bytes.extend_from_slice(&self.total.to_be_bytes());
        bytes.extend_from_slice(&self.note);
        bytes
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if event_type != INCREMENTED {
            return Err(DecodeError::unknown_type(event_type));
        }
        if schema_version != 1 {
            return Err(DecodeError::unsupported_schema_version(
                event_type,
                schema_version,
            ));
        }
        let malformed = || DecodeError::malformed(event_type, "not 8 + 8 + 184 bytes");
        let (by, rest) = payload.split_first_chunk::<8>().ok_or_else(malformed)?;
        let (total, note) = rest.split_first_chunk::<8>().ok_or_else(malformed)?;
        Ok(Self {
            by: u64::from_be_bytes(*by),
            total: u64::from_be_bytes(*total),
            note: note.try_into().map_err(|_| malformed())?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_increment_adds_to_the_count() {
        let mut random = Random::new();
        let given = Counter::replay(&[Incremented {
            by: 2,
            total: 2,
            note: [0; NOTE_BYTES],
        }]);
        let command = Increment::new(3, &mut random);
        let events = given.decide(&command).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].by, events[0].total), (3, 5));
        assert_eq!(Counter::replay(&events).count, 5);
    }

    #[test]
    fn an_increment_that_would_overflow_is_refused() {
        let given = Counter { count: u64::MAX };
        let command = Increment::new(1, &mut Random::new());
        assert_eq!(given.decide(&command), Err(CounterError::Overflow));
    }

    #[test]
    fn an_incremented_event_survives_an_encode_decode_round_trip() {
        let event = Incremented {
            by: 7,
            total: 42,
            note: [9; NOTE_BYTES],
        };
        let bytes = event.encode();
        assert_eq!(bytes.len(), PAYLOAD_BYTES);
        assert_eq!(Incremented::decode(INCREMENTED, 1, &bytes), Ok(event));
    }

    #[test]
    fn a_truncated_or_foreign_payload_is_a_decode_error() {
        assert!(Incremented::decode(INCREMENTED, 1, &[0; 15]).is_err());
        assert!(Incremented::decode(INCREMENTED, 1, &[0; PAYLOAD_BYTES + 1]).is_err());
        assert!(Incremented::decode(INCREMENTED, 2, &[0; PAYLOAD_BYTES]).is_err());
        assert!(Incremented::decode("kesos.bench.v1.Other", 1, &[0; PAYLOAD_BYTES]).is_err());
    }
}
