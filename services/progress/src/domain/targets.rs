//! Yearly targets as they were set over time, and the one in force as of a moment. Pure.
//!
//! A setting is in force from its business day (the date it was set in force from). As of a
//! business day and a recorded time, the setting in force per category is the one known by
//! then with the latest such day on or before the asked day (the later recorded of two on one
//! day): a cut entered before the original target it replaces, both dated in the past, still
//! answers each date with the target in force then. A total across all categories
//! ([`TOTAL`]) stands beside the per-category settings: asked for all categories, the total in
//! force answers, and the per-category settings are summed only when no total is.

use std::collections::BTreeMap;

use crate::domain::change::TOTAL;
use crate::domain::query::{AsOf, TargetFigure};

/// A stored target setting, for choosing the one in force as of a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTarget {
    /// Year.
    pub year: i64,
    /// Region code.
    pub region: String,
    /// Category number ([`TOTAL`] for all categories).
    pub category: i64,
    /// Workers to certify.
    pub count: i64,
    /// Business day it is in force from.
    pub day: i64,
    /// Recorded (µs).
    pub recorded_us: i64,
    /// Source.
    pub source: String,
    /// Position in the source.
    pub position: i64,
}

impl StoredTarget {
    /// The order of precedence among settings of one category: the later in-force day, then
    /// the later recorded.
    fn precedence(&self) -> (i64, i64, &str, i64) {
        (self.day, self.recorded_us, &self.source, self.position)
    }
}

/// The target in force for `region` as of a moment, among a year's `settings`: the setting
/// in force per category; for one category its own, for all categories the total if one is
/// in force, else the per-category settings summed.
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
        if setting.precedence() > entry.precedence() {
            *entry = setting;
        }
    }
    let count = match latest.get(&i64::from(TOTAL)) {
        Some(total) if category.is_none() => total.count,
        _ if latest.is_empty() => return None,
        _ => latest.values().map(|s| s.count).sum(),
    };
    Some(TargetFigure { year, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(category: i64, count: i64, day: i64, recorded_us: i64) -> StoredTarget {
        StoredTarget {
            year: 2020,
            region: String::new(),
            category,
            count,
            day,
            recorded_us,
            source: "enrollment".to_owned(),
            position: recorded_us,
        }
    }

    fn on(day: i64) -> AsOf {
        AsOf {
            day: Some(day),
            recorded_us: None,
        }
    }

    #[test]
    fn the_target_in_force_on_a_date_is_the_latest_dated_by_then_not_the_latest_recorded() {
        // The cut to 16,920 (day 200) was recorded before the original 27,000 (day 10).
        let settings = [setting(0, 16_920, 200, 1), setting(0, 27_000, 10, 2)];
        let count = |as_of| target_in_force(&settings, 2020, "", None, as_of).map(|t| t.count);
        assert_eq!(count(on(5)), None);
        assert_eq!(count(on(100)), Some(27_000));
        assert_eq!(count(on(266)), Some(16_920));
        assert_eq!(count(AsOf::default()), Some(16_920));
    }

    #[test]
    fn a_total_target_answers_for_all_categories_and_each_category_keeps_its_own() {
        let peksos = 1;
        let settings = [
            setting(i64::from(peksos), 5_000, 10, 1),
            setting(2, 3_000, 10, 2),
        ];
        let all = |settings: &[StoredTarget]| {
            target_in_force(settings, 2020, "", None, AsOf::default()).map(|t| t.count)
        };
        assert_eq!(
            all(&settings),
            Some(8_000),
            "no total: the categories summed"
        );
        let with_total = [
            settings[0].clone(),
            settings[1].clone(),
            setting(0, 16_920, 20, 3),
        ];
        assert_eq!(all(&with_total), Some(16_920));
        assert_eq!(
            target_in_force(&with_total, 2020, "", Some(peksos), AsOf::default()).map(|t| t.count),
            Some(5_000)
        );
        assert_eq!(
            target_in_force(&with_total, 2020, "", None, on(15)).map(|t| t.count),
            Some(8_000),
            "before the total was in force"
        );
    }
}
