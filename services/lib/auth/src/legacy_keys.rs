//! Idempotency keys recorded before kesos derived command ids with SHA-256: a client (or an
//! LSPS) that sent an opaque `Idempotency-Key` got the command id FNV-1a named
//! ([`kesos_http::legacy_uuid_for_key`]), and the events it caused carry ids derived from that
//! command id. When the same key comes again after the upgrade, the gate asks
//! [`LegacyKeys::recorded`] whether that command's first event is stored, and if so hands the
//! handler the old id as the key: the retry gets the recorded outcome and appends nothing.

use kesos_aggregate::event_id;
use kesos_sql::Db;
use uuid::Uuid;

/// Where the event log lives, to look recorded commands up by their first event's id.
#[derive(Clone)]
pub struct LegacyKeys {
    db: Db,
}

impl LegacyKeys {
    /// Looks keys up in the event store's database `db`.
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }

    /// The old command id of the opaque key `key`, when a command under it is recorded; `None`
    /// for a UUID key (always used as is) or a key never recorded under the old derivation.
    pub async fn recorded(&self, key: &str) -> Result<Option<Uuid>, sqlx::Error> {
        if Uuid::parse_str(key).is_ok() {
            return Ok(None);
        }
        let legacy = kesos_http::legacy_uuid_for_key(key);
        let found = self
            .db
            .query("SELECT 1 FROM kesos_events WHERE event_id = $1")
            .bind(event_id(legacy, 0))
            .fetch_optional()
            .await?;
        Ok(found.map(|_| legacy))
    }
}
