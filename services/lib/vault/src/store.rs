//! The vault's tables behind one small interface, implemented for PostgreSQL
//! ([`crate::postgres`]) and SQLite ([`crate::sqlite`]). Rows cross this boundary as they are
//! stored: wrapped, never unwrapped; all cryptography stays in [`crate::vault`].

use std::collections::HashSet;

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::VaultError;
use crate::master::Wrapped;
use crate::{postgres, sqlite};

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

/// A connection to the vault's database that the caller already holds, usually inside its
/// own transaction, for reads that must not take a second connection from a pool meanwhile
/// (see [`crate::Vault::keys_on`]). Made with `From` from either database's connection.
pub enum VaultConnection<'c> {
    /// A PostgreSQL connection whose search path reaches the vault's tables.
    Postgres(&'c mut PgConnection),
    /// A connection to the SQLite file that holds the vault's tables.
    Sqlite(&'c mut SqliteConnection),
}

impl<'c> From<&'c mut PgConnection> for VaultConnection<'c> {
    /// Wraps a PostgreSQL connection (a transaction's, through `&mut **transaction`).
    fn from(connection: &'c mut PgConnection) -> Self {
        Self::Postgres(connection)
    }
}

impl<'c> From<&'c mut kesos_sql::Tx> for VaultConnection<'c> {
    /// The connection of an open transaction of either backend (a consumer's), so the vault
    /// reads what that transaction sees.
    fn from(tx: &'c mut kesos_sql::Tx) -> Self {
        match tx {
            kesos_sql::Tx::Postgres(tx) => Self::Postgres(tx),
            kesos_sql::Tx::Sqlite(tx) => Self::Sqlite(tx),
        }
    }
}

impl<'c> From<&'c mut SqliteConnection> for VaultConnection<'c> {
    /// Wraps a SQLite connection (a transaction's, through `&mut **transaction`).
    fn from(connection: &'c mut SqliteConnection) -> Self {
        Self::Sqlite(connection)
    }
}

impl VaultConnection<'_> {
    /// [`Store::select`] on this connection.
    pub(crate) async fn select(self, subjects: &[Uuid]) -> Result<Vec<KeyRow>, sqlx::Error> {
        match self {
            Self::Postgres(connection) => postgres::select(connection, subjects).await,
            Self::Sqlite(connection) => sqlite::select_in(connection, subjects).await,
        }
    }
}

/// Where the vault keeps its keys; cheap to clone (a pool handle).
#[derive(Clone)]
pub(crate) enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Store {
    /// Applies the vault's migrations (versions 2001 and up), leaving other components'
    /// versions in the shared `_sqlx_migrations` table alone.
    pub(crate) async fn migrate(&self) -> Result<(), VaultError> {
        match self {
            Self::Postgres(pool) => {
                let mut migrator = sqlx::migrate!("./migrations/postgres");
                migrator.set_ignore_missing(true);
                migrator.run(pool).await?;
            }
            Self::Sqlite(pool) => {
                let mut migrator = sqlx::migrate!("./migrations/sqlite");
                migrator.set_ignore_missing(true);
                migrator.run(pool).await?;
            }
        }
        Ok(())
    }

    /// The rows of these subjects, in no particular order; absent subjects have no row.
    pub(crate) async fn select(&self, subjects: &[Uuid]) -> Result<Vec<KeyRow>, sqlx::Error> {
        match self {
            Self::Postgres(pool) => postgres::select(pool, subjects).await,
            Self::Sqlite(pool) => sqlite::select(pool, subjects).await,
        }
    }

    /// Inserts the keys whose subject has no row yet (others are left untouched) and, in the
    /// same transaction, reads back the rows that were there first: whoever won a race,
    /// every caller ends with the one stored key.
    pub(crate) async fn insert(
        &self,
        keys: &[NewKey],
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<Inserted, sqlx::Error> {
        let now = to_micros_precision(now);
        match self {
            Self::Postgres(pool) => postgres::insert(pool, keys, fingerprint, now).await,
            Self::Sqlite(pool) => sqlite::insert(pool, keys, fingerprint, now).await,
        }
    }

    /// Destroys the subject's key, or records a tombstone under `tombstone` when it has none.
    pub(crate) async fn destroy(
        &self,
        subject: Uuid,
        tombstone: Uuid,
        at: OffsetDateTime,
    ) -> Result<DestroyedRow, sqlx::Error> {
        let at = to_micros_precision(at);
        match self {
            Self::Postgres(pool) => postgres::destroy(pool, subject, tombstone, at).await,
            Self::Sqlite(pool) => sqlite::destroy(pool, subject, tombstone, at).await,
        }
    }

    /// Up to `limit` live rows not wrapped under `current`, after `after` in subject order.
    pub(crate) async fn stale_page(
        &self,
        current: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<KeyRow>, sqlx::Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match self {
            Self::Postgres(pool) => postgres::stale_page(pool, current, after, limit).await,
            Self::Sqlite(pool) => sqlite::stale_page(pool, current, after, limit).await,
        }
    }

    /// Stores re-wrapped keys (see [`Rewrap`]); returns how many rows changed.
    pub(crate) async fn rewrap(
        &self,
        current: &str,
        rewraps: &[Rewrap],
    ) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(pool) => postgres::rewrap(pool, current, rewraps).await,
            Self::Sqlite(pool) => sqlite::rewrap(pool, current, rewraps).await,
        }
    }

    /// The vault's own key called `name`, if created.
    pub(crate) async fn secret(&self, name: &str) -> Result<Option<SecretRow>, sqlx::Error> {
        match self {
            Self::Postgres(pool) => postgres::secret(pool, name).await,
            Self::Sqlite(pool) => sqlite::secret(pool, name).await,
        }
    }

    /// Stores `row` as the key `name` unless one exists, then returns the stored one.
    pub(crate) async fn create_secret(
        &self,
        name: &str,
        row: &SecretRow,
        now: OffsetDateTime,
    ) -> Result<SecretRow, sqlx::Error> {
        let now = to_micros_precision(now);
        match self {
            Self::Postgres(pool) => postgres::create_secret(pool, name, row, now).await,
            Self::Sqlite(pool) => sqlite::create_secret(pool, name, row, now).await,
        }
    }

    /// Replaces the key `name` by `row` if it is still wrapped under `old_fingerprint`.
    pub(crate) async fn rewrap_secret(
        &self,
        name: &str,
        old_fingerprint: &str,
        row: &SecretRow,
    ) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(pool) => postgres::rewrap_secret(pool, name, old_fingerprint, row).await,
            Self::Sqlite(pool) => sqlite::rewrap_secret(pool, name, old_fingerprint, row).await,
        }
    }
}

/// Both databases keep microseconds; truncating first makes both return what was stored.
/// Instants are also read back in UTC.
fn to_micros_precision(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}
