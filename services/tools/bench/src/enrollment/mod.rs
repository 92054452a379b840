//! `kesos bench enrollment`: the enrollment service measured next to its limits, in one run
//! on PostgreSQL (a fresh schema, dropped at the end) and NATS JetStream (streams of the
//! run's own, deleted at the end):
//!
//! 1. the foundation's batched append (100 events per transaction), the import's yardstick;
//! 2. importing N generated workers from CSV end to end — validation, encryption, events, the
//!    worker directory (the import answers once it lists every worker) and the relay to
//!    JetStream — in workers/s (limit 10,000, goal 20,000);
//! 3. registering over HTTP at a fixed rate (default 500/s for 20 s): p50 and p99 latency
//!    (goal: p99 under 10 ms), measured open-loop; each answer waits for the directory too.

mod workers;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use kesos_bus::{Relay, RelaySettings, Stalls, StreamNames};
use kesos_enrollment::domain::SchemeCatalog;
use kesos_enrollment::service::Enrollment;
use kesos_eventstore::EventStore;
use kesos_readside::Db;
use kesos_vault::{MasterKey, Vault};
use tokio::time::Instant;

use crate::http_load::{self, Request};
use crate::report::{Figure, LimitKind};
use crate::target::Target;
use crate::workload::unique_name;
use crate::{StoreBenchOptions, append};

/// The import must register at least this many workers per second, end to end.
pub const IMPORT_LIMIT: f64 = 10_000.0;
/// The import's goal.
pub const IMPORT_GOAL: f64 = 20_000.0;
/// The HTTP registration's p99 goal, in milliseconds.
pub const P99_GOAL_MS: f64 = 10.0;
/// Service name of the relayed events (`<prefix>.enrollment.>`).
const SERVICE: &str = "enrollment";

/// What `kesos bench enrollment` measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentBenchOptions {
    /// The PostgreSQL server.
    pub database_url: String,
    /// The NATS server.
    pub nats_url: String,
    /// Workers in the generated import file.
    pub workers: usize,
    /// HTTP registrations per second.
    pub rate: u32,
    /// Seconds the HTTP load lasts.
    pub seconds: u64,
    /// Seconds the batched-append yardstick is measured for.
    pub append_seconds: u64,
    /// One JSON object per figure.
    pub json: bool,
}

/// Runs the three phases, writes the figures and returns them.
pub async fn enrollment(
    options: &EnrollmentBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    let store_options = StoreBenchOptions::new(options.database_url.clone());
    let target = Target::open(&store_options).await?;
    let mut figures = Vec::new();
    let measured = measure(&target, options, &mut figures).await;
    let closed = target.close().await;
    let header = format!(
        "kesos bench enrollment: PostgreSQL + NATS JetStream, import of {} workers, HTTP at {}/s for {} s",
        options.workers, options.rate, options.seconds
    );
    crate::report::write_all(out, &figures, &header, options.json)?;
    measured?;
    closed?;
    Ok(figures)
}

async fn measure(
    target: &Target,
    options: &EnrollmentBenchOptions,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let store = target.store.clone();
    tracing::info!("batched append, {} s", options.append_seconds);
    let appended =
        append::measure(&store, Duration::from_secs(options.append_seconds.max(1))).await?;

    let pool = match &target.raw {
        crate::raw::Raw::Postgres(pool) => pool.clone(),
        crate::raw::Raw::Sqlite { .. } => bail!("the enrollment bench runs on PostgreSQL"),
    };
    let vault = Vault::open(pool.clone(), MasterKey::generate(), Vec::new()).await?;
    let catalog = SchemeCatalog::shipped()?;
    let db = Db::Postgres(pool);
    let enrollment = Enrollment::build(store.clone(), vault, catalog, db, Stalls::new()).await?;
    // The append measurement left its rows in this log; a service in steady state has its
    // directory caught up before an import starts, so the import's clock starts there too.
    enrollment
        .projector()
        .wait_for_head(
            store.as_ref(),
            kesos_enrollment::service::LOG,
            Duration::from_secs(600),
        )
        .await?;

    let generator = workers::Generator::new();
    let file = workers::csv(&generator, options.workers);
    let (rate, stored) = import_and_relay(&enrollment, &store, &file, &options.nats_url).await?;
    if stored != options.workers {
        bail!(
            "the import registered {stored} of {} workers",
            options.workers
        );
    }
    let name = format!("import {} workers, end to end", options.workers);
    for (label, limit) in [
        (name.as_str(), IMPORT_LIMIT),
        ("import, against the goal", IMPORT_GOAL),
    ] {
        figures.push(Figure {
            name: label.to_owned(),
            value: rate,
            unit: "workers/s".to_owned(),
            limit,
            limit_kind: LimitKind::AtLeastValue,
            baseline_name: Some("append 100/tx".to_owned()),
            baseline: Some(appended),
            ratio: Some(rate / appended),
            passed: rate >= limit,
        });
    }

    figures.extend(http_registration(&enrollment, &generator, options).await?);
    Ok(())
}

/// Imports the file while the relay runs; answers workers/s from the start of the import
/// until the relay has published the last event, and how many workers were registered.
async fn import_and_relay(
    enrollment: &Enrollment,
    store: &Arc<dyn EventStore>,
    file: &[u8],
    nats_url: &str,
) -> anyhow::Result<(f64, usize)> {
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let context = jetstream::new(client);
    let prefix = unique_name("kesos_bench");
    let names = StreamNames::new(
        prefix.clone(),
        format!("{prefix}_events"),
        format!("{prefix}_dead"),
    )?;
    let relay = Relay::new(
        store.clone(),
        context.clone(),
        names.clone(),
        RelaySettings::new(SERVICE),
    );
    relay.prepare().await?;
    let before = store.head_position().await?;
    let cursor = format!("relay:{SERVICE}");
    store.save_cursor(&cursor, before).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relaying = tokio::spawn(async move {
        relay
            .run(async move {
                let _ = stopped.await;
            })
            .await
    });
    // The importer reads on a blocking thread and takes owned bytes; copied before the clock.
    let file = file.to_vec();
    let started = Instant::now();
    let imported = enrollment
        .import_workers(
            file,
            "system:bench",
            time::OffsetDateTime::now_utc().date(),
            |done, total| {
                if done % 20_000 < 1_000 || done == total {
                    tracing::info!("imported {done}/{total}");
                }
            },
        )
        .await;
    let outcome = async {
        let report = imported?;
        let head = store.head_position().await?;
        let deadline = Instant::now() + Duration::from_secs(600);
        while store.cursor(&cursor).await? < head {
            if Instant::now() > deadline {
                bail!("the relay did not reach the head within 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        tracing::info!(head, elapsed, "imported and relayed");
        anyhow::Ok((report.stored as f64 / elapsed, report.stored))
    }
    .await;
    let _ = stop.send(());
    let _ = relaying.await;
    for stream in [&names.events_stream, &names.dead_letter_stream] {
        if let Err(error) = context.delete_stream(stream).await {
            tracing::warn!(%error, stream, "could not delete a bench stream");
        }
    }
    outcome
}

async fn http_registration(
    enrollment: &Enrollment,
    generator: &workers::Generator,
    options: &EnrollmentBenchOptions,
) -> anyhow::Result<Vec<Figure>> {
    // The routes behind a real access gate, called with a central-operations token, as kesos
    // serves them.
    let (gate, token) = http_load::bench_gate();
    let server = http_load::Server::start(
        kesos_enrollment::http::router(enrollment.clone()).layer(gate.layer()),
    )
    .await?;
    let address = server.address;
    let total = usize::try_from(u64::from(options.rate) * options.seconds).unwrap_or(usize::MAX);
    let bodies: Vec<Vec<u8>> = (0..total)
        .map(|index| serde_json::to_vec(&workers::body(generator, index)))
        .collect::<Result<_, _>>()?;
    tracing::info!(
        rate = options.rate,
        seconds = options.seconds,
        "registering over HTTP"
    );
    let load = http_load::at_fixed_rate_as(address, Some(&token), options.rate, total, 32, |i| {
        Request {
            path: "/v1/workers".to_owned(),
            body: Some(bodies.get(i).cloned().unwrap_or_default()),
        }
    })
    .await;
    server.stop().await;
    let load = load?;
    Ok(load.figures(
        "registered over HTTP",
        "register over HTTP",
        options.rate,
        P99_GOAL_MS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tiny_enrollment_bench_registers_over_http_through_the_access_gate() {
        let options = EnrollmentBenchOptions {
            database_url: std::env::var("KESOS_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            nats_url: std::env::var("KESOS_TEST_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
            workers: 200,
            rate: 20,
            seconds: 1,
            append_seconds: 1,
            json: true,
        };
        let mut out = Vec::new();
        let figures = enrollment(&options, &mut out)
            .await
            .expect("the bench runs");
        let http = figures
            .iter()
            .find(|f| f.name.starts_with("registered over HTTP"))
            .expect("an HTTP figure");
        assert!(http.name.ends_with(", 0 failed)"), "{}", http.name);
    }
}
