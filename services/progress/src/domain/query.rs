//! What can be asked of the progress model: a region, cut by category, role and scheme, now or
//! as of a business date and a recorded time.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::measure::{ALL_SCHEMES, Measure};

/// The region asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole country; children are provinces.
    Nation,
    /// A province (`PP`); children are its kabupaten/kota.
    Province(String),
    /// A kabupaten/kota (`PP.KK`); no children in this model.
    KabupatenKota(String),
}

impl Scope {
    /// The scope of a region code: empty for the nation, `PP`, or `PP.KK` (longer codes are
    /// cut to their kabupaten/kota, since counts are kept per kabupaten/kota).
    pub fn of_code(code: &str) -> Option<Scope> {
        let code = code.trim();
        if code.is_empty() {
            return Some(Scope::Nation);
        }
        let bytes = code.as_bytes();
        let digits = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
        };
        match code.len() {
            2 if digits(0..2) => Some(Scope::Province(code.to_owned())),
            n if n >= 5 && digits(0..2) && bytes[2] == b'.' && digits(3..5) => {
                Some(Scope::KabupatenKota(code[..5].to_owned()))
            }
            _ => None,
        }
    }

    /// The region's code (empty for the nation).
    pub fn code(&self) -> &str {
        match self {
            Scope::Nation => "",
            Scope::Province(code) | Scope::KabupatenKota(code) => code,
        }
    }
}

/// The cut of the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The region.
    pub scope: Scope,
    /// Only this `WorkerCategory` number.
    pub category: Option<i32>,
    /// Only this `WorkerRole` number.
    pub role: Option<i32>,
    /// One scheme, or [`ALL_SCHEMES`].
    pub scheme: String,
}

impl Filter {
    /// Every worker of a region.
    pub fn region(scope: Scope) -> Self {
        Self {
            scope,
            category: None,
            role: None,
            scheme: ALL_SCHEMES.to_owned(),
        }
    }
}

/// As of when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsOf {
    /// Only what was true by the end of this business day (days since 1970-01-01, WIB).
    pub day: Option<i64>,
    /// Only what the system had recorded by this instant (µs since the epoch).
    pub recorded_us: Option<i64>,
}

impl AsOf {
    /// True when asking about now.
    pub fn is_now(&self) -> bool {
        self.day.is_none() && self.recorded_us.is_none()
    }
}

/// Counts per measure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts(pub BTreeMap<Measure, i64>);

impl Counts {
    /// The count of `measure` (0 when absent).
    pub fn get(&self, measure: Measure) -> i64 {
        self.0.get(&measure).copied().unwrap_or(0)
    }

    /// Adds to a count.
    pub fn add(&mut self, measure: Measure, value: i64) {
        *self.0.entry(measure).or_default() += value;
    }
}

/// The figures of a region and of each of its children (province or kabupaten/kota code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionCounts {
    /// The region's own totals.
    pub total: Counts,
    /// Per child region code.
    pub children: BTreeMap<String, Counts>,
}

/// A target for a year, as set for the region (summed over categories unless one was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TargetFigure {
    /// The year.
    pub year: i32,
    /// Workers to certify.
    pub count: i64,
}
