//! A consumer's bookkeeping in its own database: processed markers, per-source checkpoints and
//! dead letters. The statements are plain SQL both backends accept (`$n` parameters,
//! `ON CONFLICT`, `CASE`), written once over `kesos-sql`'s [`Db`] and [`Tx`]; only the
//! migrations and two expressions (a row's age in Unix seconds, "now") differ, and [`Dialect`]
//! names them. The meaning is tested against both backends.

use std::collections::{HashMap, HashSet};

use kesos_sql::{Backend, Db, Migrations, Row, Tx, to_i64, to_u64};
use uuid::Uuid;

use crate::dead_letter::{DeadLetter, RetryRequest, RetryState};
use crate::envelope::Delivered;
use crate::error::BusError;

/// Creates the bookkeeping tables (idempotent; migrations 1001+, beside the store's 1-999 and
/// the services' own ranges).
pub async fn migrate_consumers(db: &Db) -> Result<(), BusError> {
    db.migrate(Migrations {
        postgres: sqlx::migrate!("./migrations/postgres"),
        sqlite: sqlx::migrate!("./migrations/sqlite"),
    })
    .await?;
    Ok(())
}

/// Events marked per statement: SQLite allows at most 999 parameters, and each event takes
/// one besides the consumer's name.
pub const MARK_CHUNK: usize = 500;
const _: () = assert!(MARK_CHUNK < 999, "SQLite allows at most 999 parameters");

/// Moves a consumer's checkpoint for a source forward (never back).
const ADVANCE: &str = "INSERT INTO kesos_consumer_checkpoints (consumer, source, position) \
    VALUES ($1, $2, $3) ON CONFLICT (consumer, source) DO UPDATE SET position = CASE \
    WHEN excluded.position > kesos_consumer_checkpoints.position THEN excluded.position \
    ELSE kesos_consumer_checkpoints.position END";

/// The two expressions the backends spell differently.
struct Dialect {
    /// `recorded_at` in Unix seconds.
    recorded_seconds: &'static str,
    /// The current instant, in the column type of `retry_requested_at` and `retried_at`.
    now: &'static str,
}

impl Dialect {
    fn of(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self {
                recorded_seconds: "CAST(EXTRACT(EPOCH FROM recorded_at) AS bigint)",
                now: "now()",
            },
            Backend::Sqlite => Self {
                recorded_seconds: "recorded_at",
                now: "unixepoch()",
            },
        }
    }

    /// `SELECT <a dead letter's columns> FROM kesos_dead_letters <rest>`, columns in the order
    /// [`dead_letter_from`] reads them.
    fn select_dead_letters(&self, rest: &str) -> String {
        format!(
            "SELECT id, consumer, source, position, event_id, reason, payload, {}, \
             retry_requested_at IS NOT NULL, retry_outcome FROM kesos_dead_letters {rest}",
            self.recorded_seconds
        )
    }
}

fn dead_letter_from(row: &Row) -> Result<DeadLetter, sqlx::Error> {
    Ok(DeadLetter {
        id: row.get_index(0)?,
        consumer: row.get_index(1)?,
        source: row.get_index(2)?,
        position: row.get_index::<Option<i64>>(3)?.map(to_u64),
        event_id: row.get_index(4)?,
        reason: row.get_index(5)?,
        payload: row.get_index(6)?,
        recorded_at: row.get_index(7)?,
        retry: RetryState::from_columns(row.get_index(8)?, row.get_index(9)?),
    })
}

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

async fn advance(
    tx: &mut Tx,
    consumer: &str,
    source: &str,
    position: u64,
) -> Result<(), sqlx::Error> {
    tx.query(ADVANCE)
        .bind(consumer)
        .bind(source)
        .bind(to_i64(position))
        .execute()
        .await?;
    Ok(())
}

/// Marks the event processed by `consumer` and advances its checkpoint for the event's source;
/// false when it was processed already (a redelivery).
pub async fn mark_processed(
    tx: &mut Tx,
    consumer: &str,
    delivered: &Delivered,
) -> Result<bool, sqlx::Error> {
    let inserted = tx
        .query(
            "INSERT INTO kesos_consumer_processed (consumer, event_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(consumer)
        .bind(delivered.event.event_id)
        .execute()
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    advance(tx, consumer, &delivered.source, delivered.event.position).await?;
    Ok(true)
}

/// Marks a batch of events processed by `consumer` with one statement per [`MARK_CHUNK`]
/// events, and advances its checkpoint once per source to the highest position among the
/// fresh ones; answers the ids that were fresh (not processed before, each once even if the
/// batch repeats it). Same meaning as [`mark_processed`] for each event, in a fraction of the
/// round trips.
pub async fn mark_processed_batch(
    tx: &mut Tx,
    consumer: &str,
    batch: &[&Delivered],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut fresh = HashSet::with_capacity(batch.len());
    for chunk in batch.chunks(MARK_CHUNK) {
        let sql = mark_many_sql(chunk.len());
        let mut statement = tx.query(&sql).bind(consumer);
        for delivered in chunk {
            statement = statement.bind(delivered.event.event_id);
        }
        for row in statement.fetch_all().await? {
            fresh.insert(row.get_index::<Uuid>(0)?);
        }
    }
    for (source, position) in highest_per_source(batch, &fresh) {
        advance(tx, consumer, source, position).await?;
    }
    Ok(fresh)
}

/// The highest position of `source` that `consumer` handled (0 if none).
pub async fn checkpoint(db: &Db, consumer: &str, source: &str) -> Result<u64, sqlx::Error> {
    let row = db
        .query(
            "SELECT position FROM kesos_consumer_checkpoints \
             WHERE consumer = $1 AND source = $2",
        )
        .bind(consumer)
        .bind(source)
        .fetch_optional()
        .await?;
    let position: Option<i64> = row.map(|row| row.get_index(0)).transpose()?;
    Ok(position.map(to_u64).unwrap_or(0))
}

/// Records a dead letter; advances the checkpoint past it when its origin is known.
pub async fn record_dead_letter(
    tx: &mut Tx,
    consumer: &str,
    origin: Option<&(String, u64)>,
    event_id: Option<Uuid>,
    reason: &str,
    raw: &[u8],
) -> Result<(), sqlx::Error> {
    tx.query(
        "INSERT INTO kesos_dead_letters (consumer, source, position, event_id, reason, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(consumer)
    .bind(origin.map(|(source, _)| source.as_str()).unwrap_or(""))
    .bind(origin.map(|(_, position)| to_i64(*position)))
    .bind(event_id)
    .bind(reason)
    .bind(raw)
    .execute()
    .await?;
    if let Some((source, position)) = origin {
        advance(tx, consumer, source, *position).await?;
    }
    Ok(())
}

/// How many dead letters `consumer` has recorded (operations and tests).
pub async fn dead_letter_count(db: &Db, consumer: &str) -> Result<u64, sqlx::Error> {
    let count: i64 = db
        .query("SELECT count(*) FROM kesos_dead_letters WHERE consumer = $1")
        .bind(consumer)
        .fetch_scalar()
        .await?;
    Ok(to_u64(count))
}

/// Dead letters with a number above `after`, oldest first, at most `limit`; of one consumer or
/// of all.
pub async fn list_dead_letters(
    db: &Db,
    consumer: Option<&str>,
    after: i64,
    limit: u32,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let sql = Dialect::of(db.backend()).select_dead_letters(
        "WHERE ($1 IS NULL OR consumer = $1) AND id > $2 ORDER BY id LIMIT $3",
    );
    let rows = db
        .query(&sql)
        .bind(consumer)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all()
        .await?;
    rows.iter().map(dead_letter_from).collect()
}

/// One dead letter by number.
pub async fn dead_letter(db: &Db, id: i64) -> Result<Option<DeadLetter>, sqlx::Error> {
    let sql = Dialect::of(db.backend()).select_dead_letters("WHERE id = $1");
    let row = db.query(&sql).bind(id).fetch_optional().await?;
    row.as_ref().map(dead_letter_from).transpose()
}

/// Asks for dead letter `id` to be retried, once: a second request changes nothing. `payload`,
/// when given, replaces the stored message (an envelope rebuilt from the log for a dead letter
/// recorded before they were kept whole).
pub async fn request_retry(
    db: &Db,
    id: i64,
    payload: Option<&[u8]>,
) -> Result<RetryRequest, sqlx::Error> {
    let sql = format!(
        "UPDATE kesos_dead_letters SET retry_requested_at = {}, payload = COALESCE($2, payload) \
         WHERE id = $1 AND retry_requested_at IS NULL AND retried_at IS NULL",
        Dialect::of(db.backend()).now
    );
    let asked = db.query(&sql).bind(id).bind(payload).execute().await?;
    if asked == 1 {
        return Ok(RetryRequest::Requested);
    }
    Ok(match dead_letter(db, id).await? {
        None => RetryRequest::NotFound,
        Some(DeadLetter {
            retry: RetryState::Retried { outcome },
            ..
        }) => RetryRequest::AlreadyRetried(outcome),
        Some(_) => RetryRequest::AlreadyRequested,
    })
}

/// `consumer`'s dead letters whose retry was asked for and not yet done, oldest first.
pub async fn pending_retries(
    db: &Db,
    consumer: &str,
    limit: u32,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let sql = Dialect::of(db.backend()).select_dead_letters(
        "WHERE consumer = $1 AND retry_requested_at IS NOT NULL AND retried_at IS NULL \
         ORDER BY id LIMIT $2",
    );
    let rows = db
        .query(&sql)
        .bind(consumer)
        .bind(i64::from(limit))
        .fetch_all()
        .await?;
    rows.iter().map(dead_letter_from).collect()
}

/// Notes dead letter `id` as retried with `outcome`; false when it was already (another
/// instance of the consumer took it), so the caller rolls back.
pub async fn finish_retry(tx: &mut Tx, id: i64, outcome: &str) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE kesos_dead_letters SET retried_at = {}, retry_outcome = $2 \
         WHERE id = $1 AND retried_at IS NULL",
        Dialect::of(tx.backend()).now
    );
    let done = tx.query(&sql).bind(id).bind(outcome).execute().await?;
    Ok(done == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_marker_binds_the_consumer_once_and_one_parameter_per_event() {
        let sql = mark_many_sql(3);
        assert!(sql.contains("VALUES ($1, $2), ($1, $3), ($1, $4) ON CONFLICT DO NOTHING"));
        assert!(sql.ends_with("RETURNING event_id"));
    }

    #[test]
    fn a_dead_letters_age_is_read_in_seconds_on_both_backends() {
        let postgres = Dialect::of(Backend::Postgres).select_dead_letters("");
        let sqlite = Dialect::of(Backend::Sqlite).select_dead_letters("");
        assert!(postgres.contains("EXTRACT(EPOCH FROM recorded_at)"));
        assert!(sqlite.contains(", recorded_at,"));
    }
}
