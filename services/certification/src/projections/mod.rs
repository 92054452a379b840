//! Certification's read model: the certificate registry, kept by one
//! [`kesos_readside::Projector`] from the certificate events of the service's own log (the
//! service starts it when it is built), its checkpoint in the same transaction as its rows.
//!
//! - [`registry`]: the [`RegistryProjection`] — which events it handles, how it applies them;
//! - [`rows`]: the [`Registry`]'s reads — one certificate, lists, renewals, the expiry job's
//!   query, sequences and the status lists. Reads never write; a command that must read its
//!   own write waits for its position first.
//!
//! The holders table beside it (`certification_holders`: sealed names, masks, postings) is
//! written by the certification consumer in its own transaction ([`crate::service::Intake`]),
//! not by a projection: it follows enrollment's events, which reach certification over the bus.

pub mod registry;
pub mod rows;

use kesos_readside::Migrations;

pub use registry::RegistryProjection;
pub use rows::{CertificateFilter, CertificatePage, CertificateRow, Holding, MAX_PAGE, Registry};

/// The name the service's own log goes by as the registry's source (its checkpoint is kept
/// per source, beside the projection's name).
pub const LOG: &str = "certification";

/// Certification's tables on either backend: the registry, the holders, (4003) the
/// registry's checkpoint moved into the read side's checkpoint table, (4004) the holders'
/// sealed names dropped (names are asked of enrollment), and (4005) the holders' departures.
pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("./migrations/postgres"),
        sqlite: sqlx::migrate!("./migrations/sqlite"),
    }
}
