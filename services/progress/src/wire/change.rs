//! Reading an event of the three services into what it means for progress
//! ([`crate::domain::change`]): the protobuf payload of every event that moves a count or a
//! target decoded into a [`Change`]; the others into `None`. Decoding never panics: a payload
//! of a known type that does not decode is an [`UndecodableEvent`].

use kesos_eventstore::RecordedEvent;
use kesos_proto::kesos::certification::v1 as certification;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use prost::Message;
use uuid::Uuid;

use crate::domain::calendar::day_of;
use crate::domain::change::{
    CertificateStatus, Change, TOTAL, Target, UndecodableEvent, WorkerChange,
};

/// The progress meaning of `event`; `Ok(None)` for events progress does not count.
pub fn change_of(event: &RecordedEvent) -> Result<Option<Change>, UndecodableEvent> {
    let payload = event.payload.as_slice();
    let fail = |reason: String| UndecodableEvent {
        event_type: event.event_type.as_str().to_owned(),
        position: event.position,
        reason,
    };
    let Some((package, name)) = event.event_type.as_str().rsplit_once('.') else {
        return Ok(None);
    };
    let decoded = match package {
        "kesos.enrollment.v1" => enrollment_change(name, payload),
        "kesos.scheduling.v1" => scheduling_change(name, payload),
        "kesos.certification.v1" => certification_change(name, payload),
        _ => Ok(None),
    };
    decoded.map_err(|e| fail(e.to_string()))
}

type Decoded = Result<Option<Change>, DecodeFailure>;

#[derive(Debug, thiserror::Error)]
enum DecodeFailure {
    #[error(transparent)]
    Protobuf(#[from] prost::DecodeError),
    #[error("{0} is not a valid id")]
    Id(String),
    #[error("{0} is not a real date")]
    Date(String),
}

/// A protobuf date as a business day number.
fn day(date: &common::Date) -> Result<i64, DecodeFailure> {
    let bad = || DecodeFailure::Date(format!("{}-{}-{}", date.year, date.month, date.day));
    let month = u8::try_from(date.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let of_month = u8::try_from(date.day).map_err(|_| bad())?;
    time::Date::from_calendar_date(date.year, month, of_month)
        .map(day_of)
        .map_err(|_| bad())
}

fn id(text: &str) -> Result<Uuid, DecodeFailure> {
    Uuid::parse_str(text).map_err(|_| DecodeFailure::Id(text.to_owned()))
}

fn optional_id(text: &str) -> Result<Option<Uuid>, DecodeFailure> {
    if text.is_empty() {
        Ok(None)
    } else {
        id(text).map(Some)
    }
}

fn worker(worker: &str, change: WorkerChange) -> Decoded {
    Ok(Some(Change::Worker {
        worker: id(worker)?,
        change,
    }))
}

fn region(region: Option<&common::RegionRef>) -> String {
    region.map(|r| r.code.clone()).unwrap_or_default()
}

fn scheme_code(scheme: Option<&common::Scheme>) -> String {
    scheme.map(|s| s.code.clone()).unwrap_or_default()
}

fn enrollment_change(name: &str, payload: &[u8]) -> Decoded {
    match name {
        "WorkerRegistered" => {
            let e = enrollment::WorkerRegistered::decode(payload)?;
            let change = WorkerChange::Registered {
                posting: region(e.posting.as_ref()),
                category: e.category,
                role: e.role,
            };
            worker(&e.worker_id, change)
        }
        "WorkerPostingMoved" => {
            let e = enrollment::WorkerPostingMoved::decode(payload)?;
            let posting = region(e.to_posting.as_ref());
            worker(&e.worker_id, WorkerChange::Moved { posting })
        }
        "WorkerDeparted" => {
            let e = enrollment::WorkerDeparted::decode(payload)?;
            worker(&e.worker_id, WorkerChange::Departed)
        }
        "WorkerReturned" => {
            let e = enrollment::WorkerReturned::decode(payload)?;
            worker(&e.worker_id, WorkerChange::Returned)
        }
        "WorkerRoleChanged" => {
            let e = enrollment::WorkerRoleChanged::decode(payload)?;
            worker(&e.worker_id, WorkerChange::RoleChanged { role: e.to_role })
        }
        "NominationSubmitted" => {
            let e = enrollment::NominationSubmitted::decode(payload)?;
            let change = WorkerChange::Nominated {
                nomination: id(&e.nomination_id)?,
                scheme: e.scheme_code,
            };
            worker(&e.worker_id, change)
        }
        "NominationVerified" => {
            let e = enrollment::NominationVerified::decode(payload)?;
            let change = WorkerChange::Verified {
                nomination: id(&e.nomination_id)?,
                scheme: Some(e.scheme_code).filter(|s| !s.is_empty()),
            };
            worker(&e.worker_id, change)
        }
        "NominationOverridden" => {
            let e = enrollment::NominationOverridden::decode(payload)?;
            let change = WorkerChange::Verified {
                nomination: id(&e.nomination_id)?,
                scheme: Some(e.scheme_code).filter(|s| !s.is_empty()),
            };
            worker(&e.worker_id, change)
        }
        "NominationRejected" => {
            let e = enrollment::NominationRejected::decode(payload)?;
            let nomination = id(&e.nomination_id)?;
            worker(&e.worker_id, WorkerChange::Rejected { nomination })
        }
        "NominationWithdrawn" => {
            let e = enrollment::NominationWithdrawn::decode(payload)?;
            let nomination = id(&e.nomination_id)?;
            worker(&e.worker_id, WorkerChange::Withdrawn { nomination })
        }
        "TargetSet" => {
            let e = enrollment::TargetSet::decode(payload)?;
            Ok(Some(Change::Target(Target {
                year: e.year,
                region: region(e.region.as_ref()),
                category: if e.all_categories { TOTAL } else { e.category },
                count: e.target_count,
                in_force_from: e.in_force_from.as_ref().map(day).transpose()?,
            })))
        }
        _ => Ok(None),
    }
}

fn scheduling_change(name: &str, payload: &[u8]) -> Decoded {
    match name {
        "CandidateQueued" => {
            let e = scheduling::CandidateQueued::decode(payload)?;
            let change = WorkerChange::Queued {
                nomination: id(&e.nomination_id).or_else(|_| id(&e.candidate_id))?,
                scheme: scheme_code(e.scheme.as_ref()),
                region: region(e.region.as_ref()),
            };
            worker(&e.worker_id, change)
        }
        "CandidateSeated" => {
            let e = scheduling::CandidateSeated::decode(payload)?;
            let nomination = id(&e.candidate_id)?;
            worker(&e.worker_id, WorkerChange::Seated { nomination })
        }
        "AssessmentDecided" => {
            let e = scheduling::AssessmentDecided::decode(payload)?;
            let change = WorkerChange::Decided {
                scheme: scheme_code(e.scheme.as_ref()),
                kompeten: e.decision == common::AssessmentDecision::Kompeten as i32,
                region: region(e.region.as_ref()),
            };
            worker(&e.worker_id, change)
        }
        _ => Ok(None),
    }
}

fn certification_change(name: &str, payload: &[u8]) -> Decoded {
    let status = |worker_id: &str, certificate: &str, status| {
        worker(
            worker_id,
            WorkerChange::CertificateStatus {
                certificate: id(certificate)?,
                status,
            },
        )
    };
    match name {
        "CertificateIssued" => {
            let e = certification::CertificateIssued::decode(payload)?;
            let change = WorkerChange::Issued {
                certificate: id(&e.certificate_id)?,
                scheme: scheme_code(e.scheme.as_ref()),
                supersedes: optional_id(&e.supersedes_certificate_id)?,
                region: region(e.region.as_ref()),
            };
            worker(&e.worker_id, change)
        }
        "CertificateSuspended" => {
            let e = certification::CertificateSuspended::decode(payload)?;
            status(
                &e.worker_id,
                &e.certificate_id,
                CertificateStatus::Suspended,
            )
        }
        "CertificateReinstated" => {
            let e = certification::CertificateReinstated::decode(payload)?;
            status(&e.worker_id, &e.certificate_id, CertificateStatus::Valid)
        }
        "CertificateRevoked" => {
            let e = certification::CertificateRevoked::decode(payload)?;
            status(&e.worker_id, &e.certificate_id, CertificateStatus::Revoked)
        }
        "CertificateExpired" => {
            let e = certification::CertificateExpired::decode(payload)?;
            status(&e.worker_id, &e.certificate_id, CertificateStatus::Expired)
        }
        "CertificateSuperseded" => {
            let e = certification::CertificateSuperseded::decode(payload)?;
            status(
                &e.worker_id,
                &e.certificate_id,
                CertificateStatus::Superseded,
            )
        }
        _ => Ok(None),
    }
}
