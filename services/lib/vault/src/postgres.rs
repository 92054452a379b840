//! The vault's tables on PostgreSQL: batch statements over arrays (`= ANY`, `UNNEST`), so a
//! slice of a thousand subjects costs a handful of round trips, not a thousand.

use std::collections::HashSet;

use sqlx::PgExecutor;
use sqlx::postgres::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{DestroyedRow, Inserted, KeyRow, NewKey, Rewrap, SecretRow};

type Row = (
    Uuid,
    Uuid,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<OffsetDateTime>,
);

const SELECT: &str = "SELECT subject_id, key_id, kek_fingerprint, wrapped, nonce, destroyed_at \
                      FROM kesos_vault_keys WHERE subject_id = ANY($1)";

fn key_row(row: Row) -> KeyRow {
    let (subject, key_id, kek_fingerprint, wrapped, nonce, destroyed_at) = row;
    KeyRow {
        subject,
        key_id,
        kek_fingerprint,
        wrapped,
        nonce,
        destroyed_at,
    }
}

pub(crate) async fn select<'e>(
    executor: impl PgExecutor<'e>,
    subjects: &[Uuid],
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(SELECT)
        .bind(subjects)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(key_row).collect())
}

pub(crate) async fn insert(
    pool: &PgPool,
    keys: &[NewKey],
    fingerprint: &str,
    now: OffsetDateTime,
) -> Result<Inserted, sqlx::Error> {
    let subjects: Vec<Uuid> = keys.iter().map(|k| k.subject).collect();
    let key_ids: Vec<Uuid> = keys.iter().map(|k| k.key_id).collect();
    let wrapped: Vec<Vec<u8>> = keys.iter().map(|k| k.wrapped.ciphertext.clone()).collect();
    let nonces: Vec<Vec<u8>> = keys.iter().map(|k| k.wrapped.nonce.clone()).collect();
    let mut tx = pool.begin().await?;
    let stored: HashSet<Uuid> = sqlx::query_scalar(
        "INSERT INTO kesos_vault_keys \
             (subject_id, key_id, kek_fingerprint, wrapped, nonce, created_at) \
         SELECT s, k, $3, w, n, $6 \
         FROM UNNEST($1::uuid[], $2::uuid[], $4::bytea[], $5::bytea[]) AS t(s, k, w, n) \
         ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id",
    )
    .bind(&subjects)
    .bind(&key_ids)
    .bind(fingerprint)
    .bind(&wrapped)
    .bind(&nonces)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let others: Vec<Uuid> = subjects
        .into_iter()
        .filter(|s| !stored.contains(s))
        .collect();
    let mut existing = Vec::new();
    if !others.is_empty() {
        let rows: Vec<Row> = sqlx::query_as(SELECT)
            .bind(&others)
            .fetch_all(&mut *tx)
            .await?;
        existing = rows.into_iter().map(key_row).collect();
    }
    tx.commit().await?;
    Ok(Inserted { stored, existing })
}

/// Tombstone first, then destroy, then look: an insert that conflicts waits for a concurrent
/// creator to commit, so the update that follows always sees a live key if there is one.
pub(crate) async fn destroy(
    pool: &PgPool,
    subject: Uuid,
    tombstone: Uuid,
    at: OffsetDateTime,
) -> Result<DestroyedRow, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcome = if let Some(key_id) = sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO kesos_vault_keys (subject_id, key_id, created_at, destroyed_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (subject_id) DO NOTHING RETURNING key_id",
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
         SET wrapped = NULL, nonce = NULL, kek_fingerprint = NULL, destroyed_at = $2 \
         WHERE subject_id = $1 AND destroyed_at IS NULL RETURNING key_id",
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
            sqlx::query_scalar("SELECT key_id FROM kesos_vault_keys WHERE subject_id = $1")
                .bind(subject)
                .fetch_one(&mut *tx)
                .await?;
        DestroyedRow {
            key_id,
            already: true,
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn stale_page(
    pool: &PgPool,
    current: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT subject_id, key_id, kek_fingerprint, wrapped, nonce, destroyed_at \
         FROM kesos_vault_keys \
         WHERE wrapped IS NOT NULL AND kek_fingerprint <> $1 \
           AND ($2::uuid IS NULL OR subject_id > $2) \
         ORDER BY subject_id LIMIT $3",
    )
    .bind(current)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(key_row).collect())
}

pub(crate) async fn rewrap(
    pool: &PgPool,
    current: &str,
    rewraps: &[Rewrap],
) -> Result<u64, sqlx::Error> {
    let subjects: Vec<Uuid> = rewraps.iter().map(|r| r.subject).collect();
    let old: Vec<String> = rewraps.iter().map(|r| r.old_fingerprint.clone()).collect();
    let wrapped: Vec<Vec<u8>> = rewraps
        .iter()
        .map(|r| r.wrapped.ciphertext.clone())
        .collect();
    let nonces: Vec<Vec<u8>> = rewraps.iter().map(|r| r.wrapped.nonce.clone()).collect();
    let done = sqlx::query(
        "UPDATE kesos_vault_keys AS k SET kek_fingerprint = $1, wrapped = t.w, nonce = t.n \
         FROM UNNEST($2::uuid[], $3::text[], $4::bytea[], $5::bytea[]) AS t(s, old, w, n) \
         WHERE k.subject_id = t.s AND k.kek_fingerprint = t.old AND k.wrapped IS NOT NULL",
    )
    .bind(current)
    .bind(&subjects)
    .bind(&old)
    .bind(&wrapped)
    .bind(&nonces)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

type SecretTuple = (Uuid, String, Vec<u8>, Vec<u8>);

fn secret_row((key_id, kek_fingerprint, wrapped, nonce): SecretTuple) -> SecretRow {
    SecretRow {
        key_id,
        kek_fingerprint,
        wrapped,
        nonce,
    }
}

pub(crate) async fn secret(pool: &PgPool, name: &str) -> Result<Option<SecretRow>, sqlx::Error> {
    let row: Option<SecretTuple> = sqlx::query_as(
        "SELECT key_id, kek_fingerprint, wrapped, nonce FROM kesos_vault_secrets WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(secret_row))
}

pub(crate) async fn create_secret(
    pool: &PgPool,
    name: &str,
    row: &SecretRow,
    now: OffsetDateTime,
) -> Result<SecretRow, sqlx::Error> {
    sqlx::query(
        "INSERT INTO kesos_vault_secrets \
             (name, key_id, kek_fingerprint, wrapped, nonce, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(row.key_id)
    .bind(&row.kek_fingerprint)
    .bind(&row.wrapped)
    .bind(&row.nonce)
    .bind(now)
    .execute(pool)
    .await?;
    let stored: SecretTuple = sqlx::query_as(
        "SELECT key_id, kek_fingerprint, wrapped, nonce FROM kesos_vault_secrets WHERE name = $1",
    )
    .bind(name)
    .fetch_one(pool)
    .await?;
    Ok(secret_row(stored))
}

pub(crate) async fn rewrap_secret(
    pool: &PgPool,
    name: &str,
    old_fingerprint: &str,
    row: &SecretRow,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE kesos_vault_secrets SET kek_fingerprint = $3, wrapped = $4, nonce = $5 \
         WHERE name = $1 AND kek_fingerprint = $2",
    )
    .bind(name)
    .bind(old_fingerprint)
    .bind(&row.kek_fingerprint)
    .bind(&row.wrapped)
    .bind(&row.nonce)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
