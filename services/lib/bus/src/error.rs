//! The bus's errors.

use kesos_eventstore::StoreError;

/// What can stop a feed, relay or consumer.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The consumer's database failed.
    #[error("consumer database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Consumer migrations failed.
    #[error("consumer migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// NATS or JetStream failed (connection, stream or consumer set-up, publish, ack).
    #[error("NATS JetStream: {0}")]
    Nats(String),
    /// The configuration cannot work (e.g. a subject prefix with spaces).
    #[error("bus configuration: {0}")]
    Config(String),
}

impl BusError {
    /// Wraps any NATS client error, keeping its message.
    pub fn nats(error: impl std::fmt::Display) -> Self {
        Self::Nats(error.to_string())
    }
}
