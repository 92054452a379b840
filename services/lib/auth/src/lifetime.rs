//! How long a token may live, by role: a stolen token is worth only as long as it lives, so a
//! person's token lives hours to a day (they can ask for a new one each morning) and a machine
//! client's (an LSPS system, which cannot log in) longer. The issuer refuses to mint beyond the
//! role's maximum and the verifier refuses a token whose lifetime (`exp` − `iat`) exceeds it, so
//! a token minted elsewhere with a longer life, or before the limit was lowered, is not honoured
//! either.

use time::Duration;

use crate::principal::Role;

/// The default maximum for tokens of people (central operations, Dinas, auditors): one day.
pub const DEFAULT_PEOPLE: Duration = Duration::hours(24);

/// The default maximum for machine clients (LSPS systems): 90 days.
pub const DEFAULT_MACHINES: Duration = Duration::days(90);

/// The ceiling no configuration can raise: 366 days.
pub const CEILING: Duration = Duration::days(366);

/// The longest lifetime a token of each kind of role may have.
///
/// Invariant: both maxima are positive and at most [`CEILING`] (the constructor clamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    people: Duration,
    machines: Duration,
}

impl Default for Lifetimes {
    /// [`DEFAULT_PEOPLE`] and [`DEFAULT_MACHINES`].
    fn default() -> Self {
        Self {
            people: DEFAULT_PEOPLE,
            machines: DEFAULT_MACHINES,
        }
    }
}

impl Lifetimes {
    /// Maxima for people's and machine clients' tokens, each clamped to 1 s ..= [`CEILING`].
    pub fn new(people: Duration, machines: Duration) -> Self {
        let clamp = |d: Duration| d.clamp(Duration::SECOND, CEILING);
        Self {
            people: clamp(people),
            machines: clamp(machines),
        }
    }

    /// Maxima from whole seconds (the runtime configuration's
    /// `token_max_lifetime_people_secs` and `token_max_lifetime_lsps_secs`).
    pub fn from_secs(people: u64, machines: u64) -> Self {
        let seconds = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
        Self::new(seconds(people), seconds(machines))
    }

    /// The longest lifetime a token of `role` may have (zero for the public, which has none).
    pub fn max_for(&self, role: &Role) -> Duration {
        match role {
            Role::Lsps { .. } => self.machines,
            Role::Public => Duration::ZERO,
            Role::CentralOperations | Role::RegionalDinas { .. } | Role::Auditor => self.people,
        }
    }
}

/// A lifetime for messages: `1day`, `8h`, `90days` (humantime's format, which `--ttl` reads).
pub fn describe(lifetime: Duration) -> String {
    let seconds = u64::try_from(lifetime.whole_seconds()).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn people_get_a_day_and_lsps_systems_ninety_days_by_default() {
        let lifetimes = Lifetimes::default();
        let dinas = Role::from_parts("regional-dinas", Some("32.77"), None).unwrap();
        let lsps = Role::from_parts("lsps", None, Some("LSPS-PEKSOS")).unwrap();
        assert_eq!(lifetimes.max_for(&dinas), Duration::hours(24));
        assert_eq!(lifetimes.max_for(&Role::Auditor), Duration::hours(24));
        assert_eq!(lifetimes.max_for(&lsps), Duration::days(90));
        assert_eq!(lifetimes.max_for(&Role::Public), Duration::ZERO);
    }

    #[test]
    fn no_configuration_raises_a_maximum_past_the_ceiling() {
        let lifetimes = Lifetimes::from_secs(u64::MAX, 0);
        assert_eq!(lifetimes.max_for(&Role::CentralOperations), CEILING);
        let lsps = Role::from_parts("lsps", None, Some("LSPS-PEKSOS")).unwrap();
        assert_eq!(lifetimes.max_for(&lsps), Duration::SECOND);
    }
}
