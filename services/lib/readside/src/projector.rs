//! The one loop every read model runs in. It reads a feed (the service's own log through
//! [`EmbeddedFeed`], or JetStream), hands each batch's fresh events to the [`Projection`] inside
//! a transaction that also moves the checkpoint, commits, and only then acknowledges.
//!
//! - **Exactly once.** Each source's checkpoint moves by compare-and-set from the position this
//!   projector last saw; when another process (or a redelivery) got there first, the
//!   transaction is rolled back, the checkpoints are read again, and only what is still new is
//!   applied. A checkpoint never moves backwards.
//! - **Never skips.** A failure (database away, an event the projection cannot apply) is retried
//!   with capped backoff for as long as it lasts; after a few attempts the projection reports
//!   itself stalled in [`Stalls`], which readiness reads.
//! - **Read your writes by waiting, not by writing.** Reads never catch up. A handler that must
//!   see its own write waits for the write's position ([`Projector::wait_for`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kesos_bus::{Backoff, Delivered, EmbeddedFeed, Feed, Incoming, Stalls};
use kesos_eventstore::EventStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::projection::{Projection, ProjectionError};
use crate::{to_i64, to_u64};
use kesos_sql::{Db, Migrations, Tx};

/// Longest wait between two attempts at a failing batch.
const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// The first wait after a batch failed to apply.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// Failed attempts after which the projection reports itself stalled.
const STALLED_AFTER: u32 = 3;
/// How often a waiter looks at the database's checkpoint too (another process may be the one
/// applying).
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Why [`Projector::wait_for`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The position was not applied in time (the projection is behind or stalled).
    #[error("{projection} did not reach {feed} position {position} within {waited:?}")]
    TimedOut {
        /// The projection.
        projection: String,
        /// The source waited on.
        feed: String,
        /// The position waited for.
        position: u64,
        /// How long it waited.
        waited: Duration,
    },
    /// The checkpoint could not be read.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The log's head could not be read.
    #[error(transparent)]
    Store(#[from] kesos_eventstore::StoreError),
}

/// Runs one [`Projection`] over a database. Cheap to clone; the loop started by
/// [`Projector::start`] stops when the last clone is dropped.
#[derive(Clone)]
pub struct Projector {
    inner: Arc<Inner>,
    task: Arc<TaskSlot>,
}

struct Inner {
    db: Db,
    projection: Arc<dyn Projection>,
    positions: watch::Sender<BTreeMap<String, u64>>,
    // A std lock, held only to clone or replace the registry handle, never across an await.
    stalls: std::sync::RwLock<Stalls>,
}

/// The background loop, stopped when the last handle that started it is dropped. The loop
/// itself holds only [`Inner`], never this slot, so it cannot keep itself alive.
#[derive(Default)]
struct TaskSlot(std::sync::Mutex<Option<JoinHandle<()>>>);

impl Drop for TaskSlot {
    fn drop(&mut self) {
        let task = self
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // Safe at any point: a batch commits whole or not at all.
            task.abort();
        }
    }
}

/// The checkpoint table's migrations.
pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("./migrations/postgres"),
        sqlite: sqlx::migrate!("./migrations/sqlite"),
    }
}

impl Projector {
    /// A projector for `projection` over `db` (creating the checkpoint table if needed), its
    /// checkpoints read. It applies nothing until [`Projector::start`] or
    /// [`Projector::catch_up`].
    pub async fn new(db: Db, projection: Arc<dyn Projection>) -> Result<Self, sqlx::Error> {
        db.migrate(migrations()).await?;
        let projector = Self {
            inner: Arc::new(Inner {
                db,
                projection,
                positions: watch::Sender::new(BTreeMap::new()),
                stalls: std::sync::RwLock::new(Stalls::new()),
            }),
            task: Arc::new(TaskSlot::default()),
        };
        projector.reload().await?;
        Ok(projector)
    }

    /// Reports stalls (a batch failing for several attempts, or the feed failing for good) in
    /// `stalls`, the registry readiness reads, instead of the projector's own. Takes effect at
    /// once, also for a loop already running.
    #[must_use]
    pub fn with_stalls(self, stalls: Stalls) -> Self {
        *self
            .inner
            .stalls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = stalls;
        self
    }

    /// Where this projection reports itself stalled.
    pub fn stalls(&self) -> Stalls {
        self.inner
            .stalls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The projection's name.
    pub fn name(&self) -> &str {
        self.inner.projection.name()
    }

    /// The database the read model lives in (for its reads).
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The position applied from `source`, as this process last saw it.
    pub fn position(&self, source: &str) -> u64 {
        self.inner
            .positions
            .borrow()
            .get(source)
            .copied()
            .unwrap_or(0)
    }

    /// Every source's checkpoint, read from the database.
    pub async fn checkpoints(&self) -> Result<BTreeMap<String, u64>, sqlx::Error> {
        self.reload().await?;
        Ok(self.inner.positions.borrow().clone())
    }

    /// Starts applying `feed` in the background, until the last clone of this projector is
    /// dropped.
    pub fn start<F>(&self, feed: F)
    where
        F: Feed + 'static,
        F::Token: 'static,
    {
        // The loop's own handle shares the work but not the task slot.
        let projector = Self {
            inner: Arc::clone(&self.inner),
            task: Arc::new(TaskSlot::default()),
        };
        let task = tokio::spawn(async move {
            if let Err(error) = projector.run(feed, std::future::pending()).await {
                tracing::error!(projection = projector.name(), %error, "the projection's feed failed for good");
                let reason = format!("feed failed: {error}");
                projector
                    .stalls()
                    .report(projector.name(), Instant::now(), 0, &reason);
            }
        });
        let mut slot = self
            .task
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(previous) = slot.replace(task) {
            previous.abort();
        }
    }

    /// Starts applying a service's own log (`store`, named `source`) from the checkpoint.
    pub fn start_on_log(&self, store: Arc<dyn EventStore>, source: &str) {
        let feed = EmbeddedFeed::from_position(store, source, self.position(source))
            .with_batch_size(self.inner.projection.batch_size());
        self.start(feed);
    }

    /// Applies everything `store` (named `source`) has committed beyond the checkpoint, here and
    /// now; returns the new checkpoint. For rebuilds, tools and benchmarks; services run
    /// [`Projector::start_on_log`] instead.
    pub async fn catch_up(
        &self,
        store: &dyn EventStore,
        source: &str,
    ) -> Result<u64, ProjectionError> {
        loop {
            let from = self.position(source);
            let events = store
                .read_batch(from, self.inner.projection.batch_size())
                .await?;
            if events.is_empty() {
                return Ok(from);
            }
            let batch: Vec<Delivered> = events
                .into_iter()
                .map(|event| Delivered {
                    source: source.to_owned(),
                    event,
                })
                .collect();
            let moved: Vec<(String, u64)> = batch
                .last()
                .map(|last| vec![(source.to_owned(), last.event.position)])
                .unwrap_or_default();
            self.apply(&batch.iter().collect::<Vec<_>>(), &moved)
                .await?;
        }
    }

    /// Waits until `source`'s events up to `position` are applied (by this process or another),
    /// at most `timeout`.
    pub async fn wait_for(
        &self,
        source: &str,
        position: u64,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.inner.positions.subscribe();
        loop {
            if self.position(source) >= position {
                return Ok(());
            }
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep(WAIT_POLL) => self.reload().await?,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(WaitError::TimedOut {
                        projection: self.name().to_owned(),
                        feed: source.to_owned(),
                        position,
                        waited: started.elapsed(),
                    });
                }
            }
        }
    }

    /// Waits until everything `store` (named `source`) held when called is applied: what a
    /// read that decides a write needs. At most `timeout`.
    pub async fn wait_for_head(
        &self,
        store: &dyn EventStore,
        source: &str,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let head = store.head_position().await?;
        self.wait_for(source, head, timeout).await
    }

    /// After a command, before it answers: waits for the highest of `positions` (its own
    /// appends), at most `timeout`, and only logs when they are not applied in time — the
    /// write is durable, only the read model lags behind it.
    pub async fn settle(
        &self,
        source: &str,
        positions: impl IntoIterator<Item = u64>,
        timeout: Duration,
    ) {
        let Some(position) = positions.into_iter().max() else {
            return;
        };
        if let Err(error) = self.wait_for(source, position, timeout).await {
            tracing::warn!(
                projection = self.name(),
                %error,
                position,
                "answering before the read model shows the command's write"
            );
        }
    }

    /// Applies everything `feed` delivers until `shutdown` completes. Returns an error only when
    /// the feed fails for good.
    pub async fn run<F: Feed>(
        &self,
        mut feed: F,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), kesos_bus::BusError> {
        tokio::pin!(shutdown);
        let batch_size = self.inner.projection.batch_size().max(1);
        let linger = self.inner.projection.linger();
        loop {
            let mut batch = tokio::select! {
                () = &mut shutdown => return Ok(()),
                batch = feed.next() => batch?,
            };
            if !linger.is_zero() {
                let until = tokio::time::Instant::now() + linger;
                while batch.len() < batch_size {
                    match tokio::time::timeout_at(until, feed.next()).await {
                        Ok(more) => batch.extend(more?),
                        Err(_) => break,
                    }
                }
            }
            let stopped = tokio::select! {
                () = &mut shutdown => true,
                () = self.apply_until_done(&mut feed, &batch) => false,
            };
            if stopped {
                return Ok(());
            }
            for incoming in &batch {
                feed.ack(&incoming.token).await?;
            }
        }
    }

    /// Applies one batch from a feed, retrying until it commits; messages that are not events
    /// are dead-lettered by the feed and their positions still move the checkpoint.
    async fn apply_until_done<F: Feed>(&self, feed: &mut F, batch: &[Incoming<F::Token>]) {
        let mut moved: BTreeMap<String, u64> = BTreeMap::new();
        let mut events = Vec::with_capacity(batch.len());
        for incoming in batch {
            match &incoming.content {
                Ok(delivered) => {
                    let to = moved.entry(delivered.source.clone()).or_default();
                    *to = (*to).max(delivered.event.position);
                    events.push(delivered);
                }
                Err(reason) => {
                    tracing::error!(
                        projection = self.name(),
                        origin = ?incoming.origin,
                        %reason,
                        "a message on the feed is not an event; the projection leaves it out"
                    );
                    if let Err(error) = feed.reject(incoming, reason).await {
                        tracing::warn!(%error, "could not dead-letter the message");
                    }
                    if let Some((source, position)) = &incoming.origin {
                        let to = moved.entry(source.clone()).or_default();
                        *to = (*to).max(*position);
                    }
                }
            }
        }
        let moved: Vec<(String, u64)> = moved.into_iter().collect();
        let mut attempt = 0_u32;
        let mut backoff = Backoff::new(FIRST_RETRY, MAX_BACKOFF);
        let mut first_failure: Option<Instant> = None;
        loop {
            match self.apply(&events, &moved).await {
                Ok(()) => {
                    if first_failure.is_some() {
                        self.stalls().clear(self.name());
                    }
                    return;
                }
                Err(error) => {
                    attempt = attempt.saturating_add(1);
                    let since = *first_failure.get_or_insert_with(Instant::now);
                    if attempt >= STALLED_AFTER {
                        self.stalls()
                            .report(self.name(), since, attempt, &error.to_string());
                    }
                    let delay = backoff.next_wait();
                    tracing::warn!(projection = self.name(), %error, attempt, ?delay, "could not apply a batch; retrying");
                    for incoming in batch {
                        let _kept = feed.working(&incoming.token).await;
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt: the fresh events of `events` applied and each source's checkpoint moved to
    /// the position in `moved`, in one transaction.
    async fn apply(
        &self,
        events: &[&Delivered],
        moved: &[(String, u64)],
    ) -> Result<(), ProjectionError> {
        let projection = &self.inner.projection;
        loop {
            let known = self.inner.positions.borrow().clone();
            let seen = |source: &str| known.get(source).copied().unwrap_or(0);
            let moves: Vec<&(String, u64)> = moved
                .iter()
                .filter(|(source, to)| *to > seen(source))
                .collect();
            if moves.is_empty() {
                return Ok(());
            }
            let fresh: Vec<&Delivered> = events
                .iter()
                .copied()
                .filter(|delivered| delivered.event.position > seen(&delivered.source))
                .filter(|delivered| projection.handles(delivered.event.event_type.as_str()))
                .collect();
            let mut tx = self.inner.db.begin_derived().await?;
            if !self.move_checkpoints(&mut tx, &moves, &known).await? {
                tx.rollback().await?;
                // Someone else applied part of it: start again from the stored checkpoints.
                self.reload().await?;
                continue;
            }
            // Each traced event's span lasts until the batch commits (exported spans only).
            let _spans = kesos_trace::batch_spans(self.name(), fresh.iter().map(|d| d.handled()));
            if !fresh.is_empty() {
                projection.apply(&mut tx, &fresh).await?;
            }
            tx.commit().await?;
            self.inner.positions.send_modify(|positions| {
                for (source, to) in &moves {
                    let position = positions.entry(source.clone()).or_default();
                    *position = (*position).max(*to);
                }
            });
            return Ok(());
        }
    }

    /// Moves each source's checkpoint from what this projector saw to its new position; false
    /// when one had moved meanwhile.
    async fn move_checkpoints(
        &self,
        tx: &mut Tx,
        moves: &[&(String, u64)],
        known: &BTreeMap<String, u64>,
    ) -> Result<bool, sqlx::Error> {
        for (source, to) in moves {
            if !known.contains_key(source) {
                tx.query(
                    "INSERT INTO kesos_projection_checkpoints (projection, source, position) \
                     VALUES ($1, $2, 0) ON CONFLICT (projection, source) DO NOTHING",
                )
                .bind(self.name())
                .bind(source.as_str())
                .execute()
                .await?;
            }
            let from = known.get(source).copied().unwrap_or(0);
            let changed = tx
                .query(
                    "UPDATE kesos_projection_checkpoints SET position = $1 \
                     WHERE projection = $2 AND source = $3 AND position = $4",
                )
                .bind(to_i64(*to))
                .bind(self.name())
                .bind(source.as_str())
                .bind(to_i64(from))
                .execute()
                .await?;
            if changed == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the stored checkpoints into what this process knows (never backwards).
    async fn reload(&self) -> Result<(), sqlx::Error> {
        let rows = self
            .inner
            .db
            .query(
                "SELECT source, position FROM kesos_projection_checkpoints WHERE projection = $1",
            )
            .bind(self.name())
            .fetch_all()
            .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            stored.push((row.get::<String>("source")?, to_u64(row.get("position")?)));
        }
        self.inner.positions.send_if_modified(|positions| {
            let mut changed = false;
            for (source, position) in stored {
                let known = positions.entry(source).or_default();
                if position > *known {
                    *known = position;
                    changed = true;
                }
            }
            changed
        });
        Ok(())
    }
}
