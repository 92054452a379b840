//! The consumer's bookkeeping tables in its own database, for each backend: processed markers,
//! per-source checkpoints and dead letters. The SQL differs only in dialect; the meaning is the
//! same and is tested against both.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{Pool, Postgres, Sqlite, Transaction};
use uuid::Uuid;

use crate::dead_letter::{DeadLetter, RetryRequest, RetryState};
use crate::envelope::Delivered;
use crate::error::BusError;

/// A database a consumer can keep its effects and bookkeeping in.
#[async_trait]
pub trait ConsumerDb: sqlx::Database {
    /// Creates the bookkeeping tables (idempotent; migrations 1001+).
    async fn migrate_consumers(pool: &Pool<Self>) -> Result<(), BusError>;

    /// Marks the event processed by `consumer` and advances its checkpoint for the event's
    /// source; false when it was processed already (a redelivery).
    async fn mark_processed(
        transaction: &mut Transaction<'static, Self>,
        consumer: &str,
        delivered: &Delivered,
    ) -> Result<bool, sqlx::Error>;

    /// Marks a batch of events processed by `consumer` with one statement per
    /// [`MARK_CHUNK`] events, and advances its checkpoint once per source to the highest
    /// position among the fresh ones; answers the ids that were fresh (not processed before,
    /// each once even if the batch repeats it). Same meaning as [`ConsumerDb::mark_processed`]
    /// for each event, in a fraction of the round trips.
    async fn mark_processed_batch(
        transaction: &mut Transaction<'static, Self>,
        consumer: &str,
        batch: &[&Delivered],
    ) -> Result<HashSet<Uuid>, sqlx::Error>;

    /// The highest position of `source` that `consumer` handled (0 if none).
    async fn checkpoint(
        pool: &Pool<Self>,
        consumer: &str,
        source: &str,
    ) -> Result<u64, sqlx::Error>;

    /// Records a dead letter; advances the checkpoint past it when its origin is known.
    async fn record_dead_letter(
        transaction: &mut Transaction<'static, Self>,
        consumer: &str,
        origin: Option<&(String, u64)>,
        event_id: Option<Uuid>,
        reason: &str,
        raw: &[u8],
    ) -> Result<(), sqlx::Error>;

    /// How many dead letters `consumer` has recorded (operations and tests).
    async fn dead_letter_count(pool: &Pool<Self>, consumer: &str) -> Result<u64, sqlx::Error>;

    /// Dead letters with a number above `after`, oldest first, at most `limit`; of one consumer
    /// or of all.
    async fn list_dead_letters(
        pool: &Pool<Self>,
        consumer: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, sqlx::Error>;

    /// One dead letter by number.
    async fn dead_letter(pool: &Pool<Self>, id: i64) -> Result<Option<DeadLetter>, sqlx::Error>;

    /// Asks for dead letter `id` to be retried, once: a second request changes nothing.
    /// `payload`, when given, replaces the stored message (an envelope rebuilt from the log for
    /// a dead letter recorded before they were kept whole).
    async fn request_retry(
        pool: &Pool<Self>,
        id: i64,
        payload: Option<&[u8]>,
    ) -> Result<RetryRequest, sqlx::Error>;

    /// `consumer`'s dead letters whose retry was asked for and not yet done, oldest first.
    async fn pending_retries(
        pool: &Pool<Self>,
        consumer: &str,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, sqlx::Error>;

    /// Notes dead letter `id` as retried with `outcome`; false when it was already (another
    /// instance of the consumer took it), so the caller rolls back.
    async fn finish_retry(
        transaction: &mut Transaction<'static, Self>,
        id: i64,
        outcome: &str,
    ) -> Result<bool, sqlx::Error>;
}

/// The columns of a dead letter, in [`DeadLetterRow`]'s order, with the backend's expression for
/// `recorded_at` in Unix seconds.
macro_rules! dead_letter_columns {
    ($seconds:literal) => {
        concat!(
            "id, consumer, source, position, event_id, reason, payload, ",
            $seconds,
            ", retry_requested_at IS NOT NULL, retry_outcome"
        )
    };
}

/// A dead letter as selected.
type DeadLetterRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<Uuid>,
    String,
    Vec<u8>,
    i64,
    bool,
    Option<String>,
);

fn dead_letter_from(row: DeadLetterRow) -> DeadLetter {
    let (id, consumer, source, position, event_id, reason, payload, recorded_at, asked, outcome) =
        row;
    DeadLetter {
        id,
        consumer,
        source,
        position: position.map(to_u64),
        event_id,
        reason,
        payload,
        recorded_at,
        retry: RetryState::from_columns(asked, outcome),
    }
}

/// Events marked per statement: SQLite allows at most 999 parameters, and each event takes
/// one besides the consumer's name.
pub const MARK_CHUNK: usize = 500;
const _: () = assert!(MARK_CHUNK < 999, "SQLite allows at most 999 parameters");

/// `INSERT … VALUES ($1, $2), ($1, $3), … ON CONFLICT DO NOTHING RETURNING event_id` for `rows`
/// events: the one statement both databases accept.
fn mark_many_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows).map(|i| format!("($1, ${})", i + 2)).collect();
    format!(
        "INSERT INTO kesos_consumer_processed (consumer, event_id) VALUES {} \
         ON CONFLICT DO NOTHING RETURNING event_id",
        values.join(", ")
    )
}

/// The highest position per source among the fresh events of a batch.
fn highest_per_source<'a>(batch: &[&'a Delivered], fresh: &HashSet<Uuid>) -> HashMap<&'a str, u64> {
    let mut highest: HashMap<&str, u64> = HashMap::new();
    for delivered in batch.iter().filter(|d| fresh.contains(&d.event.event_id)) {
        let position = highest.entry(delivered.source.as_str()).or_insert(0);
        *position = (*position).max(delivered.event.position);
    }
    highest
}

use kesos_eventstore::model::{to_i64, to_u64};

/// One implementation for both backends: the statements below are plain SQL that PostgreSQL
/// and SQLite both accept (`$n` parameters, `ON CONFLICT`, `CASE`), so only the migrations differ.
macro_rules! consumer_db {
    ($db:ty, $migrations:literal, $seconds:literal, $now:literal) => {
        #[async_trait]
        impl ConsumerDb for $db {
            async fn migrate_consumers(pool: &Pool<Self>) -> Result<(), BusError> {
                let mut migrator = sqlx::migrate!($migrations);
                // The store's migrations (1-999) share the schema; these are 1001+.
                migrator.set_ignore_missing(true);
                migrator.run(pool).await?;
                Ok(())
            }

            async fn mark_processed(
                transaction: &mut Transaction<'static, Self>,
                consumer: &str,
                delivered: &Delivered,
            ) -> Result<bool, sqlx::Error> {
                let inserted = sqlx::query(
                    "INSERT INTO kesos_consumer_processed (consumer, event_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(consumer)
                .bind(delivered.event.event_id)
                .execute(&mut **transaction)
                .await?;
                if inserted.rows_affected() == 0 {
                    return Ok(false);
                }
                let position = to_i64(delivered.event.position);
                sqlx::query(ADVANCE)
                    .bind(consumer)
                    .bind(&delivered.source)
                    .bind(position)
                    .execute(&mut **transaction)
                    .await?;
                Ok(true)
            }

            async fn mark_processed_batch(
                transaction: &mut Transaction<'static, Self>,
                consumer: &str,
                batch: &[&Delivered],
            ) -> Result<HashSet<Uuid>, sqlx::Error> {
                let mut fresh = HashSet::with_capacity(batch.len());
                for chunk in batch.chunks(MARK_CHUNK) {
                    let sql = mark_many_sql(chunk.len());
                    let mut query = sqlx::query_scalar::<_, Uuid>(&sql).bind(consumer);
                    for delivered in chunk {
                        query = query.bind(delivered.event.event_id);
                    }
                    fresh.extend(query.fetch_all(&mut **transaction).await?);
                }
                for (source, position) in highest_per_source(batch, &fresh) {
                    sqlx::query(ADVANCE)
                        .bind(consumer)
                        .bind(source)
                        .bind(to_i64(position))
                        .execute(&mut **transaction)
                        .await?;
                }
                Ok(fresh)
            }

            async fn checkpoint(
                pool: &Pool<Self>,
                consumer: &str,
                source: &str,
            ) -> Result<u64, sqlx::Error> {
                let position: Option<i64> = sqlx::query_scalar(
                    "SELECT position FROM kesos_consumer_checkpoints \
                     WHERE consumer = $1 AND source = $2",
                )
                .bind(consumer)
                .bind(source)
                .fetch_optional(pool)
                .await?;
                Ok(position.map(to_u64).unwrap_or(0))
            }

            async fn record_dead_letter(
                transaction: &mut Transaction<'static, Self>,
                consumer: &str,
                origin: Option<&(String, u64)>,
                event_id: Option<Uuid>,
                reason: &str,
                raw: &[u8],
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO kesos_dead_letters \
                     (consumer, source, position, event_id, reason, payload) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(consumer)
                .bind(origin.map(|(source, _)| source.as_str()).unwrap_or(""))
                .bind(origin.map(|(_, position)| to_i64(*position)))
                .bind(event_id)
                .bind(reason)
                .bind(raw)
                .execute(&mut **transaction)
                .await?;
                if let Some((source, position)) = origin {
                    sqlx::query(ADVANCE)
                        .bind(consumer)
                        .bind(source)
                        .bind(to_i64(*position))
                        .execute(&mut **transaction)
                        .await?;
                }
                Ok(())
            }

            async fn dead_letter_count(
                pool: &Pool<Self>,
                consumer: &str,
            ) -> Result<u64, sqlx::Error> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM kesos_dead_letters WHERE consumer = $1",
                )
                .bind(consumer)
                .fetch_one(pool)
                .await?;
                Ok(to_u64(count))
            }

            async fn list_dead_letters(
                pool: &Pool<Self>,
                consumer: Option<&str>,
                after: i64,
                limit: u32,
            ) -> Result<Vec<DeadLetter>, sqlx::Error> {
                let rows: Vec<DeadLetterRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    dead_letter_columns!($seconds),
                    " FROM kesos_dead_letters WHERE ($1 IS NULL OR consumer = $1) AND id > $2 \
                     ORDER BY id LIMIT $3"
                ))
                .bind(consumer)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                Ok(rows.into_iter().map(dead_letter_from).collect())
            }

            async fn dead_letter(
                pool: &Pool<Self>,
                id: i64,
            ) -> Result<Option<DeadLetter>, sqlx::Error> {
                let row: Option<DeadLetterRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    dead_letter_columns!($seconds),
                    " FROM kesos_dead_letters WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(pool)
                .await?;
                Ok(row.map(dead_letter_from))
            }

            async fn request_retry(
                pool: &Pool<Self>,
                id: i64,
                payload: Option<&[u8]>,
            ) -> Result<RetryRequest, sqlx::Error> {
                let asked = sqlx::query(concat!(
                    "UPDATE kesos_dead_letters SET retry_requested_at = ",
                    $now,
                    ", payload = COALESCE($2, payload) \
                     WHERE id = $1 AND retry_requested_at IS NULL AND retried_at IS NULL"
                ))
                .bind(id)
                .bind(payload)
                .execute(pool)
                .await?;
                if asked.rows_affected() == 1 {
                    return Ok(RetryRequest::Requested);
                }
                Ok(match Self::dead_letter(pool, id).await? {
                    None => RetryRequest::NotFound,
                    Some(DeadLetter {
                        retry: RetryState::Retried { outcome },
                        ..
                    }) => RetryRequest::AlreadyRetried(outcome),
                    Some(_) => RetryRequest::AlreadyRequested,
                })
            }

            async fn pending_retries(
                pool: &Pool<Self>,
                consumer: &str,
                limit: u32,
            ) -> Result<Vec<DeadLetter>, sqlx::Error> {
                let rows: Vec<DeadLetterRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    dead_letter_columns!($seconds),
                    " FROM kesos_dead_letters WHERE consumer = $1 \
                     AND retry_requested_at IS NOT NULL AND retried_at IS NULL \
                     ORDER BY id LIMIT $2"
                ))
                .bind(consumer)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                Ok(rows.into_iter().map(dead_letter_from).collect())
            }

            async fn finish_retry(
                transaction: &mut Transaction<'static, Self>,
                id: i64,
                outcome: &str,
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(concat!(
                    "UPDATE kesos_dead_letters SET retried_at = ",
                    $now,
                    ", retry_outcome = $2 WHERE id = $1 AND retried_at IS NULL"
                ))
                .bind(id)
                .bind(outcome)
                .execute(&mut **transaction)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

/// Moves a consumer's checkpoint for a source forward (never back).
const ADVANCE: &str = "INSERT INTO kesos_consumer_checkpoints (consumer, source, position) \
    VALUES ($1, $2, $3) ON CONFLICT (consumer, source) DO UPDATE SET position = CASE \
    WHEN excluded.position > kesos_consumer_checkpoints.position THEN excluded.position \
    ELSE kesos_consumer_checkpoints.position END";

consumer_db!(
    Postgres,
    "./migrations/postgres",
    "CAST(EXTRACT(EPOCH FROM recorded_at) AS bigint)",
    "now()"
);
consumer_db!(Sqlite, "./migrations/sqlite", "recorded_at", "unixepoch()");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_marker_binds_the_consumer_once_and_one_parameter_per_event() {
        let sql = mark_many_sql(3);
        assert!(sql.contains("VALUES ($1, $2), ($1, $3), ($1, $4) ON CONFLICT DO NOTHING"));
        assert!(sql.ends_with("RETURNING event_id"));
    }
}
