//! The access policy: pure, no I/O. Every route names one [`Action`]; [`role_may`] says
//! whether a role may ever take it (the gate asks before the handler runs) and [`authorize`]
//! whether it may take it on one resource, given the resource's region or LSPS ([`Scope`]).
//!
//! | role | actions |
//! |---|---|
//! | central operations | every action |
//! | regional Dinas | register/update workers, nominate, read workers, sessions, progress — in its region only; reference data |
//! | LSPS | read its own sessions and rosters, record its own results; reference data |
//! | auditor | every read (workers without names and NIKs), history, audit verification, the access log; no roster |
//! | public | certificate verification and status lists; probes |

use kesos_regions::RegionCode;

use crate::principal::{Principal, Role};

/// What a route does, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Health, readiness and the API document: for load balancers and client authors.
    Probe,
    /// Certificate verification and the status lists: anyone, rate limited per client.
    PublicVerify,
    /// The dashboard's page and static files: anyone, since they hold no data (the data
    /// comes from the API, under the caller's own token and rules).
    Page,
    /// Scheme catalogue and region table: any authenticated caller.
    ReadReference,
    /// Register a worker, or change a registered worker's posting, employment, qualifications
    /// or role, or record the worker's departure from the programme or return.
    RegisterWorker,
    /// Bulk import of workers from a spreadsheet (central operations imports what offices
    /// send).
    ImportWorkers,
    /// Nominate a worker for a scheme, or withdraw the nomination.
    Nominate,
    /// Administrative selection: verify, reject or override a nomination.
    DecideNomination,
    /// Erase a worker's personal data on request (UU PDP).
    EraseWorker,
    /// Set a yearly certification target.
    SetTargets,
    /// Read workers (names and NIKs only for central operations and the region's Dinas).
    ReadWorkers,
    /// Plan, change, cancel or lock a competency-test session.
    ScheduleSession,
    /// Seat, unseat, reschedule or auto-allocate candidates.
    SeatCandidates,
    /// Record attendance and assessment decisions.
    RecordResults,
    /// Read sessions.
    ReadSessions,
    /// Read a locked roster: names and NIKs readable, for the session's LSPS.
    ReadRoster,
    /// Read the candidate pool.
    ReadCandidates,
    /// Suspend, reinstate or revoke a certificate.
    ChangeCertificate,
    /// Read certificates and their exports.
    ReadCertificates,
    /// Read regional progress and the dashboard.
    ReadProgress,
    /// Read the log's state, verify the audit chain, read the access log.
    ReadHistory,
}

impl Action {
    /// Every action, for tests and documentation.
    pub const ALL: [Action; 21] = [
        Action::Probe,
        Action::PublicVerify,
        Action::Page,
        Action::ReadReference,
        Action::RegisterWorker,
        Action::ImportWorkers,
        Action::Nominate,
        Action::DecideNomination,
        Action::EraseWorker,
        Action::SetTargets,
        Action::ReadWorkers,
        Action::ScheduleSession,
        Action::SeatCandidates,
        Action::RecordResults,
        Action::ReadSessions,
        Action::ReadRoster,
        Action::ReadCandidates,
        Action::ChangeCertificate,
        Action::ReadCertificates,
        Action::ReadProgress,
        Action::ReadHistory,
    ];

    /// Whether anyone, token or not, may take it.
    pub fn is_public(self) -> bool {
        matches!(self, Action::Probe | Action::PublicVerify | Action::Page)
    }

    /// Whether it is counted against the per-client rate limit.
    pub fn is_rate_limited(self) -> bool {
        self == Action::PublicVerify
    }

    /// Whether it only reads (an auditor may take every such action but the roster).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Action::Probe
                | Action::PublicVerify
                | Action::Page
                | Action::ReadReference
                | Action::ReadWorkers
                | Action::ReadSessions
                | Action::ReadRoster
                | Action::ReadCandidates
                | Action::ReadCertificates
                | Action::ReadProgress
                | Action::ReadHistory
        )
    }
}

/// Where the resource an action touches lies: its region (for a Dinas) and its LSPS (for
/// LSPS). A scoped role is denied when the part it is scoped by is unknown, so a handler that
/// forgets to name the resource fails closed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The resource's region (a worker's posting, a session's site).
    pub region: Option<&'a RegionCode>,
    /// The LSPS running the resource (a session).
    pub lsps: Option<&'a str>,
}

impl<'a> Scope<'a> {
    /// A resource in a region.
    pub fn region(region: &'a RegionCode) -> Self {
        Self {
            region: Some(region),
            lsps: None,
        }
    }

    /// A resource with neither (the whole nation, a list without a filter).
    pub fn none() -> Self {
        Self::default()
    }
}

/// Why the policy refused; deliberately without detail in the HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The role never takes this action.
    #[error("the role may not take this action")]
    Role,
    /// The role takes it, but not on a resource outside its region or LSPS.
    #[error("the resource is outside the caller's scope")]
    Scope,
}

/// Which actions a role's scope restricts, and by what.
enum Restriction {
    None,
    Region,
    Lsps,
}

fn rule(role: &Role, action: Action) -> Option<Restriction> {
    use Action as A;
    match role {
        Role::CentralOperations => Some(Restriction::None),
        _ if action.is_public() => Some(Restriction::None),
        Role::Public => None,
        _ if action == A::ReadReference => Some(Restriction::None),
        Role::Auditor => (action.is_read() && action != A::ReadRoster).then_some(Restriction::None),
        Role::RegionalDinas { .. } => matches!(
            action,
            A::RegisterWorker | A::Nominate | A::ReadWorkers | A::ReadSessions | A::ReadProgress
        )
        .then_some(Restriction::Region),
        Role::Lsps { .. } => matches!(action, A::ReadSessions | A::ReadRoster | A::RecordResults)
            .then_some(Restriction::Lsps),
    }
}

/// Whether the role may take the action on some resource: what the gate checks before the
/// handler reads anything.
pub fn role_may(role: &Role, action: Action) -> bool {
    rule(role, action).is_some()
}

/// Whether `principal` may take `action` on a resource in `scope`.
pub fn authorize(principal: &Principal, action: Action, scope: Scope<'_>) -> Result<(), Denied> {
    match rule(&principal.role, action).ok_or(Denied::Role)? {
        Restriction::None => Ok(()),
        Restriction::Region => match (&principal.role, scope.region) {
            (Role::RegionalDinas { region }, Some(resource)) if region.covers(resource) => Ok(()),
            _ => Err(Denied::Scope),
        },
        Restriction::Lsps => match (&principal.role, scope.lsps) {
            (Role::Lsps { lsps }, Some(resource)) if lsps.as_str() == resource => Ok(()),
            _ => Err(Denied::Scope),
        },
    }
}

/// Whether the role sees names and NIKs of workers it may read: central operations and the
/// region's Dinas (whose reads are already limited to its region); never the auditor.
pub fn sees_personal_data(role: &Role) -> bool {
    matches!(role, Role::CentralOperations | Role::RegionalDinas { .. })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn principal(name: &str, region: Option<&str>, lsps: Option<&str>) -> Principal {
        Principal {
            subject: "t".to_owned(),
            role: Role::from_parts(name, region, lsps).unwrap(),
        }
    }

    fn code(text: &str) -> RegionCode {
        RegionCode::parse(text).unwrap()
    }

    #[test]
    fn a_cimahi_office_sees_nothing_of_bandung_barat() {
        let cimahi = principal("regional-dinas", Some("32.77"), None);
        let inside = code("32.77.01.1001");
        let outside = code("32.17");
        assert_eq!(
            authorize(&cimahi, Action::ReadWorkers, Scope::region(&inside)),
            Ok(())
        );
        assert_eq!(
            authorize(&cimahi, Action::ReadWorkers, Scope::region(&outside)),
            Err(Denied::Scope)
        );
    }

    #[test]
    fn a_province_office_sees_all_of_its_province() {
        let jabar = principal("regional-dinas", Some("32"), None);
        for region in ["32.77", "32.17.01", "32"] {
            let region = code(region);
            assert!(authorize(&jabar, Action::Nominate, Scope::region(&region)).is_ok());
        }
        let lampung = code("18.71");
        assert!(authorize(&jabar, Action::Nominate, Scope::region(&lampung)).is_err());
    }

    #[test]
    fn a_dinas_is_denied_when_the_handler_names_no_region() {
        let cimahi = principal("regional-dinas", Some("32.77"), None);
        assert_eq!(
            authorize(&cimahi, Action::ReadWorkers, Scope::none()),
            Err(Denied::Scope)
        );
    }

    #[test]
    fn a_dinas_may_not_verify_nominations_anywhere() {
        let cimahi = principal("regional-dinas", Some("32.77"), None);
        let inside = code("32.77");
        assert_eq!(
            authorize(&cimahi, Action::DecideNomination, Scope::region(&inside)),
            Err(Denied::Role)
        );
    }

    #[test]
    fn an_lsps_records_results_only_for_its_own_sessions() {
        let lsps = principal("lsps", None, Some("LSPS-PEKSOS"));
        let own = Scope {
            region: None,
            lsps: Some("LSPS-PEKSOS"),
        };
        let other = Scope {
            region: None,
            lsps: Some("LSPS-OTHER"),
        };
        assert!(authorize(&lsps, Action::RecordResults, own).is_ok());
        assert_eq!(
            authorize(&lsps, Action::RecordResults, other),
            Err(Denied::Scope)
        );
        assert_eq!(
            authorize(&lsps, Action::ReadWorkers, own),
            Err(Denied::Role)
        );
    }

    #[test]
    fn an_auditor_reads_everything_but_changes_nothing() {
        let auditor = principal("auditor", None, None);
        for action in Action::ALL {
            let allowed = authorize(&auditor, action, Scope::none()).is_ok();
            assert_eq!(
                allowed,
                action.is_read() && action != Action::ReadRoster,
                "{action:?}"
            );
        }
    }

    #[test]
    fn the_public_may_only_verify_probe_and_load_the_dashboard_page() {
        let public = Principal::public();
        for action in Action::ALL {
            assert_eq!(
                authorize(&public, action, Scope::none()).is_ok(),
                action.is_public(),
                "{action:?}"
            );
        }
    }

    #[test]
    fn central_operations_may_take_every_action() {
        let central = principal("central-operations", None, None);
        for action in Action::ALL {
            assert!(authorize(&central, action, Scope::none()).is_ok());
        }
    }
}
