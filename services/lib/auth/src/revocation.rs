//! The revocation list: tokens an operator withdrew before they expire (`kesos token revoke
//! <jti> --reason …`), kept in the store's own database (table `kesos_revoked_tokens`, migration
//! 6001 for both backends) so that a revocation survives restarts and binds every process that
//! shares the database. The gate asks [`RevocationList::is_revoked`] on every request that
//! carries a valid token: a primary-key lookup, and no cache, so the next request after a
//! revocation is refused.

use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;

/// Longest reason kept (the operator's note, not a document).
const MAX_REASON: usize = 500;

/// Why the revocation list could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// The database failed.
    #[error("the revocation list cannot be used: {0}")]
    Database(#[from] sqlx::Error),
    /// The table could not be created.
    #[error("the revocation list cannot be created: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The token id or the reason is empty or too long.
    #[error("{0}")]
    Invalid(&'static str),
}

/// One revoked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The token's id (`jti`).
    pub jti: String,
    /// Why it was revoked, in the operator's words.
    pub reason: String,
    /// Who revoked it.
    pub revoked_by: String,
    /// When (Unix seconds).
    pub revoked_at: i64,
}

/// The revocation list in the event store's database; cheap to clone (a pool handle).
#[derive(Clone)]
pub enum RevocationList {
    /// In PostgreSQL (the pool's schema).
    Postgres(PgPool),
    /// In the embedded SQLite file.
    Sqlite(SqlitePool),
}

impl RevocationList {
    /// The list in PostgreSQL, creating its table when missing.
    pub async fn postgres(pool: PgPool) -> Result<Self, RevocationError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        // Other components' migrations share `_sqlx_migrations`; these are 6001+.
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await?;
        Ok(Self::Postgres(pool))
    }

    /// The list in SQLite, creating its table when missing.
    pub async fn sqlite(pool: SqlitePool) -> Result<Self, RevocationError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await?;
        Ok(Self::Sqlite(pool))
    }

    /// Revokes the token `jti`; `false` when it was revoked already (the first reason stays).
    pub async fn revoke(
        &self,
        jti: &str,
        reason: &str,
        revoked_by: &str,
        at: OffsetDateTime,
    ) -> Result<bool, RevocationError> {
        let jti = jti.trim();
        if jti.is_empty() || jti.len() > 200 {
            return Err(RevocationError::Invalid(
                "the token id (jti) must be 1-200 characters",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON {
            return Err(RevocationError::Invalid(
                "--reason must be 1-500 characters: say why the token is withdrawn",
            ));
        }
        const INSERT: &str = "INSERT INTO kesos_revoked_tokens (jti, reason, revoked_by, \
                              revoked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING";
        let at = at.unix_timestamp();
        let inserted = match self {
            Self::Postgres(pool) => sqlx::query(INSERT)
                .bind(jti)
                .bind(reason)
                .bind(revoked_by)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected(),
            Self::Sqlite(pool) => sqlx::query(INSERT)
                .bind(jti)
                .bind(reason)
                .bind(revoked_by)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(inserted == 1)
    }

    /// Whether the token `jti` was revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        const SELECT: &str = "SELECT 1 FROM kesos_revoked_tokens WHERE jti = $1";
        let found: Option<i32> = match self {
            Self::Postgres(pool) => {
                sqlx::query_scalar(SELECT)
                    .bind(jti)
                    .fetch_optional(pool)
                    .await?
            }
            Self::Sqlite(pool) => {
                sqlx::query_scalar(SELECT)
                    .bind(jti)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(found.is_some())
    }

    /// The revocation of `jti`, if any.
    pub async fn get(&self, jti: &str) -> Result<Option<Revocation>, RevocationError> {
        const SELECT: &str = "SELECT jti, reason, revoked_by, revoked_at FROM \
                              kesos_revoked_tokens WHERE jti = $1";
        let row: Option<(String, String, String, i64)> = match self {
            Self::Postgres(pool) => {
                sqlx::query_as(SELECT)
                    .bind(jti)
                    .fetch_optional(pool)
                    .await?
            }
            Self::Sqlite(pool) => {
                sqlx::query_as(SELECT)
                    .bind(jti)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(row.map(|(jti, reason, revoked_by, revoked_at)| Revocation {
            jti,
            reason,
            revoked_by,
            revoked_at,
        }))
    }
}
