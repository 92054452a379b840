//! What happened to a worker, in the past tense. Stored as `kesos.enrollment.v1` protobuf
//! messages (see `wire`); personal data travels only sealed.

use kesos_regions::RegionCode;
use time::Date;

use crate::domain::codes::{Category, DepartureReason, EmploymentStatus, Role, Sex};
use crate::domain::eligibility::RuleFailure;
use crate::domain::types::{
    NominationId, PortfolioRef, Posting, Qualifications, SchemeCode, SealedField, WorkerId,
};

/// The personal data sealed with the worker's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedIdentity {
    /// The NIK.
    pub nik: SealedField,
    /// The full name.
    pub full_name: SealedField,
    /// The birth date (ISO `YYYY-MM-DD`), sealed too: with sex and posting it could
    /// re-identify a person after erasure.
    pub birth_date: SealedField,
}

/// Everything a registration records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The new worker.
    pub worker_id: WorkerId,
    /// Sealed NIK, name and birth date.
    pub identity: SealedIdentity,
    /// Sex.
    pub sex: Sex,
    /// SDM Kesos category.
    pub category: Category,
    /// Role or programme.
    pub role: Role,
    /// Employment status.
    pub employment: EmploymentStatus,
    /// Posting region.
    pub posting: Posting,
    /// Education and experience.
    pub qualifications: Qualifications,
}

/// One event of a worker's stream: which worker, and what changed. The worker id travels in
/// every message, so consumers need not parse stream names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEvent {
    /// The worker.
    pub worker_id: WorkerId,
    /// What happened.
    pub change: WorkerChange,
}

/// What happened to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerChange {
    /// Registered.
    WorkerRegistered(Box<Registration>),
    /// Moved to another posting.
    WorkerPostingMoved {
        /// Before.
        from: Posting,
        /// After.
        to: Posting,
    },
    /// Employment status changed.
    WorkerEmploymentStatusChanged {
        /// Before.
        from: EmploymentStatus,
        /// After.
        to: EmploymentStatus,
    },
    /// Education or experience updated.
    WorkerQualificationsUpdated {
        /// As they now stand.
        qualifications: Qualifications,
    },
    /// Role changed.
    WorkerRoleChanged {
        /// Before.
        from: Role,
        /// After.
        to: Role,
    },
    /// Personal data erased: the data key was destroyed.
    WorkerErased {
        /// The destroyed key.
        key_id: String,
        /// Why.
        reason: String,
        /// Legal basis.
        legal_basis: String,
    },
    /// Left the programme on a business date; the record, history and certificates stay.
    WorkerDeparted {
        /// Why.
        reason: DepartureReason,
        /// The business date (WIB).
        departed_on: Date,
        /// A note (e.g. the decree's number); empty when none.
        note: String,
    },
    /// Came back to the programme on a business date after a departure.
    WorkerReturned {
        /// The business date (WIB).
        returned_on: Date,
    },
    /// Nominated for a scheme.
    NominationSubmitted {
        /// The nomination.
        nomination_id: NominationId,
        /// The scheme.
        scheme: SchemeCode,
        /// Programme year.
        period_year: i32,
        /// The recommending Dinas Sosial office's region.
        recommending_office: RegionCode,
        /// Portfolio reference (sealed).
        portfolio_ref: PortfolioRef,
    },
    /// Passed administrative selection.
    NominationVerified {
        /// The nomination.
        nomination_id: NominationId,
        /// The scheme.
        scheme: SchemeCode,
        /// The posting at verification.
        region: Posting,
        /// Rule set applied.
        rule_set_version: String,
    },
    /// Failed administrative selection.
    NominationRejected {
        /// The nomination.
        nomination_id: NominationId,
        /// Every failed rule.
        failures: Vec<RuleFailure>,
        /// Rule set applied (`manual` for an officer's rejection).
        rule_set_version: String,
    },
    /// A rejection set aside by central operations.
    NominationOverridden {
        /// The nomination.
        nomination_id: NominationId,
        /// Why.
        justification: String,
        /// The rules set aside.
        overridden_rule_ids: Vec<String>,
        /// The scheme.
        scheme: SchemeCode,
        /// The posting at the override.
        region: Posting,
    },
    /// Withdrawn.
    NominationWithdrawn {
        /// The nomination.
        nomination_id: NominationId,
        /// Why.
        reason: String,
    },
}
