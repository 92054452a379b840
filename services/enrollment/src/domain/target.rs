//! Yearly certification targets, set by central operations per region (the nation, a
//! province or a kabupaten/kota) and category. One stream per (year, region, category); the
//! latest setting counts. The progress read models compare counts against them.

use std::fmt;

use kesos_aggregate::Aggregate;
use kesos_regions::{Level, RegionCode, Regions};

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

/// A target's current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The last count set; `None` before any.
    pub count: Option<u32>,
}

/// Set the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTarget {
    /// Year.
    pub year: i32,
    /// Region.
    pub region: TargetRegion,
    /// Category.
    pub category: Category,
    /// Workers to certify.
    pub count: u32,
}

/// A target was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSet {
    /// Year.
    pub year: i32,
    /// Region.
    pub region: TargetRegion,
    /// Category.
    pub category: Category,
    /// Workers to certify.
    pub count: u32,
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
        if self.count == Some(command.count) {
            return Ok(Vec::new());
        }
        Ok(vec![TargetSet {
            year: command.year,
            region: command.region.clone(),
            category: command.category,
            count: command.count,
        }])
    }

    fn evolve(mut self, event: &TargetSet) -> Self {
        self.count = Some(event.count);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kesos_aggregate::testing::given;

    fn set(count: u32) -> SetTarget {
        SetTarget {
            year: 2020,
            region: TargetRegion::National,
            category: Category::Peksos,
            count,
        }
    }

    fn was_set(count: u32) -> TargetSet {
        TargetSet {
            year: 2020,
            region: TargetRegion::National,
            category: Category::Peksos,
            count,
        }
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
