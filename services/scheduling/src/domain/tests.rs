//! Given/when/then tests of the session and candidate rules and the allocation plan, one per
//! rule, named as sentences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_aggregate::Aggregate;
use kesos_aggregate::testing::given;
use kesos_regions::RegionCode;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-11-01 09:00 UTC);
const STARTS: OffsetDateTime = datetime!(2026-12-01 08:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
fn session_id() -> SessionId {
    SessionId(id(1))
}
fn candidate(n: u128) -> CandidateId {
    CandidateId(id(100 + n))
}
fn worker(n: u128) -> WorkerId {
    WorkerId(id(1000 + n))
}
fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}
fn assessor(name: &str) -> AssessorId {
    ExternalId::parse(name).unwrap()
}
fn limits() -> PlanLimits {
    PlanLimits {
        candidates_per_assessor: 10,
        max_session_hours: 72,
    }
}
fn scheme() -> SchemeRef {
    SchemeRef {
        code: "PEKSOS-GENERALIS".into(),
        category: "peksos".into(),
        level: "Generalis".into(),
    }
}
fn plan(capacity: u32) -> Plan {
    Plan {
        scheme: scheme(),
        venue: Venue::TestSite {
            name: "TUK Cimahi".into(),
            region: region("32.77"),
        },
        starts_at: STARTS,
        ends_at: STARTS + Duration::hours(8),
        capacity,
        assessors: (0..capacity.div_ceil(10))
            .map(|i| assessor(&format!("ASR-{i}")))
            .collect(),
        served: vec![region("32")],
        cutoff: STARTS - Duration::days(7),
        lsps: ExternalId::parse("LSPS-PEKSOS").unwrap(),
        units: ["U1", "U2"]
            .into_iter()
            .map(|code| CompetencyUnit {
                code: code.into(),
                title: format!("Unit {code}"),
            })
            .collect(),
    }
}
fn scheduled(capacity: u32) -> SessionEvent {
    SessionEvent::Scheduled {
        session: session_id(),
        plan: plan(capacity),
    }
}
fn schedule(plan: Plan) -> SessionCommand {
    SessionCommand::Schedule {
        session: session_id(),
        plan,
        now: NOW,
        limits: limits(),
    }
}
fn request(n: u128) -> SeatRequest {
    SeatRequest {
        candidate: candidate(n),
        worker: worker(n),
        scheme_code: "PEKSOS-GENERALIS".into(),
        region: region("32.77.01"),
        eligible_from: date!(2026 - 10 - 01),
        rescheduled_from: None,
        departed_on: None,
    }
}
fn seat_by_hand(request: SeatRequest) -> SessionCommand {
    SessionCommand::Seat {
        requests: vec![request],
        auto: false,
        now: NOW,
    }
}
fn seated(n: u128) -> SessionEvent {
    SessionEvent::Seated {
        session: session_id(),
        candidate: candidate(n),
        worker: worker(n),
        rescheduled_from: None,
        auto: false,
    }
}
fn locked(ns: &[u128]) -> SessionEvent {
    SessionEvent::RosterLocked {
        session: session_id(),
        candidates: ns.iter().map(|n| candidate(*n)).collect(),
    }
}
fn report(n: u128, decision: Decision) -> DecisionReport {
    DecisionReport {
        candidate: candidate(n),
        units: vec![
            UnitResult {
                unit: "U1".into(),
                kompeten: true,
            },
            UnitResult {
                unit: "U2".into(),
                kompeten: decision == Decision::Kompeten,
            },
        ],
        decision,
        assessors: vec![assessor("ASR-0")],
        decided_at: STARTS + Duration::hours(6),
        lsps: ExternalId::parse("LSPS-PEKSOS").unwrap(),
        attempt: 1,
        region: region("32.77.01"),
        message_id: "m-1".into(),
    }
}
fn decided(report: DecisionReport) -> SessionEvent {
    SessionEvent::Decided(Box::new(DecisionRecord {
        session: session_id(),
        worker: worker(report.candidate.0.as_u128() - 100),
        scheme: scheme(),
        report,
    }))
}
fn attendance(n: u128, attendance: Attendance) -> SessionCommand {
    SessionCommand::RecordAttendance {
        candidate: candidate(n),
        attendance,
        attempt: 1,
        lsps: ExternalId::parse("LSPS-PEKSOS").unwrap(),
    }
}
fn after_cutoff() -> OffsetDateTime {
    STARTS - Duration::days(2)
}

#[test]
fn a_session_is_scheduled_with_its_plan() {
    given::<Session>([])
        .when(schedule(plan(20)))
        .then([scheduled(20)]);
}

#[test]
fn a_session_without_capacity_is_refused() {
    let mut zero = plan(10);
    zero.capacity = 0;
    given::<Session>([])
        .when(schedule(zero))
        .then_error(SessionError::CapacityZero);
}

#[test]
fn a_session_with_too_few_assessors_for_its_capacity_is_refused() {
    let mut short = plan(10);
    short.capacity = 25;
    given::<Session>([])
        .when(schedule(short))
        .then_error(SessionError::TooFewAssessors {
            capacity: 25,
            needed: 3,
            given: 1,
            per: 10,
        });
}

#[test]
fn an_assessor_listed_twice_is_refused() {
    let mut twice = plan(10);
    twice.assessors = vec![assessor("A"), assessor("A")];
    given::<Session>([])
        .when(schedule(twice))
        .then_error(SessionError::RepeatedAssessor("A".into()));
}

#[test]
fn a_session_cannot_be_scheduled_in_the_past() {
    let mut past = plan(10);
    past.starts_at = NOW - Duration::hours(1);
    given::<Session>([])
        .when(schedule(past))
        .then_error(SessionError::StartsInThePast {
            starts_at: NOW - Duration::hours(1),
            now: NOW,
        });
}

#[test]
fn a_session_must_end_after_it_starts_and_not_last_too_long() {
    let mut backwards = plan(10);
    backwards.ends_at = STARTS;
    given::<Session>([])
        .when(schedule(backwards))
        .then_error(SessionError::EndsBeforeStart);
    let mut long = plan(10);
    long.ends_at = STARTS + Duration::hours(100);
    given::<Session>([])
        .when(schedule(long))
        .then_error(SessionError::TooLong {
            hours: 100,
            max: 72,
        });
}

#[test]
fn the_cutoff_must_lie_between_now_and_the_start() {
    let mut late = plan(10);
    late.cutoff = STARTS + Duration::hours(1);
    given::<Session>([])
        .when(schedule(late))
        .then_error(SessionError::CutoffOutOfRange);
}

#[test]
fn a_session_is_scheduled_once() {
    given::<Session>([scheduled(10)])
        .when(schedule(plan(10)))
        .then_error(SessionError::AlreadyScheduled);
}

#[test]
fn a_candidate_is_seated_while_seats_remain() {
    given::<Session>([scheduled(2), seated(1)])
        .when(seat_by_hand(request(2)))
        .then([seated(2)]);
}

#[test]
fn a_full_session_refuses_a_seat() {
    given::<Session>([scheduled(1), seated(1)])
        .when(seat_by_hand(request(2)))
        .then_error(SessionError::Full { capacity: 1 });
}

#[test]
fn a_candidate_of_another_scheme_is_refused() {
    let mut other = request(1);
    other.scheme_code = "TKS-ASISTEN".into();
    given::<Session>([scheduled(2)])
        .when(seat_by_hand(other))
        .then_error(SessionError::SchemeMismatch {
            candidate: "TKS-ASISTEN".into(),
            session: "PEKSOS-GENERALIS".into(),
        });
}

#[test]
fn a_candidate_from_a_region_the_session_does_not_serve_is_refused() {
    let mut far = request(1);
    far.region = region("31.71");
    given::<Session>([scheduled(2)])
        .when(seat_by_hand(far))
        .then_error(SessionError::RegionNotServed("31.71".into()));
}

#[test]
fn a_candidate_in_a_waiting_period_is_refused() {
    let mut waiting = request(1);
    waiting.eligible_from = date!(2027 - 01 - 01);
    given::<Session>([scheduled(2)])
        .when(seat_by_hand(waiting))
        .then_error(SessionError::StillWaiting {
            eligible_from: date!(2027 - 01 - 01),
        });
}

#[test]
fn seating_a_candidate_already_seated_here_changes_nothing() {
    given::<Session>([scheduled(2), seated(1)])
        .when(seat_by_hand(request(1)))
        .then([]);
}

#[test]
fn auto_allocation_skips_unfit_candidates_and_stops_when_full() {
    let mut far = request(2);
    far.region = region("31.71");
    given::<Session>([scheduled(2)])
        .when(SessionCommand::Seat {
            requests: vec![request(1), far, request(3), request(4)],
            auto: true,
            now: NOW,
        })
        .then([
            SessionEvent::Seated {
                session: session_id(),
                candidate: candidate(1),
                worker: worker(1),
                rescheduled_from: None,
                auto: true,
            },
            SessionEvent::Seated {
                session: session_id(),
                candidate: candidate(3),
                worker: worker(3),
                rescheduled_from: None,
                auto: true,
            },
        ]);
}

#[test]
fn seats_do_not_change_after_the_cutoff() {
    given::<Session>([scheduled(2), seated(1)])
        .when(SessionCommand::Unseat {
            candidate: candidate(1),
            reason: "sick".into(),
            now: after_cutoff(),
        })
        .then_error(SessionError::CutoffPassed {
            cutoff: STARTS - Duration::days(7),
        });
}

#[test]
fn a_candidate_is_unseated_before_the_cutoff() {
    given::<Session>([scheduled(2), seated(1)])
        .when(SessionCommand::Unseat {
            candidate: candidate(1),
            reason: "sick".into(),
            now: NOW,
        })
        .then([SessionEvent::Unseated {
            session: session_id(),
            candidate: candidate(1),
            worker: worker(1),
            reason: "sick".into(),
        }]);
}

#[test]
fn a_candidate_not_seated_cannot_be_moved_out() {
    given::<Session>([scheduled(2)])
        .when(SessionCommand::MoveOut {
            candidate: candidate(1),
            to: SessionId(id(2)),
            reason: "closer".into(),
            now: NOW,
        })
        .then_error(SessionError::NotSeated);
}

#[test]
fn a_change_cannot_bring_capacity_below_the_seats_taken() {
    let mut timing = plan(2).timing();
    timing.capacity = 1;
    given::<Session>([scheduled(2), seated(1), seated(2)])
        .when(SessionCommand::Change {
            timing,
            reason: "smaller room".into(),
            now: NOW,
            limits: limits(),
        })
        .then_error(SessionError::CapacityBelowSeated {
            capacity: 1,
            seated: 2,
        });
}

#[test]
fn a_cancelled_session_lists_its_candidates_for_the_pool() {
    given::<Session>([scheduled(2), seated(1), seated(2)])
        .when(SessionCommand::Cancel {
            reason: "flood".into(),
        })
        .then([SessionEvent::Cancelled {
            session: session_id(),
            reason: "flood".into(),
            candidates: vec![candidate(1), candidate(2)],
        }]);
}

#[test]
fn a_session_with_results_cannot_be_cancelled() {
    given::<Session>([
        scheduled(2),
        seated(1),
        locked(&[1]),
        decided(report(1, Decision::Kompeten)),
    ])
    .when(SessionCommand::Cancel {
        reason: "late".into(),
    })
    .then_error(SessionError::AlreadyHeld);
}

#[test]
fn a_roster_is_locked_only_after_the_cutoff_and_never_empty() {
    given::<Session>([scheduled(2), seated(1)])
        .when(SessionCommand::LockRoster { now: NOW })
        .then_error(SessionError::LockBeforeCutoff {
            cutoff: STARTS - Duration::days(7),
        });
    given::<Session>([scheduled(2)])
        .when(SessionCommand::LockRoster {
            now: after_cutoff(),
        })
        .then_error(SessionError::EmptyRoster);
    given::<Session>([scheduled(2), seated(1)])
        .when(SessionCommand::LockRoster {
            now: after_cutoff(),
        })
        .then([locked(&[1])]);
}

#[test]
fn no_seat_is_taken_once_the_roster_is_locked() {
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(seat_by_hand(request(2)))
        .then_error(SessionError::NotOpen(SessionStatus::Locked));
}

fn present(n: u128) -> SessionEvent {
    SessionEvent::AttendanceRecorded {
        session: session_id(),
        candidate: candidate(n),
        worker: worker(n),
        attendance: Attendance::Present,
        attempt: 1,
    }
}

#[test]
fn a_decision_is_recorded_for_a_candidate_on_the_roster() {
    given::<Session>([scheduled(2), seated(1), locked(&[1]), present(1)])
        .when(SessionCommand::RecordDecision(Box::new(report(
            1,
            Decision::Kompeten,
        ))))
        .then([decided(report(1, Decision::Kompeten))]);
}

#[test]
fn the_history_is_the_same_whichever_of_attendance_and_result_arrives_first() {
    let locked_roster = [scheduled(2), seated(1), locked(&[1])];
    let decision = || SessionCommand::RecordDecision(Box::new(report(1, Decision::Kompeten)));
    // In order: the attendance, then the result.
    given::<Session>(locked_roster.clone())
        .when(attendance(1, Attendance::Present))
        .then([present(1)]);
    let mut after_attendance = locked_roster.to_vec();
    after_attendance.push(present(1));
    given::<Session>(after_attendance)
        .when(decision())
        .then([decided(report(1, Decision::Kompeten))]);
    // The result first: it records the presence it implies, and the attendance report that
    // comes later changes nothing — the same two facts in the same order.
    given::<Session>(locked_roster.clone())
        .when(decision())
        .then([present(1), decided(report(1, Decision::Kompeten))]);
    let mut after_result = locked_roster.to_vec();
    after_result.extend([present(1), decided(report(1, Decision::Kompeten))]);
    given::<Session>(after_result.clone())
        .when(attendance(1, Attendance::Present))
        .then([]);
    given::<Session>(after_result)
        .when(attendance(1, Attendance::NoShow))
        .then_error(SessionError::ContradictingAttendance {
            recorded: Attendance::Present,
            reported: Attendance::NoShow,
        });
}

#[test]
fn a_decision_before_the_roster_is_locked_is_refused() {
    given::<Session>([scheduled(2), seated(1)])
        .when(SessionCommand::RecordDecision(Box::new(report(
            1,
            Decision::Kompeten,
        ))))
        .then_error(SessionError::RosterNotLocked);
}

#[test]
fn a_decision_for_a_candidate_not_on_the_roster_is_refused() {
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(report(
            2,
            Decision::Kompeten,
        ))))
        .then_error(SessionError::NotOnRoster);
}

#[test]
fn a_repeated_decision_changes_nothing_and_a_contradicting_one_is_refused() {
    let history = [
        scheduled(2),
        seated(1),
        locked(&[1]),
        decided(report(1, Decision::Kompeten)),
    ];
    given::<Session>(history.clone())
        .when(SessionCommand::RecordDecision(Box::new(report(
            1,
            Decision::Kompeten,
        ))))
        .then([]);
    given::<Session>(history)
        .when(SessionCommand::RecordDecision(Box::new(report(
            1,
            Decision::BelumKompeten,
        ))))
        .then_error(SessionError::ContradictingDecision {
            recorded: Decision::Kompeten,
        });
}

#[test]
fn a_decision_that_does_not_follow_its_units_is_refused() {
    let mut wrong = report(1, Decision::Kompeten);
    wrong.units[1].kompeten = false;
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(wrong)))
        .then_error(SessionError::InconsistentDecision);
}

#[test]
fn a_decision_that_judges_a_unit_not_of_the_scheme_is_refused_naming_it() {
    let mut stranger = report(1, Decision::Kompeten);
    stranger.units.push(UnitResult {
        unit: "U9".into(),
        kompeten: true,
    });
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(stranger)))
        .then_error(SessionError::UnknownUnit("U9".into()));
}

#[test]
fn a_decision_that_leaves_a_unit_of_the_scheme_unjudged_is_refused_naming_it() {
    let mut partial = report(1, Decision::Kompeten);
    partial.units.remove(0);
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(partial)))
        .then_error(SessionError::MissingUnit("U1".into()));
}

#[test]
fn a_session_scheduled_before_the_catalogue_listed_units_takes_any_units() {
    let mut legacy = plan(2);
    legacy.units.clear();
    let mut other_units = report(1, Decision::Kompeten);
    other_units.units[0].unit = "OLD-7".into();
    let history = [
        SessionEvent::Scheduled {
            session: session_id(),
            plan: legacy,
        },
        seated(1),
        locked(&[1]),
    ];
    given::<Session>(history)
        .when(SessionCommand::RecordDecision(Box::new(
            other_units.clone(),
        )))
        .then([
            SessionEvent::AttendanceRecorded {
                session: session_id(),
                candidate: candidate(1),
                worker: worker(1),
                attendance: Attendance::Present,
                attempt: 1,
            },
            SessionEvent::Decided(Box::new(DecisionRecord {
                session: session_id(),
                worker: worker(1),
                scheme: scheme(),
                report: other_units,
            })),
        ]);
}

#[test]
fn a_decision_by_an_assessor_not_booked_or_from_another_lsps_is_refused() {
    let mut stranger = report(1, Decision::Kompeten);
    stranger.assessors = vec![assessor("ASR-99")];
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(stranger)))
        .then_error(SessionError::UnknownAssessor("ASR-99".into()));
    let mut other = report(1, Decision::Kompeten);
    other.lsps = ExternalId::parse("LSPS-OTHER").unwrap();
    given::<Session>([scheduled(2), seated(1), locked(&[1])])
        .when(SessionCommand::RecordDecision(Box::new(other)))
        .then_error(SessionError::WrongLsps {
            expected: "LSPS-PEKSOS".into(),
            reported: "LSPS-OTHER".into(),
        });
}

#[test]
fn a_no_show_cannot_also_be_decided() {
    given::<Session>([
        scheduled(2),
        seated(1),
        locked(&[1]),
        SessionEvent::AttendanceRecorded {
            session: session_id(),
            candidate: candidate(1),
            worker: worker(1),
            attendance: Attendance::NoShow,
            attempt: 1,
        },
    ])
    .when(SessionCommand::RecordDecision(Box::new(report(
        1,
        Decision::Kompeten,
    ))))
    .then_error(SessionError::DecisionForNoShow);
}

#[test]
fn attendance_is_recorded_once_and_a_contradiction_is_refused() {
    let history = [scheduled(2), seated(1), locked(&[1])];
    let present = SessionEvent::AttendanceRecorded {
        session: session_id(),
        candidate: candidate(1),
        worker: worker(1),
        attendance: Attendance::Present,
        attempt: 1,
    };
    given::<Session>(history.clone())
        .when(attendance(1, Attendance::Present))
        .then([present.clone()]);
    let mut recorded = history.to_vec();
    recorded.push(present);
    given::<Session>(recorded.clone())
        .when(attendance(1, Attendance::Present))
        .then([]);
    given::<Session>(recorded)
        .when(attendance(1, Attendance::NoShow))
        .then_error(SessionError::ContradictingAttendance {
            recorded: Attendance::Present,
            reported: Attendance::NoShow,
        });
}

#[test]
fn only_a_failed_seat_is_released_and_only_once() {
    let history = [
        scheduled(2),
        seated(1),
        locked(&[1]),
        decided(report(1, Decision::BelumKompeten)),
    ];
    let released = SessionEvent::SeatReleased {
        session: session_id(),
        candidate: candidate(1),
        worker: worker(1),
        reason: ReturnReason::BelumKompeten,
    };
    given::<Session>(history.clone())
        .when(SessionCommand::ReleaseSeat {
            candidate: candidate(1),
        })
        .then([released.clone()]);
    let mut done = history.to_vec();
    done.push(released);
    given::<Session>(done)
        .when(SessionCommand::ReleaseSeat {
            candidate: candidate(1),
        })
        .then([]);
    given::<Session>([
        scheduled(2),
        seated(1),
        locked(&[1]),
        decided(report(1, Decision::Kompeten)),
    ])
    .when(SessionCommand::ReleaseSeat {
        candidate: candidate(1),
    })
    .then_error(SessionError::NotReleasable);
}

fn queued() -> Queued {
    Queued {
        candidate: candidate(1),
        worker: worker(1),
        scheme: scheme(),
        region: region("32.77.01"),
        verified_at: NOW,
    }
}

fn return_after(reason: ReturnReason, session: u128, on: time::Date) -> CandidateCommand {
    CandidateCommand::ReturnToPool {
        reason,
        note: String::new(),
        session: SessionId(id(session)),
        on,
        policy: SchedulingPolicy::shipped().unwrap(),
    }
}

#[test]
fn a_verified_nomination_queues_a_candidate_once() {
    given::<Candidate>([])
        .when(CandidateCommand::Queue(queued()))
        .then([CandidateEvent::Queued(queued())]);
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(CandidateCommand::Queue(queued()))
        .then([]);
}

#[test]
fn a_candidate_follows_its_workers_move_to_another_region_once() {
    let moved = CandidateEvent::PostingMoved(PostingMoved {
        candidate: candidate(1),
        worker: worker(1),
        from: region("32.77.01"),
        to: region("32.17"),
    });
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(CandidateCommand::FollowPosting(region("32.17")))
        .then([moved.clone()]);
    given::<Candidate>([CandidateEvent::Queued(queued()), moved])
        .when(CandidateCommand::FollowPosting(region("32.17")))
        .then([]);
}

#[test]
fn a_belum_kompeten_candidate_returns_after_the_waiting_period_counting_the_attempt() {
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(return_after(
            ReturnReason::BelumKompeten,
            7,
            date!(2026 - 12 - 01),
        ))
        .then([CandidateEvent::Returned(Returned {
            candidate: candidate(1),
            worker: worker(1),
            reason: ReturnReason::BelumKompeten,
            note: String::new(),
            eligible_from: date!(2026 - 12 - 31),
            session: Some(SessionId(id(7))),
            failed_on: Some(date!(2026 - 12 - 01)),
            attempt: 1,
        })]);
}

#[test]
fn a_candidate_returned_from_a_cancelled_session_may_sit_at_once_without_an_attempt() {
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(return_after(
            ReturnReason::SessionCancelled,
            7,
            date!(2026 - 11 - 20),
        ))
        .then([CandidateEvent::Returned(Returned {
            candidate: candidate(1),
            worker: worker(1),
            reason: ReturnReason::SessionCancelled,
            note: String::new(),
            eligible_from: date!(2026 - 11 - 20),
            session: Some(SessionId(id(7))),
            failed_on: None,
            attempt: 0,
        })]);
}

#[test]
fn a_return_from_the_same_session_is_recorded_once() {
    let first = Candidate::replay(&[CandidateEvent::Queued(queued())]);
    let events = first
        .decide(&return_after(
            ReturnReason::NoShow,
            7,
            date!(2026 - 12 - 01),
        ))
        .unwrap();
    let mut history = vec![CandidateEvent::Queued(queued())];
    history.extend(events);
    given::<Candidate>(history)
        .when(return_after(ReturnReason::NoShow, 7, date!(2026 - 12 - 01)))
        .then([]);
}

fn open(n: u128, region_code: &str, online: bool, free: u32, day: u8) -> OpenSession {
    OpenSession {
        id: SessionId(id(n)),
        scheme_code: "PEKSOS-GENERALIS".into(),
        region: region(region_code),
        online,
        served: Vec::new(),
        starts_at: STARTS + Duration::days(i64::from(day)),
        free,
    }
}

fn waiting(n: u128, region_code: &str, minutes: i64) -> WaitingCandidate {
    WaitingCandidate {
        id: candidate(n),
        worker: worker(n),
        scheme_code: "PEKSOS-GENERALIS".into(),
        region: region(region_code),
        eligible_from: date!(2026 - 01 - 01),
        verified_at: NOW + Duration::minutes(minutes),
    }
}

#[test]
fn allocation_prefers_the_same_kabupaten_kota_then_the_province_then_online_anywhere() {
    let sessions = [open(1, "32.77", false, 2, 0), open(2, "31.71", true, 5, 1)];
    let candidates = [
        waiting(1, "32.17.01", 1),
        waiting(2, "32.77.02", 2),
        waiting(3, "33.01", 3),
        waiting(4, "32.77.01", 4),
        waiting(5, "32.04", 0),
    ];
    let plan = plan_allocation(&sessions, &candidates);
    assert_eq!(
        plan,
        vec![
            (SessionId(id(1)), vec![candidate(2), candidate(4)]),
            (
                SessionId(id(2)),
                vec![candidate(5), candidate(1), candidate(3)]
            ),
        ]
    );
}

#[test]
fn allocation_takes_the_oldest_verification_first_and_never_overfills() {
    let sessions = [open(1, "32.77", false, 2, 0)];
    let candidates = [
        waiting(1, "32.77.01", 30),
        waiting(2, "32.77.01", 10),
        waiting(3, "32.77.01", 20),
    ];
    assert_eq!(
        plan_allocation(&sessions, &candidates),
        vec![(SessionId(id(1)), vec![candidate(2), candidate(3)])]
    );
}

#[test]
fn a_test_site_session_takes_no_one_from_another_province() {
    let sessions = [open(1, "32.77", false, 5, 0)];
    let candidates = [waiting(1, "33.01", 0)];
    assert!(plan_allocation(&sessions, &candidates).is_empty());
}

fn departed(on: time::Date) -> CandidateEvent {
    CandidateEvent::Departed(Departed {
        candidate: candidate(1),
        worker: worker(1),
        reason: DepartureReason::Resigned,
        note: "SK 7".into(),
        departed_on: on,
    })
}

fn depart(on: time::Date) -> CandidateCommand {
    CandidateCommand::Depart {
        reason: DepartureReason::Resigned,
        note: "SK 7".into(),
        on,
    }
}

#[test]
fn a_candidate_whose_worker_left_departs_once() {
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(depart(date!(2026 - 11 - 20)))
        .then([departed(date!(2026 - 11 - 20))]);
    given::<Candidate>([
        CandidateEvent::Queued(queued()),
        departed(date!(2026 - 11 - 20)),
    ])
    .when(depart(date!(2026 - 11 - 25)))
    .then([]);
}

#[test]
fn a_departure_keeps_the_failures_and_a_return_clears_it() {
    let state = Candidate::replay(&[
        CandidateEvent::Queued(queued()),
        departed(date!(2026 - 11 - 20)),
    ]);
    assert_eq!(
        state.departed.map(|d| d.departed_on),
        Some(date!(2026 - 11 - 20))
    );
    let state = Candidate::replay(&[
        CandidateEvent::Queued(queued()),
        departed(date!(2026 - 11 - 20)),
        CandidateEvent::ReturnedFromDeparture(ReturnedFromDeparture {
            candidate: candidate(1),
            worker: worker(1),
            returned_on: date!(2027 - 01 - 04),
            eligible_from: date!(2027 - 01 - 04),
        }),
    ]);
    assert_eq!(state.departed, None);
    assert_eq!(state.eligible_from, Some(date!(2027 - 01 - 04)));
}

#[test]
fn a_departed_candidate_returns_once_eligible_from_the_return() {
    let back = CandidateEvent::ReturnedFromDeparture(ReturnedFromDeparture {
        candidate: candidate(1),
        worker: worker(1),
        returned_on: date!(2027 - 01 - 04),
        eligible_from: date!(2027 - 01 - 04),
    });
    let history = [
        CandidateEvent::Queued(queued()),
        departed(date!(2026 - 11 - 20)),
    ];
    given::<Candidate>(history.clone())
        .when(CandidateCommand::ReturnFromDeparture {
            on: date!(2027 - 01 - 04),
        })
        .then([back.clone()]);
    let mut done = history.to_vec();
    done.push(back);
    given::<Candidate>(done)
        .when(CandidateCommand::ReturnFromDeparture {
            on: date!(2027 - 01 - 04),
        })
        .then([]);
}

#[test]
fn a_return_keeps_a_waiting_period_that_ends_after_it() {
    let failed = CandidateEvent::Returned(Returned {
        candidate: candidate(1),
        worker: worker(1),
        reason: ReturnReason::BelumKompeten,
        note: String::new(),
        eligible_from: date!(2027 - 02 - 01),
        session: Some(SessionId(id(7))),
        failed_on: Some(date!(2027 - 01 - 02)),
        attempt: 1,
    });
    given::<Candidate>([
        CandidateEvent::Queued(queued()),
        failed,
        departed(date!(2027 - 01 - 03)),
    ])
    .when(CandidateCommand::ReturnFromDeparture {
        on: date!(2027 - 01 - 10),
    })
    .then([CandidateEvent::ReturnedFromDeparture(
        ReturnedFromDeparture {
            candidate: candidate(1),
            worker: worker(1),
            returned_on: date!(2027 - 01 - 10),
            eligible_from: date!(2027 - 02 - 01),
        },
    )]);
}

#[test]
fn a_candidate_that_never_departed_is_not_returned() {
    given::<Candidate>([CandidateEvent::Queued(queued())])
        .when(CandidateCommand::ReturnFromDeparture {
            on: date!(2027 - 01 - 04),
        })
        .then([]);
}

#[test]
fn a_departed_candidate_is_refused_a_seat_by_hand() {
    let mut gone = request(1);
    gone.departed_on = Some(date!(2026 - 11 - 20));
    given::<Session>([scheduled(2)])
        .when(seat_by_hand(gone))
        .then_error(SessionError::Departed {
            departed_on: date!(2026 - 11 - 20),
        });
}

#[test]
fn auto_allocation_skips_a_departed_candidate() {
    let mut gone = request(1);
    gone.departed_on = Some(date!(2026 - 11 - 20));
    given::<Session>([scheduled(2)])
        .when(SessionCommand::Seat {
            requests: vec![gone, request(2)],
            auto: true,
            now: NOW,
        })
        .then([SessionEvent::Seated {
            session: session_id(),
            candidate: candidate(2),
            worker: worker(2),
            rescheduled_from: None,
            auto: true,
        }]);
}
