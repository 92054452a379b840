//! Administrative selection: a scheme's eligibility rules are reference data, not code. A
//! scheme has one or more **routes** (the usual one, and alternatives such as association
//! membership); a worker is eligible when every requirement of at least one route is met.
//! When none is, every failed requirement of every route is reported, so the Dinas office
//! sees all that is missing at once.

use serde::Deserialize;

use crate::domain::codes::{Category, EducationLevel};
use crate::domain::types::{Qualifications, SchemeCode};

/// The catalogue of certification schemes in force, with the version recorded on every
/// decision made under it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeCatalog {
    /// Version of the rule set (e.g. `2025-1`), stored with every verification or rejection.
    pub version: String,
    /// The schemes.
    #[serde(rename = "scheme")]
    pub schemes: Vec<Scheme>,
}

/// One certification scheme: a category and a level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// Code, e.g. `PEKSOS-GENERALIS`.
    pub code: SchemeCode,
    /// Human name, e.g. "Pekerja Sosial Generalis".
    pub name: String,
    /// Which category of worker it certifies.
    #[serde(deserialize_with = "category")]
    pub category: Category,
    /// Level, e.g. "Generalis".
    pub level: String,
    /// Years a certificate under it stays valid (certification uses it).
    pub validity_years: u32,
    /// Alternative routes to eligibility; at least one.
    #[serde(rename = "route")]
    pub routes: Vec<Route>,
    /// The competency units an assessment under the scheme judges. Scheduling checks results
    /// against them; enrollment only shows them with the catalogue (`GET /v1/schemes`), so a
    /// Dinas office and an LSPS read what a candidate will be tested on.
    #[serde(rename = "unit", default)]
    pub units: Vec<CompetencyUnit>,
}

/// One competency unit of a scheme, as the catalogue names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetencyUnit {
    /// The unit's code, quoted in every result that judges it.
    pub code: String,
    /// What the unit is, for people.
    pub title: String,
}

/// One route to eligibility: all of its requirements must hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Identifier within the scheme, e.g. `utama`.
    pub id: String,
    /// What the route is, for people.
    pub description: String,
    /// The requirements.
    #[serde(rename = "require")]
    pub requirements: Vec<Requirement>,
}

/// One requirement of a route.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// At least this education, optionally in social work.
    MinEducation {
        /// Lowest acceptable level.
        #[serde(deserialize_with = "education_level")]
        level: EducationLevel,
        /// Whether it must be in social work.
        #[serde(default)]
        in_social_work: bool,
    },
    /// At least this many months of practice.
    MinPracticeMonths {
        /// Months.
        months: u32,
    },
    /// At least this many hours of training.
    MinTrainingHours {
        /// Hours.
        hours: u32,
    },
    /// Membership of the professional association.
    AssociationMember,
}

/// One failed requirement, as recorded on a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// `<scheme>.<route>.<rule>`, e.g. `PEKSOS-GENERALIS.utama.min_practice_months`.
    pub rule_id: String,
    /// What was required and what the worker has.
    pub message: String,
}

fn category<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Category, D::Error> {
    let text = String::deserialize(deserializer)?;
    Category::parse(&text).map_err(serde::de::Error::custom)
}

fn education_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<EducationLevel, D::Error> {
    let text = String::deserialize(deserializer)?;
    EducationLevel::parse(&text).map_err(serde::de::Error::custom)
}

/// A catalogue that does not make sense (parsed, but unusable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheme catalogue: {0}")]
pub struct CatalogError(pub String);

impl SchemeCatalog {
    /// Reads a catalogue from TOML and checks it: unique scheme codes, at least one route
    /// each, unique route ids within a scheme, validity of 1 to 10 years.
    pub fn from_toml(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self = toml::from_str(text).map_err(|e| CatalogError(e.to_string()))?;
        let mut codes = std::collections::HashSet::new();
        for scheme in &catalog.schemes {
            if !codes.insert(&scheme.code) {
                return Err(CatalogError(format!(
                    "scheme {} appears twice",
                    scheme.code
                )));
            }
            if scheme.routes.is_empty() {
                return Err(CatalogError(format!("scheme {} has no route", scheme.code)));
            }
            if !(1..=10).contains(&scheme.validity_years) {
                return Err(CatalogError(format!(
                    "scheme {} must be valid for 1 to 10 years",
                    scheme.code
                )));
            }
            let mut routes = std::collections::HashSet::new();
            if let Some(route) = scheme.routes.iter().find(|r| !routes.insert(&r.id)) {
                return Err(CatalogError(format!(
                    "scheme {} has route {} twice",
                    scheme.code, route.id
                )));
            }
        }
        Ok(catalog)
    }

    /// The text of the catalogue shipped with kesos (`reference/schemes.toml`): reference data
    /// other services read too (scheduling takes each scheme's category and level from it).
    pub const SHIPPED_TOML: &'static str = include_str!("../../reference/schemes.toml");

    /// The catalogue shipped with kesos (`reference/schemes.toml`).
    pub fn shipped() -> Result<Self, CatalogError> {
        Self::from_toml(Self::SHIPPED_TOML)
    }

    /// The scheme with this code.
    pub fn scheme(&self, code: &SchemeCode) -> Option<&Scheme> {
        self.schemes.iter().find(|scheme| &scheme.code == code)
    }
}

impl Requirement {
    fn id(&self) -> &'static str {
        match self {
            Self::MinEducation { .. } => "min_education",
            Self::MinPracticeMonths { .. } => "min_practice_months",
            Self::MinTrainingHours { .. } => "min_training_hours",
            Self::AssociationMember => "association_member",
        }
    }

    /// `None` when met; otherwise what is missing.
    fn check(&self, worker: &Qualifications) -> Option<String> {
        match *self {
            Self::MinEducation {
                level,
                in_social_work,
            } => {
                let has = worker.education;
                let level_ok = has.level.rank() >= level.rank();
                let field_ok = !in_social_work || has.in_social_work;
                (!(level_ok && field_ok)).then(|| {
                    format!(
                        "requires education {}{} or higher; has {}{}",
                        level,
                        if in_social_work {
                            " in social work"
                        } else {
                            ""
                        },
                        has.level,
                        if has.in_social_work {
                            " in social work"
                        } else {
                            ""
                        },
                    )
                })
            }
            Self::MinPracticeMonths { months } => (worker.practice_months < months).then(|| {
                format!(
                    "requires {months} months of practice; has {}",
                    worker.practice_months
                )
            }),
            Self::MinTrainingHours { hours } => (worker.training_hours < hours).then(|| {
                format!(
                    "requires {hours} hours of training; has {}",
                    worker.training_hours
                )
            }),
            Self::AssociationMember => (!worker.association_member)
                .then(|| "requires membership of the professional association".to_owned()),
        }
    }
}

impl Scheme {
    /// Ok when one route is fully met; otherwise every failed requirement of every route.
    pub fn evaluate(&self, worker: &Qualifications) -> Result<(), Vec<RuleFailure>> {
        let mut failures = Vec::new();
        for route in &self.routes {
            let failed: Vec<RuleFailure> = route
                .requirements
                .iter()
                .filter_map(|requirement| {
                    requirement.check(worker).map(|message| RuleFailure {
                        rule_id: format!("{}.{}.{}", self.code, route.id, requirement.id()),
                        message,
                    })
                })
                .collect();
            if failed.is_empty() {
                return Ok(());
            }
            failures.extend(failed);
        }
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::Education;

    fn worker(
        level: EducationLevel,
        social: bool,
        months: u32,
        hours: u32,
        member: bool,
    ) -> Qualifications {
        Qualifications {
            education: Education {
                level,
                in_social_work: social,
            },
            practice_months: months,
            training_hours: hours,
            association_member: member,
        }
    }

    fn generalis() -> Scheme {
        let catalog = SchemeCatalog::shipped().unwrap();
        catalog
            .scheme(&SchemeCode::parse("PEKSOS-GENERALIS").unwrap())
            .unwrap()
            .clone()
    }

    #[test]
    fn the_shipped_catalogue_reads_and_has_a_scheme_per_category() {
        let catalog = SchemeCatalog::shipped().unwrap();
        for category in Category::ALL {
            assert!(
                catalog.schemes.iter().any(|s| s.category == *category),
                "{category}"
            );
        }
    }

    #[test]
    fn a_social_work_graduate_with_two_years_and_sixty_hours_is_eligible_for_peksos_generalis() {
        assert_eq!(
            generalis().evaluate(&worker(EducationLevel::S1, true, 24, 60, false)),
            Ok(())
        );
    }

    #[test]
    fn an_association_member_may_qualify_by_the_alternative_route() {
        assert_eq!(
            generalis().evaluate(&worker(EducationLevel::S1, true, 12, 0, true)),
            Ok(())
        );
    }

    #[test]
    fn a_rejection_lists_every_failed_rule_of_every_route() {
        let failures = generalis()
            .evaluate(&worker(EducationLevel::D3, false, 6, 10, false))
            .unwrap_err();
        let ids: Vec<&str> = failures.iter().map(|f| f.rule_id.as_str()).collect();
        assert!(
            ids.contains(&"PEKSOS-GENERALIS.utama.min_education"),
            "{ids:?}"
        );
        assert!(
            ids.contains(&"PEKSOS-GENERALIS.utama.min_practice_months"),
            "{ids:?}"
        );
        assert!(
            ids.contains(&"PEKSOS-GENERALIS.utama.min_training_hours"),
            "{ids:?}"
        );
        assert!(
            ids.contains(&"PEKSOS-GENERALIS.asosiasi.association_member"),
            "{ids:?}"
        );
    }

    #[test]
    fn education_outside_social_work_fails_a_social_work_requirement() {
        let failures = generalis()
            .evaluate(&worker(EducationLevel::S2, false, 30, 100, false))
            .unwrap_err();
        assert!(
            failures[0].message.contains("in social work"),
            "{failures:?}"
        );
    }

    #[test]
    fn a_catalogue_with_a_scheme_twice_is_refused() {
        let text = r#"
version = "t"
[[scheme]]
code = "A-B"
name = "x"
category = "tks"
level = "x"
validity_years = 3
[[scheme.route]]
id = "r"
description = "d"
require = []
[[scheme]]
code = "A-B"
name = "x"
category = "tks"
level = "x"
validity_years = 3
[[scheme.route]]
id = "r"
description = "d"
require = []
"#;
        assert!(
            SchemeCatalog::from_toml(text)
                .unwrap_err()
                .0
                .contains("twice")
        );
    }
}
