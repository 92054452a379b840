//! The application shell of certification: issue from Kompeten decisions exactly once,
//! run the lifecycle commands, expire certificates whose validity passed, and answer
//! verification, lists and exports from the registry.

pub mod codes;
pub mod error;
mod exports;
pub mod intake;
mod issue;
mod issue_batch;
pub mod numbers;
pub mod registry;
pub mod rows;
pub mod views;

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kesos_commands::{CommandContext, StateCache, execute, execute_cached};
use kesos_eventstore::{EventStore, StoreError, StreamId};
use kesos_vault::Vault;
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::domain::{
    Certificate, CertificateCommand, CertificateError, CertificateId, Reason, RevocationCategory,
    derive_uuid,
};
use crate::reference::Reference;
pub use error::CertificationError;
pub use exports::{STATUS_LIST_PATH, SUSPENSION_LIST_PATH};
pub use intake::Intake;
pub use issue::IssueOutcome;
pub use issue_batch::Delivery;
pub use registry::Registry;
pub use rows::{CertificateFilter, CertificatePage, CertificateRow};
pub use views::{CertificateView, PublicAnswer, PublicValidity, PublicVerification, Sight};

/// Western Indonesian Time (WIB, UTC+7), the ministry's: certificate dates (valid from, the
/// expiry job's "today") are calendar days there.
pub const WIB: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The actor recorded on events certification causes itself.
pub const SYSTEM_ACTOR: &str = "system:certification";

/// Most certificates one [`Certification::expire_due`] round looks at per query.
const EXPIRY_PAGE: u32 = 500;

/// Today's date in WIB.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(WIB).date()
}

/// The stream of one certificate: `certificate-<uuid>`.
pub fn certificate_stream(id: CertificateId) -> Result<StreamId, CertificationError> {
    StreamId::parse(format!("certificate-{id}"))
        .map_err(|e| CertificationError::Store(StoreError::Input(e)))
}

/// The certification service's shell. Cheap to clone.
#[derive(Clone)]
pub struct Certification {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn EventStore>,
    vault: Vault,
    reference: Reference,
    registry: Registry,
    signing_key: SigningKey,
    base_url: String,
    numbers: numbers::Numbers,
    cache: StateCache<Certificate>,
    codes: codes::CodeKey,
}

impl Certification {
    /// The shell over the service's store, the vault holding the workers' data keys (the one
    /// enrollment seals names with), reference data, the registry (in the same database as
    /// the certification consumer), the issuer's signing key for exports and status lists, and
    /// the public base URL (e.g. `https://kesos.kemensos.go.id`) that exported credentials, QR
    /// codes and status entries point at.
    pub fn new(
        store: Arc<dyn EventStore>,
        vault: Vault,
        reference: Reference,
        registry: Registry,
        signing_key: SigningKey,
        base_url: impl Into<String>,
    ) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let codes = codes::CodeKey::of_issuer(&signing_key);
        Self {
            inner: Arc::new(Inner {
                codes,
                store,
                vault,
                reference,
                registry,
                signing_key,
                base_url,
                numbers: numbers::Numbers::default(),
                cache: StateCache::new(10_000),
            }),
        }
    }

    /// The store this service writes.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    /// The registry (read model).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The reference data in force.
    pub fn reference(&self) -> &Reference {
        &self.inner.reference
    }

    /// The vault the holders' names are opened with.
    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The issuer's signing key.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.inner.signing_key
    }

    /// The verification code printed on the certificate with this number (canonical text), in
    /// its stored form (see [`codes`]).
    pub fn verification_code(&self, number: &str) -> String {
        self.inner.codes.code(number)
    }

    /// Whether `typed` is the verification code of the certificate with this number.
    pub(crate) fn code_matches(&self, number: &str, typed: &str) -> bool {
        self.inner.codes.matches(number, typed)
    }

    /// The consumer handler that issues certificates from decisions and keeps the holders'
    /// sealed names (see [`Intake`]).
    pub fn intake(&self) -> Intake {
        Intake::new(self.clone())
    }

    /// Brings the registry up to the log's head (read-your-writes before a read).
    pub async fn refresh(&self) -> Result<(), CertificationError> {
        self.inner.registry.refresh(&*self.inner.store).await
    }

    async fn command(
        &self,
        id: CertificateId,
        command: CertificateCommand,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let stream = certificate_stream(id)?;
        match execute_cached::<Certificate>(
            &*self.inner.store,
            &self.inner.cache,
            &stream,
            command,
            context,
        )
        .await
        {
            Ok(_) => self.view(id).await,
            Err(kesos_commands::AppError::Domain(CertificateError::NotIssued)) => {
                Err(CertificationError::NotFound(id))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Suspends a certificate in force (e.g. its holder is under criminal investigation).
    pub async fn suspend(
        &self,
        id: CertificateId,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let today = context.occurred_at.to_offset(WIB).date();
        self.command(id, CertificateCommand::Suspend { reason, today }, context)
            .await
    }

    /// Reinstates a suspended certificate.
    pub async fn reinstate(
        &self,
        id: CertificateId,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let today = context.occurred_at.to_offset(WIB).date();
        self.command(id, CertificateCommand::Reinstate { reason, today }, context)
            .await
    }

    /// Revokes a certificate for good.
    pub async fn revoke(
        &self,
        id: CertificateId,
        category: RevocationCategory,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        self.command(id, CertificateCommand::Revoke { category, reason }, context)
            .await
    }

    /// The expiry job: appends `CertificateExpired` to every certificate still valid or
    /// suspended whose last valid day is before `today`; returns how many it expired now.
    ///
    /// Exactly once, also after downtime or with several runners: each expiry's command id
    /// (hence its event id) is derived from the certificate id, so a second run, a concurrent
    /// run or a retry after a crash finds the expiry stored and appends nothing. A job that did
    /// not run for months expires everything that fell due meanwhile in its next run.
    pub async fn expire_due(&self, today: Date) -> Result<usize, CertificationError> {
        let mut expired = 0;
        let mut skipped = std::collections::HashSet::new();
        loop {
            self.refresh().await?;
            let due = self
                .inner
                .registry
                .due(&today.to_string(), EXPIRY_PAGE)
                .await?;
            let fresh: Vec<CertificateId> =
                due.into_iter().filter(|id| !skipped.contains(id)).collect();
            if fresh.is_empty() {
                return Ok(expired);
            }
            for id in fresh {
                let command_id = derive_uuid("kesos.certification.expire", id.0);
                let context = system_context(command_id, OffsetDateTime::now_utc(), None);
                let stream = certificate_stream(id)?;
                match execute::<Certificate>(
                    &*self.inner.store,
                    &stream,
                    CertificateCommand::Expire { today },
                    &context,
                )
                .await
                {
                    Ok(done) if !done.already_applied && !done.events.is_empty() => expired += 1,
                    Ok(_) => {}
                    // Revoked or superseded meanwhile: nothing to expire.
                    Err(kesos_commands::AppError::Domain(error)) => {
                        tracing::debug!(%id, %error, "not expired");
                    }
                    Err(error) => return Err(error.into()),
                }
                skipped.insert(id);
            }
        }
    }
}

/// The context of a command certification gives itself.
pub(crate) fn system_context(
    command_id: Uuid,
    occurred_at: OffsetDateTime,
    cause: Option<(&str, Uuid)>,
) -> CommandContext {
    CommandContext {
        command_id,
        actor: SYSTEM_ACTOR.to_owned(),
        correlation_id: cause
            .map(|(correlation, _)| correlation.to_owned())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| command_id.to_string()),
        causation_id: cause.map(|(_, event)| event.to_string()),
        occurred_at,
    }
}
