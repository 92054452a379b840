//! The values a worker's record is made of, each valid by construction.

use std::fmt;

use kesos_regions::{Level, RegionCode, Regions};
use uuid::Uuid;

use crate::domain::codes::EducationLevel;

/// A worker's identity in kesos: stable for life, carries no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub Uuid);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A nomination's identity; unique across workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NominationId(pub Uuid);

impl fmt::Display for NominationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A region a worker can be posted to: a real kabupaten/kota, kecamatan or desa/kelurahan of
/// the embedded edition — never a bare province.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Posting(RegionCode);

/// Why a posting region is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    /// Not a region code, or not one of this edition.
    #[error("{0}")]
    Region(String),
    /// A province is too coarse for a posting.
    #[error("a posting is at least a kabupaten/kota; {code} is a province")]
    TooCoarse {
        /// The province code given.
        code: String,
    },
}

impl Posting {
    /// Checks that the code exists and is at least a kabupaten/kota.
    pub fn parse(text: &str, regions: &Regions) -> Result<Self, PostingError> {
        let region = regions
            .lookup(text)
            .map_err(|error| PostingError::Region(error.to_string()))?;
        if region.level() == Level::Provinsi {
            return Err(PostingError::TooCoarse {
                code: region.code().to_string(),
            });
        }
        Ok(Self(region.code().clone()))
    }

    /// A posting read back from a stored event. Stored events are facts: a code that was valid
    /// when recorded stays readable after a later edition retires it, so only its syntax
    /// (already guaranteed by [`RegionCode`]) is required here.
    pub fn from_stored(code: RegionCode) -> Self {
        Self(code)
    }

    /// The region code.
    pub fn code(&self) -> &RegionCode {
        &self.0
    }

    /// The kabupaten/kota the posting lies in.
    pub fn kabupaten_kota(&self) -> RegionCode {
        self.0.kabupaten_kota().unwrap_or_else(|| self.0.clone())
    }
}

impl fmt::Display for Posting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Education: the highest completed level and whether it is in social work / welfare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Education {
    /// Highest completed level.
    pub level: EducationLevel,
    /// Whether it is in social work or social welfare.
    pub in_social_work: bool,
}

/// What eligibility rules are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qualifications {
    /// Formal education.
    pub education: Education,
    /// Months of practice in social work.
    pub practice_months: u32,
    /// Hours of relevant training.
    pub training_hours: u32,
    /// Member of the professional association (e.g. IPSPI).
    pub association_member: bool,
}

/// A nomination's portfolio reference: a path into the Dinas office's documents, which often
/// names the worker, so it is sealed with the worker's data key like their name and becomes
/// unreadable with it at erasure. Events recorded before it was sealed carry it in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioRef {
    /// Sealed with the worker's key (every nomination recorded now).
    Sealed(SealedField),
    /// In clear, as nominations recorded before sealing carry it.
    InClear(String),
}

/// A value encrypted with the worker's own data key: the domain carries it, never reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedField {
    /// Ciphertext with its authentication tag.
    pub ciphertext: Vec<u8>,
    /// The nonce it was sealed with.
    pub nonce: Vec<u8>,
    /// Which data key sealed it.
    pub key_id: String,
}

impl fmt::Debug for SealedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedField(key {}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

/// A certification scheme's code (category + level, e.g. `PEKSOS-GENERALIS`): reference data,
/// so only its shape is checked here — `A-Z`, `0-9` and `-`, 2 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct SchemeCode(String);

/// A scheme code of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheme code {0:?} is malformed: 2-40 characters A-Z, 0-9 and '-'")]
pub struct SchemeCodeError(pub String);

impl SchemeCode {
    /// Normalises to upper case and checks the shape.
    pub fn parse(text: &str) -> Result<Self, SchemeCodeError> {
        let code = text.trim().to_ascii_uppercase();
        let valid = (2..=40).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(code))
        } else {
            Err(SchemeCodeError(text.to_owned()))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SchemeCode {
    type Error = SchemeCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl fmt::Display for SchemeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text a person must give (a reason, a justification): trimmed, not empty, at most 2,000
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

/// Reason text that is empty or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Nothing given.
    #[error("must not be empty")]
    Empty,
    /// Over the limit.
    #[error("must be at most 2000 characters")]
    TooLong,
}

impl Reason {
    /// Trims and checks the length.
    pub fn parse(text: &str) -> Result<Self, ReasonError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ReasonError::Empty);
        }
        if text.chars().count() > 2000 {
            return Err(ReasonError::TooLong);
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posting_may_be_a_kelurahan() {
        let posting = Posting::parse("32.77.01.1001", Regions::embedded()).unwrap();
        assert_eq!(posting.kabupaten_kota().as_str(), "32.77");
    }

    #[test]
    fn a_province_is_too_coarse_for_a_posting() {
        assert_eq!(
            Posting::parse("32", Regions::embedded()),
            Err(PostingError::TooCoarse { code: "32".into() })
        );
    }

    #[test]
    fn an_unknown_posting_region_is_refused() {
        assert!(matches!(
            Posting::parse("32.99", Regions::embedded()),
            Err(PostingError::Region(_))
        ));
    }

    #[test]
    fn a_scheme_code_is_upper_cased_and_checked() {
        assert_eq!(
            SchemeCode::parse("peksos-generalis").unwrap().as_str(),
            "PEKSOS-GENERALIS"
        );
        assert!(SchemeCode::parse("peksos generalis").is_err());
    }

    #[test]
    fn a_blank_reason_is_refused() {
        assert_eq!(Reason::parse("  "), Err(ReasonError::Empty));
    }
}
