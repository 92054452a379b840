//! The pool and session read models: "who waits for a Peksos Generalis seat in Jawa Barat,
//! oldest first", "which sessions have free seats". Built from scheduling's own streams; the
//! checkpoint moves in the same transaction as the rows, and only if no one else moved it
//! meanwhile (compare-and-set), so concurrent or repeated catch-ups apply each event once.
//!
//! Lists and allocations are read-your-writes: [`Pool::catch_up`] runs before them.

use std::sync::Arc;

use kesos_aggregate::EventCodec;
use kesos_eventstore::{EventStore, RecordedEvent};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tokio::sync::Mutex;

use crate::domain::{Attendance, CandidateEvent, Decision, SessionEvent, SessionStatus, Venue};
use crate::service::error::SchedulingError;
use crate::wire::{PACKAGE, is_candidate_event};

const CATCH_UP_BATCH: usize = 2_000;

#[derive(Clone)]
pub(crate) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the backend's pool (the SQL is the same on both).
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Postgres($pool) => $body,
            Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Null,
}

/// Binds `$values` to `$query` in order.
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Text(text) => query.bind(text.clone()),
                Value::Int(int) => query.bind(*int),
                Value::Null => query.bind(Option::<String>::None),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

type Statement = (&'static str, Vec<Value>);

/// The read models over the service's database. Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    pub(crate) db: Db,
    catching_up: Arc<Mutex<()>>,
}

/// Microseconds since the epoch, as stored.
pub(crate) fn micros(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn text(value: impl ToString) -> Value {
    Value::Text(value.to_string())
}

impl Pool {
    /// The read models in PostgreSQL (the store's schema), migrated.
    pub async fn postgres(pool: PgPool) -> Result<Self, SchedulingError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Postgres(pool)))
    }

    /// The read models in the SQLite file, migrated.
    pub async fn sqlite(pool: SqlitePool) -> Result<Self, SchedulingError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self::from_db(Db::Sqlite(pool)))
    }

    fn from_db(db: Db) -> Self {
        Self {
            db,
            catching_up: Arc::new(Mutex::new(())),
        }
    }

    /// The log position the read models have applied.
    pub async fn position(&self) -> Result<u64, SchedulingError> {
        let position: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM scheduling_checkpoints WHERE name = 'pool'")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(position).unwrap_or(0))
    }

    /// Applies every event the store has committed beyond the checkpoint; returns it.
    pub async fn catch_up(&self, store: &dyn EventStore) -> Result<u64, SchedulingError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            let from = self.position().await?;
            let batch = store.read_batch(from, CATCH_UP_BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                return Ok(from);
            };
            let statements = statements_for(&batch)?;
            self.apply(from, last, &statements).await?;
        }
    }

    async fn apply(
        &self,
        from: u64,
        to: u64,
        statements: &[Statement],
    ) -> Result<(), SchedulingError> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE scheduling_checkpoints SET position = $1 WHERE name = 'pool' AND position = $2",
            )
            .bind(to)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                tx.rollback().await?;
                return Ok(());
            }
            for (sql, values) in statements {
                bind_all!(sqlx::query(sql), values).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

fn statements_for(batch: &[RecordedEvent]) -> Result<Vec<Statement>, SchedulingError> {
    let mut statements = Vec::new();
    for record in batch {
        let event_type = record.event_type.as_str();
        if !event_type.starts_with(PACKAGE) {
            continue;
        }
        let position = Value::Int(i64::try_from(record.position).unwrap_or(i64::MAX));
        if is_candidate_event(event_type) {
            let event = CandidateEvent::decode(event_type, record.schema_version, &record.payload)?;
            candidate_statements(&event, position, &mut statements);
        } else {
            let event = SessionEvent::decode(event_type, record.schema_version, &record.payload)?;
            session_statements(&event, position, &mut statements);
        }
    }
    Ok(statements)
}

fn candidate_statements(event: &CandidateEvent, position: Value, out: &mut Vec<Statement>) {
    match event {
        CandidateEvent::Queued(q) => out.push((
            "INSERT INTO scheduling_candidates (candidate_id, worker_id, scheme, region, \
             verified_at, eligible_from, status, session_id, attempts, position) \
             VALUES ($1, $2, $3, $4, $5, $6, 'waiting', NULL, 0, $7) ON CONFLICT (candidate_id) DO NOTHING",
            vec![
                text(q.candidate),
                text(q.worker),
                text(&q.scheme.code),
                text(&q.region),
                Value::Int(micros(q.verified_at)),
                text(q.verified_at.date()),
                position,
            ],
        )),
        CandidateEvent::Returned(r) => out.push((
            "UPDATE scheduling_candidates SET status = 'waiting', session_id = NULL, \
             eligible_from = $1, attempts = attempts + $2, position = $3 WHERE candidate_id = $4",
            vec![
                text(r.eligible_from),
                Value::Int(i64::from(r.failed_on.is_some())),
                position,
                text(r.candidate),
            ],
        )),
        CandidateEvent::PostingMoved(m) => out.push((
            "UPDATE scheduling_candidates SET region = $1, position = $2 WHERE candidate_id = $3",
            vec![text(&m.to), position, text(m.candidate)],
        )),
    }
}

fn seat_change(out: &mut Vec<Statement>, session: impl ToString, delta: i64, position: &Value) {
    out.push((
        "UPDATE scheduling_sessions SET seated = seated + $1, position = $2 WHERE session_id = $3",
        vec![
            Value::Int(delta),
            position.clone(),
            text(session.to_string()),
        ],
    ));
}

fn candidate_status(
    out: &mut Vec<Statement>,
    candidate: impl ToString,
    status: &str,
    session: Value,
    position: &Value,
) {
    out.push((
        "UPDATE scheduling_candidates SET status = $1, session_id = $2, position = $3 WHERE candidate_id = $4",
        vec![text(status), session, position.clone(), text(candidate.to_string())],
    ));
}

fn session_statements(event: &SessionEvent, position: Value, out: &mut Vec<Statement>) {
    match event {
        SessionEvent::Scheduled { session, plan } => {
            let (mode, region) = match &plan.venue {
                Venue::TestSite { region, .. } => ("test_site", region),
                Venue::Online { organiser } => ("online", organiser),
            };
            let served: Vec<String> = plan.served.iter().map(ToString::to_string).collect();
            out.push((
                "INSERT INTO scheduling_sessions (session_id, scheme, mode, region, served, \
                 starts_at, ends_at, cutoff, capacity, seated, status, lsps_id, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'open', $10, $11) \
                 ON CONFLICT (session_id) DO NOTHING",
                vec![
                    text(session),
                    text(&plan.scheme.code),
                    text(mode),
                    text(region),
                    text(served.join(" ")),
                    Value::Int(micros(plan.starts_at)),
                    Value::Int(micros(plan.ends_at)),
                    Value::Int(micros(plan.cutoff)),
                    Value::Int(i64::from(plan.capacity)),
                    text(&plan.lsps),
                    position,
                ],
            ));
        }
        SessionEvent::Changed {
            session, timing, ..
        } => out.push((
            "UPDATE scheduling_sessions SET starts_at = $1, ends_at = $2, cutoff = $3, \
             capacity = $4, position = $5 WHERE session_id = $6",
            vec![
                Value::Int(micros(timing.starts_at)),
                Value::Int(micros(timing.ends_at)),
                Value::Int(micros(timing.cutoff)),
                Value::Int(i64::from(timing.capacity)),
                position,
                text(session),
            ],
        )),
        SessionEvent::Seated {
            session, candidate, ..
        } => {
            seat_change(out, session, 1, &position);
            candidate_status(out, candidate, "seated", text(session), &position);
        }
        SessionEvent::Unseated {
            session, candidate, ..
        }
        | SessionEvent::MovedOut {
            session, candidate, ..
        } => {
            seat_change(out, session, -1, &position);
            candidate_status(out, candidate, "waiting", Value::Null, &position);
        }
        SessionEvent::Cancelled {
            session,
            candidates,
            ..
        } => {
            out.push((
                "UPDATE scheduling_sessions SET status = $1, seated = 0, position = $2 WHERE session_id = $3",
                vec![text(SessionStatus::Cancelled.code()), position.clone(), text(session)],
            ));
            for candidate in candidates {
                candidate_status(out, candidate, "waiting", Value::Null, &position);
            }
        }
        SessionEvent::RosterLocked { session, .. } => out.push((
            "UPDATE scheduling_sessions SET status = $1, position = $2 WHERE session_id = $3",
            vec![text(SessionStatus::Locked.code()), position, text(session)],
        )),
        SessionEvent::AttendanceRecorded {
            session,
            candidate,
            attendance: Attendance::NoShow,
            ..
        } => candidate_status(out, candidate, "no_show", text(session), &position),
        SessionEvent::AttendanceRecorded { .. } | SessionEvent::SeatReleased { .. } => {}
        SessionEvent::Decided(record) => {
            let status = match record.report.decision {
                Decision::Kompeten => "kompeten",
                Decision::BelumKompeten => "belum_kompeten",
            };
            candidate_status(
                out,
                record.report.candidate,
                status,
                text(record.session),
                &position,
            );
        }
    }
}
