//! Domain events <-> `kesos.enrollment.v1` protobuf, in `From`/`TryFrom`-style functions only.
//! Decoding never panics: a stored payload this code cannot read is a [`DecodeError`].

use kesos_aggregate::{DecodeError, EventCodec};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as pb;
use kesos_regions::{EDITION, RegionCode};
use prost::Message;
use uuid::Uuid;

use crate::domain::{
    Category, DepartureReason, Education, EducationLevel, EmploymentStatus, NominationId,
    PortfolioRef, Posting, Qualifications, Registration, Role, RuleFailure, SchemeCode,
    SealedField, SealedIdentity, Sex, TargetCategory, TargetRegion, TargetSet, WorkerChange,
    WorkerEvent, WorkerId,
};

/// Prefix of every enrollment event type (and NATS subject).
pub const PACKAGE: &str = "kesos.enrollment.v1";

/// Type name of a worker's registration.
pub const WORKER_REGISTERED: &str = "kesos.enrollment.v1.WorkerRegistered";
/// Type name of a worker's move to another posting.
pub const WORKER_POSTING_MOVED: &str = "kesos.enrollment.v1.WorkerPostingMoved";
/// Type name of a change of employment status.
pub const WORKER_EMPLOYMENT_STATUS_CHANGED: &str =
    "kesos.enrollment.v1.WorkerEmploymentStatusChanged";
/// Type name of a change of role or programme.
pub const WORKER_ROLE_CHANGED: &str = "kesos.enrollment.v1.WorkerRoleChanged";
/// Type name of an erasure of a worker's personal data.
pub const WORKER_ERASED: &str = "kesos.enrollment.v1.WorkerErased";
/// Type name of a worker's departure from the programme.
pub const WORKER_DEPARTED: &str = "kesos.enrollment.v1.WorkerDeparted";
/// Type name of a departed worker's return.
pub const WORKER_RETURNED: &str = "kesos.enrollment.v1.WorkerReturned";
/// Type name of a verified nomination: what the scheduling service consumes.
pub const NOMINATION_VERIFIED: &str = "kesos.enrollment.v1.NominationVerified";
/// Type name of an overridden nomination: also a candidate for scheduling.
pub const NOMINATION_OVERRIDDEN: &str = "kesos.enrollment.v1.NominationOverridden";
/// Type name of a target setting.
pub const TARGET_SET: &str = "kesos.enrollment.v1.TargetSet";

type Bad = String;

fn region_ref(code: &RegionCode) -> Option<common::RegionRef> {
    Some(common::RegionRef {
        code: code.as_str().to_owned(),
        edition: EDITION.to_owned(),
    })
}

fn region_of(field: &'static str, value: Option<common::RegionRef>) -> Result<RegionCode, Bad> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    RegionCode::parse(&value.code).map_err(|e| format!("{field}: {e}"))
}

fn posting_of(field: &'static str, value: Option<common::RegionRef>) -> Result<Posting, Bad> {
    region_of(field, value).map(Posting::from_stored)
}

fn uuid_of(field: &'static str, text: &str) -> Result<Uuid, Bad> {
    Uuid::parse_str(text).map_err(|e| format!("{field}: {e}"))
}

fn sealed(value: &SealedField) -> Option<common::EncryptedField> {
    Some(common::EncryptedField {
        ciphertext: value.ciphertext.clone(),
        nonce: value.nonce.clone(),
        key_id: value.key_id.clone(),
    })
}

fn sealed_of(
    field: &'static str,
    value: Option<common::EncryptedField>,
) -> Result<SealedField, Bad> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    Ok(SealedField {
        ciphertext: value.ciphertext,
        nonce: value.nonce,
        key_id: value.key_id,
    })
}

fn date(value: time::Date) -> Option<common::Date> {
    Some(common::Date {
        year: value.year(),
        month: i32::from(u8::from(value.month())),
        day: i32::from(value.day()),
    })
}

fn date_of(field: &'static str, value: Option<common::Date>) -> Result<time::Date, Bad> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    let month = u8::try_from(value.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let day = u8::try_from(value.day).ok();
    month
        .zip(day)
        .and_then(|(month, day)| time::Date::from_calendar_date(value.year, month, day).ok())
        .ok_or_else(|| {
            format!(
                "{field} {}-{}-{} is not a real date",
                value.year, value.month, value.day
            )
        })
}

fn enum_of<T: Copy>(field: &'static str, all: &[T], raw: i32) -> Result<T, Bad> {
    // Protobuf enums here are the domain's codes in declaration order, 1-based; 0 is unset.
    usize::try_from(raw)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| all.get(n).copied())
        .ok_or_else(|| format!("{field} has unknown value {raw}"))
}

fn enum_to<T: PartialEq>(all: &[T], value: &T) -> i32 {
    all.iter()
        .position(|v| v == value)
        .and_then(|n| i32::try_from(n + 1).ok())
        .unwrap_or(0)
}

fn qualifications(value: &Qualifications) -> Option<pb::Qualifications> {
    Some(pb::Qualifications {
        education: Some(pb::Education {
            level: enum_to(EducationLevel::ALL, &value.education.level),
            in_social_work: value.education.in_social_work,
        }),
        practice_months: value.practice_months,
        training_hours: value.training_hours,
        association_member: value.association_member,
    })
}

fn qualifications_of(value: Option<pb::Qualifications>) -> Result<Qualifications, Bad> {
    let value = value.ok_or("qualifications are missing")?;
    let education = value.education.ok_or("education is missing")?;
    Ok(Qualifications {
        education: Education {
            level: enum_of("education.level", EducationLevel::ALL, education.level)?,
            in_social_work: education.in_social_work,
        },
        practice_months: value.practice_months,
        training_hours: value.training_hours,
        association_member: value.association_member,
    })
}

impl EventCodec for WorkerEvent {
    fn event_type(&self) -> &'static str {
        match &self.change {
            WorkerChange::WorkerRegistered(_) => WORKER_REGISTERED,
            WorkerChange::WorkerPostingMoved { .. } => WORKER_POSTING_MOVED,
            WorkerChange::WorkerEmploymentStatusChanged { .. } => WORKER_EMPLOYMENT_STATUS_CHANGED,
            WorkerChange::WorkerQualificationsUpdated { .. } => {
                "kesos.enrollment.v1.WorkerQualificationsUpdated"
            }
            WorkerChange::WorkerRoleChanged { .. } => WORKER_ROLE_CHANGED,
            WorkerChange::WorkerErased { .. } => WORKER_ERASED,
            WorkerChange::WorkerDeparted { .. } => WORKER_DEPARTED,
            WorkerChange::WorkerReturned { .. } => WORKER_RETURNED,
            WorkerChange::NominationSubmitted { .. } => "kesos.enrollment.v1.NominationSubmitted",
            WorkerChange::NominationVerified { .. } => NOMINATION_VERIFIED,
            WorkerChange::NominationRejected { .. } => "kesos.enrollment.v1.NominationRejected",
            WorkerChange::NominationOverridden { .. } => NOMINATION_OVERRIDDEN,
            WorkerChange::NominationWithdrawn { .. } => "kesos.enrollment.v1.NominationWithdrawn",
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        let worker_id = self.worker_id.to_string();
        match &self.change {
            WorkerChange::WorkerRegistered(r) => pb::WorkerRegistered {
                worker_id,
                nik: sealed(&r.identity.nik),
                full_name: sealed(&r.identity.full_name),
                sealed_birth_date: sealed(&r.identity.birth_date),
                sex: enum_to(Sex::ALL, &r.sex),
                category: enum_to(Category::ALL, &r.category),
                role: enum_to(Role::ALL, &r.role),
                employment_status: enum_to(EmploymentStatus::ALL, &r.employment),
                posting: region_ref(r.posting.code()),
                qualifications: qualifications(&r.qualifications),
                ..Default::default()
            }
            .encode_to_vec(),
            WorkerChange::WorkerPostingMoved { from, to } => pb::WorkerPostingMoved {
                worker_id,
                from_posting: region_ref(from.code()),
                to_posting: region_ref(to.code()),
            }
            .encode_to_vec(),
            WorkerChange::WorkerEmploymentStatusChanged { from, to } => {
                pb::WorkerEmploymentStatusChanged {
                    worker_id,
                    from_status: enum_to(EmploymentStatus::ALL, from),
                    to_status: enum_to(EmploymentStatus::ALL, to),
                }
                .encode_to_vec()
            }
            WorkerChange::WorkerQualificationsUpdated { qualifications: q } => {
                pb::WorkerQualificationsUpdated {
                    worker_id,
                    qualifications: qualifications(q),
                }
                .encode_to_vec()
            }
            WorkerChange::WorkerRoleChanged { from, to } => pb::WorkerRoleChanged {
                worker_id,
                from_role: enum_to(Role::ALL, from),
                to_role: enum_to(Role::ALL, to),
            }
            .encode_to_vec(),
            WorkerChange::WorkerErased {
                key_id,
                reason,
                legal_basis,
            } => pb::WorkerErased {
                worker_id,
                key_id: key_id.clone(),
                reason: reason.clone(),
                legal_basis: legal_basis.clone(),
            }
            .encode_to_vec(),
            WorkerChange::WorkerDeparted {
                reason,
                departed_on,
                note,
            } => pb::WorkerDeparted {
                worker_id,
                reason: enum_to(DepartureReason::ALL, reason),
                departed_on: date(*departed_on),
                note: note.clone(),
            }
            .encode_to_vec(),
            WorkerChange::WorkerReturned { returned_on } => pb::WorkerReturned {
                worker_id,
                returned_on: date(*returned_on),
            }
            .encode_to_vec(),
            WorkerChange::NominationSubmitted {
                nomination_id,
                scheme,
                period_year,
                recommending_office,
                portfolio_ref,
            } => pb::NominationSubmitted {
                nomination_id: nomination_id.to_string(),
                worker_id,
                scheme_code: scheme.to_string(),
                period_year: *period_year,
                recommending_office: region_ref(recommending_office),
                portfolio_ref: match portfolio_ref {
                    PortfolioRef::InClear(text) => text.clone(),
                    PortfolioRef::Sealed(_) => String::new(),
                },
                portfolio: match portfolio_ref {
                    PortfolioRef::Sealed(field) => sealed(field),
                    PortfolioRef::InClear(_) => None,
                },
            }
            .encode_to_vec(),
            WorkerChange::NominationVerified {
                nomination_id,
                scheme,
                region,
                rule_set_version,
            } => pb::NominationVerified {
                nomination_id: nomination_id.to_string(),
                worker_id,
                scheme_code: scheme.to_string(),
                region: region_ref(region.code()),
                rule_set_version: rule_set_version.clone(),
            }
            .encode_to_vec(),
            WorkerChange::NominationRejected {
                nomination_id,
                failures,
                rule_set_version,
            } => pb::NominationRejected {
                nomination_id: nomination_id.to_string(),
                worker_id,
                failures: failures
                    .iter()
                    .map(|f| pb::RuleFailure {
                        rule_id: f.rule_id.clone(),
                        message: f.message.clone(),
                    })
                    .collect(),
                rule_set_version: rule_set_version.clone(),
            }
            .encode_to_vec(),
            WorkerChange::NominationOverridden {
                nomination_id,
                justification,
                overridden_rule_ids,
                scheme,
                region,
            } => pb::NominationOverridden {
                nomination_id: nomination_id.to_string(),
                worker_id,
                justification: justification.clone(),
                overridden_rule_ids: overridden_rule_ids.clone(),
                scheme_code: scheme.to_string(),
                region: region_ref(region.code()),
            }
            .encode_to_vec(),
            WorkerChange::NominationWithdrawn {
                nomination_id,
                reason,
            } => pb::NominationWithdrawn {
                nomination_id: nomination_id.to_string(),
                worker_id,
                reason: reason.clone(),
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
        let name = event_type
            .strip_prefix("kesos.enrollment.v1.")
            .ok_or_else(|| DecodeError::unknown_type(event_type))?;
        let (worker_id, change) = decode_change(name, payload).map_err(|reason| match reason {
            Decoded::Unknown => DecodeError::unknown_type(event_type),
            Decoded::Bad(reason) => malformed(reason),
        })?;
        let worker_id = WorkerId(uuid_of("worker_id", &worker_id).map_err(malformed)?);
        Ok(Self { worker_id, change })
    }
}

enum Decoded {
    Unknown,
    Bad(String),
}

impl From<String> for Decoded {
    fn from(reason: String) -> Self {
        Self::Bad(reason)
    }
}

impl From<&str> for Decoded {
    fn from(reason: &str) -> Self {
        Self::Bad(reason.to_owned())
    }
}

impl From<prost::DecodeError> for Decoded {
    fn from(error: prost::DecodeError) -> Self {
        Self::Bad(error.to_string())
    }
}

fn nomination_of(text: &str) -> Result<NominationId, Bad> {
    uuid_of("nomination_id", text).map(NominationId)
}

fn scheme_of(text: &str) -> Result<SchemeCode, Bad> {
    SchemeCode::parse(text).map_err(|e| e.to_string())
}

fn decode_change(name: &str, payload: &[u8]) -> Result<(String, WorkerChange), Decoded> {
    Ok(match name {
        "WorkerRegistered" => {
            let m = pb::WorkerRegistered::decode(payload)?;
            let registration = Registration {
                worker_id: WorkerId(uuid_of("worker_id", &m.worker_id)?),
                identity: SealedIdentity {
                    nik: sealed_of("nik", m.nik)?,
                    full_name: sealed_of("full_name", m.full_name)?,
                    birth_date: sealed_of("sealed_birth_date", m.sealed_birth_date)?,
                },
                sex: enum_of("sex", Sex::ALL, m.sex)?,
                category: enum_of("category", Category::ALL, m.category)?,
                role: enum_of("role", Role::ALL, m.role)?,
                employment: enum_of(
                    "employment_status",
                    EmploymentStatus::ALL,
                    m.employment_status,
                )?,
                posting: posting_of("posting", m.posting)?,
                qualifications: qualifications_of(m.qualifications)?,
            };
            (
                m.worker_id,
                WorkerChange::WorkerRegistered(Box::new(registration)),
            )
        }
        "WorkerPostingMoved" => {
            let m = pb::WorkerPostingMoved::decode(payload)?;
            let change = WorkerChange::WorkerPostingMoved {
                from: posting_of("from_posting", m.from_posting)?,
                to: posting_of("to_posting", m.to_posting)?,
            };
            (m.worker_id, change)
        }
        "WorkerEmploymentStatusChanged" => {
            let m = pb::WorkerEmploymentStatusChanged::decode(payload)?;
            let change = WorkerChange::WorkerEmploymentStatusChanged {
                from: enum_of("from_status", EmploymentStatus::ALL, m.from_status)?,
                to: enum_of("to_status", EmploymentStatus::ALL, m.to_status)?,
            };
            (m.worker_id, change)
        }
        "WorkerQualificationsUpdated" => {
            let m = pb::WorkerQualificationsUpdated::decode(payload)?;
            let change = WorkerChange::WorkerQualificationsUpdated {
                qualifications: qualifications_of(m.qualifications)?,
            };
            (m.worker_id, change)
        }
        "WorkerRoleChanged" => {
            let m = pb::WorkerRoleChanged::decode(payload)?;
            let change = WorkerChange::WorkerRoleChanged {
                from: enum_of("from_role", Role::ALL, m.from_role)?,
                to: enum_of("to_role", Role::ALL, m.to_role)?,
            };
            (m.worker_id, change)
        }
        "WorkerErased" => {
            let m = pb::WorkerErased::decode(payload)?;
            let change = WorkerChange::WorkerErased {
                key_id: m.key_id,
                reason: m.reason,
                legal_basis: m.legal_basis,
            };
            (m.worker_id, change)
        }
        "WorkerDeparted" => {
            let m = pb::WorkerDeparted::decode(payload)?;
            let change = WorkerChange::WorkerDeparted {
                reason: enum_of("reason", DepartureReason::ALL, m.reason)?,
                departed_on: date_of("departed_on", m.departed_on)?,
                note: m.note,
            };
            (m.worker_id, change)
        }
        "WorkerReturned" => {
            let m = pb::WorkerReturned::decode(payload)?;
            let change = WorkerChange::WorkerReturned {
                returned_on: date_of("returned_on", m.returned_on)?,
            };
            (m.worker_id, change)
        }
        "NominationSubmitted" => {
            let m = pb::NominationSubmitted::decode(payload)?;
            let change = WorkerChange::NominationSubmitted {
                nomination_id: nomination_of(&m.nomination_id)?,
                scheme: scheme_of(&m.scheme_code)?,
                period_year: m.period_year,
                recommending_office: region_of("recommending_office", m.recommending_office)?,
                portfolio_ref: match m.portfolio {
                    Some(field) => PortfolioRef::Sealed(sealed_of("portfolio", Some(field))?),
                    None => PortfolioRef::InClear(m.portfolio_ref),
                },
            };
            (m.worker_id, change)
        }
        "NominationVerified" => {
            let m = pb::NominationVerified::decode(payload)?;
            let change = WorkerChange::NominationVerified {
                nomination_id: nomination_of(&m.nomination_id)?,
                scheme: scheme_of(&m.scheme_code)?,
                region: posting_of("region", m.region)?,
                rule_set_version: m.rule_set_version,
            };
            (m.worker_id, change)
        }
        "NominationRejected" => {
            let m = pb::NominationRejected::decode(payload)?;
            let change = WorkerChange::NominationRejected {
                nomination_id: nomination_of(&m.nomination_id)?,
                failures: m
                    .failures
                    .into_iter()
                    .map(|f| RuleFailure {
                        rule_id: f.rule_id,
                        message: f.message,
                    })
                    .collect(),
                rule_set_version: m.rule_set_version,
            };
            (m.worker_id, change)
        }
        "NominationOverridden" => {
            let m = pb::NominationOverridden::decode(payload)?;
            let change = WorkerChange::NominationOverridden {
                nomination_id: nomination_of(&m.nomination_id)?,
                justification: m.justification,
                overridden_rule_ids: m.overridden_rule_ids,
                scheme: scheme_of(&m.scheme_code)?,
                region: posting_of("region", m.region)?,
            };
            (m.worker_id, change)
        }
        "NominationWithdrawn" => {
            let m = pb::NominationWithdrawn::decode(payload)?;
            let change = WorkerChange::NominationWithdrawn {
                nomination_id: nomination_of(&m.nomination_id)?,
                reason: m.reason,
            };
            (m.worker_id, change)
        }
        _ => return Err(Decoded::Unknown),
    })
}

impl EventCodec for TargetSet {
    fn event_type(&self) -> &'static str {
        TARGET_SET
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        pb::TargetSet {
            year: self.year,
            region: Some(common::RegionRef {
                code: self.region.code().to_owned(),
                edition: EDITION.to_owned(),
            }),
            category: match self.category {
                TargetCategory::Total => 0,
                TargetCategory::Category(category) => enum_to(Category::ALL, &category),
            },
            target_count: self.count,
            all_categories: self.category == TargetCategory::Total,
            in_force_from: self.in_force_from.and_then(date),
        }
        .encode_to_vec()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if event_type != TARGET_SET {
            return Err(DecodeError::unknown_type(event_type));
        }
        if schema_version != 1 {
            return Err(DecodeError::unsupported_schema_version(
                event_type,
                schema_version,
            ));
        }
        let malformed = |reason: String| DecodeError::malformed(event_type, reason);
        let m = pb::TargetSet::decode(payload).map_err(|e| malformed(e.to_string()))?;
        let code = m.region.map(|r| r.code).unwrap_or_default();
        let region = if code.is_empty() {
            TargetRegion::National
        } else {
            TargetRegion::Region(RegionCode::parse(&code).map_err(|e| malformed(e.to_string()))?)
        };
        let category = if m.all_categories {
            TargetCategory::Total
        } else {
            TargetCategory::Category(
                enum_of("category", Category::ALL, m.category).map_err(malformed)?,
            )
        };
        let in_force_from = m
            .in_force_from
            .map(|d| date_of("in_force_from", Some(d)))
            .transpose()
            .map_err(malformed)?;
        Ok(Self {
            year: m.year,
            region,
            category,
            count: m.target_count,
            in_force_from,
        })
    }
}

#[cfg(test)]
mod tests;
