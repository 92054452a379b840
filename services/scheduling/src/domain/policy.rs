//! The scheduling rules that regulations and LSPS practice may change: reference data, read
//! from `reference/scheduling.toml` (or an operator's copy), never constants in code.

use serde::Deserialize;
use time::{Date, Duration};

/// The rules in force.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulingPolicy {
    /// Version of the rule set, recorded in logs.
    pub version: String,
    /// A session of capacity C needs at least `ceil(C / candidates_per_assessor)` assessors.
    pub candidates_per_assessor: u32,
    /// Default cut-off: this many days before the start.
    pub roster_lock_days: u32,
    /// Days a candidate waits after a failed attempt.
    pub retest_waiting_days: u32,
    /// Most failed attempts in one period.
    pub max_attempts: u32,
    /// The period `max_attempts` counts in, in days.
    pub attempt_period_days: u32,
    /// Longest session, in hours.
    pub max_session_hours: u32,
}

/// Why a rule file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheduling rules: {0}")]
pub struct PolicyError(pub String);

impl SchedulingPolicy {
    /// Parses and checks a rule file.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let policy: Self = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        for (name, value) in [
            ("candidates_per_assessor", policy.candidates_per_assessor),
            ("max_attempts", policy.max_attempts),
            ("attempt_period_days", policy.attempt_period_days),
            ("max_session_hours", policy.max_session_hours),
        ] {
            if value == 0 {
                return Err(PolicyError(format!("{name} must be at least 1")));
            }
        }
        if policy.max_session_hours > 24 * 14 {
            return Err(PolicyError("max_session_hours must be at most 336".into()));
        }
        Ok(policy)
    }

    /// The rules shipped with kesos.
    pub fn shipped() -> Result<Self, PolicyError> {
        Self::from_toml(include_str!("../../reference/scheduling.toml"))
    }

    /// Least number of assessors a session of `capacity` needs.
    pub fn assessors_needed(&self, capacity: u32) -> u32 {
        capacity.div_ceil(self.candidates_per_assessor)
    }

    /// The first day a candidate may sit again after failing on `failed_on`, given the days
    /// of earlier failures: the waiting period, or longer when the period's attempts are used
    /// up (then: the day the oldest counted failure leaves the window).
    pub fn eligible_after_failure(&self, failed_on: Date, earlier: &[Date]) -> Date {
        let wait = failed_on.saturating_add(Duration::days(i64::from(self.retest_waiting_days)));
        let period = Duration::days(i64::from(self.attempt_period_days));
        let mut window: Vec<Date> = earlier
            .iter()
            .copied()
            .chain(std::iter::once(failed_on))
            .filter(|day| *day > failed_on.saturating_sub(period))
            .collect();
        window.sort_unstable();
        let over = window.len().saturating_sub(self.max_attempts as usize - 1);
        match window.get(over.saturating_sub(1)) {
            Some(oldest) if over > 0 => wait.max(oldest.saturating_add(period)),
            _ => wait,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    fn policy() -> SchedulingPolicy {
        SchedulingPolicy::shipped().unwrap()
    }

    #[test]
    fn the_shipped_rules_parse() {
        assert_eq!(policy().candidates_per_assessor, 10);
    }

    #[test]
    fn a_session_needs_one_assessor_per_ten_candidates_rounded_up() {
        assert_eq!(policy().assessors_needed(10), 1);
        assert_eq!(policy().assessors_needed(11), 2);
        assert_eq!(policy().assessors_needed(30), 3);
    }

    #[test]
    fn a_first_failure_means_waiting_the_retest_period() {
        assert_eq!(
            policy().eligible_after_failure(date!(2026 - 03 - 01), &[]),
            date!(2026 - 03 - 31)
        );
    }

    #[test]
    fn a_third_failure_in_a_year_waits_until_the_oldest_leaves_the_window() {
        let earlier = [date!(2026 - 01 - 10), date!(2026 - 02 - 20)];
        assert_eq!(
            policy().eligible_after_failure(date!(2026 - 04 - 01), &earlier),
            date!(2027 - 01 - 10)
        );
    }

    #[test]
    fn failures_older_than_the_period_do_not_count() {
        let earlier = [date!(2024 - 01 - 10), date!(2024 - 02 - 20)];
        assert_eq!(
            policy().eligible_after_failure(date!(2026 - 04 - 01), &earlier),
            date!(2026 - 05 - 01)
        );
    }

    #[test]
    fn a_rule_of_zero_is_refused() {
        let text = include_str!("../../reference/scheduling.toml")
            .replace("max_attempts = 3", "max_attempts = 0");
        assert!(SchedulingPolicy::from_toml(&text).is_err());
    }
}
