//! How scheduling's events change the pool and session rows. The SQL is the same on both
//! backends; instants are stored as microseconds since the epoch and days as `YYYY-MM-DD`, so
//! both order correctly. Each row also keeps the position of the last event that changed it.
//!
//! A departed candidate (its worker left the programme) keeps its row with the departure's
//! date and reason; whenever it would wait in the pool it is listed as `departed` instead of
//! `waiting`, so auto-allocation never offers it, until the worker's return clears both.

use async_trait::async_trait;
use kesos_aggregate::EventCodec;
use kesos_eventstore::model::unix_micros;
use kesos_readside::{Delivered, Projection, ProjectionError, Tx, to_i64};

use crate::domain::{Attendance, CandidateEvent, Decision, SessionEvent, SessionStatus, Venue};
use crate::wire::{PACKAGE, is_candidate_event};

/// The pool and session read models as a [`Projection`]: every scheduling event, nothing
/// else.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolProjection;

#[async_trait]
impl Projection for PoolProjection {
    fn name(&self) -> &str {
        super::NAME
    }

    fn handles(&self, event_type: &str) -> bool {
        event_type
            .strip_prefix(PACKAGE)
            .is_some_and(|rest| rest.starts_with('.'))
    }

    fn batch_size(&self) -> usize {
        2_000
    }

    async fn apply(&self, tx: &mut Tx, events: &[&Delivered]) -> Result<(), ProjectionError> {
        for delivered in events {
            let record = &delivered.event;
            let event_type = record.event_type.as_str();
            let position = to_i64(record.position);
            if is_candidate_event(event_type) {
                let event =
                    CandidateEvent::decode(event_type, record.schema_version, &record.payload)
                        .map_err(|e| ProjectionError::event(delivered, e))?;
                apply_candidate(tx, &event, position).await?;
            } else {
                let event =
                    SessionEvent::decode(event_type, record.schema_version, &record.payload)
                        .map_err(|e| ProjectionError::event(delivered, e))?;
                apply_session(tx, &event, position).await?;
            }
        }
        Ok(())
    }
}

async fn apply_candidate(
    tx: &mut Tx,
    event: &CandidateEvent,
    position: i64,
) -> Result<(), sqlx::Error> {
    match event {
        CandidateEvent::Queued(q) => {
            tx.query(
                "INSERT INTO scheduling_candidates (candidate_id, worker_id, scheme, region, \
                 verified_at, eligible_from, status, session_id, attempts, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'waiting', NULL, 0, $7) \
                 ON CONFLICT (candidate_id) DO NOTHING",
            )
            .bind(q.candidate.to_string())
            .bind(q.worker.to_string())
            .bind(q.scheme.code.clone())
            .bind(q.region.to_string())
            .bind(unix_micros(q.verified_at))
            .bind(q.verified_at.date().to_string())
            .bind(position)
            .execute()
            .await?;
        }
        CandidateEvent::Returned(r) => {
            let sql = format!(
                "UPDATE scheduling_candidates SET status = {IN_THE_POOL}, session_id = NULL, \
                 eligible_from = $1, attempts = attempts + $2, position = $3 \
                 WHERE candidate_id = $4"
            );
            tx.query(&sql)
                .bind(r.eligible_from.to_string())
                .bind(i64::from(r.failed_on.is_some()))
                .bind(position)
                .bind(r.candidate.to_string())
                .execute()
                .await?;
        }
        CandidateEvent::PostingMoved(m) => {
            tx.query(
                "UPDATE scheduling_candidates SET region = $1, position = $2 \
                 WHERE candidate_id = $3",
            )
            .bind(m.to.to_string())
            .bind(position)
            .bind(m.candidate.to_string())
            .execute()
            .await?;
        }
        CandidateEvent::Departed(d) => {
            tx.query(
                "UPDATE scheduling_candidates SET departed_on = $1, departure_reason = $2, \
                 status = CASE WHEN status = 'waiting' THEN 'departed' ELSE status END, \
                 position = $3 WHERE candidate_id = $4",
            )
            .bind(d.departed_on.to_string())
            .bind(d.reason.code().to_owned())
            .bind(position)
            .bind(d.candidate.to_string())
            .execute()
            .await?;
        }
        CandidateEvent::ReturnedFromDeparture(r) => {
            tx.query(
                "UPDATE scheduling_candidates SET departed_on = NULL, departure_reason = NULL, \
                 status = CASE WHEN status = 'departed' THEN 'waiting' ELSE status END, \
                 eligible_from = $1, position = $2 WHERE candidate_id = $3",
            )
            .bind(r.eligible_from.to_string())
            .bind(position)
            .bind(r.candidate.to_string())
            .execute()
            .await?;
        }
    }
    Ok(())
}

/// The status of a candidate back in the pool: `waiting`, or `departed` while its worker is
/// away (never offered by auto-allocation).
const IN_THE_POOL: &str = "CASE WHEN departed_on IS NULL THEN 'waiting' ELSE 'departed' END";

/// A candidate back in the pool (unseated, moved out, its session cancelled), holding no seat.
async fn back_in_pool(
    tx: &mut Tx,
    candidate: impl ToString,
    position: i64,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE scheduling_candidates SET status = {IN_THE_POOL}, session_id = NULL, \
         position = $1 WHERE candidate_id = $2"
    );
    tx.query(&sql)
        .bind(position)
        .bind(candidate.to_string())
        .execute()
        .await?;
    Ok(())
}

/// Seats taken (`delta` 1) or given up (-1) in a session.
async fn seat_change(
    tx: &mut Tx,
    session: impl ToString,
    delta: i64,
    position: i64,
) -> Result<(), sqlx::Error> {
    tx.query(
        "UPDATE scheduling_sessions SET seated = seated + $1, position = $2 WHERE session_id = $3",
    )
    .bind(delta)
    .bind(position)
    .bind(session.to_string())
    .execute()
    .await?;
    Ok(())
}

/// A candidate's standing, and the session it holds or was last tested in (`None`: none).
async fn candidate_status(
    tx: &mut Tx,
    candidate: impl ToString,
    status: &str,
    session: Option<String>,
    position: i64,
) -> Result<(), sqlx::Error> {
    tx.query(
        "UPDATE scheduling_candidates SET status = $1, session_id = $2, position = $3 \
         WHERE candidate_id = $4",
    )
    .bind(status.to_owned())
    .bind(session)
    .bind(position)
    .bind(candidate.to_string())
    .execute()
    .await?;
    Ok(())
}

/// A session's status.
async fn session_status(
    tx: &mut Tx,
    session: impl ToString,
    status: SessionStatus,
    position: i64,
) -> Result<(), sqlx::Error> {
    tx.query("UPDATE scheduling_sessions SET status = $1, position = $2 WHERE session_id = $3")
        .bind(status.code().to_owned())
        .bind(position)
        .bind(session.to_string())
        .execute()
        .await?;
    Ok(())
}

async fn apply_session(
    tx: &mut Tx,
    event: &SessionEvent,
    position: i64,
) -> Result<(), sqlx::Error> {
    match event {
        SessionEvent::Scheduled { session, plan } => {
            let (mode, region) = match &plan.venue {
                Venue::TestSite { region, .. } => ("test_site", region),
                Venue::Online { organiser } => ("online", organiser),
            };
            let served: Vec<String> = plan.served.iter().map(ToString::to_string).collect();
            tx.query(
                "INSERT INTO scheduling_sessions (session_id, scheme, mode, region, served, \
                 starts_at, ends_at, cutoff, capacity, seated, status, lsps_id, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'open', $10, $11) \
                 ON CONFLICT (session_id) DO NOTHING",
            )
            .bind(session.to_string())
            .bind(plan.scheme.code.clone())
            .bind(mode)
            .bind(region.to_string())
            .bind(served.join(" "))
            .bind(unix_micros(plan.starts_at))
            .bind(unix_micros(plan.ends_at))
            .bind(unix_micros(plan.cutoff))
            .bind(i64::from(plan.capacity))
            .bind(plan.lsps.to_string())
            .bind(position)
            .execute()
            .await?;
        }
        SessionEvent::Changed {
            session, timing, ..
        } => {
            tx.query(
                "UPDATE scheduling_sessions SET starts_at = $1, ends_at = $2, cutoff = $3, \
                 capacity = $4, position = $5 WHERE session_id = $6",
            )
            .bind(unix_micros(timing.starts_at))
            .bind(unix_micros(timing.ends_at))
            .bind(unix_micros(timing.cutoff))
            .bind(i64::from(timing.capacity))
            .bind(position)
            .bind(session.to_string())
            .execute()
            .await?;
        }
        SessionEvent::Seated {
            session, candidate, ..
        } => {
            seat_change(tx, session, 1, position).await?;
            let held = Some(session.to_string());
            candidate_status(tx, candidate, "seated", held, position).await?;
        }
        SessionEvent::Unseated {
            session, candidate, ..
        }
        | SessionEvent::MovedOut {
            session, candidate, ..
        } => {
            seat_change(tx, session, -1, position).await?;
            back_in_pool(tx, candidate, position).await?;
        }
        SessionEvent::Cancelled {
            session,
            candidates,
            ..
        } => {
            tx.query(
                "UPDATE scheduling_sessions SET status = $1, seated = 0, position = $2 \
                 WHERE session_id = $3",
            )
            .bind(SessionStatus::Cancelled.code().to_owned())
            .bind(position)
            .bind(session.to_string())
            .execute()
            .await?;
            for candidate in candidates {
                back_in_pool(tx, candidate, position).await?;
            }
        }
        SessionEvent::RosterLocked { session, .. } => {
            session_status(tx, session, SessionStatus::Locked, position).await?;
        }
        SessionEvent::AttendanceRecorded {
            session,
            candidate,
            attendance: Attendance::NoShow,
            ..
        } => {
            let tested = Some(session.to_string());
            candidate_status(tx, candidate, "no_show", tested, position).await?;
        }
        SessionEvent::AttendanceRecorded { .. } | SessionEvent::SeatReleased { .. } => {}
        SessionEvent::Decided(record) => {
            let status = match record.report.decision {
                Decision::Kompeten => "kompeten",
                Decision::BelumKompeten => "belum_kompeten",
            };
            let tested = Some(record.session.to_string());
            candidate_status(tx, record.report.candidate, status, tested, position).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_handles_every_scheduling_event_and_nothing_else() {
        let projection = PoolProjection;
        assert!(projection.handles("kesos.scheduling.v1.SessionScheduled"));
        assert!(projection.handles("kesos.scheduling.v1.CandidateQueued"));
        assert!(!projection.handles("kesos.enrollment.v1.NominationVerified"));
        assert!(!projection.handles("kesos.scheduling.v10.SessionScheduled"));
        assert!(!projection.handles("kesos.scheduling.v1"));
    }
}
