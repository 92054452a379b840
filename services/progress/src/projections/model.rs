//! The progress read model over its database: applying batches (live and in replay) and
//! answering questions. Cheap to clone.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kesos_readside::{Db, Delivered, Tx};
use uuid::Uuid;

use crate::domain::measure::Measure;
use crate::domain::months::roll_up;
use crate::domain::plan::{Plan, Prepared, plan, workers_named};
use crate::domain::query::{AsOf, Filter, RegionCounts};
use crate::domain::sums::Sums;
use crate::domain::targets::StoredTarget;
use crate::error::ProgressError;
use crate::projections::tables::Tables;
use crate::projections::{batch, read, schema};
use crate::wire::prepare;

/// What applying a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events applied (redeliveries skipped).
    pub events: usize,
    /// Count changes recorded.
    pub facts: usize,
    /// Events of a known type that did not decode (logged and skipped).
    pub undecodable: usize,
    /// Time spent planning the batch in the process (decoding its events, deciding its rows
    /// and, live, summing its roll-up); the rest of an apply is the database's.
    pub planning: Duration,
}

/// The progress read model.
#[derive(Debug, Clone)]
pub struct ProgressModel {
    db: Db,
    tables: Tables,
    /// Nanoseconds live applies spent outside planning, shared by clones.
    in_database: Arc<AtomicU64>,
}

impl ProgressModel {
    /// The live model in `db`, creating its tables if needed.
    pub async fn open(db: Db) -> Result<Self, ProgressError> {
        let model = Self {
            db,
            tables: Tables::live(),
            in_database: Arc::default(),
        };
        schema::create(&model.db, &model.tables, Some("live")).await?;
        Ok(model)
    }

    /// The model on another table set of the same database (replay's).
    pub(crate) fn with_tables(&self, tables: Tables) -> Self {
        Self {
            db: self.db.clone(),
            tables,
            in_database: Arc::default(),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The table set.
    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Applies a batch in one transaction with the checkpoints: events at or before a source's
    /// checkpoint are skipped, so a redelivered or replayed batch changes nothing. (The live
    /// projection applies its batches inside the [`kesos_readside::Projector`]'s transactions
    /// instead, [`crate::projections::live`].)
    pub async fn apply(&self, events: &[Delivered]) -> Result<Applied, ProgressError> {
        if events.is_empty() {
            return Ok(Applied::default());
        }
        let started = Instant::now();
        let mut tx = self.db.begin_write().await?;
        let applied = apply_in(&mut tx, &self.tables, events).await?;
        tx.commit().await?;
        self.spent_in_database(started.elapsed().saturating_sub(applied.planning));
        Ok(applied)
    }

    /// Adds to [`Self::time_in_database`].
    pub(crate) fn spent_in_database(&self, time: Duration) {
        self.in_database.fetch_add(
            u64::try_from(time.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// How long the live applies of this model and its clones have spent on anything but
    /// planning since it was opened: the database's statements, the encoding of their rows,
    /// and the commits. Events applied over this time is the most the live projection could
    /// reach with the process's own work taking none, which tells whether a goal is the
    /// process's to meet or the database's (`kesos bench progress` prints it).
    pub fn time_in_database(&self) -> Duration {
        Duration::from_nanos(self.in_database.load(Ordering::Relaxed))
    }

    /// Positions applied per source.
    pub async fn checkpoints(&self) -> Result<BTreeMap<String, u64>, ProgressError> {
        let mut tx = self.db.begin().await?;
        let checkpoints = batch::checkpoints(&mut tx, &self.tables).await?;
        tx.commit().await?;
        Ok(checkpoints.into_iter().collect())
    }

    /// Figures for a region and its children.
    pub async fn counts(
        &self,
        filter: &Filter,
        as_of: AsOf,
    ) -> Result<RegionCounts, ProgressError> {
        Ok(read::counts(&self.db, &self.tables, filter, as_of).await?)
    }

    /// Net change per business month ([`crate::domain::months::month_index`]) and measure, up
    /// to the as-of moment; changes that net to zero are left out.
    pub async fn monthly(
        &self,
        filter: &Filter,
        as_of: AsOf,
    ) -> Result<Vec<(i64, Measure, i64)>, ProgressError> {
        Ok(read::monthly(&self.db, &self.tables, filter, as_of).await?)
    }

    /// Every setting of a year's target for some regions.
    pub async fn target_settings(
        &self,
        year: i32,
        regions: &[&str],
    ) -> Result<Vec<StoredTarget>, ProgressError> {
        Ok(read::targets(&self.db, &self.tables, year, regions).await?)
    }

    /// The (source, position) of every event in a worker's history.
    pub async fn history_index(&self, worker: Uuid) -> Result<Vec<(String, u64)>, ProgressError> {
        Ok(read::history(&self.db, &self.tables, worker).await?)
    }
}

/// Applies a batch inside `tx`, counts and roll-up included (the live apply, and a replay's
/// last catch-up under the swap's lock).
pub(crate) async fn apply_in<'a>(
    tx: &mut Tx,
    tables: &Tables,
    events: impl IntoIterator<Item = &'a Delivered>,
) -> Result<Applied, sqlx::Error> {
    let started = Instant::now();
    let prepared = prepare(events);
    let decoding = started.elapsed();
    let (mut planned, planning) = planned_in(tx, tables, prepared).await?;
    let started = Instant::now();
    planned.months = roll_up(&planned.facts);
    let planning = decoding + planning + started.elapsed();
    batch::write(tx, tables, &planned).await?;
    Ok(report(&planned, planning))
}

/// Applies a batch of a replay's bulk load inside `tx`: its counts and roll-up go to `sums`
/// instead, which the replay writes once at the end, and its checkpoints are left to the load
/// (`load`).
pub(crate) async fn apply_summed(
    tx: &mut Tx,
    tables: &Tables,
    prepared: Vec<Prepared>,
    sums: &Mutex<Sums>,
) -> Result<Applied, sqlx::Error> {
    let (mut planned, planning) = planned_in(tx, tables, prepared).await?;
    sums.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .add(&planned);
    planned.counts.clear();
    planned.checkpoints.clear();
    batch::write(tx, tables, &planned).await?;
    Ok(report(&planned, planning))
}

/// Plans prepared events against the checkpoints and the stored standing of the workers
/// they name; answers the plan and the time planning took (reading took the rest).
async fn planned_in(
    tx: &mut Tx,
    tables: &Tables,
    prepared: Vec<Prepared>,
) -> Result<(Plan, Duration), sqlx::Error> {
    let named = workers_named(&prepared);
    let checkpoints = batch::checkpoints(tx, tables).await?;
    let workers = batch::load_workers(tx, tables, &named).await?;
    let started = Instant::now();
    let planned = plan(prepared, &checkpoints, workers);
    Ok((planned, started.elapsed()))
}

fn report(plan: &Plan, planning: Duration) -> Applied {
    for undecodable in &plan.undecodable {
        tracing::error!(%undecodable, "progress skipped an event it cannot read");
    }
    Applied {
        events: plan.applied,
        facts: plan.facts.len(),
        undecodable: plan.undecodable.len(),
        planning,
    }
}
