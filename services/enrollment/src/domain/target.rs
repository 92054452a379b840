//! Yearly certification targets, set by central operations per region (the nation, a
//! province or a kabupaten/kota), per category or as a total across all categories. One
//! stream per (year, region, category or total). Each setting is in force from a business
//! date (WIB, not in the future); as of a date, the setting in force is the one with the
//! latest such date by then (the later recorded of two on one day). The progress read models
//! compare counts against them.

use std::fmt;

use kesos_aggregate::Aggregate;
use kesos_regions::{Level, RegionCode, Regions};
use time::{Date, OffsetDateTime};

use crate::domain::calendar::{Rfc3339Instant, business_date};
use crate::domain::codes::Category;

/// Where a target applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetRegion {
    /// The whole country.
    National,
    /// A province or kabupaten/kota.
    Region(RegionCode),
}

/// A target region that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRegionError {
    /// Unknown or malformed code.
    #[error("{0}")]
    Region(String),
    /// Targets are set for provinces and kabupaten/kota only.
    #[error("targets are set for the nation, a province or a kabupaten/kota; {0} is finer")]
    TooFine(String),
}

impl TargetRegion {
    /// `""` or `national` is the nation; otherwise a real province or kabupaten/kota.
    pub fn parse(text: &str, regions: &Regions) -> Result<Self, TargetRegionError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("national") {
            return Ok(Self::National);
        }
        let region = regions
            .lookup(text)
            .map_err(|e| TargetRegionError::Region(e.to_string()))?;
        match region.level() {
            Level::Provinsi | Level::KabupatenKota => Ok(Self::Region(region.code().clone())),
            _ => Err(TargetRegionError::TooFine(region.code().to_string())),
        }
    }

    /// The code (`""` for the nation), as stored and sent.
    pub fn code(&self) -> &str {
        match self {
            Self::National => "",
            Self::Region(code) => code.as_str(),
        }
    }
}

impl fmt::Display for TargetRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::National => f.write_str("national"),
            Self::Region(code) => code.fmt(f),
        }
    }
}

/// What a target counts: the workers of one category, or of all categories together (a
/// total, beside the per-category ones: the 2020 national target of 16,920 was one number
/// across Peksos, Penyuluh Sosial, TKS and Relawan Sosial).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetCategory {
    /// Every category together.
    Total,
    /// One category.
    Category(Category),
}

impl TargetCategory {
    /// `all` for a total, otherwise the category's code; as in stream names and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Total => "all",
            Self::Category(category) => category.code(),
        }
    }
}

/// A target's settings so far, oldest recorded first: each count with the date it is in
/// force from (`None` for settings recorded before targets were dated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Every setting, in the order recorded.
    pub settings: Vec<(Option<Date>, u32)>,
}

impl Target {
    /// The count in force on `date` among the dated settings: the latest in-force date on or
    /// before it, the later recorded of two on one day.
    pub fn in_force_on(&self, date: Date) -> Option<u32> {
        self.settings
            .iter()
            .filter_map(|(from, count)| from.filter(|from| *from <= date).map(|f| (f, *count)))
            .fold(
                None,
                |best: Option<(Date, u32)>, (from, count)| match best {
                    Some((best_from, _)) if best_from > from => best,
                    _ => Some((from, count)),
                },
            )
            .map(|(_, count)| count)
    }
}

/// Set the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTarget {
    /// Year.
    pub year: i32,
    /// Region.
    pub region: TargetRegion,
    /// One category, or the total.
    pub category: TargetCategory,
    /// Workers to certify.
    pub count: u32,
    /// The business date from which it is in force (today for a target set now).
    pub in_force_from: Date,
    /// The command's time: the date is not after it (in WIB).
    pub now: OffsetDateTime,
}

/// A target was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSet {
    /// Year.
    pub year: i32,
    /// Region.
    pub region: TargetRegion,
    /// One category, or the total.
    pub category: TargetCategory,
    /// Workers to certify.
    pub count: u32,
    /// The business date from which it is in force; `None` on settings recorded before
    /// targets were dated (in force from the event's business time).
    pub in_force_from: Option<Date>,
}

/// Which rule refused a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Outside the programme's years.
    #[error("year {0} is outside 2000-2100")]
    YearOutOfRange(i32),
    /// Implausibly large.
    #[error("a target of {0} is above the plausible maximum of 10,000,000")]
    TooLarge(u32),
    /// A target in force only from a date to come.
    #[error(
        "in_force_from {date} is in the future: today is {} in WIB (now {now})",
        business_date(.now.0)
    )]
    InForceInFuture {
        /// The date given.
        date: Date,
        /// The command's time.
        now: Rfc3339Instant,
    },
}

impl Aggregate for Target {
    type Command = SetTarget;
    type Event = TargetSet;
    type Error = TargetError;

    fn decide(&self, command: &SetTarget) -> Result<Vec<TargetSet>, TargetError> {
        if !(2000..=2100).contains(&command.year) {
            return Err(TargetError::YearOutOfRange(command.year));
        }
        if command.count > 10_000_000 {
            return Err(TargetError::TooLarge(command.count));
        }
        if command.in_force_from > business_date(command.now) {
            return Err(TargetError::InForceInFuture {
                date: command.in_force_from,
                now: Rfc3339Instant(command.now),
            });
        }
        // The count already in force from that date on changes nothing: a later-dated
        // setting keeps its own dates, and the earlier ones are untouched.
        if self.in_force_on(command.in_force_from) == Some(command.count) {
            return Ok(Vec::new());
        }
        Ok(vec![TargetSet {
            year: command.year,
            region: command.region.clone(),
            category: command.category,
            count: command.count,
            in_force_from: Some(command.in_force_from),
        }])
    }

    fn evolve(mut self, event: &TargetSet) -> Self {
        self.settings.push((event.in_force_from, event.count));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kesos_aggregate::testing::given;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn set(count: u32) -> SetTarget {
        SetTarget {
            year: 2020,
            region: TargetRegion::National,
            category: TargetCategory::Category(Category::Peksos),
            count,
            in_force_from: date!(2020 - 01 - 02),
            now: NOW,
        }
    }

    fn was_set(count: u32) -> TargetSet {
        TargetSet {
            year: 2020,
            region: TargetRegion::National,
            category: TargetCategory::Category(Category::Peksos),
            count,
            in_force_from: Some(date!(2020 - 01 - 02)),
        }
    }

    fn set_from(count: u32, from: Date) -> SetTarget {
        SetTarget {
            category: TargetCategory::Total,
            in_force_from: from,
            ..set(count)
        }
    }

    fn was_set_from(count: u32, from: Date) -> TargetSet {
        TargetSet {
            category: TargetCategory::Total,
            in_force_from: Some(from),
            ..was_set(count)
        }
    }

    #[test]
    fn a_national_total_across_categories_is_set_from_a_past_date() {
        given::<Target>([])
            .when(set_from(16_920, date!(2020 - 03 - 01)))
            .then([was_set_from(16_920, date!(2020 - 03 - 01))]);
    }

    #[test]
    fn a_target_is_not_in_force_from_a_date_to_come() {
        let error = TargetError::InForceInFuture {
            date: date!(2026 - 11 - 23),
            now: Rfc3339Instant(NOW),
        };
        assert_eq!(
            error.to_string(),
            "in_force_from 2026-11-23 is in the future: today is 2026-11-22 in WIB \
             (now 2026-11-22T17:00:00+07:00)"
        );
        given::<Target>([])
            .when(set_from(1, date!(2026 - 11 - 23)))
            .then_error(error);
    }

    #[test]
    fn the_target_in_force_on_a_date_is_the_latest_dated_by_then_whatever_the_order_recorded() {
        // The cut to 16,920 in June was entered before the original 27,000 of January.
        let target = Target::replay(&[
            was_set_from(16_920, date!(2020 - 06 - 01)),
            was_set_from(27_000, date!(2020 - 01 - 02)),
        ]);
        assert_eq!(target.in_force_on(date!(2019 - 12 - 31)), None);
        assert_eq!(target.in_force_on(date!(2020 - 03 - 01)), Some(27_000));
        assert_eq!(target.in_force_on(date!(2020 - 09 - 23)), Some(16_920));
    }

    #[test]
    fn a_count_already_in_force_from_that_date_changes_nothing_but_an_earlier_date_does() {
        let history = [was_set_from(16_920, date!(2020 - 06 - 01))];
        given::<Target>(history.clone())
            .when(set_from(16_920, date!(2020 - 07 - 01)))
            .then([]);
        given::<Target>(history)
            .when(set_from(16_920, date!(2020 - 01 - 02)))
            .then([was_set_from(16_920, date!(2020 - 01 - 02))]);
    }

    #[test]
    fn a_national_target_is_set() {
        given::<Target>([])
            .when(set(16_920))
            .then([was_set(16_920)]);
    }

    #[test]
    fn a_target_can_be_cut_later() {
        given::<Target>([was_set(27_000)])
            .when(set(16_920))
            .then([was_set(16_920)]);
    }

    #[test]
    fn setting_the_same_target_again_changes_nothing() {
        given::<Target>([was_set(100)]).when(set(100)).then([]);
    }

    #[test]
    fn a_target_outside_the_programme_years_is_refused() {
        let mut command = set(1);
        command.year = 1999;
        given::<Target>([])
            .when(command)
            .then_error(TargetError::YearOutOfRange(1999));
    }

    #[test]
    fn targets_are_not_set_for_a_kecamatan() {
        assert!(matches!(
            TargetRegion::parse("32.77.01", Regions::embedded()),
            Err(TargetRegionError::TooFine(_))
        ));
        assert_eq!(
            TargetRegion::parse("", Regions::embedded()),
            Ok(TargetRegion::National)
        );
    }
}
