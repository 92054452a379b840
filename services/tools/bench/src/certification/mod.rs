//! `kesos bench certification`: the certification service measured next to its goals, in one
//! run on PostgreSQL (a fresh schema, dropped at the end) and NATS JetStream (streams of the
//! run's own, deleted at the end, also on failure):
//!
//! 1. the foundation's batched append (100 events per transaction), as the yardstick;
//! 2. issuing N certificates (default 50,000) from Kompeten decisions published on
//!    JetStream, consumed by the certification consumer (`Intake` in `kesos_bus::Consumer`s
//!    over `JetStreamFeed`s): certificates/s from the consumers' start to the last issued
//!    (goal 10,000/s). The decisions are spread over partition subjects
//!    (`…AssessmentDecided.p<k>`, as region tokens would), one durable consumer each,
//!    handling batches (`Intake::BATCH`). The registry read model is not on the issuance
//!    path: its projector follows the log beside it, and how long it takes to reach the log's
//!    head once the last certificate is issued is logged;
//! 3. public verification by number at a fixed rate (default 2,000/s for 20 s), open-loop:
//!    p50 and p99 (goal: p99 under 5 ms).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use kesos_bus::{Consumer, Handler, JetStreamFeed, PullSettings, StreamNames};
use kesos_certification::credential::SigningKey;
use kesos_certification::domain::{CertificateId, SchemeRef};
use kesos_certification::projections::LOG;
use kesos_certification::reference::Reference;
use kesos_certification::service::{Certification, Parts};
use kesos_certification::wire;
use kesos_eventstore::{EventStore, EventType, Metadata, RecordedEvent, StreamId};
use kesos_readside::Db;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::http_load::{self, Request};
use crate::report::{Figure, LimitKind};
use crate::target::Target;
use crate::workload::unique_name;
use crate::{StoreBenchOptions, append};

/// The issuance goal, certificates/s.
pub const ISSUE_GOAL: f64 = 10_000.0;
/// The verification p99 goal, in milliseconds.
pub const P99_GOAL_MS: f64 = 5.0;
/// Holders whose names are registered (and whose certificates are verified in phase 3).
const HOLDERS: usize = 5_000;
/// Longest the issuance may take before the bench gives up.
const ISSUE_DEADLINE: Duration = Duration::from_secs(900);
/// Longest the registry may take to reach the log's head after the issuance.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(900);

/// What `kesos bench certification` measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationBenchOptions {
    /// The PostgreSQL server.
    pub database_url: String,
    /// The NATS server.
    pub nats_url: String,
    /// Kompeten decisions to issue certificates from.
    pub decisions: usize,
    /// Partitions, one durable consumer each.
    pub consumers: usize,
    /// Verifications per second.
    pub rate: u32,
    /// Seconds the verification load lasts.
    pub seconds: u64,
    /// Seconds the batched-append yardstick is measured for.
    pub append_seconds: u64,
    /// One JSON object per figure.
    pub json: bool,
}

impl CertificationBenchOptions {
    /// The defaults of the issue: 50,000 decisions, 2,000 verifications/s for 20 s.
    pub fn new(database_url: impl Into<String>, nats_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            nats_url: nats_url.into(),
            decisions: 50_000,
            consumers: 8,
            rate: 2_000,
            seconds: 20,
            append_seconds: 2,
            json: false,
        }
    }
}

/// Runs the three phases, writes the figures and returns them.
pub async fn certification(
    options: &CertificationBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    let store_options = StoreBenchOptions::new(options.database_url.clone());
    let target = Target::open(&store_options).await?;
    let mut figures = Vec::new();
    let measured = measure(&target, options, &mut figures).await;
    let closed = target.close().await;
    let header = format!(
        "kesos bench certification: PostgreSQL + NATS JetStream, {} decisions over {} consumers, verification at {}/s for {} s",
        options.decisions, options.consumers, options.rate, options.seconds
    );
    crate::report::write_all(out, &figures, &header, options.json)?;
    measured?;
    closed?;
    Ok(figures)
}

fn signing_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    SigningKey::from_bytes(&bytes)
}

async fn measure(
    target: &Target,
    options: &CertificationBenchOptions,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let store = target.store.clone();
    tracing::info!("batched append, {} s", options.append_seconds);
    let appended =
        append::measure(&store, Duration::from_secs(options.append_seconds.max(1))).await?;
    let pool = match &target.raw {
        crate::raw::Raw::Postgres(pool) => pool.clone(),
        crate::raw::Raw::Sqlite { .. } => bail!("the certification bench runs on PostgreSQL"),
    };
    kesos_bus::bookkeeping::migrate_consumers(&Db::Postgres(pool.clone())).await?;
    let certification = Certification::build(Parts {
        store: store.clone(),
        db: Db::Postgres(pool.clone()),
        identities: Arc::new(GeneratedNames),
        reference: Reference::shipped()?,
        signing_key: signing_key(),
        base_url: "https://kesos.bench".to_owned(),
        stalls: kesos_bus::Stalls::new(),
    })
    .await?;
    let workers: Vec<Uuid> = (0..options.decisions).map(|_| Uuid::now_v7()).collect();
    register_holders(
        &certification,
        &pool,
        &workers[..workers.len().min(HOLDERS)],
    )
    .await?;
    let decisions: Vec<RecordedEvent> = workers
        .iter()
        .enumerate()
        .map(|(i, worker)| decision(i, *worker))
        .collect::<anyhow::Result<_>>()?;

    let before = store.head_position().await?;
    let rate = issue_over_jetstream(&certification, &store, &pool, &decisions, options).await?;
    let issued = store.head_position().await? - before;
    figures.push(Figure {
        name: format!("issue {} certificates from JetStream", options.decisions),
        value: rate,
        unit: "certificates/s".to_owned(),
        limit: ISSUE_GOAL,
        limit_kind: LimitKind::AtLeastValue,
        baseline_name: Some("append 100/tx".to_owned()),
        baseline: Some(appended),
        ratio: Some(rate / appended),
        passed: rate >= ISSUE_GOAL,
    });
    if usize::try_from(issued).unwrap_or(0) != options.decisions {
        bail!(
            "{issued} certificates were issued from {} decisions",
            options.decisions
        );
    }

    // Issuance does not wait for the registry (its projector follows the log beside it); say
    // how far behind it was when the last certificate was issued, so the figure above hides
    // nothing.
    let catching_up = Instant::now();
    certification
        .projector()
        .wait_for_head(&*store, LOG, CATCH_UP_DEADLINE)
        .await?;
    tracing::info!(
        seconds = catching_up.elapsed().as_secs_f64(),
        "the registry caught up with the issued certificates"
    );
    let mut numbers = Vec::new();
    for event in decisions.iter().take(HOLDERS) {
        let view = certification
            .view(CertificateId::for_decision(event.event_id))
            .await?;
        numbers.push(view.number);
    }
    figures.extend(verification(&certification, &numbers, options).await?);
    Ok(())
}

/// Enrollment's answer in the bench: every worker has a name derived from their id (the
/// lookup is a call, as in one kesos process).
struct GeneratedNames;

#[async_trait::async_trait]
impl kesos_bus::Identities for GeneratedNames {
    async fn identities(
        &self,
        workers: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, kesos_bus::Identity>, String> {
        Ok(workers
            .iter()
            .map(|worker| {
                let full_name = format!("Pekerja Sosial {}", &worker.simple().to_string()[24..]);
                let nik = "3277010101900001".to_owned();
                (*worker, kesos_bus::Identity { full_name, nik })
            })
            .collect())
    }
}

/// Hands enrollment's `WorkerRegistered` of each holder to the consumer's handler as the
/// consumer does (its masks asked of [`GeneratedNames`] first, then its transaction), so
/// verification shows real masks.
async fn register_holders(
    certification: &Certification,
    pool: &sqlx::PgPool,
    workers: &[Uuid],
) -> anyhow::Result<()> {
    use kesos_proto::kesos::enrollment::v1 as enrollment;
    use kesos_proto::prost::Message;
    let intake = certification.intake();
    for chunk in workers.chunks(1_000) {
        let mut registered = Vec::with_capacity(chunk.len());
        for worker in chunk {
            let payload = enrollment::WorkerRegistered {
                worker_id: worker.to_string(),
                ..Default::default()
            }
            .encode_to_vec();
            registered.push(kesos_bus::Delivered {
                source: "enrollment".to_owned(),
                event: recorded(wire::WORKER_REGISTERED, 1, payload)?,
            });
        }
        let batch: Vec<&kesos_bus::Delivered> = registered.iter().collect();
        Handler::act_batch(&intake, &batch)
            .await
            .map_err(|e| anyhow::anyhow!("registering holders: {e}"))?;
        let mut tx = Db::Postgres(pool.clone()).begin().await?;
        Handler::handle_batch(&intake, &mut tx, &batch)
            .await
            .map_err(|e| anyhow::anyhow!("registering holders: {e}"))?;
        tx.commit().await?;
    }
    Ok(())
}

fn recorded(event_type: &str, position: u64, payload: Vec<u8>) -> anyhow::Result<RecordedEvent> {
    let event_id = Uuid::now_v7();
    let now = OffsetDateTime::now_utc();
    Ok(RecordedEvent {
        position,
        stream_id: StreamId::parse(format!("bench-{event_id}"))?,
        stream_version: 1,
        event_id,
        event_type: EventType::parse(event_type)?,
        schema_version: 1,
        payload,
        metadata: Metadata {
            correlation_id: "bench:certification".to_owned(),
            causation_id: event_id.to_string(),
            actor: "system:bench".to_owned(),
            trace_parent: String::new(),
        },
        occurred_at: now,
        recorded_at: now,
        hash: [0; 32],
    })
}

const SCHEMES: [&str; 8] = [
    "PEKSOS-ASISTEN",
    "PEKSOS-GENERALIS",
    "PEKSOS-SPESIALIS",
    "TKS-ASISTEN",
    "TKS-GENERALIS",
    "TKS-SPESIALIS",
    "PENYULUH-SOSIAL",
    "RELAWAN-SOSIAL",
];

fn decision(index: usize, worker: Uuid) -> anyhow::Result<RecordedEvent> {
    let code = SCHEMES[index % SCHEMES.len()];
    let (category, level) = code.split_once('-').unwrap_or((code, ""));
    let scheme = SchemeRef {
        code: code.to_owned(),
        category: category.to_owned(),
        level: level.to_owned(),
    };
    let payload = wire::assessment_decided(
        worker,
        &scheme,
        true,
        OffsetDateTime::now_utc(),
        "LSPS-PEKSOS",
        Some("32.77"),
    );
    recorded(wire::ASSESSMENT_DECIDED, u64::try_from(index + 1)?, payload)
}

/// Publishes the decisions over the partitions, then consumes them; answers certificates/s
/// from the consumers' start until the store holds one certificate per decision. Deletes the
/// run's streams whatever happens.
async fn issue_over_jetstream(
    certification: &Certification,
    store: &Arc<dyn EventStore>,
    pool: &sqlx::PgPool,
    decisions: &[RecordedEvent],
    options: &CertificationBenchOptions,
) -> anyhow::Result<f64> {
    let client = async_nats::connect(&options.nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {}", options.nats_url))?;
    let context = jetstream::new(client);
    let prefix = unique_name("kesos_bench_cert");
    let names = StreamNames::new(
        prefix.clone(),
        format!("{prefix}_events"),
        format!("{prefix}_dead"),
    )?;
    let outcome = publish_and_consume(
        certification,
        store,
        pool,
        decisions,
        options,
        &context,
        &names,
    )
    .await;
    for stream in [&names.events_stream, &names.dead_letter_stream] {
        if let Err(error) = context.delete_stream(stream).await {
            tracing::warn!(%error, stream, "could not delete a bench stream");
        }
    }
    outcome
}

async fn publish_and_consume(
    certification: &Certification,
    store: &Arc<dyn EventStore>,
    pool: &sqlx::PgPool,
    decisions: &[RecordedEvent],
    options: &CertificationBenchOptions,
    context: &jetstream::Context,
    names: &StreamNames,
) -> anyhow::Result<f64> {
    names.ensure(context).await?;
    let partitions = options.consumers.max(1);
    let subject = names.subject_for(wire::ASSESSMENT_DECIDED);
    tracing::info!(decisions = decisions.len(), "publishing decisions");
    for chunk in decisions
        .chunks(1_000)
        .enumerate()
        .map(|(c, chunk)| (c * 1_000, chunk))
    {
        let (offset, events) = chunk;
        let mut acks = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let payload = kesos_bus::envelope::encode("scheduling", event);
            let partition = format!("{subject}.p{}", (offset + i) % partitions);
            acks.push(context.publish(partition, payload.into()).await?);
        }
        for ack in acks {
            ack.await?;
        }
    }
    let before = store.head_position().await?;
    let target = before + u64::try_from(decisions.len())?;
    let mut running = Vec::new();
    for partition in 0..partitions {
        let durable = format!("bench_cert_{partition}");
        let settings = PullSettings {
            filter_subject: Some(format!("{subject}.p{partition}")),
            ack_wait: Duration::from_secs(60),
            batch: 500,
        };
        let feed = JetStreamFeed::subscribe(context.clone(), names, &durable, settings).await?;
        let consumer = Consumer::new(durable, pool.clone(), Arc::new(certification.intake()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            consumer
                .run(feed, async move {
                    let _ = stopped.await;
                })
                .await
        });
        running.push((stop, task));
    }
    let started = Instant::now();
    let deadline = started + ISSUE_DEADLINE;
    let mut last_log = started;
    let reached = loop {
        let head = store.head_position().await?;
        if head >= target {
            break Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "issuance did not finish within {} s",
                ISSUE_DEADLINE.as_secs()
            ));
        }
        if last_log.elapsed() > Duration::from_secs(5) {
            tracing::info!("issued {}/{}", head - before, decisions.len());
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    for (stop, task) in running {
        let _ = stop.send(());
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "a bench consumer failed"),
            Err(error) => tracing::warn!(%error, "a bench consumer task failed"),
        }
    }
    let elapsed = reached?;
    Ok(decisions.len() as f64 / elapsed.as_secs_f64())
}

async fn verification(
    certification: &Certification,
    numbers: &[String],
    options: &CertificationBenchOptions,
) -> anyhow::Result<Vec<Figure>> {
    if numbers.is_empty() {
        bail!("no certificate to verify");
    }
    let server =
        http_load::Server::start(kesos_certification::http::router(certification.clone())).await?;
    let address = server.address;
    let total = usize::try_from(u64::from(options.rate) * options.seconds).unwrap_or(usize::MAX);
    tracing::info!(
        rate = options.rate,
        seconds = options.seconds,
        "verifying over HTTP"
    );
    let load = http_load::at_fixed_rate(address, options.rate, total, 32, |i| Request {
        path: format!("/v1/verify/{}", numbers[i % numbers.len()]),
        body: None,
    })
    .await;
    server.stop().await;
    let load = load?;
    Ok(load.figures(
        "verified over HTTP",
        "verify by number",
        options.rate,
        P99_GOAL_MS,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn options(decisions: usize, rate: u32, seconds: u64) -> CertificationBenchOptions {
        CertificationBenchOptions {
            decisions,
            rate,
            seconds,
            append_seconds: 1,
            ..CertificationBenchOptions::new(
                std::env::var("KESOS_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
                std::env::var("KESOS_TEST_NATS_URL")
                    .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
            )
        }
    }

    /// Timing is never asserted (shared, noisy machines): only that every figure is produced.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_tiny_certification_bench_produces_every_figure() {
        let mut out = Vec::new();
        let figures = certification(&options(600, 100, 2), &mut out)
            .await
            .unwrap();
        assert_eq!(figures.len(), 4, "{}", String::from_utf8_lossy(&out));
        for figure in &figures {
            assert!(figure.value.is_finite() && figure.value > 0.0, "{figure:?}");
        }
    }

    /// The full bench of the issue, for a person to run:
    /// `KESOS_BENCH_FULL=1 cargo test -p kesos-bench --release certification::tests::the_full -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "minutes long; run by hand"]
    async fn the_full_certification_bench() {
        let mut out = Vec::new();
        let result = certification(&options(50_000, 2_000, 20), &mut out).await;
        eprintln!("{}", String::from_utf8_lossy(&out));
        result.unwrap();
    }
}
