//! The session's events as `kesos.scheduling.v1` messages.

use kesos_aggregate::{DecodeError, EventCodec};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::scheduling::v1 as pb;
use prost::Message;

use super::fields::*;
use crate::domain::{
    CandidateId, DecisionRecord, DecisionReport, Plan, SessionEvent, SessionId, Timing, Venue,
    WorkerId,
};

const SCHEDULED: &str = "kesos.scheduling.v1.SessionScheduled";
const CHANGED: &str = "kesos.scheduling.v1.SessionChanged";
const SEATED: &str = "kesos.scheduling.v1.CandidateSeated";
const UNSEATED: &str = "kesos.scheduling.v1.CandidateUnseated";
const RESCHEDULED: &str = "kesos.scheduling.v1.CandidateRescheduled";
const RELEASED: &str = "kesos.scheduling.v1.SeatReleased";

fn ids(values: &[CandidateId]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

fn candidates_of(values: &[String]) -> Result<Vec<CandidateId>, Bad> {
    values
        .iter()
        .map(|v| uuid_of("candidate_ids", v).map(CandidateId))
        .collect()
}

fn scheduled(session: SessionId, plan: &Plan) -> pb::SessionScheduled {
    let (mode, site) = match &plan.venue {
        Venue::TestSite { name, region } => (
            common::SessionMode::AtTestSite,
            common::TestSite {
                name: name.clone(),
                region: region_ref(region),
            },
        ),
        Venue::Online { organiser } => (
            common::SessionMode::Online,
            common::TestSite {
                name: String::new(),
                region: region_ref(organiser),
            },
        ),
    };
    pb::SessionScheduled {
        session_id: session.to_string(),
        scheme: scheme(&plan.scheme),
        mode: mode as i32,
        test_site: Some(site),
        starts_at: timestamp(plan.starts_at),
        ends_at: timestamp(plan.ends_at),
        capacity: plan.capacity,
        assessor_ids: plan.assessors.iter().map(ToString::to_string).collect(),
        served_regions: plan.served.iter().filter_map(region_ref).collect(),
        reschedule_cutoff: timestamp(plan.cutoff),
        lsps_id: plan.lsps.to_string(),
        units: competency_units(&plan.units),
    }
}

fn plan_of(m: pb::SessionScheduled) -> Result<(SessionId, Plan), Bad> {
    let site = m.test_site.ok_or("test_site is missing")?;
    let region = region_of("test_site.region", site.region)?;
    let venue = match common::SessionMode::try_from(m.mode) {
        Ok(common::SessionMode::AtTestSite) => Venue::TestSite {
            name: site.name,
            region,
        },
        Ok(common::SessionMode::Online) => Venue::Online { organiser: region },
        _ => return Err(format!("mode has no valid value ({})", m.mode)),
    };
    let served = m
        .served_regions
        .into_iter()
        .map(|r| region_of("served_regions", Some(r)))
        .collect::<Result<_, _>>()?;
    Ok((
        SessionId(uuid_of("session_id", &m.session_id)?),
        Plan {
            scheme: scheme_of(m.scheme)?,
            venue,
            starts_at: instant_of("starts_at", m.starts_at)?,
            ends_at: instant_of("ends_at", m.ends_at)?,
            capacity: m.capacity,
            assessors: externals_of("assessor_ids", &m.assessor_ids)?,
            served,
            cutoff: instant_of("reschedule_cutoff", m.reschedule_cutoff)?,
            lsps: external_of("lsps_id", &m.lsps_id)?,
            units: competency_units_of(m.units),
        },
    ))
}

fn decided(record: &DecisionRecord) -> pb::AssessmentDecided {
    let report = &record.report;
    pb::AssessmentDecided {
        session_id: record.session.to_string(),
        candidate_id: report.candidate.to_string(),
        worker_id: record.worker.to_string(),
        scheme: scheme(&record.scheme),
        unit_results: units(&report.units),
        decision: decision(report.decision),
        assessor_ids: report.assessors.iter().map(ToString::to_string).collect(),
        decided_at: timestamp(report.decided_at),
        lsps_id: report.lsps.to_string(),
        attempt: report.attempt,
        region: region_ref(&report.region),
        lsps_message_id: report.message_id.clone(),
    }
}

/// Reads an `AssessmentDecided` payload (also for consumers such as certification).
pub fn decision_record_of(m: pb::AssessmentDecided) -> Result<DecisionRecord, String> {
    Ok(DecisionRecord {
        session: SessionId(uuid_of("session_id", &m.session_id)?),
        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
        scheme: scheme_of(m.scheme)?,
        report: DecisionReport {
            candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
            units: units_of(m.unit_results)?,
            decision: decision_of(m.decision)?,
            assessors: externals_of("assessor_ids", &m.assessor_ids)?,
            decided_at: instant_of("decided_at", m.decided_at)?,
            lsps: external_of("lsps_id", &m.lsps_id)?,
            attempt: m.attempt,
            region: region_of("region", m.region)?,
            message_id: m.lsps_message_id,
        },
    })
}

impl EventCodec for SessionEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Scheduled { .. } => SCHEDULED,
            Self::Changed { .. } => CHANGED,
            Self::Seated { .. } => SEATED,
            Self::Unseated { .. } => UNSEATED,
            Self::MovedOut { .. } => RESCHEDULED,
            Self::Cancelled { .. } => super::SESSION_CANCELLED,
            Self::RosterLocked { .. } => super::ROSTER_LOCKED,
            Self::AttendanceRecorded { .. } => super::ATTENDANCE_RECORDED,
            Self::Decided(_) => super::ASSESSMENT_DECIDED,
            Self::SeatReleased { .. } => RELEASED,
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Scheduled { session, plan } => scheduled(*session, plan).encode_to_vec(),
            Self::Changed {
                session,
                timing,
                reason,
            } => pb::SessionChanged {
                session_id: session.to_string(),
                starts_at: timestamp(timing.starts_at),
                ends_at: timestamp(timing.ends_at),
                capacity: timing.capacity,
                assessor_ids: timing.assessors.iter().map(ToString::to_string).collect(),
                reschedule_cutoff: timestamp(timing.cutoff),
                reason: reason.clone(),
            }
            .encode_to_vec(),
            Self::Seated {
                session,
                candidate,
                worker,
                rescheduled_from,
                auto,
            } => pb::CandidateSeated {
                session_id: session.to_string(),
                candidate_id: candidate.to_string(),
                worker_id: worker.to_string(),
                rescheduled_from_session_id: rescheduled_from
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                auto_allocated: *auto,
            }
            .encode_to_vec(),
            Self::Unseated {
                session,
                candidate,
                worker,
                reason,
            } => pb::CandidateUnseated {
                session_id: session.to_string(),
                candidate_id: candidate.to_string(),
                worker_id: worker.to_string(),
                reason: reason.clone(),
            }
            .encode_to_vec(),
            Self::MovedOut {
                session,
                candidate,
                worker,
                to,
                reason,
            } => pb::CandidateRescheduled {
                candidate_id: candidate.to_string(),
                worker_id: worker.to_string(),
                from_session_id: session.to_string(),
                to_session_id: to.to_string(),
                reason: reason.clone(),
            }
            .encode_to_vec(),
            Self::Cancelled {
                session,
                reason,
                candidates,
            } => pb::SessionCancelled {
                session_id: session.to_string(),
                reason: reason.clone(),
                candidate_ids: ids(candidates),
            }
            .encode_to_vec(),
            Self::RosterLocked {
                session,
                candidates,
            } => pb::RosterLocked {
                session_id: session.to_string(),
                candidate_ids: ids(candidates),
            }
            .encode_to_vec(),
            Self::AttendanceRecorded {
                session,
                candidate,
                worker,
                attendance: value,
                attempt,
            } => pb::AttendanceRecorded {
                session_id: session.to_string(),
                candidate_id: candidate.to_string(),
                worker_id: worker.to_string(),
                attendance: attendance(*value),
                attempt: *attempt,
            }
            .encode_to_vec(),
            Self::Decided(record) => decided(record).encode_to_vec(),
            Self::SeatReleased {
                session,
                candidate,
                worker,
                reason,
            } => pb::SeatReleased {
                session_id: session.to_string(),
                candidate_id: candidate.to_string(),
                worker_id: worker.to_string(),
                reason: return_reason(*reason),
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
        let malformed = |reason: String| DecodeError::malformed(event_type, reason);
        let decoded: Result<Self, Bad> = match event_type {
            SCHEDULED => pb::SessionScheduled::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(plan_of)
                .map(|(session, plan)| Self::Scheduled { session, plan }),
            CHANGED => pb::SessionChanged::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Changed {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        timing: Timing {
                            starts_at: instant_of("starts_at", m.starts_at)?,
                            ends_at: instant_of("ends_at", m.ends_at)?,
                            capacity: m.capacity,
                            assessors: externals_of("assessor_ids", &m.assessor_ids)?,
                            cutoff: instant_of("reschedule_cutoff", m.reschedule_cutoff)?,
                        },
                        reason: m.reason,
                    })
                }),
            SEATED => pb::CandidateSeated::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Seated {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        rescheduled_from: optional_uuid_of(
                            "rescheduled_from_session_id",
                            &m.rescheduled_from_session_id,
                        )?
                        .map(SessionId),
                        auto: m.auto_allocated,
                    })
                }),
            UNSEATED => pb::CandidateUnseated::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Unseated {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        reason: m.reason,
                    })
                }),
            RESCHEDULED => pb::CandidateRescheduled::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::MovedOut {
                        session: SessionId(uuid_of("from_session_id", &m.from_session_id)?),
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        to: SessionId(uuid_of("to_session_id", &m.to_session_id)?),
                        reason: m.reason,
                    })
                }),
            super::SESSION_CANCELLED => pb::SessionCancelled::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::Cancelled {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        reason: m.reason,
                        candidates: candidates_of(&m.candidate_ids)?,
                    })
                }),
            super::ROSTER_LOCKED => pb::RosterLocked::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::RosterLocked {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        candidates: candidates_of(&m.candidate_ids)?,
                    })
                }),
            super::ATTENDANCE_RECORDED => pb::AttendanceRecorded::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::AttendanceRecorded {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        attendance: attendance_of(m.attendance)?,
                        attempt: m.attempt,
                    })
                }),
            super::ASSESSMENT_DECIDED => pb::AssessmentDecided::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(decision_record_of)
                .map(|record| Self::Decided(Box::new(record))),
            RELEASED => pb::SeatReleased::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    Ok(Self::SeatReleased {
                        session: SessionId(uuid_of("session_id", &m.session_id)?),
                        candidate: CandidateId(uuid_of("candidate_id", &m.candidate_id)?),
                        worker: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                        reason: return_reason_of(m.reason)?,
                    })
                }),
            other => return Err(DecodeError::unknown_type(other)),
        };
        decoded.map_err(malformed)
    }
}
