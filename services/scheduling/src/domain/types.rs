//! The values scheduling is made of, each valid by construction.

use std::fmt;

use kesos_regions::RegionCode;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A competency-test session (uji kompetensi).
    SessionId
);
uuid_id!(
    /// A candidate waiting for, or sitting, a test: one per verified nomination (the
    /// candidate id *is* the nomination id, so a redelivered verification finds its candidate).
    CandidateId
);
uuid_id!(
    /// The worker a candidate is (enrollment's id; no personal data).
    WorkerId
);

/// An identifier issued by another system (an assessor's registration number, an LSPS's
/// code): 1-64 characters `A-Z a-z 0-9 . _ -`, so it fits claim keys and NATS subject tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(String);

/// An external identifier of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an identifier: 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-'")]
pub struct ExternalIdError(pub String);

impl ExternalId {
    /// Checks the shape.
    pub fn parse(text: &str) -> Result<Self, ExternalIdError> {
        let valid = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ExternalIdError(text.chars().take(80).collect()))
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An assessor (asesor kompetensi).
pub type AssessorId = ExternalId;
/// A certification body (LSPS).
pub type LspsId = ExternalId;

/// The scheme a candidate is tested in: code, category and level (from the scheme catalogue).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemeRef {
    /// Scheme code, e.g. `PEKSOS-GENERALIS`.
    pub code: String,
    /// Worker category code, e.g. `peksos`.
    pub category: String,
    /// Level, e.g. `Generalis`.
    pub level: String,
}

/// A competency unit of a scheme: what an assessment judges K or BK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompetencyUnit {
    /// The code a result quotes, e.g. `PKS-GN.03` (1-64 printable characters).
    pub code: String,
    /// What the unit is, e.g. "Melakukan asesmen masalah, kebutuhan dan sumber klien".
    pub title: String,
}

/// Where a session takes place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Venue {
    /// At a test site (TUK) in a region.
    TestSite {
        /// The site's name.
        name: String,
        /// The site's kabupaten/kota (or finer).
        region: RegionCode,
    },
    /// Online; `organiser` is the region of the organising office.
    Online {
        /// The organising office's region.
        organiser: RegionCode,
    },
}

impl Venue {
    /// The region the session is anchored in (the site's, or the organiser's).
    pub fn region(&self) -> &RegionCode {
        match self {
            Self::TestSite { region, .. } => region,
            Self::Online { organiser } => organiser,
        }
    }

    /// True for online sessions.
    pub fn is_online(&self) -> bool {
        matches!(self, Self::Online { .. })
    }
}

/// Everything a session is planned with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Scheme tested.
    pub scheme: SchemeRef,
    /// Test site or online.
    pub venue: Venue,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Most seats.
    pub capacity: u32,
    /// The assessors, without repeats.
    pub assessors: Vec<AssessorId>,
    /// Regions whose candidates may sit it; empty means the whole nation.
    pub served: Vec<RegionCode>,
    /// Seat changes allowed until this instant.
    pub cutoff: OffsetDateTime,
    /// The LSPS running it.
    pub lsps: LspsId,
    /// The competency units a result must judge, each exactly once and no other: the scheme's
    /// units in the catalogue when the session was scheduled (see `Scheduling::schedule`).
    /// Empty only for a session scheduled before the catalogue listed units; its results may
    /// then name any units.
    pub units: Vec<CompetencyUnit>,
}

impl Plan {
    /// True when a candidate from `region` may sit this session.
    pub fn serves(&self, region: &RegionCode) -> bool {
        self.served.is_empty() || self.served.iter().any(|s| region.is_within(s))
    }
}

/// The part of a plan a change may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Most seats.
    pub capacity: u32,
    /// The assessors.
    pub assessors: Vec<AssessorId>,
    /// Seat changes allowed until this instant.
    pub cutoff: OffsetDateTime,
}

impl Plan {
    /// The plan's changeable part.
    pub fn timing(&self) -> Timing {
        Timing {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            capacity: self.capacity,
            assessors: self.assessors.clone(),
            cutoff: self.cutoff,
        }
    }

    /// The plan with a new timing.
    pub fn with_timing(&self, timing: &Timing) -> Self {
        Self {
            starts_at: timing.starts_at,
            ends_at: timing.ends_at,
            capacity: timing.capacity,
            assessors: timing.assessors.clone(),
            cutoff: timing.cutoff,
            ..self.clone()
        }
    }
}

/// Present or no-show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attendance {
    /// Sat the test.
    Present,
    /// Did not come.
    NoShow,
}

/// The overall outcome of an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Competent: every unit K.
    Kompeten,
    /// Not yet competent: at least one unit BK.
    BelumKompeten,
}

/// K or BK for one competency unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitResult {
    /// The unit's code.
    pub unit: String,
    /// True for K (kompeten), false for BK.
    pub kompeten: bool,
}

/// Why a candidate went back to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnReason {
    /// The session was cancelled.
    SessionCancelled,
    /// Unseated by hand.
    Unseated,
    /// Did not come.
    NoShow,
    /// Judged belum kompeten.
    BelumKompeten,
    /// Anything else (see the note).
    Other,
}

impl ReturnReason {
    /// True for the reasons that count as a failed attempt.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::NoShow | Self::BelumKompeten)
    }
}

/// Why a candidate's worker left the programme (enrollment's departure reasons): recorded on
/// the candidate so a list can say why it no longer waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepartureReason {
    /// Resigned (mengundurkan diri).
    Resigned,
    /// Retired (pensiun).
    Retired,
    /// Died (meninggal dunia).
    Died,
    /// Left the programme for another reason.
    LeftProgramme,
}

impl DepartureReason {
    /// The reason's code in lists and in the reason of a seat given up.
    pub fn code(self) -> &'static str {
        match self {
            Self::Resigned => "resigned",
            Self::Retired => "retired",
            Self::Died => "died",
            Self::LeftProgramme => "left_programme",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_is_a_short_token() {
        assert!(ExternalId::parse("ASR-2024.001_b").is_ok());
        for bad in ["", "has space", "a:b", "ä", &"x".repeat(65), "a.>"] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
