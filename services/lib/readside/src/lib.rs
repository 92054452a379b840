//! The one read side of kesos. Every read model, in every service and in progress, is written
//! the same way:
//!
//! - a [`Projection`] says what it handles and how it applies a batch inside a transaction;
//! - one [`Projector`] runs it from a feed (the service's own log, or JetStream), moves its
//!   checkpoint in the same transaction, retries what fails, and lets a handler wait for a
//!   position ([`Projector::wait_for`]) instead of catching up itself: reads never write;
//! - its rows are read through one database handle for both backends ([`Db`], [`Tx`]) and
//!   listed a page at a time ([`Db::page`] with a [`Where`]).

pub mod db;
pub mod paging;
pub mod projection;
pub mod projector;

pub use db::{Backend, Bindable, Db, Migrations, Readable, Row, Statement, Tx};
pub use kesos_bus::Delivered;
pub use paging::{Page, PageQuery, Value, Where};
pub use projection::{Projection, ProjectionError};
pub use projector::{Projector, WaitError};

/// A count or position as the databases' signed 64-bit integer (saturating: kesos never
/// stores one beyond `i64::MAX`).
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored count or position as `u64` (negative values cannot be stored by kesos; read as 0).
pub fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
