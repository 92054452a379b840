//! What can go wrong in progress: the database, the event logs, or a question that cannot be
//! answered (for the HTTP layer to turn into a 4xx).

/// A progress failure.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// The read model's database failed.
    #[error("progress database: {0}")]
    Database(#[from] sqlx::Error),
    /// An event log could not be read.
    #[error("event log: {0}")]
    Store(#[from] kesos_eventstore::StoreError),
    /// The feed failed for good.
    #[error("event feed: {0}")]
    Feed(#[from] kesos_bus::BusError),
    /// A task of a replay (its log reader, a load lane) stopped without finishing (it
    /// panicked or was cancelled).
    #[error("{0} of the replay stopped: {1}")]
    ReplayTaskStopped(&'static str, String),
    /// The history names a source this process cannot read.
    #[error("no event log named {0} is configured")]
    UnknownSource(String),
}
