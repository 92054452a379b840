//! Whose clock a business date is in. kesos keeps one rule for the whole programme: a
//! business *date* is a calendar date in Western Indonesian Time (WIB, UTC+7), the ministry's
//! and most of the workforce's, and the zone the dashboard shows; an instant becomes a date by
//! reading it in WIB. So a certificate issued at 20:00 UTC is dated the next day, wherever the
//! worker is posted (WITA and WIT regions included): one programme, one calendar. Pure.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// Western Indonesian Time, UTC+7: the programme's clock.
pub const WIB: UtcOffset = time::macros::offset!(+7);

/// The business date of an instant: its calendar date in WIB.
pub fn business_date(at: OffsetDateTime) -> Date {
    at.to_offset(WIB).date()
}

/// The first instant of a business date (midnight WIB).
pub fn start_of(date: Date) -> OffsetDateTime {
    date.midnight().assume_offset(WIB)
}

/// The business time of a fact dated `on` and recorded at `now`: `now` itself when `on` is
/// today (in WIB), otherwise the start of `on`, so the store's `occurred_at` falls on the date
/// given and progress dates the fact by it.
pub fn occurred_at(on: Date, now: OffsetDateTime) -> OffsetDateTime {
    if on == business_date(now) {
        now
    } else {
        start_of(on)
    }
}

/// An instant as error messages print it: RFC 3339 in WIB (`2026-11-22T17:00:00+07:00`), so a
/// reader sees the programme's clock and the offset it is in, never a debug dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Instant(pub OffsetDateTime);

impl fmt::Display for Rfc3339Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.to_offset(WIB).format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            // Only years beyond 9999 fail to format; say the instant some other exact way.
            Err(_) => write!(f, "{}s after 1970-01-01T00:00:00Z", self.0.unix_timestamp()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn an_instant_at_20_00_utc_is_dated_the_next_day() {
        assert_eq!(
            business_date(datetime!(2026-11-22 20:00 UTC)),
            date!(2026 - 11 - 23)
        );
        assert_eq!(
            business_date(datetime!(2026-11-22 16:59:59 UTC)),
            date!(2026 - 11 - 22)
        );
    }

    #[test]
    fn a_business_date_starts_at_midnight_in_wib() {
        assert_eq!(
            start_of(date!(2017 - 12 - 03)),
            datetime!(2017-12-02 17:00 UTC)
        );
    }

    #[test]
    fn a_fact_dated_today_keeps_its_instant_and_a_past_one_starts_its_day() {
        let now = datetime!(2026-11-22 20:00 UTC);
        assert_eq!(occurred_at(date!(2026 - 11 - 23), now), now);
        assert_eq!(
            occurred_at(date!(2020 - 01 - 01), now),
            datetime!(2019-12-31 17:00 UTC)
        );
    }

    #[test]
    fn an_instant_prints_as_rfc_3339_in_wib() {
        assert_eq!(
            Rfc3339Instant(datetime!(2026-11-22 10:00 UTC)).to_string(),
            "2026-11-22T17:00:00+07:00"
        );
    }
}
