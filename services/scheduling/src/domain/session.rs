//! The session aggregate (one stream per session): its plan, its seats, its roster and the
//! results recorded for its candidates. Decisions are in [`super::session_rules`].

use std::collections::BTreeMap;

use kesos_aggregate::Aggregate;
use kesos_regions::RegionCode;
use time::{Date, OffsetDateTime};

use super::session_rules;
use super::types::{
    AssessorId, Attendance, CandidateId, Decision, LspsId, Plan, ReturnReason, SchemeRef,
    SessionId, Timing, UnitResult, WorkerId,
};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionStatus {
    /// Not scheduled (the stream is empty).
    #[default]
    Unscheduled,
    /// Open for seating.
    Open,
    /// Roster frozen and sent to LSPS; results may be recorded.
    Locked,
    /// Cancelled; its candidates went back to the pool.
    Cancelled,
}

impl SessionStatus {
    /// The status's code in lists and filters.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unscheduled => "unscheduled",
            Self::Open => "open",
            Self::Locked => "locked",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A candidate's seat in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// The worker.
    pub worker: WorkerId,
    /// Attendance, once reported.
    pub attendance: Option<Attendance>,
    /// The decision and the unit judgements, once reported.
    pub decision: Option<(Decision, Vec<UnitResult>)>,
    /// True once a failed seat was given up (the candidate is back in the pool).
    pub released: bool,
}

/// The session's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// The session's id, once scheduled.
    pub id: Option<SessionId>,
    /// The plan in force.
    pub plan: Option<Plan>,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// Current seats (candidates who left are removed), by candidate.
    pub seats: BTreeMap<CandidateId, Seat>,
}

impl Session {
    /// Seats taken.
    pub fn seated(&self) -> u32 {
        u32::try_from(self.seats.len()).unwrap_or(u32::MAX)
    }

    /// Seats still free (0 unless open).
    pub fn free(&self) -> u32 {
        match (&self.plan, self.status) {
            (Some(plan), SessionStatus::Open) => plan.capacity.saturating_sub(self.seated()),
            _ => 0,
        }
    }
}

/// A candidate offered a seat, with the facts the shell looked up about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRequest {
    /// The candidate.
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// The candidate's scheme code.
    pub scheme_code: String,
    /// The candidate's region.
    pub region: RegionCode,
    /// The first day the candidate may sit a test.
    pub eligible_from: Date,
    /// Set when the seat is the arriving half of a reschedule.
    pub rescheduled_from: Option<SessionId>,
    /// The departure's date when the candidate's worker left the programme (a departed
    /// candidate is never seated).
    pub departed_on: Option<Date>,
}

/// A decision as LSPS (or central operations, by hand) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionReport {
    /// The candidate.
    pub candidate: CandidateId,
    /// Judgement per unit.
    pub units: Vec<UnitResult>,
    /// Overall decision.
    pub decision: Decision,
    /// Who decided.
    pub assessors: Vec<AssessorId>,
    /// When.
    pub decided_at: OffsetDateTime,
    /// The reporting LSPS.
    pub lsps: LspsId,
    /// Attempt number (the shell counts the candidate's earlier failures).
    pub attempt: u32,
    /// The candidate's region.
    pub region: RegionCode,
    /// The report's message id.
    pub message_id: String,
}

/// Limits from the rules in force that a plan is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Candidates one assessor may observe.
    pub candidates_per_assessor: u32,
    /// Longest session in hours.
    pub max_session_hours: u32,
}

/// What may be asked of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// Plan a new session.
    Schedule {
        /// Its id.
        session: SessionId,
        /// The plan.
        plan: Plan,
        /// The command's time.
        now: OffsetDateTime,
        /// Rules in force.
        limits: PlanLimits,
    },
    /// Change time, capacity, assessors or cut-off.
    Change {
        /// The new values.
        timing: Timing,
        /// Why.
        reason: String,
        /// The command's time.
        now: OffsetDateTime,
        /// Rules in force.
        limits: PlanLimits,
    },
    /// Seat candidates. By hand (`auto` false, one request): every rule is an error. By
    /// auto-allocation: requests that do not fit are skipped and seating stops when full.
    Seat {
        /// The candidates, in priority order.
        requests: Vec<SeatRequest>,
        /// Auto-allocation or by hand.
        auto: bool,
        /// The command's time.
        now: OffsetDateTime,
    },
    /// Give up a seat before the cut-off.
    Unseat {
        /// The candidate.
        candidate: CandidateId,
        /// Why.
        reason: String,
        /// The command's time.
        now: OffsetDateTime,
    },
    /// Leave for another session before the cut-off (the departing half of a reschedule).
    MoveOut {
        /// The candidate.
        candidate: CandidateId,
        /// The session the candidate goes to.
        to: SessionId,
        /// Why.
        reason: String,
        /// The command's time.
        now: OffsetDateTime,
    },
    /// Cancel the session; its candidates go back to the pool.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Freeze the roster once the cut-off has passed.
    LockRoster {
        /// The command's time.
        now: OffsetDateTime,
    },
    /// Record a candidate's attendance.
    RecordAttendance {
        /// The candidate.
        candidate: CandidateId,
        /// Present or no-show.
        attendance: Attendance,
        /// Attempt number.
        attempt: u32,
        /// The reporting LSPS.
        lsps: LspsId,
    },
    /// Record a candidate's decision.
    RecordDecision(Box<DecisionReport>),
    /// Give up a failed seat once the candidate is back in the pool.
    ReleaseSeat {
        /// The candidate.
        candidate: CandidateId,
    },
}

/// The full record of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The session.
    pub session: SessionId,
    /// The worker.
    pub worker: WorkerId,
    /// The scheme tested.
    pub scheme: SchemeRef,
    /// The report.
    pub report: DecisionReport,
}

/// What happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// `SessionScheduled`.
    Scheduled {
        /// The session.
        session: SessionId,
        /// Its plan.
        plan: Plan,
    },
    /// `SessionChanged`.
    Changed {
        /// The session.
        session: SessionId,
        /// New values.
        timing: Timing,
        /// Why.
        reason: String,
    },
    /// `CandidateSeated`.
    Seated {
        /// The session.
        session: SessionId,
        /// The candidate.
        candidate: CandidateId,
        /// The worker.
        worker: WorkerId,
        /// Set for the arriving half of a reschedule.
        rescheduled_from: Option<SessionId>,
        /// Chosen by auto-allocation.
        auto: bool,
    },
    /// `CandidateUnseated`.
    Unseated {
        /// The session.
        session: SessionId,
        /// The candidate.
        candidate: CandidateId,
        /// The worker.
        worker: WorkerId,
        /// Why.
        reason: String,
    },
    /// `CandidateRescheduled`, recorded in the session the candidate leaves.
    MovedOut {
        /// The session left.
        session: SessionId,
        /// The candidate.
        candidate: CandidateId,
        /// The worker.
        worker: WorkerId,
        /// The session joined.
        to: SessionId,
        /// Why.
        reason: String,
    },
    /// `SessionCancelled`.
    Cancelled {
        /// The session.
        session: SessionId,
        /// Why.
        reason: String,
        /// The candidates seated at the time.
        candidates: Vec<CandidateId>,
    },
    /// `RosterLocked`.
    RosterLocked {
        /// The session.
        session: SessionId,
        /// The final roster.
        candidates: Vec<CandidateId>,
    },
    /// `AttendanceRecorded`.
    AttendanceRecorded {
        /// The session.
        session: SessionId,
        /// The candidate.
        candidate: CandidateId,
        /// The worker.
        worker: WorkerId,
        /// Present or no-show.
        attendance: Attendance,
        /// Attempt number.
        attempt: u32,
    },
    /// `AssessmentDecided`.
    Decided(Box<DecisionRecord>),
    /// `SeatReleased`.
    SeatReleased {
        /// The session.
        session: SessionId,
        /// The candidate.
        candidate: CandidateId,
        /// The worker.
        worker: WorkerId,
        /// Why the seat ended.
        reason: ReturnReason,
    },
}

impl Aggregate for Session {
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = session_rules::SessionError;

    fn decide(&self, command: &SessionCommand) -> Result<Vec<SessionEvent>, Self::Error> {
        session_rules::decide(self, command)
    }

    fn evolve(mut self, event: &SessionEvent) -> Self {
        match event {
            SessionEvent::Scheduled { session, plan } => {
                self.id = Some(*session);
                self.plan = Some(plan.clone());
                self.status = SessionStatus::Open;
            }
            SessionEvent::Changed { timing, .. } => {
                self.plan = self.plan.map(|plan| plan.with_timing(timing));
            }
            SessionEvent::Seated {
                candidate, worker, ..
            } => {
                self.seats.insert(
                    *candidate,
                    Seat {
                        worker: *worker,
                        attendance: None,
                        decision: None,
                        released: false,
                    },
                );
            }
            SessionEvent::Unseated { candidate, .. } | SessionEvent::MovedOut { candidate, .. } => {
                self.seats.remove(candidate);
            }
            SessionEvent::Cancelled { .. } => {
                self.status = SessionStatus::Cancelled;
                self.seats.clear();
            }
            SessionEvent::RosterLocked { .. } => self.status = SessionStatus::Locked,
            SessionEvent::AttendanceRecorded {
                candidate,
                attendance,
                ..
            } => {
                if let Some(seat) = self.seats.get_mut(candidate) {
                    seat.attendance = Some(*attendance);
                }
            }
            SessionEvent::Decided(record) => {
                if let Some(seat) = self.seats.get_mut(&record.report.candidate) {
                    seat.attendance = Some(Attendance::Present);
                    seat.decision = Some((record.report.decision, record.report.units.clone()));
                }
            }
            SessionEvent::SeatReleased { candidate, .. } => {
                if let Some(seat) = self.seats.get_mut(candidate) {
                    seat.released = true;
                }
            }
        }
        self
    }
}
