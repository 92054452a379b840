//! The certification consumer's handler: what certification does with the events it is
//! delivered (from JetStream, or from the embedded log).
//!
//! - `kesos.scheduling.v1.AssessmentDecided`, Kompeten: issue the certificate, in
//!   [`Handler::act`] (an append to certification's own store, which cannot join the consumer's
//!   transaction; idempotent by construction, see [`Certification::issue`]). Belum kompeten:
//!   nothing.
//! - `kesos.enrollment.v1.WorkerRegistered` / `WorkerErased`: keep the holder's sealed name
//!   (and mark erasure) in `certification_holders`, in the consumer's transaction.
//! - Anything else: nothing.
//!
//! A payload that does not decode, or a decision for a scheme the reference data does not
//! know, is a permanent failure (dead letter); a store or database away is transient (retried).

use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, HandlerError};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::service::{Certification, CertificationError, IssueOutcome};
use crate::wire::{self, ASSESSMENT_DECIDED, WORKER_ERASED, WORKER_REGISTERED};

/// The handler; build it with [`Certification::intake`] and run it in a `kesos_bus::Consumer`
/// whose database is the registry's.
#[derive(Clone)]
pub struct Intake {
    certification: Certification,
}

fn failure(error: CertificationError) -> HandlerError {
    if error.is_transient() {
        HandlerError::Transient(error.to_string())
    } else {
        HandlerError::Permanent(error.to_string())
    }
}

impl Intake {
    /// The handler over a service.
    pub fn new(certification: Certification) -> Self {
        Self { certification }
    }

    /// Issues from a delivered decision; other events do nothing here.
    pub async fn issue_from(
        &self,
        delivered: &Delivered,
    ) -> Result<Option<IssueOutcome>, HandlerError> {
        let event = &delivered.event;
        if event.event_type.as_str() != ASSESSMENT_DECIDED {
            return Ok(None);
        }
        let decision = wire::decision(event.event_id, event.occurred_at, &event.payload)
            .map_err(|e| HandlerError::Permanent(e.to_string()))?;
        let outcome = self
            .certification
            .issue(&decision, &event.metadata.correlation_id)
            .await
            .map_err(failure)?;
        if let IssueOutcome::Issued {
            certificate_id,
            number,
            ..
        } = &outcome
        {
            tracing::info!(%certificate_id, %number, decision = %event.event_id, "certificate issued");
        }
        Ok(Some(outcome))
    }
}

/// The holder statements: the same SQL on both databases.
const REGISTER_HOLDER: &str = "INSERT INTO certification_holders (worker_id, name_ciphertext, \
    name_nonce, name_key_id, posting, erased) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (worker_id) DO NOTHING";
const ERASE_HOLDER: &str = "INSERT INTO certification_holders (worker_id, erased) VALUES ($1, 1) \
    ON CONFLICT (worker_id) DO UPDATE SET erased = 1, name_ciphertext = NULL, name_nonce = NULL, name_key_id = NULL";

macro_rules! handler_for {
    ($db:ty) => {
        #[async_trait]
        impl Handler<$db> for Intake {
            async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
                self.issue_from(delivered).await.map(|_| ())
            }

            async fn handle(
                &self,
                transaction: &mut Transaction<'static, $db>,
                delivered: &Delivered,
            ) -> Result<(), HandlerError> {
                let event = &delivered.event;
                let permanent =
                    |e: kesos_aggregate::DecodeError| HandlerError::Permanent(e.to_string());
                match event.event_type.as_str() {
                    WORKER_REGISTERED => {
                        let holder = wire::worker_registered(&event.payload).map_err(permanent)?;
                        sqlx::query(REGISTER_HOLDER)
                            .bind(holder.worker_id.to_string())
                            .bind(holder.full_name.ciphertext)
                            .bind(holder.full_name.nonce)
                            .bind(holder.full_name.key_id)
                            .bind(holder.posting)
                            .execute(&mut **transaction)
                            .await?;
                    }
                    WORKER_ERASED => {
                        let worker = wire::worker_erased(&event.payload).map_err(permanent)?;
                        sqlx::query(ERASE_HOLDER)
                            .bind(worker.to_string())
                            .execute(&mut **transaction)
                            .await?;
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    };
}

handler_for!(Postgres);
handler_for!(Sqlite);
