//! `kesos token issue`: the operator's way to mint a token, kept here so that the binary's
//! command line stays thin and the checks are tested with the rest of access control.

use std::path::Path;

use kesos_regions::Regions;
use time::{Duration, OffsetDateTime};

use crate::keys::{KeyError, load_or_create_signing_key, read_signing_key};
use crate::lifetime::{Lifetimes, describe};
use crate::principal::{Principal, Role, RoleError};
use crate::token::TokenIssuer;

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    /// Role name.
    pub role: &'a str,
    /// Region prefix (Dinas).
    pub region: Option<&'a str>,
    /// LSPS id (LSPS).
    pub lsps: Option<&'a str>,
    /// Who the token is for.
    pub subject: &'a str,
    /// Lifetime, e.g. `8h`, `30m`, `7d`.
    pub ttl: &'a str,
    /// The audience (`token_audience`).
    pub audience: &'a str,
    /// The longest lifetime each role's token may have.
    pub lifetimes: Lifetimes,
}

/// Why no token was issued; each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The role and its scope do not fit.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// The region is well-formed but not in the embedded Kemendagri table.
    #[error("region {0} does not exist in {edition}", edition = kesos_regions::EDITION)]
    UnknownRegion(String),
    /// The lifetime is not a positive duration with units.
    #[error("--ttl {0:?}: give a lifetime like 30m, 8h or 7d")]
    Ttl(String),
    /// The lifetime is longer than the role's maximum.
    #[error(
        "--ttl {ttl}: a {role} token may live {max} at most (KESOS_TOKEN_MAX_LIFETIME_{setting}_SECS)"
    )]
    TooLong {
        /// The lifetime asked for, as written.
        ttl: String,
        /// The role's name.
        role: String,
        /// The role's maximum, as text.
        max: String,
        /// Which setting raises it: `PEOPLE` or `LSPS`.
        setting: &'static str,
    },
    /// The subject is empty or too long.
    #[error("--subject must be 1-200 characters")]
    Subject,
    /// The signing key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Parses a lifetime with humantime (`30m`, `8h`, `7d`, `1h 30m`): never panics, whatever
/// the text, and refuses zero, overflow, and anything longer than `max`.
pub fn parse_ttl(text: &str, role: &Role, lifetimes: &Lifetimes) -> Result<Duration, IssueError> {
    let error = || IssueError::Ttl(text.to_owned());
    let parsed = humantime::parse_duration(text.trim()).map_err(|_| error())?;
    let ttl = Duration::try_from(parsed).map_err(|_| error())?;
    if ttl <= Duration::ZERO {
        return Err(error());
    }
    let max = lifetimes.max_for(role);
    if ttl > max {
        return Err(IssueError::TooLong {
            ttl: text.trim().to_owned(),
            role: role.name().to_owned(),
            max: describe(max),
            setting: if matches!(role, Role::Lsps { .. }) {
                "LSPS"
            } else {
                "PEOPLE"
            },
        });
    }
    Ok(ttl)
}

/// Mints a token signed with the key at `key_file` (created first when `create` is set: the
/// embedded mode's key under the data directory).
pub fn issue(
    request: &IssueRequest<'_>,
    key_file: &Path,
    create: bool,
    now: OffsetDateTime,
) -> Result<String, IssueError> {
    let role = Role::from_parts(request.role, request.region, request.lsps)?;
    if let Some(region) = role.region()
        && Regions::embedded().lookup(region.code().as_str()).is_err()
    {
        return Err(IssueError::UnknownRegion(region.code().to_string()));
    }
    let ttl = parse_ttl(request.ttl, &role, &request.lifetimes)?;
    if request.subject.trim().is_empty() || request.subject.len() > 200 {
        return Err(IssueError::Subject);
    }
    let key = if create {
        load_or_create_signing_key(key_file)?.0
    } else {
        read_signing_key(key_file)?
    };
    let principal = Principal {
        subject: request.subject.trim().to_owned(),
        role,
    };
    Ok(TokenIssuer::new(key).issue(&principal, request.audience, now, ttl))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::token::TokenVerifier;

    fn request<'a>(role: &'a str, region: Option<&'a str>) -> IssueRequest<'a> {
        IssueRequest {
            role,
            region,
            lsps: None,
            subject: "siti",
            ttl: "8h",
            audience: "kesos",
            lifetimes: Lifetimes::default(),
        }
    }

    #[test]
    fn lifetimes_take_a_unit_and_the_roles_ceiling() {
        let people = Role::CentralOperations;
        let lifetimes = Lifetimes::default();
        let parse = |text: &str| parse_ttl(text, &people, &lifetimes);
        assert_eq!(parse("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse("1h 30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse("24h").unwrap(), Duration::hours(24));
        assert!(matches!(parse("2d"), Err(IssueError::TooLong { .. })));
        for bad in ["8", "0h", "", "7ä", "ä", "-1h", "99999999999999999999999d"] {
            assert!(matches!(parse(bad), Err(IssueError::Ttl(_))), "{bad}");
        }
        assert!(matches!(
            parse("99999999999999d"),
            Err(IssueError::TooLong { .. })
        ));
        let lsps = Role::from_parts("lsps", None, Some("LSPS-PEKSOS")).unwrap();
        assert_eq!(
            parse_ttl("90d", &lsps, &lifetimes).unwrap(),
            Duration::days(90)
        );
        assert!(parse_ttl("91d", &lsps, &lifetimes).is_err());
    }

    #[test]
    fn a_token_beyond_the_roles_maximum_is_not_issued() {
        let path = Path::new("/nonexistent/token.key");
        let now = OffsetDateTime::now_utc();
        let mut asked = request("regional-dinas", Some("32.77"));
        asked.ttl = "366d";
        let error = issue(&asked, path, false, now).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--ttl 366d: a regional-dinas token may live 1day at most \
             (KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS)"
        );
    }

    #[test]
    fn an_issued_token_verifies_with_the_key_files_public_half() {
        let dir = std::env::temp_dir().join(format!("kesos-issue-{}", uuid::Uuid::now_v7()));
        let path = dir.join("token.key");
        let now = OffsetDateTime::now_utc();
        let token = issue(&request("regional-dinas", Some("32.77")), &path, true, now).unwrap();
        let key = read_signing_key(&path).unwrap().verifying_key();
        let principal = TokenVerifier::new([key], "kesos")
            .verify(&token, now)
            .unwrap();
        assert_eq!(principal.actor(), "regional-dinas/32.77:siti");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_region_that_does_not_exist_gets_no_token() {
        let path = Path::new("/nonexistent/token.key");
        let now = OffsetDateTime::now_utc();
        let error = issue(&request("regional-dinas", Some("32.98")), path, false, now).unwrap_err();
        assert!(matches!(error, IssueError::UnknownRegion(_)), "{error}");
    }
}
