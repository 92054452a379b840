//! Every rule a session's commands are decided by, and the errors that name them.

use std::collections::BTreeSet;

use time::{Date, OffsetDateTime};

use super::session::{
    DecisionRecord, PlanLimits, SeatRequest, Session, SessionCommand, SessionEvent, SessionStatus,
};
use super::types::{Attendance, CandidateId, Decision, Plan, SessionId, Timing};

/// Which rule refused a session command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The command needs a scheduled session.
    #[error("the session is not scheduled")]
    NotScheduled,
    /// A session id is scheduled once.
    #[error("the session is already scheduled")]
    AlreadyScheduled,
    /// Capacity must be above zero.
    #[error("capacity must be at least 1")]
    CapacityZero,
    /// Not enough assessors for the capacity.
    #[error(
        "{capacity} seats need at least {needed} assessors ({per} candidates per assessor); {given} given"
    )]
    TooFewAssessors {
        /// Seats planned.
        capacity: u32,
        /// Assessors needed.
        needed: u32,
        /// Assessors given.
        given: u32,
        /// The ratio in force.
        per: u32,
    },
    /// An assessor listed twice.
    #[error("assessor {0} is listed twice")]
    RepeatedAssessor(String),
    /// Sessions are scheduled in the future only.
    #[error("the session would start at {starts_at}, which is not after the command's time {now}")]
    StartsInThePast {
        /// Planned start.
        starts_at: OffsetDateTime,
        /// The command's time.
        now: OffsetDateTime,
    },
    /// End after start.
    #[error("the session must end after it starts")]
    EndsBeforeStart,
    /// Sessions are bounded in length.
    #[error("the session lasts {hours} hours; at most {max} are allowed")]
    TooLong {
        /// Planned length, rounded up.
        hours: i64,
        /// The rule.
        max: u32,
    },
    /// The cut-off lies between now and the start.
    #[error("the reschedule cut-off must lie after the command's time and no later than the start")]
    CutoffOutOfRange,
    /// The session is not open for seat changes.
    #[error("the session is {}; seats can no longer change", .0.code())]
    NotOpen(SessionStatus),
    /// The cut-off has passed.
    #[error("the reschedule cut-off ({cutoff}) has passed; seats can no longer change")]
    CutoffPassed {
        /// The cut-off.
        cutoff: OffsetDateTime,
    },
    /// No free seat.
    #[error("the session is full ({capacity} seats)")]
    Full {
        /// Its capacity.
        capacity: u32,
    },
    /// The candidate is tested in another scheme.
    #[error("the candidate is nominated for {candidate}, the session tests {session}")]
    SchemeMismatch {
        /// The candidate's scheme.
        candidate: String,
        /// The session's scheme.
        session: String,
    },
    /// The candidate's region is not served.
    #[error("the session does not serve region {0}")]
    RegionNotServed(String),
    /// The candidate is still in a waiting period.
    #[error("the candidate may sit a test from {eligible_from}; the session starts before that")]
    StillWaiting {
        /// First day allowed.
        eligible_from: Date,
    },
    /// The candidate's worker left the programme.
    #[error(
        "the candidate's worker left the programme on {departed_on}; a departed candidate is not seated"
    )]
    Departed {
        /// The departure's date.
        departed_on: Date,
    },
    /// Already seated here.
    #[error("the candidate is already seated in this session")]
    AlreadySeated,
    /// Not seated here.
    #[error("the candidate is not seated in this session")]
    NotSeated,
    /// A reschedule goes elsewhere.
    #[error("a candidate cannot be rescheduled into the session they are in")]
    MoveToSameSession,
    /// Capacity below the seats already taken.
    #[error("capacity {capacity} is below the {seated} seats already taken")]
    CapacityBelowSeated {
        /// New capacity.
        capacity: u32,
        /// Seats taken.
        seated: u32,
    },
    /// A roster is locked only after the cut-off.
    #[error("the roster can be locked once the cut-off ({cutoff}) has passed")]
    LockBeforeCutoff {
        /// The cut-off.
        cutoff: OffsetDateTime,
    },
    /// An empty session is cancelled, not locked.
    #[error("the session has no candidates; cancel it instead of locking its roster")]
    EmptyRoster,
    /// Results need a locked roster.
    #[error("results are recorded only after the roster is locked")]
    RosterNotLocked,
    /// Results after cancellation.
    #[error("the session was cancelled")]
    SessionCancelled,
    /// A result for someone not on the roster.
    #[error("the candidate is not on this session's roster")]
    NotOnRoster,
    /// A session that has results is not cancelled.
    #[error("the session already has results; it cannot be cancelled")]
    AlreadyHeld,
    /// The report comes from another LSPS.
    #[error("the session is run by LSPS {expected}, not {reported}")]
    WrongLsps {
        /// The session's LSPS.
        expected: String,
        /// The reporting one.
        reported: String,
    },
    /// A second, different attendance.
    #[error("attendance was already recorded as {recorded:?}; the report says {reported:?}")]
    ContradictingAttendance {
        /// On record.
        recorded: Attendance,
        /// Reported now.
        reported: Attendance,
    },
    /// A second, different decision.
    #[error("a different decision is already recorded ({recorded:?}); a decision is final")]
    ContradictingDecision {
        /// On record.
        recorded: Decision,
    },
    /// A decision for a no-show.
    #[error("the candidate was recorded as a no-show")]
    DecisionForNoShow,
    /// Decisions judge at least one unit.
    #[error("a decision judges at least one competency unit")]
    NoUnits,
    /// A unit judged twice.
    #[error("unit {0} is judged twice")]
    RepeatedUnit(String),
    /// A unit that is not one of the session's (its scheme's, when it was scheduled).
    #[error("unit {0} is not a competency unit of this session's scheme")]
    UnknownUnit(String),
    /// A unit of the session's scheme that the decision does not judge.
    #[error("unit {0} of this session's scheme is not judged")]
    MissingUnit(String),
    /// The overall decision must follow the units.
    #[error("the decision must be Kompeten exactly when every unit is K")]
    InconsistentDecision,
    /// Decided by someone not booked.
    #[error("assessor {0} is not booked for this session")]
    UnknownAssessor(String),
    /// A decision names at least one assessor.
    #[error("a decision names the assessors who took it")]
    NoAssessors,
    /// A decision before the test.
    #[error("the decision time {decided_at} is before the session started ({starts_at})")]
    DecidedBeforeStart {
        /// Reported time.
        decided_at: OffsetDateTime,
        /// Start.
        starts_at: OffsetDateTime,
    },
    /// Only failed seats are released.
    #[error("only a no-show or belum kompeten seat is released")]
    NotReleasable,
}

type Decided = Result<Vec<SessionEvent>, SessionError>;

/// Decides a session command (see [`SessionCommand`]).
pub fn decide(state: &Session, command: &SessionCommand) -> Decided {
    if let SessionCommand::Schedule {
        session,
        plan,
        now,
        limits,
    } = command
    {
        if state.id.is_some() {
            return Err(SessionError::AlreadyScheduled);
        }
        check_timing(&plan.timing(), *now, limits)?;
        return Ok(vec![SessionEvent::Scheduled {
            session: *session,
            plan: plan.clone(),
        }]);
    }
    let (Some(session), Some(plan)) = (state.id, state.plan.as_ref()) else {
        return Err(SessionError::NotScheduled);
    };
    match command {
        SessionCommand::Schedule { .. } => Err(SessionError::AlreadyScheduled),
        SessionCommand::Change {
            timing,
            reason,
            now,
            limits,
        } => {
            open(state)?;
            check_timing(timing, *now, limits)?;
            if timing.capacity < state.seated() {
                return Err(SessionError::CapacityBelowSeated {
                    capacity: timing.capacity,
                    seated: state.seated(),
                });
            }
            if *timing == plan.timing() {
                return Ok(Vec::new());
            }
            Ok(vec![SessionEvent::Changed {
                session,
                timing: timing.clone(),
                reason: reason.clone(),
            }])
        }
        SessionCommand::Seat {
            requests,
            auto,
            now,
        } => seat(state, session, plan, requests, *auto, *now),
        SessionCommand::Unseat {
            candidate,
            reason,
            now,
        } => {
            before_cutoff(state, plan, *now)?;
            let seat = state.seats.get(candidate).ok_or(SessionError::NotSeated)?;
            Ok(vec![SessionEvent::Unseated {
                session,
                candidate: *candidate,
                worker: seat.worker,
                reason: reason.clone(),
            }])
        }
        SessionCommand::MoveOut {
            candidate,
            to,
            reason,
            now,
        } => {
            if *to == session {
                return Err(SessionError::MoveToSameSession);
            }
            before_cutoff(state, plan, *now)?;
            let seat = state.seats.get(candidate).ok_or(SessionError::NotSeated)?;
            Ok(vec![SessionEvent::MovedOut {
                session,
                candidate: *candidate,
                worker: seat.worker,
                to: *to,
                reason: reason.clone(),
            }])
        }
        SessionCommand::Cancel { reason } => {
            if state.status == SessionStatus::Cancelled {
                return Ok(Vec::new());
            }
            if state
                .seats
                .values()
                .any(|seat| seat.attendance.is_some() || seat.decision.is_some())
            {
                return Err(SessionError::AlreadyHeld);
            }
            Ok(vec![SessionEvent::Cancelled {
                session,
                reason: reason.clone(),
                candidates: state.seats.keys().copied().collect(),
            }])
        }
        SessionCommand::LockRoster { now } => match state.status {
            SessionStatus::Locked => Ok(Vec::new()),
            SessionStatus::Open if *now < plan.cutoff => Err(SessionError::LockBeforeCutoff {
                cutoff: plan.cutoff,
            }),
            SessionStatus::Open if state.seats.is_empty() => Err(SessionError::EmptyRoster),
            SessionStatus::Open => Ok(vec![SessionEvent::RosterLocked {
                session,
                candidates: state.seats.keys().copied().collect(),
            }]),
            status => Err(SessionError::NotOpen(status)),
        },
        SessionCommand::RecordAttendance {
            candidate,
            attendance,
            attempt,
            lsps,
        } => {
            let seat = on_roster(state, plan, *candidate, lsps.as_str())?;
            match (seat.attendance, &seat.decision) {
                (_, Some(_)) if *attendance == Attendance::NoShow => {
                    Err(SessionError::ContradictingAttendance {
                        recorded: Attendance::Present,
                        reported: *attendance,
                    })
                }
                (Some(recorded), _) if recorded != *attendance => {
                    Err(SessionError::ContradictingAttendance {
                        recorded,
                        reported: *attendance,
                    })
                }
                (Some(_), _) | (None, Some(_)) => Ok(Vec::new()),
                (None, None) => Ok(vec![SessionEvent::AttendanceRecorded {
                    session,
                    candidate: *candidate,
                    worker: seat.worker,
                    attendance: *attendance,
                    attempt: *attempt,
                }]),
            }
        }
        SessionCommand::RecordDecision(report) => {
            let seat = on_roster(state, plan, report.candidate, report.lsps.as_str())?;
            check_report(plan, report)?;
            if seat.attendance == Some(Attendance::NoShow) {
                return Err(SessionError::DecisionForNoShow);
            }
            match &seat.decision {
                Some((decision, units))
                    if *decision == report.decision && *units == report.units =>
                {
                    Ok(Vec::new())
                }
                Some((recorded, _)) => Err(SessionError::ContradictingDecision {
                    recorded: *recorded,
                }),
                None => {
                    // A decision implies presence. Recorded before the attendance report came,
                    // it records the presence first, so the history holds the same facts in
                    // the same order whichever report arrived first (the later attendance
                    // report then changes nothing).
                    let mut events = Vec::with_capacity(2);
                    if seat.attendance.is_none() {
                        events.push(SessionEvent::AttendanceRecorded {
                            session,
                            candidate: report.candidate,
                            worker: seat.worker,
                            attendance: Attendance::Present,
                            attempt: report.attempt,
                        });
                    }
                    events.push(SessionEvent::Decided(Box::new(DecisionRecord {
                        session,
                        worker: seat.worker,
                        scheme: plan.scheme.clone(),
                        report: (**report).clone(),
                    })));
                    Ok(events)
                }
            }
        }
        SessionCommand::ReleaseSeat { candidate } => {
            let seat = state.seats.get(candidate).ok_or(SessionError::NotSeated)?;
            let reason = match (seat.attendance, &seat.decision) {
                (Some(Attendance::NoShow), _) => super::ReturnReason::NoShow,
                (_, Some((Decision::BelumKompeten, _))) => super::ReturnReason::BelumKompeten,
                _ => return Err(SessionError::NotReleasable),
            };
            if seat.released {
                return Ok(Vec::new());
            }
            Ok(vec![SessionEvent::SeatReleased {
                session,
                candidate: *candidate,
                worker: seat.worker,
                reason,
            }])
        }
    }
}

fn check_timing(
    timing: &Timing,
    now: OffsetDateTime,
    limits: &PlanLimits,
) -> Result<(), SessionError> {
    if timing.capacity == 0 {
        return Err(SessionError::CapacityZero);
    }
    let mut seen = BTreeSet::new();
    if let Some(repeated) = timing.assessors.iter().find(|a| !seen.insert(*a)) {
        return Err(SessionError::RepeatedAssessor(repeated.to_string()));
    }
    let needed = timing
        .capacity
        .div_ceil(limits.candidates_per_assessor.max(1));
    let given = u32::try_from(timing.assessors.len()).unwrap_or(u32::MAX);
    if given < needed {
        return Err(SessionError::TooFewAssessors {
            capacity: timing.capacity,
            needed,
            given,
            per: limits.candidates_per_assessor,
        });
    }
    if timing.starts_at <= now {
        return Err(SessionError::StartsInThePast {
            starts_at: timing.starts_at,
            now,
        });
    }
    if timing.ends_at <= timing.starts_at {
        return Err(SessionError::EndsBeforeStart);
    }
    let length = timing.ends_at - timing.starts_at;
    if length > time::Duration::hours(i64::from(limits.max_session_hours)) {
        let hours = (length.whole_minutes() + 59) / 60;
        return Err(SessionError::TooLong {
            hours,
            max: limits.max_session_hours,
        });
    }
    if timing.cutoff <= now || timing.cutoff > timing.starts_at {
        return Err(SessionError::CutoffOutOfRange);
    }
    Ok(())
}

fn open(state: &Session) -> Result<(), SessionError> {
    match state.status {
        SessionStatus::Open => Ok(()),
        status => Err(SessionError::NotOpen(status)),
    }
}

fn before_cutoff(state: &Session, plan: &Plan, now: OffsetDateTime) -> Result<(), SessionError> {
    open(state)?;
    if now >= plan.cutoff {
        return Err(SessionError::CutoffPassed {
            cutoff: plan.cutoff,
        });
    }
    Ok(())
}

fn seat(
    state: &Session,
    session: SessionId,
    plan: &Plan,
    requests: &[SeatRequest],
    auto: bool,
    now: OffsetDateTime,
) -> Decided {
    before_cutoff(state, plan, now)?;
    let mut free = state.free();
    let mut taken: BTreeSet<CandidateId> = state.seats.keys().copied().collect();
    let mut events = Vec::new();
    for request in requests {
        let room = if free == 0 {
            Err(SessionError::Full {
                capacity: plan.capacity,
            })
        } else {
            Ok(())
        };
        let fits = seat_fits(plan, request, &taken).and(room);
        match fits {
            Ok(()) => {
                free -= 1;
                taken.insert(request.candidate);
                events.push(SessionEvent::Seated {
                    session,
                    candidate: request.candidate,
                    worker: request.worker,
                    rescheduled_from: request.rescheduled_from,
                    auto,
                });
            }
            Err(SessionError::AlreadySeated) if !auto && requests.len() == 1 => {
                // Seating someone who is already seated here asks for what is true.
                return Ok(Vec::new());
            }
            Err(error) if !auto => return Err(error),
            Err(SessionError::Full { .. }) => break,
            Err(_) => {}
        }
    }
    Ok(events)
}

fn seat_fits(
    plan: &Plan,
    request: &SeatRequest,
    taken: &BTreeSet<CandidateId>,
) -> Result<(), SessionError> {
    if taken.contains(&request.candidate) {
        return Err(SessionError::AlreadySeated);
    }
    if let Some(departed_on) = request.departed_on {
        return Err(SessionError::Departed { departed_on });
    }
    if request.scheme_code != plan.scheme.code {
        return Err(SessionError::SchemeMismatch {
            candidate: request.scheme_code.clone(),
            session: plan.scheme.code.clone(),
        });
    }
    if !plan.serves(&request.region) {
        return Err(SessionError::RegionNotServed(request.region.to_string()));
    }
    if request.eligible_from > plan.starts_at.date() {
        return Err(SessionError::StillWaiting {
            eligible_from: request.eligible_from,
        });
    }
    Ok(())
}

fn on_roster<'a>(
    state: &'a Session,
    plan: &Plan,
    candidate: CandidateId,
    lsps: &str,
) -> Result<&'a super::session::Seat, SessionError> {
    match state.status {
        SessionStatus::Locked => {}
        SessionStatus::Cancelled => return Err(SessionError::SessionCancelled),
        _ => return Err(SessionError::RosterNotLocked),
    }
    if plan.lsps.as_str() != lsps {
        return Err(SessionError::WrongLsps {
            expected: plan.lsps.to_string(),
            reported: lsps.to_owned(),
        });
    }
    state.seats.get(&candidate).ok_or(SessionError::NotOnRoster)
}

fn check_report(plan: &Plan, report: &super::session::DecisionReport) -> Result<(), SessionError> {
    if report.units.is_empty() {
        return Err(SessionError::NoUnits);
    }
    let mut units = BTreeSet::new();
    if let Some(repeated) = report.units.iter().find(|u| !units.insert(&u.unit)) {
        return Err(SessionError::RepeatedUnit(repeated.unit.clone()));
    }
    // A session scheduled before the catalogue listed units has none, and takes any.
    if !plan.units.is_empty() {
        if let Some(stranger) = report
            .units
            .iter()
            .find(|judged| !plan.units.iter().any(|unit| unit.code == judged.unit))
        {
            return Err(SessionError::UnknownUnit(stranger.unit.clone()));
        }
        if let Some(missing) = plan.units.iter().find(|unit| !units.contains(&unit.code)) {
            return Err(SessionError::MissingUnit(missing.code.clone()));
        }
    }
    let all_k = report.units.iter().all(|u| u.kompeten);
    if all_k != (report.decision == Decision::Kompeten) {
        return Err(SessionError::InconsistentDecision);
    }
    if report.assessors.is_empty() {
        return Err(SessionError::NoAssessors);
    }
    if let Some(stranger) = report
        .assessors
        .iter()
        .find(|a| !plan.assessors.contains(a))
    {
        return Err(SessionError::UnknownAssessor(stranger.to_string()));
    }
    if report.decided_at < plan.starts_at {
        return Err(SessionError::DecidedBeforeStart {
            decided_at: report.decided_at,
            starts_at: plan.starts_at,
        });
    }
    Ok(())
}
