//! The certification consumer's handler: what certification does with the events it is
//! delivered (from JetStream, or from the embedded log).
//!
//! - `kesos.scheduling.v1.AssessmentDecided`, Kompeten: issue the certificate, in
//!   [`Handler::act`] (an append to certification's own store, which cannot join the consumer's
//!   transaction; idempotent by construction, see [`Certification::issue`]). Belum kompeten:
//!   nothing.
//! - `kesos.enrollment.v1.WorkerRegistered` / `WorkerErased`: keep the holder's sealed name
//!   and its mask (`S**** A****`, opened once here so public verification needs no vault), or
//!   mark erasure and drop both, in `certification_holders`, in the consumer's transaction.
//! - `kesos.enrollment.v1.WorkerPostingMoved`: the holder's posting follows the move (lists
//!   by region and region scopes read it), in the same table and transaction.
//! - Anything else: nothing.
//!
//! The handler takes batches ([`Intake::BATCH`]): decisions are issued together
//! ([`Certification::issue_batch`], exactly once as one at a time), holders' names are opened
//! with one vault read per batch, through the consumer's transaction (so the vault's tables
//! must be in the consumer's database, as they are in kesos).
//!
//! A payload that does not decode, or a decision for a scheme the reference data does not
//! know, is a permanent failure (dead letter); a store or database away is transient (retried).

use std::collections::HashMap;

use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, HandlerError};
use kesos_readside::Tx;
use kesos_vault::{KeyState, VaultError};
use uuid::Uuid;

use crate::domain::names;
use crate::service::issue_batch::Delivery;
use crate::service::views::NAME_LABEL;
use crate::service::{Certification, CertificationError, IssueOutcome};
use crate::wire::{
    self, ASSESSMENT_DECIDED, Holder, WORKER_ERASED, WORKER_POSTING_MOVED, WORKER_REGISTERED,
};

/// The handler; build it with [`Certification::intake`] and run it in a `kesos_bus::Consumer`
/// whose database is the registry's and the vault's.
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

    /// The masks of the holders' names, opened with one vault read inside the consumer's
    /// transaction (`transaction`); a holder whose name cannot be opened here has none
    /// (verification then opens it itself, or says erased).
    ///
    /// Not through the vault's pool: on SQLite the transaction already holds the file's write
    /// lock (the processed markers), and the pool's other connections may all be taken by
    /// writers waiting for it (the other consumers' markers, the projectors' batches), so
    /// waiting for one of them would stall every writer of the file until their busy timeout.
    async fn masks(
        &self,
        transaction: &mut Tx,
        holders: &[&Holder],
    ) -> Result<HashMap<Uuid, String>, HandlerError> {
        if holders.is_empty() {
            return Ok(HashMap::new());
        }
        let workers: Vec<Uuid> = holders.iter().map(|h| h.worker_id.0).collect();
        let keys = match self
            .certification
            .vault()
            .keys_on(transaction, &workers)
            .await
        {
            Ok(keys) => keys,
            Err(VaultError::Database(error)) => return Err(HandlerError::from(error)),
            // A key that does not unwrap: keep the sealed name; verification reports it then.
            Err(error) => {
                tracing::warn!(%error, "holders' names not masked at intake");
                return Ok(HashMap::new());
            }
        };
        Ok(holders
            .iter()
            .filter_map(|holder| {
                let KeyState::Live(key) = keys.get(&holder.worker_id.0)? else {
                    return None;
                };
                let name = key.open(NAME_LABEL, &holder.full_name).ok()?;
                let name = String::from_utf8(name).ok()?;
                Some((holder.worker_id.0, names::mask(&name)))
            })
            .collect())
    }
}

/// A holder event of a batch, decoded.
enum HolderEvent {
    Registered(Holder),
    Erased(Uuid),
    Moved(Uuid, String),
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
        _ => None,
    })
}

/// The holder statements: the same SQL on both databases. A registration fills in a row a
/// move made first (without a name) and changes nothing else; a redelivered one nothing.
const REGISTER_HOLDER: &str = "INSERT INTO certification_holders (worker_id, name_ciphertext, \
    name_nonce, name_key_id, posting, erased, name_masked) VALUES ($1, $2, $3, $4, $5, 0, $6) \
    ON CONFLICT (worker_id) DO UPDATE SET name_ciphertext = excluded.name_ciphertext, \
    name_nonce = excluded.name_nonce, name_key_id = excluded.name_key_id, \
    name_masked = excluded.name_masked, \
    posting = COALESCE(certification_holders.posting, excluded.posting) \
    WHERE certification_holders.name_ciphertext IS NULL AND certification_holders.erased = 0";
const MOVE_HOLDER: &str = "INSERT INTO certification_holders (worker_id, posting) VALUES ($1, $2) \
    ON CONFLICT (worker_id) DO UPDATE SET posting = excluded.posting";
const ERASE_HOLDER: &str = "INSERT INTO certification_holders (worker_id, erased) VALUES ($1, 1) \
    ON CONFLICT (worker_id) DO UPDATE SET erased = 1, name_ciphertext = NULL, name_nonce = NULL, \
    name_key_id = NULL, name_masked = NULL";

#[async_trait]
impl Handler for Intake {
    fn batch_size(&self) -> usize {
        Self::BATCH
    }

    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        self.issue_from(delivered).await.map(|_| ())
    }

    async fn act_batch(&self, batch: &[&Delivered]) -> Result<(), HandlerError> {
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
        let registered: Vec<&Holder> = events
            .iter()
            .filter_map(|event| match event {
                HolderEvent::Registered(holder) => Some(holder),
                HolderEvent::Erased(_) | HolderEvent::Moved(..) => None,
            })
            .collect();
        let masks = self.masks(transaction, &registered).await?;
        for event in events {
            match event {
                HolderEvent::Registered(holder) => {
                    let mask = masks.get(&holder.worker_id.0).cloned();
                    transaction
                        .query(REGISTER_HOLDER)
                        .bind(holder.worker_id.to_string())
                        .bind(holder.full_name.ciphertext)
                        .bind(holder.full_name.nonce)
                        .bind(holder.full_name.key_id)
                        .bind(holder.posting)
                        .bind(mask)
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
