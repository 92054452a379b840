//! `kesos replay`: rebuilds the progress model from the event logs into fresh tables and swaps
//! them in only when complete, so readers never see a half-built model.
//!
//! The swap is safe while the live projection runs: it happens in one transaction that first
//! takes the live checkpoint table's lock (the live projection's batches take it too), applies
//! whatever the live model had applied beyond the replay, then drops the old tables and renames
//! the new ones. The live projection's next batch finds the rebuilt model and its checkpoints.

use std::collections::VecDeque;
use std::sync::Arc;

use kesos_eventstore::EventStore;
use uuid::Uuid;

use crate::db::ProgressDb;
use crate::error::ProgressError;
use crate::model::{Counts, ProgressModel, ProgressStore, apply_in, on_backend};
use crate::plan::SourcedEvent;
use crate::tables::Tables;

/// Events read from a log per batch.
const REPLAY_BATCH: usize = 20_000;

/// An event log to replay, under the source name its events carry on the bus.
#[derive(Clone)]
pub struct Source {
    /// The source's name (the service, or the store's relay name).
    pub name: String,
    /// Its store.
    pub store: Arc<dyn EventStore>,
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
pub async fn replay(
    model: &ProgressModel,
    sources: &[Source],
    mut progress: impl FnMut(u64, u64),
) -> Result<ReplayReport, ProgressError> {
    let next = model.with_tables(Tables::next());
    let tag = Uuid::new_v4().simple().to_string();
    let tag = tag.get(..12).unwrap_or("replay");
    on_backend!(next.store(), D, pool => {
        let mut transaction = pool.begin().await?;
        D::execute_all(&mut transaction, &Tables::next().drop_statements()).await?;
        transaction.commit().await?;
        D::create(pool, &Tables::next(), None).await?;
    });
    let mut total = 0;
    for source in sources {
        total += source.store.head_position().await?;
    }
    let mut report = ReplayReport::default();
    let mut merged = Merge::new(sources);
    while let Some(batch) = merged.next_batch(REPLAY_BATCH).await? {
        let applied = next.apply_bulk(&batch).await?;
        report.events += batch.len() as u64;
        report.facts += applied.facts as u64;
        progress(report.events, total.max(report.events));
    }
    on_backend!(next.store(), D, pool => {
        let mut transaction = pool.begin().await?;
        let next_tables = Tables::next();
        D::execute_all(&mut transaction, &[next_tables.counts_from_facts()]).await?;
        D::execute_all(&mut transaction, &next_tables.months_from_facts(D::MONTH_OF_DAY)).await?;
        let indexes: Vec<String> = next_tables
            .index_statements(tag)
            .into_iter()
            .map(|index| index.create)
            .collect();
        D::execute_all(&mut transaction, &indexes).await?;
        transaction.commit().await?;
        D::settle(pool, &next_tables).await?;
    });
    report.caught_up = swap(model, &next, sources).await?;
    Ok(report)
}

/// The swap transaction: lock, catch up to the live checkpoints, drop, rename.
async fn swap(
    live: &ProgressModel,
    next: &ProgressModel,
    sources: &[Source],
) -> Result<u64, ProgressError> {
    let lock = match live.store() {
        ProgressStore::Postgres(_) => format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            live.tables().checkpoints()
        ),
        // A write statement takes SQLite's write lock for the rest of the transaction.
        ProgressStore::Sqlite(_) => format!(
            "UPDATE {0} SET position = position WHERE source = ''",
            live.tables().checkpoints()
        ),
    };
    on_backend!(live.store(), D, pool => {
        let mut transaction = pool.begin().await?;
        D::execute_all(&mut transaction, &[lock]).await?;
        let live_done = D::checkpoints(&mut transaction, live.tables()).await?;
        let next_done = D::checkpoints(&mut transaction, next.tables()).await?;
        let mut caught_up = 0;
        for source in sources {
            let target = live_done.get(&source.name).copied().unwrap_or(0);
            let mut after = next_done.get(&source.name).copied().unwrap_or(0);
            while after < target {
                let events = source.store.read_batch(after, REPLAY_BATCH).await?;
                let batch: Vec<SourcedEvent> = events
                    .into_iter()
                    .take_while(|e| e.position <= target)
                    .map(|event| SourcedEvent { source: source.name.clone(), event })
                    .collect();
                let Some(last) = batch.last() else { break };
                after = last.event.position;
                caught_up += batch.len() as u64;
                apply_in::<D>(&mut transaction, next.tables(), &batch, Counts::Maintained).await?;
            }
        }
        D::execute_all(&mut transaction, &live.tables().drop_statements()).await?;
        D::execute_all(&mut transaction, &next.tables().rename_statements(live.tables())).await?;
        transaction.commit().await?;
        Ok(caught_up)
    })
}

/// Reads several logs as one, oldest recorded first, so that a worker's events from different
/// services are applied in the order the system learned them.
struct Merge<'a> {
    sources: &'a [Source],
    buffers: Vec<VecDeque<SourcedEvent>>,
    after: Vec<u64>,
    exhausted: Vec<bool>,
}

impl<'a> Merge<'a> {
    fn new(sources: &'a [Source]) -> Self {
        Self {
            sources,
            buffers: vec![VecDeque::new(); sources.len()],
            after: vec![0; sources.len()],
            exhausted: vec![false; sources.len()],
        }
    }

    async fn fill(&mut self, index: usize) -> Result<(), ProgressError> {
        if !self.buffers[index].is_empty() || self.exhausted[index] {
            return Ok(());
        }
        let source = &self.sources[index];
        let events = source
            .store
            .read_batch(self.after[index], REPLAY_BATCH)
            .await?;
        match events.last() {
            None => self.exhausted[index] = true,
            Some(last) => self.after[index] = last.position,
        }
        self.buffers[index].extend(events.into_iter().map(|event| SourcedEvent {
            source: source.name.clone(),
            event,
        }));
        Ok(())
    }

    async fn next_batch(
        &mut self,
        size: usize,
    ) -> Result<Option<Vec<SourcedEvent>>, ProgressError> {
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size {
            for index in 0..self.sources.len() {
                self.fill(index).await?;
            }
            let oldest = (0..self.sources.len())
                .filter_map(|i| self.buffers[i].front().map(|e| (e.event.recorded_at, i)))
                .min();
            let Some((_, index)) = oldest else { break };
            if let Some(event) = self.buffers[index].pop_front() {
                batch.push(event);
            }
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}
