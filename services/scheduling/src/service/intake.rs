//! Intake: every verified (or overridden) nomination from enrollment becomes a candidate in
//! the pool, and every move of a worker to another posting moves the worker's candidates with
//! it (so the new region's sessions and office see them). A consumer of enrollment's events —
//! the local log in the embedded mode, JetStream in the distributed one — whose effects are
//! idempotent appends (each command id derives from the source event id, and the candidate id
//! is the nomination id), done in [`Handler::act`] before the consumer's transaction.
//!
//! A worker's departure from the programme (`WorkerDeparted`) takes the worker's candidates out
//! of the pool, and the return (`WorkerReturned`) brings them back ([`super::departures`]).
//!
//! A worker's erasure (`WorkerErased`) erases the rosters naming them from the LSPS stream
//! ([`crate::lsps::erasure`]) in the distributed mode, and forgets them in the consumer's
//! transaction; the embedded mode has no LSPS stream, and there the event changes nothing.

use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, HandlerError};
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_readside::Tx;
use kesos_regions::RegionCode;
use prost::Message;
use uuid::Uuid;

use super::{Scheduling, SchedulingError, system_context};
use crate::domain::{CandidateId, Queued, WorkerId};
use crate::lsps::erasure::RosterErasure;
use kesos_aggregate::derive_uuid;

/// Type name of a verified nomination.
pub const NOMINATION_VERIFIED: &str = "kesos.enrollment.v1.NominationVerified";
/// Type name of an overridden nomination.
pub const NOMINATION_OVERRIDDEN: &str = "kesos.enrollment.v1.NominationOverridden";
/// Type name of a worker's move to another posting.
pub const WORKER_POSTING_MOVED: &str = "kesos.enrollment.v1.WorkerPostingMoved";
/// Type name of the erasure of a worker's personal data.
pub const WORKER_ERASED: &str = "kesos.enrollment.v1.WorkerErased";
/// Type name of a worker leaving the programme.
pub const WORKER_DEPARTED: &str = "kesos.enrollment.v1.WorkerDeparted";
/// Type name of a departed worker's return to the programme.
pub const WORKER_RETURNED: &str = "kesos.enrollment.v1.WorkerReturned";

/// The intake handler.
#[derive(Clone)]
pub struct Intake {
    scheduling: Scheduling,
    erasure: Option<RosterErasure>,
}

impl Intake {
    /// An intake into `scheduling`, without an LSPS stream (the embedded mode).
    pub fn new(scheduling: Scheduling) -> Self {
        Self {
            scheduling,
            erasure: None,
        }
    }

    /// The same intake, erasing an erased worker's rosters from the LSPS stream through
    /// `context` (the distributed mode, where the roster desk publishes them).
    pub fn erasing_rosters(self, context: async_nats::jetstream::Context) -> Self {
        let sent = self.scheduling.sent_rosters().clone();
        Self {
            erasure: Some(RosterErasure::new(context, sent)),
            ..self
        }
    }
}

/// The worker a `WorkerErased` names.
fn erased_worker(delivered: &Delivered) -> Result<String, HandlerError> {
    let erased = enrollment::WorkerErased::decode(delivered.event.payload.as_slice())
        .map_err(|e| permanent(format!("{WORKER_ERASED} does not decode: {e}")))?;
    Uuid::parse_str(&erased.worker_id)
        .map(|worker| worker.to_string())
        .map_err(|e| permanent(format!("worker_id: {e}")))
}

/// A refusal no retry mends (a dead letter).
pub(super) fn permanent(reason: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(reason.to_string())
}

/// A failed append or read: retried when transient, dead-lettered when a rule refused it.
pub(super) fn failed(error: SchedulingError) -> HandlerError {
    match error {
        error if error.is_transient() => HandlerError::Transient(error.to_string()),
        // Refused, invalid or undecodable: no retry mends it (dead letter; redrive by hand).
        error => permanent(error),
    }
}

impl Intake {
    /// Moves every candidate of the moved worker to the new posting, one idempotent append
    /// per candidate (a redelivery finds each move stored, or the region already current).
    async fn follow_move(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        let event = &delivered.event;
        let moved = enrollment::WorkerPostingMoved::decode(event.payload.as_slice())
            .map_err(|e| permanent(format!("{WORKER_POSTING_MOVED} does not decode: {e}")))?;
        let worker =
            Uuid::parse_str(&moved.worker_id).map_err(|e| permanent(format!("worker_id: {e}")))?;
        let to = moved
            .to_posting
            .ok_or_else(|| permanent("to_posting is missing"))
            .and_then(|r| RegionCode::parse(&r.code).map_err(permanent))?;
        let candidates = self
            .scheduling
            .candidates_of(WorkerId(worker))
            .await
            .map_err(failed)?;
        for candidate in candidates {
            let label = format!("kesos.scheduling.posting.{candidate}");
            let mut context = system_context(
                derive_uuid(&label, event.event_id),
                "system:scheduling-intake",
                event.occurred_at,
            );
            context.correlation_id = event.metadata.correlation_id.clone();
            context.causation_id = Some(event.event_id.to_string());
            self.scheduling
                .follow_posting(&context, candidate, to.clone())
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
}

struct Nomination {
    nomination_id: String,
    worker_id: String,
    scheme_code: String,
    region: Option<kesos_proto::kesos::common::v1::RegionRef>,
}

fn nomination(delivered: &Delivered) -> Result<Option<Nomination>, HandlerError> {
    let event = &delivered.event;
    Ok(match event.event_type.as_str() {
        NOMINATION_VERIFIED => {
            let m = enrollment::NominationVerified::decode(event.payload.as_slice())
                .map_err(|e| permanent(format!("{NOMINATION_VERIFIED} does not decode: {e}")))?;
            Some(Nomination {
                nomination_id: m.nomination_id,
                worker_id: m.worker_id,
                scheme_code: m.scheme_code,
                region: m.region,
            })
        }
        NOMINATION_OVERRIDDEN => {
            let m = enrollment::NominationOverridden::decode(event.payload.as_slice())
                .map_err(|e| permanent(format!("{NOMINATION_OVERRIDDEN} does not decode: {e}")))?;
            Some(Nomination {
                nomination_id: m.nomination_id,
                worker_id: m.worker_id,
                scheme_code: m.scheme_code,
                region: m.region,
            })
        }
        _ => None,
    })
}

#[async_trait]
impl Handler for Intake {
    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        match delivered.event.event_type.as_str() {
            WORKER_POSTING_MOVED => return self.follow_move(delivered).await,
            WORKER_DEPARTED => {
                return super::departures::follow_departure(&self.scheduling, delivered).await;
            }
            WORKER_RETURNED => {
                return super::departures::follow_return(&self.scheduling, delivered).await;
            }
            WORKER_ERASED => {
                if let Some(erasure) = &self.erasure {
                    let worker = erased_worker(delivered)?;
                    let erased = erasure.erase(&worker, delivered.event.event_id).await?;
                    tracing::info!(%worker, erased, "an erased worker's rosters erased from the LSPS stream");
                }
                return Ok(());
            }
            _ => {}
        }
        let Some(nomination) = nomination(delivered)? else {
            return Ok(());
        };
        let candidate = Uuid::parse_str(&nomination.nomination_id)
            .map_err(|e| permanent(format!("nomination_id: {e}")))?;
        let worker = Uuid::parse_str(&nomination.worker_id)
            .map_err(|e| permanent(format!("worker_id: {e}")))?;
        let region = nomination
            .region
            .ok_or_else(|| permanent("region is missing"))
            .and_then(|r| RegionCode::parse(&r.code).map_err(permanent))?;
        let scheme = self
            .scheduling
            .scheme(&nomination.scheme_code)
            .map_err(permanent)?;
        let event = &delivered.event;
        let mut context = system_context(
            derive_uuid("kesos.scheduling.intake", event.event_id),
            "system:scheduling-intake",
            event.occurred_at,
        );
        context.correlation_id = event.metadata.correlation_id.clone();
        context.causation_id = Some(event.event_id.to_string());
        let queued = Queued {
            candidate: CandidateId(candidate),
            worker: WorkerId(worker),
            scheme,
            region,
            verified_at: event.occurred_at,
        };
        self.scheduling
            .queue(&context, queued)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn handle(
        &self,
        transaction: &mut Tx,
        delivered: &Delivered,
    ) -> Result<(), HandlerError> {
        if delivered.event.event_type.as_str() == WORKER_ERASED && self.erasure.is_some() {
            RosterErasure::forget(transaction, &erased_worker(delivered)?).await?;
        }
        Ok(())
    }
}
