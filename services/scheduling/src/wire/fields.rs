//! Field conversions shared by the scheduling codecs (and the LSPS contract).

use kesos_proto::kesos::common::v1 as common;
use kesos_proto::prost_types::Timestamp;
use kesos_regions::{EDITION, RegionCode};
use time::{Date, Month, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{
    Attendance, CompetencyUnit, Decision, DepartureReason, ExternalId, ReturnReason, SchemeRef,
    UnitResult,
};

/// What is wrong with a field, for a decode error.
pub(crate) type Bad = String;

/// An instant as a protobuf timestamp.
pub fn timestamp(at: OffsetDateTime) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or(0),
    })
}

/// A protobuf timestamp as an instant (missing or out of range is an error naming `field`).
pub fn instant_of(field: &str, value: Option<Timestamp>) -> Result<OffsetDateTime, String> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    let nanos = i128::from(value.seconds) * 1_000_000_000 + i128::from(value.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn date(day: Date) -> Option<common::Date> {
    Some(common::Date {
        year: day.year(),
        month: i32::from(u8::from(day.month())),
        day: i32::from(day.day()),
    })
}

/// A protobuf date as a calendar day.
pub fn date_of(field: &str, value: Option<common::Date>) -> Result<Date, String> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    let month = u8::try_from(value.month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| format!("{field}: month {} is out of range", value.month))?;
    let day = u8::try_from(value.day).map_err(|_| format!("{field}: day is out of range"))?;
    Date::from_calendar_date(value.year, month, day).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn region_ref(code: &RegionCode) -> Option<common::RegionRef> {
    Some(common::RegionRef {
        code: code.as_str().to_owned(),
        edition: EDITION.to_owned(),
    })
}

pub(crate) fn region_of(field: &str, value: Option<common::RegionRef>) -> Result<RegionCode, Bad> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    RegionCode::parse(&value.code).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn uuid_of(field: &str, text: &str) -> Result<Uuid, Bad> {
    Uuid::parse_str(text).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn optional_uuid_of(field: &str, text: &str) -> Result<Option<Uuid>, Bad> {
    if text.is_empty() {
        Ok(None)
    } else {
        uuid_of(field, text).map(Some)
    }
}

pub(crate) fn external_of(field: &str, text: &str) -> Result<ExternalId, Bad> {
    ExternalId::parse(text).map_err(|e| format!("{field}: {e}"))
}

pub(crate) fn externals_of(field: &str, texts: &[String]) -> Result<Vec<ExternalId>, Bad> {
    texts.iter().map(|t| external_of(field, t)).collect()
}

pub(crate) fn scheme(value: &SchemeRef) -> Option<common::Scheme> {
    Some(common::Scheme {
        code: value.code.clone(),
        category: value.category.clone(),
        level: value.level.clone(),
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

/// A session's competency units as protobuf messages (the event's and the roster's).
pub fn competency_units(values: &[CompetencyUnit]) -> Vec<common::CompetencyUnit> {
    values
        .iter()
        .map(|unit| common::CompetencyUnit {
            code: unit.code.clone(),
            title: unit.title.clone(),
        })
        .collect()
}

/// A stored session's competency units, as they were checked against the catalogue when the
/// session was scheduled.
pub(crate) fn competency_units_of(values: Vec<common::CompetencyUnit>) -> Vec<CompetencyUnit> {
    values
        .into_iter()
        .map(|unit| CompetencyUnit {
            code: unit.code,
            title: unit.title,
        })
        .collect()
}

/// `Attendance` as its protobuf number.
pub fn attendance(value: Attendance) -> i32 {
    match value {
        Attendance::Present => common::Attendance::Present as i32,
        Attendance::NoShow => common::Attendance::NoShow as i32,
    }
}

/// A protobuf attendance number as `Attendance`.
pub fn attendance_of(raw: i32) -> Result<Attendance, String> {
    match common::Attendance::try_from(raw) {
        Ok(common::Attendance::Present) => Ok(Attendance::Present),
        Ok(common::Attendance::NoShow) => Ok(Attendance::NoShow),
        _ => Err(format!("attendance has no valid value ({raw})")),
    }
}

/// `Decision` as its protobuf number.
pub fn decision(value: Decision) -> i32 {
    match value {
        Decision::Kompeten => common::AssessmentDecision::Kompeten as i32,
        Decision::BelumKompeten => common::AssessmentDecision::BelumKompeten as i32,
    }
}

/// A protobuf decision number as `Decision`.
pub fn decision_of(raw: i32) -> Result<Decision, String> {
    match common::AssessmentDecision::try_from(raw) {
        Ok(common::AssessmentDecision::Kompeten) => Ok(Decision::Kompeten),
        Ok(common::AssessmentDecision::BelumKompeten) => Ok(Decision::BelumKompeten),
        _ => Err(format!("decision has no valid value ({raw})")),
    }
}

/// Unit judgements as protobuf.
pub fn units(values: &[UnitResult]) -> Vec<common::UnitResult> {
    values
        .iter()
        .map(|u| common::UnitResult {
            unit_code: u.unit.clone(),
            judgement: if u.kompeten {
                common::UnitJudgement::K as i32
            } else {
                common::UnitJudgement::Bk as i32
            },
        })
        .collect()
}

/// Protobuf unit judgements as the domain's (a unit code is 1-64 printable characters).
pub fn units_of(values: Vec<common::UnitResult>) -> Result<Vec<UnitResult>, String> {
    values
        .into_iter()
        .map(|u| {
            if u.unit_code.trim().is_empty()
                || u.unit_code.len() > 64
                || u.unit_code.chars().any(char::is_control)
            {
                return Err("unit_code must be 1-64 printable characters".to_owned());
            }
            let kompeten = match common::UnitJudgement::try_from(u.judgement) {
                Ok(common::UnitJudgement::K) => true,
                Ok(common::UnitJudgement::Bk) => false,
                _ => return Err(format!("unit {} has no valid judgement", u.unit_code)),
            };
            Ok(UnitResult {
                unit: u.unit_code,
                kompeten,
            })
        })
        .collect()
}

pub(crate) fn return_reason(value: ReturnReason) -> i32 {
    use kesos_proto::kesos::scheduling::v1::ReturnToPoolReason as R;
    (match value {
        ReturnReason::SessionCancelled => R::SessionCancelled,
        ReturnReason::Unseated => R::Unseated,
        ReturnReason::NoShow => R::NoShow,
        ReturnReason::BelumKompeten => R::BelumKompeten,
        ReturnReason::Other => R::Other,
    }) as i32
}

pub(crate) fn return_reason_of(raw: i32) -> Result<ReturnReason, Bad> {
    use kesos_proto::kesos::scheduling::v1::ReturnToPoolReason as R;
    match R::try_from(raw) {
        Ok(R::SessionCancelled) => Ok(ReturnReason::SessionCancelled),
        Ok(R::Unseated) => Ok(ReturnReason::Unseated),
        Ok(R::NoShow) => Ok(ReturnReason::NoShow),
        Ok(R::BelumKompeten) => Ok(ReturnReason::BelumKompeten),
        Ok(R::Other) => Ok(ReturnReason::Other),
        _ => Err(format!("reason has no valid value ({raw})")),
    }
}

pub(crate) fn departure_reason(value: DepartureReason) -> i32 {
    use kesos_proto::kesos::scheduling::v1::DepartureReason as R;
    (match value {
        DepartureReason::Resigned => R::Resigned,
        DepartureReason::Retired => R::Retired,
        DepartureReason::Died => R::Died,
        DepartureReason::LeftProgramme => R::LeftProgramme,
    }) as i32
}

pub(crate) fn departure_reason_of(raw: i32) -> Result<DepartureReason, Bad> {
    use kesos_proto::kesos::scheduling::v1::DepartureReason as R;
    match R::try_from(raw) {
        Ok(R::Resigned) => Ok(DepartureReason::Resigned),
        Ok(R::Retired) => Ok(DepartureReason::Retired),
        Ok(R::Died) => Ok(DepartureReason::Died),
        Ok(R::LeftProgramme) => Ok(DepartureReason::LeftProgramme),
        _ => Err(format!("reason has no valid value ({raw})")),
    }
}
