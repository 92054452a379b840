//! `kesos bench store`: the event store measured next to the limit it is held to.
//!
//! Every figure is measured in the same run as its limit: plain SQL writing and reading the
//! same rows on a table of the same shape as `kesos_events`, on the same database, right
//! before or after. A limit is therefore a ratio to what the database itself does on this
//! machine today, not a number from another machine ([`LimitKind::AtLeastRatio`]); only the
//! replay rate, the relay rate and the replay's memory are absolute.
//!
//! Phases, in order: the relay (PostgreSQL with a NATS URL only), the command path next to
//! single-row INSERTs, appends of 100 events next to 100-row INSERTs, and the replay of the
//! whole log next to a plain streamed SELECT. Every phase is bounded in time
//! ([`StoreBenchOptions::duration_secs`] per rate) or in count ([`StoreBenchOptions::events`]),
//! and everything it creates (schema, file, JetStream streams) is removed at the end, also
//! when a phase fails.

mod append;
mod certification;
mod command_path;
mod counter;
mod dashboard;
mod enrollment;
mod http_load;
mod progress;
mod raw;
mod relay;
mod replay;
mod report;
mod scheduling;
mod target;
mod workload;

use std::time::Duration;

pub use certification::{CertificationBenchOptions, certification};
pub use dashboard::{DashboardBenchOptions, dashboard};
pub use enrollment::{EnrollmentBenchOptions, enrollment};
pub use progress::{ProgressBenchOptions, progress};
pub use report::{Figure, LimitKind};
pub use scheduling::{SchedulingBenchOptions, scheduling};

use crate::target::{Backend, Target};

/// Default size of the replayed log.
pub const DEFAULT_EVENTS: u64 = 1_000_000;
/// Default time each rate is measured for, in seconds.
pub const DEFAULT_DURATION_SECS: u64 = 5;

/// What `kesos bench store` measures and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreBenchOptions {
    /// Measure the embedded store (a SQLite file in a temporary directory) instead of
    /// PostgreSQL; `database_url` and `nats_url` are then unused.
    pub sqlite: bool,
    /// Write one JSON object per figure to `out` instead of aligned text.
    pub json: bool,
    /// Least number of events in the replayed log (topped up by seeding before the replay).
    pub events: u64,
    /// How long each rate is measured, in seconds (at least 1).
    pub duration_secs: u64,
    /// The PostgreSQL server; the bench works in a fresh schema there and drops it at the end.
    pub database_url: String,
    /// The NATS server for the relay figure; without it, the relay is not measured.
    pub nats_url: Option<String>,
}

impl StoreBenchOptions {
    /// PostgreSQL at `database_url`, human-readable output, default sizes, no relay.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            sqlite: false,
            json: false,
            events: DEFAULT_EVENTS,
            duration_secs: DEFAULT_DURATION_SECS,
            database_url: database_url.into(),
            nats_url: None,
        }
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs.max(1))
    }
}

/// Runs every measurement, writes the figures to `out` (aligned text, or one JSON object per
/// line with `json`) and returns them. Progress goes to `tracing`, never to `out`, so that
/// JSON output stays machine-readable.
///
/// A figure that misses its limit is not an error (see [`Figure::passed`]); an error means the
/// bench could not measure (database or NATS unreachable, a failed append). The schema,
/// temporary file and JetStream streams are removed in either case; figures measured before
/// an error are still written.
pub async fn store(
    options: &StoreBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    let target = Target::open(options).await?;
    let mut figures = Vec::new();
    let measured = measure(&target, options, &mut figures).await;
    let closed = target.close().await;
    figures.sort_by_key(report::rank);
    report::write_all(out, &figures, &report::store_header(options), options.json)?;
    measured?;
    closed?;
    Ok(figures)
}

/// The phases, in an order that keeps the relay's share of the log bounded: the relay runs
/// first, over exactly the events seeded for it. Figures are sorted for output afterwards.
async fn measure(
    target: &Target,
    options: &StoreBenchOptions,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let duration = options.duration();
    let store = target.store.clone();
    target.raw.create_table().await?;

    match (&target.backend, &options.nats_url) {
        (Backend::Postgres, Some(url)) => {
            let count = options
                .events
                .min(relay::EVENTS_PER_SECOND * options.duration_secs.max(1));
            append::seed(&store, count).await?;
            figures.push(relay::measure(store.clone(), url).await?);
        }
        (Backend::Postgres, None) => {
            tracing::warn!("no NATS URL given: the relay is not measured");
        }
        (Backend::Sqlite, _) => {}
    }

    tracing::info!("raw single-row INSERT, 4 tasks, {} s", duration.as_secs());
    let raw_insert = target
        .raw
        .insert_rate(command_path::TASKS, 1, duration)
        .await?;
    tracing::info!("command path, 4 tasks, {} s", duration.as_secs());
    let commands = command_path::measure(store.clone(), duration).await?;
    figures.push(Figure::ratio(
        report::COMMAND_PATH,
        commands,
        "commands/s",
        ("raw INSERT, 4 tasks", raw_insert),
        command_path::LIMIT,
    ));

    let rows = append::EVENTS_PER_APPEND;
    tracing::info!("raw {rows}-row INSERT, {} s", duration.as_secs());
    let raw_batch = target.raw.insert_rate(1, rows, duration).await?;
    tracing::info!(
        "append, {rows} events per transaction, {} s",
        duration.as_secs()
    );
    let appended = append::measure(&store, duration).await?;
    figures.push(Figure::ratio(
        report::APPEND,
        appended,
        "events/s",
        ("raw 100-row INSERT", raw_batch),
        append::LIMIT,
    ));

    append::seed(&store, options.events).await?;
    let replayed = replay::measure(&store, &target.raw).await?;
    figures.extend(replayed.figures());
    Ok(())
}

#[cfg(test)]
mod tests;
