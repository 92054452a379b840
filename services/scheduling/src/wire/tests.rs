//! Every event survives encoding and decoding; bad payloads are errors, never panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_aggregate::{DecodeError, EventCodec};
use kesos_regions::RegionCode;
use time::macros::{date, datetime};
use uuid::Uuid;

use crate::domain::*;

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

fn roundtrip<E: EventCodec + PartialEq + std::fmt::Debug>(event: E) {
    let bytes = event.encode();
    let back = E::decode(event.event_type(), event.schema_version(), &bytes).unwrap();
    assert_eq!(back, event);
}

fn plan(venue: Venue) -> Plan {
    Plan {
        scheme: SchemeRef {
            code: "TKS-ASISTEN".into(),
            category: "tks".into(),
            level: "Asisten".into(),
        },
        venue,
        starts_at: datetime!(2026-12-01 08:00 UTC),
        ends_at: datetime!(2026-12-01 16:00 UTC),
        capacity: 20,
        assessors: vec![
            ExternalId::parse("A-1").unwrap(),
            ExternalId::parse("A-2").unwrap(),
        ],
        served: vec![region("32"), region("33.01")],
        cutoff: datetime!(2026-11-24 08:00 UTC),
        lsps: ExternalId::parse("LSPS-1").unwrap(),
        units: vec![CompetencyUnit {
            code: "TKS-AS.01".into(),
            title: "Menerapkan nilai dan etika".into(),
        }],
    }
}

#[test]
fn every_session_event_survives_the_wire() {
    let session = SessionId(Uuid::now_v7());
    let candidate = CandidateId(Uuid::now_v7());
    let worker = WorkerId(Uuid::now_v7());
    let site = plan(Venue::TestSite {
        name: "TUK Cimahi".into(),
        region: region("32.77"),
    });
    let events = vec![
        SessionEvent::Scheduled {
            session,
            plan: site.clone(),
        },
        SessionEvent::Scheduled {
            session,
            plan: plan(Venue::Online {
                organiser: region("31.71"),
            }),
        },
        SessionEvent::Changed {
            session,
            timing: site.timing(),
            reason: "room".into(),
        },
        SessionEvent::Seated {
            session,
            candidate,
            worker,
            rescheduled_from: Some(SessionId(Uuid::now_v7())),
            auto: true,
        },
        SessionEvent::Unseated {
            session,
            candidate,
            worker,
            reason: "sick".into(),
        },
        SessionEvent::MovedOut {
            session,
            candidate,
            worker,
            to: SessionId(Uuid::now_v7()),
            reason: "closer".into(),
        },
        SessionEvent::Cancelled {
            session,
            reason: "flood".into(),
            candidates: vec![candidate],
        },
        SessionEvent::RosterLocked {
            session,
            candidates: vec![candidate],
        },
        SessionEvent::AttendanceRecorded {
            session,
            candidate,
            worker,
            attendance: Attendance::NoShow,
            attempt: 2,
        },
        SessionEvent::Decided(Box::new(DecisionRecord {
            session,
            worker,
            scheme: site.scheme.clone(),
            report: DecisionReport {
                candidate,
                units: vec![UnitResult {
                    unit: "U-1".into(),
                    kompeten: false,
                }],
                decision: Decision::BelumKompeten,
                assessors: site.assessors.clone(),
                decided_at: datetime!(2026-12-01 15:00 UTC),
                lsps: site.lsps.clone(),
                attempt: 1,
                region: region("32.77.01"),
                message_id: "msg-1".into(),
            },
        })),
        SessionEvent::SeatReleased {
            session,
            candidate,
            worker,
            reason: ReturnReason::NoShow,
        },
    ];
    for event in events {
        roundtrip(event);
    }
}

#[test]
fn every_candidate_event_survives_the_wire() {
    let candidate = CandidateId(Uuid::now_v7());
    let worker = WorkerId(Uuid::now_v7());
    roundtrip(CandidateEvent::Queued(Queued {
        candidate,
        worker,
        scheme: plan(Venue::Online {
            organiser: region("32"),
        })
        .scheme,
        region: region("32.77.01.1001"),
        verified_at: datetime!(2026-10-01 10:00:00.123456 UTC),
    }));
    roundtrip(CandidateEvent::Returned(Returned {
        candidate,
        worker,
        reason: ReturnReason::BelumKompeten,
        note: "retest".into(),
        eligible_from: date!(2027 - 01 - 01),
        session: Some(SessionId(Uuid::now_v7())),
        failed_on: Some(date!(2026 - 12 - 01)),
        attempt: 1,
    }));
    roundtrip(CandidateEvent::PostingMoved(PostingMoved {
        candidate,
        worker,
        from: region("32.77.01.1001"),
        to: region("32.17"),
    }));
    roundtrip(CandidateEvent::Departed(Departed {
        candidate,
        worker,
        reason: DepartureReason::Retired,
        note: "SK 12/2026".into(),
        departed_on: date!(2026 - 11 - 30),
    }));
    roundtrip(CandidateEvent::ReturnedFromDeparture(
        ReturnedFromDeparture {
            candidate,
            worker,
            returned_on: date!(2027 - 02 - 01),
            eligible_from: date!(2027 - 02 - 03),
        },
    ));
}

#[test]
fn a_payload_that_does_not_parse_is_an_error_not_a_panic() {
    for event_type in [
        "kesos.scheduling.v1.SessionScheduled",
        "kesos.scheduling.v1.AssessmentDecided",
        "kesos.scheduling.v1.CandidateSeated",
    ] {
        let result = SessionEvent::decode(event_type, 1, &[0xff, 0x01, 0x02]);
        assert!(
            matches!(result, Err(DecodeError::Malformed { .. })),
            "{event_type}"
        );
    }
    assert!(matches!(
        SessionEvent::decode("kesos.scheduling.v1.Nope", 1, &[]),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        CandidateEvent::decode("kesos.scheduling.v1.CandidateQueued", 1, &[]),
        Err(DecodeError::Malformed { .. })
    ));
}
