//! The pure core of scheduling: sessions, candidates, the allocation plan and the rules in
//! force. No I/O, clock or randomness: times and looked-up facts arrive in the commands.

pub mod allocation;
pub mod candidate;
pub mod policy;
pub mod schemes;
pub mod session;
pub mod session_rules;
pub mod types;

#[cfg(test)]
mod tests;

pub use allocation::{OpenSession, WaitingCandidate, plan_allocation};
pub use candidate::{
    Candidate, CandidateCommand, CandidateError, CandidateEvent, Departed, PostingMoved, Queued,
    Returned, ReturnedFromDeparture,
};
pub use policy::{PolicyError, SchedulingPolicy};
pub use schemes::{SchemeList, SchemeListError};
pub use session::{
    DecisionRecord, DecisionReport, PlanLimits, Seat, SeatRequest, Session, SessionCommand,
    SessionEvent, SessionStatus,
};
pub use session_rules::SessionError;
pub use types::*;
