//! Auto-allocation: plan with the pure [`plan_allocation`], then seat each session's list in
//! one append. Capacity (the session's version check) and "one seat per candidate" (the seat
//! claim) are enforced by the store, so allocations running at once — in this process or
//! another — never over-fill a session or seat a candidate twice: a candidate another
//! allocation seated first is dropped from the list and the append decided again.

use futures::StreamExt;
use kesos_commands::{AppError, CommandContext, execute_deriving_claims};
use kesos_eventstore::StoreError;
use serde::Serialize;

use super::{MAX_ATTEMPTS, Scheduling, SchedulingError, claims, derived, session_stream};
use crate::domain::{SeatRequest, Session, SessionCommand, SessionId, plan_allocation};

/// Sessions seated at once by one allocation.
const IN_FLIGHT: usize = 4;

/// What an allocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// Candidates seated.
    pub seated: usize,
    /// Sessions that received candidates.
    pub sessions: usize,
    /// Candidates the plan proposed (more than `seated` when others were faster).
    pub planned: usize,
    /// Candidates that were waiting.
    pub waiting: usize,
    /// The log position of the last seat appended (0: none), for a caller whose next list
    /// must show the seats ([`Scheduling::settle`]).
    #[serde(skip)]
    pub position: u64,
}

impl Scheduling {
    /// Fills open sessions (of `scheme`, or all) with waiting candidates, as the read models
    /// show them once they have applied the whole log.
    pub async fn allocate(
        &self,
        context: &CommandContext,
        scheme: Option<&str>,
    ) -> Result<Allocation, SchedulingError> {
        let pool = self.pool_at_head().await?;
        let sessions = pool.open_sessions(scheme, context.occurred_at).await?;
        let waiting = pool.waiting_candidates(scheme).await?;
        let by_id: std::collections::HashMap<_, _> = waiting.iter().map(|c| (c.id, c)).collect();
        let plan = plan_allocation(&sessions, &waiting);
        let planned = plan.iter().map(|(_, seats)| seats.len()).sum();
        let jobs = plan
            .into_iter()
            .enumerate()
            .map(|(index, (session, seats))| {
                let requests: Vec<SeatRequest> = seats
                    .iter()
                    .filter_map(|id| by_id.get(id))
                    .map(|c| SeatRequest {
                        candidate: c.id,
                        worker: c.worker,
                        scheme_code: c.scheme_code.clone(),
                        region: c.region.clone(),
                        eligible_from: c.eligible_from,
                        rescheduled_from: None,
                        // The pool offers no departed candidate; the session's rule is for
                        // the hand seat, which reads the candidate's stream.
                        departed_on: None,
                    })
                    .collect();
                let context = derived(context, index);
                async move { self.seat_many(&context, session, requests).await }
            });
        let mut results = futures::stream::iter(jobs).buffer_unordered(IN_FLIGHT);
        let mut allocation = Allocation {
            planned,
            waiting: waiting.len(),
            ..Allocation::default()
        };
        while let Some(seated) = results.next().await {
            let (seated, position) = seated?;
            if seated > 0 {
                allocation.seated += seated;
                allocation.sessions += 1;
                allocation.position = allocation.position.max(position);
            }
        }
        Ok(allocation)
    }

    /// Seats as many of `requests` as the session takes; returns how many, and the log
    /// position of the last.
    async fn seat_many(
        &self,
        context: &CommandContext,
        session: SessionId,
        mut requests: Vec<SeatRequest>,
    ) -> Result<(usize, u64), SchedulingError> {
        let stream = session_stream(session)?;
        while !requests.is_empty() {
            let command = SessionCommand::Seat {
                requests: requests.clone(),
                auto: true,
                now: context.occurred_at,
            };
            match execute_deriving_claims::<Session>(
                &**self.store(),
                &stream,
                &command,
                context,
                MAX_ATTEMPTS,
                claims::for_session_events,
            )
            .await
            {
                Ok(ran) => {
                    let last = ran.positions.iter().copied().max().unwrap_or(0);
                    return Ok((ran.events.len(), last));
                }
                Err(AppError::Store(StoreError::ClaimTaken { key, .. }))
                    if claims::is_seat(&key) =>
                {
                    // Seated elsewhere by a concurrent allocation or by hand: drop and retry.
                    requests
                        .retain(|r| claims::seat_claim(r.candidate).ok().as_ref() != Some(&key));
                }
                Err(AppError::Domain(error)) => {
                    tracing::debug!(%session, %error, "session took no candidates");
                    return Ok((0, 0));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok((0, 0))
    }
}
