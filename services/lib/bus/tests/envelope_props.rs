//! Property tests of the event envelope decoder (issue 21, item 10): any bytes are decoded or
//! refused without a panic, and every stored event survives the round trip. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-bus -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_bus::envelope::{decode, encode};
    use kesos_bus::{Delivered, EnvelopeError};
    use kesos_eventstore::{EventType, Metadata, RecordedEvent, StreamId};
    use proptest::prelude::*;
    use time::OffsetDateTime;
    use uuid::Uuid;

    /// A moment between 1970 and 2100, to the nanosecond.
    fn instant() -> impl Strategy<Value = OffsetDateTime> {
        (0i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(seconds, nanos)| {
            OffsetDateTime::from_unix_timestamp(seconds)
                .unwrap()
                .replace_nanosecond(nanos)
                .unwrap()
        })
    }

    prop_compose! {
        fn event()(
            position in 1u64..,
            stream in "[a-zA-Z0-9_.:-]{1,200}",
            stream_version in 1u64..,
            id in any::<u128>(),
            event_type in "[a-z]{1,20}(\\.[A-Za-z0-9_]{1,20}){0,4}",
            schema_version in 1u32..,
            payload in proptest::collection::vec(any::<u8>(), 0..256),
            correlation in ".{0,40}",
            causation in ".{0,40}",
            actor in ".{0,40}",
            occurred_at in instant(),
            recorded_at in instant(),
            hash in any::<[u8; 32]>(),
        ) -> RecordedEvent {
            RecordedEvent {
                position,
                stream_id: StreamId::parse(stream).unwrap(),
                stream_version,
                event_id: Uuid::from_u128(id),
                event_type: EventType::parse(event_type).unwrap(),
                schema_version,
                payload,
                metadata: Metadata {
                    correlation_id: correlation,
                    causation_id: causation,
                    actor,
                    trace_parent: String::new(),
                },
                occurred_at,
                recorded_at,
                hash,
            }
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_decoded_or_refused_without_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..1_024),
        ) {
            match decode(&bytes) {
                Ok(delivered) => prop_assert!(delivered.event.payload.len() <= bytes.len()),
                Err(EnvelopeError::Undecodable(_) | EnvelopeError::InvalidField { .. }) => {}
            }
        }

        #[test]
        fn every_stored_event_survives_the_round_trip(
            event in event(),
            source in "[a-z]{1,20}",
        ) {
            let delivered = decode(&encode(&source, &event)).unwrap();
            prop_assert_eq!(delivered, Delivered { source, event });
        }

        #[test]
        fn a_damaged_envelope_is_refused_or_decoded_without_a_panic(
            event in event(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut bytes = encode("enrollment", &event);
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= byte | 1;
            }
            let _ = decode(&bytes);
        }
    }
}
