//! Property tests of the LSPS report decoder (issue 21, item 10): any bytes on either report
//! subject are read or refused with a reason, never a panic, and a well-formed report reads
//! back with its session and one report per entry. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-scheduling -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_proto::kesos::common::v1 as common;
use proptest::prelude::*;

use super::*;

fn kind(attendance: bool) -> ReportKind {
    if attendance {
        ReportKind::Attendance
    } else {
        ReportKind::Result
    }
}

fn timestamp(seconds: i64) -> Option<kesos_proto::prost_types::Timestamp> {
    Some(kesos_proto::prost_types::Timestamp { seconds, nanos: 0 })
}

proptest! {
    #[test]
    fn any_bytes_on_either_subject_are_read_or_refused_without_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1_024),
        attendance in any::<bool>(),
        lsps in "[a-z0-9-]{0,12}",
    ) {
        if let Ok(parsed) = parse(kind(attendance), &lsps, &bytes) {
            prop_assert!(parsed.reports.len() <= bytes.len());
        }
    }

    #[test]
    fn a_well_formed_attendance_report_reads_back_one_report_per_candidate(
        message_id in "[a-z0-9-]{1,40}",
        session in any::<u128>(),
        candidates in proptest::collection::vec((any::<u128>(), any::<bool>()), 1..20),
        lsps in "[a-z0-9._-]{1,64}",
        at in 0i64..4_102_444_800,
    ) {
        let message = lsps::AttendanceReported {
            message_id,
            session_id: Uuid::from_u128(session).to_string(),
            attendances: candidates
                .iter()
                .map(|(id, present)| lsps::CandidateAttendance {
                    candidate_id: Uuid::from_u128(*id).to_string(),
                    attendance: if *present {
                        common::Attendance::Present as i32
                    } else {
                        common::Attendance::NoShow as i32
                    },
                })
                .collect(),
            lsps_id: lsps.clone(),
            reported_at: timestamp(at),
        };
        let parsed = parse(ReportKind::Attendance, &lsps, &message.encode_to_vec()).unwrap();
        prop_assert_eq!(parsed.session, SessionId(Uuid::from_u128(session)));
        prop_assert_eq!(parsed.reports.len(), candidates.len());
        // Another LSPS's subject is refused.
        let foreign = format!("{lsps}x");
        prop_assert!(parse(ReportKind::Attendance, &foreign, &message.encode_to_vec()).is_err());
    }

    #[test]
    fn a_well_formed_result_report_reads_back_as_one_decision(
        message_id in "[a-z0-9-]{1,40}",
        session in any::<u128>(),
        candidate in any::<u128>(),
        units in proptest::collection::vec(("[A-Z0-9.]{1,20}", any::<bool>()), 0..10),
        assessors in proptest::collection::vec("[a-z0-9]{1,20}", 0..4),
        kompeten in any::<bool>(),
        lsps in "[a-z0-9._-]{1,64}",
        at in 0i64..4_102_444_800,
    ) {
        let message = lsps::AssessmentResultReported {
            message_id,
            session_id: Uuid::from_u128(session).to_string(),
            candidate_id: Uuid::from_u128(candidate).to_string(),
            unit_results: units
                .iter()
                .map(|(code, k)| common::UnitResult {
                    unit_code: code.clone(),
                    judgement: if *k { common::UnitJudgement::K } else { common::UnitJudgement::Bk } as i32,
                })
                .collect(),
            decision: if kompeten {
                common::AssessmentDecision::Kompeten
            } else {
                common::AssessmentDecision::BelumKompeten
            } as i32,
            assessor_ids: assessors,
            decided_at: timestamp(at),
            lsps_id: lsps.clone(),
        };
        let parsed = parse(ReportKind::Result, &lsps, &message.encode_to_vec()).unwrap();
        prop_assert_eq!(parsed.session, SessionId(Uuid::from_u128(session)));
        prop_assert_eq!(parsed.reports.len(), 1);
    }
}
