//! Property tests of the worker event decoder (issue 21, item 10): any payload under any event
//! type is decoded or refused without a panic, and whatever decodes encodes back to the same
//! event. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-enrollment -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_aggregate::EventCodec;
    use kesos_enrollment::domain::WorkerEvent;
    use proptest::prelude::*;

    const NAMES: [&str; 13] = [
        "WorkerRegistered",
        "WorkerPostingMoved",
        "WorkerEmploymentStatusChanged",
        "WorkerQualificationsUpdated",
        "WorkerRoleChanged",
        "WorkerErased",
        "WorkerDeparted",
        "WorkerReturned",
        "NominationSubmitted",
        "NominationVerified",
        "NominationRejected",
        "NominationOverridden",
        "NominationWithdrawn",
    ];

    fn event_type() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(&NAMES[..]).prop_map(|n| format!("kesos.enrollment.v1.{n}")),
            1 => any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn any_payload_is_decoded_or_refused_and_what_decodes_encodes_back(
            event_type in event_type(),
            schema_version in prop_oneof![9 => Just(1u32), 1 => any::<u32>()],
            payload in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            if let Ok(event) = WorkerEvent::decode(&event_type, schema_version, &payload) {
                let again = WorkerEvent::decode(event.event_type(), event.schema_version(), &event.encode());
                prop_assert_eq!(again.ok(), Some(event));
            }
        }
    }
}
