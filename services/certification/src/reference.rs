//! Certification reference data: validity per scheme, number abbreviations, and the names of
//! the issuer and the certification bodies (LSPS). Shipped as `reference/certification.toml`;
//! operators may load their own copy.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::domain::MAX_VALIDITY_YEARS;

/// The shipped reference data.
const SHIPPED: &str = include_str!("../reference/certification.toml");

/// Why reference data cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The file could not be read.
    #[error("cannot read certification reference data {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("certification reference data does not parse: {0}")]
    Parse(String),
    /// A value breaks a rule.
    #[error("certification reference data is invalid: {0}")]
    Invalid(String),
}

/// One scheme's certificate rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeRules {
    /// Scheme code, as decisions name it.
    pub code: String,
    /// The abbreviation in its certificate numbers.
    pub abbreviation: String,
    /// Its name, as printed.
    pub name: String,
    /// Years of validity; the default when absent.
    pub validity_years: Option<u32>,
}

/// A certification body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lsps {
    /// Its id, as decisions name it.
    pub id: String,
    /// Its name, as printed and verified.
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    issuer_name: String,
    default_validity_years: u32,
    #[serde(default)]
    lsps: Vec<Lsps>,
    #[serde(default, rename = "scheme")]
    schemes: Vec<SchemeRules>,
}

/// Validated reference data.
///
/// Invariant: scheme codes and abbreviations are unique, abbreviations are 2-6 capitals, and
/// every validity is 1 to [`MAX_VALIDITY_YEARS`] years.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Version of the data, shown on exports.
    pub version: String,
    /// The issuer's name (the ministry).
    pub issuer_name: String,
    /// Validity of schemes that do not set their own.
    pub default_validity_years: u32,
    schemes: HashMap<String, SchemeRules>,
    lsps: HashMap<String, String>,
}

impl Reference {
    /// The shipped data.
    pub fn shipped() -> Result<Self, ReferenceError> {
        Self::parse(SHIPPED)
    }

    /// Data from a TOML file.
    pub fn from_path(path: &Path) -> Result<Self, ReferenceError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReferenceError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Data from TOML text.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let file: File = toml::from_str(text).map_err(|e| ReferenceError::Parse(e.to_string()))?;
        let valid_years = |years: u32, what: &str| {
            if (1..=MAX_VALIDITY_YEARS).contains(&years) {
                Ok(())
            } else {
                Err(ReferenceError::Invalid(format!(
                    "{what}: validity is 1 to {MAX_VALIDITY_YEARS} years, not {years}"
                )))
            }
        };
        valid_years(file.default_validity_years, "default_validity_years")?;
        let mut schemes = HashMap::new();
        let mut abbreviations = HashSet::new();
        for scheme in file.schemes {
            let abbreviation = &scheme.abbreviation;
            if !(2..=6).contains(&abbreviation.len())
                || !abbreviation.bytes().all(|b| b.is_ascii_uppercase())
            {
                return Err(ReferenceError::Invalid(format!(
                    "scheme {}: abbreviation {abbreviation:?} is not 2-6 capital letters",
                    scheme.code
                )));
            }
            if !abbreviations.insert(abbreviation.clone()) {
                return Err(ReferenceError::Invalid(format!(
                    "abbreviation {abbreviation} is used twice"
                )));
            }
            if let Some(years) = scheme.validity_years {
                valid_years(years, &scheme.code)?;
            }
            let code = scheme.code.clone();
            if schemes.insert(code.clone(), scheme).is_some() {
                return Err(ReferenceError::Invalid(format!(
                    "scheme {code} is listed twice"
                )));
            }
        }
        Ok(Self {
            version: file.version,
            issuer_name: file.issuer_name,
            default_validity_years: file.default_validity_years,
            schemes,
            lsps: file.lsps.into_iter().map(|l| (l.id, l.name)).collect(),
        })
    }

    /// The rules of a scheme, by code.
    pub fn scheme(&self, code: &str) -> Option<&SchemeRules> {
        self.schemes.get(code)
    }

    /// The scheme whose numbers carry `abbreviation`.
    pub fn scheme_by_abbreviation(&self, abbreviation: &str) -> Option<&SchemeRules> {
        self.schemes
            .values()
            .find(|s| s.abbreviation == abbreviation)
    }

    /// Validity of a scheme, in years (the default for a scheme without its own).
    pub fn validity_years(&self, scheme: &SchemeRules) -> u32 {
        scheme.validity_years.unwrap_or(self.default_validity_years)
    }

    /// The name of a certification body; its id when the data does not name it.
    pub fn lsps_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.lsps.get(id).map_or(id, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_shipped_reference_data_loads_with_a_scheme_per_enrollment_scheme() {
        let reference = Reference::shipped().unwrap();
        for code in [
            "PEKSOS-ASISTEN",
            "PEKSOS-GENERALIS",
            "PEKSOS-SPESIALIS",
            "TKS-ASISTEN",
            "TKS-GENERALIS",
            "TKS-SPESIALIS",
            "PENYULUH-SOSIAL",
            "RELAWAN-SOSIAL",
        ] {
            assert!(reference.scheme(code).is_some(), "{code}");
        }
        let tks = reference.scheme("TKS-ASISTEN").unwrap();
        assert_eq!(reference.validity_years(tks), 3);
        assert_eq!(reference.lsps_name("LSPS-PEKSOS"), "LSPS Pekerjaan Sosial");
        assert_eq!(reference.lsps_name("LSPS-X"), "LSPS-X");
    }

    #[test]
    fn a_duplicate_abbreviation_is_refused() {
        let text = "version='1'\nissuer_name='K'\ndefault_validity_years=3\n[[scheme]]\ncode='A'\nabbreviation='AB'\nname='a'\n[[scheme]]\ncode='B'\nabbreviation='AB'\nname='b'\n";
        assert!(matches!(
            Reference::parse(text),
            Err(ReferenceError::Invalid(_))
        ));
    }

    #[test]
    fn a_validity_of_twenty_years_is_refused() {
        let text = "version='1'\nissuer_name='K'\ndefault_validity_years=20\n";
        assert!(matches!(
            Reference::parse(text),
            Err(ReferenceError::Invalid(_))
        ));
    }
}
