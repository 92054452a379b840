//! What an event means for progress: every event of the three services that moves a count or
//! a target is, for progress, a [`Change`]. Pure: reading one from an event's protobuf payload
//! is [`crate::wire::change`]'s; events that move nothing (sessions scheduled, attendance,
//! status-list bookkeeping) mean no change at all.

use uuid::Uuid;

/// How one worker's standing changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerChange {
    /// Registered with a posting, category and role.
    Registered {
        /// Posting region code (any level from kabupaten/kota down).
        posting: String,
        /// `WorkerCategory` number.
        category: i32,
        /// `WorkerRole` number.
        role: i32,
    },
    /// Moved to another posting.
    Moved {
        /// The new posting region code.
        posting: String,
    },
    /// Left the programme: counts nowhere from the event's business date.
    Departed,
    /// Came back after a departure: counts again from the event's business date.
    Returned,
    /// Took up another role.
    RoleChanged {
        /// The new `WorkerRole` number.
        role: i32,
    },
    /// Nominated for a scheme.
    Nominated {
        /// The nomination.
        nomination: Uuid,
        /// The scheme code.
        scheme: String,
    },
    /// A nomination was verified (or admitted by override).
    Verified {
        /// The nomination.
        nomination: Uuid,
        /// The scheme code, when the event carries it.
        scheme: Option<String>,
    },
    /// A nomination was rejected.
    Rejected {
        /// The nomination.
        nomination: Uuid,
    },
    /// A nomination was withdrawn.
    Withdrawn {
        /// The nomination.
        nomination: Uuid,
    },
    /// Queued for a test (carries the scheme and region scheduling knows).
    Queued {
        /// The candidate (= nomination) id.
        nomination: Uuid,
        /// The scheme code.
        scheme: String,
        /// The candidate's region code.
        region: String,
    },
    /// Seated in a session.
    Seated {
        /// The candidate (= nomination) id.
        nomination: Uuid,
    },
    /// An assessment decision.
    Decided {
        /// The scheme code.
        scheme: String,
        /// Kompeten (true) or Belum Kompeten (false).
        kompeten: bool,
        /// The candidate's region code.
        region: String,
    },
    /// A certificate was issued.
    Issued {
        /// The certificate.
        certificate: Uuid,
        /// The scheme code.
        scheme: String,
        /// The certificate it renews, if any.
        supersedes: Option<Uuid>,
        /// The holder's region code at issuance.
        region: String,
    },
    /// A certificate's status changed.
    CertificateStatus {
        /// The certificate.
        certificate: Uuid,
        /// Its new status.
        status: CertificateStatus,
    },
}

/// A certificate's status, as progress counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CertificateStatus {
    /// Valid.
    Valid,
    /// Suspended.
    Suspended,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
    /// Replaced by a renewal: no longer the holder's current certificate.
    Superseded,
}

/// A yearly target for a region and category, or for all categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The year.
    pub year: i32,
    /// Region code (empty: national).
    pub region: String,
    /// `WorkerCategory` number; [`TOTAL`] for a total across all categories.
    pub category: i32,
    /// Workers to certify.
    pub count: u32,
    /// The business day it is in force from, when the event says (days since 1970-01-01,
    /// WIB); otherwise the event's business day.
    pub in_force_from: Option<i64>,
}

/// The category number of a total target across all categories (`WORKER_CATEGORY_UNSPECIFIED`,
/// which no per-category target has).
pub const TOTAL: i32 = 0;

/// What an event changes for progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A worker's standing.
    Worker {
        /// The worker.
        worker: Uuid,
        /// The change.
        change: WorkerChange,
    },
    /// A yearly target.
    Target(Target),
}

/// Why an event of a known type could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} at position {position} does not decode: {reason}")]
pub struct UndecodableEvent {
    /// The event type.
    pub event_type: String,
    /// Its position.
    pub position: u64,
    /// The decoder's complaint.
    pub reason: String,
}
