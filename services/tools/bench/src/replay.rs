//! The replay of the whole log: the store's `read_all` next to a plain streamed SELECT of the
//! same rows, and the memory the replay takes (it must stay flat: streamed, never collected).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use futures::TryStreamExt;
use kesos_eventstore::{AsOf, EventStore};
use tokio::time::Instant;

use crate::raw::Raw;
use crate::report::{Figure, LimitKind, REPLAY, REPLAY_MEMORY, REPLAY_RATE};

/// The replay must reach this share of the plain SELECT's rate.
const RATIO_LIMIT: f64 = 0.8;
/// ... and this absolute rate (events/s), which a 2-core machine meets.
const RATE_LIMIT: f64 = 300_000.0;
/// Most the resident set may grow while replaying, in MiB. A million-event log is about
/// 450 MiB of rows, so a replay that collected would exceed it by far; a streamed one holds a
/// few buffers of rows whatever the log's size.
const MEMORY_LIMIT_MIB: f64 = 64.0;
/// Each side is timed this many times, alternately; the best run counts, so that a cold
/// cache or a neighbour's burst hurts neither side alone.
const ROUNDS: usize = 2;
/// Events between two samples of the resident set.
const SAMPLE_EVERY: u64 = 16_384;

/// Checks that positions arrive in order without a gap (the store hands out consecutive
/// positions, so a missing number would be a skipped event) and counts them.
#[derive(Debug, Default)]
pub(crate) struct Sequence {
    last: u64,
    count: u64,
}

impl Sequence {
    /// Accepts the next position, or fails when it is not the one after the last.
    pub(crate) fn check(&mut self, position: u64) -> anyhow::Result<()> {
        if position != self.last + 1 {
            bail!("the replay went from position {} to {position}", self.last);
        }
        self.last = position;
        self.count += 1;
        Ok(())
    }

    /// Positions accepted so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// One pass over the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// Events (rows) read.
    pub(crate) events: u64,
    /// Events per second.
    pub(crate) rate: f64,
}

impl Scan {
    /// A pass of `events` that took `elapsed`.
    pub(crate) fn new(events: u64, elapsed: Duration) -> Self {
        Self {
            events,
            rate: events as f64 / elapsed.as_secs_f64(),
        }
    }
}

/// What the replay phase measured.
pub(crate) struct Replayed {
    store: f64,
    plain: f64,
    growth_mib: Option<f64>,
}

impl Replayed {
    /// The ratio, rate and memory figures.
    pub(crate) fn figures(&self) -> Vec<Figure> {
        let mut figures = vec![
            Figure::ratio(
                REPLAY,
                self.store,
                "events/s",
                ("raw SELECT", self.plain),
                RATIO_LIMIT,
            ),
            Figure::absolute(
                REPLAY_RATE,
                self.store,
                "events/s",
                LimitKind::AtLeastValue,
                RATE_LIMIT,
            ),
        ];
        if let Some(growth) = self.growth_mib {
            figures.push(Figure::absolute(
                REPLAY_MEMORY,
                growth,
                "MiB",
                LimitKind::AtMostValue,
                MEMORY_LIMIT_MIB,
            ));
        }
        figures
    }
}

/// Replays the whole log with plain SQL and with the store, [`ROUNDS`] times each.
pub(crate) async fn measure(store: &Arc<dyn EventStore>, raw: &Raw) -> anyhow::Result<Replayed> {
    let head = store.head_position().await?;
    tracing::info!("replaying {head} events, plain SELECT and read_all, {ROUNDS} times each");
    let mut replayed = Replayed {
        store: 0.0,
        plain: 0.0,
        growth_mib: None,
    };
    for _ in 0..ROUNDS {
        let plain = raw.select_all().await?;
        expect_whole_log(plain, head)?;
        replayed.plain = replayed.plain.max(plain.rate);

        let (scan, growth) = replay_store(store.as_ref()).await?;
        expect_whole_log(scan, head)?;
        replayed.store = replayed.store.max(scan.rate);
        replayed.growth_mib = match (replayed.growth_mib, growth) {
            (Some(before), Some(now)) => Some(before.max(now)),
            (before, now) => before.or(now),
        };
    }
    if replayed.growth_mib.is_none() {
        tracing::warn!("no /proc/self/status here: the replay's memory is not measured");
    }
    Ok(replayed)
}

fn expect_whole_log(scan: Scan, head: u64) -> anyhow::Result<()> {
    if scan.events != head {
        bail!("the replay read {} events of {head}", scan.events);
    }
    Ok(())
}

/// One `read_all` pass, and the resident set's peak growth during it in MiB.
async fn replay_store(store: &dyn EventStore) -> anyhow::Result<(Scan, Option<f64>)> {
    let before = resident_kib("VmRSS");
    let peak_reset = reset_peak();
    let mut sampled_peak = before;
    let start = Instant::now();
    let mut sequence = Sequence::default();
    let mut events = store.read_all(0, AsOf::Now);
    while let Some(event) = events.try_next().await? {
        sequence.check(event.position)?;
        std::hint::black_box(&event);
        if sequence.count() % SAMPLE_EVERY == 0 {
            sampled_peak = sampled_peak.max(resident_kib("VmRSS"));
        }
    }
    let scan = Scan::new(sequence.count(), start.elapsed());
    drop(events);
    let peak = if peak_reset {
        sampled_peak.max(resident_kib("VmHWM"))
    } else {
        sampled_peak
    };
    let growth = match (before, peak) {
        (Some(before), Some(peak)) => Some(peak.saturating_sub(before) as f64 / 1024.0),
        _ => None,
    };
    Ok((scan, growth))
}

/// A `Vm*` line of `/proc/self/status`, in KiB; `None` where there is no procfs.
fn resident_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resets the process's peak resident set (`VmHWM`) to its current size, so that the peak
/// read afterwards belongs to the replay (Linux 4.0 and later).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_or_repeated_position_fails_the_sequence() {
        let mut sequence = Sequence::default();
        assert!(sequence.check(1).is_ok());
        assert!(sequence.check(2).is_ok());
        assert!(sequence.check(4).is_err());
        assert!(sequence.check(2).is_err());
        assert_eq!(sequence.count(), 2);
    }

    #[test]
    fn the_resident_set_is_read_where_procfs_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(resident_kib("VmRSS").is_some_and(|kib| kib > 0));
        }
    }
}
