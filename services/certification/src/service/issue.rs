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
//! A worker's first certificate of a scheme also takes the holder claim (see
//! [`crate::service::numbers::HOLDER_SCOPE`]); a concurrent first certificate of the same
//! worker and scheme then loses it, catches up and issues as a renewal.

use kesos_aggregate::{Aggregate, execute, load, to_new_events};
use kesos_eventstore::{AsOf, Claims, ExpectedVersion, StoreError};
use time::OffsetDateTime;

use crate::domain::{
    Certificate, CertificateCommand, CertificateId, CertificateNumber, Issuance, WorkerId,
    derive_uuid, valid_until,
};
use crate::service::numbers::{HOLDER_SCOPE, holder_claim, index_claim, number_claim};
use crate::service::{Certification, CertificationError, WIB, certificate_stream, system_context};
use crate::wire::Decision;

/// Attempts at a free number before giving up for now (each costs one refused append).
const MAX_NUMBER_ATTEMPTS: u32 = 64;

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
        registry.refresh(store).await?;
        let (mut current, mut first) = self.holdings_of(decision, certificate_id).await?;
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
                supersedes: current.first().copied(),
                region: decision.region.clone(),
                status_list_index,
            };
            let events = Certificate::default()
                .decide(&CertificateCommand::Issue(Box::new(issuance.clone())))?;
            let mut take = vec![number_claim(&number)?, index_claim(status_list_index)?];
            if first {
                take.push(holder_claim(decision.worker_id.0, &decision.scheme.code)?);
            }
            let claims = Claims {
                take,
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
                    for older in current.iter().skip(1) {
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
                    registry.refresh(store).await?;
                    if key.as_str().starts_with(HOLDER_SCOPE) {
                        // Another first certificate of the worker and scheme: renew it.
                        (current, first) = self.holdings_of(decision, certificate_id).await?;
                    } else {
                        numbers.taken(registry, &key).await?;
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(CertificationError::NumbersExhausted(MAX_NUMBER_ATTEMPTS))
    }

    /// From the registry (caught up by the caller): the worker's current certificates of the
    /// decision's scheme, newest first, and whether it holds none of the scheme at all (the
    /// new one is then the first, and takes the holder claim).
    async fn holdings_of(
        &self,
        decision: &Decision,
        certificate_id: CertificateId,
    ) -> Result<(Vec<CertificateId>, bool), CertificationError> {
        let registry = &self.inner.registry;
        let worker = decision.worker_id.0;
        let current: Vec<CertificateId> = registry
            .current_for(worker, &decision.scheme.code)
            .await?
            .into_iter()
            .filter(|c| *c != certificate_id)
            .collect();
        let first =
            !registry.holdings(&[worker]).await?.iter().any(|h| {
                h.scheme_code == decision.scheme.code && h.certificate_id != certificate_id
            });
        Ok((current, first))
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
            Err(kesos_aggregate::AppError::Domain(error)) => {
                tracing::warn!(%old, %by, %error, "renewal could not supersede the old certificate");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}
