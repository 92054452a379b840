//! Yearly targets as they were set over time, and the one in force as of a moment: the latest
//! setting known by then, per category. Pure.

use std::collections::BTreeMap;

use crate::domain::query::{AsOf, TargetFigure};

/// A stored target setting, for choosing the one in force as of a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTarget {
    /// Year.
    pub year: i64,
    /// Region code.
    pub region: String,
    /// Category number.
    pub category: i64,
    /// Workers to certify.
    pub count: i64,
    /// Business day set.
    pub day: i64,
    /// Recorded (µs).
    pub recorded_us: i64,
    /// Source.
    pub source: String,
    /// Position in the source.
    pub position: i64,
}

/// The target in force for `region` as of a moment, among a year's `settings`: the latest
/// setting known then, per category, summed over categories unless one is asked.
pub fn target_in_force(
    settings: &[StoredTarget],
    year: i32,
    region: &str,
    category: Option<i32>,
    as_of: AsOf,
) -> Option<TargetFigure> {
    let mut latest: BTreeMap<i64, &StoredTarget> = BTreeMap::new();
    for setting in settings.iter().filter(|s| {
        s.region == region
            && as_of.day.is_none_or(|day| s.day <= day)
            && as_of.recorded_us.is_none_or(|at| s.recorded_us <= at)
            && category.is_none_or(|c| i64::from(c) == s.category)
    }) {
        let entry = latest.entry(setting.category).or_insert(setting);
        if (setting.recorded_us, &setting.source, setting.position)
            > (entry.recorded_us, &entry.source, entry.position)
        {
            *entry = setting;
        }
    }
    (!latest.is_empty()).then(|| TargetFigure {
        year,
        count: latest.values().map(|s| s.count).sum(),
    })
}
