//! The events certification consumes: scheduling's decisions and enrollment's registrations
//! and erasures, read into what certification needs of them. Decoding never panics.

use kesos_aggregate::DecodeError;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use prost::Message;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{SchemeRef, WorkerId};
use crate::wire::{
    ASSESSMENT_DECIDED, Bad, WORKER_DEPARTED, WORKER_ERASED, WORKER_POSTING_MOVED,
    WORKER_REGISTERED, WORKER_RETURNED, date_of, decode_as, scheme_of, scheme_to, uuid_of,
};

/// An assessment decision, as certification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The decision's event id: the basis of the certificate, and its identity.
    pub event_id: Uuid,
    /// The worker assessed.
    pub worker_id: WorkerId,
    /// The scheme tested.
    pub scheme: SchemeRef,
    /// Kompeten (true) or belum kompeten.
    pub kompeten: bool,
    /// When LSPS decided (the event's business time when the payload has none).
    pub decided_at: OffsetDateTime,
    /// The deciding LSPS.
    pub lsps_id: String,
    /// The candidate's region code, if given.
    pub region: Option<String>,
}

/// Reads an `AssessmentDecided` payload delivered with `event_id` at `occurred_at`.
pub fn decision(
    event_id: Uuid,
    occurred_at: OffsetDateTime,
    payload: &[u8],
) -> Result<Decision, DecodeError> {
    let m: scheduling::AssessmentDecided = decode_as(ASSESSMENT_DECIDED, payload)?;
    let malformed = |reason: Bad| DecodeError::malformed(ASSESSMENT_DECIDED, reason);
    let kompeten = match common::AssessmentDecision::try_from(m.decision) {
        Ok(common::AssessmentDecision::Kompeten) => true,
        Ok(common::AssessmentDecision::BelumKompeten) => false,
        _ => {
            return Err(malformed(format!(
                "decision has unknown value {}",
                m.decision
            )));
        }
    };
    let decided_at = match m.decided_at {
        Some(at) => {
            let nanos = i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos);
            OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map_err(|e| malformed(format!("decided_at: {e}")))?
        }
        None => occurred_at,
    };
    Ok(Decision {
        event_id,
        worker_id: WorkerId(uuid_of("worker_id", &m.worker_id).map_err(malformed)?),
        scheme: scheme_of(m.scheme).map_err(malformed)?,
        kompeten,
        decided_at,
        lsps_id: m.lsps_id,
        region: m.region.map(|r| r.code).filter(|c| !c.is_empty()),
    })
}

/// A worker's registration as certification keeps it: the worker and the posting. The name
/// the event carries is sealed under enrollment's key for the worker, which certification does
/// not hold: it asks enrollment for the name instead (see `crate::service::views`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The worker.
    pub worker_id: WorkerId,
    /// The posting region code.
    pub posting: Option<String>,
}

/// Reads a `WorkerRegistered` payload.
pub fn worker_registered(payload: &[u8]) -> Result<Holder, DecodeError> {
    let m: enrollment::WorkerRegistered = decode_as(WORKER_REGISTERED, payload)?;
    let malformed = |reason: Bad| DecodeError::malformed(WORKER_REGISTERED, reason);
    Ok(Holder {
        worker_id: WorkerId(uuid_of("worker_id", &m.worker_id).map_err(malformed)?),
        posting: m.posting.map(|r| r.code).filter(|c| !c.is_empty()),
    })
}

/// Reads a `WorkerPostingMoved` payload: the worker and its new posting's region code.
pub fn worker_posting_moved(payload: &[u8]) -> Result<(WorkerId, String), DecodeError> {
    let m: enrollment::WorkerPostingMoved = decode_as(WORKER_POSTING_MOVED, payload)?;
    let malformed = |reason: Bad| DecodeError::malformed(WORKER_POSTING_MOVED, reason);
    let worker = WorkerId(uuid_of("worker_id", &m.worker_id).map_err(malformed)?);
    let posting = m
        .to_posting
        .map(|r| r.code)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| malformed("to_posting is missing".into()))?;
    Ok((worker, posting))
}

/// A worker's departure from the programme, as certification shows it beside the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// The worker.
    pub worker_id: WorkerId,
    /// The business date (WIB).
    pub departed_on: time::Date,
    /// `resigned`, `retired`, `died` or `left_programme`.
    pub reason: &'static str,
}

/// Reads a `WorkerDeparted` payload.
pub fn worker_departed(payload: &[u8]) -> Result<Departure, DecodeError> {
    let m: enrollment::WorkerDeparted = decode_as(WORKER_DEPARTED, payload)?;
    let malformed = |reason: Bad| DecodeError::malformed(WORKER_DEPARTED, reason);
    let reason = match enrollment::DepartureReason::try_from(m.reason) {
        Ok(enrollment::DepartureReason::Resigned) => "resigned",
        Ok(enrollment::DepartureReason::Retired) => "retired",
        Ok(enrollment::DepartureReason::Died) => "died",
        Ok(enrollment::DepartureReason::LeftProgramme) => "left_programme",
        _ => return Err(malformed(format!("reason has unknown value {}", m.reason))),
    };
    Ok(Departure {
        worker_id: WorkerId(uuid_of("worker_id", &m.worker_id).map_err(malformed)?),
        departed_on: date_of("departed_on", m.departed_on).map_err(malformed)?,
        reason,
    })
}

/// Reads a `WorkerReturned` payload: the worker who came back.
pub fn worker_returned(payload: &[u8]) -> Result<WorkerId, DecodeError> {
    let m: enrollment::WorkerReturned = decode_as(WORKER_RETURNED, payload)?;
    uuid_of("worker_id", &m.worker_id)
        .map(WorkerId)
        .map_err(|reason| DecodeError::malformed(WORKER_RETURNED, reason))
}

/// Reads a `WorkerErased` payload: the erased worker.
pub fn worker_erased(payload: &[u8]) -> Result<WorkerId, DecodeError> {
    let m: enrollment::WorkerErased = decode_as(WORKER_ERASED, payload)?;
    uuid_of("worker_id", &m.worker_id)
        .map(WorkerId)
        .map_err(|reason| DecodeError::malformed(WORKER_ERASED, reason))
}

/// An `AssessmentDecided` payload (for tests, demos and the bench, which stand in for
/// scheduling).
pub fn assessment_decided(
    worker_id: Uuid,
    scheme: &SchemeRef,
    kompeten: bool,
    decided_at: OffsetDateTime,
    lsps_id: &str,
    region: Option<&str>,
) -> Vec<u8> {
    let decision = if kompeten {
        common::AssessmentDecision::Kompeten
    } else {
        common::AssessmentDecision::BelumKompeten
    };
    scheduling::AssessmentDecided {
        worker_id: worker_id.to_string(),
        scheme: scheme_to(scheme),
        decision: decision as i32,
        decided_at: Some(kesos_proto::prost_types::Timestamp {
            seconds: decided_at.unix_timestamp(),
            nanos: i32::try_from(decided_at.nanosecond()).unwrap_or(0),
        }),
        lsps_id: lsps_id.to_owned(),
        region: region.map(|code| common::RegionRef {
            code: code.to_owned(),
            edition: String::new(),
        }),
        ..Default::default()
    }
    .encode_to_vec()
}
