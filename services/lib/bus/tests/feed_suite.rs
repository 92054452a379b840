//! One consumer test suite, two feeds: the embedded feed (SQLite store, consumer in the same
//! file) and JetStream (PostgreSQL store, the relay publishing to the real NATS server, the
//! consumer's effects in PostgreSQL). Each case is bounded in count and time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use futures::StreamExt;
use kesos_bus::bookkeeping;
use kesos_bus::{
    Consumer, Delivered, EmbeddedFeed, Handler, HandlerError, JetStreamFeed, PullSettings, Relay,
    RelaySettings, RetryPolicy, RetryRequest, RetryState, StreamNames,
};
use kesos_eventstore::{
    EventStore, EventType, ExpectedVersion, Metadata, NewEvent, PostgresStore, SqliteStore,
    StreamId,
};
use kesos_sql::{Backend, Db, Tx};
use kesos_testkit::{PgSchema, SqliteFile, nats_url, unique_name};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

// ---- the handler under test: records what it saw in the consumer's own database -----------

/// Payload `poison` is rejected for good; `flaky` fails twice (transiently) before it succeeds.
/// With `batch` above 1 the consumer hands it batches (the default `act_batch`/`handle_batch`),
/// and every case must hold exactly as one message at a time.
/// While `down` is set, every event fails transiently (a dependency away); once `cured` is set,
/// `poison` is accepted (the bug that refused it was fixed).
#[derive(Default)]
struct Recorder {
    attempts: Mutex<HashMap<Uuid, u32>>,
    batch: usize,
    down: Arc<AtomicBool>,
    cured: Arc<AtomicBool>,
}

impl Recorder {
    fn verdict(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(HandlerError::Transient("the database is away".into()));
        }
        match delivered.event.payload.as_slice() {
            b"poison" if !self.cured.load(Ordering::SeqCst) => {
                Err(HandlerError::Permanent("poison pill".into()))
            }
            b"flaky" => {
                let mut attempts = self.attempts.lock().unwrap();
                let seen = attempts.entry(delivered.event.event_id).or_insert(0);
                *seen += 1;
                if *seen <= 2 {
                    Err(HandlerError::Transient("not yet".into()))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

/// The test's read model table: the column types differ, the statements do not.
async fn create_seen(db: &Db) {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS seen (n INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, version INTEGER, payload BLOB)"
        }
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS seen (n bigserial PRIMARY KEY, stream text, version bigint, payload bytea)"
        }
    };
    db.query(sql).execute().await.unwrap();
}

async fn seen_rows(db: &Db) -> Vec<(String, i64, Vec<u8>)> {
    db.query("SELECT stream, version, payload FROM seen ORDER BY n")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get_index(0).unwrap(),
                row.get_index(1).unwrap(),
                row.get_index(2).unwrap(),
            )
        })
        .collect()
}

#[async_trait]
impl Handler for Recorder {
    fn batch_size(&self) -> usize {
        self.batch.max(1)
    }

    async fn handle(&self, tx: &mut Tx, d: &Delivered) -> Result<(), HandlerError> {
        self.verdict(d)?;
        tx.query("INSERT INTO seen (stream, version, payload) VALUES ($1, $2, $3)")
            .bind(d.event.stream_id.as_str())
            .bind(i64::try_from(d.event.stream_version).unwrap())
            .bind(d.event.payload.as_slice())
            .execute()
            .await?;
        Ok(())
    }
}

// ---- the two fixtures ----------------------------------------------------------------------

/// A running consumer; `stop` ends it gracefully, dropping `task` (abort) simulates a crash.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }
    fn crash(self) {
        self.task.abort();
    }
}

#[async_trait]
trait Fixture: Send + Sync {
    fn store(&self) -> Arc<dyn EventStore>;
    fn db(&self) -> Db;
    async fn start(&self, consumer: Arc<Consumer>) -> Running;
    /// Makes the feed deliver everything again (as after a lost checkpoint or a re-publish
    /// outside JetStream's duplicate window).
    async fn redeliver_everything(&self);
    /// Puts a message into the feed that is not a valid event.
    async fn inject_undecodable(&self);
    /// Dead letters visible where operators look (database, and JetStream's DLQ stream).
    async fn dead_letters(&self, consumer: &str) -> u64;
    async fn finish(self);
}

struct Embedded {
    _file: SqliteFile,
    store: Arc<SqliteStore>,
}

impl Embedded {
    async fn new() -> Self {
        let file = SqliteFile::create();
        let store = Arc::new(file.store().await);
        let db = Db::from(store.pool().clone());
        bookkeeping::migrate_consumers(&db).await.unwrap();
        create_seen(&db).await;
        Self { _file: file, store }
    }
}

#[async_trait]
impl Fixture for Embedded {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }
    fn db(&self) -> Db {
        Db::from(self.store.pool().clone())
    }
    async fn start(&self, consumer: Arc<Consumer>) -> Running {
        let feed = EmbeddedFeed::resume(self.store(), "kesos", consumer.name(), consumer.db())
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            consumer
                .run(feed, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Running {
            stop: Some(stop),
            task,
        }
    }
    async fn redeliver_everything(&self) {
        sqlx::query("DELETE FROM kesos_consumer_checkpoints")
            .execute(self.store.pool())
            .await
            .unwrap();
    }
    async fn inject_undecodable(&self) {
        // A row no kesos code could have written (an event type that is not a name), put
        // straight into the log at the next position.
        let mut tx = self.store.pool().begin().await.unwrap();
        sqlx::query(
            "INSERT INTO kesos_events SELECT position + 1, 'garbage', 1, randomblob(16), 'not a type!', \
             1, x'00', '', '', '', 0, 0, zeroblob(32), '' FROM kesos_log_head",
        )
        .execute(&mut *tx).await.unwrap();
        sqlx::query("UPDATE kesos_log_head SET position = position + 1")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    async fn dead_letters(&self, consumer: &str) -> u64 {
        bookkeeping::dead_letter_count(&self.db(), consumer)
            .await
            .unwrap()
    }
    async fn finish(self) {}
}

struct Distributed {
    schema: PgSchema,
    store: Arc<PostgresStore>,
    pool: sqlx::PgPool,
    context: jetstream::Context,
    names: StreamNames,
    relay: Running,
}

impl Distributed {
    async fn new() -> Self {
        let schema = PgSchema::create().await;
        let store = Arc::new(schema.store().await);
        let pool = schema.pool().await;
        let db = Db::from(pool.clone());
        bookkeeping::migrate_consumers(&db).await.unwrap();
        create_seen(&db).await;
        let client = async_nats::connect(nats_url())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "NATS at {} is unreachable ({error}); start it with deploy/local/up",
                    nats_url()
                )
            });
        let context = jetstream::new(client);
        let mut names =
            StreamNames::new(unique_name("t"), unique_name("T"), unique_name("D")).unwrap();
        names.services = vec!["test".into()];
        let relay = start_relay(store.clone(), context.clone(), names.clone()).await;
        Self {
            schema,
            store,
            pool,
            context,
            names,
            relay,
        }
    }
}

async fn start_relay(
    store: Arc<PostgresStore>,
    context: jetstream::Context,
    names: StreamNames,
) -> Running {
    let relay = Relay::new(store, context, names, RelaySettings::new("kesos"));
    relay.prepare().await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        relay
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        stop: Some(stop),
        task,
    }
}

#[async_trait]
impl Fixture for Distributed {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }
    fn db(&self) -> Db {
        Db::from(self.pool.clone())
    }
    async fn start(&self, consumer: Arc<Consumer>) -> Running {
        let settings = PullSettings {
            ack_wait: Duration::from_secs(1),
            batch: 50,
            ..PullSettings::default()
        };
        let feed =
            JetStreamFeed::subscribe(self.context.clone(), &self.names, consumer.name(), settings)
                .await
                .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            consumer
                .run(feed, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Running {
            stop: Some(stop),
            task,
        }
    }
    async fn redeliver_everything(&self) {
        // Re-publish every stored event under fresh message ids: what a relay would do after a
        // crash outside the duplicate window. Only the consumers' markers stand in the way.
        let events = self.store.read_batch(0, 10_000).await.unwrap();
        for event in events {
            let payload = kesos_bus::envelope::encode("kesos", &event);
            self.context
                .publish(
                    self.names.subject_for(event.event_type.as_str()),
                    payload.into(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }
    async fn inject_undecodable(&self) {
        self.context
            .publish(
                self.names.subject_for("kesos.test.v1.Garbage"),
                vec![0xff, 0x01, 0x02].into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    async fn dead_letters(&self, consumer: &str) -> u64 {
        let in_db = bookkeeping::dead_letter_count(&self.db(), consumer)
            .await
            .unwrap();
        let mut stream = self
            .context
            .get_stream(&self.names.dead_letter_stream)
            .await
            .unwrap();
        let in_stream = stream.info().await.unwrap().state.messages;
        assert_eq!(in_db, in_stream, "every dead letter recorded and published");
        in_stream
    }
    async fn finish(self) {
        self.relay.stop().await;
        let _ = self.context.delete_stream(&self.names.events_stream).await;
        let _ = self
            .context
            .delete_stream(&self.names.dead_letter_stream)
            .await;
        self.pool.close().await;
        self.store.pool().close().await;
        self.schema.drop_now().await;
    }
}

// ---- helpers -------------------------------------------------------------------------------

fn event(label: &str) -> NewEvent {
    NewEvent::new(
        Uuid::now_v7(),
        EventType::parse("kesos.test.v1.Happened").unwrap(),
        1,
        label.as_bytes().to_vec(),
        Metadata::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

async fn append(store: &dyn EventStore, stream: &str, labels: &[&str]) {
    let stream = StreamId::parse(stream).unwrap();
    let events = labels.iter().map(|label| event(label)).collect();
    store
        .append(&stream, ExpectedVersion::Any, events)
        .await
        .unwrap();
}

fn consumer<F: Fixture>(fixture: &F, name: &str, batch: usize) -> Arc<Consumer> {
    consumer_with(fixture, name, Recorder::default().batched(batch))
}

impl Recorder {
    fn batched(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }
}

/// A consumer over `recorder`, with short waits: backoff from 10 to 50 ms, stalled after 5
/// attempts, requested retries looked for every 50 ms.
fn consumer_with<F: Fixture>(fixture: &F, name: &str, recorder: Recorder) -> Arc<Consumer> {
    let retry = RetryPolicy {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
        stalled_after: 5,
    };
    Arc::new(
        Consumer::new(name, fixture.db(), Arc::new(recorder))
            .with_retry(retry)
            .with_redrive_every(Duration::from_millis(50)),
    )
}

async fn wait_for_seen<F: Fixture>(fixture: &F, count: usize) -> Vec<(String, i64, Vec<u8>)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = seen_rows(&fixture.db()).await;
        if seen.len() >= count || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_dead_letters<F: Fixture>(fixture: &F, name: &str, count: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = fixture.dead_letters(name).await;
        if found >= count || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_streams_in_order(seen: &[(String, i64, Vec<u8>)]) {
    let mut versions: HashMap<&str, i64> = HashMap::new();
    for (stream, version, _) in seen {
        let last = versions.entry(stream).or_insert(0);
        assert_eq!(*version, *last + 1, "stream {stream} out of order");
        *last = *version;
    }
}

// ---- the cases -----------------------------------------------------------------------------

async fn every_event_is_handled_once_and_each_stream_in_order<F: Fixture>(
    fixture: &F,
    batch: usize,
) {
    let running = fixture.start(consumer(fixture, "orderly", batch)).await;
    for round in 0..10 {
        for stream in ["w-1", "w-2", "w-3", "w-4", "w-5"] {
            append(&*fixture.store(), stream, &[&format!("{stream}/{round}")]).await;
        }
    }
    let seen = wait_for_seen(fixture, 50).await;
    running.stop().await;
    assert_eq!(seen.len(), 50);
    assert_streams_in_order(&seen);
}

async fn a_redelivered_event_has_no_second_effect<F: Fixture>(fixture: &F, batch: usize) {
    append(&*fixture.store(), "w-1", &["a", "b", "c"]).await;
    let running = fixture.start(consumer(fixture, "dedupe", batch)).await;
    assert_eq!(wait_for_seen(fixture, 3).await.len(), 3);
    running.stop().await;
    fixture.redeliver_everything().await;
    append(&*fixture.store(), "w-1", &["d"]).await;
    let running = fixture.start(consumer(fixture, "dedupe", batch)).await;
    let seen = wait_for_seen(fixture, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen_later = seen_rows(&fixture.db()).await;
    running.stop().await;
    assert_eq!(seen.len(), 4);
    assert_eq!(seen_later.len(), 4, "redelivered events were applied again");
}

async fn a_consumer_crashed_at_any_point_resumes_without_loss_or_duplicates<F: Fixture>(
    fixture: &F,
    batch: usize,
) {
    let total = 200;
    for i in 0..total {
        append(
            &*fixture.store(),
            &format!("w-{}", i % 7),
            &[&format!("e{i}")],
        )
        .await;
    }
    for crash_after_ms in [15, 40, 5] {
        let running = fixture.start(consumer(fixture, "crashy", batch)).await;
        tokio::time::sleep(Duration::from_millis(crash_after_ms)).await;
        running.crash();
    }
    let running = fixture.start(consumer(fixture, "crashy", batch)).await;
    let seen = wait_for_seen(fixture, total).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen_later = seen_rows(&fixture.db()).await;
    running.stop().await;
    assert_eq!(seen.len(), total);
    assert_eq!(seen_later.len(), total);
    assert_streams_in_order(&seen_later);
}

async fn a_poison_message_is_dead_lettered_and_the_consumer_moves_on<F: Fixture>(
    fixture: &F,
    batch: usize,
) {
    append(&*fixture.store(), "w-1", &["fine", "poison", "after"]).await;
    let running = fixture.start(consumer(fixture, "poisoned", batch)).await;
    let seen = wait_for_seen(fixture, 2).await;
    let dead = wait_for_dead_letters(fixture, "poisoned", 1).await;
    running.stop().await;
    let payloads: Vec<_> = seen.iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(payloads, vec![b"fine".to_vec(), b"after".to_vec()]);
    assert_eq!(dead, 1);
}

async fn an_undecodable_message_is_dead_lettered_and_the_consumer_moves_on<F: Fixture>(
    fixture: &F,
    batch: usize,
) {
    append(&*fixture.store(), "w-1", &["before"]).await;
    let running = fixture.start(consumer(fixture, "garbled", batch)).await;
    assert_eq!(wait_for_seen(fixture, 1).await.len(), 1);
    fixture.inject_undecodable().await;
    append(&*fixture.store(), "w-1", &["after"]).await;
    let seen = wait_for_seen(fixture, 2).await;
    let dead = wait_for_dead_letters(fixture, "garbled", 1).await;
    running.stop().await;
    assert_eq!(seen.len(), 2);
    assert_eq!(dead, 1);
}

async fn a_transient_failure_is_retried_in_place_keeping_the_order<F: Fixture>(
    fixture: &F,
    batch: usize,
) {
    append(&*fixture.store(), "w-1", &["one", "flaky", "three"]).await;
    let running = fixture.start(consumer(fixture, "patient", batch)).await;
    let seen = wait_for_seen(fixture, 3).await;
    running.stop().await;
    let payloads: Vec<_> = seen.iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(
        payloads,
        vec![b"one".to_vec(), b"flaky".to_vec(), b"three".to_vec()]
    );
    assert_eq!(fixture.dead_letters("patient").await, 0);
}

/// The old retry budget (5 attempts here) dead-lettered an event whose dependency stayed away
/// longer and marked it processed: its effect was lost. Now it waits the outage out.
async fn an_outage_longer_than_any_retry_budget_is_waited_out_and_nothing_is_dead_lettered<
    F: Fixture,
>(
    fixture: &F,
    batch: usize,
) {
    let down = Arc::new(AtomicBool::new(true));
    let recorder = Recorder {
        down: down.clone(),
        ..Recorder::default()
    };
    let consumer = consumer_with(fixture, "outlasting", recorder.batched(batch));
    let running = fixture.start(consumer.clone()).await;
    append(&*fixture.store(), "w-1", &["one", "two", "three"]).await;
    // 40 attempts' worth of the test policy's backoff (at most 50 ms each): far past 5.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(seen_rows(&fixture.db()).await.is_empty());
    let stalls = consumer.stalls().current();
    assert_eq!(stalls.len(), 1, "the stall is reported for readiness");
    assert_eq!(stalls[0].0, "outlasting");
    assert!(stalls[0].1.attempts > 5, "{:?}", stalls[0].1);
    assert!(stalls[0].1.reason.contains("the database is away"));
    down.store(false, Ordering::SeqCst);
    let seen = wait_for_seen(fixture, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dead = fixture.dead_letters("outlasting").await;
    running.stop().await;
    assert!(
        consumer.stalls().is_empty(),
        "the stall ends with the outage"
    );
    let payloads: Vec<_> = seen.iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(
        payloads,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    assert_eq!(dead, 0, "a transient failure was dead-lettered");
}

/// A poison message is dead-lettered with its reason, listed and shown; once the handler is
/// fixed, a requested retry redrives it exactly once, and asking again changes nothing.
async fn a_dead_letter_is_listed_shown_and_redriven_once<F: Fixture>(fixture: &F, batch: usize) {
    let cured = Arc::new(AtomicBool::new(false));
    let recorder = Recorder {
        cured: cured.clone(),
        ..Recorder::default()
    };
    let name = "redriven";
    let running = fixture
        .start(consumer_with(fixture, name, recorder.batched(batch)))
        .await;
    append(&*fixture.store(), "w-1", &["fine", "poison", "after"]).await;
    assert_eq!(wait_for_seen(fixture, 2).await.len(), 2);
    assert_eq!(wait_for_dead_letters(fixture, name, 1).await, 1);

    let pool = fixture.db();
    let listed = bookkeeping::list_dead_letters(&pool, Some(name), 0, 100)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let letter = &listed[0];
    assert!(letter.reason.contains("poison pill"), "{}", letter.reason);
    assert_eq!(letter.retry, RetryState::NotRequested);
    let shown = bookkeeping::dead_letter(&pool, letter.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&shown, letter);
    let delivered = kesos_bus::envelope::decode(&shown.payload).unwrap();
    assert_eq!(delivered.event.payload, b"poison");
    assert_eq!(Some(delivered.event.event_id), shown.event_id);
    assert!(
        bookkeeping::list_dead_letters(&pool, Some("nobody"), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );

    cured.store(true, Ordering::SeqCst);
    let asked = bookkeeping::request_retry(&pool, letter.id, None)
        .await
        .unwrap();
    assert_eq!(asked, RetryRequest::Requested);
    let again = bookkeeping::request_retry(&pool, letter.id, None)
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            RetryRequest::AlreadyRequested | RetryRequest::AlreadyRetried(_)
        ),
        "{again:?}"
    );
    let seen = wait_for_seen(fixture, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = bookkeeping::request_retry(&pool, letter.id, None)
        .await
        .unwrap();
    let seen_later = seen_rows(&pool).await;
    let shown = bookkeeping::dead_letter(&pool, letter.id)
        .await
        .unwrap()
        .unwrap();
    let dead = fixture.dead_letters(name).await;
    running.stop().await;
    let payloads: Vec<_> = seen.iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(
        payloads,
        vec![b"fine".to_vec(), b"after".to_vec(), b"poison".to_vec()]
    );
    assert_eq!(
        seen_later.len(),
        3,
        "a redriven dead letter was applied twice"
    );
    assert_eq!(after, RetryRequest::AlreadyRetried("handled".into()));
    assert_eq!(
        shown.retry,
        RetryState::Retried {
            outcome: "handled".into()
        }
    );
    assert_eq!(dead, 1);
    assert_eq!(
        bookkeeping::request_retry(&pool, i64::MAX, None)
            .await
            .unwrap(),
        RetryRequest::NotFound
    );
}

/// A retry of a message the handler still refuses settles the request and records a new dead
/// letter with the new reason; the consumer goes on, and the old one cannot be retried again.
async fn a_retry_that_fails_again_is_a_new_dead_letter<F: Fixture>(fixture: &F, batch: usize) {
    let name = "relapsed";
    let running = fixture
        .start(consumer_with(
            fixture,
            name,
            Recorder::default().batched(batch),
        ))
        .await;
    append(&*fixture.store(), "w-1", &["poison", "after"]).await;
    assert_eq!(wait_for_seen(fixture, 1).await.len(), 1);
    assert_eq!(wait_for_dead_letters(fixture, name, 1).await, 1);
    let pool = fixture.db();
    let first = bookkeeping::list_dead_letters(&pool, Some(name), 0, 10)
        .await
        .unwrap()
        .remove(0);
    let asked = bookkeeping::request_retry(&pool, first.id, None)
        .await
        .unwrap();
    assert_eq!(asked, RetryRequest::Requested);
    let deadline = tokio::time::Instant::now() + WAIT;
    let letters = loop {
        let letters = bookkeeping::list_dead_letters(&pool, Some(name), 0, 10)
            .await
            .unwrap();
        if letters.len() == 2 || tokio::time::Instant::now() > deadline {
            break letters;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    append(&*fixture.store(), "w-1", &["later"]).await;
    let seen = wait_for_seen(fixture, 2).await;
    let again = bookkeeping::request_retry(&pool, first.id, None)
        .await
        .unwrap();
    running.stop().await;
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(
        letters[0].retry,
        RetryState::Retried {
            outcome: "failed again: poison pill".into()
        }
    );
    assert_eq!(letters[1].retry, RetryState::NotRequested);
    assert_eq!(letters[1].event_id, first.event_id);
    assert_eq!(letters[1].payload, first.payload);
    assert_eq!(letters[1].reason, "poison pill");
    assert_eq!(seen.len(), 2, "the consumer went on");
    assert_eq!(
        again,
        RetryRequest::AlreadyRetried("failed again: poison pill".into())
    );
}

/// The batch size of the batched runs: small, so that the cases' few events span batches.
const BATCH: usize = 8;

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod over_embedded_log {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::Embedded::new().await;
                    super::$case(&fixture, 1).await;
                    super::Fixture::finish(fixture).await;
                }
            )*
        }
        mod over_jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::Distributed::new().await;
                    super::$case(&fixture, 1).await;
                    super::Fixture::finish(fixture).await;
                }
            )*
        }
        mod batched_over_embedded_log {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::Embedded::new().await;
                    super::$case(&fixture, super::BATCH).await;
                    super::Fixture::finish(fixture).await;
                }
            )*
        }
        mod batched_over_jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::Distributed::new().await;
                    super::$case(&fixture, super::BATCH).await;
                    super::Fixture::finish(fixture).await;
                }
            )*
        }
    };
}

suite!(
    every_event_is_handled_once_and_each_stream_in_order,
    a_redelivered_event_has_no_second_effect,
    a_consumer_crashed_at_any_point_resumes_without_loss_or_duplicates,
    a_poison_message_is_dead_lettered_and_the_consumer_moves_on,
    an_undecodable_message_is_dead_lettered_and_the_consumer_moves_on,
    a_transient_failure_is_retried_in_place_keeping_the_order,
    an_outage_longer_than_any_retry_budget_is_waited_out_and_nothing_is_dead_lettered,
    a_dead_letter_is_listed_shown_and_redriven_once,
    a_retry_that_fails_again_is_a_new_dead_letter,
);

// ---- the relay (JetStream only) -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_at_any_point_loses_nothing_and_publishes_nothing_twice() {
    let schema = PgSchema::create().await;
    let store = Arc::new(schema.store().await);
    let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let mut names = StreamNames::new(unique_name("t"), unique_name("T"), unique_name("D")).unwrap();
    names.services = vec!["test".into()];
    let total = 1000;
    for i in 0..total / 10 {
        let labels: Vec<String> = (0..10).map(|j| format!("e{i}-{j}")).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        append(&*store, &format!("w-{}", i % 13), &labels).await;
    }
    for kill_after_ms in [3, 10, 1, 25] {
        let relay = start_relay(store.clone(), context.clone(), names.clone()).await;
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        relay.crash();
        // A crash between the acks and the cursor save: the cursor lags what was published
        // (set behind by hand; a save never moves it back).
        let cursor = store.cursor("relay:kesos").await.unwrap();
        sqlx::query("UPDATE kesos_cursors SET position = $1 WHERE name = 'relay:kesos'")
            .bind(i64::try_from(cursor.saturating_sub(150)).unwrap())
            .execute(store.pool())
            .await
            .unwrap();
    }
    let relay = start_relay(store.clone(), context.clone(), names.clone()).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.cursor("relay:kesos").await.unwrap() < total
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.stop().await;
    let mut stream = context.get_stream(&names.events_stream).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(
        info.state.messages, total,
        "each event published exactly once"
    );

    // The stream holds the log in order, each message an envelope of the event at that position.
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer
        .messages()
        .await
        .unwrap()
        .take(usize::try_from(total).unwrap());
    let mut position = 0;
    while let Some(message) = messages.next().await {
        let delivered = kesos_bus::envelope::decode(&message.unwrap().payload).unwrap();
        assert_eq!(delivered.event.position, position + 1);
        position = delivered.event.position;
    }
    assert_eq!(position, total);
    let _ = context.delete_stream(&names.events_stream).await;
    let _ = context.delete_stream(&names.dead_letter_stream).await;
    schema.drop_now().await;
}
