//! The certificate registry: the read model verification, lists, renewals, the expiry job and
//! the status lists answer from, built from the certificate streams of the service's own log.
//! Its checkpoint moves in the same transaction as its rows, and only if no one else moved it
//! meanwhile (compare-and-set), so concurrent or repeated catch-ups apply each event once.
//!
//! Reads are read-your-writes: [`Registry::refresh`] compares the checkpoint with the log's
//! head and catches up before a read is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kesos_aggregate::EventCodec;
use kesos_eventstore::{EventStore, RecordedEvent};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tokio::sync::Mutex;

use crate::domain::{CertificateChange, CertificateEvent, Issuance};
use crate::service::error::CertificationError;
use crate::wire::PACKAGE;

const CATCH_UP_BATCH: usize = 1_000;

#[derive(Clone)]
pub(crate) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the concrete pool (the SQL is the same on both).
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            crate::service::registry::Db::Postgres($pool) => $body,
            crate::service::registry::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// The registry over the service's database (the same database the certification consumer
/// writes holders into). Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    pub(crate) db: Db,
    // One catch-up per process at a time; other processes are kept honest by the checkpoint's
    // compare-and-set.
    catching_up: Arc<Mutex<()>>,
    // The checkpoint as this process last saw it: a hint that spares a catch-up, never trusted
    // for correctness (the database's checkpoint is).
    applied: Arc<AtomicU64>,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Registry {
    /// A registry in PostgreSQL (the store's schema), migrated.
    pub async fn postgres(pool: PgPool) -> Result<Self, CertificationError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Postgres(pool)))
    }

    /// A registry in the SQLite file, migrated.
    pub async fn sqlite(pool: SqlitePool) -> Result<Self, CertificationError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Sqlite(pool)))
    }

    fn from_db(db: Db) -> Self {
        Self {
            db,
            catching_up: Arc::new(Mutex::new(())),
            applied: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The log position the registry has applied.
    pub async fn position(&self) -> Result<u64, CertificationError> {
        let position: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM certification_checkpoints WHERE name = 'certificates'")
                .fetch_one(pool)
                .await?
        });
        let position = u64::try_from(position).unwrap_or(0);
        self.applied.fetch_max(position, Ordering::Relaxed);
        Ok(position)
    }

    /// Catches up when the log's head is beyond what the registry applied: one cheap query
    /// when it is current.
    pub async fn refresh(&self, store: &dyn EventStore) -> Result<(), CertificationError> {
        let head = store.head_position().await?;
        self.refresh_to(store, head).await
    }

    /// What this process knows the registry has applied at least (it may have applied more,
    /// e.g. by another process). Read it *before* a registry read: if the log's head was not
    /// beyond it, that read saw everything committed up to the head.
    pub fn applied_at_least(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Catches up to `head` (a log position read by the caller) unless already there.
    pub async fn refresh_to(
        &self,
        store: &dyn EventStore,
        head: u64,
    ) -> Result<(), CertificationError> {
        if self.applied.load(Ordering::Relaxed) >= head {
            return Ok(());
        }
        self.catch_up_to(store, head).await.map(|_| ())
    }

    /// Applies every event the store has committed beyond the checkpoint; returns the new
    /// checkpoint.
    pub async fn catch_up(&self, store: &dyn EventStore) -> Result<u64, CertificationError> {
        self.catch_up_to(store, u64::MAX).await
    }

    async fn catch_up_to(
        &self,
        store: &dyn EventStore,
        target: u64,
    ) -> Result<u64, CertificationError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            // Another caller may have caught up past the target while this one waited.
            let hint = self.applied.load(Ordering::Relaxed);
            if hint >= target {
                return Ok(hint);
            }
            let from = self.position().await?;
            if from >= target {
                return Ok(from);
            }
            let batch = store.read_batch(from, CATCH_UP_BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                return Ok(from);
            };
            let changes = decode(&batch)?;
            if self.apply(from, last, &changes).await? {
                self.applied.fetch_max(last, Ordering::Relaxed);
            }
        }
    }

    /// Applies one stretch of the log; false when another process applied it first.
    async fn apply(
        &self,
        from: u64,
        to: u64,
        changes: &[(u64, CertificateEvent)],
    ) -> Result<bool, CertificationError> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE certification_checkpoints SET position = $1 WHERE name = 'certificates' AND position = $2",
            )
            .bind(to_i64(to))
            .bind(to_i64(from))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for step in steps(changes) {
                let (position, event) = match step {
                    Step::Issued(run) => {
                        let sql = issued_sql(run.len());
                        let mut query = sqlx::query(&sql);
                        for (position, issued) in run {
                            query = query
                                .bind(issued.certificate_id.to_string())
                                .bind(issued.number.to_string())
                                .bind(issued.worker_id.to_string())
                                .bind(issued.scheme.code.clone())
                                .bind(issued.scheme.category.clone())
                                .bind(issued.scheme.level.clone())
                                .bind(issued.number.scheme().to_owned())
                                .bind(i64::from(issued.number.year()))
                                .bind(to_i64(issued.number.sequence()))
                                .bind(issued.lsps_id.clone())
                                .bind(issued.basis_decision_event_id.to_string())
                                .bind(issued.valid_from.to_string())
                                .bind(issued.valid_until.to_string())
                                .bind(to_i64(issued.status_list_index))
                                .bind(issued.supersedes.map(|s| s.to_string()))
                                .bind(issued.region.clone())
                                .bind(to_i64(position));
                        }
                        query.execute(&mut *tx).await?;
                        continue;
                    }
                    Step::Other(position, event) => (to_i64(position), event),
                };
                let id = event.certificate_id.to_string();
                let update = |sql: &'static str| sqlx::query(sql);
                let query = match &event.change {
                    CertificateChange::CertificateIssued(_) => continue,
                    CertificateChange::CertificateSuspended { reason } => update(
                        "UPDATE certification_certificates SET status = 'suspended', status_reason = $1, \
                         position = $2 WHERE certificate_id = $3",
                    )
                    .bind(reason.as_str().to_owned())
                    .bind(position)
                    .bind(id),
                    CertificateChange::CertificateReinstated { reason } => update(
                        "UPDATE certification_certificates SET status = 'valid', status_reason = $1, \
                         position = $2 WHERE certificate_id = $3",
                    )
                    .bind(reason.as_str().to_owned())
                    .bind(position)
                    .bind(id),
                    CertificateChange::CertificateRevoked { category, reason } => update(
                        "UPDATE certification_certificates SET status = 'revoked', status_reason = $1, \
                         revocation_category = $2, position = $3 WHERE certificate_id = $4",
                    )
                    .bind(reason.as_str().to_owned())
                    .bind(category.code())
                    .bind(position)
                    .bind(id),
                    CertificateChange::CertificateExpired { .. } => update(
                        "UPDATE certification_certificates SET status = 'expired', position = $1 \
                         WHERE certificate_id = $2",
                    )
                    .bind(position)
                    .bind(id),
                    CertificateChange::CertificateSuperseded { by } => update(
                        "UPDATE certification_certificates SET status = 'superseded', superseded_by = $1, \
                         position = $2 WHERE certificate_id = $3",
                    )
                    .bind(by.to_string())
                    .bind(position)
                    .bind(id),
                };
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}

/// Issued certificates per insert: 17 parameters each, under SQLite's 999.
const ISSUED_PER_INSERT: usize = 50;

/// The registry's columns an issuance fills (17, in bind order).
const ISSUED_COLUMNS: &str = "certificate_id, number, worker_id, scheme_code, scheme_category, \
    scheme_level, abbreviation, issue_year, sequence, lsps_id, basis_event_id, valid_from, \
    valid_until, status_index, supersedes, region, position";

/// A multi-row insert of `rows` issued certificates (status `valid`); a row already there (a
/// stretch applied twice) is left as it is.
fn issued_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=17).map(|p| format!("${}", row * 17 + p)).collect();
            format!("({}, 'valid')", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO certification_certificates ({ISSUED_COLUMNS}, status) VALUES {} \
         ON CONFLICT DO NOTHING",
        values.join(", ")
    )
}

/// What applying a stretch of the log takes, in log order: runs of issuances (nearly all of a
/// busy log, inserted many rows at a time), and every other change on its own.
enum Step<'a> {
    Issued(Vec<(u64, &'a Issuance)>),
    Other(u64, &'a CertificateEvent),
}

fn steps(changes: &[(u64, CertificateEvent)]) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut run: Vec<(u64, &Issuance)> = Vec::new();
    for (position, event) in changes {
        if let CertificateChange::CertificateIssued(issued) = &event.change {
            run.push((*position, issued));
            if run.len() == ISSUED_PER_INSERT {
                steps.push(Step::Issued(std::mem::take(&mut run)));
            }
            continue;
        }
        if !run.is_empty() {
            steps.push(Step::Issued(std::mem::take(&mut run)));
        }
        steps.push(Step::Other(*position, event));
    }
    if !run.is_empty() {
        steps.push(Step::Issued(run));
    }
    steps
}

fn decode(batch: &[RecordedEvent]) -> Result<Vec<(u64, CertificateEvent)>, CertificationError> {
    let mut changes = Vec::new();
    for record in batch {
        let event_type = record.event_type.as_str();
        if !event_type.starts_with(PACKAGE) {
            continue;
        }
        let event = CertificateEvent::decode(event_type, record.schema_version, &record.payload)?;
        changes.push((record.position, event));
    }
    Ok(changes)
}
