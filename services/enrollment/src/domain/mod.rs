//! The pure core of enrollment: types valid by construction, the worker and target
//! aggregates, and eligibility. No I/O, clock or randomness; no sqlx, axum, async-nats or
//! prost.

pub mod calendar;
pub mod codes;
pub mod decide;
pub mod departure;
pub mod eligibility;
pub mod events;
pub mod nik;
pub mod target;
pub mod types;
pub mod worker;

#[cfg(test)]
mod tests;

pub use calendar::{Rfc3339Instant, business_date};
pub use codes::{
    Category, DepartureReason, EducationLevel, EmploymentStatus, Role, Sex, UnknownCode,
};
pub use departure::Departure;
pub use eligibility::{RuleFailure, Scheme, SchemeCatalog};
pub use events::{Registration, SealedIdentity, WorkerChange, WorkerEvent};
pub use nik::{Nik, NikError};
pub use target::{SetTarget, Target, TargetCategory, TargetError, TargetRegion, TargetSet};
pub use types::{
    Education, NominationId, PortfolioRef, Posting, Qualifications, Reason, SchemeCode,
    SealedField, WorkerId,
};
pub use worker::{Nomination, NominationStatus, Worker, WorkerCommand, WorkerError};
