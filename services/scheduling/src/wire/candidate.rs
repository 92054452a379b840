//! The candidate's events as `kesos.scheduling.v1` messages.

use kesos_aggregate::{DecodeError, EventCodec};
use kesos_proto::kesos::scheduling::v1 as pb;
use prost::Message;

use super::fields::*;
use crate::domain::{
    CandidateEvent, CandidateId, Departed, PostingMoved, Queued, Returned, ReturnedFromDeparture,
    SessionId, WorkerId,
};

impl EventCodec for CandidateEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Queued(_) => super::CANDIDATE_QUEUED,
            Self::Returned(_) => super::CANDIDATE_RETURNED,
            Self::PostingMoved(_) => super::CANDIDATE_POSTING_MOVED,
            Self::Departed(_) => super::CANDIDATE_DEPARTED,
            Self::ReturnedFromDeparture(_) => super::CANDIDATE_RETURNED_FROM_DEPARTURE,
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Queued(q) => pb::CandidateQueued {
                candidate_id: q.candidate.to_string(),
                nomination_id: q.candidate.to_string(),
                worker_id: q.worker.to_string(),
                scheme: scheme(&q.scheme),
                region: region_ref(&q.region),
                verified_at: timestamp(q.verified_at),
            }
            .encode_to_vec(),
            Self::Returned(r) => pb::CandidateReturnedToPool {
                candidate_id: r.candidate.to_string(),
                worker_id: r.worker.to_string(),
                reason: return_reason(r.reason),
                note: r.note.clone(),
                eligible_from: date(r.eligible_from),
                session_id: r.session.map(|s| s.to_string()).unwrap_or_default(),
                failed_on: r.failed_on.and_then(date),
                attempt: r.attempt,
            }
            .encode_to_vec(),
            Self::PostingMoved(m) => pb::CandidatePostingMoved {
                candidate_id: m.candidate.to_string(),
                worker_id: m.worker.to_string(),
                from_region: region_ref(&m.from),
                to_region: region_ref(&m.to),
            }
            .encode_to_vec(),
            Self::Departed(d) => pb::CandidateDeparted {
                candidate_id: d.candidate.to_string(),
                worker_id: d.worker.to_string(),
                reason: departure_reason(d.reason),
                departed_on: date(d.departed_on),
                note: d.note.clone(),
            }
            .encode_to_vec(),
            Self::ReturnedFromDeparture(r) => pb::CandidateReturnedFromDeparture {
                candidate_id: r.candidate.to_string(),
                worker_id: r.worker.to_string(),
                returned_on: date(r.returned_on),
                eligible_from: date(r.eligible_from),
            }
            .encode_to_vec(),
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if schema_version != 1 {
            return Err(DecodeError::unsupported_schema_version(
                event_type,
                schema_version,
            ));
        }
        let decoded: Result<Self, Bad> = match event_type {
            super::CANDIDATE_QUEUED => pb::CandidateQueued::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Queued(Queued {
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        scheme: scheme_of(m.scheme)?,
                        region: region_of("region", m.region)?,
                        verified_at: instant_of("verified_at", m.verified_at)?,
                    }))
                }),
            super::CANDIDATE_RETURNED => pb::CandidateReturnedToPool::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Returned(Returned {
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        reason: return_reason_of(m.reason)?,
                        note: m.note,
                        eligible_from: date_of("eligible_from", m.eligible_from)?,
                        session: optional_uuid_of("session_id", &m.session_id)?.map(SessionId),
                        failed_on: match m.failed_on {
                            Some(day) => Some(date_of("failed_on", Some(day))?),
                            None => None,
                        },
                        attempt: m.attempt,
                    }))
                }),
            super::CANDIDATE_POSTING_MOVED => pb::CandidatePostingMoved::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::PostingMoved(PostingMoved {
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        from: region_of("from_region", m.from_region)?,
                        to: region_of("to_region", m.to_region)?,
                    }))
                }),
            super::CANDIDATE_DEPARTED => pb::CandidateDeparted::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Departed(Departed {
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        reason: departure_reason_of(m.reason)?,
                        note: m.note,
                        departed_on: date_of("departed_on", m.departed_on)?,
                    }))
                }),
            super::CANDIDATE_RETURNED_FROM_DEPARTURE => {
                pb::CandidateReturnedFromDeparture::decode(payload)
                    .map_err(|e| e.to_string())
                    .and_then(|m| {
                        Ok(Self::ReturnedFromDeparture(ReturnedFromDeparture {
                            candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                            worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                            returned_on: date_of("returned_on", m.returned_on)?,
                            eligible_from: date_of("eligible_from", m.eligible_from)?,
                        }))
                    })
            }
            other => return Err(DecodeError::unknown_type(other)),
        };
        decoded.map_err(|reason| DecodeError::malformed(event_type, reason))
    }
}
