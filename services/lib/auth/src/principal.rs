//! Who is calling: a subject and its role, the role carrying its scope (a region prefix for a
//! Dinas Sosial office, an LSPS id for the certification body). A [`Principal`] only exists
//! valid: the region is a province or kabupaten/kota code, the LSPS id fits a NATS subject token.

use std::fmt;

use kesos_regions::{Level, RegionCode};

/// An LSPS identifier as it appears in sessions and in the LSPS subjects
/// (`<prefix>.lsps.v1.roster.<lsps>`): 1-64 ASCII letters, digits, `-` or `_`, so it can never
/// widen a subject with `.`, `*` or `>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LspsId(String);

impl LspsId {
    /// Checks the text; `None` when it is empty, too long or has other characters.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LspsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region a Dinas Sosial office is responsible for: a province (`32`) or a kabupaten/kota
/// (`32.77`); everything at or below it is in scope. Smaller units have no Dinas Sosial.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionScope(RegionCode);

impl RegionScope {
    /// Parses a province or kabupaten/kota code; `None` for anything else. Whether the region
    /// exists is checked where tokens are issued (`kesos token issue`), against the embedded
    /// table.
    pub fn parse(text: &str) -> Option<Self> {
        let code = RegionCode::parse(text).ok()?;
        matches!(code.level(), Level::Provinsi | Level::KabupatenKota).then_some(Self(code))
    }

    /// The prefix as a region code, e.g. as the default filter of a list.
    pub fn code(&self) -> &RegionCode {
        &self.0
    }

    /// Whether `region` lies at or below this scope (`32.77.01.1001` within `32.77`; `32.17`
    /// not).
    pub fn covers(&self, region: &RegionCode) -> bool {
        region.is_within(&self.0)
    }
}

/// What a caller is, for the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Kemensos central operations: every operational command.
    CentralOperations,
    /// A provincial or kabupaten/kota Dinas Sosial, limited to its region.
    RegionalDinas {
        /// The office's region prefix.
        region: RegionScope,
    },
    /// The certification body, limited to its own sessions.
    Lsps {
        /// Its id, as sessions and subjects name it.
        lsps: LspsId,
    },
    /// An inspectorate or BPK auditor: reads everything, changes nothing.
    Auditor,
    /// Anyone without a token: certificate verification and status lists.
    Public,
}

impl Role {
    /// The role's name in tokens and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Role::CentralOperations => "central-operations",
            Role::RegionalDinas { .. } => "regional-dinas",
            Role::Lsps { .. } => "lsps",
            Role::Auditor => "auditor",
            Role::Public => "public",
        }
    }

    /// Builds a role from its name and the scope its name needs (`region` for a Dinas, `lsps`
    /// for LSPS); a scope given to a role that takes none is an error too, so a token never
    /// carries a claim that means nothing.
    pub fn from_parts(
        name: &str,
        region: Option<&str>,
        lsps: Option<&str>,
    ) -> Result<Self, RoleError> {
        let role = match (name, region, lsps) {
            ("central-operations", None, None) => Role::CentralOperations,
            ("auditor", None, None) => Role::Auditor,
            ("regional-dinas", Some(region), None) => Role::RegionalDinas {
                region: RegionScope::parse(region)
                    .ok_or_else(|| RoleError::Region(region.to_owned()))?,
            },
            ("lsps", None, Some(lsps)) => Role::Lsps {
                lsps: LspsId::parse(lsps).ok_or_else(|| RoleError::Lsps(lsps.to_owned()))?,
            },
            ("central-operations" | "auditor" | "regional-dinas" | "lsps", _, _) => {
                return Err(RoleError::Scope(name.to_owned()));
            }
            _ => return Err(RoleError::Unknown(name.to_owned())),
        };
        Ok(role)
    }

    /// The region claim of a Dinas role.
    pub fn region(&self) -> Option<&RegionScope> {
        match self {
            Role::RegionalDinas { region } => Some(region),
            _ => None,
        }
    }

    /// The LSPS claim of an LSPS role.
    pub fn lsps(&self) -> Option<&LspsId> {
        match self {
            Role::Lsps { lsps } => Some(lsps),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    /// `central-operations`, `regional-dinas/32.77`, `lsps/LSPS-PEKSOS`: the form recorded as
    /// the actor in event metadata and the access log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::RegionalDinas { region } => write!(f, "regional-dinas/{}", region.code()),
            Role::Lsps { lsps } => write!(f, "lsps/{lsps}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Why a role could not be built from its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// Not one of the five names.
    #[error(
        "unknown role {0:?}; roles: central-operations, regional-dinas, lsps, auditor (public needs no token)"
    )]
    Unknown(String),
    /// A Dinas region that is not a province or kabupaten/kota code.
    #[error("region {0:?} is not a province (32) or kabupaten/kota (32.77) code")]
    Region(String),
    /// An LSPS id with characters a subject token cannot carry.
    #[error("LSPS id {0:?} must be 1-64 letters, digits, - or _")]
    Lsps(String),
    /// The role's scope is missing, or a scope was given to a role without one.
    #[error(
        "role {0} takes a scope only when it has one: regional-dinas needs --region, lsps needs --lsps, the others take neither"
    )]
    Scope(String),
}

/// An authenticated caller (or the anonymous public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject: who the operator or system is (`siti@kemensos.go.id`).
    pub subject: String,
    /// What it may do.
    pub role: Role,
}

impl Principal {
    /// The anonymous caller: no token, the public role.
    pub fn public() -> Self {
        Self {
            subject: "anonymous".to_owned(),
            role: Role::Public,
        }
    }

    /// How this caller is recorded in event metadata and the access log:
    /// `<role>:<subject>`, e.g. `regional-dinas/32.77:budi@dinsos.cimahi.go.id`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role, self.subject)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_dinas_role_needs_a_province_or_kabupaten_kota_region() {
        assert!(Role::from_parts("regional-dinas", Some("32.77"), None).is_ok());
        assert!(Role::from_parts("regional-dinas", Some("32"), None).is_ok());
        assert_eq!(
            Role::from_parts("regional-dinas", Some("32.77.01"), None),
            Err(RoleError::Region("32.77.01".to_owned()))
        );
        assert!(Role::from_parts("regional-dinas", None, None).is_err());
    }

    #[test]
    fn an_lsps_id_cannot_widen_a_subject() {
        assert!(LspsId::parse("LSPS-PEKSOS").is_some());
        assert!(LspsId::parse("LSPS.*").is_none());
        assert!(LspsId::parse(">").is_none());
        assert!(LspsId::parse("").is_none());
    }

    #[test]
    fn a_scope_on_a_role_without_one_is_refused() {
        assert!(Role::from_parts("auditor", Some("32"), None).is_err());
        assert!(Role::from_parts("central-operations", None, Some("X")).is_err());
    }

    #[test]
    fn the_actor_names_role_scope_and_subject() {
        let principal = Principal {
            subject: "budi".to_owned(),
            role: Role::from_parts("regional-dinas", Some("32.77"), None).unwrap(),
        };
        assert_eq!(principal.actor(), "regional-dinas/32.77:budi");
    }
}
