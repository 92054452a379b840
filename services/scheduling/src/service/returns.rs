//! Returns to the pool: a consumer of scheduling's own log that puts candidates back when a
//! session is cancelled (at once) or after a no-show or belum kompeten decision (after the
//! waiting period, counting the attempt), and then gives the failed seat up. Each step is an
//! idempotent append whose command id derives from the event that caused it, so redelivery
//! and restarts repeat nothing.

use async_trait::async_trait;
use kesos_aggregate::EventCodec;
use kesos_bus::{Delivered, Handler, HandlerError};
use kesos_readside::Tx;

use super::{Scheduling, system_context};
use crate::domain::{Attendance, Decision, ReturnReason, SessionEvent};
use crate::wire::{ASSESSMENT_DECIDED, ATTENDANCE_RECORDED, SESSION_CANCELLED};
use kesos_aggregate::derive_uuid;

/// The returns handler.
#[derive(Clone)]
pub struct Returns {
    scheduling: Scheduling,
}

impl Returns {
    /// Returns within `scheduling`.
    pub fn new(scheduling: Scheduling) -> Self {
        Self { scheduling }
    }
}

#[async_trait]
impl Handler for Returns {
    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        let event = &delivered.event;
        let event_type = event.event_type.as_str();
        if ![SESSION_CANCELLED, ATTENDANCE_RECORDED, ASSESSMENT_DECIDED].contains(&event_type) {
            return Ok(());
        }
        let decoded = SessionEvent::decode(event_type, event.schema_version, &event.payload)
            .map_err(|e| HandlerError::Permanent(e.to_string()))?;
        let returns = match decoded {
            SessionEvent::Cancelled {
                session,
                candidates,
                reason,
            } => candidates
                .into_iter()
                .map(|c| (session, c, ReturnReason::SessionCancelled, reason.clone()))
                .collect(),
            SessionEvent::AttendanceRecorded {
                session,
                candidate,
                attendance: Attendance::NoShow,
                ..
            } => vec![(session, candidate, ReturnReason::NoShow, String::new())],
            SessionEvent::Decided(record) if record.report.decision == Decision::BelumKompeten => {
                vec![(
                    record.session,
                    record.report.candidate,
                    ReturnReason::BelumKompeten,
                    String::new(),
                )]
            }
            _ => Vec::new(),
        };
        for (index, (session, candidate, reason, note)) in returns.into_iter().enumerate() {
            let mut context = system_context(
                derive_uuid(&format!("kesos.scheduling.return-{index}"), event.event_id),
                "system:scheduling-returns",
                event.occurred_at,
            );
            context.correlation_id = event.metadata.correlation_id.clone();
            context.causation_id = Some(event.event_id.to_string());
            match self
                .scheduling
                .return_to_pool(&context, session, candidate, reason, note)
                .await
            {
                Ok(()) => {}
                Err(error) if error.is_transient() => {
                    return Err(HandlerError::Transient(error.to_string()));
                }
                // Refused, invalid or undecodable: no retry mends it (a dead letter, redriven by
                // hand once fixed); only what `is_transient` names is waited out.
                Err(error) => return Err(HandlerError::Permanent(error.to_string())),
            }
        }
        Ok(())
    }

    async fn handle(
        &self,
        _transaction: &mut Tx,
        _delivered: &Delivered,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}
