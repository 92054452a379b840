//! Property tests of the decoders of events certification consumes from other services (issue
//! 21, item 10): any payload is read or refused without a panic, and a decision written by
//! the helper that stands in for scheduling reads back. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-certification -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_certification::domain::SchemeRef;
    use kesos_certification::wire::{
        assessment_decided, decision, worker_erased, worker_registered,
    };
    use proptest::prelude::*;
    use time::OffsetDateTime;
    use uuid::Uuid;

    proptest! {
        #[test]
        fn any_payload_is_read_or_refused_without_a_panic(
            payload in proptest::collection::vec(any::<u8>(), 0..512),
            id in any::<u128>(),
            seconds in any::<i32>(),
        ) {
            let at = OffsetDateTime::from_unix_timestamp(i64::from(seconds)).unwrap();
            let _ = decision(Uuid::from_u128(id), at, &payload);
            let _ = worker_registered(&payload);
            let _ = worker_erased(&payload);
        }

        #[test]
        fn a_written_decision_reads_back(
            worker in any::<u128>(),
            kompeten in any::<bool>(),
            seconds in 0i64..4_102_444_800,
            lsps in "[a-z0-9-]{1,20}",
        ) {
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            let scheme = SchemeRef {
                code: "PEKSOS-GENERALIS".to_owned(),
                category: "PEKSOS".to_owned(),
                level: "GENERALIS".to_owned(),
            };
            let payload = assessment_decided(Uuid::from_u128(worker), &scheme, kompeten, at, &lsps, None);
            let read = decision(Uuid::nil(), at, &payload).unwrap();
            prop_assert_eq!(read.decided_at, at);
            prop_assert_eq!(read.lsps_id, lsps);
        }
    }
}
