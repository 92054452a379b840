//! Intake: every verified (or overridden) nomination from enrollment becomes a candidate in
//! the pool. A consumer of enrollment's events — the local log in the embedded mode, JetStream
//! in the distributed one — whose effect is an idempotent append (the command id derives from
//! the source event id, and the candidate id is the nomination id), done in
//! [`Handler::act`] before the consumer's transaction.

use async_trait::async_trait;
use kesos_bus::{ConsumerDb, Delivered, Handler, HandlerError};
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_regions::RegionCode;
use prost::Message;
use sqlx::Transaction;
use uuid::Uuid;

use super::{Scheduling, SchedulingError, system_context};
use crate::domain::{CandidateId, Queued, WorkerId};
use kesos_aggregate::derive_uuid;

/// Type name of a verified nomination.
pub const NOMINATION_VERIFIED: &str = "kesos.enrollment.v1.NominationVerified";
/// Type name of an overridden nomination.
pub const NOMINATION_OVERRIDDEN: &str = "kesos.enrollment.v1.NominationOverridden";

/// The intake handler.
#[derive(Clone)]
pub struct Intake {
    scheduling: Scheduling,
}

impl Intake {
    /// An intake into `scheduling`.
    pub fn new(scheduling: Scheduling) -> Self {
        Self { scheduling }
    }
}

fn permanent(reason: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(reason.to_string())
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
impl<D: ConsumerDb> Handler<D> for Intake {
    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
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
        match self.scheduling.queue(&context, queued).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_transient() => Err(HandlerError::Transient(error.to_string())),
            Err(SchedulingError::Candidate(error)) => Err(permanent(error)),
            // Refused, invalid or undecodable: no retry mends it (dead letter; redrive by hand).
            Err(error) => Err(permanent(error)),
        }
    }

    async fn handle(
        &self,
        _transaction: &mut Transaction<'static, D>,
        _delivered: &Delivered,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}
