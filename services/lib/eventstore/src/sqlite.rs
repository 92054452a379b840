//! The SQLite event store: the embedded mode's store, one file.

mod claims;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::group_commit::{AppendCommand, BatchWriter, GroupCommit};
use crate::integrity::{GENESIS, event_hash};
use crate::model::{
    AppendOutcome, AsOf, NewEvent, RecordedEvent, StreamId, from_unix_micros, truncate_to_micros,
    unix_micros,
};
use crate::reads::{SqlBackend, StoreParts, batch_after, hash_array};
use kesos_sql::{Db, to_i64, to_u64};

/// An [`EventStore`] in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    parts: StoreParts,
    pool: SqlitePool,
}

/// Connection options kesos uses for its SQLite file: WAL (readers never block the writer),
/// full synchronous commits (a stored event survives a power cut), a busy timeout for the
/// other writers of the same file (the embedded consumers' read models).
pub fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
}

impl SqliteStore {
    /// Opens (creating if needed) the file and applies the embedded migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = sqlite_options(path);
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        Self::migrate(&readers).await?;
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let (head, last_recorded): (i64, i64) =
            sqlx::query_as("SELECT position, recorded_at FROM kesos_log_head")
                .fetch_one(&readers)
                .await?;
        let (notify, appended) = watch::channel(to_u64(head));
        let writer = GroupCommit::start(
            SqliteBatchWriter {
                pool: write_pool,
                last_recorded,
            },
            move |last| {
                notify.send_if_modified(|seen| {
                    let newer = last > *seen;
                    if newer {
                        *seen = last;
                    }
                    newer
                });
            },
        );
        Ok(Self {
            parts: StoreParts {
                db: Db::Sqlite(readers.clone()),
                bulk: writer.clone(),
                writer,
                appended,
            },
            pool: readers,
        })
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        // Other components (consumers, services) keep their own migrations in the same file,
        // numbered in their own ranges; the store's are 1-999.
        migrator.set_ignore_missing(true);
        migrator.run(pool).await?;
        Ok(())
    }

    /// The reader pool, for tests and benchmarks that compare with plain SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

struct SqliteBatchWriter {
    pool: SqlitePool,
    /// Recorded times never go backwards, even when the wall clock does, so that "as of a
    /// recorded time" always cuts the log at one position.
    last_recorded: i64,
}

#[async_trait]
impl BatchWriter for SqliteBatchWriter {
    async fn write_batch(
        &mut self,
        batch: &[AppendCommand],
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *connection)
            .await?;
        let now =
            unix_micros(truncate_to_micros(OffsetDateTime::now_utc())).max(self.last_recorded);
        match write_in_transaction(&mut connection, batch, now).await {
            Ok(outcomes) => {
                sqlx::query("COMMIT").execute(&mut *connection).await?;
                self.last_recorded = now;
                Ok(outcomes)
            }
            Err(error) => {
                if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *connection).await {
                    tracing::warn!(%rollback, "rollback after a failed batch failed");
                    connection.detach();
                }
                Err(error)
            }
        }
    }
}

async fn write_in_transaction(
    connection: &mut PoolConnection<Sqlite>,
    batch: &[AppendCommand],
    recorded_micros: i64,
) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
    let mut head = to_u64(
        sqlx::query_scalar::<_, i64>("SELECT position FROM kesos_log_head")
            .fetch_one(&mut **connection)
            .await?,
    );
    let recorded_at = from_unix_micros(recorded_micros)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for command in batch {
        outcomes.push(append_one(connection, command, &mut head, recorded_at).await?);
    }
    sqlx::query("UPDATE kesos_log_head SET position = ?, recorded_at = ?")
        .bind(to_i64(head))
        .bind(recorded_micros)
        .execute(&mut **connection)
        .await?;
    Ok(outcomes)
}

async fn append_one(
    connection: &mut SqliteConnection,
    command: &AppendCommand,
    head: &mut u64,
    recorded_at: OffsetDateTime,
) -> Result<Result<AppendOutcome, StoreError>, StoreError> {
    if let Some(answer) = earlier_append(connection, command).await? {
        return Ok(answer);
    }
    let stream_row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, hash FROM kesos_streams WHERE stream_id = ?")
            .bind(command.stream.as_str())
            .fetch_optional(&mut *connection)
            .await?;
    let (mut version, mut hash) = match stream_row {
        Some((version, hash)) => (to_u64(version), hash_array(&hash, 0)?),
        None => (0, GENESIS),
    };
    if !command.expected.is_met_by(version) {
        return Ok(Err(StoreError::Conflict {
            stream: command.stream.clone(),
            expected: command.expected,
            actual: version,
        }));
    }
    if let Some(refusal) = claims::taken_elsewhere(connection, command).await? {
        return Ok(Err(refusal));
    }
    let mut positions = Vec::with_capacity(command.events.len());
    let mut rows = Vec::with_capacity(command.events.len());
    for event in &command.events {
        *head += 1;
        version += 1;
        let recorded = recorded_event(command.stream.clone(), *head, version, event, recorded_at);
        hash = event_hash(&hash, &recorded);
        rows.push((recorded, hash));
        positions.push(*head);
    }
    insert_events(connection, &rows).await?;
    sqlx::query(
        "INSERT INTO kesos_streams (stream_id, version, hash) VALUES (?, ?, ?) \
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash",
    )
    .bind(command.stream.as_str())
    .bind(to_i64(version))
    .bind(hash.as_slice())
    .execute(&mut *connection)
    .await?;
    claims::apply(connection, command, unix_micros(recorded_at)).await?;
    Ok(Ok(AppendOutcome {
        positions,
        stream_version: version,
        already_stored: false,
    }))
}

/// Recognises a retry: every id stored in this stream already (answer with the stored
/// positions), or some stored and some not (a mismatch).
async fn earlier_append(
    connection: &mut SqliteConnection,
    command: &AppendCommand,
) -> Result<Option<Result<AppendOutcome, StoreError>>, StoreError> {
    let mut stored: HashMap<Uuid, (i64, String)> = HashMap::new();
    for chunk in command.events.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::new(
            "SELECT event_id, position, stream_id FROM kesos_events WHERE event_id IN (",
        );
        let mut ids = query.separated(", ");
        for event in chunk {
            ids.push_bind(event.event_id());
        }
        query.push(")");
        let rows: Vec<(Uuid, i64, String)> =
            query.build_query_as().fetch_all(&mut *connection).await?;
        stored.extend(
            rows.into_iter()
                .map(|(id, position, stream)| (id, (position, stream))),
        );
    }
    let Some(first) = command
        .events
        .iter()
        .map(NewEvent::event_id)
        .find(|id| stored.contains_key(id))
    else {
        return Ok(None);
    };
    let elsewhere = stored
        .values()
        .any(|(_, stream)| stream != command.stream.as_str());
    if elsewhere || stored.len() < command.events.len() {
        return Ok(Some(Err(mismatch(command, first))));
    }
    let positions = command
        .events
        .iter()
        .filter_map(|event| {
            stored
                .get(&event.event_id())
                .map(|(position, _)| to_u64(*position))
        })
        .collect();
    let version: i64 = sqlx::query_scalar("SELECT version FROM kesos_streams WHERE stream_id = ?")
        .bind(command.stream.as_str())
        .fetch_one(&mut *connection)
        .await?;
    Ok(Some(Ok(AppendOutcome {
        positions,
        stream_version: to_u64(version),
        already_stored: true,
    })))
}

fn mismatch(command: &AppendCommand, event_id: Uuid) -> StoreError {
    StoreError::IdempotencyMismatch {
        stream: command.stream.clone(),
        event_id,
    }
}

fn recorded_event(
    stream_id: StreamId,
    position: u64,
    stream_version: u64,
    event: &NewEvent,
    recorded_at: OffsetDateTime,
) -> RecordedEvent {
    RecordedEvent {
        position,
        stream_id,
        stream_version,
        event_id: event.event_id(),
        event_type: event.event_type().clone(),
        schema_version: event.schema_version(),
        payload: event.payload().to_vec(),
        metadata: event.metadata().clone(),
        occurred_at: event.occurred_at(),
        recorded_at,
        hash: GENESIS,
    }
}

/// Most rows per multi-row statement (14 parameters a row, well under SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 500;

async fn insert_events(
    connection: &mut SqliteConnection,
    events: &[(RecordedEvent, [u8; 32])],
) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::new(
            "INSERT INTO kesos_events (position, stream_id, stream_version, event_id, event_type, \
             schema_version, payload, correlation_id, causation_id, actor, occurred_at, \
             recorded_at, hash, trace_parent) ",
        );
        query.push_values(chunk, |mut row, (event, hash)| {
            row.push_bind(to_i64(event.position))
                .push_bind(event.stream_id.as_str())
                .push_bind(to_i64(event.stream_version))
                .push_bind(event.event_id)
                .push_bind(event.event_type.as_str())
                .push_bind(i64::from(event.schema_version))
                .push_bind(event.payload.as_slice())
                .push_bind(event.metadata.correlation_id.as_str())
                .push_bind(event.metadata.causation_id.as_str())
                .push_bind(event.metadata.actor.as_str())
                .push_bind(unix_micros(event.occurred_at))
                .push_bind(unix_micros(event.recorded_at))
                .push_bind(hash.as_slice())
                .push_bind(event.metadata.trace_parent.as_str());
        });
        query.build().execute(&mut *connection).await?;
    }
    Ok(())
}

impl SqlBackend for SqliteStore {
    fn parts(&self) -> &StoreParts {
        &self.parts
    }

    /// The whole log, in pages of rows decoded as they arrive ([`crate::reads::paged`]).
    fn read_log(
        &self,
        after: u64,
        as_of: AsOf,
    ) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
        let page = move |after: u64, max: usize| batch_after(&self.parts.db, after, max);
        crate::reads::paged(Box::new(page), after, as_of)
    }
}
