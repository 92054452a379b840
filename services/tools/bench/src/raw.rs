//! The baselines: plain SQL writing and reading rows of the same shape as `kesos_events`, with
//! none of the store's work (no version check, no hash chain, no log head, no group commit).
//! This is the most the database does on this machine today, the yardstick for the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use kesos_eventstore::model::unix_micros;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::replay::{Scan, Sequence};
use crate::workload::{ACTOR, CORRELATION, MEASURED, PAYLOAD_BYTES, Random, per_second};

/// Plain SQL access to the database the store lives in.
#[derive(Clone)]
pub(crate) enum Raw {
    /// The store's own pool (its connections use the bench schema).
    Postgres(PgPool),
    /// The store's reader pool, and one writer connection (SQLite has one writer at a time).
    Sqlite {
        /// Readers, shared with the store.
        readers: SqlitePool,
        /// The one writer for the baseline table.
        writer: SqlitePool,
    },
}

/// Columns of `kesos_events`, in order.
const COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, occurred_at, recorded_at, hash";

/// `kesos_events` under another name, derived from the store's own table so the baseline can
/// never drift from it: same columns, types, defaults, constraints and indexes.
const PG_TABLE: &str = "CREATE TABLE kesos_bench_raw (LIKE kesos_events INCLUDING ALL)";

/// The SQLite store's `CREATE TABLE kesos_events` statement, as SQLite itself recorded it.
const SQLITE_EVENTS_DDL: &str =
    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kesos_events'";

/// Streams each baseline task spreads its rows over, as the command path does.
const STREAMS: u64 = 1000;

/// One row as a plain application would build it: the same values the store would store,
/// with a random hash in place of the chained one.
struct RawRow {
    position: i64,
    stream_id: String,
    stream_version: i64,
    event_id: Uuid,
    payload: Vec<u8>,
    causation_id: String,
    occurred_at: OffsetDateTime,
    hash: Vec<u8>,
}

impl RawRow {
    /// The `sequence`th row of one task's stream family `family`.
    fn new(random: &mut Random, position: i64, family: &str, sequence: u64) -> Self {
        let at = OffsetDateTime::now_utc();
        Self {
            position,
            stream_id: format!("{family}-{}", sequence % STREAMS),
            stream_version: i64::try_from(sequence / STREAMS + 1).unwrap_or(i64::MAX),
            event_id: Uuid::now_v7(),
            payload: random.bytes(PAYLOAD_BYTES),
            causation_id: Uuid::now_v7().to_string(),
            occurred_at: at,
            hash: random.bytes(32),
        }
    }
}

impl Raw {
    /// Creates the baseline table next to the store's.
    pub(crate) async fn create_table(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(pool) => {
                sqlx::query(PG_TABLE).execute(pool).await?;
            }
            Self::Sqlite { writer, .. } => {
                let events: String = sqlx::query_scalar(SQLITE_EVENTS_DDL)
                    .fetch_one(writer)
                    .await?;
                let raw = events.replacen("kesos_events", "kesos_bench_raw", 1);
                sqlx::query(&raw).execute(writer).await?;
            }
        }
        Ok(())
    }

    /// Rows per second that `tasks` concurrent tasks insert for `duration`, each statement an
    /// autocommitted INSERT of `rows` rows.
    pub(crate) async fn insert_rate(
        &self,
        tasks: usize,
        rows: usize,
        duration: Duration,
    ) -> anyhow::Result<f64> {
        let start = self.next_position().await?;
        let next_position = Arc::new(AtomicI64::new(start));
        per_second(tasks, duration, |task, deadline| {
            let (raw, next_position) = (self.clone(), next_position.clone());
            async move {
                // Unique per call and task, so that (stream, version) never repeats.
                let family = format!("raw-{start}-{task}");
                let mut random = Random::new();
                let mut inserted = 0_u64;
                while Instant::now() < deadline {
                    let first = next_position.fetch_add(rows as i64, Ordering::Relaxed);
                    let batch: Vec<RawRow> = (0..rows as u64)
                        .map(|i| RawRow::new(&mut random, first + i as i64, &family, inserted + i))
                        .collect();
                    raw.insert(batch).await?;
                    inserted += rows as u64;
                }
                Ok(inserted)
            }
        })
        .await
    }

    /// The first free position in the baseline table (the phases share it).
    async fn next_position(&self) -> anyhow::Result<i64> {
        let select = "SELECT coalesce(max(position), 0) + 1 FROM kesos_bench_raw";
        Ok(match self {
            Self::Postgres(pool) => sqlx::query_scalar(select).fetch_one(pool).await?,
            Self::Sqlite { writer, .. } => sqlx::query_scalar(select).fetch_one(writer).await?,
        })
    }

    async fn insert(&self, rows: Vec<RawRow>) -> anyhow::Result<()> {
        let insert = format!("INSERT INTO kesos_bench_raw ({COLUMNS}) ");
        let recorded_at = OffsetDateTime::now_utc();
        match self {
            Self::Postgres(pool) => {
                let mut query = QueryBuilder::<Postgres>::new(insert);
                query.push_values(rows, |mut values, row| {
                    values
                        .push_bind(row.position)
                        .push_bind(row.stream_id)
                        .push_bind(row.stream_version)
                        .push_bind(row.event_id)
                        .push_bind(MEASURED)
                        .push_bind(1_i32)
                        .push_bind(row.payload)
                        .push_bind(CORRELATION)
                        .push_bind(row.causation_id)
                        .push_bind(ACTOR)
                        .push_bind(row.occurred_at)
                        .push_bind(recorded_at)
                        .push_bind(row.hash);
                });
                query.build().execute(pool).await?;
            }
            Self::Sqlite { writer, .. } => {
                let mut query = QueryBuilder::<Sqlite>::new(insert);
                query.push_values(rows, |mut values, row| {
                    values
                        .push_bind(row.position)
                        .push_bind(row.stream_id)
                        .push_bind(row.stream_version)
                        .push_bind(row.event_id)
                        .push_bind(MEASURED)
                        .push_bind(1_i64)
                        .push_bind(row.payload)
                        .push_bind(CORRELATION)
                        .push_bind(row.causation_id)
                        .push_bind(ACTOR)
                        .push_bind(unix_micros(row.occurred_at))
                        .push_bind(unix_micros(recorded_at))
                        .push_bind(row.hash);
                });
                query.build().execute(writer).await?;
            }
        }
        Ok(())
    }

    /// Streams every row of `kesos_events` in position order with a plain SELECT, decoding
    /// every column into its Rust type and checking that no position is skipped.
    pub(crate) async fn select_all(&self) -> anyhow::Result<Scan> {
        let select = format!("SELECT {COLUMNS} FROM kesos_events ORDER BY position");
        let start = Instant::now();
        let mut sequence = Sequence::default();
        match self {
            Self::Postgres(pool) => {
                let mut rows = sqlx::query(&select).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let decoded = (
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<String, _>(1)?,
                        row.try_get::<i64, _>(2)?,
                        row.try_get::<Uuid, _>(3)?,
                        row.try_get::<String, _>(4)?,
                        row.try_get::<i32, _>(5)?,
                        row.try_get::<Vec<u8>, _>(6)?,
                        row.try_get::<String, _>(7)?,
                        row.try_get::<String, _>(8)?,
                        row.try_get::<String, _>(9)?,
                        row.try_get::<OffsetDateTime, _>(10)?,
                        row.try_get::<OffsetDateTime, _>(11)?,
                        row.try_get::<Vec<u8>, _>(12)?,
                    );
                    sequence.check(u64::try_from(decoded.0)?)?;
                    std::hint::black_box(decoded);
                }
            }
            Self::Sqlite { readers, .. } => {
                let mut rows = sqlx::query(&select).fetch(readers);
                while let Some(row) = rows.try_next().await? {
                    let decoded = (
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<String, _>(1)?,
                        row.try_get::<i64, _>(2)?,
                        row.try_get::<Uuid, _>(3)?,
                        row.try_get::<String, _>(4)?,
                        row.try_get::<i64, _>(5)?,
                        row.try_get::<Vec<u8>, _>(6)?,
                        row.try_get::<String, _>(7)?,
                        row.try_get::<String, _>(8)?,
                        row.try_get::<String, _>(9)?,
                        row.try_get::<i64, _>(10)?,
                        row.try_get::<i64, _>(11)?,
                        row.try_get::<Vec<u8>, _>(12)?,
                    );
                    sequence.check(u64::try_from(decoded.0)?)?;
                    std::hint::black_box(decoded);
                }
            }
        }
        Ok(Scan::new(sequence.count(), start.elapsed()))
    }

    /// Closes the pools (for PostgreSQL, the store's own pool).
    pub(crate) async fn close(&self) {
        match self {
            Self::Postgres(pool) => pool.close().await,
            Self::Sqlite { readers, writer } => {
                writer.close().await;
                readers.close().await;
            }
        }
    }
}
