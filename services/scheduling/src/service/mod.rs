//! The application shell of scheduling: look the facts up (the candidate's scheme, region
//! and waiting period; the rules in force), decide with the pure core, append with the claims
//! that keep seats and assessor bookings unique across sessions. The shell also owns the
//! projector that keeps the pool and session read models ([`crate::projections`]); a command
//! that decides on them, or whose effect its caller lists next, waits for a log position
//! ([`settle`]) instead of applying anything itself.

mod allocate;
pub mod claims;
mod departures;
pub mod error;
pub mod intake;
pub mod reports;
pub mod returns;
pub mod settle;

use std::sync::Arc;

use kesos_aggregate::derive_uuid;
use kesos_bus::Stalls;
use kesos_commands::{AppError, CommandContext, Executed, execute_deriving_claims, load};
use kesos_eventstore::{AsOf, Claims, EventStore, StoreError, StreamId};
use kesos_readside::{Db, Projector};
use kesos_regions::RegionCode;
use time::OffsetDateTime;

use crate::domain::{
    Attendance, Candidate, CandidateCommand, CandidateId, DecisionReport, LspsId, Plan, PlanLimits,
    Queued, ReturnReason, SchedulingPolicy, SchemeList, SchemeRef, SeatRequest, Session,
    SessionCommand, SessionError, SessionId, Timing, WorkerId,
};
use crate::lsps::answers::Answers;
use crate::lsps::sent::SentRosters;
use crate::projections::{self, CandidateFilter, CandidateRow, Pool, PoolProjection};
pub use allocate::Allocation;
pub use error::SchedulingError;
pub use settle::SETTLE_TIMEOUT;

/// Attempts before a contended stream gives up: allocations race each other (and people) on
/// popular sessions, so more than the aggregate crate's default.
pub const MAX_ATTEMPTS: u32 = 8;

/// The scheduling service's shell. Cheap to clone; the read models' projector runs until the
/// last clone is dropped.
#[derive(Clone)]
pub struct Scheduling {
    store: Arc<dyn EventStore>,
    pool: Pool,
    answers: Answers,
    sent_rosters: SentRosters,
    projector: Projector,
    policy: Arc<SchedulingPolicy>,
    schemes: Arc<SchemeList>,
}

/// The stream of one session: `session-<uuid>`.
pub fn session_stream(session: SessionId) -> Result<StreamId, SchedulingError> {
    StreamId::parse(format!("session-{session}")).map_err(|e| SchedulingError::Store(e.into()))
}

/// The stream of one candidate: `candidate-<uuid>`.
pub fn candidate_stream(candidate: CandidateId) -> Result<StreamId, SchedulingError> {
    StreamId::parse(format!("candidate-{candidate}")).map_err(|e| SchedulingError::Store(e.into()))
}

/// A decision as a caller reports it; the shell adds the attempt and the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedDecision {
    /// The candidate.
    pub candidate: CandidateId,
    /// Judgement per unit.
    pub units: Vec<crate::domain::UnitResult>,
    /// Overall decision.
    pub decision: crate::domain::Decision,
    /// Who decided.
    pub assessors: Vec<crate::domain::AssessorId>,
    /// When.
    pub decided_at: OffsetDateTime,
    /// The reporting LSPS.
    pub lsps: LspsId,
    /// The report's message id (`manual:<command id>` for results recorded by hand).
    pub message_id: String,
}

fn session_error(error: AppError<SessionError>) -> SchedulingError {
    match error {
        AppError::Store(StoreError::ClaimTaken { key, holder }) if claims::is_seat(&key) => {
            SchedulingError::SeatedElsewhere {
                session: holder.as_str().trim_start_matches("session-").to_owned(),
            }
        }
        AppError::Store(StoreError::ClaimTaken { key, holder }) => {
            SchedulingError::AssessorBooked {
                assessor: claims::assessor_of(&key).unwrap_or_default(),
                session: holder.as_str().trim_start_matches("session-").to_owned(),
            }
        }
        other => other.into(),
    }
}

impl Scheduling {
    /// The shell over a store and the rules in force, with its read models in `db` (migrated
    /// here) kept by a projector that starts now on the store's log, reporting a stall in
    /// `stalls` (readiness reads them).
    pub async fn open(
        store: Arc<dyn EventStore>,
        db: Db,
        policy: SchedulingPolicy,
        schemes: SchemeList,
        stalls: &Stalls,
    ) -> Result<Self, SchedulingError> {
        // The pool's own migrations first: they carry an older deployment's checkpoint over,
        // and the projector reads its checkpoint when built.
        db.migrate(projections::migrations()).await?;
        let projector = Projector::new(db.clone(), Arc::new(PoolProjection))
            .await?
            .with_stalls(stalls.clone());
        projector.start_on_log(store.clone(), projections::SOURCE);
        Ok(Self {
            store,
            answers: Answers::new(db.clone()),
            sent_rosters: SentRosters::new(db.clone()),
            pool: Pool::new(db),
            projector,
            policy: Arc::new(policy),
            schemes: Arc::new(schemes),
        })
    }

    /// The store this service writes.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The read models as far as the projector has applied them: what a read answers from.
    /// Nothing is applied or awaited here; see [`Scheduling::pool_at_head`] for a command
    /// that decides on the rows.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The answers given to LSPS reports (what the LSPS inbox published), for reading them
    /// over HTTP.
    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    /// The roster messages sent to LSPS and the workers each names (what the roster desk
    /// records and a worker's erasure reads).
    pub fn sent_rosters(&self) -> &SentRosters {
        &self.sent_rosters
    }

    /// The projector keeping the read models (its checkpoint, for waits and operations).
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// The rules in force.
    pub fn policy(&self) -> &SchedulingPolicy {
        &self.policy
    }

    fn limits(&self) -> PlanLimits {
        PlanLimits {
            candidates_per_assessor: self.policy.candidates_per_assessor,
            max_session_hours: self.policy.max_session_hours,
        }
    }

    /// The scheme with this code, with its category and level from the catalogue.
    pub fn scheme(&self, code: &str) -> Result<SchemeRef, SchedulingError> {
        self.schemes
            .find(code)
            .cloned()
            .ok_or_else(|| SchedulingError::UnknownScheme(code.to_owned()))
    }

    async fn on_session(
        &self,
        session: SessionId,
        command: SessionCommand,
        context: &CommandContext,
    ) -> Result<Executed<Session>, SchedulingError> {
        let stream = session_stream(session)?;
        match execute_deriving_claims::<Session>(
            &*self.store,
            &stream,
            &command,
            context,
            MAX_ATTEMPTS,
            claims::for_session_events,
        )
        .await
        {
            Err(AppError::Domain(SessionError::NotScheduled)) => {
                Err(SchedulingError::SessionNotFound(session))
            }
            other => other.map_err(session_error),
        }
    }

    /// Plans a session; its assessors' half-hour slots are booked in the same append. The
    /// session takes its scheme's competency units from the catalogue in force (whatever the
    /// plan carried): the units its results will be judged against, also after the catalogue
    /// changes.
    pub async fn schedule(
        &self,
        context: &CommandContext,
        session: SessionId,
        plan: Plan,
    ) -> Result<Executed<Session>, SchedulingError> {
        let units = self
            .schemes
            .units(&plan.scheme.code)
            .ok_or_else(|| SchedulingError::UnknownScheme(plan.scheme.code.clone()))?
            .to_vec();
        let command = SessionCommand::Schedule {
            session,
            plan: Plan { units, ..plan },
            now: context.occurred_at,
            limits: self.limits(),
        };
        self.on_session(session, command, context).await
    }

    /// Changes a session's timing, capacity or assessors (bookings follow).
    pub async fn change(
        &self,
        context: &CommandContext,
        session: SessionId,
        timing: Timing,
        reason: String,
    ) -> Result<Executed<Session>, SchedulingError> {
        let command = SessionCommand::Change {
            timing,
            reason,
            now: context.occurred_at,
            limits: self.limits(),
        };
        self.on_session(session, command, context).await
    }

    /// Cancels a session; its candidates go back to the pool (each by an event, see
    /// [`returns`]).
    pub async fn cancel(
        &self,
        context: &CommandContext,
        session: SessionId,
        reason: String,
    ) -> Result<Executed<Session>, SchedulingError> {
        self.on_session(session, SessionCommand::Cancel { reason }, context)
            .await
    }

    /// The request to seat `candidate`, with the facts the session decides on.
    async fn seat_request(
        &self,
        candidate: CandidateId,
        rescheduled_from: Option<SessionId>,
    ) -> Result<SeatRequest, SchedulingError> {
        let state = self
            .candidate(candidate)
            .await?
            .ok_or(SchedulingError::CandidateNotFound(candidate))?;
        let queued = state
            .queued
            .as_ref()
            .ok_or(SchedulingError::CandidateNotFound(candidate))?;
        Ok(SeatRequest {
            candidate,
            worker: queued.worker,
            scheme_code: queued.scheme.code.clone(),
            region: queued.region.clone(),
            eligible_from: state.eligible_from.unwrap_or(queued.verified_at.date()),
            rescheduled_from,
            departed_on: state.departed.as_ref().map(|d| d.departed_on),
        })
    }

    /// Seats a candidate by hand.
    pub async fn seat(
        &self,
        context: &CommandContext,
        session: SessionId,
        candidate: CandidateId,
    ) -> Result<Executed<Session>, SchedulingError> {
        let request = self.seat_request(candidate, None).await?;
        let command = SessionCommand::Seat {
            requests: vec![request],
            auto: false,
            now: context.occurred_at,
        };
        self.on_session(session, command, context).await
    }

    /// Gives up a seat before the cut-off.
    pub async fn unseat(
        &self,
        context: &CommandContext,
        session: SessionId,
        candidate: CandidateId,
        reason: String,
    ) -> Result<Executed<Session>, SchedulingError> {
        let command = SessionCommand::Unseat {
            candidate,
            reason,
            now: context.occurred_at,
        };
        self.on_session(session, command, context).await
    }

    /// Moves a candidate from `from` to `to` before the cut-off: leaves `from` (releasing the
    /// seat claim), then joins `to`. When `to` refuses after all (filled meanwhile), the
    /// candidate takes the old seat back if it is still free, else waits in the pool; either
    /// way the error says where the candidate is. `to` is checked first, so this is rare.
    pub async fn reschedule(
        &self,
        context: &CommandContext,
        from: SessionId,
        candidate: CandidateId,
        to: SessionId,
        reason: String,
    ) -> Result<Executed<Session>, SchedulingError> {
        let mut request = self.seat_request(candidate, Some(from)).await?;
        let target = self
            .session(to)
            .await?
            .ok_or(SchedulingError::SessionNotFound(to))?;
        let probe = SessionCommand::Seat {
            requests: vec![request.clone()],
            auto: false,
            now: context.occurred_at,
        };
        kesos_aggregate::Aggregate::decide(&target, &probe).map_err(SchedulingError::Session)?;
        let leave = SessionCommand::MoveOut {
            candidate,
            to,
            reason,
            now: context.occurred_at,
        };
        self.on_session(from, leave, context).await?;
        let join_context = derived(context, 1);
        let join = SessionCommand::Seat {
            requests: vec![request.clone()],
            auto: false,
            now: context.occurred_at,
        };
        match self.on_session(to, join, &join_context).await {
            Ok(ran) => Ok(ran),
            Err(error) => {
                request.rescheduled_from = None;
                let back = SessionCommand::Seat {
                    requests: vec![request],
                    auto: false,
                    now: context.occurred_at,
                };
                let outcome = match self.on_session(from, back, &derived(context, 2)).await {
                    Ok(_) => "the candidate keeps the old seat".to_owned(),
                    Err(_) => "the old seat was taken meanwhile; the candidate waits in the pool"
                        .to_owned(),
                };
                Err(SchedulingError::RescheduleFailed {
                    reason: error.to_string(),
                    outcome,
                })
            }
        }
    }

    /// Freezes a session's roster (after its cut-off); the roster desk then sends it to LSPS.
    pub async fn lock(
        &self,
        context: &CommandContext,
        session: SessionId,
    ) -> Result<Executed<Session>, SchedulingError> {
        let command = SessionCommand::LockRoster {
            now: context.occurred_at,
        };
        self.on_session(session, command, context).await
    }

    /// Locks every open session whose cut-off has passed and that has candidates (the
    /// time-driven job; a session locks once however often it runs). Returns how many locked.
    pub async fn lock_due(&self, now: OffsetDateTime) -> Result<usize, SchedulingError> {
        let due = self.pool_at_head().await?.due_for_lock(now).await?;
        let mut locked = 0;
        for session in due {
            let context = system_context(
                derive_uuid("kesos.scheduling.roster-lock", session.0),
                "system:roster-lock",
                now,
            );
            match self.lock(&context, session).await {
                Ok(ran) if !ran.events.is_empty() => locked += 1,
                Ok(_) => {}
                Err(SchedulingError::Session(error)) => {
                    tracing::debug!(%session, %error, "session not locked");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(locked)
    }

    /// Records a candidate's attendance (from LSPS or by hand).
    pub async fn record_attendance(
        &self,
        context: &CommandContext,
        session: SessionId,
        candidate: CandidateId,
        attendance: Attendance,
        lsps: LspsId,
    ) -> Result<Executed<Session>, SchedulingError> {
        let attempt = self.attempt_of(candidate).await?;
        let command = SessionCommand::RecordAttendance {
            candidate,
            attendance,
            attempt,
            lsps,
        };
        self.on_session(session, command, context).await
    }

    /// Records a candidate's decision (from LSPS or by hand).
    pub async fn record_decision(
        &self,
        context: &CommandContext,
        session: SessionId,
        reported: ReportedDecision,
    ) -> Result<Executed<Session>, SchedulingError> {
        let state = self.candidate(reported.candidate).await?;
        let Some((attempt, region)) = state.as_ref().and_then(|s| {
            s.queued
                .as_ref()
                .map(|q| (s.next_attempt(), q.region.clone()))
        }) else {
            // Not a candidate of ours: no session has them on its roster.
            return match self.session(session).await? {
                None => Err(SchedulingError::SessionNotFound(session)),
                Some(_) => Err(SchedulingError::Session(SessionError::NotOnRoster)),
            };
        };
        let command = SessionCommand::RecordDecision(Box::new(DecisionReport {
            candidate: reported.candidate,
            units: reported.units,
            decision: reported.decision,
            assessors: reported.assessors,
            decided_at: reported.decided_at,
            lsps: reported.lsps,
            attempt,
            region,
            message_id: reported.message_id,
        }));
        self.on_session(session, command, context).await
    }

    async fn attempt_of(&self, candidate: CandidateId) -> Result<u32, SchedulingError> {
        Ok(self
            .candidate(candidate)
            .await?
            .map_or(1, |state| state.next_attempt()))
    }

    /// Queues a verified nomination as a candidate (idempotent: the candidate id is the
    /// nomination id, and the command id derives from the source event).
    pub async fn queue(
        &self,
        context: &CommandContext,
        queued: Queued,
    ) -> Result<Executed<Candidate>, SchedulingError> {
        let stream = candidate_stream(queued.candidate)?;
        let command = CandidateCommand::Queue(queued);
        execute_deriving_claims::<Candidate>(
            &*self.store,
            &stream,
            &command,
            context,
            MAX_ATTEMPTS,
            |_, _| Ok(Claims::default()),
        )
        .await
        .map_err(Into::into)
    }

    /// Moves a candidate to its worker's new posting (idempotent: moving to the region it
    /// has changes nothing).
    pub async fn follow_posting(
        &self,
        context: &CommandContext,
        candidate: CandidateId,
        to: RegionCode,
    ) -> Result<Executed<Candidate>, SchedulingError> {
        let stream = candidate_stream(candidate)?;
        execute_deriving_claims::<Candidate>(
            &*self.store,
            &stream,
            &CandidateCommand::FollowPosting(to),
            context,
            MAX_ATTEMPTS,
            |_, _| Ok(Claims::default()),
        )
        .await
        .map_err(Into::into)
    }

    /// Every candidate of a worker, as the pool has them once it shows the whole log.
    pub async fn candidates_of(
        &self,
        worker: WorkerId,
    ) -> Result<Vec<CandidateId>, SchedulingError> {
        Ok(self
            .candidate_rows_of(worker)
            .await?
            .iter()
            .filter_map(|c| uuid::Uuid::parse_str(&c.candidate_id).ok())
            .map(CandidateId)
            .collect())
    }

    /// Every candidate row of a worker (standing and seat), as the pool has them once it
    /// shows the whole log.
    pub async fn candidate_rows_of(
        &self,
        worker: WorkerId,
    ) -> Result<Vec<CandidateRow>, SchedulingError> {
        let pool = self.pool_at_head().await?;
        let filter = CandidateFilter {
            worker: Some(worker),
            ..CandidateFilter::default()
        };
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = pool
                .list_candidates(&filter, after.as_deref(), projections::MAX_PAGE)
                .await?;
            found.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Returns a candidate to the pool from `session` (cancellation, no-show, belum
    /// kompeten), then — for a failed attempt — gives the seat up, so the waiting period is
    /// on record before the candidate can be seated again.
    pub async fn return_to_pool(
        &self,
        context: &CommandContext,
        session: SessionId,
        candidate: CandidateId,
        reason: ReturnReason,
        note: String,
    ) -> Result<(), SchedulingError> {
        let stream = candidate_stream(candidate)?;
        let command = CandidateCommand::ReturnToPool {
            reason,
            note,
            session,
            on: context.occurred_at.date(),
            policy: (*self.policy).clone(),
        };
        execute_deriving_claims::<Candidate>(
            &*self.store,
            &stream,
            &command,
            context,
            MAX_ATTEMPTS,
            |_, _| Ok(Claims::default()),
        )
        .await?;
        if reason.is_failure() {
            self.on_session(
                session,
                SessionCommand::ReleaseSeat { candidate },
                &derived(context, 1),
            )
            .await?;
        }
        Ok(())
    }

    /// A session's current state.
    pub async fn session(&self, session: SessionId) -> Result<Option<Session>, SchedulingError> {
        let stream = session_stream(session)?;
        Ok(load::<Session>(&*self.store, &stream, AsOf::Now)
            .await?
            .map(|(state, _)| state))
    }

    /// A candidate's current state.
    pub async fn candidate(
        &self,
        candidate: CandidateId,
    ) -> Result<Option<Candidate>, SchedulingError> {
        let stream = candidate_stream(candidate)?;
        Ok(load::<Candidate>(&*self.store, &stream, AsOf::Now)
            .await?
            .map(|(state, _)| state))
    }
}

/// A context for a follow-up command of `context` (the `n`-th), with its own stable id.
pub fn derived(context: &CommandContext, n: usize) -> CommandContext {
    CommandContext {
        command_id: derive_uuid(&format!("kesos.scheduling.step-{n}"), context.command_id),
        causation_id: Some(context.command_id.to_string()),
        ..context.clone()
    }
}

/// A context for a system job's command.
pub fn system_context(command_id: uuid::Uuid, actor: &str, at: OffsetDateTime) -> CommandContext {
    CommandContext {
        command_id,
        actor: actor.to_owned(),
        correlation_id: command_id.to_string(),
        causation_id: None,
        occurred_at: at,
    }
}
