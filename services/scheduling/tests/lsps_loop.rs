//! The whole LSPS loop on the real NATS JetStream and PostgreSQL: sessions are filled and
//! locked, the roster desk sends rosters, two simulated LSPS answer while misbehaving (every
//! result twice, results before attendance and in reverse, malformed messages, results for a
//! wrong session and a stranger), and the inbox records them. In the end every seated
//! candidate has exactly one outcome, every report has its answer (the bad ones naming the
//! rule), and every bad message waits in the dead-letter stream with its reason — once on the
//! shared loopback server, once on a server with the shipped accounts where kesos and each
//! LSPS log in as themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use futures::StreamExt;
use kesos_bus::jetstream::DEAD_REASON_HEADER;
use kesos_bus::{Consumer, EmbeddedFeed, Stalls, StreamNames};
use kesos_eventstore::{AsOf, EventStore};
use kesos_readside::Db;
use kesos_regions::RegionCode;
use kesos_scheduling::domain::SchemeList;
use kesos_scheduling::domain::*;
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::inbox::{Inbox, InboxSettings};
use kesos_scheduling::lsps::roster::{Identity, RosterDesk, RosterNames};
use kesos_scheduling::lsps::simulator::{Simulator, SimulatorReport, SimulatorSettings};
use kesos_scheduling::service::Scheduling;
use kesos_scheduling::service::returns::Returns;
use kesos_scheduling::wire::{ASSESSMENT_DECIDED, ATTENDANCE_RECORDED};
use kesos_testkit::secured_nats::SecuredNats;
use kesos_testkit::{PgSchema, nats_url, unique_name};
use prost::Message as _;
use time::Duration as Span;
use tokio::sync::watch;
use uuid::Uuid;

use support::{STARTS, T0, at, plan};

/// Enrollment's part, played by a table of names (the roster desk's only dependency).
struct Names;

#[async_trait]
impl RosterNames for Names {
    async fn identities(
        &self,
        workers: &[WorkerId],
    ) -> Result<HashMap<WorkerId, Identity>, String> {
        Ok(workers
            .iter()
            .map(|w| {
                (
                    *w,
                    Identity {
                        full_name: format!("Peserta {w}"),
                        nik: "3277014107900001".into(),
                    },
                )
            })
            .collect())
    }
}

/// The two LSPS of the loop, as `deploy/nats/accounts.conf` names them.
const LSPS: [&str; 2] = ["LSPS-PEKSOS", "LSPS-KESOS"];

/// Where the loop runs: the names of its streams and how each side reaches NATS.
struct Setting {
    /// kesos' side (the scheduling service).
    kesos: jetstream::Context,
    /// Each LSPS's own connection, in the order of [`LSPS`].
    lsps: [jetstream::Context; 2],
    names: StreamNames,
    channel: LspsChannel,
    /// Whether the streams are the test's own (removed afterwards) on the shared server.
    shared_server: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_misbehaving_lsps_ends_with_one_outcome_per_candidate_and_every_bad_message_dead_lettered()
 {
    let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let prefix = unique_name("lsps").replace('-', "_");
    misbehaving_lsps_loop(Setting {
        kesos: context.clone(),
        lsps: [context.clone(), context],
        names: StreamNames::new(prefix.clone(), unique_name("EV"), unique_name("DLQ")).unwrap(),
        channel: LspsChannel::new(prefix, unique_name("LSPS")),
        shared_server: true,
    })
    .await;
}

/// The same loop on a nats-server with the shipped accounts: kesos logs in as `scheduling`,
/// each LSPS as itself with its own inbox prefix, and neither LSPS may read the other's roster.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_lsps_logged_in_as_themselves_on_the_secured_server_each_get_an_answer_to_every_report()
{
    let server = SecuredNats::start();
    let login = |user: &str| {
        let options = async_nats::ConnectOptions::with_nkey(server.seed(user));
        if user.starts_with("LSPS-") {
            options.custom_inbox_prefix(format!("_INBOX_{user}"))
        } else {
            options
        }
    };
    let mut contexts = Vec::new();
    for user in ["scheduling", LSPS[0], LSPS[1]] {
        let client = login(user).connect(server.url()).await.unwrap();
        contexts.push(jetstream::new(client));
    }
    let [kesos, peksos, lsps_kesos] = <[jetstream::Context; 3]>::try_from(contexts).unwrap();
    let channel = LspsChannel::new("kesos", "KESOS_LSPS");
    misbehaving_lsps_loop(Setting {
        kesos,
        lsps: [peksos.clone(), lsps_kesos],
        names: StreamNames::new("kesos", "KESOS", "KESOS_DLQ").unwrap(),
        channel: channel.clone(),
        shared_server: false,
    })
    .await;
    let stream = peksos.get_stream(&channel.stream).await.unwrap();
    let other = stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some(format!("lsps-sim-{}", LSPS[0])),
            filter_subject: channel.roster_subject(LSPS[1]),
            ..Default::default()
        })
        .await;
    assert!(other.is_err(), "LSPS-PEKSOS read LSPS-KESOS's rosters");
}

/// Two LSPS answer their rosters with every misbehaviour (duplicates, results before
/// attendance, a malformed message, a result for a session that does not exist and one for a
/// stranger): each seated candidate ends with one outcome, every report is answered, and every
/// bad message is refused naming its rule and dead-lettered with its reason.
async fn misbehaving_lsps_loop(setting: Setting) {
    let Setting {
        kesos: context,
        lsps: lsps_contexts,
        names,
        channel,
        shared_server,
    } = setting;
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    kesos_bus::bookkeeping::migrate_consumers(&kesos_readside::Db::from(store.pool().clone()))
        .await
        .unwrap();
    let shared: Arc<dyn EventStore> = Arc::new(store.clone());
    let scheduling = Scheduling::open(
        shared.clone(),
        Db::Postgres(store.pool().clone()),
        SchedulingPolicy::shipped().unwrap(),
        SchemeList::from_catalogue_toml(include_str!("../../enrollment/reference/schemes.toml"))
            .unwrap(),
        &Stalls::new(),
    )
    .await
    .unwrap();
    let (stop, watching) = watch::channel(false);
    let stopped = |mut w: watch::Receiver<bool>| async move {
        let _ = w.wait_for(|s| *s).await;
    };

    let mut tasks = Vec::new();
    for (name, handler) in [
        (
            "returns",
            Arc::new(Returns::new(scheduling.clone())) as Arc<dyn kesos_bus::Handler>,
        ),
        (
            "roster-desk",
            Arc::new(RosterDesk::new(
                scheduling.clone(),
                Arc::new(Names),
                context.clone(),
                channel.clone(),
            )),
        ),
    ] {
        let feed = EmbeddedFeed::resume(
            shared.clone(),
            "scheduling",
            name,
            &Db::from(store.pool().clone()),
        )
        .await
        .unwrap();
        let consumer = Consumer::new(name, store.pool().clone(), handler);
        let done = stopped(watching.clone());
        tasks.push(tokio::spawn(async move {
            consumer.run(feed, done).await.unwrap()
        }));
    }
    let inbox = Inbox::new(
        scheduling.clone(),
        context.clone(),
        channel.clone(),
        &names,
        InboxSettings {
            durable: unique_name("inbox"),
            ..InboxSettings::default()
        },
    );
    inbox.bind(&names).await.unwrap();
    {
        let names = names.clone();
        let done = stopped(watching.clone());
        tasks.push(tokio::spawn(async move { inbox.run(&names, done).await }));
    }
    let mut simulated = Vec::new();
    for (lsps, lsps_context) in LSPS.into_iter().zip(lsps_contexts) {
        let simulator = Simulator::new(
            lsps_context,
            channel.clone(),
            SimulatorSettings {
                lsps: lsps.into(),
                pass_rate: 0.7,
                no_show_rate: 0.15,
                duplicates: true,
                reorder: true,
                malformed: 1,
                wrong: 1,
                ..SimulatorSettings::default()
            },
        );
        simulated.push(tokio::spawn(async move {
            simulator.run(Some(1), std::future::pending()).await
        }));
    }

    for i in 0..20 {
        let candidate = CandidateId(Uuid::now_v7());
        scheduling
            .queue(
                &at(T0),
                Queued {
                    candidate,
                    worker: WorkerId(Uuid::now_v7()),
                    scheme: plan(&[], LSPS[0]).scheme,
                    region: RegionCode::parse("32.77.01").unwrap(),
                    verified_at: T0 + Span::minutes(i),
                },
            )
            .await
            .unwrap();
    }
    let sessions = [SessionId(Uuid::now_v7()), SessionId(Uuid::now_v7())];
    scheduling
        .schedule(&at(T0), sessions[0], plan(&["A-1"], LSPS[0]))
        .await
        .unwrap();
    scheduling
        .schedule(&at(T0), sessions[1], plan(&["A-2"], LSPS[1]))
        .await
        .unwrap();
    let allocation = scheduling.allocate(&at(T0), None).await.unwrap();
    assert_eq!(allocation.seated, 20);
    assert_eq!(
        scheduling.lock_due(STARTS - Span::days(2)).await.unwrap(),
        2
    );

    let mut reports = Vec::new();
    for simulator in simulated {
        let report = tokio::time::timeout(Duration::from_secs(90), simulator)
            .await
            .expect("each simulator answers its roster")
            .unwrap()
            .unwrap();
        // Each LSPS got the answer to each of its reports, its three bad ones rejected.
        assert_eq!(report.rosters, 1);
        assert_eq!(report.unanswered, 0, "{report:?}");
        assert_eq!(report.rejected, 3, "{report:?}");
        reports.push(report);
    }
    let report = SimulatorReport {
        present: reports.iter().map(|r| r.present).sum(),
        no_shows: reports.iter().map(|r| r.no_shows).sum(),
        kompeten: reports.iter().map(|r| r.kompeten).sum(),
        belum_kompeten: reports.iter().map(|r| r.belum_kompeten).sum(),
        ..SimulatorReport::default()
    };
    assert_eq!(report.present + report.no_shows, 20);

    // The bad reports (per roster one malformed, one for a session that does not exist, one for
    // a stranger) were refused naming the field and the rule in the HTTP API's words.
    let mut refusals = Vec::new();
    for lsps in LSPS {
        refusals.extend(refusals_answered(&context, &channel, lsps).await);
    }
    for (field, rule) in [
        ("", "malformed"),
        ("session_id", "not-found"),
        ("candidate_id", "not-on-roster"),
    ] {
        assert_eq!(
            refusals
                .iter()
                .filter(|(f, r)| f == field && r == rule)
                .count(),
            2,
            "{field} {rule}: {refusals:?}"
        );
    }

    // Every seated candidate ends with exactly one outcome.
    let settled = || async {
        let mut outcomes = 0;
        for session in &sessions {
            let state = scheduling.session(*session).await.unwrap().unwrap();
            outcomes += state
                .seats
                .values()
                .filter(|s| s.decision.is_some() || s.attendance == Some(Attendance::NoShow))
                .count();
        }
        outcomes
    };
    for _ in 0..300 {
        if settled().await == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(settled().await, 20, "every seated candidate has an outcome");
    let mut decisions = 0;
    let mut attendances = 0;
    for session in &sessions {
        let events = shared
            .read_stream(
                &kesos_scheduling::service::session_stream(*session).unwrap(),
                AsOf::Now,
            )
            .await
            .unwrap();
        let count = |kind: &str| {
            events
                .iter()
                .filter(|e| e.event_type.as_str() == kind)
                .count()
        };
        decisions += count(ASSESSMENT_DECIDED);
        attendances += count(ATTENDANCE_RECORDED);
    }
    assert_eq!(
        decisions,
        report.kompeten + report.belum_kompeten,
        "one decision per present candidate, duplicates or not"
    );
    // Results came before the attendance (reorder), yet each candidate's attendance is on
    // record once, as when the reports come in order.
    assert_eq!(attendances, 20, "one attendance per seated candidate");

    // Every bad message is dead-lettered with a reason: per roster one malformed message, one
    // result for a session that does not exist, one for a stranger.
    let dead_stream = context.get_stream(&names.dead_letter_stream).await.unwrap();
    let expected_dead = 2 * 3;
    let mut reasons = Vec::new();
    let consumer = dead_stream
        .create_consumer(jetstream::consumer::pull::Config::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    while reasons.len() < expected_dead {
        let message = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .expect("the dead letters arrive")
            .unwrap()
            .unwrap();
        let reason = message
            .headers
            .as_ref()
            .and_then(|h| h.get(DEAD_REASON_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        reasons.push(reason);
        message.ack().await.unwrap();
    }
    let no_more = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
    assert!(
        no_more.is_err(),
        "nothing else was dead-lettered: {:?}",
        reasons
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("not an AssessmentResultReported"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("does not exist"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("not on this session's roster"))
            .count(),
        2,
        "{reasons:?}"
    );

    let _ = stop.send(true);
    for task in tasks {
        task.await.unwrap();
    }
    drop(scheduling);
    if shared_server {
        for stream in [
            &names.events_stream,
            &names.dead_letter_stream,
            &channel.stream,
        ] {
            let _ = context.delete_stream(stream).await;
        }
    }
    store.pool().close().await;
    schema.drop_now().await;
}

/// The (field, rule) of every refusal in the outcomes kesos sent `lsps`, read again from the
/// start of the stream.
async fn refusals_answered(
    context: &jetstream::Context,
    channel: &LspsChannel,
    lsps: &str,
) -> Vec<(String, String)> {
    let stream = context.get_stream(&channel.stream).await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            filter_subject: channel.outcome_subject(lsps),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut refusals = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(2), messages.next()).await
    {
        let message = message.unwrap();
        let outcome =
            kesos_proto::kesos::lsps::v1::ReportOutcome::decode(message.payload.as_ref()).unwrap();
        refusals.extend(
            outcome
                .refusals
                .into_iter()
                .map(|refusal| (refusal.field, refusal.rule)),
        );
        message.ack().await.unwrap();
    }
    refusals
}

#[tokio::test]
async fn the_lsps_stream_keeps_rosters_for_its_retention_only_also_when_it_existed_without_one() {
    let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let prefix = unique_name("keep").replace('-', "_");
    let channel = LspsChannel::new(prefix.clone(), unique_name("LSPS"));
    // As an earlier kesos created it: no retention.
    context
        .create_stream(jetstream::stream::Config {
            name: channel.stream.clone(),
            subjects: vec![format!("{prefix}.lsps.v1.>")],
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .unwrap();

    channel.ensure(&context).await.unwrap();

    let mut stream = context.get_stream(&channel.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.max_age, LspsChannel::RETENTION);
    context.delete_stream(&channel.stream).await.unwrap();
}
