//! Issuance from a Kompeten decision, exactly once.
//!
//! The certificate's id is derived from the decision's event id, its stream is new
//! (`ExpectedVersion::NoStream`) and its event ids derive from the certificate id: however
//! often a decision is delivered (redelivery, replay, several consumers at once), the first
//! append creates the stream and every other finds it (or loses the race with a conflict or as
//! an "already stored" retry) and issues nothing. A renewal supersedes the holder's current
//! certificate of the scheme afterwards, with an event id derived from the new certificate, so
//! a crash between the two appends is completed by the next delivery.
//!
//! One current certificate per worker and scheme holds as claims in the append's transaction:
//! a worker's first certificate of a scheme takes the holder claim (see
//! [`crate::service::numbers::HOLDER_SCOPE`]), every later one the successor claim of the last
//! one before it ([`crate::service::numbers::SUCCESSOR_SCOPE`]). Of two decisions handled at
//! the same instant, the one whose append loses the claim waits for the registry to reach the
//! log's head (which holds the winner) and issues again as the renewal of the winner; nothing
//! is lost, and the line of certificates has one end.
//!
//! Where it stands among the worker's certificates is read from the registry once the registry
//! has applied everything the log held (see [`Certification::registry_at_head`]); a registry
//! that stays behind makes the issuance fail as transient, and the consumer retries it.

use std::collections::HashSet;

use kesos_aggregate::Aggregate;
use kesos_commands::{execute, load, to_new_events};
use kesos_eventstore::{AsOf, ClaimKey, Claims, ExpectedVersion, StoreError};
use time::OffsetDateTime;

use crate::domain::{
    Certificate, CertificateCommand, CertificateId, CertificateNumber, Issuance, WorkerId,
    derive_uuid, valid_until,
};
use crate::projections::Holding;
use crate::service::numbers::{
    HOLDER_SCOPE, SUCCESSOR_SCOPE, holder_claim, index_claim, number_claim, successor_claim,
};
use crate::service::{Certification, CertificationError, WIB, certificate_stream, system_context};
use crate::wire::Decision;

/// Attempts at a free number before giving up for now (each costs one refused append).
const MAX_NUMBER_ATTEMPTS: u32 = 64;

/// Where a new certificate stands among the worker's certificates of its scheme.
struct Lineage {
    /// The certificate it renews: the last one before it, when that is current.
    supersedes: Option<CertificateId>,
    /// Other current certificates nobody renews yet (only from before successor claims):
    /// superseded by the new one too.
    also_current: Vec<CertificateId>,
    /// The claim that makes it the only next one: the holder claim for a first certificate,
    /// else the successor claim of the last one.
    claim: ClaimKey,
}

/// What handling a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    /// A new certificate was issued.
    Issued {
        /// The certificate.
        certificate_id: CertificateId,
        /// Its number.
        number: CertificateNumber,
        /// The certificate it renews, if any.
        supersedes: Option<CertificateId>,
    },
    /// The decision's certificate existed already (a redelivery or a replay).
    AlreadyIssued(CertificateId),
    /// Belum kompeten: no certificate.
    NotKompeten,
}

impl Certification {
    /// Issues the certificate a decision yields, exactly once (see the module docs).
    /// `correlation_id` is the decision's, carried onto the certificate's events.
    pub async fn issue(
        &self,
        decision: &Decision,
        correlation_id: &str,
    ) -> Result<IssueOutcome, CertificationError> {
        if !decision.kompeten {
            return Ok(IssueOutcome::NotKompeten);
        }
        let certificate_id = CertificateId::for_decision(decision.event_id);
        let stream = certificate_stream(certificate_id)?;
        let store = &*self.inner.store;
        if let Some((existing, _)) = load::<Certificate>(store, &stream, AsOf::Now).await? {
            self.complete_renewal(&existing).await?;
            return Ok(IssueOutcome::AlreadyIssued(certificate_id));
        }
        let reference = &self.inner.reference;
        let rules = reference
            .scheme(&decision.scheme.code)
            .ok_or_else(|| CertificationError::UnknownScheme(decision.scheme.code.clone()))?;
        let valid_from = decision.decided_at.to_offset(WIB).date();
        let valid_until = valid_until(valid_from, reference.validity_years(rules))?;
        let registry = &self.inner.registry;
        self.registry_at_head().await?;
        let mut lineage = self.lineage(decision, certificate_id).await?;
        let context = system_context(
            certificate_id.0,
            OffsetDateTime::now_utc(),
            Some((correlation_id, decision.event_id)),
        );
        let numbers = &self.inner.numbers;
        for _ in 0..MAX_NUMBER_ATTEMPTS {
            let number = numbers
                .next_number(registry, &rules.abbreviation, valid_from.year())
                .await?;
            let status_list_index = numbers.next_index(registry).await?;
            let issuance = Issuance {
                certificate_id,
                number: number.clone(),
                worker_id: WorkerId(decision.worker_id.0),
                scheme: decision.scheme.clone(),
                basis_decision_event_id: decision.event_id,
                lsps_id: decision.lsps_id.clone(),
                valid_from,
                valid_until,
                supersedes: lineage.supersedes,
                region: decision.region.clone(),
                status_list_index,
            };
            let events = Certificate::default()
                .decide(&CertificateCommand::Issue(Box::new(issuance.clone())))?;
            let claims = Claims {
                take: vec![
                    number_claim(&number)?,
                    index_claim(status_list_index)?,
                    lineage.claim.clone(),
                ],
                release: Vec::new(),
            };
            let appended = store
                .append_claiming(
                    &stream,
                    ExpectedVersion::NoStream,
                    to_new_events(&events, &context)?,
                    claims,
                )
                .await;
            match appended {
                Ok(outcome) if outcome.already_stored => {
                    return Ok(IssueOutcome::AlreadyIssued(certificate_id));
                }
                Ok(_) => {
                    let state = events
                        .iter()
                        .fold(Certificate::default(), Certificate::evolve);
                    self.complete_renewal(&state).await?;
                    for older in &lineage.also_current {
                        self.supersede(*older, certificate_id).await?;
                    }
                    return Ok(IssueOutcome::Issued {
                        certificate_id,
                        number,
                        supersedes: issuance.supersedes,
                    });
                }
                // A concurrent delivery of the same decision created the stream first.
                Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. }) => {
                    if let Some((existing, _)) =
                        load::<Certificate>(store, &stream, AsOf::Now).await?
                    {
                        self.complete_renewal(&existing).await?;
                    }
                    return Ok(IssueOutcome::AlreadyIssued(certificate_id));
                }
                Err(StoreError::ClaimTaken { key, holder }) => {
                    tracing::debug!(%key, %holder, "a claim is taken; trying again");
                    self.registry_at_head().await?;
                    let scope = key.as_str().split_once(':').map_or("", |(scope, _)| scope);
                    if scope == HOLDER_SCOPE || scope == SUCCESSOR_SCOPE {
                        // Another certificate of the worker and scheme came first: renew it.
                        lineage = self.lineage(decision, certificate_id).await?;
                    } else {
                        numbers.taken(registry, &key).await?;
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(CertificationError::NumbersExhausted(MAX_NUMBER_ATTEMPTS))
    }

    /// From the registry (the caller waited for it to reach the log's head): where the
    /// decision's certificate stands among the worker's certificates of its scheme (see
    /// [`Lineage`]).
    ///
    /// The last one is the one no other certificate renews and no successor claim follows; the
    /// claims make it unique, except among certificates issued before successor claims existed,
    /// where a current one is preferred and the certificate id decides, so that every process
    /// picks the same one (and the claim then settles who renews it).
    async fn lineage(
        &self,
        decision: &Decision,
        certificate_id: CertificateId,
    ) -> Result<Lineage, CertificationError> {
        let worker = decision.worker_id.0;
        let code = &decision.scheme.code;
        let holdings: Vec<Holding> = self
            .inner
            .registry
            .holdings(&[worker])
            .await?
            .into_iter()
            .filter(|h| h.scheme_code == *code && h.certificate_id != certificate_id)
            .collect();
        if holdings.is_empty() {
            return Ok(Lineage {
                supersedes: None,
                also_current: Vec::new(),
                claim: holder_claim(worker, code)?,
            });
        }
        let renewed: HashSet<CertificateId> =
            holdings.iter().filter_map(|h| h.supersedes).collect();
        let mut ends: Vec<&Holding> = holdings
            .iter()
            .filter(|h| !h.superseded && !renewed.contains(&h.certificate_id))
            .collect();
        if ends.len() > 1 {
            let mut open = Vec::with_capacity(ends.len());
            for end in ends {
                let claim = successor_claim(end.certificate_id)?;
                if self.inner.store.claim_holder(&claim).await?.is_none() {
                    open.push(end);
                }
            }
            ends = open;
        }
        // None at all only when the registry is inconsistent; then any of them: the claim
        // refuses a wrong pick, and the next attempt reads again.
        if ends.is_empty() {
            ends = holdings.iter().collect();
        }
        let Some(last) = ends
            .into_iter()
            .max_by_key(|h| (h.current, h.certificate_id.0))
            .map(|h| h.certificate_id)
        else {
            return Err(CertificationError::Contended);
        };
        let last_is_current = holdings
            .iter()
            .any(|h| h.certificate_id == last && h.current);
        let also_current = holdings
            .iter()
            .filter(|h| h.current && h.certificate_id != last)
            .filter(|h| !renewed.contains(&h.certificate_id))
            .map(|h| h.certificate_id)
            .collect();
        Ok(Lineage {
            supersedes: last_is_current.then_some(last),
            also_current,
            claim: successor_claim(last)?,
        })
    }

    /// Supersedes the certificate an issued renewal names (idempotent).
    async fn complete_renewal(&self, renewal: &Certificate) -> Result<(), CertificationError> {
        let Some(issued) = renewal.issued.as_deref() else {
            return Ok(());
        };
        match issued.supersedes {
            Some(old) => self.supersede(old, issued.certificate_id).await,
            None => Ok(()),
        }
    }

    async fn supersede(
        &self,
        old: CertificateId,
        by: CertificateId,
    ) -> Result<(), CertificationError> {
        let command_id = derive_uuid(&format!("kesos.certification.supersede:{old}"), by.0);
        let context = system_context(command_id, OffsetDateTime::now_utc(), None);
        let stream = certificate_stream(old)?;
        match execute::<Certificate>(
            &*self.inner.store,
            &stream,
            CertificateCommand::Supersede { by },
            &context,
        )
        .await
        {
            Ok(_) => Ok(()),
            // Revoked or expired meanwhile: the renewal stands, the old one keeps its end.
            Err(kesos_commands::AppError::Domain(error)) => {
                tracing::warn!(%old, %by, %error, "renewal could not supersede the old certificate");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}
