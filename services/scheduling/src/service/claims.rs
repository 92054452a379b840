//! The unique claims that carry scheduling's rules across streams, taken and released in the
//! same transaction as the session's events:
//!
//! - `scheduling.seat:<candidate>` — held by the session a candidate is seated in, so a
//!   candidate never holds two seats, also under concurrent allocations;
//! - `scheduling.assessor:<assessor>:<slot>` — one per assessor per half hour a session lasts,
//!   so an assessor is never booked into two overlapping sessions. Sessions are booked in whole
//!   half hours (a session from 08:10 books the slot from 08:00).

use kesos_eventstore::{ClaimKey, Claims, InputError};
use time::OffsetDateTime;

use crate::domain::{CandidateId, Plan, Session, SessionEvent, Timing};

/// Length of an assessor booking slot, in seconds.
pub const SLOT_SECONDS: i64 = 30 * 60;

/// The claim that keeps a candidate in one seat.
pub fn seat_claim(candidate: CandidateId) -> Result<ClaimKey, InputError> {
    ClaimKey::parse(&format!("scheduling.seat:{candidate}"))
}

fn slots(starts_at: OffsetDateTime, ends_at: OffsetDateTime) -> std::ops::Range<i64> {
    let first = starts_at.unix_timestamp().div_euclid(SLOT_SECONDS);
    let last = (ends_at.unix_timestamp() + SLOT_SECONDS - 1).div_euclid(SLOT_SECONDS);
    first..last
}

/// The booking claims of a timing's assessors.
pub fn booking_claims(timing: &Timing) -> Result<Vec<ClaimKey>, InputError> {
    let mut keys = Vec::new();
    for assessor in &timing.assessors {
        for slot in slots(timing.starts_at, timing.ends_at) {
            keys.push(ClaimKey::parse(&format!(
                "scheduling.assessor:{assessor}:{slot}"
            ))?);
        }
    }
    Ok(keys)
}

/// The assessor a booking claim belongs to.
pub fn assessor_of(key: &ClaimKey) -> Option<String> {
    let rest = key.as_str().strip_prefix("scheduling.assessor:")?;
    rest.rsplit_once(':')
        .map(|(assessor, _)| assessor.to_owned())
}

/// True for a seat claim.
pub fn is_seat(key: &ClaimKey) -> bool {
    key.as_str().starts_with("scheduling.seat:")
}

fn plan_timing(plan: Option<&Plan>) -> Option<Timing> {
    plan.map(Plan::timing)
}

/// The claims a session's new events take and release, given the state before them.
pub fn for_session_events(before: &Session, events: &[SessionEvent]) -> Result<Claims, InputError> {
    let mut claims = Claims::default();
    let mut timing = plan_timing(before.plan.as_ref());
    for event in events {
        match event {
            SessionEvent::Scheduled { plan, .. } => {
                claims.take.extend(booking_claims(&plan.timing())?);
                timing = Some(plan.timing());
            }
            SessionEvent::Changed { timing: new, .. } => {
                let old = match &timing {
                    Some(old) => booking_claims(old)?,
                    None => Vec::new(),
                };
                let fresh = booking_claims(new)?;
                claims
                    .release
                    .extend(old.iter().filter(|k| !fresh.contains(k)).cloned());
                claims
                    .take
                    .extend(fresh.iter().filter(|k| !old.contains(k)).cloned());
                timing = Some(new.clone());
            }
            SessionEvent::Seated { candidate, .. } => claims.take.push(seat_claim(*candidate)?),
            SessionEvent::Unseated { candidate, .. }
            | SessionEvent::MovedOut { candidate, .. }
            | SessionEvent::SeatReleased { candidate, .. } => {
                claims.release.push(seat_claim(*candidate)?);
            }
            SessionEvent::Cancelled { candidates, .. } => {
                for candidate in candidates {
                    claims.release.push(seat_claim(*candidate)?);
                }
                if let Some(old) = &timing {
                    claims.release.extend(booking_claims(old)?);
                }
            }
            SessionEvent::RosterLocked { .. }
            | SessionEvent::AttendanceRecorded { .. }
            | SessionEvent::Decided(_) => {}
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::ExternalId;
    use time::macros::datetime;

    fn timing(from: OffsetDateTime, to: OffsetDateTime) -> Timing {
        Timing {
            starts_at: from,
            ends_at: to,
            capacity: 10,
            assessors: vec![ExternalId::parse("A-1").unwrap()],
            cutoff: from,
        }
    }

    #[test]
    fn overlapping_sessions_share_a_booking_slot_and_back_to_back_ones_do_not() {
        let morning = booking_claims(&timing(
            datetime!(2026-12-01 08:00 UTC),
            datetime!(2026-12-01 12:00 UTC),
        ))
        .unwrap();
        let afternoon = booking_claims(&timing(
            datetime!(2026-12-01 12:00 UTC),
            datetime!(2026-12-01 16:00 UTC),
        ))
        .unwrap();
        let overlapping = booking_claims(&timing(
            datetime!(2026-12-01 11:45 UTC),
            datetime!(2026-12-01 13:00 UTC),
        ))
        .unwrap();
        assert_eq!(morning.len(), 8);
        assert!(morning.iter().all(|k| !afternoon.contains(k)));
        assert!(overlapping.iter().any(|k| morning.contains(k)));
        assert!(overlapping.iter().any(|k| afternoon.contains(k)));
        assert_eq!(assessor_of(&morning[0]).as_deref(), Some("A-1"));
    }
}
