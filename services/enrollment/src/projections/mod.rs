//! Enrollment's read models, each a `kesos_readside::Projection` of the service's own log run
//! by the one `Projector` the service owns. Today there is one: the worker directory behind
//! `GET /v1/workers`.

pub mod directory;

use kesos_readside::Migrations;

pub use directory::{
    Directory, DirectoryEntry, DirectoryProjection, MAX_PAGE, WorkerFilter, WorkerPage,
};

/// The tables of enrollment's read models (versions 3001 onward in the shared migration table):
/// the directory, and the move of its checkpoint to the read side's table.
pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("./migrations/postgres"),
        sqlite: sqlx::migrate!("./migrations/sqlite"),
    }
}
