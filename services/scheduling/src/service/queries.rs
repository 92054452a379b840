//! Reading the pool and session read models: filtered, paged lists, and the inputs of
//! auto-allocation and of the roster-lock job.

use kesos_regions::RegionCode;
use serde::Serialize;
use sqlx::Row;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{CandidateId, OpenSession, SessionId, WaitingCandidate, WorkerId};
use crate::service::error::SchedulingError;
use crate::service::pool::{Db, Pool, Value, bind_all, micros, with_db};

/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

/// One session as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    /// The session.
    pub session_id: String,
    /// Scheme code.
    pub scheme: String,
    /// `test_site` or `online`.
    pub mode: String,
    /// The site's or organiser's region.
    pub region: String,
    /// Regions served (empty: the nation).
    pub served: Vec<String>,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Seat changes allowed until then.
    #[serde(with = "time::serde::rfc3339")]
    pub reschedule_cutoff: OffsetDateTime,
    /// Seats.
    pub capacity: u32,
    /// Seats taken.
    pub seated: u32,
    /// `open`, `locked` or `cancelled`.
    pub status: String,
    /// The LSPS running it.
    pub lsps_id: String,
}

/// One candidate as lists show it (no personal data: ids, scheme, region, standing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateRow {
    /// The candidate (= the nomination).
    pub candidate_id: String,
    /// The worker.
    pub worker_id: String,
    /// Scheme code.
    pub scheme: String,
    /// Posting region.
    pub region: String,
    /// When verified (queue order).
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
    /// First day allowed to sit a test.
    pub eligible_from: String,
    /// `waiting`, `seated`, `no_show`, `belum_kompeten` or `kompeten`.
    pub status: String,
    /// The session, when seated or last tested.
    pub session_id: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Which sessions a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Scheme code.
    pub scheme: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Sited (or organised) at or below this region.
    pub region: Option<RegionCode>,
    /// Starting at or after.
    pub from: Option<OffsetDateTime>,
    /// Starting before.
    pub until: Option<OffsetDateTime>,
    /// Run by this LSPS (an LSPS caller sees only its own sessions).
    pub lsps: Option<String>,
}

/// Which candidates a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateFilter {
    /// Scheme code.
    pub scheme: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Posted at or below this region.
    pub region: Option<RegionCode>,
    /// Seated in (or last tested in) this session.
    pub session: Option<SessionId>,
    /// This worker.
    pub worker: Option<WorkerId>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows, by id.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// How many rows match in all.
    pub total: u64,
}

fn instant(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

struct Where {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    fn new() -> Self {
        Self {
            conditions: Vec::new(),
            values: Vec::new(),
        }
    }
    fn equals(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            self.values.push(Value::Text(value));
            self.conditions
                .push(format!("{column} = ${}", self.values.len()));
        }
    }
    fn within(&mut self, column: &str, region: Option<&RegionCode>) {
        if let Some(region) = region {
            self.values.push(Value::Text(region.to_string()));
            self.values.push(Value::Text(format!("{region}.%")));
            let n = self.values.len();
            self.conditions
                .push(format!("({column} = ${} OR {column} LIKE ${n})", n - 1));
        }
    }
    fn compare(&mut self, column: &str, operator: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.values.push(Value::Int(value));
            self.conditions
                .push(format!("{column} {operator} ${}", self.values.len()));
        }
    }
    fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

const SESSION_COLUMNS: &str = "session_id, scheme, mode, region, served, starts_at, ends_at, \
                               cutoff, capacity, seated, status, lsps_id";
const CANDIDATE_COLUMNS: &str = "candidate_id, worker_id, scheme, region, verified_at, \
                                 eligible_from, status, session_id, attempts";

macro_rules! session_row {
    ($row:expr) => {{
        let row = $row;
        let served: String = row.try_get("served")?;
        SessionRow {
            session_id: row.try_get("session_id")?,
            scheme: row.try_get("scheme")?,
            mode: row.try_get("mode")?,
            region: row.try_get("region")?,
            served: served.split_whitespace().map(str::to_owned).collect(),
            starts_at: instant(row.try_get("starts_at")?),
            ends_at: instant(row.try_get("ends_at")?),
            reschedule_cutoff: instant(row.try_get("cutoff")?),
            capacity: to_u32(i64::from(row.try_get::<i32, _>("capacity")?)),
            seated: to_u32(i64::from(row.try_get::<i32, _>("seated")?)),
            status: row.try_get("status")?,
            lsps_id: row.try_get("lsps_id")?,
        }
    }};
}

macro_rules! candidate_row {
    ($row:expr) => {{
        let row = $row;
        CandidateRow {
            candidate_id: row.try_get("candidate_id")?,
            worker_id: row.try_get("worker_id")?,
            scheme: row.try_get("scheme")?,
            region: row.try_get("region")?,
            verified_at: instant(row.try_get("verified_at")?),
            eligible_from: row.try_get("eligible_from")?,
            status: row.try_get("status")?,
            session_id: row.try_get("session_id")?,
            attempts: to_u32(i64::from(row.try_get::<i32, _>("attempts")?)),
        }
    }};
}

impl Pool {
    /// One page of sessions matching `filter`, after the session id `after`.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<SessionRow>, SchedulingError> {
        let mut conditions = Where::new();
        conditions.equals("scheme", filter.scheme.clone());
        conditions.equals("status", filter.status.clone());
        conditions.within("region", filter.region.as_ref());
        conditions.equals("lsps_id", filter.lsps.clone());
        conditions.compare("starts_at", ">=", filter.from.map(micros));
        conditions.compare("starts_at", "<", filter.until.map(micros));
        let count_sql = format!(
            "SELECT COUNT(*) FROM scheduling_sessions{}",
            conditions.sql()
        );
        let count_values = conditions.values.clone();
        conditions.equals_after("session_id", after);
        let limit = limit.clamp(1, MAX_PAGE);
        let page_sql = format!(
            "SELECT {SESSION_COLUMNS} FROM scheduling_sessions{} ORDER BY session_id LIMIT {}",
            conditions.sql(),
            limit + 1
        );
        let (total, mut items) = with_db!(&self.db, pool => {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count_values).fetch_one(pool).await?;
            let rows = bind_all!(sqlx::query(&page_sql), &conditions.values).fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(session_row!(row));
            }
            (total, items)
        });
        Ok(page(&mut items, limit, total, |row| row.session_id.clone()))
    }

    /// One page of candidates matching `filter`, after the candidate id `after`.
    pub async fn list_candidates(
        &self,
        filter: &CandidateFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<CandidateRow>, SchedulingError> {
        let mut conditions = Where::new();
        conditions.equals("scheme", filter.scheme.clone());
        conditions.equals("status", filter.status.clone());
        conditions.within("region", filter.region.as_ref());
        conditions.equals("session_id", filter.session.map(|s| s.to_string()));
        conditions.equals("worker_id", filter.worker.map(|w| w.to_string()));
        let count_sql = format!(
            "SELECT COUNT(*) FROM scheduling_candidates{}",
            conditions.sql()
        );
        let count_values = conditions.values.clone();
        conditions.equals_after("candidate_id", after);
        let limit = limit.clamp(1, MAX_PAGE);
        let page_sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM scheduling_candidates{} ORDER BY candidate_id LIMIT {}",
            conditions.sql(),
            limit + 1
        );
        let (total, mut items) = with_db!(&self.db, pool => {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count_values).fetch_one(pool).await?;
            let rows = bind_all!(sqlx::query(&page_sql), &conditions.values).fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(candidate_row!(row));
            }
            (total, items)
        });
        Ok(page(&mut items, limit, total, |row| {
            row.candidate_id.clone()
        }))
    }

    /// Sessions open for seating (cut-off after `now`, seats free), of `scheme` if given.
    pub async fn open_sessions(
        &self,
        scheme: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vec<OpenSession>, SchedulingError> {
        let mut conditions = Where::new();
        conditions.equals("status", Some("open".to_owned()));
        conditions.equals("scheme", scheme.map(str::to_owned));
        conditions.compare("cutoff", ">", Some(micros(now)));
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM scheduling_sessions{} AND seated < capacity ORDER BY starts_at",
            conditions.sql()
        );
        let rows = with_db!(&self.db, pool => {
            let rows = bind_all!(sqlx::query(&sql), &conditions.values).fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(session_row!(row));
            }
            items
        });
        Ok(rows.into_iter().filter_map(open_session).collect())
    }

    /// Candidates waiting for a seat, of `scheme` if given, oldest verification first.
    pub async fn waiting_candidates(
        &self,
        scheme: Option<&str>,
    ) -> Result<Vec<WaitingCandidate>, SchedulingError> {
        let mut conditions = Where::new();
        conditions.equals("status", Some("waiting".to_owned()));
        conditions.equals("scheme", scheme.map(str::to_owned));
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM scheduling_candidates{} ORDER BY verified_at, candidate_id",
            conditions.sql()
        );
        let rows = with_db!(&self.db, pool => {
            let rows = bind_all!(sqlx::query(&sql), &conditions.values).fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(candidate_row!(row));
            }
            items
        });
        Ok(rows.into_iter().filter_map(waiting_candidate).collect())
    }

    /// Open sessions with candidates whose cut-off has passed: the roster-lock job's work.
    pub async fn due_for_lock(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, SchedulingError> {
        let ids: Vec<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT session_id FROM scheduling_sessions WHERE status = 'open' AND cutoff <= $1 \
                 AND seated > 0 ORDER BY starts_at",
            )
            .bind(micros(now))
            .fetch_all(pool)
            .await?
        });
        Ok(ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok().map(SessionId))
            .collect())
    }
}

/// What a decision needs to know of a candidate: the region, and the attempt the next
/// decision counts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateFacts {
    /// Posting region: when verified, or where the worker moved since.
    pub region: RegionCode,
    /// Failed attempts so far, plus one.
    pub next_attempt: u32,
}

impl Pool {
    /// The facts of `candidates` as the read model has them, without catching up: a candidate
    /// missing here is looked up in its stream by the caller. (Both facts change rarely: the
    /// region when the worker moves, the attempts when the previous attempt's return was
    /// recorded, long before the decision that needs them.)
    pub async fn candidate_facts(
        &self,
        candidates: &[CandidateId],
    ) -> Result<std::collections::HashMap<CandidateId, CandidateFacts>, SchedulingError> {
        let mut facts = std::collections::HashMap::new();
        for chunk in candidates.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT candidate_id, region, attempts FROM scheduling_candidates WHERE candidate_id IN ({})",
                placeholders.join(", ")
            );
            let values: Vec<Value> = chunk.iter().map(|c| Value::Text(c.to_string())).collect();
            let rows: Vec<(String, String, i32)> = with_db!(&self.db, pool => {
                bind_all!(sqlx::query_as(&sql), &values).fetch_all(pool).await?
            });
            for (id, region, attempts) in rows {
                if let (Ok(id), Ok(region)) = (Uuid::parse_str(&id), RegionCode::parse(&region)) {
                    let next_attempt = to_u32(i64::from(attempts)).saturating_add(1);
                    facts.insert(
                        CandidateId(id),
                        CandidateFacts {
                            region,
                            next_attempt,
                        },
                    );
                }
            }
        }
        Ok(facts)
    }
}

impl Where {
    fn equals_after(&mut self, column: &str, after: Option<&str>) {
        if let Some(after) = after {
            self.values.push(Value::Text(after.to_owned()));
            self.conditions
                .push(format!("{column} > ${}", self.values.len()));
        }
    }
}

fn page<T>(items: &mut Vec<T>, limit: u32, total: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    Page {
        items: std::mem::take(items),
        next,
        total: u64::try_from(total).unwrap_or(0),
    }
}

fn open_session(row: SessionRow) -> Option<OpenSession> {
    Some(OpenSession {
        id: SessionId(Uuid::parse_str(&row.session_id).ok()?),
        scheme_code: row.scheme,
        region: RegionCode::parse(&row.region).ok()?,
        online: row.mode == "online",
        served: row
            .served
            .iter()
            .filter_map(|code| RegionCode::parse(code).ok())
            .collect(),
        starts_at: row.starts_at,
        free: row.capacity.saturating_sub(row.seated),
    })
}

fn waiting_candidate(row: CandidateRow) -> Option<WaitingCandidate> {
    Some(WaitingCandidate {
        id: CandidateId(Uuid::parse_str(&row.candidate_id).ok()?),
        worker: WorkerId(Uuid::parse_str(&row.worker_id).ok()?),
        scheme_code: row.scheme,
        region: RegionCode::parse(&row.region).ok()?,
        eligible_from: Date::parse(
            &row.eligible_from,
            &time::format_description::well_known::Iso8601::DATE,
        )
        .ok()?,
        verified_at: row.verified_at,
    })
}
