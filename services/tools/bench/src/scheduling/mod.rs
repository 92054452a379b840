//! `kesos bench scheduling`: the scheduling service measured next to its limits, in one run on
//! PostgreSQL (a fresh schema, dropped at the end) and NATS JetStream (streams of the run's
//! own, deleted at the end):
//!
//! 1. the foundation's batched append (100 events per transaction), the yardstick;
//! 2. auto-allocating N waiting candidates (default 50,000) into S sessions (default 500) in
//!    one allocation: seconds and seats/s (the issue sets no limit; kesos holds itself to
//!    finishing within 60 s);
//! 3. ingesting one LSPS result per seated candidate through JetStream and the inbox:
//!    results/s from the first taken message to the last recorded (goal 10,000/s).
//!
//! The candidates enter the pool by a bulk append of `CandidateQueued` events (the intake's
//! own path is measured by the consumer benches); sessions are scheduled through the command
//! path with their assessor bookings.

use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use kesos_aggregate::EventCodec;
use kesos_bus::{Stalls, StreamNames};
use kesos_commands::CommandContext;
use kesos_enrollment::domain::SchemeCatalog;
use kesos_eventstore::{
    BulkAppend, Claims, EventType, ExpectedVersion, Metadata, NewEvent, StreamId,
};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::Db;
use kesos_regions::{Level, RegionCode, Regions};
use kesos_scheduling::domain::{
    CandidateEvent, CandidateId, ExternalId, Plan, Queued, SchedulingPolicy, SchemeRef, SessionId,
    Venue, WorkerId,
};
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::inbox::{Inbox, InboxSettings};
use kesos_scheduling::projections::SOURCE;
use kesos_scheduling::service::Scheduling;
use kesos_scheduling::wire::timestamp;
use prost::Message;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::append;
use crate::report::{Figure, LimitKind};
use crate::target::{Target, on_fresh_postgres};
use crate::workload::unique_name;

/// Results per second the inbox must reach (the goal).
pub const RESULTS_GOAL: f64 = 10_000.0;
/// Seconds kesos allows itself for the allocation.
pub const ALLOCATION_LIMIT_SECS: f64 = 60.0;
/// Longest wait for the pool to show the generated candidates and sessions.
const PROJECTION_PATIENCE: Duration = Duration::from_secs(600);
/// Kabupaten/kota the generated candidates and sessions are spread over.
const PLACES: usize = 50;

/// What `kesos bench scheduling` measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulingBenchOptions {
    /// The PostgreSQL server.
    pub database_url: String,
    /// The NATS server.
    pub nats_url: String,
    /// Waiting candidates.
    pub candidates: usize,
    /// Sessions (capacity: candidates / sessions, rounded up).
    pub sessions: usize,
    /// Seconds the batched-append yardstick is measured for.
    pub append_seconds: u64,
    /// One JSON object per figure.
    pub json: bool,
}

/// Runs the three phases, writes the figures and returns them.
pub async fn scheduling(
    options: &SchedulingBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    if options.candidates == 0 || options.sessions == 0 {
        bail!("--candidates and --sessions must be at least 1");
    }
    let header = format!(
        "kesos bench scheduling: PostgreSQL + NATS JetStream, {} candidates into {} sessions, one result each",
        options.candidates, options.sessions
    );
    on_fresh_postgres(
        &options.database_url,
        header,
        options.json,
        out,
        async |target, figures, _| measure(target, options, figures).await,
    )
    .await
}

fn context(at: OffsetDateTime) -> CommandContext {
    CommandContext {
        command_id: Uuid::now_v7(),
        actor: "system:bench".to_owned(),
        correlation_id: "bench".to_owned(),
        causation_id: None,
        occurred_at: at,
    }
}

fn scheme() -> SchemeRef {
    SchemeRef {
        code: "PEKSOS-GENERALIS".into(),
        category: "peksos".into(),
        level: "Generalis".into(),
    }
}

/// The first `count` kabupaten/kota: candidates and sessions share them, so every candidate
/// has a session in reach.
fn places(count: usize) -> Vec<RegionCode> {
    Regions::embedded()
        .iter()
        .filter(|r| r.level() == Level::KabupatenKota)
        .take(count.clamp(1, PLACES))
        .map(|r| r.code().clone())
        .collect()
}

async fn measure(
    target: &Target,
    options: &SchedulingBenchOptions,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let store = target.store.clone();
    tracing::info!("batched append, {} s", options.append_seconds);
    let appended =
        append::measure(&store, Duration::from_secs(options.append_seconds.max(1))).await?;
    let pool = match &target.raw {
        crate::raw::Raw::Postgres(pool) => pool.clone(),
        crate::raw::Raw::Sqlite { .. } => bail!("the scheduling bench runs on PostgreSQL"),
    };
    let scheduling = Scheduling::open(
        store.clone(),
        Db::Postgres(pool),
        SchedulingPolicy::shipped()?,
        kesos_scheduling::domain::SchemeList::from_catalogue_toml(SchemeCatalog::SHIPPED_TOML)?,
        &Stalls::new(),
    )
    .await?;
    let now = OffsetDateTime::now_utc();
    let starts = now + time::Duration::days(30);
    let places = places(options.sessions);
    queue_candidates(&scheduling, options.candidates, &places, now).await?;
    let capacity = u32::try_from(options.candidates.div_ceil(options.sessions)).unwrap_or(u32::MAX);
    let sessions = schedule_sessions(
        &scheduling,
        options.sessions,
        capacity,
        &places,
        starts,
        now,
    )
    .await?;
    // The pool shows every queued candidate and session before the clock starts.
    pool_at_head(&scheduling).await?;

    tracing::info!("allocating");
    let started = Instant::now();
    let allocation = scheduling
        .allocate(&context(now), Some("PEKSOS-GENERALIS"))
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(?allocation, seconds, "allocated");
    if allocation.seated != options.candidates.min(sessions.len() * capacity as usize) {
        bail!(
            "the allocation seated {} of {} candidates",
            allocation.seated,
            options.candidates
        );
    }
    let name = format!(
        "auto-allocate {} candidates into {} sessions",
        options.candidates, options.sessions
    );
    figures.push(Figure {
        name: name.clone(),
        value: seconds,
        unit: "s".to_owned(),
        limit: ALLOCATION_LIMIT_SECS,
        limit_kind: LimitKind::AtMostValue,
        baseline_name: None,
        baseline: None,
        ratio: None,
        passed: seconds <= ALLOCATION_LIMIT_SECS,
    });
    let seats_per_second = allocation.seated as f64 / seconds;
    figures.push(Figure {
        name: format!("{name}, rate"),
        value: seats_per_second,
        unit: "seats/s".to_owned(),
        limit: allocation.seated as f64 / ALLOCATION_LIMIT_SECS,
        limit_kind: LimitKind::AtLeastValue,
        baseline_name: Some("append 100/tx".to_owned()),
        baseline: Some(appended),
        ratio: Some(seats_per_second / appended),
        passed: seconds <= ALLOCATION_LIMIT_SECS,
    });

    pool_at_head(&scheduling).await?;
    let locked = scheduling
        .lock_due(starts - time::Duration::days(1))
        .await?;
    if locked != sessions.len() {
        bail!("{locked} of {} rosters locked", sessions.len());
    }
    let (results, rate) = ingest_results(&scheduling, &sessions, &options.nats_url, starts).await?;
    figures.push(Figure {
        name: format!("ingest {results} LSPS results through JetStream"),
        value: rate,
        unit: "results/s".to_owned(),
        limit: RESULTS_GOAL,
        limit_kind: LimitKind::AtLeastValue,
        baseline_name: Some("append 100/tx".to_owned()),
        baseline: Some(appended),
        ratio: Some(rate / appended),
        passed: rate >= RESULTS_GOAL,
    });
    Ok(())
}

/// Waits until the pool shows the whole log: the projector applies the run's bulk writes in
/// the background, and this waits as long as their size needs, where a command would give up
/// after [`kesos_scheduling::service::SETTLE_TIMEOUT`].
async fn pool_at_head(scheduling: &Scheduling) -> anyhow::Result<()> {
    scheduling
        .projector()
        .wait_for_head(&**scheduling.store(), SOURCE, PROJECTION_PATIENCE)
        .await?;
    Ok(())
}

async fn queue_candidates(
    scheduling: &Scheduling,
    count: usize,
    places: &[RegionCode],
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    tracing::info!(count, "queueing candidates");
    let event_type = EventType::parse(kesos_scheduling::wire::CANDIDATE_QUEUED)?;
    let mut batch = Vec::with_capacity(1_000);
    for i in 0..count {
        let candidate = CandidateId(Uuid::now_v7());
        let event = CandidateEvent::Queued(Queued {
            candidate,
            worker: WorkerId(Uuid::now_v7()),
            scheme: scheme(),
            region: places[i % places.len()].clone(),
            verified_at: now - time::Duration::seconds(i64::try_from(count - i).unwrap_or(0)),
        });
        let new = NewEvent::new(
            Uuid::now_v7(),
            event_type.clone(),
            1,
            event.encode(),
            Metadata {
                correlation_id: "bench".into(),
                causation_id: "bench".into(),
                actor: "system:bench".into(),
                trace_parent: String::new(),
            },
            now,
        )?;
        batch.push(BulkAppend {
            stream: StreamId::parse(format!("candidate-{candidate}"))?,
            expected: ExpectedVersion::NoStream,
            events: vec![new],
            claims: Claims::default(),
        });
        if batch.len() == 1_000 || i + 1 == count {
            for outcome in scheduling
                .store()
                .append_bulk(std::mem::take(&mut batch))
                .await
            {
                outcome?;
            }
        }
    }
    Ok(())
}

async fn schedule_sessions(
    scheduling: &Scheduling,
    count: usize,
    capacity: u32,
    places: &[RegionCode],
    starts: OffsetDateTime,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<(SessionId, Plan)>> {
    tracing::info!(count, capacity, "scheduling sessions");
    let assessors = capacity.div_ceil(scheduling.policy().candidates_per_assessor);
    let mut sessions = Vec::with_capacity(count);
    for s in 0..count {
        let region = places[s % places.len()].clone();
        let plan = Plan {
            scheme: scheme(),
            venue: Venue::TestSite {
                name: format!("TUK {s}"),
                region: region.clone(),
            },
            starts_at: starts,
            ends_at: starts + time::Duration::hours(8),
            capacity,
            assessors: (0..assessors)
                .map(|a| ExternalId::parse(&format!("S{s}-A{a}")))
                .collect::<Result<_, _>>()?,
            served: vec![region.province()],
            cutoff: starts - time::Duration::days(7),
            lsps: ExternalId::parse("LSPS-BENCH")?,
            // Scheduling takes the scheme's units from the catalogue.
            units: Vec::new(),
        };
        let session = SessionId(Uuid::now_v7());
        scheduling
            .schedule(&context(now), session, plan.clone())
            .await?;
        sessions.push((session, plan));
    }
    Ok(sessions)
}

/// Publishes one result per seated candidate, then lets the inbox record them all; answers
/// how many and results/s.
async fn ingest_results(
    scheduling: &Scheduling,
    sessions: &[(SessionId, Plan)],
    nats_url: &str,
    starts: OffsetDateTime,
) -> anyhow::Result<(usize, f64)> {
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
    let channel = LspsChannel::new(prefix.clone(), format!("{prefix}_lsps"));
    let inbox = Inbox::new(
        scheduling.clone(),
        context.clone(),
        channel.clone(),
        &names,
        InboxSettings {
            durable: "bench-inbox".into(),
            ..InboxSettings::default()
        },
    );
    let outcome = async {
        let consumer = inbox.bind(&names).await?;
        let mut published = 0;
        let mut acks = Vec::new();
        for (session, plan) in sessions {
            let state = scheduling
                .session(*session)
                .await?
                .context("a scheduled session is missing")?;
            // Every unit of the session's scheme judged K, as a real result judges them all.
            let unit_results: Vec<common::UnitResult> = state
                .plan
                .iter()
                .flat_map(|plan| &plan.units)
                .map(|unit| common::UnitResult {
                    unit_code: unit.code.clone(),
                    judgement: common::UnitJudgement::K as i32,
                })
                .collect();
            for candidate in state.seats.keys() {
                let result = lsps::AssessmentResultReported {
                    message_id: Uuid::now_v7().to_string(),
                    session_id: session.to_string(),
                    candidate_id: candidate.to_string(),
                    unit_results: unit_results.clone(),
                    decision: common::AssessmentDecision::Kompeten as i32,
                    assessor_ids: plan
                        .assessors
                        .iter()
                        .take(1)
                        .map(ToString::to_string)
                        .collect(),
                    decided_at: timestamp(starts + time::Duration::hours(7)),
                    lsps_id: plan.lsps.to_string(),
                };
                acks.push(
                    context
                        .publish(
                            channel.result_subject(plan.lsps.as_str()),
                            result.encode_to_vec().into(),
                        )
                        .await?,
                );
                published += 1;
                if acks.len() >= 5_000 {
                    for ack in acks.drain(..) {
                        ack.await?;
                    }
                }
            }
        }
        for ack in acks {
            ack.await?;
        }
        tracing::info!(published, "results published; ingesting");
        let started = Instant::now();
        let mut recorded = 0;
        let deadline = started + Duration::from_secs(600);
        while recorded < published {
            if Instant::now() > deadline {
                bail!("the inbox recorded {recorded} of {published} results within 10 minutes");
            }
            let round = inbox.round(&consumer).await?;
            if round.dead > 0 {
                bail!("{} results were dead-lettered", round.dead);
            }
            recorded += round.accepted + round.duplicates;
        }
        let elapsed = started.elapsed().as_secs_f64();
        anyhow::Ok((published, published as f64 / elapsed))
    }
    .await;
    for stream in [
        &names.events_stream,
        &names.dead_letter_stream,
        &channel.stream,
    ] {
        if let Err(error) = context.delete_stream(stream).await {
            tracing::warn!(%error, stream, "could not delete a bench stream");
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Timing is never asserted (shared, noisy machines): only that every figure is produced
    /// and every candidate is seated and decided.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_tiny_scheduling_bench_produces_every_figure() {
        let options = SchedulingBenchOptions {
            database_url: std::env::var("KESOS_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            nats_url: std::env::var("KESOS_TEST_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
            candidates: 300,
            sessions: 6,
            append_seconds: 1,
            json: true,
        };
        let mut out = Vec::new();
        let figures = scheduling(&options, &mut out).await.unwrap();
        assert_eq!(figures.len(), 3, "{}", String::from_utf8_lossy(&out));
        for figure in &figures {
            assert!(figure.value.is_finite() && figure.value > 0.0, "{figure:?}");
        }
    }
}
