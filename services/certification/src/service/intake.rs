//! The certification consumer's handler: what certification does with the events it is
//! delivered (from JetStream, or from the embedded log).
//!
//! - `kesos.scheduling.v1.AssessmentDecided`, Kompeten: issue the certificate, in
//!   [`Handler::act`] (an append to certification's own store, which cannot join the consumer's
//!   transaction; idempotent by construction, see [`Certification::issue`]). Belum kompeten:
//!   nothing.
//! - `kesos.enrollment.v1.WorkerRegistered` / `WorkerErased`: record the holder (its posting)
//!   and the mask of its name (`S**** A****`, asked of enrollment once here so public
//!   verification needs nobody), or mark erasure and drop the mask, in `certification_holders`.
//!   Certification keeps no copy of the name itself: readers who may see it in full ask
//!   enrollment (see [`crate::service::views`]), so an erasure there reaches every name shown
//!   here.
//! - `kesos.enrollment.v1.WorkerPostingMoved`: the holder's posting follows the move (lists
//!   by region and region scopes read it), in the same table and transaction.
//! - `kesos.enrollment.v1.WorkerDeparted` / `WorkerReturned`: the holder is shown as departed
//!   (date and reason) until a return; the certificates keep their status. Same table and
//!   transaction.
//! - Anything else: nothing.
//!
//! The handler takes batches ([`Intake::BATCH`]): decisions are issued together
//! ([`Certification::issue_batch`], exactly once as one at a time), and the batch's new
//! holders' names are asked of enrollment in one lookup, in [`Handler::act_batch`] before the
//! consumer's transaction opens (a network call must not hold it, nor SQLite's write lock).
//! The masks are written there, idempotently and never over an erasure; if enrollment does not
//! answer, the holders are recorded without a mask (public verification then asks at read
//! time) rather than hold up issuance.
//!
//! A payload that does not decode, or a decision for a scheme the reference data does not
//! know, is a permanent failure (dead letter); a store or database away is transient (retried).

use std::collections::HashMap;

use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, HandlerError};
use kesos_readside::Tx;
use uuid::Uuid;

use crate::domain::names;
use crate::service::issue_batch::Delivery;
use crate::service::{Certification, CertificationError, IssueOutcome};
use crate::wire::{
    self, ASSESSMENT_DECIDED, Departure, Holder, WORKER_DEPARTED, WORKER_ERASED,
    WORKER_POSTING_MOVED, WORKER_REGISTERED, WORKER_RETURNED,
};

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
    /// Messages the consumer hands over together: enough to spread a bulk append's and a
    /// registry read's round trips thin, within JetStream's default pull batch.
    pub const BATCH: usize = 500;

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

    /// Issues from the delivered decisions of a batch together; other events do nothing here.
    pub async fn issue_batch_from(&self, batch: &[&Delivered]) -> Result<(), HandlerError> {
        let decisions = batch
            .iter()
            .map(|d| &d.event)
            .filter(|event| event.event_type.as_str() == ASSESSMENT_DECIDED)
            .map(|event| {
                wire::decision(event.event_id, event.occurred_at, &event.payload)
                    .map(|decision| (decision, &event.metadata))
                    .map_err(|e| HandlerError::Permanent(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if decisions.is_empty() {
            return Ok(());
        }
        let deliveries: Vec<Delivery<'_>> = decisions
            .iter()
            .map(|(decision, metadata)| Delivery {
                decision,
                correlation_id: &metadata.correlation_id,
                trace_parent: &metadata.trace_parent,
            })
            .collect();
        let outcomes = self
            .certification
            .issue_batch(&deliveries)
            .await
            .map_err(failure)?;
        let issued = outcomes
            .iter()
            .filter(|o| matches!(o, IssueOutcome::Issued { .. }))
            .count();
        if issued > 0 {
            tracing::info!(decisions = deliveries.len(), issued, "certificates issued");
        }
        Ok(())
    }

    /// Records the masks of the names of the batch's newly registered holders, asked of
    /// enrollment in one lookup. A holder enrollment does not name (erased meanwhile, or not
    /// yet readable) gets no mask; a lookup that fails is logged and leaves every mask out.
    async fn record_masks(&self, batch: &[&Delivered]) -> Result<(), HandlerError> {
        let workers: Vec<Uuid> = batch
            .iter()
            .filter(|delivered| delivered.event.event_type.as_str() == WORKER_REGISTERED)
            .filter_map(|delivered| wire::worker_registered(&delivered.event.payload).ok())
            .map(|holder| holder.worker_id.0)
            .collect();
        if workers.is_empty() {
            return Ok(());
        }
        let identities = match self.certification.identities().identities(&workers).await {
            Ok(identities) => identities,
            Err(error) => {
                tracing::warn!(%error, holders = workers.len(), "holders recorded without masks");
                return Ok(());
            }
        };
        let masks: HashMap<Uuid, String> = identities
            .into_iter()
            .map(|(worker, identity)| (worker, names::mask(&identity.full_name)))
            .collect();
        let db = self.certification.registry().db();
        for (worker, mask) in masks {
            db.query(MASK_HOLDER)
                .bind(worker.to_string())
                .bind(mask)
                .execute()
                .await?;
        }
        Ok(())
    }
}

/// A holder event of a batch, decoded.
enum HolderEvent {
    Registered(Holder),
    Erased(Uuid),
    Moved(Uuid, String),
    Departed(Departure),
    Returned(Uuid),
}

fn holder_event(delivered: &Delivered) -> Result<Option<HolderEvent>, HandlerError> {
    let event = &delivered.event;
    let permanent = |e: kesos_aggregate::DecodeError| HandlerError::Permanent(e.to_string());
    Ok(match event.event_type.as_str() {
        WORKER_REGISTERED => Some(HolderEvent::Registered(
            wire::worker_registered(&event.payload).map_err(permanent)?,
        )),
        WORKER_ERASED => Some(HolderEvent::Erased(
            wire::worker_erased(&event.payload).map_err(permanent)?.0,
        )),
        WORKER_POSTING_MOVED => {
            let (worker, posting) =
                wire::worker_posting_moved(&event.payload).map_err(permanent)?;
            Some(HolderEvent::Moved(worker.0, posting))
        }
        WORKER_DEPARTED => Some(HolderEvent::Departed(
            wire::worker_departed(&event.payload).map_err(permanent)?,
        )),
        WORKER_RETURNED => Some(HolderEvent::Returned(
            wire::worker_returned(&event.payload).map_err(permanent)?.0,
        )),
        _ => None,
    })
}

/// The holder statements: the same SQL on both databases. A registration fills in the posting
/// of a row a move or the mask made first only where it has none, and changes nothing else;
/// a redelivered one nothing.
const REGISTER_HOLDER: &str = "INSERT INTO certification_holders (worker_id, posting, erased) \
    VALUES ($1, $2, 0) ON CONFLICT (worker_id) DO UPDATE \
    SET posting = COALESCE(certification_holders.posting, excluded.posting) \
    WHERE certification_holders.erased = 0";
/// A mask, written before the registration's row may exist; never over an erasure.
const MASK_HOLDER: &str = "INSERT INTO certification_holders (worker_id, erased, name_masked) \
    VALUES ($1, 0, $2) ON CONFLICT (worker_id) DO UPDATE SET name_masked = excluded.name_masked \
    WHERE certification_holders.erased = 0";
const MOVE_HOLDER: &str = "INSERT INTO certification_holders (worker_id, posting) VALUES ($1, $2) \
    ON CONFLICT (worker_id) DO UPDATE SET posting = excluded.posting";
/// A departure, recorded even before the registration arrives; a return clears it.
const DEPART_HOLDER: &str = "INSERT INTO certification_holders (worker_id, erased, departed_on, \
    departure_reason) VALUES ($1, 0, $2, $3) ON CONFLICT (worker_id) DO UPDATE \
    SET departed_on = excluded.departed_on, departure_reason = excluded.departure_reason";
const RETURN_HOLDER: &str = "UPDATE certification_holders SET departed_on = NULL, \
    departure_reason = NULL WHERE worker_id = $1";
const ERASE_HOLDER: &str = "INSERT INTO certification_holders (worker_id, erased) VALUES ($1, 1) \
    ON CONFLICT (worker_id) DO UPDATE SET erased = 1, name_masked = NULL";

#[async_trait]
impl Handler for Intake {
    fn batch_size(&self) -> usize {
        Self::BATCH
    }

    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        self.record_masks(&[delivered]).await?;
        self.issue_from(delivered).await.map(|_| ())
    }

    async fn act_batch(&self, batch: &[&Delivered]) -> Result<(), HandlerError> {
        self.record_masks(batch).await?;
        self.issue_batch_from(batch).await
    }

    async fn handle(
        &self,
        transaction: &mut Tx,
        delivered: &Delivered,
    ) -> Result<(), HandlerError> {
        self.handle_batch(transaction, &[delivered]).await
    }

    async fn handle_batch(
        &self,
        transaction: &mut Tx,
        batch: &[&Delivered],
    ) -> Result<(), HandlerError> {
        let events = batch
            .iter()
            .map(|delivered| holder_event(delivered))
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()?;
        for event in events {
            match event {
                HolderEvent::Registered(holder) => {
                    transaction
                        .query(REGISTER_HOLDER)
                        .bind(holder.worker_id.to_string())
                        .bind(holder.posting)
                        .execute()
                        .await?;
                }
                HolderEvent::Erased(worker) => {
                    transaction
                        .query(ERASE_HOLDER)
                        .bind(worker.to_string())
                        .execute()
                        .await?;
                }
                HolderEvent::Departed(departure) => {
                    transaction
                        .query(DEPART_HOLDER)
                        .bind(departure.worker_id.to_string())
                        .bind(departure.departed_on.to_string())
                        .bind(departure.reason)
                        .execute()
                        .await?;
                }
                HolderEvent::Returned(worker) => {
                    transaction
                        .query(RETURN_HOLDER)
                        .bind(worker.to_string())
                        .execute()
                        .await?;
                }
                HolderEvent::Moved(worker, posting) => {
                    transaction
                        .query(MOVE_HOLDER)
                        .bind(worker.to_string())
                        .bind(posting)
                        .execute()
                        .await?;
                }
            }
        }
        Ok(())
    }
}
