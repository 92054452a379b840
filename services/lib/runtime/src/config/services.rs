//! Which services a process runs: all of them by default (one process, as the embedded mode and
//! small deployments want), or a subset so that enrollment, scheduling, certification and
//! progress each run as their own process in the distributed mode.

use std::fmt;

/// A service a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// Registration, nominations and targets; this process also signs audit checkpoints.
    Enrollment,
    /// The candidate pool, sessions, allocation and the LSPS integration.
    Scheduling,
    /// Certificates, their lifecycle and public verification.
    Certification,
    /// The regional progress read models and worker histories.
    Progress,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 4] = [
        Service::Enrollment,
        Service::Scheduling,
        Service::Certification,
        Service::Progress,
    ];

    /// The services that write events of their own (and so relay them): every one but
    /// progress, which only reads.
    pub const WRITERS: [Service; 3] = [
        Service::Enrollment,
        Service::Scheduling,
        Service::Certification,
    ];

    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Service::Enrollment => "enrollment",
            Service::Scheduling => "scheduling",
            Service::Certification => "certification",
            Service::Progress => "progress",
        }
    }
}

/// The services a process runs (`services = "scheduling"`, `KESOS_SERVICES=enrollment,progress`;
/// `all` or unset: every one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services(Vec<Service>);

impl Default for Services {
    fn default() -> Self {
        Self(Service::ALL.to_vec())
    }
}

impl Services {
    /// Parses a comma-separated list of service names, or `all`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("all") {
            return Some(Self::default());
        }
        let mut chosen = Vec::new();
        for name in text.split(',') {
            let name = name.trim();
            let service = Service::ALL
                .into_iter()
                .find(|s| s.name().eq_ignore_ascii_case(name))?;
            if !chosen.contains(&service) {
                chosen.push(service);
            }
        }
        chosen.sort();
        Some(Self(chosen))
    }

    /// True when the process runs `service`.
    pub fn runs(&self, service: Service) -> bool {
        self.0.contains(&service)
    }
}

impl fmt::Display for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.name()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_names_selects_those_services_and_all_selects_every_one() {
        let some = Services::parse("Progress, scheduling").unwrap();
        assert!(some.runs(Service::Scheduling) && some.runs(Service::Progress));
        assert!(!some.runs(Service::Enrollment));
        assert_eq!(some.to_string(), "scheduling,progress");
        assert_eq!(Services::parse("all"), Some(Services::default()));
        assert_eq!(Services::parse("enrolment"), None);
    }
}
