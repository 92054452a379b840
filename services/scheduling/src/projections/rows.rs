//! The rows as lists show them, and how a stored row becomes one: plain functions over
//! [`kesos_readside::Row`], the same on both backends.

use kesos_eventstore::model::from_unix_micros;
use kesos_readside::Row;
use kesos_regions::RegionCode;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{CandidateId, OpenSession, SessionId, WaitingCandidate, WorkerId};

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
    /// `waiting`, `departed` (the worker left the programme; not offered a seat), `seated`,
    /// `no_show`, `belum_kompeten` or `kompeten`.
    pub status: String,
    /// The session, when seated or last tested.
    pub session_id: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The business date the worker left the programme, while departed (`YYYY-MM-DD`).
    pub departed_on: Option<String>,
    /// Why the worker left (`resigned`, `retired`, `died`, `left_programme`), while departed.
    pub departure_reason: Option<String>,
}

/// The columns [`session_row`] reads.
pub(super) const SESSION_COLUMNS: &str = "session_id, scheme, mode, region, served, starts_at, \
                                          ends_at, cutoff, capacity, seated, status, lsps_id";

/// The columns [`candidate_row`] reads.
pub(super) const CANDIDATE_COLUMNS: &str = "candidate_id, worker_id, scheme, region, \
                                            verified_at, eligible_from, status, session_id, \
                                            attempts, departed_on, departure_reason";

/// A stored instant (microseconds since the epoch).
fn instant(row: &Row, column: &str) -> Result<OffsetDateTime, sqlx::Error> {
    from_unix_micros(row.get(column)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A stored count (never negative as written; read as 0 if it were).
pub(super) fn count(row: &Row, column: &str) -> Result<u32, sqlx::Error> {
    Ok(u32::try_from(row.get::<i32>(column)?).unwrap_or(0))
}

/// A session row of [`SESSION_COLUMNS`].
pub(super) fn session_row(row: &Row) -> Result<SessionRow, sqlx::Error> {
    let served: String = row.get("served")?;
    Ok(SessionRow {
        session_id: row.get("session_id")?,
        scheme: row.get("scheme")?,
        mode: row.get("mode")?,
        region: row.get("region")?,
        served: served.split_whitespace().map(str::to_owned).collect(),
        starts_at: instant(row, "starts_at")?,
        ends_at: instant(row, "ends_at")?,
        reschedule_cutoff: instant(row, "cutoff")?,
        capacity: count(row, "capacity")?,
        seated: count(row, "seated")?,
        status: row.get("status")?,
        lsps_id: row.get("lsps_id")?,
    })
}

/// A candidate row of [`CANDIDATE_COLUMNS`].
pub(super) fn candidate_row(row: &Row) -> Result<CandidateRow, sqlx::Error> {
    Ok(CandidateRow {
        candidate_id: row.get("candidate_id")?,
        worker_id: row.get("worker_id")?,
        scheme: row.get("scheme")?,
        region: row.get("region")?,
        verified_at: instant(row, "verified_at")?,
        eligible_from: row.get("eligible_from")?,
        status: row.get("status")?,
        session_id: row.get("session_id")?,
        attempts: count(row, "attempts")?,
        departed_on: row.get("departed_on")?,
        departure_reason: row.get("departure_reason")?,
    })
}

/// A session as auto-allocation plans with it (`None`: a row the domain cannot read).
pub(super) fn open_session(row: SessionRow) -> Option<OpenSession> {
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

/// A candidate as auto-allocation plans with it (`None`: a row the domain cannot read).
pub(super) fn waiting_candidate(row: CandidateRow) -> Option<WaitingCandidate> {
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
