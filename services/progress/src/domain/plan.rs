//! From a batch of events to the rows that record them: pure, so the live projection and the
//! replay write exactly the same thing, and tests can check it without a database. The events
//! arrive already read ([`Prepared`], by [`crate::wire::prepare`]); the stored standing of the
//! workers they name and the checkpoints arrive with them.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::domain::change::{Change, UndecodableEvent};
use crate::domain::measure::{Key, Measure};
use crate::domain::months::MonthRows;
use crate::domain::worker::{Dated, WorkerProgress, deltas};

/// Counts, or changes of counts, per (where, scheme, measure): a batch's changes, or the
/// current counts a replay summed.
pub type KeyedCounts = BTreeMap<(Key, String, Measure), i64>;

/// One count change with the two times it is known by: the dated fact that as-of questions sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Where.
    pub key: Key,
    /// Scheme or `*`.
    pub scheme: String,
    /// What.
    pub measure: Measure,
    /// +1 or -1.
    pub delta: i32,
    /// Business day (days since 1970-01-01, WIB).
    pub day: i64,
    /// When the system learned it (µs since the epoch).
    pub recorded_us: i64,
}

/// A target as set at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    /// Year.
    pub year: i32,
    /// Region code (empty: national).
    pub region: String,
    /// `WorkerCategory` number.
    pub category: i32,
    /// Workers to certify.
    pub count: i64,
    /// Business day it is in force from.
    pub day: i64,
    /// When it was recorded.
    pub recorded_us: i64,
    /// Its source and position, which order several settings of one target.
    pub source: String,
    /// Position in the source.
    pub position: i64,
}

/// An event that belongs in a worker's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The worker.
    pub worker: Uuid,
    /// The source store.
    pub source: String,
    /// The event's position there.
    pub position: i64,
    /// Business time (µs).
    pub occurred_us: i64,
}

/// Everything one batch writes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Workers whose standing changed, as they now stand.
    pub workers: BTreeMap<Uuid, WorkerProgress>,
    /// Dated count changes.
    pub facts: Vec<Fact>,
    /// The same changes summed per count.
    pub counts: KeyedCounts,
    /// The facts' monthly roll-up rows ([`crate::domain::months`]), filled by a caller that maintains
    /// them batch by batch (the live model; a replay sums them from the facts at the end).
    pub months: MonthRows,
    /// Targets set.
    pub targets: Vec<TargetRow>,
    /// History index entries.
    pub history: Vec<HistoryEntry>,
    /// The new checkpoint per source.
    pub checkpoints: BTreeMap<String, u64>,
    /// Events of a known type that did not decode (skipped, reported).
    pub undecodable: Vec<UndecodableEvent>,
    /// Events applied (after skipping those already applied).
    pub applied: usize,
}

/// An event read once for progress: what it changes, whose history it joins, and when.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The source store.
    pub source: String,
    /// Position there.
    pub position: u64,
    /// Business day (WIB).
    pub day: i64,
    /// Business time (µs).
    pub occurred_us: i64,
    /// Recorded time (µs).
    pub recorded_us: i64,
    /// The worker whose history it joins.
    pub worker: Option<Uuid>,
    /// What it changes.
    pub change: Result<Option<Change>, UndecodableEvent>,
}

/// The workers a prepared batch changes, to load their stored standing first.
pub fn workers_named(events: &[Prepared]) -> Vec<Uuid> {
    let mut named: Vec<Uuid> = events
        .iter()
        .filter_map(|e| match &e.change {
            Ok(Some(Change::Worker { worker, .. })) => Some(*worker),
            _ => None,
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

/// Plans a batch. `checkpoints` holds the positions already applied per source (events at or
/// before them are skipped: redeliveries); `workers` holds the stored standing of the workers
/// the batch names (absent: not seen yet).
pub fn plan(
    events: Vec<Prepared>,
    checkpoints: &HashMap<String, u64>,
    mut workers: HashMap<Uuid, WorkerProgress>,
) -> Plan {
    let mut plan = Plan::default();
    for event in events {
        let done = plan
            .checkpoints
            .get(&event.source)
            .or_else(|| checkpoints.get(&event.source))
            .copied()
            .unwrap_or(0);
        if event.position <= done {
            continue;
        }
        plan.checkpoints
            .insert(event.source.clone(), event.position);
        plan.applied += 1;
        let position = i64::try_from(event.position).unwrap_or(i64::MAX);
        if let Some(worker) = event.worker {
            plan.history.push(HistoryEntry {
                worker,
                source: event.source.clone(),
                position,
                occurred_us: event.occurred_us,
            });
        }
        let (day, recorded_us) = (event.day, event.recorded_us);
        match event.change {
            Ok(None) => {}
            Err(undecodable) => plan.undecodable.push(undecodable),
            Ok(Some(Change::Target(target))) => plan.targets.push(TargetRow {
                year: target.year,
                region: target.region,
                category: target.category,
                count: i64::from(target.count),
                day: target.in_force_from.unwrap_or(day),
                recorded_us,
                source: event.source.clone(),
                position,
            }),
            Ok(Some(Change::Worker { worker, change })) => {
                let state = workers.entry(worker).or_default();
                let before = state.clone();
                state.apply(&change);
                for Dated { delta, day } in deltas(&before, state, day) {
                    *plan
                        .counts
                        .entry((delta.key.clone(), delta.scheme.clone(), delta.measure))
                        .or_default() += i64::from(delta.delta);
                    plan.facts.push(Fact {
                        key: delta.key,
                        scheme: delta.scheme,
                        measure: delta.measure,
                        delta: delta.delta,
                        day,
                        recorded_us,
                    });
                }
                if *state != before {
                    plan.workers.insert(worker, state.clone());
                }
            }
        }
    }
    plan.counts.retain(|_, sum| *sum != 0);
    plan
}
