//! Scheduling's read models: the pool of candidates ("who waits for a Peksos Generalis seat in
//! Jawa Barat, oldest first") and the sessions ("which sessions have free seats"), built from
//! scheduling's own log.
//!
//! - [`PoolProjection`] says which events change the rows and how; the read side's
//!   [`Projector`](kesos_readside::Projector), owned by [`Scheduling`](crate::service::Scheduling),
//!   runs it with its checkpoint in the same transaction.
//! - [`Pool`] reads the rows: paged lists, and what auto-allocation and the roster-lock job
//!   decide on. It never applies anything: a caller that must see its own write waits for the
//!   write's position first.

mod pool;
mod queries;
mod rows;

pub use pool::PoolProjection;
pub use queries::{CandidateFacts, CandidateFilter, MAX_PAGE, Pool, SessionFilter};
pub use rows::{CandidateRow, SessionRow};

use kesos_readside::Migrations;

/// The projection's name, which its checkpoint is kept under.
pub const NAME: &str = "scheduling.pool";

/// The log the read models are built from: scheduling's own (the name its events carry on
/// the feed).
pub const SOURCE: &str = "scheduling";

/// The read models' tables (`scheduling_candidates`, `scheduling_sessions`) and the move of
/// their old checkpoint into the read side's table.
pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("./migrations/postgres"),
        sqlite: sqlx::migrate!("./migrations/sqlite"),
    }
}
