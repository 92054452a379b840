//! The question a progress query string asks: the region (narrowed to the caller's own for a
//! Dinas office), the cut by category, role and scheme, and the as-of moment. Every parameter
//! is checked here; a bad one is a 400 naming the field and the rule.

use std::collections::BTreeMap;

use kesos_auth::Caller;
use kesos_eventstore::model::unix_micros;
use kesos_http::{FieldError, Problem, Query};
use kesos_proto::kesos::enrollment::v1::{WorkerCategory, WorkerRole};
use kesos_regions::{RegionCode, Regions};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::domain::calendar::{business_date, day_of};
use crate::domain::measure::ALL_SCHEMES;
use crate::domain::query::{AsOf, Filter, Scope};

/// A query string, as axum hands it over.
pub(super) type Params = Query<BTreeMap<String, String>>;

const KNOWN: [&str; 7] = [
    "region", "category", "role", "scheme", "as_of", "known_at", "year",
];

pub(super) fn invalid(field: &str, rule: &str, detail: impl Into<String>) -> Problem {
    Problem::invalid(vec![FieldError::new(field, rule, detail)])
}

/// The question a query string asks.
pub(super) struct Question {
    /// The region and cut.
    pub(super) filter: Filter,
    /// As of when.
    pub(super) as_of: AsOf,
    /// The business date asked, as given.
    pub(super) as_of_date: Option<Date>,
    /// The recorded time asked, as given.
    pub(super) known_at: Option<OffsetDateTime>,
    /// The target year.
    pub(super) year: i32,
}

/// Reads and checks `params`, for `caller`.
pub(super) fn question(params: Params, caller: &Caller) -> Result<Question, Problem> {
    let Query(params) = params;
    question_within(params, |requested| caller.region_filter(requested))
}

/// Reads and checks `params`; `allowed` narrows the region asked for to the one the asker may
/// see (a Dinas office's own), or refuses it.
pub(super) fn question_within(
    params: BTreeMap<String, String>,
    allowed: impl FnOnce(Option<RegionCode>) -> Result<Option<RegionCode>, Problem>,
) -> Result<Question, Problem> {
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(
            unknown,
            "query.unknown",
            format!("is not a parameter; known: {}", KNOWN.join(", ")),
        ));
    }
    let requested = match params.get("region").map(String::as_str) {
        None | Some("") => None,
        Some(code) => Some(
            RegionCode::parse(code)
                .map_err(|e| invalid("region", "region.format", e.to_string()))?,
        ),
    };
    let allowed = allowed(requested)?;
    let scope = scope(allowed.as_ref().map_or("", RegionCode::as_str))?;
    let category = params
        .get("category")
        .map(|text| {
            WorkerCategory::from_str_name(&format!("WORKER_CATEGORY_{}", text.to_uppercase()))
                .filter(|c| *c != WorkerCategory::Unspecified)
                .map(|c| c as i32)
                .ok_or_else(|| {
                    invalid(
                        "category",
                        "category.enum",
                        "must be one of peksos, tks, penyuluh_sosial, relawan_sosial",
                    )
                })
        })
        .transpose()?;
    let role = params
        .get("role")
        .map(|text| {
            WorkerRole::from_str_name(&format!("WORKER_ROLE_{}", text.to_uppercase()))
                .filter(|r| *r != WorkerRole::Unspecified)
                .map(|r| r as i32)
                .ok_or_else(|| invalid("role", "role.enum", "is not a worker role code"))
        })
        .transpose()?;
    let scheme = match params.get("scheme") {
        Some(code) if code.is_empty() || code.len() > 64 => {
            return Err(invalid(
                "scheme",
                "scheme.length",
                "must be 1-64 characters",
            ));
        }
        Some(code) => code.clone(),
        None => ALL_SCHEMES.to_owned(),
    };
    let as_of_date = params
        .get("as_of")
        .map(|text| {
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| invalid("as_of", "as_of.date", "must be a business date YYYY-MM-DD"))
        })
        .transpose()?;
    let known_at = params
        .get("known_at")
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                invalid(
                    "known_at",
                    "known_at.rfc3339",
                    "must be an RFC 3339 instant",
                )
            })
        })
        .transpose()?;
    let year = match params.get("year") {
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|y| (1945..=9999).contains(y))
            .ok_or_else(|| invalid("year", "year.range", "must be a year from 1945"))?,
        // This year in the programme's clock (WIB): on 31 December at 20:00 UTC it is already
        // the next year's target that is asked.
        None => as_of_date.map_or_else(
            || business_date(OffsetDateTime::now_utc()).year(),
            |d| d.year(),
        ),
    };
    Ok(Question {
        filter: Filter {
            scope,
            category,
            role,
            scheme,
        },
        as_of: AsOf {
            day: as_of_date.map(day_of),
            recorded_us: known_at.map(unix_micros),
        },
        as_of_date,
        known_at,
        year,
    })
}

fn scope(code: &str) -> Result<Scope, Problem> {
    if code.is_empty() {
        return Ok(Scope::Nation);
    }
    let parsed =
        RegionCode::parse(code).map_err(|e| invalid("region", "region.format", e.to_string()))?;
    if Regions::embedded().get(&parsed).is_none() {
        return Err(invalid(
            "region",
            "region.known",
            "is not a Kemendagri region code",
        ));
    }
    Scope::of_code(parsed.as_str()).ok_or_else(|| {
        invalid(
            "region",
            "region.level",
            "must be a province or kabupaten/kota",
        )
    })
}
