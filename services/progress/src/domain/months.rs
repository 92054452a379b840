//! The monthly roll-up: the dated facts over all schemes (scheme `*`) summed per region,
//! category, measure and business month, at three levels (the nation, its provinces, their
//! kabupaten/kota), each both for the fact's category and for all categories; and the same
//! sums over all time (month [`ALL_TIME`]), which are the current figures.
//!
//! It exists for speed. A national monthly series or an as-of figure summed from the facts
//! reads every fact of the country (millions); summed from the roll-up it reads one row per
//! region, measure and month, plus the facts of the one month the as-of date falls in. It is
//! kept in the same transaction as the facts (live), summed as they are loaded (replay) or
//! summed from them (upgrade), so it always agrees with them. Questions it cannot answer — cut
//! by role, or as of a recorded time — are summed from the facts as before. Pure; the SQL that
//! computes a fact's month is the projection's ([`crate::projections`]).

use crate::domain::calendar::EPOCH_JULIAN_DAY;
use crate::domain::measure::Measure;
use crate::domain::plan::Fact;
use crate::domain::sums::Sums;

/// The category column's value for rows over all categories.
pub const ALL_CATEGORIES: i64 = -1;

/// The month column's value for rows over all time: after every real month, so "before month
/// M" never includes them.
pub const ALL_TIME: i64 = i64::MAX;

/// Which level of the region tree a roll-up row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The whole country (region and parent empty).
    Nation = 0,
    /// A province `PP` (parent empty).
    Province = 1,
    /// A kabupaten/kota `PP.KK` (parent `PP`).
    KabupatenKota = 2,
}

impl Level {
    /// The stored number.
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// One roll-up row's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthKey {
    /// The region's level.
    pub level: Level,
    /// The region's parent: empty for the nation and provinces, `PP` for a kabupaten/kota.
    pub parent: String,
    /// The region's code (empty for the nation, and for a region not yet known).
    pub region: String,
    /// `WorkerCategory` number, or [`ALL_CATEGORIES`].
    pub category: i64,
    /// What.
    pub measure: Measure,
    /// The business month, as [`month_index`] numbers it, or [`ALL_TIME`].
    pub month: i64,
}

/// Roll-up rows, each key once, region by region in the order of the table's primary key:
/// the form both the live upserts and a replay's bulk writes take.
pub type MonthRows = Vec<(MonthKey, i64)>;

/// Sums the facts over all schemes among `facts` into roll-up rows (each fact counts in
/// twelve: three levels by two category cuts by its month and all time); sums that net to
/// zero are left out. The same in-memory grids a replay keeps (`crate::domain::sums`) do the
/// summing: a map keyed by whole rows spent most of the live projection's time comparing
/// region codes.
pub fn roll_up(facts: &[Fact]) -> MonthRows {
    let mut sums = Sums::default();
    sums.add_facts(facts);
    sums.roll_up().rows()
}

/// The business month of a day (days since 1970-01-01) as `year × 12 + month − 1`, the number
/// the roll-up stores and both backends compute from a day in SQL alike.
pub fn month_index(day: i64) -> i64 {
    let (year, month) = year_month(day);
    i64::from(year) * 12 + i64::from(month) - 1
}

/// The first business day of month `index`.
pub fn first_day(index: i64) -> i64 {
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(1970);
    let month = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
    let date = time::Month::try_from(month)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(year, m, 1).ok());
    date.map_or(0, |d| i64::from(d.to_julian_day()) - EPOCH_JULIAN_DAY)
}

/// `YYYY-MM` of month `index`.
pub fn month_label(index: i64) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

fn year_month(day: i64) -> (i32, u8) {
    let date = i32::try_from(day + EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|julian| time::Date::from_julian_day(julian).ok());
    date.map_or((0, 1), |d| (d.year(), u8::from(d.month())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::day_of;
    use crate::domain::measure::Key;
    use time::macros::date;

    fn fact(kabkota: &str, category: i32, measure: Measure, delta: i32, day: i64) -> Fact {
        Fact {
            key: Key {
                kabkota: kabkota.to_owned(),
                category,
                role: 1,
            },
            scheme: "*".to_owned(),
            measure,
            delta,
            day,
            recorded_us: 0,
        }
    }

    #[test]
    fn months_are_numbered_from_year_zero_and_read_back_as_their_label() {
        let day = day_of(date!(2017 - 12 - 03));
        assert_eq!(month_index(day), 2017 * 12 + 11);
        assert_eq!(month_label(month_index(day)), "2017-12");
        assert_eq!(first_day(month_index(day)), day_of(date!(2017 - 12 - 01)));
        let before_1970 = day_of(date!(1969 - 02 - 28));
        assert_eq!(month_label(month_index(before_1970)), "1969-02");
        assert_eq!(
            first_day(month_index(before_1970)),
            day_of(date!(1969 - 02 - 01))
        );
    }

    #[test]
    fn a_fact_rolls_up_to_its_kabupaten_kota_province_and_nation_for_its_category_and_all() {
        let day = day_of(date!(2025 - 03 - 10));
        let rows = roll_up(&[
            fact("32.77", 1, Measure::Registered, 1, day),
            fact("32.17", 2, Measure::Registered, 1, day),
        ]);
        let sum = |level, region: &str, category| {
            rows.iter()
                .filter(|(k, _)| k.level == level && k.region == region && k.category == category)
                .filter(|(k, _)| k.month != ALL_TIME)
                .map(|(_, v)| *v)
                .sum::<i64>()
        };
        // Two kabupaten/kota with two cuts each; the province and the nation by each category
        // and by all; each for the month and for all time.
        assert_eq!(rows.len(), (2 * 2 + 3 + 3) * 2);
        assert_eq!(sum(Level::Nation, "", ALL_CATEGORIES), 2);
        assert_eq!(sum(Level::Nation, "", 1), 1);
        assert_eq!(sum(Level::Province, "32", ALL_CATEGORIES), 2);
        assert_eq!(sum(Level::KabupatenKota, "32.77", 1), 1);
        assert_eq!(sum(Level::KabupatenKota, "32.77", 2), 0);
        assert!(
            rows.iter()
                .filter(|(k, _)| k.level == Level::KabupatenKota)
                .all(|(k, _)| k.parent == "32")
        );
    }

    #[test]
    fn facts_of_one_scheme_are_left_to_the_facts_table() {
        let mut one_scheme = fact("32.77", 1, Measure::Certified, 1, 0);
        one_scheme.scheme = "PEKSOS-GENERALIS".to_owned();
        assert!(roll_up(&[one_scheme]).is_empty());
    }

    #[test]
    fn changes_that_cancel_within_a_month_leave_no_row() {
        let day = day_of(date!(2025 - 03 - 10));
        let rows = roll_up(&[
            fact("32.77", 1, Measure::Valid, 1, day),
            fact("32.77", 1, Measure::Valid, -1, day + 5),
        ]);
        assert!(rows.is_empty());
    }
}
