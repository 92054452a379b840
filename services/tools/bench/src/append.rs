//! Batch appends: one writer appending 100 events per call, measured next to 100-row INSERTs;
//! and the seeding that fills the log for the relay and the replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kesos_eventstore::{EventStore, ExpectedVersion, InputError, NewEvent, StreamId};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::workload::{Random, measured_event, per_second};

/// Events per append, and rows per baseline INSERT.
pub(crate) const EVENTS_PER_APPEND: usize = 100;

/// The batch append must reach this share of the plain 100-row INSERT rate: per event it
/// also checks the version, chains a hash and moves the log head.
pub(crate) const LIMIT: f64 = 0.6;

/// Streams the appender (and each seeding task) writes to in turn.
const STREAMS: usize = 1000;

/// Concurrent seeding tasks; their appends share commits.
const SEED_TASKS: u64 = 4;

/// Seeding progress is logged every this many events.
const PROGRESS_EVERY: u64 = 100_000;

fn streams(family: &str) -> Result<Vec<StreamId>, InputError> {
    (0..STREAMS)
        .map(|i| StreamId::parse(format!("{family}-{i}")))
        .collect()
}

fn batch(random: &mut Random, count: usize) -> Result<Vec<NewEvent>, InputError> {
    (0..count).map(|_| measured_event(random)).collect()
}

/// Events per second that one task appends for `duration`, [`EVENTS_PER_APPEND`] per append,
/// each append checked against the stream's expected version.
///
/// One task, so that each append is its own transaction, as each baseline INSERT is; with
/// concurrent appenders, group commit would merge them into larger ones.
pub(crate) async fn measure(
    store: &Arc<dyn EventStore>,
    duration: Duration,
) -> anyhow::Result<f64> {
    per_second(1, duration, |_, deadline| {
        let store = store.clone();
        async move {
            // Fresh streams on every call, so that the version each append expects is known.
            let streams = streams(&format!("append-{}", Uuid::new_v4().simple()))?;
            let mut versions = vec![0_u64; STREAMS];
            let mut random = Random::new();
            let mut appended = 0_u64;
            let mut turn = 0;
            while Instant::now() < deadline {
                let (stream, version) = (&streams[turn], &mut versions[turn]);
                turn = (turn + 1) % STREAMS;
                let expected = match *version {
                    0 => ExpectedVersion::NoStream,
                    version => ExpectedVersion::Exactly(version),
                };
                let events = batch(&mut random, EVENTS_PER_APPEND)?;
                *version = store.append(stream, expected, events).await?.stream_version;
                appended += EVENTS_PER_APPEND as u64;
            }
            Ok(appended)
        }
    })
    .await
}

/// Appends events until the log holds at least `events`: [`SEED_TASKS`] tasks appending
/// [`EVENTS_PER_APPEND`] at a time, through the store (so the log is a real one: chained,
/// with stream heads).
pub(crate) async fn seed(store: &Arc<dyn EventStore>, events: u64) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    let missing = events.saturating_sub(head);
    if missing == 0 {
        return Ok(());
    }
    tracing::info!("seeding {missing} events…");
    let remaining = Arc::new(AtomicU64::new(missing));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for task in 0..SEED_TASKS {
        let (store, remaining, done) = (store.clone(), remaining.clone(), done.clone());
        tasks.spawn(async move {
            let streams = streams(&format!("seed-{task}"))?;
            let mut random = Random::new();
            for stream in streams.iter().cycle() {
                let count = claim(&remaining, EVENTS_PER_APPEND as u64);
                if count == 0 {
                    break;
                }
                let events = batch(&mut random, usize::try_from(count)?)?;
                store.append(stream, ExpectedVersion::Any, events).await?;
                let before = done.fetch_add(count, Ordering::Relaxed);
                if (before + count) / PROGRESS_EVERY > before / PROGRESS_EVERY {
                    tracing::info!("seeded {} of {missing} events", before + count);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(finished) = tasks.join_next().await {
        finished??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    tracing::info!(
        "seeded {missing} events in {elapsed:.1} s ({:.0} events/s)",
        missing as f64 / elapsed
    );
    Ok(())
}

/// Takes up to `most` of the remaining events; 0 when none remain.
fn claim(remaining: &AtomicU64, most: u64) -> u64 {
    match remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        (left > 0).then(|| left - left.min(most))
    }) {
        Ok(left) => left.min(most),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_take_whole_batches_then_the_rest_then_nothing() {
        let remaining = AtomicU64::new(250);
        assert_eq!(claim(&remaining, 100), 100);
        assert_eq!(claim(&remaining, 100), 100);
        assert_eq!(claim(&remaining, 100), 50);
        assert_eq!(claim(&remaining, 100), 0);
    }
}
