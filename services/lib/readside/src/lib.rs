//! The one read side of kesos. Every read model, in every service and in progress, is written
//! the same way:
//!
//! - a [`Projection`] says what it handles and how it applies a batch inside a transaction;
//! - one [`Projector`] runs it from a feed (the service's own log, or JetStream), moves its
//!   checkpoint in the same transaction, retries what fails, and lets a handler wait for a
//!   position ([`Projector::wait_for`]) instead of catching up itself: reads never write;
//! - its rows are read through one database handle for both backends ([`Db`], [`Tx`]) and
//!   listed a page at a time ([`Db::page`] with a [`Where`]). The handle itself is
//!   `kesos-sql`'s, shared with the event store and the bus; it is re-exported here.

pub mod projection;
pub mod projector;

pub use kesos_bus::Delivered;
pub use kesos_sql::{
    Backend, Bindable, Db, Migrations, Page, PageQuery, Readable, Row, Statement, Tx, Value, Where,
    from_unix_micros, to_i64, to_u64, unix_micros,
};
pub use projection::{Projection, ProjectionError};
pub use projector::{Projector, WaitError};
