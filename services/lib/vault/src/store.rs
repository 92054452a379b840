//! The vault's tables, written once over `kesos-sql`'s [`Db`] and [`Tx`]: `$n` parameters,
//! `ON CONFLICT`, `RETURNING`, multi-row `VALUES` and `IN` lists, which PostgreSQL and SQLite
//! both accept. Only the migrations and what SQLite runs around an erasure ([`Erasure`])
//! differ by backend. Rows cross this boundary as they are stored: wrapped, never unwrapped;
//! all cryptography stays in [`crate::vault`].
//!
//! A list of subjects or keys costs one statement per [`ROWS_PER_STATEMENT`] rows, not one
//! per row, so a batch of a thousand is a handful of round trips on either backend.

use std::collections::HashSet;

use kesos_sql::{Backend, Db, Migrations, Row, Statement, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::master::Wrapped;

/// Rows per statement: a thousand subjects (one bound value each), keys to insert (four each,
/// plus two shared) or re-wrapped keys (four each, plus one shared). At most 4,002 bound
/// values, far below either database's limit (SQLite's 32,766, PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;
const _: () = assert!(4 * ROWS_PER_STATEMENT + 2 < 32_766);

/// The start of every read of [`KeyRow`]s ([`key_row`] reads the columns by name).
const KEY_COLUMNS: &str = "SELECT subject_id, key_id, kek_fingerprint, wrapped, nonce, \
                           destroyed_at FROM kesos_vault_keys";

/// One of the vault's own keys, by name.
const SECRET: &str =
    "SELECT key_id, kek_fingerprint, wrapped, nonce FROM kesos_vault_secrets WHERE name = $1";

/// A subject's row: live (all key columns set) or destroyed (all `None`, `destroyed_at` set).
pub(crate) struct KeyRow {
    pub(crate) subject: Uuid,
    pub(crate) key_id: Uuid,
    pub(crate) kek_fingerprint: Option<String>,
    pub(crate) wrapped: Option<Vec<u8>>,
    pub(crate) nonce: Option<Vec<u8>>,
    pub(crate) destroyed_at: Option<OffsetDateTime>,
}

/// A freshly generated data key, wrapped under the current KEK, to insert.
pub(crate) struct NewKey {
    pub(crate) subject: Uuid,
    pub(crate) key_id: Uuid,
    pub(crate) wrapped: Wrapped,
}

/// What [`Store::insert`] did: the subjects whose new key it stored, and the rows of the
/// others, which had a row first (a concurrent caller's key, or a tombstone).
pub(crate) struct Inserted {
    pub(crate) stored: HashSet<Uuid>,
    pub(crate) existing: Vec<KeyRow>,
}

/// One of the vault's own keys as stored (never destroyed, so every column is set).
pub(crate) struct SecretRow {
    pub(crate) key_id: Uuid,
    pub(crate) kek_fingerprint: String,
    pub(crate) wrapped: Vec<u8>,
    pub(crate) nonce: Vec<u8>,
}

/// A key re-wrapped under the current KEK, to store only if it is still live and still
/// wrapped under `old_fingerprint` (so a rotation never resurrects a destroyed key nor
/// overwrites a concurrent rotation).
pub(crate) struct Rewrap {
    pub(crate) subject: Uuid,
    pub(crate) old_fingerprint: String,
    pub(crate) wrapped: Wrapped,
}

/// How the outcome of a destruction was reached.
pub(crate) struct DestroyedRow {
    pub(crate) key_id: Uuid,
    pub(crate) already: bool,
}

/// What a backend runs around an erasure so that no old copy of the wrapped key lingers
/// where the database's own means can reach it. PostgreSQL has nothing to run here (its old
/// row versions are `VACUUM`'s business, see the crate docs).
struct Erasure {
    /// Runs inside the erasing transaction, before the key is overwritten.
    prepare: Option<&'static str>,
    /// Runs after the commit, best effort ([`settle_erasure`]).
    settle: Option<&'static str>,
}

impl Erasure {
    fn of(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self {
                prepare: None,
                settle: None,
            },
            // `secure_delete` zeroes the freed bytes of the old row in the page instead of
            // leaving them in free space; it applies to whatever the connection frees from
            // then on, so setting it inside the transaction covers the overwrite (and stays on
            // for that pooled connection). Truncating the write-ahead log afterwards drops
            // the frames that held the page before.
            Backend::Sqlite => Self {
                prepare: Some("PRAGMA secure_delete = ON"),
                settle: Some("PRAGMA wal_checkpoint(TRUNCATE)"),
            },
        }
    }
}

/// Where the vault keeps its keys; cheap to clone (a pool handle).
#[derive(Clone)]
pub(crate) struct Store {
    db: Db,
}

impl Store {
    /// The vault's tables on `db`, after applying its migrations (versions 2001 and up; other
    /// components' versions in the shared `_sqlx_migrations` table are left alone).
    pub(crate) async fn open(db: Db) -> Result<Self, sqlx::Error> {
        db.migrate(Migrations {
            postgres: sqlx::migrate!("./migrations/postgres"),
            sqlite: sqlx::migrate!("./migrations/sqlite"),
        })
        .await?;
        Ok(Self { db })
    }

    /// Which backend the tables are on.
    pub(crate) fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The rows of these subjects, in no particular order; absent subjects have no row.
    pub(crate) async fn select(&self, subjects: &[Uuid]) -> Result<Vec<KeyRow>, sqlx::Error> {
        let mut rows = Vec::with_capacity(subjects.len());
        for chunk in subjects.chunks(ROWS_PER_STATEMENT) {
            let sql = select_sql(chunk.len());
            rows.extend(fetch_keys(self.db.query(&sql), chunk).await?);
        }
        Ok(rows)
    }

    /// Inserts the keys whose subject has no row yet (others are left untouched) and, in the
    /// same transaction, reads back the rows that were there first: whoever won a race,
    /// every caller ends with the one stored key. The caller orders `keys` by subject, so
    /// concurrent inserts take their row locks in one order and cannot deadlock.
    pub(crate) async fn insert(
        &self,
        keys: &[NewKey],
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<Inserted, sqlx::Error> {
        let now = to_micros_precision(now);
        let mut tx = self.db.begin_write().await?;
        let mut stored = HashSet::with_capacity(keys.len());
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = insert_sql(chunk.len());
            let mut statement = tx.query(&sql).bind(fingerprint).bind_instant(now);
            for key in chunk {
                statement = statement
                    .bind(key.subject)
                    .bind(key.key_id)
                    .bind(key.wrapped.ciphertext.as_slice())
                    .bind(key.wrapped.nonce.as_slice());
            }
            for row in statement.fetch_all().await? {
                stored.insert(row.get::<Uuid>("subject_id")?);
            }
        }
        let others: Vec<Uuid> = keys
            .iter()
            .map(|key| key.subject)
            .filter(|subject| !stored.contains(subject))
            .collect();
        let existing = select_in(&mut tx, &others).await?;
        tx.commit().await?;
        Ok(Inserted { stored, existing })
    }

    /// Destroys the subject's key, or records a tombstone under `tombstone` when it has none.
    ///
    /// Tombstone first, then destroy, then look: on PostgreSQL an insert that conflicts waits
    /// for a concurrent creator to commit, and on SQLite the transaction holds the file's
    /// write lock from its start, so the update that follows always sees a live key if there
    /// is one.
    pub(crate) async fn destroy(
        &self,
        subject: Uuid,
        tombstone: Uuid,
        at: OffsetDateTime,
    ) -> Result<DestroyedRow, sqlx::Error> {
        let at = to_micros_precision(at);
        let erasure = Erasure::of(self.db.backend());
        let mut tx = self.db.begin_write().await?;
        if let Some(sql) = erasure.prepare {
            tx.query(sql).execute().await?;
        }
        let outcome = if let Some(row) = tx
            .query(
                "INSERT INTO kesos_vault_keys (subject_id, key_id, created_at, destroyed_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (subject_id) DO NOTHING RETURNING key_id",
            )
            .bind(subject)
            .bind(tombstone)
            .bind_instant(at)
            .fetch_optional()
            .await?
        {
            DestroyedRow {
                key_id: row.get("key_id")?,
                already: false,
            }
        } else if let Some(row) = tx
            .query(
                "UPDATE kesos_vault_keys \
                 SET wrapped = NULL, nonce = NULL, kek_fingerprint = NULL, destroyed_at = $2 \
                 WHERE subject_id = $1 AND destroyed_at IS NULL RETURNING key_id",
            )
            .bind(subject)
            .bind_instant(at)
            .fetch_optional()
            .await?
        {
            DestroyedRow {
                key_id: row.get("key_id")?,
                already: false,
            }
        } else {
            DestroyedRow {
                key_id: tx
                    .query("SELECT key_id FROM kesos_vault_keys WHERE subject_id = $1")
                    .bind(subject)
                    .fetch_scalar()
                    .await?,
                already: true,
            }
        };
        tx.commit().await?;
        if let Some(sql) = erasure.settle {
            settle_erasure(&self.db, sql).await;
        }
        Ok(outcome)
    }

    /// Up to `limit` live rows not wrapped under `current`, after `after` in subject order.
    pub(crate) async fn stale_page(
        &self,
        current: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<KeyRow>, sqlx::Error> {
        let sql = format!(
            "{KEY_COLUMNS} WHERE wrapped IS NOT NULL AND kek_fingerprint <> $1 \
             AND ($2 IS NULL OR subject_id > $2) ORDER BY subject_id LIMIT $3"
        );
        self.db
            .query(&sql)
            .bind(current)
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all()
            .await?
            .iter()
            .map(key_row)
            .collect()
    }

    /// Stores re-wrapped keys (see [`Rewrap`]) with one `UPDATE … FROM (VALUES …)` per
    /// [`ROWS_PER_STATEMENT`] keys; returns how many rows changed.
    pub(crate) async fn rewrap(
        &self,
        current: &str,
        rewraps: &[Rewrap],
    ) -> Result<u64, sqlx::Error> {
        let mut changed = 0;
        for chunk in rewraps.chunks(ROWS_PER_STATEMENT) {
            let sql = rewrap_sql(chunk.len());
            let mut statement = self.db.query(&sql).bind(current);
            for rewrap in chunk {
                statement = statement
                    .bind(rewrap.subject)
                    .bind(rewrap.old_fingerprint.as_str())
                    .bind(rewrap.wrapped.ciphertext.as_slice())
                    .bind(rewrap.wrapped.nonce.as_slice());
            }
            changed += statement.execute().await?;
        }
        Ok(changed)
    }

    /// The vault's own key called `name`, if created.
    pub(crate) async fn secret(&self, name: &str) -> Result<Option<SecretRow>, sqlx::Error> {
        self.db
            .query(SECRET)
            .bind(name)
            .fetch_optional()
            .await?
            .as_ref()
            .map(secret_row)
            .transpose()
    }

    /// Stores `row` as the key `name` unless one exists, then returns the stored one (in one
    /// transaction, so instances starting together all end with the same key).
    pub(crate) async fn create_secret(
        &self,
        name: &str,
        row: &SecretRow,
        now: OffsetDateTime,
    ) -> Result<SecretRow, sqlx::Error> {
        let now = to_micros_precision(now);
        let mut tx = self.db.begin_write().await?;
        tx.query(
            "INSERT INTO kesos_vault_secrets \
                 (name, key_id, kek_fingerprint, wrapped, nonce, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(row.key_id)
        .bind(row.kek_fingerprint.as_str())
        .bind(row.wrapped.as_slice())
        .bind(row.nonce.as_slice())
        .bind_instant(now)
        .execute()
        .await?;
        let stored = secret_row(&tx.query(SECRET).bind(name).fetch_one().await?)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces the key `name` by `row` if it is still wrapped under `old_fingerprint`.
    pub(crate) async fn rewrap_secret(
        &self,
        name: &str,
        old_fingerprint: &str,
        row: &SecretRow,
    ) -> Result<u64, sqlx::Error> {
        self.db
            .query(
                "UPDATE kesos_vault_secrets SET kek_fingerprint = $3, wrapped = $4, nonce = $5 \
                 WHERE name = $1 AND kek_fingerprint = $2",
            )
            .bind(name)
            .bind(old_fingerprint)
            .bind(row.kek_fingerprint.as_str())
            .bind(row.wrapped.as_slice())
            .bind(row.nonce.as_slice())
            .execute()
            .await
    }
}

/// [`Store::select`] inside an open transaction (the caller's, or [`Store::insert`]'s), so
/// the rows are those that transaction sees and no second connection is taken meanwhile.
pub(crate) async fn select_in(tx: &mut Tx, subjects: &[Uuid]) -> Result<Vec<KeyRow>, sqlx::Error> {
    let mut rows = Vec::with_capacity(subjects.len());
    for chunk in subjects.chunks(ROWS_PER_STATEMENT) {
        let sql = select_sql(chunk.len());
        rows.extend(fetch_keys(tx.query(&sql), chunk).await?);
    }
    Ok(rows)
}

/// Binds `subjects` to a [`select_sql`] statement of as many values and reads its rows.
async fn fetch_keys(
    mut statement: Statement<'_, '_>,
    subjects: &[Uuid],
) -> Result<Vec<KeyRow>, sqlx::Error> {
    for subject in subjects {
        statement = statement.bind(*subject);
    }
    statement.fetch_all().await?.iter().map(key_row).collect()
}

/// Runs an [`Erasure::settle`] statement (SQLite's checkpoint) on any of the pool's
/// connections: the write-ahead log belongs to the file, not to the connection that erased.
/// Best effort: a reader still inside the log keeps it from being truncated (the checkpoint's
/// first column, `busy`, is then 1), which is logged, not failed; the erasure itself holds.
async fn settle_erasure(db: &Db, sql: &str) {
    let busy = match db.query(sql).fetch_optional().await {
        Ok(Some(row)) => row.get_index::<i64>(0),
        Ok(None) => Ok(0),
        Err(error) => Err(error),
    };
    match busy {
        Ok(0) => {}
        Ok(_) => {
            tracing::warn!("the SQLite write-ahead log was in use, not truncated after an erasure")
        }
        Err(error) => {
            tracing::warn!(%error, "could not truncate the SQLite write-ahead log after an erasure");
        }
    }
}

/// `<KEY_COLUMNS> WHERE subject_id IN ($1, …, $rows)`.
fn select_sql(rows: usize) -> String {
    let list: Vec<String> = (1..=rows).map(|n| format!("${n}")).collect();
    format!("{KEY_COLUMNS} WHERE subject_id IN ({})", list.join(", "))
}

/// Inserts `rows` keys, `$1` the fingerprint and `$2` the creation time shared by all, and
/// returns the subjects whose key it stored.
fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let n = 2 + row * 4;
            format!("(${}, ${}, $1, ${}, ${}, $2)", n + 1, n + 2, n + 3, n + 4)
        })
        .collect();
    format!(
        "INSERT INTO kesos_vault_keys \
         (subject_id, key_id, kek_fingerprint, wrapped, nonce, created_at) VALUES {} \
         ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id",
        values.join(", ")
    )
}

/// Re-wraps `rows` keys under `$1`, the current fingerprint; each row is (subject, old
/// fingerprint, wrapped, nonce), and changes only a live key still under its old fingerprint.
/// A `VALUES` list's columns are `column1`, `column2`, … on both databases.
fn rewrap_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let n = 1 + row * 4;
            format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
        })
        .collect();
    format!(
        "UPDATE kesos_vault_keys SET kek_fingerprint = $1, wrapped = t.column3, \
         nonce = t.column4 FROM (VALUES {}) AS t \
         WHERE kesos_vault_keys.subject_id = t.column1 \
         AND kesos_vault_keys.kek_fingerprint = t.column2 \
         AND kesos_vault_keys.wrapped IS NOT NULL",
        values.join(", ")
    )
}

fn key_row(row: &Row) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        subject: row.get("subject_id")?,
        key_id: row.get("key_id")?,
        kek_fingerprint: row.get("kek_fingerprint")?,
        wrapped: row.get("wrapped")?,
        nonce: row.get("nonce")?,
        destroyed_at: row.optional_instant("destroyed_at")?,
    })
}

fn secret_row(row: &Row) -> Result<SecretRow, sqlx::Error> {
    Ok(SecretRow {
        key_id: row.get("key_id")?,
        kek_fingerprint: row.get("kek_fingerprint")?,
        wrapped: row.get("wrapped")?,
        nonce: row.get("nonce")?,
    })
}

/// Both databases keep microseconds; truncating first makes both return what was stored.
/// Instants are also read back in UTC.
fn to_micros_precision(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

/// The store's own cases, on both backends: the paths of its guarantees that the public
/// API cannot reach on demand (a re-wrap racing an erasure, a read-back longer than one
/// statement), and the SQL it builds.
#[cfg(test)]
mod tests;
