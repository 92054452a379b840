//! The kesos event store.
//!
//! One [`EventStore`] trait, two implementations: [`PostgresStore`] for the distributed mode
//! and [`SqliteStore`] for the embedded mode. Both keep the same guarantees (see the trait) and
//! pass the same test suite (`tests/store_suite.rs`). The log is also the outbox: the relay in
//! `kesos-bus` reads it in order and publishes it.

pub mod audit;
pub mod error;
pub mod group_commit;
pub mod integrity;
pub mod model;
pub mod postgres;
mod reads;
pub mod sqlite;
pub mod store;

pub use audit::{Break, VerifyReport, verify, write_checkpoint};
pub use error::{InputError, StoreError};
pub use integrity::Checkpoint;
pub use model::{
    AppendOutcome, AsOf, ClaimKey, Claims, EventType, ExpectedVersion, MAX_PAYLOAD_BYTES, Metadata,
    NewEvent, RecordedEvent, StreamId,
};
pub use postgres::{PostgresConfig, PostgresStore};
pub use sqlite::SqliteStore;
pub use store::{BulkAppend, EventStore, StreamHead};
