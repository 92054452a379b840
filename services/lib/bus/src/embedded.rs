//! The embedded feed: a consumer reads the local event store's ordered log from its own
//! checkpoint. No broker; the same consumer API and guarantees as JetStream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kesos_eventstore::{EventStore, StoreError};
use tokio::sync::watch;

use crate::bookkeeping;
use crate::consumer::{Feed, Incoming};
use crate::envelope::Delivered;
use crate::error::BusError;
use kesos_sql::Db;

/// Most events read per poll.
const BATCH: usize = 500;
/// How often to look for events other processes appended (this process's appends wake the
/// feed at once).
const POLL: Duration = Duration::from_millis(250);

/// A feed over the local log. Acknowledging is a no-op: the consumer's checkpoint advances in
/// its own transaction, and on restart the feed resumes from it.
pub struct EmbeddedFeed {
    store: Arc<dyn EventStore>,
    source: String,
    position: u64,
    appended: watch::Receiver<u64>,
    failures: u32,
    batch: usize,
}

impl EmbeddedFeed {
    /// Resumes `consumer`'s reading of `store` (named `source`) from its saved checkpoint.
    pub async fn resume(
        store: Arc<dyn EventStore>,
        source: impl Into<String>,
        consumer: &str,
        db: &Db,
    ) -> Result<Self, BusError> {
        let source = source.into();
        let position = bookkeeping::checkpoint(db, consumer, &source).await?;
        let appended = store.appended();
        Ok(Self {
            store,
            source,
            position,
            appended,
            failures: 0,
            batch: BATCH,
        })
    }

    /// Reads `store` (named `source`) after `position`: for readers that keep their checkpoint
    /// themselves, such as projections that store it with their read model.
    pub fn from_position(
        store: Arc<dyn EventStore>,
        source: impl Into<String>,
        position: u64,
    ) -> Self {
        let appended = store.appended();
        Self {
            store,
            source: source.into(),
            position,
            appended,
            failures: 0,
            batch: BATCH,
        }
    }

    /// Reads up to `events` per poll (at least 1) instead of the default 500: a reader that
    /// applies a whole read batch in one transaction picks the size that suits it.
    pub fn with_batch_size(mut self, events: usize) -> Self {
        self.batch = events.max(1);
        self
    }

    /// The position the feed has read up to.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn incoming(&self, event: kesos_eventstore::RecordedEvent) -> Incoming<()> {
        let origin = Some((self.source.clone(), event.position));
        Incoming {
            // Left out: a dead letter rebuilds the whole envelope (`Incoming::message`), and
            // most readers (every projector) never need it.
            raw: Vec::new(),
            content: Ok(Delivered {
                source: self.source.clone(),
                event,
            }),
            origin,
            token: (),
        }
    }
}

#[async_trait]
impl Feed for EmbeddedFeed {
    type Token = ();

    async fn next(&mut self) -> Result<Vec<Incoming<()>>, BusError> {
        loop {
            match self.store.read_batch(self.position, self.batch).await {
                Ok(events) if !events.is_empty() => {
                    self.failures = 0;
                    self.position = events.last().map_or(self.position, |e| e.position);
                    return Ok(events.into_iter().map(|e| self.incoming(e)).collect());
                }
                Ok(_) => {
                    self.failures = 0;
                    tokio::select! {
                        _ = self.appended.changed() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(StoreError::Corrupt { position, reason }) if position > self.position => {
                    let before =
                        usize::try_from(position - self.position - 1).unwrap_or(self.batch);
                    if before > 0 {
                        let events = self
                            .store
                            .read_batch(self.position, before.min(self.batch))
                            .await?;
                        if let Some(last) = events.last() {
                            self.position = last.position;
                            return Ok(events.into_iter().map(|e| self.incoming(e)).collect());
                        }
                    }
                    self.position = position;
                    return Ok(vec![Incoming {
                        content: Err(format!("stored event is corrupt: {reason}")),
                        raw: Vec::new(),
                        origin: Some((self.source.clone(), position)),
                        token: (),
                    }]);
                }
                Err(error) if error.is_transient() => {
                    self.failures += 1;
                    let delay = Duration::from_millis(100) * 2_u32.pow(self.failures.min(8));
                    tracing::warn!(%error, ?delay, "event store unavailable; retrying");
                    tokio::time::sleep(delay.min(Duration::from_secs(30))).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn ack(&mut self, _token: &()) -> Result<(), BusError> {
        Ok(())
    }

    async fn working(&mut self, _token: &()) -> Result<(), BusError> {
        Ok(())
    }

    async fn reject(&mut self, _incoming: &Incoming<()>, _reason: &str) -> Result<(), BusError> {
        // The dead letter is already recorded in the consumer's database, which is the embedded
        // mode's dead-letter stream.
        Ok(())
    }
}
