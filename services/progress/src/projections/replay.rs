//! `kesos replay`: rebuilds the progress model from the event logs into fresh tables and swaps
//! them in only when complete, so readers never see a half-built model.
//!
//! The swap is safe while the live projection runs: it happens in one transaction that first
//! takes the live checkpoint table's lock (the live projection's batches take it too), applies
//! whatever the live model had applied beyond the replay, then drops the old tables and renames
//! the new ones. The live projection's next batch finds the rebuilt model and its checkpoints.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use kesos_eventstore::{AsOf, EventStore, RecordedEvent, StoreError};
use tokio::sync::mpsc;
use uuid::Uuid;

use kesos_readside::{Db, Delivered};

use crate::domain::plan::{KeyedCounts, Prepared};
use crate::domain::sums::Sums;
use crate::error::ProgressError;
use crate::projections::dialect::{Dialect, execute_all};
use crate::projections::load::{Loaded, load};
use crate::projections::model::{ProgressModel, apply_in};
use crate::projections::tables::Tables;
use crate::projections::{batch, schema};
use crate::wire::prepare;

/// Events read from a log per batch.
const REPLAY_BATCH: usize = 20_000;
/// Batches read and decoded ahead of the one being written.
const READ_AHEAD: usize = 1;
/// Count or roll-up rows per statement when the sums are written.
const ROLL_UP_CHUNK: usize = 50_000;

/// An event log to replay, under the source name its events carry on the bus.
#[derive(Clone)]
pub struct Source {
    /// The source's name (the service, or the store's relay name).
    pub name: String,
    /// Its store.
    pub store: Arc<dyn EventStore>,
    /// The event types of the store that are this source's (a type-name prefix), when the
    /// store holds other sources' events too: the events a service's relay publishes under
    /// the service's name. `None`: every event of the store.
    pub owned: Option<String>,
}

impl Source {
    /// Every event of `store`, under `name` (the embedded mode's one log).
    pub fn whole(name: impl Into<String>, store: Arc<dyn EventStore>) -> Self {
        Self {
            name: name.into(),
            store,
            owned: None,
        }
    }

    /// True when `event` is this source's.
    pub fn holds(&self, event: &RecordedEvent) -> bool {
        self.owned
            .as_deref()
            .is_none_or(|prefix| event.event_type.as_str().starts_with(prefix))
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Events read.
    pub events: u64,
    /// Count changes recorded.
    pub facts: u64,
    /// Events applied at the swap, which the live model had applied meanwhile.
    pub caught_up: u64,
}

/// Rebuilds `model` from `sources`; `progress(done, total)` is called after each batch.
///
/// The logs are read (and their events decoded) by a task of their own, a batch ahead of the
/// batch being written, and on PostgreSQL the batches are planned and written in two lanes
/// (`load`), so reading, decoding, planning and writing overlap. The facts, the history and the
/// workers' standing are written batch by batch; the counts and the monthly roll-up are summed
/// in memory (`Sums`) and written once at the end, next to the indexes.
pub async fn replay(
    model: &ProgressModel,
    sources: &[Source],
    mut progress: impl FnMut(u64, u64),
) -> Result<ReplayReport, ProgressError> {
    let next = model.with_tables(Tables::next());
    let tag = Uuid::new_v4().simple().to_string();
    let tag = tag.get(..12).unwrap_or("replay");
    let db = next.db();
    let mut tx = db.begin().await?;
    execute_all(&mut tx, &Tables::next().drop_statements()).await?;
    tx.commit().await?;
    schema::create(db, &Tables::next(), None).await?;
    let mut heads = Vec::with_capacity(sources.len());
    for source in sources {
        heads.push(source.store.head_position().await?);
    }
    let total: u64 = heads.iter().sum();
    let started = std::time::Instant::now();
    let (sender, batches) = mpsc::channel(READ_AHEAD);
    let reader = tokio::spawn(read_prepared(sources.to_vec(), heads, sender));
    let loaded = load(db, next.tables(), batches, total, &mut progress).await;
    reader
        .await
        .map_err(|e| ProgressError::ReplayTaskStopped("the log reader", e.to_string()))?;
    let Loaded {
        events,
        facts,
        sums,
    } = loaded?;
    let mut report = ReplayReport {
        events,
        facts,
        caught_up: 0,
    };
    tracing::info!(
        events = report.events,
        facts = report.facts,
        seconds = started.elapsed().as_secs_f64(),
        "replay loaded the log"
    );
    let indexes: Vec<String> = Tables::next()
        .index_statements(tag)
        .into_iter()
        .map(|index| index.create)
        .collect();
    let sums_written = write_sums(db, next.tables(), sums);
    if Dialect::of(db.backend()).concurrent_writers {
        let builds = indexes.iter().map(|index| db.query(index).execute());
        let (written, built) = tokio::join!(sums_written, futures::future::try_join_all(builds));
        written?;
        built?;
    } else {
        sums_written.await?;
        let mut tx = db.begin().await?;
        execute_all(&mut tx, &indexes).await?;
        tx.commit().await?;
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "replay summed and indexed"
    );
    schema::settle(db, &Tables::next()).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "replay settled");
    report.caught_up = swap(model, &next, sources).await?;
    Ok(report)
}

/// Writes the counts and the roll-up a replay summed, in one transaction.
async fn write_sums(db: &Db, tables: &Tables, mut sums: Sums) -> Result<(), ProgressError> {
    let started = std::time::Instant::now();
    let mut tx = db.begin().await?;
    let mut counted_rows = 0;
    for chunk in sums.take_counts(ROLL_UP_CHUNK) {
        counted_rows += chunk.len();
        batch::write_sums(&mut tx, tables, &chunk, &[]).await?;
    }
    let counted = started.elapsed().as_secs_f64();
    let roll_up = sums.roll_up();
    let mut rows = 0;
    for months in roll_up.chunks(ROLL_UP_CHUNK) {
        rows += months.len();
        batch::write_sums(&mut tx, tables, &KeyedCounts::new(), &months).await?;
    }
    tx.commit().await?;
    tracing::info!(
        counts = counted_rows,
        roll_up = rows,
        counts_seconds = counted,
        seconds = started.elapsed().as_secs_f64(),
        "replay wrote the counts and the roll-up it summed"
    );
    Ok(())
}

/// The swap transaction: lock, catch up to the live checkpoints, drop, rename.
async fn swap(
    live: &ProgressModel,
    next: &ProgressModel,
    sources: &[Source],
) -> Result<u64, ProgressError> {
    let lock = Dialect::of(live.db().backend())
        .lock_checkpoints
        .replace("{table}", &live.tables().checkpoints());
    let mut tx = live.db().begin().await?;
    execute_all(&mut tx, &[lock]).await?;
    let live_done = batch::checkpoints(&mut tx, live.tables()).await?;
    let next_done = batch::checkpoints(&mut tx, next.tables()).await?;
    let mut caught_up = 0;
    for source in sources {
        let target = live_done.get(&source.name).copied().unwrap_or(0);
        let mut after = next_done.get(&source.name).copied().unwrap_or(0);
        while after < target {
            let events = source.store.read_batch(after, REPLAY_BATCH).await?;
            let read: Vec<RecordedEvent> = events
                .into_iter()
                .take_while(|e| e.position <= target)
                .collect();
            let Some(last) = read.last() else { break };
            after = last.position;
            let batch: Vec<Delivered> = read
                .into_iter()
                .filter(|event| source.holds(event))
                .map(|event| Delivered {
                    source: source.name.clone(),
                    event,
                })
                .collect();
            caught_up += batch.len() as u64;
            apply_in(&mut tx, next.tables(), &batch).await?;
        }
    }
    execute_all(&mut tx, &live.tables().drop_statements()).await?;
    execute_all(&mut tx, &next.tables().rename_statements(live.tables())).await?;
    tx.commit().await?;
    Ok(caught_up)
}

/// Reads `sources` up to `heads` as one log, oldest recorded first (so that a worker's events
/// from different services are applied in the order the system learned them), and sends
/// them on decoded, in batches. Stops early when the receiver is gone.
async fn read_prepared(
    sources: Vec<Source>,
    heads: Vec<u64>,
    batches: mpsc::Sender<Result<Vec<Prepared>, ProgressError>>,
) {
    let mut logs: Vec<Log<'_>> = sources
        .iter()
        .zip(&heads)
        .map(|(source, head)| Log {
            source,
            events: source.store.read_all(0, AsOf::Position(*head)),
            next: None,
            done: *head == 0,
        })
        .collect();
    loop {
        let batch = match next_batch(&mut logs, REPLAY_BATCH).await {
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => Ok(prepare(&batch)),
            Err(error) => Err(error),
        };
        let failed = batch.is_err();
        if batches.send(batch).await.is_err() || failed {
            return;
        }
    }
}

/// One source's log as it is read.
struct Log<'a> {
    source: &'a Source,
    events: BoxStream<'a, Result<RecordedEvent, StoreError>>,
    /// The event read but not yet taken.
    next: Option<RecordedEvent>,
    done: bool,
}

/// Takes up to `size` events from `logs`, oldest recorded first.
async fn next_batch(logs: &mut [Log<'_>], size: usize) -> Result<Vec<Delivered>, ProgressError> {
    let mut batch = Vec::with_capacity(size);
    while batch.len() < size {
        for log in logs.iter_mut() {
            while log.next.is_none() && !log.done {
                match log.events.next().await {
                    Some(event) => log.next = Some(event?).filter(|e| log.source.holds(e)),
                    None => log.done = true,
                }
            }
        }
        let oldest = logs
            .iter()
            .enumerate()
            .filter_map(|(index, log)| log.next.as_ref().map(|e| (e.recorded_at, index)))
            .min();
        let Some((_, index)) = oldest else { break };
        let log = &mut logs[index];
        if let Some(event) = log.next.take() {
            batch.push(Delivered {
                source: log.source.name.clone(),
                event,
            });
        }
    }
    Ok(batch)
}
