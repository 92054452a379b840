//! `kesos token issue`: the operator's way to mint a token, kept here so that the binary's
//! command line stays thin and the checks are tested with the rest of access control.

use std::path::Path;

use kesos_regions::Regions;
use time::{Duration, OffsetDateTime};

use crate::keys::{KeyError, load_or_create_signing_key, read_signing_key};
use crate::principal::{Principal, Role, RoleError};
use crate::token::TokenIssuer;

/// Longest lifetime a token may be issued for.
pub const MAX_TTL: Duration = Duration::days(366);

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
    /// The lifetime is not a number with a unit, or too long.
    #[error("--ttl {0:?}: give a lifetime like 30m, 8h or 7d, at most 366d")]
    Ttl(String),
    /// The subject is empty or too long.
    #[error("--subject must be 1-200 characters")]
    Subject,
    /// The signing key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Parses a lifetime: a whole number followed by `s`, `m`, `h` or `d`.
pub fn parse_ttl(text: &str) -> Result<Duration, IssueError> {
    let error = || IssueError::Ttl(text.to_owned());
    let split = text.len().checked_sub(1).ok_or_else(error)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| error())?;
    let ttl = match unit {
        "s" => Duration::seconds(number),
        "m" => Duration::minutes(number),
        "h" => Duration::hours(number),
        "d" => Duration::days(number),
        _ => return Err(error()),
    };
    if ttl <= Duration::ZERO || ttl > MAX_TTL {
        return Err(error());
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
    let ttl = parse_ttl(request.ttl)?;
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
        }
    }

    #[test]
    fn lifetimes_take_a_unit_and_a_ceiling() {
        assert_eq!(parse_ttl("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::days(7));
        assert!(parse_ttl("8").is_err());
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("400d").is_err());
        assert!(parse_ttl("").is_err());
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
