//! Issuance of a batch of decisions at once: what the certification consumer does with the
//! decisions JetStream hands it together.
//!
//! The plain case — a worker's first certificate of a scheme, the decision not issued yet —
//! is nearly every decision. For a batch this costs one registry read for all its workers (no
//! wait for the log's head: the registry may lag the log), numbers from the in-process
//! counters, and one bulk append in which each certificate is still its own new stream,
//! checked on its own:
//! `ExpectedVersion::NoStream`, its number and status-index claims, and the **holder claim**
//! of its worker and scheme ([`crate::service::numbers::HOLDER_SCOPE`]). That claim is what
//! makes skipping the wait safe: whatever the registry has not seen yet, a certificate the
//! worker already holds of the scheme holds the claim, so the append is refused and the
//! decision issued one at a time as a renewal.
//!
//! Everything else goes through [`Certification::issue`], one at a time, exactly as a single
//! delivery would: a renewal the registry already shows, two decisions of one worker and
//! scheme in the batch, a decision whose certificate exists and renews another (the renewal
//! may need completing), and any bulk append that was refused (a claim taken, a concurrent
//! delivery of the same decision). So exactly-once rests on the same ground as one at a time:
//! the certificate's stream and event ids derive from the decision.
//!
//! Certificates issued before holder claims existed hold none; the registry read covers them
//! once its projector has applied them, which it has unless kesos was upgraded while their
//! issuance was still unread.

use std::collections::{HashMap, HashSet};

use kesos_aggregate::Aggregate;
use kesos_commands::to_new_events;
use kesos_eventstore::{BulkAppend, Claims, ExpectedVersion, StoreError};
use time::OffsetDateTime;
use tracing::Instrument;

use crate::domain::{
    Certificate, CertificateCommand, CertificateId, Issuance, WorkerId, valid_until,
};
use crate::service::numbers::{HOLDER_SCOPE, holder_claim, index_claim, number_claim};
use crate::service::{
    Certification, CertificationError, IssueOutcome, WIB, certificate_stream, system_context,
};
use crate::wire::Decision;

/// A decision and the correlation id and trace its certificate's events carry.
pub struct Delivery<'a> {
    /// The decision.
    pub decision: &'a Decision,
    /// The decision's correlation id.
    pub correlation_id: &'a str,
    /// The decision event's `traceparent` (empty when none): the certificate's events
    /// continue that trace.
    pub trace_parent: &'a str,
}

impl Delivery<'_> {
    /// The span issuing this decision's certificate runs in: a child of the decision's trace,
    /// or none for an untraced decision (a bulk of them costs no spans).
    fn span(&self) -> tracing::Span {
        if self.trace_parent.is_empty() {
            return tracing::Span::none();
        }
        let span = tracing::info_span!(
            "issue",
            otel.name = "certification issue",
            decision = %self.decision.event_id,
            trace_id = tracing::field::Empty,
        );
        kesos_trace::continue_trace(&span, Some(self.trace_parent));
        span
    }
}

/// How one decision of a batch is issued.
enum Route {
    /// Belum kompeten, or issued already without a renewal to complete.
    Done(IssueOutcome),
    /// In the bulk append.
    Bulk,
    /// One at a time, through [`Certification::issue`].
    Single,
}

impl Certification {
    /// Issues the certificates of a batch of decisions (see the module docs); outcomes in the
    /// batch's order. Fails whole when the reference data lacks a scheme of the batch (before
    /// anything is appended) or a store or read model fails; certificates issued before such a
    /// failure are found, not issued again, when the batch is retried.
    pub async fn issue_batch(
        &self,
        batch: &[Delivery<'_>],
    ) -> Result<Vec<IssueOutcome>, CertificationError> {
        let reference = &self.inner.reference;
        for delivery in batch.iter().filter(|d| d.decision.kompeten) {
            let code = &delivery.decision.scheme.code;
            if reference.scheme(code).is_none() {
                return Err(CertificationError::UnknownScheme(code.clone()));
            }
        }
        let routes = self.routes(batch).await?;
        let bulk: Vec<usize> = routes
            .iter()
            .enumerate()
            .filter(|(_, route)| matches!(route, Route::Bulk))
            .map(|(index, _)| index)
            .collect();
        let mut outcomes: Vec<Option<IssueOutcome>> = routes
            .into_iter()
            .map(|route| match route {
                Route::Done(outcome) => Some(outcome),
                Route::Bulk | Route::Single => None,
            })
            .collect();
        for (index, outcome) in self.issue_bulk(batch, &bulk).await? {
            outcomes[index] = outcome;
        }
        let mut issued = Vec::with_capacity(batch.len());
        for (delivery, outcome) in batch.iter().zip(outcomes) {
            let outcome = match outcome {
                Some(outcome) => outcome,
                None => {
                    self.issue(delivery.decision, delivery.correlation_id)
                        .instrument(delivery.span())
                        .await?
                }
            };
            issued.push(outcome);
        }
        Ok(issued)
    }

    /// Decides each decision's route from one registry read.
    async fn routes(&self, batch: &[Delivery<'_>]) -> Result<Vec<Route>, CertificationError> {
        let registry = &self.inner.registry;
        let workers: Vec<uuid::Uuid> = batch
            .iter()
            .filter(|d| d.decision.kompeten)
            .map(|d| d.decision.worker_id.0)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let holdings = registry.holdings(&workers).await?;
        let by_id: HashMap<CertificateId, &crate::projections::Holding> = holdings
            .iter()
            .map(|holding| (holding.certificate_id, holding))
            .collect();
        let current: HashSet<(uuid::Uuid, &str)> = holdings
            .iter()
            .filter(|holding| holding.current)
            .map(|holding| (holding.worker_id, holding.scheme_code.as_str()))
            .collect();
        let mut in_batch: HashMap<(uuid::Uuid, &str), usize> = HashMap::new();
        for delivery in batch.iter().filter(|d| d.decision.kompeten) {
            let decision = delivery.decision;
            *in_batch
                .entry((decision.worker_id.0, decision.scheme.code.as_str()))
                .or_default() += 1;
        }
        Ok(batch
            .iter()
            .map(|delivery| {
                let decision = delivery.decision;
                if !decision.kompeten {
                    return Route::Done(IssueOutcome::NotKompeten);
                }
                let id = CertificateId::for_decision(decision.event_id);
                let key = (decision.worker_id.0, decision.scheme.code.as_str());
                match by_id.get(&id) {
                    Some(holding) if holding.supersedes.is_none() => {
                        Route::Done(IssueOutcome::AlreadyIssued(id))
                    }
                    Some(_) => Route::Single,
                    None if current.contains(&key) || in_batch.get(&key) != Some(&1) => {
                        Route::Single
                    }
                    None => Route::Bulk,
                }
            })
            .collect())
    }

    /// Appends the certificates of the decisions at `indexes` (first certificates, none issued
    /// as the registry saw it) in one bulk; answers each index's outcome, `None` for those to
    /// issue one at a time.
    async fn issue_bulk(
        &self,
        batch: &[Delivery<'_>],
        indexes: &[usize],
    ) -> Result<Vec<(usize, Option<IssueOutcome>)>, CertificationError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let reference = &self.inner.reference;
        let registry = &self.inner.registry;
        let numbers = &self.inner.numbers;
        let now = OffsetDateTime::now_utc();
        let mut appends = Vec::with_capacity(indexes.len());
        let mut issued = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let delivery = &batch[index];
            let Delivery {
                decision,
                correlation_id,
                ..
            } = *delivery;
            let rules = reference
                .scheme(&decision.scheme.code)
                .ok_or_else(|| CertificationError::UnknownScheme(decision.scheme.code.clone()))?;
            let certificate_id = CertificateId::for_decision(decision.event_id);
            let valid_from = decision.decided_at.to_offset(WIB).date();
            let issuance = Issuance {
                certificate_id,
                number: numbers
                    .next_number(registry, &rules.abbreviation, valid_from.year())
                    .await?,
                worker_id: WorkerId(decision.worker_id.0),
                scheme: decision.scheme.clone(),
                basis_decision_event_id: decision.event_id,
                lsps_id: decision.lsps_id.clone(),
                valid_from,
                valid_until: valid_until(valid_from, reference.validity_years(rules))?,
                supersedes: None,
                region: decision.region.clone(),
                status_list_index: numbers.next_index(registry).await?,
            };
            let events = Certificate::default()
                .decide(&CertificateCommand::Issue(Box::new(issuance.clone())))?;
            let context = system_context(
                certificate_id.0,
                now,
                Some((correlation_id, decision.event_id)),
            );
            appends.push(BulkAppend {
                stream: certificate_stream(certificate_id)?,
                expected: ExpectedVersion::NoStream,
                // In the decision's trace: the certificate's events carry it on.
                events: delivery
                    .span()
                    .in_scope(|| to_new_events(&events, &context))?,
                claims: Claims {
                    take: vec![
                        number_claim(&issuance.number)?,
                        index_claim(issuance.status_list_index)?,
                        holder_claim(decision.worker_id.0, &decision.scheme.code)?,
                    ],
                    release: Vec::new(),
                },
            });
            issued.push(issuance);
        }
        let appended = self.inner.store.append_bulk(appends).await;
        let mut outcomes = Vec::with_capacity(indexes.len());
        for ((&index, issuance), appended) in indexes.iter().zip(issued).zip(appended) {
            let outcome = match appended {
                Ok(outcome) if outcome.already_stored => {
                    Some(IssueOutcome::AlreadyIssued(issuance.certificate_id))
                }
                Ok(_) => Some(IssueOutcome::Issued {
                    certificate_id: issuance.certificate_id,
                    number: issuance.number,
                    supersedes: None,
                }),
                // The worker holds a certificate of the scheme the registry did not show yet:
                // a renewal, issued one at a time.
                Err(StoreError::ClaimTaken { key, .. })
                    if key.as_str().starts_with(HOLDER_SCOPE) =>
                {
                    None
                }
                // Another process took the number or index: move past it, then one at a time.
                Err(StoreError::ClaimTaken { key, holder }) => {
                    tracing::debug!(%key, %holder, "number or index taken; issuing alone");
                    self.registry_at_head().await?;
                    numbers.taken(registry, &key).await?;
                    None
                }
                // A concurrent delivery of the same decision: one at a time finds its stream.
                Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. }) => None,
                Err(error) => return Err(error.into()),
            };
            outcomes.push((index, outcome));
        }
        Ok(outcomes)
    }
}
