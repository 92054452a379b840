//! What a read model says about itself: its name, which events it handles, and how it applies
//! a batch of them inside the transaction the [`Projector`](crate::Projector) opens. Nothing
//! else: reading the feed, the checkpoint, retries and waiting for a position are the
//! library's (disintegrate's `EventListener`, Marten's projections).

use std::time::Duration;

use async_trait::async_trait;
use kesos_bus::Delivered;

use kesos_sql::Tx;

/// Why a batch could not be applied. Every failure is retried with backoff, never skipped: a
/// read model that left an event out would answer wrongly for good, so a failure that lasts
/// stalls the projection (readiness reports it) until it is mended.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database failed or refused a statement.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The event store could not be read.
    #[error(transparent)]
    Store(#[from] kesos_eventstore::StoreError),
    /// An event the projection handles does not make sense to it (it does not decode, or
    /// breaks what the read model expects).
    #[error("{feed} event at position {position} cannot be applied: {reason}")]
    Event {
        /// The event's source (the service whose log holds it).
        feed: String,
        /// Its position there.
        position: u64,
        /// Why.
        reason: String,
    },
}

impl ProjectionError {
    /// An event that does not make sense to the projection.
    pub fn event(delivered: &Delivered, reason: impl ToString) -> Self {
        Self::Event {
            feed: delivered.source.clone(),
            position: delivered.event.position,
            reason: reason.to_string(),
        }
    }
}

/// A read model.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// The name its checkpoints are kept under, unique within its database (e.g.
    /// `enrollment.directory`).
    fn name(&self) -> &str;

    /// Whether it applies events of this type (e.g. `kesos.enrollment.v1.WorkerRegistered`).
    /// The others are not handed to [`Projection::apply`], but their positions still move the
    /// checkpoint.
    fn handles(&self, event_type: &str) -> bool;

    /// Most events handed over in one batch (one transaction).
    fn batch_size(&self) -> usize {
        1_000
    }

    /// How long a batch waits for more events once its first arrived: worth a few
    /// milliseconds when events arrive one by one and a transaction per event would cost more.
    fn linger(&self) -> Duration {
        Duration::ZERO
    }

    /// Applies `events` (handled, not applied before, in feed order) inside `tx`, which the
    /// projector commits together with the checkpoint.
    async fn apply(&self, tx: &mut Tx, events: &[&Delivered]) -> Result<(), ProjectionError>;
}
