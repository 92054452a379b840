//! `kesos bench progress`: the regional progress model measured next to its goals, in one run
//! on PostgreSQL (a fresh schema, dropped at the end) and NATS JetStream (streams of the run's
//! own, deleted at the end):
//!
//! 1. a generated national history (default 1,000,000 workers, about ten events each) is
//!    written to the log; a plain streamed `SELECT` of the log is the raw read rate every
//!    figure is printed beside;
//! 2. `replay` builds the model from the log into fresh tables and swaps them in: events/s
//!    (goal 250,000/s) and the process's peak resident memory meanwhile (goal under 300 MB);
//!    then the write floor: the log's events over the time PostgreSQL itself takes to copy the
//!    model's rows and build its indexes, the most any replay writing these tables could reach
//!    (held to the same goal);
//! 3. the model is dropped; the relay publishes the log to JetStream, and the live projection
//!    consumes it from a durable consumer into an empty model: events/s end to end (goal
//!    50,000/s; left out with `--skip-live`), and the bound the database sets on it: the events
//!    over the time the applies spent on anything but planning (held to the same goal); the
//!    nation's figures must come out as the replay's did;
//! 4. queries on the last model built: a kabupaten/kota's progress (p50/p99, goal p99 under
//!    5 ms) and a province's progress as of a business date (p99, goal under 1 s).

mod floor;
pub(crate) mod history;
mod script;

use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use futures::TryStreamExt;
use kesos_bus::{JetStreamFeed, PullSettings, Relay, RelaySettings, StreamNames};
use kesos_progress::projections::live::{self, PULL_BATCH};
use kesos_progress::projections::tables::Tables;
use kesos_progress::{AsOf, Filter, Progress, ProgressModel, Scope, Source, day_of, replay};
use kesos_readside::Db;
use kesos_regions::{Level, Regions};
use time::macros::date;
use tokio::time::Instant;

use crate::report::{Figure, LimitKind};
use crate::target::{Target, on_fresh_postgres};
use crate::workload::{Random, unique_name};

/// Live projection goal, events/s.
pub const LIVE_GOAL: f64 = 50_000.0;
/// Replay goal, events/s.
pub const REPLAY_GOAL: f64 = 250_000.0;
/// Replay memory goal, MB of peak resident memory.
pub const MEMORY_GOAL_MB: f64 = 300.0;
/// Kabupaten/kota query goal, p99 in ms.
pub const KABKOTA_P99_GOAL_MS: f64 = 5.0;
/// Province as-of query goal, p99 in ms.
pub const AS_OF_P99_GOAL_MS: f64 = 1_000.0;
/// The source name the bench's events carry.
pub(crate) const SOURCE: &str = "bench";
/// The projection is given up on after this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(1_800);

/// What `kesos bench progress` measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressBenchOptions {
    /// The PostgreSQL server.
    pub database_url: String,
    /// The NATS server.
    pub nats_url: String,
    /// Workers in the generated history (about ten events each).
    pub workers: usize,
    /// Kabupaten/kota queries timed (the as-of province queries are a tenth of them).
    pub queries: usize,
    /// Leaves out the live projection; the queries are then timed on the replayed model.
    pub skip_live: bool,
    /// One JSON object per figure.
    pub json: bool,
}

/// Runs the phases, writes the figures and returns them.
pub async fn progress(
    options: &ProgressBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    if options.workers == 0 || options.queries == 0 {
        bail!("--workers and --queries must be at least 1");
    }
    let header = format!(
        "kesos bench progress: PostgreSQL + NATS JetStream, {} workers",
        options.workers
    );
    on_fresh_postgres(
        &options.database_url,
        header,
        options.json,
        out,
        async |target, figures, header| measure(target, options, figures, header).await,
    )
    .await
}

async fn measure(
    target: &Target,
    options: &ProgressBenchOptions,
    figures: &mut Vec<Figure>,
    header: &mut String,
) -> anyhow::Result<()> {
    let store = target.store.clone();
    let pool = target.postgres_pool("progress")?;
    let started = Instant::now();
    let events = history::write(store.clone(), options.workers).await?;
    tracing::info!(
        events,
        seconds = started.elapsed().as_secs_f64(),
        "history written"
    );
    header.push_str(&format!(", {events} events"));

    let raw = raw_read(&pool).await?;
    let raw_name = "raw read (plain SELECT of the log)";

    let sources = vec![Source::whole(SOURCE, store.clone())];
    // The replay goes first: its peak memory is then its own, not what the allocator kept of
    // the live projection's batches.
    let model = ProgressModel::open(Db::Postgres(pool.clone())).await?;
    let before = peak_reset();
    tracing::info!(resident_mb = before, "replaying");
    let started = Instant::now();
    let replayed = replay(&model, &sources, |_, _| {}).await?;
    let rate = replayed.events as f64 / started.elapsed().as_secs_f64();
    let peak = peak_mb().unwrap_or(before);
    figures.push(
        Figure::absolute(
            "replay",
            rate,
            "events/s",
            LimitKind::AtLeastValue,
            REPLAY_GOAL,
        )
        .beside(raw_name, raw),
    );
    figures.push(Figure::absolute(
        "replay, peak resident memory",
        peak,
        "MB",
        LimitKind::AtMostValue,
        MEMORY_GOAL_MB,
    ));
    let floor = floor::measure(&pool).await?;
    tracing::info!(?floor, "the model copied inside PostgreSQL");
    figures.push(
        Figure::absolute(
            "replay write floor (in-server copy)",
            floor.events_per_second(replayed.events),
            "events/s",
            LimitKind::AtLeastValue,
            REPLAY_GOAL,
        )
        .beside(raw_name, raw),
    );
    let nation = Filter::region(Scope::Nation);
    let replayed_nation = model.counts(&nation, AsOf::default()).await?;
    let model = if options.skip_live {
        model
    } else {
        // The live projection starts from an empty model.
        for statement in Tables::live().drop_statements() {
            sqlx::query(&statement).execute(&pool).await?;
        }
        let model = ProgressModel::open(Db::Postgres(pool.clone())).await?;
        let live = live_projection(&model, store.clone(), &options.nats_url).await?;
        figures.push(
            Figure::absolute(
                "live projection from JetStream",
                live.rate,
                "events/s",
                LimitKind::AtLeastValue,
                LIVE_GOAL,
            )
            .beside(raw_name, raw),
        );
        figures.push(
            Figure::absolute(
                "live bound (database time alone)",
                live.bound,
                "events/s",
                LimitKind::AtLeastValue,
                LIVE_GOAL,
            )
            .beside(raw_name, raw),
        );
        if model.counts(&nation, AsOf::default()).await? != replayed_nation {
            bail!("the live projection and the replay disagree on the nation's figures");
        }
        model
    };
    let reads = Progress::new(model.clone(), sources);
    time_queries(&reads, options.queries, figures).await?;
    tracing::info!(?replayed_nation, "the nation");
    Ok(())
}

/// Times the kabupaten/kota queries and the province as-of queries (a tenth as many).
async fn time_queries(
    reads: &Progress,
    queries: usize,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let (p50, p99) = kabkota_queries(reads, queries).await?;
    figures.push(Figure::absolute(
        &format!("kabupaten/kota progress, p50 {p50:.2} ms"),
        p99,
        "ms p99",
        LimitKind::AtMostValue,
        KABKOTA_P99_GOAL_MS,
    ));
    let as_of = province_as_of_queries(reads, (queries / 10).max(1)).await?;
    figures.push(Figure::absolute(
        "province progress as of a date",
        as_of,
        "ms p99",
        LimitKind::AtMostValue,
        AS_OF_P99_GOAL_MS,
    ));
    Ok(())
}

/// Rows/s of a plain streamed SELECT of the whole log, the read limit of this machine today.
async fn raw_read(pool: &sqlx::PgPool) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut rows = sqlx::query(
        "SELECT position, stream_id, event_type, payload, correlation_id, causation_id, actor, \
         occurred_at, recorded_at FROM kesos_events ORDER BY position",
    )
    .fetch(pool);
    let mut count = 0_u64;
    while rows.try_next().await?.is_some() {
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// The live projection's figures, events/s.
struct Live {
    /// From an empty model to the head of the log, end to end.
    rate: f64,
    /// The events over the time the applies spent on anything but planning
    /// ([`ProgressModel::time_in_database`]): the rate if the process's own work took none.
    bound: f64,
}

/// Relays the log to JetStream (untimed), then times the live projection from an empty model
/// to the head of the log.
async fn live_projection(
    model: &ProgressModel,
    store: std::sync::Arc<dyn kesos_eventstore::EventStore>,
    nats_url: &str,
) -> anyhow::Result<Live> {
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let context = jetstream::new(client);
    let name = unique_name("kesos_bench");
    let names = StreamNames::new(
        name.clone(),
        format!("{name}_events"),
        format!("{name}_dead"),
    )?;
    let measured = relay_and_project(model, store, &context, &names).await;
    for stream in [&names.events_stream, &names.dead_letter_stream] {
        if let Err(error) = context.delete_stream(stream).await {
            tracing::warn!(%error, stream, "could not delete a bench stream");
        }
    }
    measured
}

async fn relay_and_project(
    model: &ProgressModel,
    store: std::sync::Arc<dyn kesos_eventstore::EventStore>,
    context: &jetstream::Context,
    names: &StreamNames,
) -> anyhow::Result<Live> {
    let relay = Relay::new(
        store.clone(),
        context.clone(),
        names.clone(),
        RelaySettings::new(SOURCE),
    );
    relay.prepare().await?;
    let head = store.head_position().await?;
    tracing::info!(head, "relaying the log to JetStream");
    loop {
        let step = relay.step().await?;
        if step.cursor >= head {
            break;
        }
        if step.published == 0 {
            bail!("the relay stopped at position {} of {head}", step.cursor);
        }
    }
    tracing::info!("projecting from JetStream");
    let settings = PullSettings {
        batch: PULL_BATCH,
        ..PullSettings::default()
    };
    let feed = JetStreamFeed::subscribe(context.clone(), names, "bench-progress", settings).await?;
    let projector = live::projector(model).await?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let projecting = tokio::spawn(async move {
        projector
            .run(feed, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    let started = Instant::now();
    loop {
        let done = model.checkpoints().await?.get(SOURCE).copied().unwrap_or(0);
        if done >= head {
            break;
        }
        if projecting.is_finished() || started.elapsed() > GIVE_UP_AFTER {
            bail!("the projection reached only position {done} of {head}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = head as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    projecting.await??;
    let bound = head as f64 / model.time_in_database().as_secs_f64();
    Ok(Live { rate, bound })
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted.get(index).copied().unwrap_or(0.0)
}

/// Times `count` region queries, each for a region picked at random from `regions` (seeded,
/// so every run asks the same), as of `as_of` for the targets of `year`; answers the sorted
/// timings in ms.
async fn timed_queries(
    progress: &Progress,
    regions: &[Scope],
    count: usize,
    as_of: AsOf,
    year: i32,
) -> anyhow::Result<Vec<f64>> {
    let mut random = Random::seeded(7);
    let mut timings = Vec::with_capacity(count);
    for _ in 0..count {
        let scope = regions[random.below(regions.len() as u64) as usize].clone();
        let filter = Filter::region(scope);
        let started = Instant::now();
        progress.region(&filter, as_of, year).await?;
        timings.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    timings.sort_by(f64::total_cmp);
    Ok(timings)
}

async fn kabkota_queries(progress: &Progress, count: usize) -> anyhow::Result<(f64, f64)> {
    let places: Vec<Scope> = Regions::embedded()
        .iter()
        .filter(|r| r.level() == Level::KabupatenKota)
        .map(|r| Scope::KabupatenKota(r.code().as_str().to_owned()))
        .collect();
    let timings = timed_queries(progress, &places, count, AsOf::default(), 2026).await?;
    Ok((percentile(&timings, 0.5), percentile(&timings, 0.99)))
}

async fn province_as_of_queries(progress: &Progress, count: usize) -> anyhow::Result<f64> {
    let provinces: Vec<Scope> = Regions::embedded()
        .provinces()
        .iter()
        .map(|r| Scope::Province(r.code().as_str().to_owned()))
        .collect();
    let as_of = AsOf {
        day: Some(day_of(date!(2021 - 12 - 03))),
        recorded_us: None,
    };
    let timings = timed_queries(progress, &provinces, count, as_of, 2021).await?;
    Ok(percentile(&timings, 0.99))
}

/// Resets the process's peak resident memory (Linux `clear_refs` 5) and answers the current
/// resident memory in MB.
fn peak_reset() -> f64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_mb("VmRSS:").unwrap_or(0.0)
}

/// The peak resident memory since the last reset, in MB.
fn peak_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1_000.0 * 1.024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tiny_progress_bench_produces_every_figure() {
        let options = ProgressBenchOptions {
            database_url: std::env::var("KESOS_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            nats_url: std::env::var("KESOS_TEST_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
            workers: 300,
            queries: 20,
            skip_live: false,
            json: true,
        };
        let mut out = Vec::new();
        let figures = progress(&options, &mut out).await.expect("the bench runs");
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(figures.len(), 7, "{names:?}");
        assert!(figures.iter().all(|f| f.value > 0.0), "{figures:?}");
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 7);
    }
}
