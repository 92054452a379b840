//! The candidate aggregate (one stream per candidate): how a verified nomination entered the
//! pool, and each return to it — with the failed attempts that decide when the candidate may
//! sit again. Seats live in the sessions; a unique claim keeps a candidate in one seat at most.
//! A candidate whose worker left the programme is *departed*: it stays on record (with its
//! failures and returns) but may not be seated until the worker returns.

use kesos_aggregate::Aggregate;
use kesos_regions::RegionCode;
use time::{Date, OffsetDateTime};

use super::policy::SchedulingPolicy;
use super::types::{CandidateId, DepartureReason, ReturnReason, SchemeRef, SessionId, WorkerId};

/// A candidate's standing facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The candidate (= the nomination).
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// The scheme.
    pub scheme: SchemeRef,
    /// The worker's posting: when verified, then wherever the worker moved since.
    pub region: RegionCode,
    /// When the nomination was verified: the queue order.
    pub verified_at: OffsetDateTime,
}

/// One return to the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// The candidate.
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// Why.
    pub reason: ReturnReason,
    /// Free text.
    pub note: String,
    /// First day the candidate may sit again.
    pub eligible_from: Date,
    /// The session left, if any.
    pub session: Option<SessionId>,
    /// Day of the failed attempt, for failures.
    pub failed_on: Option<Date>,
    /// Number of the failed attempt (0 for other reasons).
    pub attempt: u32,
}

/// A candidate's worker moved to another posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingMoved {
    /// The candidate.
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// The posting before.
    pub from: RegionCode,
    /// The posting after.
    pub to: RegionCode,
}

/// A candidate left the pool because its worker left the programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departed {
    /// The candidate.
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// Why the worker left.
    pub reason: DepartureReason,
    /// Free text from the departure (e.g. the decree's number).
    pub note: String,
    /// The business date of the departure.
    pub departed_on: Date,
}

/// A departed candidate came back to the pool because its worker returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedFromDeparture {
    /// The candidate.
    pub candidate: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// The business date of the return.
    pub returned_on: Date,
    /// First day the candidate may sit again: the return's date, or the end of a waiting
    /// period still running.
    pub eligible_from: Date,
}

/// What happened to a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateEvent {
    /// `CandidateQueued`.
    Queued(Queued),
    /// `CandidateReturnedToPool`.
    Returned(Returned),
    /// `CandidatePostingMoved`.
    PostingMoved(PostingMoved),
    /// `CandidateDeparted`.
    Departed(Departed),
    /// `CandidateReturnedFromDeparture`.
    ReturnedFromDeparture(ReturnedFromDeparture),
}

/// What may be asked of a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateCommand {
    /// Enter the pool from a verified (or overridden) nomination.
    Queue(Queued),
    /// Go back to the pool after a session ended without a certificate decision.
    ReturnToPool {
        /// Why.
        reason: ReturnReason,
        /// Free text.
        note: String,
        /// The session left.
        session: SessionId,
        /// The day of the failed attempt (failures) or of the return.
        on: Date,
        /// Rules in force.
        policy: SchedulingPolicy,
    },
    /// Follow the worker's move to another posting (enrollment's `WorkerPostingMoved`), so
    /// the candidate waits for sessions of the region the worker now works in.
    FollowPosting(RegionCode),
    /// Leave the pool because the worker left the programme (enrollment's `WorkerDeparted`).
    /// Departing a departed candidate changes nothing.
    Depart {
        /// Why the worker left.
        reason: DepartureReason,
        /// Free text from the departure.
        note: String,
        /// The business date of the departure.
        on: Date,
    },
    /// Come back to the pool because the worker returned (enrollment's `WorkerReturned`),
    /// eligible from the return's date. A candidate that is not departed changes nothing.
    ReturnFromDeparture {
        /// The business date of the return.
        on: Date,
    },
}

/// Which rule refused a candidate command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateError {
    /// The candidate exists with other facts (a nomination id reused).
    #[error("candidate {0} is already queued with different facts")]
    QueuedDifferently(CandidateId),
    /// The command needs a queued candidate.
    #[error("no such candidate")]
    NotQueued,
}

/// The candidate's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    /// The standing facts, once queued.
    pub queued: Option<Queued>,
    /// Days of failed attempts, oldest first.
    pub failures: Vec<Date>,
    /// First day the candidate may sit a test.
    pub eligible_from: Option<Date>,
    /// Sessions the candidate was returned from (a return is recorded once per session).
    pub returned_from: Vec<SessionId>,
    /// The departure in force, if the worker left the programme and has not returned: a
    /// departed candidate is never seated.
    pub departed: Option<Departed>,
}

impl Candidate {
    /// Number the next attempt will have (failures so far, plus one).
    pub fn next_attempt(&self) -> u32 {
        u32::try_from(self.failures.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }
}

impl Aggregate for Candidate {
    type Command = CandidateCommand;
    type Event = CandidateEvent;
    type Error = CandidateError;

    fn decide(&self, command: &CandidateCommand) -> Result<Vec<CandidateEvent>, CandidateError> {
        match command {
            CandidateCommand::Queue(queued) => match &self.queued {
                None => Ok(vec![CandidateEvent::Queued(queued.clone())]),
                Some(existing)
                    if existing.worker == queued.worker
                        && existing.scheme.code == queued.scheme.code =>
                {
                    Ok(Vec::new())
                }
                Some(_) => Err(CandidateError::QueuedDifferently(queued.candidate)),
            },
            CandidateCommand::ReturnToPool {
                reason,
                note,
                session,
                on,
                policy,
            } => {
                let queued = self.queued.as_ref().ok_or(CandidateError::NotQueued)?;
                if self.returned_from.contains(session) {
                    return Ok(Vec::new());
                }
                let (eligible_from, failed_on, attempt) = if reason.is_failure() {
                    (
                        policy.eligible_after_failure(*on, &self.failures),
                        Some(*on),
                        self.next_attempt(),
                    )
                } else {
                    (
                        self.eligible_from.map_or(*on, |from| from.max(*on)),
                        None,
                        0,
                    )
                };
                Ok(vec![CandidateEvent::Returned(Returned {
                    candidate: queued.candidate,
                    worker: queued.worker,
                    reason: *reason,
                    note: note.clone(),
                    eligible_from,
                    session: Some(*session),
                    failed_on,
                    attempt,
                })])
            }
            CandidateCommand::FollowPosting(to) => {
                let queued = self.queued.as_ref().ok_or(CandidateError::NotQueued)?;
                if queued.region == *to {
                    return Ok(Vec::new());
                }
                Ok(vec![CandidateEvent::PostingMoved(PostingMoved {
                    candidate: queued.candidate,
                    worker: queued.worker,
                    from: queued.region.clone(),
                    to: to.clone(),
                })])
            }
            CandidateCommand::Depart { reason, note, on } => {
                let queued = self.queued.as_ref().ok_or(CandidateError::NotQueued)?;
                if self.departed.is_some() {
                    return Ok(Vec::new());
                }
                Ok(vec![CandidateEvent::Departed(Departed {
                    candidate: queued.candidate,
                    worker: queued.worker,
                    reason: *reason,
                    note: note.clone(),
                    departed_on: *on,
                })])
            }
            CandidateCommand::ReturnFromDeparture { on } => {
                let queued = self.queued.as_ref().ok_or(CandidateError::NotQueued)?;
                if self.departed.is_none() {
                    return Ok(Vec::new());
                }
                Ok(vec![CandidateEvent::ReturnedFromDeparture(
                    ReturnedFromDeparture {
                        candidate: queued.candidate,
                        worker: queued.worker,
                        returned_on: *on,
                        eligible_from: self.eligible_from.map_or(*on, |from| from.max(*on)),
                    },
                )])
            }
        }
    }

    fn evolve(mut self, event: &CandidateEvent) -> Self {
        match event {
            CandidateEvent::Queued(queued) => {
                self.eligible_from = Some(queued.verified_at.date());
                self.queued = Some(queued.clone());
            }
            CandidateEvent::Returned(returned) => {
                if let Some(day) = returned.failed_on {
                    self.failures.push(day);
                }
                if let Some(session) = returned.session {
                    self.returned_from.push(session);
                }
                self.eligible_from = Some(returned.eligible_from);
            }
            CandidateEvent::PostingMoved(moved) => {
                if let Some(queued) = &mut self.queued {
                    queued.region = moved.to.clone();
                }
            }
            CandidateEvent::Departed(departed) => self.departed = Some(departed.clone()),
            CandidateEvent::ReturnedFromDeparture(returned) => {
                self.departed = None;
                self.eligible_from = Some(returned.eligible_from);
            }
        }
        self
    }
}
