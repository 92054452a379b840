//! The figures central operations follow, and the dimensions they are cut by.

use serde::{Deserialize, Serialize};

/// One counted stage of a worker's way to a certificate. Each is a count of workers (or of
/// worker × scheme pairs, when cut by scheme), never of events: a worker nominated twice counts
/// once.
///
/// "Ever" stages count a worker once the stage is reached and keep counting them; the last
/// five describe where the worker stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Registered (an erased worker still counts: the event remains, the personal data does not;
    /// a departed worker counts for nothing, in this or any measure, from the departure's
    /// business date until a return).
    Registered,
    /// Ever nominated for a scheme.
    Nominated,
    /// Ever verified eligible (or admitted by an override).
    Verified,
    /// Latest verification outcome is a rejection.
    Rejected,
    /// Ever seated in a test session.
    Seated,
    /// Ever assessed (a decision was recorded).
    Assessed,
    /// Ever judged Kompeten.
    Kompeten,
    /// Latest decision is Belum Kompeten.
    BelumKompeten,
    /// Ever issued a certificate.
    Certified,
    /// Holds a currently valid certificate.
    Valid,
    /// The current certificate is suspended.
    Suspended,
    /// The current certificate is revoked.
    Revoked,
    /// The current certificate expired (and was not renewed).
    Expired,
}

impl Measure {
    /// Every measure, in funnel order.
    pub const ALL: [Measure; 13] = [
        Measure::Registered,
        Measure::Nominated,
        Measure::Verified,
        Measure::Rejected,
        Measure::Seated,
        Measure::Assessed,
        Measure::Kompeten,
        Measure::BelumKompeten,
        Measure::Certified,
        Measure::Valid,
        Measure::Suspended,
        Measure::Revoked,
        Measure::Expired,
    ];

    /// The stored code (stable: never renumber).
    pub fn code(self) -> i16 {
        match self {
            Measure::Registered => 1,
            Measure::Nominated => 2,
            Measure::Verified => 3,
            Measure::Rejected => 4,
            Measure::Seated => 5,
            Measure::Assessed => 6,
            Measure::Kompeten => 7,
            Measure::BelumKompeten => 8,
            Measure::Certified => 9,
            Measure::Valid => 10,
            Measure::Suspended => 11,
            Measure::Revoked => 12,
            Measure::Expired => 13,
        }
    }

    /// The measure stored as `code`, if any.
    pub fn from_code(code: i16) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The name used in answers and query parameters.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Registered => "registered",
            Measure::Nominated => "nominated",
            Measure::Verified => "verified",
            Measure::Rejected => "rejected",
            Measure::Seated => "seated",
            Measure::Assessed => "assessed",
            Measure::Kompeten => "kompeten",
            Measure::BelumKompeten => "belum_kompeten",
            Measure::Certified => "certified",
            Measure::Valid => "valid",
            Measure::Suspended => "suspended",
            Measure::Revoked => "revoked",
            Measure::Expired => "expired",
        }
    }
}

/// The scheme column's value for figures over all schemes (a worker counted once whatever the
/// number of schemes they pursue).
pub const ALL_SCHEMES: &str = "*";

/// Where and what a worker counts as: the kabupaten/kota of their posting (`PP.KK`; empty while
/// unknown), their category and role (the protobuf enum numbers).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Deserialize, Serialize,
)]
pub struct Key {
    /// Kabupaten/kota code `PP.KK`, or empty.
    pub kabkota: String,
    /// `WorkerCategory` number (0 while unknown).
    pub category: i32,
    /// `WorkerRole` number (0 while unknown).
    pub role: i32,
}

impl Key {
    /// The province code `PP` (empty while unknown).
    pub fn province(&self) -> &str {
        province_of(&self.kabkota)
    }
}

/// The province code `PP` of a kabupaten/kota code `PP.KK` (empty for an empty code).
pub fn province_of(kabkota: &str) -> &str {
    kabkota.get(..2).unwrap_or("")
}

/// The kabupaten/kota (`PP.KK`) part of a region code of any level; empty when the code is
/// shorter than a kabupaten/kota.
pub fn kabkota_of(code: &str) -> String {
    match code.get(..5) {
        Some(prefix) if prefix.as_bytes().get(2) == Some(&b'.') => prefix.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measure_round_trips_through_its_stored_code() {
        for measure in Measure::ALL {
            assert_eq!(Measure::from_code(measure.code()), Some(measure));
        }
        assert_eq!(Measure::from_code(0), None);
    }

    #[test]
    fn the_kabupaten_kota_of_a_village_code_is_its_first_two_segments() {
        assert_eq!(kabkota_of("32.77.01.1001"), "32.77");
        assert_eq!(kabkota_of("32.77"), "32.77");
        assert_eq!(kabkota_of("32"), "");
        assert_eq!(kabkota_of(""), "");
    }
}
