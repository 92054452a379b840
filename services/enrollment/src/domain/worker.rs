//! The worker aggregate: one stream per worker, holding the worker's record and nominations.
//! Nominations live in the worker's stream so that "one open nomination per worker and
//! scheme" is checked by the same version check as every other change.

use kesos_aggregate::Aggregate;
use kesos_regions::RegionCode;
use time::{Date, OffsetDateTime};

use crate::domain::calendar::{Rfc3339Instant, business_date};
use crate::domain::codes::{Category, DepartureReason, EmploymentStatus, Role};
use crate::domain::departure::Departure;
use crate::domain::eligibility::{RuleFailure, Scheme};
use crate::domain::events::{Registration, WorkerChange, WorkerEvent};
use crate::domain::types::{
    NominationId, PortfolioRef, Posting, Qualifications, Reason, SchemeCode, SealedField, WorkerId,
};

/// A worker as the decisions need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Worker {
    /// `None` until registered.
    pub record: Option<Box<Registration>>,
    /// Erased: personal data destroyed; no further change is accepted.
    pub erased: bool,
    /// Every nomination, in order.
    pub nominations: Vec<Nomination>,
    /// The departure in force: `Some` from a departure until a return.
    pub departure: Option<Departure>,
    /// The latest return's business date: a later departure is not before it.
    pub returned_on: Option<Date>,
}

/// One nomination and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nomination {
    /// Its id.
    pub id: NominationId,
    /// The scheme.
    pub scheme: SchemeCode,
    /// Programme year.
    pub period_year: i32,
    /// Recommending office.
    pub recommending_office: RegionCode,
    /// Portfolio reference (sealed).
    pub portfolio_ref: PortfolioRef,
    /// Where it stands.
    pub status: NominationStatus,
}

/// A nomination's status. Open: submitted, verified, overridden. Closed: rejected (until
/// overridden), withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NominationStatus {
    /// Waiting for administrative selection.
    Submitted,
    /// Eligible: a candidate for testing.
    Verified,
    /// Not eligible, with every failed rule.
    Rejected(Vec<RuleFailure>),
    /// Rejected, then accepted by central operations.
    Overridden,
    /// Withdrawn.
    Withdrawn,
}

impl NominationStatus {
    /// Whether the nomination still counts as open (blocks a second one for its scheme).
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Submitted | Self::Verified | Self::Overridden)
    }

    /// Stable code for JSON and read models.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Verified => "verified",
            Self::Rejected(_) => "rejected",
            Self::Overridden => "overridden",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// What may be asked of a worker. Facts from outside (the scheme's rules, new ids) are in
/// the command; the sealing of personal data happened before.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerCommand {
    /// Register.
    RegisterWorker(Box<Registration>),
    /// Move the posting.
    MovePosting(Posting),
    /// Change the employment status.
    ChangeEmploymentStatus(EmploymentStatus),
    /// Replace the qualifications.
    UpdateQualifications(Qualifications),
    /// Change the role.
    ChangeRole(Role),
    /// Record the erasure (the key is destroyed by the service first).
    EraseWorker {
        /// The destroyed key.
        key_id: String,
        /// Why.
        reason: Reason,
        /// Legal basis.
        legal_basis: Reason,
    },
    /// Record that the worker left the programme on a business date.
    Depart {
        /// Why.
        reason: DepartureReason,
        /// The business date (WIB): not before the registration, not in the future.
        departed_on: Date,
        /// An optional note (e.g. the decree's number).
        note: Option<Reason>,
        /// The business date of the worker's registration, looked up by the shell.
        registered_on: Date,
        /// The command's time, bounding the date.
        now: OffsetDateTime,
    },
    /// Record that a departed worker came back on a business date.
    Return {
        /// The business date (WIB): after the departure, not in the future.
        returned_on: Date,
        /// The command's time, bounding the date.
        now: OffsetDateTime,
    },
    /// Nominate for a scheme.
    Nominate {
        /// New nomination id.
        nomination_id: NominationId,
        /// The scheme, looked up in the catalogue.
        scheme: Box<Scheme>,
        /// Programme year.
        period_year: i32,
        /// Recommending office (province or kabupaten/kota).
        recommending_office: RegionCode,
        /// Portfolio reference, sealed with the worker's key by the shell (after it checked
        /// the text as a [`Reason`]).
        portfolio_ref: SealedField,
    },
    /// Run administrative selection against the scheme's rules.
    Verify {
        /// The nomination.
        nomination_id: NominationId,
        /// Its scheme, looked up in the catalogue in force.
        scheme: Box<Scheme>,
        /// The catalogue version.
        rule_set_version: String,
    },
    /// An officer rejects (e.g. an incomplete portfolio).
    Reject {
        /// The nomination.
        nomination_id: NominationId,
        /// Why.
        reason: Reason,
    },
    /// Central operations accepts a rejected nomination anyway.
    Override {
        /// The nomination.
        nomination_id: NominationId,
        /// Why the failed rules are set aside.
        justification: Reason,
    },
    /// Withdraw a nomination.
    Withdraw {
        /// The nomination.
        nomination_id: NominationId,
        /// Why.
        reason: Reason,
    },
    /// Another command, taken only while the worker is posted at or below `region`: a
    /// regional office acts on its own region's workers, judged on the very state the
    /// command is decided on, so a worker moved away meanwhile is refused, never changed.
    WithinRegion {
        /// The region the worker must be posted in (the office's province or
        /// kabupaten/kota).
        region: RegionCode,
        /// The command.
        command: Box<WorkerCommand>,
    },
}

/// Which rule refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// Registering twice.
    #[error("worker {0} is registered already")]
    AlreadyRegistered(WorkerId),
    /// No such worker.
    #[error("the worker is not registered")]
    NotRegistered,
    /// The worker was erased.
    #[error("the worker's personal data was erased; the record accepts no further change")]
    Erased,
    /// Penyuluh Sosial are civil servants only.
    #[error("a Penyuluh Sosial must be ASN (asn_pns or asn_pppk), not {0}")]
    PenyuluhMustBeAsn(EmploymentStatus),
    /// The scheme is for another category.
    #[error("scheme {scheme} certifies {scheme_category}, but the worker is {worker_category}")]
    SchemeCategoryMismatch {
        /// The scheme.
        scheme: SchemeCode,
        /// Its category.
        scheme_category: Category,
        /// The worker's.
        worker_category: Category,
    },
    /// One open nomination per worker and scheme.
    #[error("nomination {open} for {scheme} is still open")]
    NominationAlreadyOpen {
        /// The scheme.
        scheme: SchemeCode,
        /// The open nomination.
        open: NominationId,
    },
    /// No such nomination on this worker.
    #[error("nomination {0} does not exist for this worker")]
    UnknownNomination(NominationId),
    /// The step does not apply to the nomination's status.
    #[error("nomination {nomination_id} is {status}; {action} needs it {needed}")]
    WrongNominationStatus {
        /// The nomination.
        nomination_id: NominationId,
        /// Its status code.
        status: &'static str,
        /// What was asked.
        action: &'static str,
        /// The status the action needs.
        needed: &'static str,
    },
    /// A nomination id used twice.
    #[error("nomination id {0} is taken")]
    NominationIdTaken(NominationId),
    /// A year outside the programme's range.
    #[error("period year {0} is outside 2000-2100")]
    PeriodOutOfRange(i32),
    /// A departed worker is not nominated, verified or admitted until a return.
    #[error("the worker left the programme on {departed_on}; record a return first")]
    Departed {
        /// The departure's business date.
        departed_on: Date,
    },
    /// A departure of a worker who is departed already.
    #[error("the worker left the programme on {departed_on} already")]
    AlreadyDeparted {
        /// The departure in force.
        departed_on: Date,
    },
    /// A return of a worker who has not departed.
    #[error("the worker has not left the programme; only a departed worker returns")]
    NotDeparted,
    /// A business date after today (in WIB).
    #[error(
        "{field} {date} is in the future: today is {} in WIB (now {now})",
        business_date(.now.0)
    )]
    DateInFuture {
        /// The field that holds the date.
        field: &'static str,
        /// The date given.
        date: Date,
        /// The command's time.
        now: Rfc3339Instant,
    },
    /// A departure dated before the worker was registered.
    #[error("departed_on {departed_on} is before the worker's registration on {registered_on}")]
    DepartureBeforeRegistration {
        /// The date given.
        departed_on: Date,
        /// The registration's business date.
        registered_on: Date,
    },
    /// A departure dated before the worker's latest return.
    #[error("departed_on {departed_on} is before the worker's return on {returned_on}")]
    DepartureBeforeReturn {
        /// The date given.
        departed_on: Date,
        /// The latest return's business date.
        returned_on: Date,
    },
    /// A return dated on or before the departure.
    #[error("returned_on {returned_on} is not after the departure on {departed_on}")]
    ReturnNotAfterDeparture {
        /// The date given.
        returned_on: Date,
        /// The departure's business date.
        departed_on: Date,
    },
    /// The worker is posted outside the region the command was limited to (see
    /// [`WorkerCommand::WithinRegion`]).
    #[error("the worker is posted in {posting}, outside {region}")]
    OutsideRegion {
        /// Where the worker is posted.
        posting: RegionCode,
        /// The region the command was limited to.
        region: RegionCode,
    },
}

impl Aggregate for Worker {
    type Command = WorkerCommand;
    type Event = WorkerEvent;
    type Error = WorkerError;

    fn decide(&self, command: &WorkerCommand) -> Result<Vec<WorkerEvent>, WorkerError> {
        let changes = crate::domain::decide::decide(self, command)?;
        let worker_id = match (command, &self.record) {
            (WorkerCommand::RegisterWorker(registration), _) => registration.worker_id,
            (_, Some(record)) => record.worker_id,
            (_, None) => return Err(WorkerError::NotRegistered),
        };
        Ok(changes
            .into_iter()
            .map(|change| WorkerEvent { worker_id, change })
            .collect())
    }

    fn evolve(mut self, event: &WorkerEvent) -> Self {
        match &event.change {
            WorkerChange::WorkerRegistered(registration) => {
                self.record = Some(registration.clone())
            }
            WorkerChange::WorkerPostingMoved { to, .. } => {
                if let Some(record) = &mut self.record {
                    record.posting = to.clone();
                }
            }
            WorkerChange::WorkerEmploymentStatusChanged { to, .. } => {
                if let Some(record) = &mut self.record {
                    record.employment = *to;
                }
            }
            WorkerChange::WorkerQualificationsUpdated { qualifications } => {
                if let Some(record) = &mut self.record {
                    record.qualifications = *qualifications;
                }
            }
            WorkerChange::WorkerRoleChanged { to, .. } => {
                if let Some(record) = &mut self.record {
                    record.role = *to;
                }
            }
            WorkerChange::WorkerErased { .. } => self.erased = true,
            WorkerChange::WorkerDeparted {
                reason,
                departed_on,
                note,
            } => {
                self.departure = Some(Departure {
                    reason: *reason,
                    departed_on: *departed_on,
                    note: note.clone(),
                });
            }
            WorkerChange::WorkerReturned { returned_on } => {
                self.departure = None;
                self.returned_on = Some(*returned_on);
            }
            WorkerChange::NominationSubmitted {
                nomination_id,
                scheme,
                period_year,
                recommending_office,
                portfolio_ref,
            } => self.nominations.push(Nomination {
                id: *nomination_id,
                scheme: scheme.clone(),
                period_year: *period_year,
                recommending_office: recommending_office.clone(),
                portfolio_ref: portfolio_ref.clone(),
                status: NominationStatus::Submitted,
            }),
            WorkerChange::NominationVerified { nomination_id, .. } => {
                self.set_status(*nomination_id, NominationStatus::Verified);
            }
            WorkerChange::NominationRejected {
                nomination_id,
                failures,
                ..
            } => self.set_status(*nomination_id, NominationStatus::Rejected(failures.clone())),
            WorkerChange::NominationOverridden { nomination_id, .. } => {
                self.set_status(*nomination_id, NominationStatus::Overridden);
            }
            WorkerChange::NominationWithdrawn { nomination_id, .. } => {
                self.set_status(*nomination_id, NominationStatus::Withdrawn);
            }
        }
        self
    }
}

impl Worker {
    fn set_status(&mut self, id: NominationId, status: NominationStatus) {
        if let Some(nomination) = self.nominations.iter_mut().find(|n| n.id == id) {
            nomination.status = status;
        }
    }

    /// The nomination with this id.
    pub fn nomination(&self, id: NominationId) -> Option<&Nomination> {
        self.nominations.iter().find(|n| n.id == id)
    }
}
