//! Domain events <-> `kesos.scheduling.v1` protobuf. Decoding never panics: a stored payload
//! this code cannot read is a [`kesos_aggregate::DecodeError`].

mod candidate;
mod fields;
mod session;

#[cfg(test)]
mod tests;

pub use fields::{
    attendance, attendance_of, competency_units, date_of, decision, decision_of, instant_of,
    timestamp, units, units_of,
};

/// Prefix of every scheduling event type (and NATS subject).
pub const PACKAGE: &str = "kesos.scheduling.v1";
/// Type name of a decision: what the certification service consumes.
pub const ASSESSMENT_DECIDED: &str = "kesos.scheduling.v1.AssessmentDecided";
/// Type name of a roster lock: what the roster desk sends to LSPS.
pub const ROSTER_LOCKED: &str = "kesos.scheduling.v1.RosterLocked";
/// Type name of a cancellation.
pub const SESSION_CANCELLED: &str = "kesos.scheduling.v1.SessionCancelled";
/// Type name of an attendance record.
pub const ATTENDANCE_RECORDED: &str = "kesos.scheduling.v1.AttendanceRecorded";
/// Type name of a candidate's entry into the pool.
pub const CANDIDATE_QUEUED: &str = "kesos.scheduling.v1.CandidateQueued";
/// Type name of a return to the pool.
pub const CANDIDATE_RETURNED: &str = "kesos.scheduling.v1.CandidateReturnedToPool";
/// Type name of a candidate following its worker's move to another posting.
pub const CANDIDATE_POSTING_MOVED: &str = "kesos.scheduling.v1.CandidatePostingMoved";

/// Type name of a candidate leaving the pool because its worker left the programme.
pub const CANDIDATE_DEPARTED: &str = "kesos.scheduling.v1.CandidateDeparted";
/// Type name of a departed candidate coming back because its worker returned.
pub const CANDIDATE_RETURNED_FROM_DEPARTURE: &str =
    "kesos.scheduling.v1.CandidateReturnedFromDeparture";

/// Whether an event type is one of the candidate's (the others are the sessions').
pub fn is_candidate_event(event_type: &str) -> bool {
    matches!(
        event_type,
        CANDIDATE_QUEUED
            | CANDIDATE_RETURNED
            | CANDIDATE_POSTING_MOVED
            | CANDIDATE_DEPARTED
            | CANDIDATE_RETURNED_FROM_DEPARTURE
    )
}
