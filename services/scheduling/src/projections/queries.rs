//! Reading the pool and session read models: filtered, paged lists, and the inputs of
//! auto-allocation, of the roster-lock job and of LSPS reports. Every method only reads, as
//! far as the projector has applied; see [`Scheduling::pool_at_head`] for a caller that must
//! see everything logged so far.
//!
//! [`Scheduling::pool_at_head`]: crate::service::Scheduling::pool_at_head

use std::collections::HashMap;

use kesos_eventstore::model::unix_micros;
use kesos_readside::{Db, Page, PageQuery, Where};
use kesos_regions::RegionCode;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rows::{
    CANDIDATE_COLUMNS, CandidateRow, SESSION_COLUMNS, SessionRow, candidate_row, count,
    open_session, session_row, waiting_candidate,
};
use crate::domain::{CandidateId, OpenSession, SessionId, WaitingCandidate, WorkerId};
use crate::service::SchedulingError;

/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

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

/// What a decision needs to know of a candidate: the region, and the attempt the next
/// decision counts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateFacts {
    /// Posting region: when verified, or where the worker moved since.
    pub region: RegionCode,
    /// Failed attempts so far, plus one.
    pub next_attempt: u32,
}

/// The read models' rows, read-only. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pool {
    db: Db,
}

impl Pool {
    /// A reader over the service's database (the projector writes the same tables).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One page of sessions matching `filter`, after the session id `after`.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<SessionRow>, SchedulingError> {
        let region = filter.region.as_ref().map(RegionCode::as_str);
        let mut matching = Where::new();
        matching
            .equals("scheme", filter.scheme.clone())
            .equals("status", filter.status.clone())
            .within("region", region)
            .equals("lsps_id", filter.lsps.clone())
            .compare("starts_at", ">=", filter.from.map(unix_micros))
            .compare("starts_at", "<", filter.until.map(unix_micros));
        let query = PageQuery {
            columns: SESSION_COLUMNS,
            from: "scheduling_sessions",
            key: "session_id",
            filter: &matching,
            after,
            limit,
            max: MAX_PAGE,
        };
        Ok(self
            .db
            .page(query, session_row, |row| row.session_id.clone())
            .await?)
    }

    /// One page of candidates matching `filter`, after the candidate id `after`.
    pub async fn list_candidates(
        &self,
        filter: &CandidateFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<CandidateRow>, SchedulingError> {
        let region = filter.region.as_ref().map(RegionCode::as_str);
        let mut matching = Where::new();
        matching
            .equals("scheme", filter.scheme.clone())
            .equals("status", filter.status.clone())
            .within("region", region)
            .equals("session_id", filter.session.map(|s| s.to_string()))
            .equals("worker_id", filter.worker.map(|w| w.to_string()));
        let query = PageQuery {
            columns: CANDIDATE_COLUMNS,
            from: "scheduling_candidates",
            key: "candidate_id",
            filter: &matching,
            after,
            limit,
            max: MAX_PAGE,
        };
        Ok(self
            .db
            .page(query, candidate_row, |row| row.candidate_id.clone())
            .await?)
    }

    /// Sessions open for seating (cut-off after `now`, seats free), of `scheme` if given,
    /// earliest first.
    pub async fn open_sessions(
        &self,
        scheme: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vec<OpenSession>, SchedulingError> {
        let mut matching = Where::new();
        matching
            .equals("status", Some("open"))
            .equals("scheme", scheme)
            .compare("cutoff", ">", Some(unix_micros(now)));
        // `status` is always given, so the clause is never empty and the last condition joins
        // it with AND.
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM scheduling_sessions{} AND seated < capacity \
             ORDER BY starts_at",
            matching.sql()
        );
        let rows = self
            .db
            .query(&sql)
            .bind_values(matching.values())
            .fetch_all()
            .await?;
        let sessions = rows
            .iter()
            .map(session_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sessions.into_iter().filter_map(open_session).collect())
    }

    /// Candidates waiting for a seat, of `scheme` if given, oldest verification first (a
    /// departed candidate is listed as `departed`, never `waiting`; the departure is checked
    /// too, so a row is offered only while its worker is in the programme).
    pub async fn waiting_candidates(
        &self,
        scheme: Option<&str>,
    ) -> Result<Vec<WaitingCandidate>, SchedulingError> {
        let mut matching = Where::new();
        matching
            .equals("status", Some("waiting"))
            .equals("scheme", scheme);
        // `status` is always given, so the clause is never empty.
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM scheduling_candidates{} AND departed_on IS NULL \
             ORDER BY verified_at, candidate_id",
            matching.sql()
        );
        let rows = self
            .db
            .query(&sql)
            .bind_values(matching.values())
            .fetch_all()
            .await?;
        let candidates = rows
            .iter()
            .map(candidate_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(candidates
            .into_iter()
            .filter_map(waiting_candidate)
            .collect())
    }

    /// Open sessions with candidates whose cut-off has passed: the roster-lock job's work.
    pub async fn due_for_lock(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, SchedulingError> {
        let rows = self
            .db
            .query(
                "SELECT session_id FROM scheduling_sessions WHERE status = 'open' \
                 AND cutoff <= $1 AND seated > 0 ORDER BY starts_at",
            )
            .bind(unix_micros(now))
            .fetch_all()
            .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.get("session_id")?;
            if let Ok(id) = Uuid::parse_str(&id) {
                due.push(SessionId(id));
            }
        }
        Ok(due)
    }

    /// The facts of `candidates` as the read model has them: a candidate missing here is
    /// looked up in its stream by the caller. (Both facts change rarely: the region when the
    /// worker moves, the attempts when the previous attempt's return was recorded, long before
    /// the decision that needs them; so this does not wait for the log's head.)
    pub async fn candidate_facts(
        &self,
        candidates: &[CandidateId],
    ) -> Result<HashMap<CandidateId, CandidateFacts>, SchedulingError> {
        let mut facts = HashMap::new();
        for chunk in candidates.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT candidate_id, region, attempts FROM scheduling_candidates \
                 WHERE candidate_id IN ({})",
                placeholders.join(", ")
            );
            let rows = chunk
                .iter()
                .fold(self.db.query(&sql), |query, c| query.bind(c.to_string()))
                .fetch_all()
                .await?;
            for row in &rows {
                let id: String = row.get("candidate_id")?;
                let region: String = row.get("region")?;
                if let (Ok(id), Ok(region)) = (Uuid::parse_str(&id), RegionCode::parse(&region)) {
                    let next_attempt = count(row, "attempts")?.saturating_add(1);
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
