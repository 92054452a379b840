//! The application shell of certification: issue from Kompeten decisions exactly once, run
//! the lifecycle commands, expire certificates whose validity passed, and answer verification,
//! lists and exports from the registry ([`crate::projections`]).
//!
//! Reads never catch the registry up: they answer from what its projector has applied. A
//! command that must read its own writes waits for a position instead: issuance waits for the
//! log's head before it looks for the certificate a decision renews
//! ([`Certification::registry_at_head`]), and the lifecycle commands wait for their own
//! events before they answer with the certificate ([`Certification::registry_at`]).

pub mod codes;
pub mod error;
mod exports;
pub mod intake;
mod issue;
mod issue_batch;
mod lifecycle;
pub mod numbers;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kesos_bus::{Identities, Stalls};
use kesos_commands::{CommandContext, StateCache};
use kesos_eventstore::{EventStore, StoreError, StreamId};
use kesos_readside::{Db, Projector};
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::domain::{Certificate, CertificateId};
use crate::projections::{self, LOG, Registry, RegistryProjection};
use crate::reference::Reference;
pub use error::CertificationError;
pub use exports::{STATUS_LIST_PATH, SUSPENSION_LIST_PATH};
pub use intake::Intake;
pub use issue::IssueOutcome;
pub use issue_batch::Delivery;
pub use views::{CertificateView, PublicAnswer, PublicValidity, PublicVerification, Sight};

/// Western Indonesian Time (WIB, UTC+7), the ministry's: certificate dates (valid from, the
/// expiry job's "today") are calendar days there.
pub const WIB: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The actor recorded on events certification causes itself.
pub const SYSTEM_ACTOR: &str = "system:certification";

/// How long a command waits for the registry to reach a position: long enough for a busy
/// projector, short enough that a stalled one turns into an answer (a command's write is
/// durable either way) or a retry (issuance, the expiry job).
pub const REGISTRY_WAIT: Duration = Duration::from_secs(10);

/// Today's date in WIB.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(WIB).date()
}

/// The stream of one certificate: `certificate-<uuid>`.
pub fn certificate_stream(id: CertificateId) -> Result<StreamId, CertificationError> {
    StreamId::parse(format!("certificate-{id}"))
        .map_err(|e| CertificationError::Store(StoreError::Input(e)))
}

/// What the service is built from.
pub struct Parts {
    /// The service's event store: the certificates' streams, and the log the registry follows.
    pub store: Arc<dyn EventStore>,
    /// The database of the registry, which must also hold the certification consumer's
    /// holders table (the registry's reads join it) and, in kesos, is the store's own.
    pub db: Db,
    /// Who a worker is: enrollment, which alone holds the workers' keys, asked in the same
    /// process or over NATS. Certification keeps no copy of a holder's name, only its mask
    /// (public verification answers without asking), so an erasure in enrollment reaches
    /// every name certification shows.
    pub identities: Arc<dyn Identities>,
    /// Validity per scheme, number abbreviations, issuer and LSPS names.
    pub reference: Reference,
    /// The issuer's key: exports and status lists are signed with it, verification codes
    /// derive from it.
    pub signing_key: SigningKey,
    /// The public base URL (e.g. `https://kesos.kemensos.go.id`) that exported credentials, QR
    /// codes and status entries point at.
    pub base_url: String,
    /// Where the registry's projector reports a stall (readiness reads it).
    pub stalls: Stalls,
}

/// The certification service's shell. Cheap to clone; the registry's projector runs until the
/// last clone is dropped.
#[derive(Clone)]
pub struct Certification {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn EventStore>,
    identities: Arc<dyn Identities>,
    reference: Reference,
    registry: Registry,
    projector: Projector,
    signing_key: SigningKey,
    base_url: String,
    numbers: numbers::Numbers,
    cache: StateCache<Certificate>,
    codes: codes::CodeKey,
}

impl Certification {
    /// Migrates certification's tables, and starts the registry's projector on the service's
    /// own log from its checkpoint; the service answers at once, from what the registry holds.
    pub async fn build(parts: Parts) -> Result<Self, CertificationError> {
        parts.db.migrate(projections::migrations()).await?;
        let projector = Projector::new(parts.db.clone(), Arc::new(RegistryProjection))
            .await?
            .with_stalls(parts.stalls);
        projector.start_on_log(parts.store.clone(), LOG);
        let base_url = parts.base_url.trim_end_matches('/').to_owned();
        let codes = codes::CodeKey::of_issuer(&parts.signing_key);
        Ok(Self {
            inner: Arc::new(Inner {
                codes,
                store: parts.store,
                identities: parts.identities,
                reference: parts.reference,
                registry: Registry::new(parts.db),
                projector,
                signing_key: parts.signing_key,
                base_url,
                numbers: numbers::Numbers::default(),
                cache: StateCache::new(10_000),
            }),
        })
    }

    /// The store this service writes.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    /// The registry's reads.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The projector keeping the registry (its source is [`LOG`]): wait on it for a position.
    pub fn projector(&self) -> &Projector {
        &self.inner.projector
    }

    /// The reference data in force.
    pub fn reference(&self) -> &Reference {
        &self.inner.reference
    }

    /// Where the holders' names are asked for.
    pub fn identities(&self) -> &Arc<dyn Identities> {
        &self.inner.identities
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

    /// Waits until the registry has applied the service's log up to `position`, at most
    /// [`REGISTRY_WAIT`]; [`CertificationError::Behind`] when it has not.
    pub async fn registry_at(&self, position: u64) -> Result<(), CertificationError> {
        self.inner
            .projector
            .wait_for(LOG, position, REGISTRY_WAIT)
            .await?;
        Ok(())
    }

    /// Waits until the registry has applied everything the log held when asked: what a read
    /// that decides a write needs (is a certificate current? which ones are due?).
    pub async fn registry_at_head(&self) -> Result<(), CertificationError> {
        match self
            .inner
            .projector
            .wait_for_head(&*self.inner.store, LOG, REGISTRY_WAIT)
            .await
        {
            Err(kesos_readside::WaitError::Store(error)) => Err(error.into()),
            waited => Ok(waited?),
        }
    }

    /// After a command, before it answers with what the registry shows: waits for the
    /// command's own events, and answers anyway (with a warning) when the registry is slow,
    /// since the write is durable.
    pub(crate) async fn settle(&self, positions: &[u64]) {
        self.inner
            .projector
            .settle(LOG, positions.iter().copied(), REGISTRY_WAIT)
            .await;
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
