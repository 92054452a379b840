//! The vault's tables on SQLite. Writes take the write lock up front (`BEGIN IMMEDIATE`), so
//! concurrent writers queue on the busy timeout instead of failing on a stale snapshot; long
//! lists are cut into chunks that stay far below SQLite's limit on bound parameters.

use std::collections::HashSet;

use sqlx::sqlite::SqlitePool;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{DestroyedRow, Inserted, KeyRow, NewKey, Rewrap, SecretRow};

/// Rows per statement: 500 × 6 parameters, well under SQLite's 32,766.
const CHUNK: usize = 500;

type Row = (
    Uuid,
    Uuid,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
);

const COLUMNS: &str = "SELECT subject_id, key_id, kek_fingerprint, wrapped, nonce, destroyed_at \
                       FROM kesos_vault_keys ";

use kesos_eventstore::model::unix_micros as micros;

fn instant(micros: i64) -> Result<OffsetDateTime, sqlx::Error> {
    kesos_eventstore::model::from_unix_micros(micros)
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

fn key_row(row: Row) -> Result<KeyRow, sqlx::Error> {
    let (subject, key_id, kek_fingerprint, wrapped, nonce, destroyed_at) = row;
    Ok(KeyRow {
        subject,
        key_id,
        kek_fingerprint,
        wrapped,
        nonce,
        destroyed_at: destroyed_at.map(instant).transpose()?,
    })
}

pub(crate) async fn select_in(
    connection: &mut SqliteConnection,
    subjects: &[Uuid],
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let mut rows = Vec::with_capacity(subjects.len());
    for chunk in subjects.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(COLUMNS);
        query.push("WHERE subject_id IN (");
        let mut list = query.separated(", ");
        for subject in chunk {
            list.push_bind(*subject);
        }
        list.push_unseparated(")");
        let found: Vec<Row> = query.build_query_as().fetch_all(&mut *connection).await?;
        for row in found {
            rows.push(key_row(row)?);
        }
    }
    Ok(rows)
}

pub(crate) async fn select(
    pool: &SqlitePool,
    subjects: &[Uuid],
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    select_in(&mut connection, subjects).await
}

pub(crate) async fn insert(
    pool: &SqlitePool,
    keys: &[NewKey],
    fingerprint: &str,
    now: OffsetDateTime,
) -> Result<Inserted, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut stored = HashSet::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO kesos_vault_keys \
             (subject_id, key_id, kek_fingerprint, wrapped, nonce, created_at) ",
        );
        query.push_values(chunk, |mut row, key| {
            row.push_bind(key.subject)
                .push_bind(key.key_id)
                .push_bind(fingerprint)
                .push_bind(key.wrapped.ciphertext.as_slice())
                .push_bind(key.wrapped.nonce.as_slice())
                .push_bind(micros(now));
        });
        query.push(" ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id");
        let inserted: Vec<Uuid> = query.build_query_scalar().fetch_all(&mut *tx).await?;
        stored.extend(inserted);
    }
    let others: Vec<Uuid> = keys
        .iter()
        .map(|k| k.subject)
        .filter(|s| !stored.contains(s))
        .collect();
    let existing = select_in(&mut tx, &others).await?;
    tx.commit().await?;
    Ok(Inserted { stored, existing })
}

/// Runs with `secure_delete` on, so SQLite zeroes the old wrapped key in the page instead of
/// leaving it in free space, then truncates the write-ahead log (best effort) so no old copy
/// of the page lingers there either.
pub(crate) async fn destroy(
    pool: &SqlitePool,
    subject: Uuid,
    tombstone: Uuid,
    at: OffsetDateTime,
) -> Result<DestroyedRow, sqlx::Error> {
    let at = micros(at);
    let mut connection = pool.acquire().await?;
    sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut *connection)
        .await?;
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
    let outcome = if let Some(key_id) = sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO kesos_vault_keys (subject_id, key_id, created_at, destroyed_at) \
         VALUES (?1, ?2, ?3, ?3) ON CONFLICT (subject_id) DO NOTHING RETURNING key_id",
    )
    .bind(subject)
    .bind(tombstone)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?
    {
        DestroyedRow {
            key_id,
            already: false,
        }
    } else if let Some(key_id) = sqlx::query_scalar::<_, Uuid>(
        "UPDATE kesos_vault_keys \
         SET wrapped = NULL, nonce = NULL, kek_fingerprint = NULL, destroyed_at = ?2 \
         WHERE subject_id = ?1 AND destroyed_at IS NULL RETURNING key_id",
    )
    .bind(subject)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?
    {
        DestroyedRow {
            key_id,
            already: false,
        }
    } else {
        let key_id: Uuid =
            sqlx::query_scalar("SELECT key_id FROM kesos_vault_keys WHERE subject_id = ?1")
                .bind(subject)
                .fetch_one(&mut *tx)
                .await?;
        DestroyedRow {
            key_id,
            already: true,
        }
    };
    tx.commit().await?;
    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *connection)
        .await
    {
        tracing::warn!(%error, "could not truncate the SQLite write-ahead log after an erasure");
    }
    Ok(outcome)
}

pub(crate) async fn stale_page(
    pool: &SqlitePool,
    current: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{COLUMNS} WHERE wrapped IS NOT NULL AND kek_fingerprint <> ?1 \
         AND (?2 IS NULL OR subject_id > ?2) ORDER BY subject_id LIMIT ?3"
    ))
    .bind(current)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(key_row).collect()
}

pub(crate) async fn rewrap(
    pool: &SqlitePool,
    current: &str,
    rewraps: &[Rewrap],
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut changed = 0;
    for rewrap in rewraps {
        changed += sqlx::query(
            "UPDATE kesos_vault_keys SET kek_fingerprint = ?1, wrapped = ?2, nonce = ?3 \
             WHERE subject_id = ?4 AND kek_fingerprint = ?5 AND wrapped IS NOT NULL",
        )
        .bind(current)
        .bind(rewrap.wrapped.ciphertext.as_slice())
        .bind(rewrap.wrapped.nonce.as_slice())
        .bind(rewrap.subject)
        .bind(&rewrap.old_fingerprint)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(changed)
}

type SecretTuple = (Uuid, String, Vec<u8>, Vec<u8>);

const SECRET: &str =
    "SELECT key_id, kek_fingerprint, wrapped, nonce FROM kesos_vault_secrets WHERE name = ?1";

fn secret_row((key_id, kek_fingerprint, wrapped, nonce): SecretTuple) -> SecretRow {
    SecretRow {
        key_id,
        kek_fingerprint,
        wrapped,
        nonce,
    }
}

pub(crate) async fn secret(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<SecretRow>, sqlx::Error> {
    let row: Option<SecretTuple> = sqlx::query_as(SECRET)
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(secret_row))
}

pub(crate) async fn create_secret(
    pool: &SqlitePool,
    name: &str,
    row: &SecretRow,
    now: OffsetDateTime,
) -> Result<SecretRow, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(
        "INSERT INTO kesos_vault_secrets \
             (name, key_id, kek_fingerprint, wrapped, nonce, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(row.key_id)
    .bind(&row.kek_fingerprint)
    .bind(row.wrapped.as_slice())
    .bind(row.nonce.as_slice())
    .bind(micros(now))
    .execute(&mut *tx)
    .await?;
    let stored: SecretTuple = sqlx::query_as(SECRET)
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(secret_row(stored))
}

pub(crate) async fn rewrap_secret(
    pool: &SqlitePool,
    name: &str,
    old_fingerprint: &str,
    row: &SecretRow,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE kesos_vault_secrets SET kek_fingerprint = ?3, wrapped = ?4, nonce = ?5 \
         WHERE name = ?1 AND kek_fingerprint = ?2",
    )
    .bind(name)
    .bind(old_fingerprint)
    .bind(&row.kek_fingerprint)
    .bind(row.wrapped.as_slice())
    .bind(row.nonce.as_slice())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
