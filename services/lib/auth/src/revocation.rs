//! The revocation list: tokens an operator withdrew before they expire (`kesos token revoke
//! <jti> --reason …`), kept in the store's own database (table `kesos_revoked_tokens`, migration
//! 6001 for both backends) so that a revocation survives restarts and binds every process that
//! shares the database. The gate asks [`RevocationList::is_revoked`] on every request that
//! carries a valid token: a primary-key lookup, and no cache, so the next request after a
//! revocation is refused.

use kesos_sql::{Db, Migrations};
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
pub struct RevocationList {
    db: Db,
}

impl RevocationList {
    /// The list in `db` (PostgreSQL: the pool's schema; or the embedded SQLite file),
    /// creating its table when missing.
    pub async fn open(db: impl Into<Db>) -> Result<Self, RevocationError> {
        let db = db.into();
        // Other components' migrations share `_sqlx_migrations`; these are 6001+.
        db.migrate(Migrations {
            postgres: sqlx::migrate!("./migrations/postgres"),
            sqlite: sqlx::migrate!("./migrations/sqlite"),
        })
        .await?;
        Ok(Self { db })
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
        let inserted = self
            .db
            .query(
                "INSERT INTO kesos_revoked_tokens (jti, reason, revoked_by, revoked_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(reason)
            .bind(revoked_by)
            .bind(at.unix_timestamp())
            .execute()
            .await?;
        Ok(inserted == 1)
    }

    /// Whether the token `jti` was revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        let found = self
            .db
            .query("SELECT 1 FROM kesos_revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional()
            .await?;
        Ok(found.is_some())
    }

    /// The revocation of `jti`, if any.
    pub async fn get(&self, jti: &str) -> Result<Option<Revocation>, RevocationError> {
        let row = self
            .db
            .query(
                "SELECT jti, reason, revoked_by, revoked_at FROM kesos_revoked_tokens \
                 WHERE jti = $1",
            )
            .bind(jti)
            .fetch_optional()
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Revocation {
            jti: row.get("jti")?,
            reason: row.get("reason")?,
            revoked_by: row.get("revoked_by")?,
            revoked_at: row.get("revoked_at")?,
        }))
    }
}
