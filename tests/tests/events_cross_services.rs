//! Two services write protobuf events into their own stores; a third (a progress-like read
//! model) consumes both. Distributed: a PostgreSQL schema per service, a relay per service into
//! one JetStream stream, a durable consumer. Embedded: one SQLite file, the log as the feed.
//! Both modes must produce the same read model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kesos_bus::bookkeeping;
use kesos_bus::{
    Consumer, Delivered, EmbeddedFeed, Handler, HandlerError, JetStreamFeed, PullSettings, Relay,
    RelaySettings, StreamNames,
};
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_proto::kesos::common::v1::RegionRef;
use kesos_proto::kesos::enrollment::v1::WorkerRegistered;
use kesos_proto::kesos::scheduling::v1::CandidateSeated;
use kesos_proto::prost::Message;
use kesos_sql::{Backend, Db, Tx};
use kesos_testkit::{PgSchema, SqliteFile, nats_url, unique_name};
use time::OffsetDateTime;
use uuid::Uuid;

const REGISTERED: &str = "kesos.enrollment.v1.WorkerRegistered";
const SEATED: &str = "kesos.scheduling.v1.CandidateSeated";

fn new_event(event_type: &str, payload: Vec<u8>) -> NewEvent {
    let metadata = Metadata {
        correlation_id: "import-1".into(),
        causation_id: "cmd".into(),
        actor: "dinsos-32.77".into(),
        trace_parent: String::new(),
    };
    NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(event_type).unwrap(),
        1,
        payload,
        metadata,
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

/// Registers `count` workers posted in `region` (enrollment) and seats `seated` of them
/// (scheduling), each service writing only its own store.
async fn write_history(
    enrollment: &dyn EventStore,
    scheduling: &dyn EventStore,
    region: &str,
    count: usize,
    seated: usize,
) {
    for i in 0..count {
        let worker_id = Uuid::now_v7().to_string();
        let registered = WorkerRegistered {
            worker_id: worker_id.clone(),
            posting: Some(RegionRef {
                code: region.into(),
                edition: "2024".into(),
            }),
            ..Default::default()
        };
        let stream = StreamId::parse(format!("worker-{worker_id}")).unwrap();
        enrollment
            .append(
                &stream,
                ExpectedVersion::NoStream,
                vec![new_event(REGISTERED, registered.encode_to_vec())],
            )
            .await
            .unwrap();
        if i < seated {
            let seat = CandidateSeated {
                session_id: "session-1".into(),
                candidate_id: worker_id.clone(),
                worker_id,
                ..CandidateSeated::default()
            };
            let session = StreamId::parse("session-1").unwrap();
            scheduling
                .append(
                    &session,
                    ExpectedVersion::Any,
                    vec![new_event(SEATED, seat.encode_to_vec())],
                )
                .await
                .unwrap();
        }
    }
}

/// The read model: workers per region and seats, decoded from the protobuf contracts.
struct RegionalCounts;

enum Change {
    Registered(String),
    Seated,
    Ignored,
}

fn change(delivered: &Delivered) -> Result<Change, HandlerError> {
    let payload = delivered.event.payload.as_slice();
    let undecodable = |e: kesos_proto::prost::DecodeError| HandlerError::Permanent(e.to_string());
    match delivered.event.event_type.as_str() {
        REGISTERED => {
            let event = WorkerRegistered::decode(payload).map_err(undecodable)?;
            let region = event
                .posting
                .map(|p| p.code)
                .ok_or_else(|| HandlerError::Permanent("no posting".into()))?;
            Ok(Change::Registered(region))
        }
        SEATED => CandidateSeated::decode(payload)
            .map(|_| Change::Seated)
            .map_err(undecodable),
        _ => Ok(Change::Ignored),
    }
}

/// The read model's table: the column types differ, the statements do not.
async fn create_counts(db: &Db) {
    let sql = match db.backend() {
        Backend::Postgres => "CREATE TABLE counts (metric text PRIMARY KEY, n bigint NOT NULL)",
        Backend::Sqlite => "CREATE TABLE counts (metric TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    };
    db.query(sql).execute().await.unwrap();
}

async fn counts(db: &Db) -> Vec<(String, i64)> {
    db.query("SELECT metric, n FROM counts ORDER BY metric")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get_index(0).unwrap(), row.get_index(1).unwrap()))
        .collect()
}

fn metric(change: Change) -> Option<String> {
    match change {
        Change::Registered(region) => Some(format!("registered:{region}")),
        Change::Seated => Some("seated".into()),
        Change::Ignored => None,
    }
}

#[async_trait]
impl Handler for RegionalCounts {
    async fn handle(&self, tx: &mut Tx, delivered: &Delivered) -> Result<(), HandlerError> {
        if let Some(metric) = metric(change(delivered)?) {
            tx.query("INSERT INTO counts VALUES ($1, 1) ON CONFLICT (metric) DO UPDATE SET n = counts.n + 1")
                .bind(metric)
                .execute()
                .await?;
        }
        Ok(())
    }
}

fn expected() -> Vec<(String, i64)> {
    vec![
        ("registered:32.17".into(), 8),
        ("registered:32.77".into(), 36),
        ("seated".into(), 13),
    ]
}

async fn wait_for(db: &Db, expected: &[(String, i64)]) -> Vec<(String, i64)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts = counts(db).await;
        if counts == expected || tokio::time::Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_two_services_reach_a_third_over_jetstream() {
    let (enrollment_schema, scheduling_schema, progress_schema) = (
        PgSchema::create().await,
        PgSchema::create().await,
        PgSchema::create().await,
    );
    let enrollment: Arc<dyn EventStore> = Arc::new(enrollment_schema.store().await);
    let scheduling: Arc<dyn EventStore> = Arc::new(scheduling_schema.store().await);
    let progress = Db::from(progress_schema.pool().await);
    bookkeeping::migrate_consumers(&progress).await.unwrap();
    create_counts(&progress).await;

    let context = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let names = StreamNames::new(unique_name("t"), unique_name("T"), unique_name("D")).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for (store, source) in [
        (enrollment.clone(), "enrollment"),
        (scheduling.clone(), "scheduling"),
    ] {
        let relay = Relay::new(
            store,
            context.clone(),
            names.clone(),
            RelaySettings::new(source),
        );
        relay.prepare().await.unwrap();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            relay
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        }));
    }
    let consumer = Consumer::new("progress", progress.clone(), Arc::new(RegionalCounts));
    let feed =
        JetStreamFeed::subscribe(context.clone(), &names, "progress", PullSettings::default())
            .await
            .unwrap();
    let mut consumer_stopped = stopped.clone();
    tasks.push(tokio::spawn(async move {
        consumer
            .run(feed, async move {
                let _ = consumer_stopped.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
    }));

    write_history(&*enrollment, &*scheduling, "32.77", 36, 13).await;
    write_history(&*enrollment, &*scheduling, "32.17", 8, 0).await;
    let counts = wait_for(&progress, &expected()).await;
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(counts, expected());
    assert_eq!(
        bookkeeping::checkpoint(&progress, "progress", "enrollment")
            .await
            .unwrap(),
        44
    );
    assert_eq!(
        bookkeeping::checkpoint(&progress, "progress", "scheduling")
            .await
            .unwrap(),
        13
    );

    context.delete_stream(&names.events_stream).await.unwrap();
    context
        .delete_stream(&names.dead_letter_stream)
        .await
        .unwrap();
    progress.close().await;
    for schema in [enrollment_schema, scheduling_schema, progress_schema] {
        schema.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_journey_in_the_embedded_mode_gives_the_same_counts() {
    let file = SqliteFile::create();
    let store = Arc::new(file.store().await);
    let db = Db::from(store.pool().clone());
    bookkeeping::migrate_consumers(&db).await.unwrap();
    create_counts(&db).await;
    let shared: Arc<dyn EventStore> = store.clone();
    let consumer = Consumer::new("progress", db.clone(), Arc::new(RegionalCounts));
    let feed = EmbeddedFeed::resume(shared.clone(), "kesos", "progress", &db)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        consumer
            .run(feed, async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
    });

    write_history(&*shared, &*shared, "32.77", 36, 13).await;
    write_history(&*shared, &*shared, "32.17", 8, 0).await;
    let counts = wait_for(&db, &expected()).await;
    stop.send(()).unwrap();
    task.await.unwrap();
    assert_eq!(counts, expected());
    assert_eq!(
        bookkeeping::checkpoint(&db, "progress", "kesos")
            .await
            .unwrap(),
        57
    );
}
