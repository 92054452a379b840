//! The application shell of enrollment: validate at the edge, seal personal data, decide
//! with the pure core, append (with the NIK's uniqueness claim in the same transaction), and
//! answer reads with personal data opened only where it still can be.
//!
//! The service owns the projector of its read models (the worker directory), started on its
//! own log when the service is built. A command that changes directory rows waits for the
//! directory to apply it before answering, so its caller's next list shows it; reads never
//! catch up themselves.

pub mod departure;
pub mod error;
pub mod form;
pub mod import;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use kesos_aggregate::{Aggregate, EventCodec};
use kesos_bus::Stalls;
use kesos_commands::{
    CommandContext, StateCache, execute, execute_cached, execute_claiming, load, to_new_events,
};
use kesos_eventstore::{AsOf, ClaimKey, Claims, EventStore, ExpectedVersion, StoreError, StreamId};
use kesos_readside::{Db, Projector};
use kesos_regions::{RegionCode, Regions};
use kesos_vault::{DataKey, KeyState, Sealed, Vault};
use time::format_description::well_known::Iso8601;

use crate::domain::{
    NominationId, Reason, Registration, SchemeCatalog, SchemeCode, SealedField, SealedIdentity,
    SetTarget, Target, Worker, WorkerCommand, WorkerError, WorkerId,
};
use crate::projections::{self, Directory, DirectoryProjection};
pub use error::EnrollmentError;
pub use form::{ValidWorker, WorkerForm};
pub use view::{DepartureView, NominationView, WorkerView};

/// Blind-index scope of NIK uniqueness claims.
pub const NIK_SCOPE: &str = "enrollment.nik";
/// Labels the sealed fields are bound to (a NIK ciphertext cannot pass for a name).
pub const NIK_LABEL: &str = "nik";
/// See [`NIK_LABEL`].
pub const NAME_LABEL: &str = "full_name";
/// See [`NIK_LABEL`].
pub const BIRTH_DATE_LABEL: &str = "birth_date";
/// See [`NIK_LABEL`].
pub const PORTFOLIO_LABEL: &str = "portfolio_ref";
/// The name the service's own log goes by as the source of its read models' checkpoints.
pub const LOG: &str = "enrollment";
/// Longest a command waits for the worker directory to apply it before answering anyway: the
/// write is durable, only the caller's next list might not show it yet.
pub const DIRECTORY_WAIT: Duration = Duration::from_secs(10);

/// The enrollment service's shell. Cheap to clone; the directory's projector runs until the
/// last clone is dropped.
#[derive(Clone)]
pub struct Enrollment {
    store: Arc<dyn EventStore>,
    vault: Vault,
    catalog: Arc<SchemeCatalog>,
    directory: Directory,
    projector: Projector,
    workers: Arc<StateCache<Worker>>,
}

/// The stream of one worker: `worker-<uuid>`.
pub fn worker_stream(worker: WorkerId) -> Result<StreamId, EnrollmentError> {
    StreamId::parse(format!("worker-{worker}"))
        .map_err(|e| EnrollmentError::Store(StoreError::Input(e)))
}

/// The worker a `worker-<uuid>` stream belongs to.
pub fn worker_of_stream(stream: &StreamId) -> Option<WorkerId> {
    stream
        .as_str()
        .strip_prefix("worker-")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .map(WorkerId)
}

fn nik_claim(vault: &Vault, nik: &str) -> Result<ClaimKey, EnrollmentError> {
    let key = format!("{NIK_SCOPE}:{}", vault.blind_index(NIK_SCOPE, nik));
    ClaimKey::parse(&key).map_err(|e| EnrollmentError::Store(StoreError::Input(e)))
}

fn sealed(value: Sealed) -> SealedField {
    SealedField {
        ciphertext: value.ciphertext,
        nonce: value.nonce,
        key_id: value.key_id,
    }
}

/// A field as the vault opens it.
impl From<&SealedField> for Sealed {
    fn from(value: &SealedField) -> Self {
        Sealed {
            ciphertext: value.ciphertext.clone(),
            nonce: value.nonce.clone(),
            key_id: value.key_id.clone(),
        }
    }
}

/// Seals a valid worker's personal data with its key: the registration to decide on.
pub fn seal_registration(worker_id: WorkerId, key: &DataKey, worker: &ValidWorker) -> Registration {
    let birth_date = worker.birth_date.format(&Iso8601::DATE).unwrap_or_default();
    Registration {
        worker_id,
        identity: SealedIdentity {
            nik: sealed(key.seal(NIK_LABEL, worker.nik.digits().as_bytes())),
            full_name: sealed(key.seal(NAME_LABEL, worker.full_name.as_bytes())),
            birth_date: sealed(key.seal(BIRTH_DATE_LABEL, birth_date.as_bytes())),
        },
        sex: worker.sex,
        category: worker.category,
        role: worker.role,
        employment: worker.employment,
        posting: worker.posting.clone(),
        qualifications: worker.qualifications,
    }
}

/// The outcome of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The worker.
    pub worker_id: WorkerId,
    /// True when this was a retry of an earlier registration (same command id).
    pub already: bool,
}

impl Enrollment {
    /// The shell over a store, a vault and the service's database (`db`, where the read
    /// models live): migrates the read models' tables and starts the projector that keeps them
    /// on the store's log, reporting a stall in `stalls` (which readiness reads).
    pub async fn build(
        store: Arc<dyn EventStore>,
        vault: Vault,
        catalog: SchemeCatalog,
        db: Db,
        stalls: Stalls,
    ) -> Result<Self, EnrollmentError> {
        db.migrate(projections::migrations()).await?;
        let projector = Projector::new(db.clone(), Arc::new(DirectoryProjection))
            .await?
            .with_stalls(stalls);
        projector.start_on_log(store.clone(), LOG);
        Ok(Self {
            store,
            vault,
            catalog: Arc::new(catalog),
            directory: Directory::new(db),
            projector,
            workers: Arc::new(StateCache::new(10_000)),
        })
    }

    /// The store this service writes.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The vault holding the workers' data keys.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The scheme catalogue in force.
    pub fn catalog(&self) -> &SchemeCatalog {
        &self.catalog
    }

    /// The embedded regions.
    pub fn regions(&self) -> &'static Regions {
        Regions::embedded()
    }

    /// The worker directory (read model), for lists.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The projector keeping the directory on the log: its checkpoint, and waiting for a
    /// position.
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// Waits until the directory has applied the log up to `position` (the last event a
    /// command appended), at most [`DIRECTORY_WAIT`]. A directory that does not get there in
    /// time (stalled, or far behind) is logged, not an error: the command's write stands.
    pub(crate) async fn directory_reaches(&self, position: Option<u64>) {
        self.projector.settle(LOG, position, DIRECTORY_WAIT).await;
    }

    /// Registers a valid worker: a data key, sealed NIK/name/birth date, and the append that
    /// also claims the NIK's blind index. The worker id is the command id, so a retry of the
    /// same command finds its first outcome.
    pub async fn register(
        &self,
        worker: &ValidWorker,
        context: &CommandContext,
    ) -> Result<Registered, EnrollmentError> {
        let worker_id = WorkerId(context.command_id);
        let key = self.vault.key_for(worker_id.0).await?;
        let registration = seal_registration(worker_id, &key, worker);
        let claims = Claims {
            take: vec![nik_claim(&self.vault, worker.nik.digits())?],
            release: Vec::new(),
        };
        // A new worker's stream is new: decided on the empty state and appended as "no stream
        // yet", without reading it first. A retry of the same command finds its events stored.
        let events = Worker::default()
            .decide(&WorkerCommand::RegisterWorker(Box::new(registration)))
            .map_err(EnrollmentError::Worker)?;
        let dated = CommandContext {
            occurred_at: worker.registered_at(context.occurred_at),
            ..context.clone()
        };
        let new_events = to_new_events(&events, &dated)?;
        let appended = self
            .store
            .append_claiming(
                &worker_stream(worker_id)?,
                ExpectedVersion::NoStream,
                new_events,
                claims,
            )
            .await;
        match appended {
            Ok(outcome) => {
                self.directory_reaches(outcome.positions.last().copied())
                    .await;
                Ok(Registered {
                    worker_id,
                    already: outcome.already_stored,
                })
            }
            Err(StoreError::ClaimTaken { holder, .. }) => Err(EnrollmentError::DuplicateNik {
                existing: worker_of_stream(&holder).unwrap_or(worker_id),
            }),
            Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. }) => Err(
                EnrollmentError::Worker(crate::domain::WorkerError::AlreadyRegistered(worker_id)),
            ),
            Err(error) => Err(error.into()),
        }
    }

    /// Runs a command on an existing worker; one that changes the worker's directory row
    /// (posting, employment status, role) answers once the directory shows it.
    pub async fn command(
        &self,
        worker_id: WorkerId,
        command: WorkerCommand,
        context: &CommandContext,
    ) -> Result<Worker, EnrollmentError> {
        let stream = worker_stream(worker_id)?;
        match execute_cached::<Worker>(&*self.store, &self.workers, &stream, command, context).await
        {
            Ok(executed) => {
                let listed = executed
                    .events
                    .iter()
                    .any(|event| DirectoryProjection::changes_rows(event.event_type()));
                if listed {
                    self.directory_reaches(executed.positions.last().copied())
                        .await;
                }
                Ok(executed.state)
            }
            Err(kesos_commands::AppError::Domain(crate::domain::WorkerError::NotRegistered)) => {
                Err(EnrollmentError::WorkerNotFound(worker_id))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The scheme with this code, or a field error naming `field`.
    pub fn scheme(
        &self,
        field: &str,
        code: &str,
    ) -> Result<Box<crate::domain::Scheme>, EnrollmentError> {
        let code = SchemeCode::parse(code)
            .map_err(|e| EnrollmentError::field(field, "scheme.format", e.to_string()))?;
        self.catalog
            .scheme(&code)
            .cloned()
            .map(Box::new)
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .catalog
                    .schemes
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect();
                EnrollmentError::field(
                    field,
                    "scheme.known",
                    format!(
                        "scheme {code} is not in catalogue {}; known: {}",
                        self.catalog.version,
                        known.join(", ")
                    ),
                )
            })
    }

    /// Nominates a worker; the nomination id is the command id. With `within` (a regional
    /// office's region), the worker must be posted there when the nomination is decided.
    #[allow(clippy::too_many_arguments)]
    pub async fn nominate(
        &self,
        worker_id: WorkerId,
        scheme: &str,
        period_year: i32,
        recommending_office: &str,
        portfolio_ref: &str,
        within: Option<&RegionCode>,
        context: &CommandContext,
    ) -> Result<NominationId, EnrollmentError> {
        let scheme = self.scheme("scheme_code", scheme)?;
        let office = self.regions().lookup(recommending_office).map_err(|e| {
            EnrollmentError::field("recommending_office", "region.known", e.to_string())
        })?;
        if office
            .code()
            .kabupaten_kota()
            .is_some_and(|k| &k != office.code())
        {
            return Err(EnrollmentError::field(
                "recommending_office",
                "recommending_office.level",
                "a recommending Dinas Sosial office is a province or a kabupaten/kota",
            ));
        }
        let portfolio_ref = Reason::parse(portfolio_ref).map_err(|e| {
            EnrollmentError::field("portfolio_ref", "portfolio_ref.text", e.to_string())
        })?;
        // Sealed like the worker's name: a path into a Dinas office's documents often names
        // the worker, and the log keeps it for ever.
        let portfolio_ref = match self.vault.key(worker_id.0).await? {
            KeyState::Live(key) => {
                sealed(key.seal(PORTFOLIO_LABEL, portfolio_ref.as_str().as_bytes()))
            }
            KeyState::Destroyed { .. } => return Err(EnrollmentError::Worker(WorkerError::Erased)),
            KeyState::Missing => return Err(EnrollmentError::WorkerNotFound(worker_id)),
        };
        let nomination_id = NominationId(context.command_id);
        let command = WorkerCommand::Nominate {
            nomination_id,
            scheme,
            period_year,
            recommending_office: office.code().clone(),
            portfolio_ref,
        };
        let command = match within {
            Some(region) => WorkerCommand::WithinRegion {
                region: region.clone(),
                command: Box::new(command),
            },
            None => command,
        };
        self.command(worker_id, command, context).await?;
        Ok(nomination_id)
    }

    /// Runs administrative selection on a nomination against its scheme's rules in force.
    pub async fn verify(
        &self,
        worker_id: WorkerId,
        nomination_id: NominationId,
        context: &CommandContext,
    ) -> Result<Worker, EnrollmentError> {
        let current = self.load(worker_id).await?;
        let nomination = current
            .nomination(nomination_id)
            .ok_or(EnrollmentError::Worker(
                crate::domain::WorkerError::UnknownNomination(nomination_id),
            ))?;
        let scheme = self.scheme("scheme_code", nomination.scheme.as_str())?;
        self.command(
            worker_id,
            WorkerCommand::Verify {
                nomination_id,
                scheme,
                rule_set_version: self.catalog.version.clone(),
            },
            context,
        )
        .await
    }

    /// Erases a worker's personal data (UU PDP): records the erasure, releasing the NIK claim
    /// in the same append, then destroys the data key. Reads honour the erasure from the
    /// event on, so the order is safe; a retry destroys a key a crash left behind. It answers
    /// once the directory lists the worker as erased.
    pub async fn erase(
        &self,
        worker_id: WorkerId,
        reason: Reason,
        legal_basis: Reason,
        context: &CommandContext,
    ) -> Result<(), EnrollmentError> {
        let worker = self.load(worker_id).await?;
        let Some(record) = &worker.record else {
            return Err(EnrollmentError::WorkerNotFound(worker_id));
        };
        let key = match self.vault.key(worker_id.0).await? {
            KeyState::Live(key) => Some(key),
            KeyState::Destroyed { .. } | KeyState::Missing => None,
        };
        let mut claims = Claims::default();
        if let (Some(key), false) = (&key, worker.erased) {
            let nik = key.open(NIK_LABEL, &Sealed::from(&record.identity.nik))?;
            claims
                .release
                .push(nik_claim(&self.vault, &String::from_utf8_lossy(&nik))?);
        }
        let key_id = key
            .as_ref()
            .map(|k| k.key_id().to_string())
            .unwrap_or_else(|| record.identity.nik.key_id.clone());
        let executed = execute_claiming::<Worker>(
            &*self.store,
            &worker_stream(worker_id)?,
            WorkerCommand::EraseWorker {
                key_id,
                reason,
                legal_basis,
            },
            context,
            claims,
        )
        .await?;
        self.vault.destroy(worker_id.0, context.occurred_at).await?;
        self.directory_reaches(executed.positions.last().copied())
            .await;
        Ok(())
    }

    /// Sets a yearly target, per category or as a total (`target-<year>-<region>-all`), in
    /// force from its date: the event's business time is that date (its start in WIB, or now
    /// when it is today).
    pub async fn set_target(
        &self,
        target: SetTarget,
        context: &CommandContext,
    ) -> Result<(), EnrollmentError> {
        let stream = StreamId::parse(format!(
            "target-{}-{}-{}",
            target.year,
            match &target.region {
                crate::domain::TargetRegion::National => "national".to_owned(),
                crate::domain::TargetRegion::Region(code) => code.to_string(),
            },
            target.category.code()
        ))
        .map_err(|e| EnrollmentError::Store(StoreError::Input(e)))?;
        let dated = CommandContext {
            occurred_at: crate::domain::calendar::occurred_at(
                target.in_force_from,
                context.occurred_at,
            ),
            ..context.clone()
        };
        execute::<Target>(&*self.store, &stream, target, &dated).await?;
        Ok(())
    }

    /// A worker's current state (404 when unregistered).
    pub async fn load(&self, worker_id: WorkerId) -> Result<Worker, EnrollmentError> {
        match load::<Worker>(&*self.store, &worker_stream(worker_id)?, AsOf::Now).await? {
            Some((worker, _)) if worker.record.is_some() => Ok(worker),
            _ => Err(EnrollmentError::WorkerNotFound(worker_id)),
        }
    }

    /// A worker as people read it: personal data opened when the key lives, or marked erased.
    pub async fn view(&self, worker_id: WorkerId) -> Result<WorkerView, EnrollmentError> {
        let worker = self.load(worker_id).await?;
        let key = self.vault.key(worker_id.0).await?;
        Ok(WorkerView::of(&worker, &key))
    }
}
