//! Domain events <-> `kesos.certification.v1` protobuf, and the events certification consumes
//! (`kesos.scheduling.v1.AssessmentDecided`, `kesos.enrollment.v1.WorkerRegistered` and
//! `WorkerErased`). Decoding never panics: bytes this code cannot read are a [`DecodeError`].

use kesos_aggregate::{DecodeError, EventCodec};
use kesos_proto::kesos::certification::v1 as pb;
use kesos_proto::kesos::common::v1 as common;
use prost::Message;
use time::{Date, Month};
use uuid::Uuid;

use crate::domain::{
    CertificateChange, CertificateEvent, CertificateId, CertificateNumber, Issuance, Reason,
    RevocationCategory, SchemeRef, WorkerId,
};

mod consumed;
#[cfg(test)]
mod tests;

pub use consumed::{
    Decision, Departure, Holder, assessment_decided, decision, worker_departed, worker_erased,
    worker_posting_moved, worker_registered, worker_returned,
};

/// Prefix of every certification event type (and NATS subject).
pub const PACKAGE: &str = "kesos.certification.v1";
/// Type name of an issue.
pub const CERTIFICATE_ISSUED: &str = "kesos.certification.v1.CertificateIssued";
/// Type name of a suspension.
pub const CERTIFICATE_SUSPENDED: &str = "kesos.certification.v1.CertificateSuspended";
/// Type name of a reinstatement.
pub const CERTIFICATE_REINSTATED: &str = "kesos.certification.v1.CertificateReinstated";
/// Type name of a revocation.
pub const CERTIFICATE_REVOKED: &str = "kesos.certification.v1.CertificateRevoked";
/// Type name of an expiry.
pub const CERTIFICATE_EXPIRED: &str = "kesos.certification.v1.CertificateExpired";
/// Type name of a supersession.
pub const CERTIFICATE_SUPERSEDED: &str = "kesos.certification.v1.CertificateSuperseded";
/// Every certification event type: what the registry applies.
pub const CERTIFICATE_EVENTS: [&str; 6] = [
    CERTIFICATE_ISSUED,
    CERTIFICATE_SUSPENDED,
    CERTIFICATE_REINSTATED,
    CERTIFICATE_REVOKED,
    CERTIFICATE_EXPIRED,
    CERTIFICATE_SUPERSEDED,
];
/// The decision certification issues from.
pub const ASSESSMENT_DECIDED: &str = "kesos.scheduling.v1.AssessmentDecided";
/// A worker's registration (the sealed name certification shows masked).
pub const WORKER_REGISTERED: &str = "kesos.enrollment.v1.WorkerRegistered";
/// A worker's erasure (the name is gone for good).
pub const WORKER_ERASED: &str = "kesos.enrollment.v1.WorkerErased";
/// A worker's move to another posting (the holder's region follows it).
pub const WORKER_POSTING_MOVED: &str = "kesos.enrollment.v1.WorkerPostingMoved";
/// A worker left the programme (the holder is shown as departed; certificates keep status).
pub const WORKER_DEPARTED: &str = "kesos.enrollment.v1.WorkerDeparted";
/// A departed worker came back.
pub const WORKER_RETURNED: &str = "kesos.enrollment.v1.WorkerReturned";

pub(crate) type Bad = String;

pub(crate) fn uuid_of(field: &str, text: &str) -> Result<Uuid, Bad> {
    Uuid::parse_str(text).map_err(|e| format!("{field}: {e}"))
}

/// A calendar date on the wire.
pub fn date_to(date: Date) -> Option<common::Date> {
    Some(common::Date {
        year: date.year(),
        month: i32::from(u8::from(date.month())),
        day: i32::from(date.day()),
    })
}

pub(crate) fn date_of(field: &str, value: Option<common::Date>) -> Result<Date, Bad> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    let month = u8::try_from(value.month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| format!("{field}: month {} is out of range", value.month))?;
    let day = u8::try_from(value.day)
        .map_err(|_| format!("{field}: day {} is out of range", value.day))?;
    Date::from_calendar_date(value.year, month, day).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn scheme_to(scheme: &SchemeRef) -> Option<common::Scheme> {
    Some(common::Scheme {
        code: scheme.code.clone(),
        category: scheme.category.clone(),
        level: scheme.level.clone(),
    })
}

pub(crate) fn scheme_of(value: Option<common::Scheme>) -> Result<SchemeRef, Bad> {
    let value = value.ok_or("scheme is missing")?;
    if value.code.is_empty() {
        return Err("scheme.code is empty".into());
    }
    Ok(SchemeRef {
        code: value.code,
        category: value.category,
        level: value.level,
    })
}

fn region_to(region: Option<&String>) -> Option<common::RegionRef> {
    region.map(|code| common::RegionRef {
        code: code.clone(),
        edition: String::new(),
    })
}

fn revocation_to(category: RevocationCategory) -> i32 {
    match category {
        RevocationCategory::EthicsBreach => pb::RevocationReason::EthicsBreach as i32,
        RevocationCategory::CriminalConviction => pb::RevocationReason::CriminalConviction as i32,
        RevocationCategory::PermanentIncapacity => pb::RevocationReason::PermanentIncapacity as i32,
        RevocationCategory::Other => pb::RevocationReason::Other as i32,
    }
}

fn revocation_of(raw: i32) -> Result<RevocationCategory, Bad> {
    match pb::RevocationReason::try_from(raw) {
        Ok(pb::RevocationReason::EthicsBreach) => Ok(RevocationCategory::EthicsBreach),
        Ok(pb::RevocationReason::CriminalConviction) => Ok(RevocationCategory::CriminalConviction),
        Ok(pb::RevocationReason::PermanentIncapacity) => {
            Ok(RevocationCategory::PermanentIncapacity)
        }
        Ok(pb::RevocationReason::Other) => Ok(RevocationCategory::Other),
        _ => Err(format!("reason has unknown value {raw}")),
    }
}

fn issued_to(issuance: &Issuance) -> pb::CertificateIssued {
    pb::CertificateIssued {
        certificate_id: issuance.certificate_id.to_string(),
        number: issuance.number.to_string(),
        worker_id: issuance.worker_id.to_string(),
        scheme: scheme_to(&issuance.scheme),
        basis_decision_event_id: issuance.basis_decision_event_id.to_string(),
        lsps_id: issuance.lsps_id.clone(),
        valid_from: date_to(issuance.valid_from),
        valid_until: date_to(issuance.valid_until),
        supersedes_certificate_id: issuance
            .supersedes
            .map(|id| id.to_string())
            .unwrap_or_default(),
        region: region_to(issuance.region.as_ref()),
        status_list_index: issuance.status_list_index,
    }
}

fn issued_of(message: pb::CertificateIssued) -> Result<CertificateEvent, Bad> {
    let certificate_id = CertificateId(uuid_of("certificate_id", &message.certificate_id)?);
    let worker_id = WorkerId(uuid_of("worker_id", &message.worker_id)?);
    let supersedes = match message.supersedes_certificate_id.as_str() {
        "" => None,
        text => Some(CertificateId(uuid_of("supersedes_certificate_id", text)?)),
    };
    let issuance = Issuance {
        certificate_id,
        number: CertificateNumber::parse(&message.number).map_err(|e| format!("number: {e}"))?,
        worker_id,
        scheme: scheme_of(message.scheme)?,
        basis_decision_event_id: uuid_of(
            "basis_decision_event_id",
            &message.basis_decision_event_id,
        )?,
        lsps_id: message.lsps_id,
        valid_from: date_of("valid_from", message.valid_from)?,
        valid_until: date_of("valid_until", message.valid_until)?,
        supersedes,
        region: message.region.map(|r| r.code).filter(|c| !c.is_empty()),
        status_list_index: message.status_list_index,
    };
    Ok(CertificateEvent {
        certificate_id,
        worker_id,
        change: CertificateChange::CertificateIssued(Box::new(issuance)),
    })
}

fn ids(certificate: &str, worker: &str) -> Result<(CertificateId, WorkerId), Bad> {
    Ok((
        CertificateId(uuid_of("certificate_id", certificate)?),
        WorkerId(uuid_of("worker_id", worker)?),
    ))
}

pub(crate) fn decode_as<M: Message + Default>(
    event_type: &str,
    payload: &[u8],
) -> Result<M, DecodeError> {
    M::decode(payload).map_err(|e| DecodeError::malformed(event_type, e))
}

impl EventCodec for CertificateEvent {
    fn event_type(&self) -> &'static str {
        match &self.change {
            CertificateChange::CertificateIssued(_) => CERTIFICATE_ISSUED,
            CertificateChange::CertificateSuspended { .. } => CERTIFICATE_SUSPENDED,
            CertificateChange::CertificateReinstated { .. } => CERTIFICATE_REINSTATED,
            CertificateChange::CertificateRevoked { .. } => CERTIFICATE_REVOKED,
            CertificateChange::CertificateExpired { .. } => CERTIFICATE_EXPIRED,
            CertificateChange::CertificateSuperseded { .. } => CERTIFICATE_SUPERSEDED,
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        let certificate_id = self.certificate_id.to_string();
        let worker_id = self.worker_id.to_string();
        match &self.change {
            CertificateChange::CertificateIssued(issuance) => issued_to(issuance).encode_to_vec(),
            CertificateChange::CertificateSuspended { reason } => pb::CertificateSuspended {
                certificate_id,
                worker_id,
                reason: reason.as_str().to_owned(),
            }
            .encode_to_vec(),
            CertificateChange::CertificateReinstated { reason } => pb::CertificateReinstated {
                certificate_id,
                worker_id,
                reason: reason.as_str().to_owned(),
            }
            .encode_to_vec(),
            CertificateChange::CertificateRevoked { category, reason } => pb::CertificateRevoked {
                certificate_id,
                worker_id,
                reason: revocation_to(*category),
                reason_text: reason.as_str().to_owned(),
            }
            .encode_to_vec(),
            CertificateChange::CertificateExpired { valid_until } => pb::CertificateExpired {
                certificate_id,
                worker_id,
                valid_until: date_to(*valid_until),
            }
            .encode_to_vec(),
            CertificateChange::CertificateSuperseded { by } => pb::CertificateSuperseded {
                certificate_id,
                worker_id,
                superseded_by_certificate_id: by.to_string(),
            }
            .encode_to_vec(),
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if !event_type.starts_with(PACKAGE) {
            return Err(DecodeError::unknown_type(event_type));
        }
        if schema_version != 1 {
            return Err(DecodeError::unsupported_schema_version(
                event_type,
                schema_version,
            ));
        }
        let malformed = |reason: Bad| DecodeError::malformed(event_type, reason);
        let event =
            |(certificate_id, worker_id): (CertificateId, WorkerId), change| CertificateEvent {
                certificate_id,
                worker_id,
                change,
            };
        match event_type {
            CERTIFICATE_ISSUED => issued_of(decode_as(event_type, payload)?).map_err(malformed),
            CERTIFICATE_SUSPENDED => {
                let m: pb::CertificateSuspended = decode_as(event_type, payload)?;
                let who = ids(&m.certificate_id, &m.worker_id).map_err(malformed)?;
                let reason = Reason::from_stored(m.reason);
                Ok(event(
                    who,
                    CertificateChange::CertificateSuspended { reason },
                ))
            }
            CERTIFICATE_REINSTATED => {
                let m: pb::CertificateReinstated = decode_as(event_type, payload)?;
                let who = ids(&m.certificate_id, &m.worker_id).map_err(malformed)?;
                let reason = Reason::from_stored(m.reason);
                Ok(event(
                    who,
                    CertificateChange::CertificateReinstated { reason },
                ))
            }
            CERTIFICATE_REVOKED => {
                let m: pb::CertificateRevoked = decode_as(event_type, payload)?;
                let who = ids(&m.certificate_id, &m.worker_id).map_err(malformed)?;
                let category = revocation_of(m.reason).map_err(malformed)?;
                let reason = Reason::from_stored(m.reason_text);
                Ok(event(
                    who,
                    CertificateChange::CertificateRevoked { category, reason },
                ))
            }
            CERTIFICATE_EXPIRED => {
                let m: pb::CertificateExpired = decode_as(event_type, payload)?;
                let who = ids(&m.certificate_id, &m.worker_id).map_err(malformed)?;
                let valid_until = date_of("valid_until", m.valid_until).map_err(malformed)?;
                Ok(event(
                    who,
                    CertificateChange::CertificateExpired { valid_until },
                ))
            }
            CERTIFICATE_SUPERSEDED => {
                let m: pb::CertificateSuperseded = decode_as(event_type, payload)?;
                let who = ids(&m.certificate_id, &m.worker_id).map_err(malformed)?;
                let by = uuid_of(
                    "superseded_by_certificate_id",
                    &m.superseded_by_certificate_id,
                )
                .map_err(malformed)?;
                Ok(event(
                    who,
                    CertificateChange::CertificateSuperseded {
                        by: CertificateId(by),
                    },
                ))
            }
            _ => Err(DecodeError::unknown_type(event_type)),
        }
    }
}
