//! The roster messages scheduling has published on the LSPS stream, and whose names and NIKs
//! each carries: what a worker's erasure needs to find every copy of their data that NATS
//! still keeps (see [`super::erasure`]). One row per message and named worker (migration
//! 5004), keyed by the stream and the sequence JetStream acknowledged. The roster desk writes
//! its rows in its consumer's transaction, with its processed marker.

use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::{Db, Tx, to_i64, to_u64};

/// The workers whose name or NIK `roster` carries, each once: what a copy of it is recorded
/// under.
pub fn named_workers(roster: &lsps::CandidateRoster) -> Vec<String> {
    let mut workers: Vec<String> = roster
        .candidates
        .iter()
        .filter(|c| !c.full_name.is_empty() || !c.nik.is_empty())
        .map(|c| c.worker_id.clone())
        .collect();
    workers.sort();
    workers.dedup();
    workers
}

/// One roster message kept in the LSPS stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRoster {
    /// The stream holding it.
    pub stream: String,
    /// Its sequence there (the publish acknowledgement's).
    pub sequence: u64,
    /// The roster it is a copy of: the lock event's id, which every later copy keeps.
    pub roster_id: String,
    /// This copy's `Nats-Msg-Id` (the roster id for the first copy).
    pub message_id: String,
    /// The session.
    pub session_id: String,
    /// The workers whose name or NIK it carries (a worker the roster lists with neither is
    /// not here: there is nothing of theirs to erase).
    pub workers: Vec<String>,
}

/// The kept rows.
#[derive(Clone)]
pub struct SentRosters {
    db: Db,
}

impl SentRosters {
    /// The rows in `db` (scheduling's read-side database).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records `copy` in `transaction` (the roster desk's, so the record commits with its
    /// processed marker); a row already recorded stays.
    pub async fn record(transaction: &mut Tx, copy: &SentRoster) -> Result<(), sqlx::Error> {
        for worker in &copy.workers {
            transaction
                .query(
                    "INSERT INTO scheduling_lsps_rosters_sent (stream, stream_sequence, \
                     roster_id, message_id, session_id, worker_id) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (stream, stream_sequence, worker_id) DO NOTHING",
                )
                .bind(copy.stream.clone())
                .bind(to_i64(copy.sequence))
                .bind(copy.roster_id.clone())
                .bind(copy.message_id.clone())
                .bind(copy.session_id.clone())
                .bind(worker.clone())
                .execute()
                .await?;
        }
        Ok(())
    }

    /// Records `copy` in a transaction of its own: for a copy published outside any
    /// consumer's transaction, recorded at once so a crash cannot lose its sequence.
    pub async fn record_now(&self, copy: &SentRoster) -> Result<(), sqlx::Error> {
        let mut transaction = self.db.begin_write().await?;
        Self::record(&mut transaction, copy).await?;
        transaction.commit().await
    }

    /// Whether a copy of roster `roster_id` naming anyone is on record (so it was sent).
    pub async fn is_recorded(&self, roster_id: &str) -> Result<bool, sqlx::Error> {
        let found = self
            .db
            .query(
                "SELECT 1 AS found FROM scheduling_lsps_rosters_sent WHERE roster_id = $1 LIMIT 1",
            )
            .bind(roster_id.to_owned())
            .fetch_optional()
            .await?;
        Ok(found.is_some())
    }

    /// Every recorded copy that names `worker`, each with all the workers it names, in
    /// publication order.
    pub async fn naming(&self, worker: &str) -> Result<Vec<SentRoster>, sqlx::Error> {
        let rows = self
            .db
            .query(
                "SELECT r.stream, r.stream_sequence, r.roster_id, r.message_id, r.session_id, \
                 r.worker_id FROM scheduling_lsps_rosters_sent r \
                 JOIN scheduling_lsps_rosters_sent w \
                 ON w.stream = r.stream AND w.stream_sequence = r.stream_sequence \
                 WHERE w.worker_id = $1 \
                 ORDER BY r.stream, r.stream_sequence, r.worker_id",
            )
            .bind(worker.to_owned())
            .fetch_all()
            .await?;
        let mut copies: Vec<SentRoster> = Vec::new();
        for row in rows {
            let stream: String = row.get("stream")?;
            let sequence = to_u64(row.get("stream_sequence")?);
            let named: String = row.get("worker_id")?;
            match copies.last_mut() {
                Some(copy) if copy.stream == stream && copy.sequence == sequence => {
                    copy.workers.push(named);
                }
                _ => copies.push(SentRoster {
                    stream,
                    sequence,
                    roster_id: row.get("roster_id")?,
                    message_id: row.get("message_id")?,
                    session_id: row.get("session_id")?,
                    workers: vec![named],
                }),
            }
        }
        Ok(copies)
    }

    /// Forgets, in `transaction`, every copy that names `worker` (all its rows, the other
    /// workers' too: the copy itself is gone); answers how many rows went.
    pub async fn forget_naming(transaction: &mut Tx, worker: &str) -> Result<u64, sqlx::Error> {
        transaction
            .query(
                "DELETE FROM scheduling_lsps_rosters_sent WHERE EXISTS (\
                 SELECT 1 FROM scheduling_lsps_rosters_sent w \
                 WHERE w.worker_id = $1 AND w.stream = scheduling_lsps_rosters_sent.stream \
                 AND w.stream_sequence = scheduling_lsps_rosters_sent.stream_sequence)",
            )
            .bind(worker.to_owned())
            .execute()
            .await
    }
}
