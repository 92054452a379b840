//! How kesos' tables hold numbers and instants: counts and positions as signed 64-bit integers
//! (both databases' widest integer), instants as whole microseconds. Every crate that reads or
//! writes those tables converts through these, so a position never wraps and an instant never
//! loses a different amount of precision in two places.

use time::OffsetDateTime;

/// A stored count or position as `u64` (negative values cannot be stored by kesos; read as 0).
pub fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A count or position as the databases' signed 64-bit integer (saturating: kesos never stores
/// one beyond `i64::MAX`).
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Microseconds since the Unix epoch, the storage and hashing form of instants.
pub fn unix_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// A stored microsecond count that is no instant `time` can represent (a corrupt row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstantOutOfRange(pub i64);

impl std::fmt::Display for InstantOutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} microseconds since the Unix epoch is out of range",
            self.0
        )
    }
}

impl std::error::Error for InstantOutOfRange {}

/// Inverse of [`unix_micros`].
pub fn from_unix_micros(micros: i64) -> Result<OffsetDateTime, InstantOutOfRange> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| InstantOutOfRange(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_survives_the_round_trip_through_microseconds() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(from_unix_micros(unix_micros(at)), Ok(at));
    }

    #[test]
    fn a_count_beyond_the_signed_range_saturates_and_a_negative_one_reads_as_zero() {
        assert_eq!(to_i64(u64::MAX), i64::MAX);
        assert_eq!(to_u64(-5), 0);
    }

    #[test]
    fn a_microsecond_count_out_of_range_is_an_error_not_a_panic() {
        assert_eq!(from_unix_micros(i64::MAX), Err(InstantOutOfRange(i64::MAX)));
    }
}
