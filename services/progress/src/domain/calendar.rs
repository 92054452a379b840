//! Business time: kesos counts business dates as Indonesian dates, as days since 1970-01-01.
//! Pure.

use time::{Date, OffsetDateTime, UtcOffset};

/// Business dates are Indonesian dates; kesos counts them in Western Indonesia Time (UTC+7),
/// where most of the workforce and the ministry are.
pub const BUSINESS_OFFSET_HOURS: i8 = 7;

/// The Julian day number of 1970-01-01.
pub const EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The business day of an instant, as days since 1970-01-01 (WIB).
pub fn business_day(at: OffsetDateTime) -> i64 {
    day_of(business_date(at))
}

/// The business date of an instant: its calendar date in WIB (20:00 UTC is the next day).
pub fn business_date(at: OffsetDateTime) -> Date {
    let offset = UtcOffset::from_hms(BUSINESS_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC);
    at.to_offset(offset).date()
}

/// The business day number of a date (days since 1970-01-01).
pub fn day_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn an_instant_at_20_00_utc_falls_on_the_next_business_day() {
        let evening = datetime!(2020-12-31 20:00 UTC);
        assert_eq!(business_date(evening), date!(2021 - 01 - 01));
        assert_eq!(business_day(evening), day_of(date!(2021 - 01 - 01)));
        assert_eq!(day_of(date!(1970 - 01 - 01)), 0);
    }
}
