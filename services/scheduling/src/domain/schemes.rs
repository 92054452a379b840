//! The schemes candidates can be tested in, as scheduling needs them: a code, the worker
//! category it certifies and its level. Scheduling reads the same reference data as
//! enrollment (the scheme catalogue, `KESOS_SCHEMES_FILE` or the shipped one) but only these
//! fields of it: the eligibility rules are enrollment's business, and sharing the data rather
//! than enrollment's crate keeps the services apart.

use serde::Deserialize;

use crate::domain::types::SchemeRef;

/// The schemes in force, by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeList {
    schemes: Vec<SchemeRef>,
}

/// A catalogue scheduling cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheme catalogue: {0}")]
pub struct SchemeListError(pub String);

#[derive(Deserialize)]
struct CatalogueFile {
    #[serde(rename = "scheme", default)]
    schemes: Vec<SchemeEntry>,
}

#[derive(Deserialize)]
struct SchemeEntry {
    code: String,
    category: String,
    level: String,
}

impl SchemeList {
    /// The schemes of a catalogue file (TOML, `[[scheme]]` tables with `code`, `category` and
    /// `level`; the other keys are enrollment's and are not read here). Codes are compared in
    /// upper case; a code given twice is refused.
    pub fn from_catalogue_toml(text: &str) -> Result<Self, SchemeListError> {
        let file: CatalogueFile =
            toml::from_str(text).map_err(|error| SchemeListError(error.to_string()))?;
        let mut schemes: Vec<SchemeRef> = Vec::with_capacity(file.schemes.len());
        for entry in file.schemes {
            let code = entry.code.trim().to_ascii_uppercase();
            if schemes.iter().any(|known| known.code == code) {
                return Err(SchemeListError(format!("scheme {code} appears twice")));
            }
            schemes.push(SchemeRef {
                code,
                category: entry.category.trim().to_ascii_lowercase(),
                level: entry.level,
            });
        }
        Ok(Self { schemes })
    }

    /// The scheme with this code (any case, surrounding spaces ignored).
    pub fn find(&self, code: &str) -> Option<&SchemeRef> {
        let code = code.trim().to_ascii_uppercase();
        self.schemes.iter().find(|scheme| scheme.code == code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CATALOGUE: &str = r#"
version = "2025-1"
[[scheme]]
code = "PEKSOS-GENERALIS"
name = "Pekerja Sosial Generalis"
category = "peksos"
level = "Generalis"
validity_years = 3
[[scheme.route]]
id = "utama"
require = []
"#;

    #[test]
    fn a_scheme_is_found_by_its_code_in_any_case_with_its_category_and_level() {
        let list = SchemeList::from_catalogue_toml(CATALOGUE).unwrap();
        let scheme = list.find(" peksos-generalis ").unwrap();
        assert_eq!(scheme.category, "peksos");
        assert_eq!(scheme.level, "Generalis");
        assert!(list.find("TKS-MADYA").is_none());
    }

    #[test]
    fn a_code_given_twice_is_refused() {
        let twice = format!(
            "{CATALOGUE}\n[[scheme]]\ncode = \"peksos-generalis\"\ncategory = \"peksos\"\nlevel = \"X\"\n"
        );
        let error = SchemeList::from_catalogue_toml(&twice).unwrap_err();
        assert!(error.0.contains("appears twice"), "{error}");
    }
}
