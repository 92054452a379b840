//! The worker directory: a read model for "list workers in 32.77 who are Peksos", built from
//! the worker streams of the service's own log (table `enrollment_directory`).
//!
//! [`DirectoryProjection`] says which events it applies and how; the read side's `Projector`
//! runs it, with its checkpoint in the same transaction as its rows. [`Directory`] lists the
//! rows and never writes: a command whose caller lists its effect next waits for the
//! command's position instead (see `Enrollment`).

use async_trait::async_trait;
use kesos_aggregate::EventCodec;
use kesos_readside::{
    Db, Delivered, Page, PageQuery, Projection, ProjectionError, Row, Tx, Where, to_i64,
};
use kesos_regions::RegionCode;
use serde::Serialize;

use crate::domain::{Registration, WorkerChange, WorkerEvent};
use crate::service::error::EnrollmentError;
use crate::wire::{
    WORKER_DEPARTED, WORKER_EMPLOYMENT_STATUS_CHANGED, WORKER_ERASED, WORKER_POSTING_MOVED,
    WORKER_REGISTERED, WORKER_RETURNED, WORKER_ROLE_CHANGED,
};

/// The name the directory's checkpoint is kept under.
pub const NAME: &str = "enrollment.directory";
/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;
/// Registrations written by one `INSERT`: nine values each stays far below either database's
/// limit of bound values (SQLite's 32,766), and an import's batch takes a few statements
/// instead of one round trip per worker.
const ROWS_PER_INSERT: usize = 500;

/// The event types that change a directory row; the others only move its checkpoint.
const APPLIED: [&str; 7] = [
    WORKER_REGISTERED,
    WORKER_POSTING_MOVED,
    WORKER_EMPLOYMENT_STATUS_CHANGED,
    WORKER_ROLE_CHANGED,
    WORKER_ERASED,
    WORKER_DEPARTED,
    WORKER_RETURNED,
];

/// How the directory follows the log: one row per registered worker, changed by its moves,
/// employment and role changes, `departed` from a departure until a return, and cleared of
/// the sealed name on erasure (`erased` outranks `departed`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectoryProjection;

impl DirectoryProjection {
    /// Whether an event of this type changes the directory (a command that appended one waits
    /// for the directory before answering).
    pub fn changes_rows(event_type: &str) -> bool {
        APPLIED.contains(&event_type)
    }
}

#[async_trait]
impl Projection for DirectoryProjection {
    fn name(&self) -> &str {
        NAME
    }

    fn handles(&self, event_type: &str) -> bool {
        Self::changes_rows(event_type)
    }

    async fn apply(&self, tx: &mut Tx, events: &[&Delivered]) -> Result<(), ProjectionError> {
        // Registrations in a row are inserted together; anything else first writes them, so
        // every row changes in log order.
        let mut registered: Vec<(i64, Registration)> = Vec::new();
        for delivered in events {
            let record = &delivered.event;
            let event = WorkerEvent::decode(
                record.event_type.as_str(),
                record.schema_version,
                &record.payload,
            )
            .map_err(|error| ProjectionError::event(delivered, error))?;
            let position = to_i64(record.position);
            if let WorkerChange::WorkerRegistered(registration) = event.change {
                registered.push((position, *registration));
                continue;
            }
            insert(tx, &registered).await?;
            registered.clear();
            update(tx, &event, position).await?;
        }
        insert(tx, &registered).await
    }
}

/// Inserts registered workers, [`ROWS_PER_INSERT`] a statement; a worker listed already (a
/// replay over existing rows) is left as it is.
async fn insert(tx: &mut Tx, registered: &[(i64, Registration)]) -> Result<(), ProjectionError> {
    for chunk in registered.chunks(ROWS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let n = row * 9;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, 'active', ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7,
                    n + 8,
                    n + 9
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO enrollment_directory (worker_id, category, role, employment_status, \
             posting, status, name_ciphertext, name_nonce, name_key_id, position) VALUES {} \
             ON CONFLICT (worker_id) DO NOTHING",
            rows.join(", ")
        );
        let mut statement = tx.query(&sql);
        for (position, r) in chunk {
            let name = &r.identity.full_name;
            statement = statement
                .bind(r.worker_id.to_string())
                .bind(r.category.code())
                .bind(r.role.code())
                .bind(r.employment.code())
                .bind(r.posting.to_string())
                .bind(name.ciphertext.clone())
                .bind(name.nonce.clone())
                .bind(name.key_id.clone())
                .bind(*position);
        }
        statement.execute().await?;
    }
    Ok(())
}

/// Applies one change to an existing worker's row.
async fn update(tx: &mut Tx, event: &WorkerEvent, position: i64) -> Result<(), ProjectionError> {
    let (sql, value) = match &event.change {
        WorkerChange::WorkerPostingMoved { to, .. } => (
            "UPDATE enrollment_directory SET posting = $1, position = $2 WHERE worker_id = $3",
            to.to_string(),
        ),
        WorkerChange::WorkerEmploymentStatusChanged { to, .. } => (
            "UPDATE enrollment_directory SET employment_status = $1, position = $2 \
             WHERE worker_id = $3",
            to.code().to_owned(),
        ),
        WorkerChange::WorkerRoleChanged { to, .. } => (
            "UPDATE enrollment_directory SET role = $1, position = $2 WHERE worker_id = $3",
            to.code().to_owned(),
        ),
        WorkerChange::WorkerDeparted { .. } => (
            "UPDATE enrollment_directory SET status = $1, position = $2 \
             WHERE worker_id = $3 AND status <> 'erased'",
            "departed".to_owned(),
        ),
        WorkerChange::WorkerReturned { .. } => (
            "UPDATE enrollment_directory SET status = $1, position = $2 \
             WHERE worker_id = $3 AND status = 'departed'",
            "active".to_owned(),
        ),
        WorkerChange::WorkerErased { .. } => (
            "UPDATE enrollment_directory SET status = $1, position = $2, \
             name_ciphertext = NULL, name_nonce = NULL, name_key_id = NULL WHERE worker_id = $3",
            "erased".to_owned(),
        ),
        _ => return Ok(()),
    };
    tx.query(sql)
        .bind(value)
        .bind(position)
        .bind(event.worker_id.to_string())
        .execute()
        .await?;
    Ok(())
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
    /// `active`, `departed` or `erased`.
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
    /// `active`, `departed` or `erased`.
    pub status: String,
    /// Sealed name (ciphertext, nonce, key id), opened by the caller with the vault.
    #[serde(skip)]
    pub sealed_name: Option<kesos_vault::Sealed>,
}

/// One page of workers, by worker id.
pub type WorkerPage = Page<DirectoryEntry>;

/// The directory's rows, for reading. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Directory {
    db: Db,
}

const COLUMNS: &str = "worker_id, category, role, employment_status, posting, status, \
                       name_ciphertext, name_nonce, name_key_id";

impl Directory {
    /// The directory in the service's database (migrated by `Enrollment::build`).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One page of workers matching `filter`, after the worker id `after`, at most `limit`
    /// (1 to [`MAX_PAGE`]). It reads the rows as the projector has left them.
    pub async fn list(
        &self,
        filter: &WorkerFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<WorkerPage, EnrollmentError> {
        let mut conditions = Where::new();
        conditions
            .within("posting", filter.region.as_ref().map(RegionCode::as_str))
            .equals("category", filter.category.as_deref())
            .equals("role", filter.role.as_deref())
            .equals("employment_status", filter.employment_status.as_deref())
            .equals("status", filter.status.as_deref());
        let query = PageQuery {
            columns: COLUMNS,
            from: "enrollment_directory",
            key: "worker_id",
            filter: &conditions,
            after,
            limit,
            max: MAX_PAGE,
        };
        self.db
            .page(query, entry, |entry| entry.worker_id.clone())
            .await
    }
}

fn entry(row: &Row) -> Result<DirectoryEntry, EnrollmentError> {
    let ciphertext: Option<Vec<u8>> = row.get("name_ciphertext")?;
    let nonce: Option<Vec<u8>> = row.get("name_nonce")?;
    let key_id: Option<String> = row.get("name_key_id")?;
    Ok(DirectoryEntry {
        worker_id: row.get("worker_id")?,
        category: row.get("category")?,
        role: row.get("role")?,
        employment_status: row.get("employment_status")?,
        posting: row.get("posting")?,
        status: row.get("status")?,
        sealed_name: match (ciphertext, nonce, key_id) {
            (Some(ciphertext), Some(nonce), Some(key_id)) => Some(kesos_vault::Sealed {
                ciphertext,
                nonce,
                key_id,
            }),
            _ => None,
        },
    })
}
