//! The PostgreSQL event store: the distributed mode's store, one database or schema per service.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Row};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::group_commit::{AppendCommand, BatchWriter, GroupCommit};
use crate::integrity::Checkpoint;
use crate::model::{
    AppendOutcome, AsOf, EventType, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StreamId,
};
use crate::store::{EventStore, StreamHead};

/// Where a PostgreSQL store lives.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Connection URL, e.g. `postgres://kesos@db:5432/kesos`.
    pub url: String,
    /// Schema holding the store's tables (a service's own schema); `None` for the default.
    pub schema: Option<String>,
    /// Most connections the pool opens.
    pub max_connections: u32,
}

/// An [`EventStore`] on PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    writer: GroupCommit,
    appended: watch::Receiver<u64>,
}

impl PostgresStore {
    /// Connects, creates the schema if needed and applies the embedded migrations. Connections
    /// carry `application_name` `kesos:<schema>`, so operators can tell them apart.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let application = match &config.schema {
            Some(schema) => format!("kesos:{schema}"),
            None => "kesos".to_owned(),
        };
        let options: PgConnectOptions = config
            .url
            .parse::<PgConnectOptions>()?
            .application_name(&application);
        let mut pool_options = PgPoolOptions::new().max_connections(config.max_connections);
        if let Some(schema) = &config.schema {
            check_schema_name(schema)?;
            let admin = PgPool::connect_with(options.clone()).await?;
            admin
                .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                .await?;
            admin.close().await;
            let set_path = format!("SET search_path TO \"{schema}\"");
            pool_options = pool_options.after_connect(move |connection, _| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    connection.execute(set_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect_with(options).await?;
        Self::migrate(&pool).await?;
        Ok(Self::from_migrated_pool(pool).await?)
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        // Other components (consumers, services) keep their own migrations in the same schema,
        // numbered in their own ranges; the store's are 1-999.
        migrator.set_ignore_missing(true);
        migrator.run(pool).await?;
        Ok(())
    }

    async fn from_migrated_pool(pool: PgPool) -> Result<Self, sqlx::Error> {
        let head: i64 = sqlx::query_scalar("SELECT position FROM kesos_log_head")
            .fetch_one(&pool)
            .await?;
        let (notify, appended) = watch::channel(to_u64(head));
        let writer = GroupCommit::start(PgBatchWriter { pool: pool.clone() }, move |last| {
            notify.send_if_modified(|seen| {
                let newer = last > *seen;
                if newer {
                    *seen = last;
                }
                newer
            });
        });
        Ok(Self {
            pool,
            writer,
            appended,
        })
    }

    /// The underlying pool, for tests and benchmarks that compare with plain SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            format!("schema name {schema:?} must be 1-63 lowercase letters, digits or _").into(),
        )))
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

struct PgBatchWriter {
    pool: PgPool,
}

#[async_trait]
impl BatchWriter for PgBatchWriter {
    async fn write_batch(
        &mut self,
        batch: &[AppendCommand],
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let mut arrays = BatchArrays::default();
        for command in batch {
            arrays.push(command);
        }
        let rows = sqlx::query(
            "SELECT outcome, version, positions, clash_id FROM kesos_append(\
             $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(arrays.streams)
        .bind(arrays.expected)
        .bind(arrays.counts)
        .bind(arrays.ids)
        .bind(arrays.types)
        .bind(arrays.schemas)
        .bind(arrays.payloads)
        .bind(arrays.correlations)
        .bind(arrays.causations)
        .bind(arrays.actors)
        .bind(arrays.occurred)
        .fetch_all(&self.pool)
        .await?;
        Ok(batch
            .iter()
            .zip(rows)
            .map(|(command, row)| outcome(command, &row))
            .collect())
    }
}

#[derive(Default)]
struct BatchArrays {
    streams: Vec<String>,
    expected: Vec<i64>,
    counts: Vec<i32>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    schemas: Vec<i32>,
    payloads: Vec<Vec<u8>>,
    correlations: Vec<String>,
    causations: Vec<String>,
    actors: Vec<String>,
    occurred: Vec<OffsetDateTime>,
}

impl BatchArrays {
    fn push(&mut self, command: &AppendCommand) {
        self.streams.push(command.stream.as_str().to_owned());
        self.expected.push(match command.expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exactly(version) => to_i64(version),
        });
        self.counts
            .push(i32::try_from(command.events.len()).unwrap_or(i32::MAX));
        for event in &command.events {
            self.push_event(event);
        }
    }

    fn push_event(&mut self, event: &NewEvent) {
        self.ids.push(event.event_id());
        self.types.push(event.event_type().as_str().to_owned());
        self.schemas
            .push(i32::try_from(event.schema_version()).unwrap_or(i32::MAX));
        self.payloads.push(event.payload().to_vec());
        let metadata = event.metadata();
        self.correlations.push(metadata.correlation_id.clone());
        self.causations.push(metadata.causation_id.clone());
        self.actors.push(metadata.actor.clone());
        self.occurred.push(event.occurred_at());
    }
}

fn outcome(command: &AppendCommand, row: &PgRow) -> Result<AppendOutcome, StoreError> {
    let kind: String = row.try_get("outcome")?;
    let version = to_u64(row.try_get::<Option<i64>, _>("version")?.unwrap_or(0));
    let positions: Vec<i64> = row
        .try_get::<Option<Vec<i64>>, _>("positions")?
        .unwrap_or_default();
    let positions = positions.into_iter().map(to_u64).collect();
    match kind.as_str() {
        "appended" | "duplicate" => Ok(AppendOutcome {
            positions,
            stream_version: version,
            already_stored: kind == "duplicate",
        }),
        "conflict" => Err(StoreError::Conflict {
            stream: command.stream.clone(),
            expected: command.expected,
            actual: version,
        }),
        _ => Err(StoreError::IdempotencyMismatch {
            stream: command.stream.clone(),
            event_id: row
                .try_get::<Option<Uuid>, _>("clash_id")?
                .unwrap_or_default(),
        }),
    }
}

fn corrupt(position: i64, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        position: to_u64(position),
        reason: reason.to_string(),
    }
}

fn event_from_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let hash: Vec<u8> = row.try_get("hash")?;
    Ok(RecordedEvent {
        position: to_u64(position),
        stream_id: StreamId::parse(row.try_get::<String, _>("stream_id")?)
            .map_err(|error| corrupt(position, error))?,
        stream_version: to_u64(row.try_get("stream_version")?),
        event_id: row.try_get("event_id")?,
        event_type: EventType::parse(row.try_get::<String, _>("event_type")?)
            .map_err(|error| corrupt(position, error))?,
        schema_version: u32::try_from(row.try_get::<i32, _>("schema_version")?)
            .map_err(|error| corrupt(position, error))?,
        payload: row.try_get("payload")?,
        metadata: Metadata {
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
            actor: row.try_get("actor")?,
        },
        occurred_at: row.try_get("occurred_at")?,
        recorded_at: row.try_get("recorded_at")?,
        hash: hash
            .try_into()
            .map_err(|_| corrupt(position, "hash is not 32 bytes"))?,
    })
}

fn checkpoint_from_row(row: &PgRow) -> Result<Checkpoint, StoreError> {
    let sequence: i64 = row.try_get("sequence")?;
    let bad = |what: &str| {
        corrupt(
            0,
            format!("checkpoint {sequence}: {what} has the wrong length"),
        )
    };
    Ok(Checkpoint {
        sequence: to_u64(sequence),
        position: to_u64(row.try_get("position")?),
        event_count: to_u64(row.try_get("event_count")?),
        digest: row
            .try_get::<Vec<u8>, _>("digest")?
            .try_into()
            .map_err(|_| bad("digest"))?,
        signed_at: row.try_get("signed_at")?,
        public_key: row
            .try_get::<Vec<u8>, _>("public_key")?
            .try_into()
            .map_err(|_| bad("public key"))?,
        signature: row
            .try_get::<Vec<u8>, _>("signature")?
            .try_into()
            .map_err(|_| bad("signature"))?,
    })
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let command = AppendCommand::new(stream.clone(), expected, events)?;
        self.writer.append(command).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let (position, recorded) = bounds(as_of);
        let rows = sqlx::query(READ_STREAM)
            .bind(stream.as_str())
            .bind(position)
            .bind(recorded)
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Err(StoreError::StreamNotFound(stream.clone()));
        }
        rows.iter().map(event_from_row).collect()
    }

    fn read_all(
        &self,
        after: u64,
        as_of: AsOf,
    ) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
        let (position, recorded) = bounds(as_of);
        sqlx::query(READ_ALL)
            .bind(to_i64(after))
            .bind(position)
            .bind(recorded)
            .fetch(&self.pool)
            .map(|row| event_from_row(&row?))
            .boxed()
    }

    async fn read_batch(&self, after: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        sqlx::query(READ_BATCH)
            .bind(to_i64(after))
            .bind(i64::try_from(max).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        let head: i64 = sqlx::query_scalar("SELECT position FROM kesos_log_head")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(head))
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.appended.clone()
    }

    fn stream_heads(&self) -> BoxStream<'_, Result<StreamHead, StoreError>> {
        sqlx::query("SELECT stream_id, version, hash FROM kesos_streams ORDER BY stream_id")
            .fetch(&self.pool)
            .map(|row| {
                let row = row?;
                let stream_id: String = row.try_get("stream_id")?;
                let hash: Vec<u8> = row.try_get("hash")?;
                Ok(StreamHead {
                    stream_id: StreamId::parse(stream_id).map_err(|e| corrupt(0, e))?,
                    version: to_u64(row.try_get("version")?),
                    hash: hash
                        .try_into()
                        .map_err(|_| corrupt(0, "stream head hash length"))?,
                })
            })
            .boxed()
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        sqlx::query("SELECT * FROM kesos_checkpoints ORDER BY sequence")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(checkpoint_from_row)
            .collect()
    }

    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        sqlx::query("SELECT * FROM kesos_checkpoints ORDER BY sequence DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO kesos_checkpoints (sequence, position, event_count, digest, signed_at, \
             public_key, signature) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (sequence) DO NOTHING",
        )
        .bind(to_i64(checkpoint.sequence))
        .bind(to_i64(checkpoint.position))
        .bind(to_i64(checkpoint.event_count))
        .bind(checkpoint.digest.as_slice())
        .bind(checkpoint.signed_at)
        .bind(checkpoint.public_key.as_slice())
        .bind(checkpoint.signature.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM kesos_cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(position.map(to_u64).unwrap_or(0))
    }

    async fn save_cursor(&self, name: &str, position: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO kesos_cursors (name, position, updated_at) VALUES ($1, $2, now()) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()",
        )
        .bind(name)
        .bind(to_i64(position))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

const READ_BATCH: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, occurred_at, recorded_at, hash \
    FROM kesos_events WHERE position > $1 ORDER BY position LIMIT $2";

const READ_STREAM: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, occurred_at, recorded_at, hash \
    FROM kesos_events WHERE stream_id = $1 AND position <= $2 AND recorded_at <= $3 \
    ORDER BY stream_version";

const READ_ALL: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, occurred_at, recorded_at, hash \
    FROM kesos_events WHERE position > $1 AND position <= $2 AND recorded_at <= $3 \
    ORDER BY position";

fn bounds(as_of: AsOf) -> (i64, OffsetDateTime) {
    let far_future = OffsetDateTime::new_utc(
        time::Date::from_calendar_date(9999, time::Month::December, 31).unwrap_or(time::Date::MAX),
        time::Time::MIDNIGHT,
    );
    match as_of {
        AsOf::Now => (i64::MAX, far_future),
        AsOf::Position(position) => (to_i64(position), far_future),
        AsOf::RecordedAt(at) => (i64::MAX, at),
    }
}
