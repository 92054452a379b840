//! A replay's bulk load: the log's batches planned and written in lanes, each lane a series of
//! transactions on a connection of its own for its share of the workers.
//!
//! Planning a batch (deciding what each event means for its worker) keeps a core busy while
//! the database writes the previous one; with one lane, each waited for the other. Every
//! worker belongs to one lane, which sees that worker's events in the log's order, so lanes
//! never touch the same worker's standing or history rows; facts and targets are appended,
//! and the counts and roll-up are summed in one shared [`Sums`]. The lanes write no
//! checkpoints: a replay is not resumed, so the load's checkpoints are written once, at the
//! end, as the positions of the last events read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use kesos_readside::Db;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domain::change::Change;
use crate::domain::plan::{Plan, Prepared};
use crate::domain::sums::Sums;
use crate::error::ProgressError;
use crate::projections::batch;
use crate::projections::dialect::{Dialect, execute_all};
use crate::projections::model::apply_summed;
use crate::projections::tables::Tables;

/// Lanes on a database that takes several writers at once (two cores' worth: one plans while
/// the other's batch is written).
const LANES: usize = 2;

/// What a load did.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Events read.
    pub(crate) events: u64,
    /// Count changes recorded.
    pub(crate) facts: u64,
    /// The counts and roll-up of every event, to be written at the end.
    pub(crate) sums: Sums,
}

/// Loads every batch `batches` delivers into `tables`, then writes the checkpoints of the last
/// events read; `progress(done, total)` is called as each batch is handed to the lanes.
pub(crate) async fn load(
    db: &Db,
    tables: &Tables,
    mut batches: mpsc::Receiver<Result<Vec<Prepared>, ProgressError>>,
    total: u64,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Loaded, ProgressError> {
    let lanes = if Dialect::of(db.backend()).concurrent_writers {
        LANES
    } else {
        1
    };
    let sums = Arc::new(Mutex::new(Sums::default()));
    let mut senders = Vec::with_capacity(lanes);
    let mut running = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (sender, parts) = mpsc::channel(1);
        senders.push(sender);
        running.push(tokio::spawn(lane(
            db.clone(),
            tables.clone(),
            parts,
            sums.clone(),
        )));
    }
    let mut loaded = Loaded::default();
    let mut checkpoints: BTreeMap<String, u64> = BTreeMap::new();
    let mut failed = None;
    'reading: while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                failed = Some(error);
                break;
            }
        };
        loaded.events += batch.len() as u64;
        for event in &batch {
            let position = checkpoints.entry(event.source.clone()).or_default();
            *position = (*position).max(event.position);
        }
        for (sender, part) in senders.iter().zip(split(batch, lanes)) {
            if !part.is_empty() && sender.send(part).await.is_err() {
                // The lane stopped on an error, which joining it reports.
                break 'reading;
            }
        }
        progress(loaded.events, total.max(loaded.events));
    }
    drop(senders);
    drop(batches);
    for lane in running {
        loaded.facts += lane
            .await
            .map_err(|e| ProgressError::ReplayTaskStopped("a load lane", e.to_string()))??;
    }
    if let Some(error) = failed {
        return Err(error);
    }
    let mut tx = db.begin().await?;
    let positions = Plan {
        checkpoints,
        ..Plan::default()
    };
    batch::write(&mut tx, tables, &positions).await?;
    tx.commit().await?;
    loaded.sums = std::mem::take(&mut *sums.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(loaded)
}

/// Plans and writes the parts it receives, each in a transaction of its own; answers the
/// count changes recorded.
async fn lane(
    db: Db,
    tables: Tables,
    mut parts: mpsc::Receiver<Vec<Prepared>>,
    sums: Arc<Mutex<Sums>>,
) -> Result<u64, ProgressError> {
    let settings: Vec<String> = Dialect::of(db.backend())
        .bulk_load
        .iter()
        .map(|setting| (*setting).to_owned())
        .collect();
    let mut facts = 0;
    while let Some(part) = parts.recv().await {
        let mut tx = db.begin_write().await?;
        execute_all(&mut tx, &settings).await?;
        let applied = apply_summed(&mut tx, &tables, part, &sums).await?;
        tx.commit().await?;
        facts += applied.facts as u64;
    }
    Ok(facts)
}

/// Splits a batch into `lanes` parts by worker, each in the batch's order. An event is the
/// worker's whose standing it changes, else whose history it joins; the rest (targets,
/// events of no worker) go to the first lane.
fn split(batch: Vec<Prepared>, lanes: usize) -> Vec<Vec<Prepared>> {
    let mut parts: Vec<Vec<Prepared>> = (0..lanes)
        .map(|_| Vec::with_capacity(batch.len() / lanes.max(1) + 1))
        .collect();
    for event in batch {
        let worker = match &event.change {
            Ok(Some(Change::Worker { worker, .. })) => Some(*worker),
            _ => event.worker,
        };
        let lane = worker.map_or(0, |worker| lane_of(worker, lanes));
        if let Some(part) = parts.get_mut(lane) {
            part.push(event);
        }
    }
    parts
}

/// The lane of a worker: the low bits of the id's random part (version 7 ids begin with the
/// time, which would send a period's workers to one lane).
fn lane_of(worker: Uuid, lanes: usize) -> usize {
    let (_, random) = worker.as_u64_pair();
    (random % lanes.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(position: u64, worker: Option<Uuid>) -> Prepared {
        Prepared {
            source: "enrollment".to_owned(),
            position,
            day: 0,
            occurred_us: 0,
            recorded_us: 0,
            worker,
            change: Ok(None),
        }
    }

    #[test]
    fn each_worker_s_events_go_to_one_lane_in_their_order_and_the_rest_to_the_first() {
        let workers: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
        let mut batch = vec![event(0, None)];
        for position in 1..=400 {
            batch.push(event(position, Some(workers[position as usize % 40])));
        }
        let parts = split(batch, 2);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 401);
        assert!(parts.iter().all(|part| !part.is_empty()), "both lanes used");
        assert_eq!(parts[0][0].position, 0, "an event of no worker goes first");
        for part in &parts {
            assert!(part.windows(2).all(|w| w[0].position < w[1].position));
        }
        for worker in &workers {
            let lanes = parts
                .iter()
                .filter(|part| part.iter().any(|e| e.worker == Some(*worker)))
                .count();
            assert_eq!(lanes, 1, "a worker in one lane");
        }
    }
}
