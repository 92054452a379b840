//! The schemes candidates can be tested in, as scheduling needs them: a code, the worker
//! category it certifies, its level and its competency units. Scheduling reads the same
//! reference data as enrollment (the scheme catalogue, `KESOS_SCHEMES_FILE` or the shipped one)
//! but only these fields of it: the eligibility rules are enrollment's business, and sharing the
//! data rather than enrollment's crate keeps the services apart. The units are checked here,
//! where results are judged against them, so a catalogue that cannot serve an assessment stops
//! the start instead of refusing every result later.

use serde::Deserialize;

use crate::domain::types::{CompetencyUnit, SchemeRef};

/// The longest unit code, the same bound as the reports' `unit_code`.
const MAX_UNIT_CODE: usize = 64;

/// The schemes in force, by code, each with its competency units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeList {
    schemes: Vec<(SchemeRef, Vec<CompetencyUnit>)>,
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
    #[serde(rename = "unit", default)]
    units: Vec<UnitEntry>,
}

#[derive(Deserialize)]
struct UnitEntry {
    code: String,
    title: String,
}

impl SchemeList {
    /// The schemes of a catalogue file (TOML, `[[scheme]]` tables with `code`, `category`,
    /// `level` and `[[scheme.unit]]` tables with `code` and `title`; the other keys are
    /// enrollment's and are not read here). Codes are compared in upper case; a scheme code
    /// given twice, a scheme without units, a unit code that is blank, longer than 64
    /// characters, not printable or given twice in a scheme, and a unit without a title are
    /// refused, each naming the scheme.
    pub fn from_catalogue_toml(text: &str) -> Result<Self, SchemeListError> {
        let file: CatalogueFile =
            toml::from_str(text).map_err(|error| SchemeListError(error.to_string()))?;
        let mut schemes: Vec<(SchemeRef, Vec<CompetencyUnit>)> =
            Vec::with_capacity(file.schemes.len());
        for entry in file.schemes {
            let code = entry.code.trim().to_ascii_uppercase();
            if schemes.iter().any(|(known, _)| known.code == code) {
                return Err(SchemeListError(format!("scheme {code} appears twice")));
            }
            let units = units_of(&code, entry.units)?;
            schemes.push((
                SchemeRef {
                    code,
                    category: entry.category.trim().to_ascii_lowercase(),
                    level: entry.level,
                },
                units,
            ));
        }
        Ok(Self { schemes })
    }

    /// The scheme with this code (any case, surrounding spaces ignored).
    pub fn find(&self, code: &str) -> Option<&SchemeRef> {
        self.entry(code).map(|(scheme, _)| scheme)
    }

    /// The competency units of the scheme with this code, in catalogue order.
    pub fn units(&self, code: &str) -> Option<&[CompetencyUnit]> {
        self.entry(code).map(|(_, units)| units.as_slice())
    }

    fn entry(&self, code: &str) -> Option<&(SchemeRef, Vec<CompetencyUnit>)> {
        let code = code.trim().to_ascii_uppercase();
        self.schemes.iter().find(|(scheme, _)| scheme.code == code)
    }
}

/// A scheme's units, checked.
fn units_of(scheme: &str, entries: Vec<UnitEntry>) -> Result<Vec<CompetencyUnit>, SchemeListError> {
    if entries.is_empty() {
        return Err(SchemeListError(format!(
            "scheme {scheme} lists no competency unit ([[scheme.unit]] with code and title)"
        )));
    }
    let mut units: Vec<CompetencyUnit> = Vec::with_capacity(entries.len());
    for entry in entries {
        let code = entry.code.trim().to_owned();
        if code.is_empty() || code.len() > MAX_UNIT_CODE || code.chars().any(|c| c.is_control()) {
            return Err(SchemeListError(format!(
                "scheme {scheme}: unit code {code:?} must be 1-{MAX_UNIT_CODE} printable characters"
            )));
        }
        if units.iter().any(|known| known.code == code) {
            return Err(SchemeListError(format!(
                "scheme {scheme}: unit {code} appears twice"
            )));
        }
        let title = entry.title.trim().to_owned();
        if title.is_empty() {
            return Err(SchemeListError(format!(
                "scheme {scheme}: unit {code} has no title"
            )));
        }
        units.push(CompetencyUnit { code, title });
    }
    Ok(units)
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
[[scheme.unit]]
code = "PKS-GN.01"
title = "Menerapkan nilai, prinsip dan kode etik pekerjaan sosial"
[[scheme.unit]]
code = "PKS-GN.02"
title = "Melakukan asesmen"
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
    fn a_scheme_lists_its_competency_units_in_catalogue_order() {
        let list = SchemeList::from_catalogue_toml(CATALOGUE).unwrap();
        let codes: Vec<&str> = list
            .units("peksos-generalis")
            .unwrap()
            .iter()
            .map(|unit| unit.code.as_str())
            .collect();
        assert_eq!(codes, ["PKS-GN.01", "PKS-GN.02"]);
        assert!(list.units("TKS-MADYA").is_none());
    }

    #[test]
    fn every_shipped_scheme_lists_its_competency_units() {
        let shipped = include_str!("../../../enrollment/reference/schemes.toml");
        let list = SchemeList::from_catalogue_toml(shipped).unwrap();
        for (scheme, units) in &list.schemes {
            assert!(
                units.len() >= 4,
                "{} has {} units",
                scheme.code,
                units.len()
            );
        }
        assert_eq!(list.schemes.len(), 8);
    }

    #[test]
    fn a_scheme_without_units_is_refused_by_name() {
        let bare = CATALOGUE.split("[[scheme.unit]]").next().unwrap();
        let error = SchemeList::from_catalogue_toml(bare).unwrap_err();
        assert!(
            error
                .0
                .contains("PEKSOS-GENERALIS lists no competency unit"),
            "{error}"
        );
    }

    #[test]
    fn a_unit_given_twice_blank_too_long_or_untitled_is_refused_by_scheme_and_unit() {
        let too_long = format!("code = \"{}\"\ntitle = \"Panjang\"", "U".repeat(65));
        for (unit, expected) in [
            (
                "code = \"PKS-GN.01\"\ntitle = \"Lagi\"",
                "unit PKS-GN.01 appears twice",
            ),
            (
                "code = \" \"\ntitle = \"Kosong\"",
                "must be 1-64 printable characters",
            ),
            (too_long.as_str(), "must be 1-64 printable characters"),
            (
                "code = \"PKS-GN.09\"\ntitle = \" \"",
                "unit PKS-GN.09 has no title",
            ),
        ] {
            let catalogue = format!("{CATALOGUE}[[scheme.unit]]\n{unit}\n");
            let error = SchemeList::from_catalogue_toml(&catalogue).unwrap_err();
            assert!(error.0.contains("scheme PEKSOS-GENERALIS"), "{error}");
            assert!(error.0.contains(expected), "{error}");
        }
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
