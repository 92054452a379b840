//! The worker directory: a read model for "list workers in 32.77 who are Peksos", built from
//! the worker streams of the store's own log. Its checkpoint moves in the same transaction as
//! its rows, and only if no one else moved it meanwhile, so concurrent or repeated catch-ups
//! (several processes, redelivery after a crash) apply each event exactly once.
//!
//! Lists are read-your-writes: [`Directory::catch_up`] runs before a list is answered.

use std::sync::Arc;

use kesos_aggregate::EventCodec;
use kesos_eventstore::{EventStore, RecordedEvent};
use kesos_regions::RegionCode;
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tokio::sync::Mutex;

use crate::domain::{WorkerChange, WorkerEvent};
use crate::service::error::EnrollmentError;

const CATCH_UP_BATCH: usize = 1_000;
/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

#[derive(Clone)]
enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The directory over the service's database. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    db: Db,
    // One catch-up per process at a time; other processes are kept honest by the
    // checkpoint's compare-and-set.
    catching_up: Arc<Mutex<()>>,
}

/// Which workers a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerFilter {
    /// Posted at or below this region.
    pub region: Option<RegionCode>,
    /// Category code.
    pub category: Option<String>,
    /// Role code.
    pub role: Option<String>,
    /// Employment status code.
    pub employment_status: Option<String>,
    /// `active` or `erased`.
    pub status: Option<String>,
}

/// One directory row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// Worker id.
    pub worker_id: String,
    /// Category code.
    pub category: String,
    /// Role code.
    pub role: String,
    /// Employment status code.
    pub employment_status: String,
    /// Posting region.
    pub posting: String,
    /// `active` or `erased`.
    pub status: String,
    /// Sealed name (ciphertext, nonce, key id), opened by the caller with the vault.
    #[serde(skip)]
    pub sealed_name: Option<kesos_vault::Sealed>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPage {
    /// The rows, by worker id.
    pub items: Vec<DirectoryEntry>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// How many workers match the filter in all.
    pub total: u64,
}

macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Postgres($pool) => $body,
            Db::Sqlite($pool) => $body,
        }
    };
}

impl Directory {
    /// A directory in PostgreSQL (the store's schema), migrated.
    pub async fn postgres(pool: PgPool) -> Result<Self, EnrollmentError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Postgres(pool)))
    }

    /// A directory in the SQLite file, migrated.
    pub async fn sqlite(pool: SqlitePool) -> Result<Self, EnrollmentError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Sqlite(pool)))
    }

    fn from_db(db: Db) -> Self {
        Self {
            db,
            catching_up: Arc::new(Mutex::new(())),
        }
    }

    /// The log position the directory has applied.
    pub async fn position(&self) -> Result<u64, EnrollmentError> {
        let position: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM enrollment_checkpoints WHERE name = 'directory'")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(position).unwrap_or(0))
    }

    /// Applies every event the store has committed beyond the checkpoint; returns the new
    /// checkpoint.
    pub async fn catch_up(&self, store: &dyn EventStore) -> Result<u64, EnrollmentError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            let from = self.position().await?;
            let batch = store.read_batch(from, CATCH_UP_BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                return Ok(from);
            };
            let changes = decode(&batch)?;
            self.apply(from, last, &changes).await?;
        }
    }

    async fn apply(
        &self,
        from: u64,
        to: u64,
        changes: &[(u64, WorkerEvent)],
    ) -> Result<(), EnrollmentError> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE enrollment_checkpoints SET position = $1 WHERE name = 'directory' AND position = $2",
            )
            .bind(to)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                // Another process applied this stretch first; start again from its checkpoint.
                tx.rollback().await?;
                return Ok(());
            }
            for (position, event) in changes {
                let position = i64::try_from(*position).unwrap_or(i64::MAX);
                let worker = event.worker_id.to_string();
                let (sql, value): (&str, String) = match &event.change {
                    WorkerChange::WorkerRegistered(r) => {
                        sqlx::query(
                            "INSERT INTO enrollment_directory (worker_id, category, role, \
                             employment_status, posting, status, name_ciphertext, name_nonce, \
                             name_key_id, position) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9) \
                             ON CONFLICT (worker_id) DO NOTHING",
                        )
                        .bind(&worker)
                        .bind(r.category.code())
                        .bind(r.role.code())
                        .bind(r.employment.code())
                        .bind(r.posting.to_string())
                        .bind(&r.identity.full_name.ciphertext)
                        .bind(&r.identity.full_name.nonce)
                        .bind(&r.identity.full_name.key_id)
                        .bind(position)
                        .execute(&mut *tx)
                        .await?;
                        continue;
                    }
                    WorkerChange::WorkerPostingMoved { to, .. } => (
                        "UPDATE enrollment_directory SET posting = $1, position = $2 WHERE worker_id = $3",
                        to.to_string(),
                    ),
                    WorkerChange::WorkerEmploymentStatusChanged { to, .. } => (
                        "UPDATE enrollment_directory SET employment_status = $1, position = $2 WHERE worker_id = $3",
                        to.code().to_owned(),
                    ),
                    WorkerChange::WorkerRoleChanged { to, .. } => (
                        "UPDATE enrollment_directory SET role = $1, position = $2 WHERE worker_id = $3",
                        to.code().to_owned(),
                    ),
                    WorkerChange::WorkerErased { .. } => (
                        "UPDATE enrollment_directory SET status = $1, position = $2, \
                         name_ciphertext = NULL, name_nonce = NULL, name_key_id = NULL WHERE worker_id = $3",
                        "erased".to_owned(),
                    ),
                    _ => continue,
                };
                sqlx::query(sql)
                    .bind(value)
                    .bind(position)
                    .bind(&worker)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// One page of workers matching `filter`, after the worker id `after`, at most `limit`.
    pub async fn list(
        &self,
        filter: &WorkerFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<WorkerPage, EnrollmentError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        if let Some(region) = &filter.region {
            values.push(region.to_string());
            values.push(format!("{region}.%"));
            conditions.push(format!(
                "(posting = ${} OR posting LIKE ${})",
                values.len() - 1,
                values.len()
            ));
        }
        for (column, value) in [
            ("category", &filter.category),
            ("role", &filter.role),
            ("employment_status", &filter.employment_status),
            ("status", &filter.status),
        ] {
            if let Some(value) = value {
                values.push(value.clone());
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        let filtered = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM enrollment_directory{filtered}");
        let mut page_conditions = conditions.clone();
        let mut page_values = values.clone();
        if let Some(after) = after {
            page_values.push(after.to_owned());
            page_conditions.push(format!("worker_id > ${}", page_values.len()));
        }
        let page_sql = format!(
            "SELECT worker_id, category, role, employment_status, posting, status, \
             name_ciphertext, name_nonce, name_key_id FROM enrollment_directory{} \
             ORDER BY worker_id LIMIT {}",
            if page_conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", page_conditions.join(" AND "))
            },
            limit + 1
        );
        let (total, mut items) = with_db!(&self.db, pool => {
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            for value in &values {
                count = count.bind(value);
            }
            let total = count.fetch_one(pool).await?;
            let mut page = sqlx::query(&page_sql);
            for value in &page_values {
                page = page.bind(value);
            }
            let rows = page.fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                let ciphertext: Option<Vec<u8>> = row.try_get("name_ciphertext")?;
                let nonce: Option<Vec<u8>> = row.try_get("name_nonce")?;
                let key_id: Option<String> = row.try_get("name_key_id")?;
                items.push(DirectoryEntry {
                    worker_id: row.try_get("worker_id")?,
                    category: row.try_get("category")?,
                    role: row.try_get("role")?,
                    employment_status: row.try_get("employment_status")?,
                    posting: row.try_get("posting")?,
                    status: row.try_get("status")?,
                    sealed_name: match (ciphertext, nonce, key_id) {
                        (Some(ciphertext), Some(nonce), Some(key_id)) => Some(kesos_vault::Sealed {
                            ciphertext,
                            nonce,
                            key_id,
                        }),
                        _ => None,
                    },
                });
            }
            (total, items)
        });
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|item| item.worker_id.clone())
        } else {
            None
        };
        Ok(WorkerPage {
            items,
            next,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

fn decode(batch: &[RecordedEvent]) -> Result<Vec<(u64, WorkerEvent)>, EnrollmentError> {
    let mut changes = Vec::new();
    for record in batch {
        let event_type = record.event_type.as_str();
        if !event_type.starts_with("kesos.enrollment.v1.Worker") {
            continue;
        }
        let event = WorkerEvent::decode(event_type, record.schema_version, &record.payload)?;
        changes.push((record.position, event));
    }
    Ok(changes)
}
