//! Gap-safe ordered reading under concurrent writers: the bug most PostgreSQL event stores
//! shipped (a reader trusting `position > last` skips a transaction that commits late).
//!
//! Six writers, each its own store instance with its own connection pool and group-commit
//! writer (as six processes would be), append thousands of events to shared and private
//! streams while a catch-up reader follows the log. Every third append carries one event, so
//! on PostgreSQL both append functions (`kesos_append_single` and `kesos_append`) write
//! concurrently, from different writers. The reader must see every committed event
//! exactly once, positions strictly increasing, and every stream in version order. Bounded:
//! a fixed number of appends, and the reader stops once it has caught up with the writers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::TryStreamExt;
use kesos_eventstore::{
    AsOf, EventStore, EventType, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StreamId,
};
use kesos_testkit::{PgSchema, SqliteFile};
use time::OffsetDateTime;
use uuid::Uuid;

const WRITERS: usize = 6;
const APPENDS_PER_WRITER: usize = 500;
const SHARED_STREAMS: usize = 8;

fn events(count: usize) -> Vec<NewEvent> {
    (0..count)
        .map(|_| {
            NewEvent::new(
                Uuid::now_v7(),
                EventType::parse("kesos.test.v1.Stressed").unwrap(),
                1,
                vec![7; 64],
                Metadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        })
        .collect()
}

async fn write(store: Arc<dyn EventStore>, writer: usize) -> usize {
    let mut own_versions = HashMap::new();
    let mut written = 0;
    for i in 0..APPENDS_PER_WRITER {
        let count = 1 + i % 3;
        if i % 2 == 0 {
            let shared =
                StreamId::parse(format!("shared-{}", (writer + i) % SHARED_STREAMS)).unwrap();
            store
                .append(&shared, ExpectedVersion::Any, events(count))
                .await
                .unwrap();
        } else {
            let name = format!("writer{writer}-{}", i % 25);
            let version = own_versions.entry(name.clone()).or_insert(0_u64);
            let expected = if *version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exactly(*version)
            };
            let stream = StreamId::parse(name).unwrap();
            let outcome = store
                .append(&stream, expected, events(count))
                .await
                .unwrap();
            *version = outcome.stream_version;
        }
        written += count;
    }
    written
}

struct Follower {
    last_position: u64,
    seen: HashSet<Uuid>,
    versions: HashMap<StreamId, u64>,
}

impl Follower {
    fn take(&mut self, event: RecordedEvent) {
        assert!(
            event.position > self.last_position,
            "position {} after {}",
            event.position,
            self.last_position
        );
        self.last_position = event.position;
        assert!(
            self.seen.insert(event.event_id),
            "event {} seen twice",
            event.event_id
        );
        let version = self.versions.entry(event.stream_id.clone()).or_insert(0);
        assert_eq!(
            event.stream_version,
            *version + 1,
            "stream {} out of order at position {}",
            event.stream_id,
            event.position
        );
        *version = event.stream_version;
    }
}

async fn follow(store: Arc<dyn EventStore>, writers_done: Arc<AtomicBool>) -> Follower {
    let mut follower = Follower {
        last_position: 0,
        seen: HashSet::new(),
        versions: HashMap::new(),
    };
    loop {
        let done_before_reading = writers_done.load(Ordering::SeqCst);
        let batch: Vec<RecordedEvent> = store
            .read_all(follower.last_position, AsOf::Now)
            .try_collect()
            .await
            .unwrap();
        let caught_up = batch.is_empty();
        for event in batch {
            follower.take(event);
        }
        if done_before_reading && caught_up {
            return follower;
        }
        tokio::task::yield_now().await;
    }
}

async fn writers_and_a_follower_agree(
    writers: Vec<Arc<dyn EventStore>>,
    reader: Arc<dyn EventStore>,
) {
    let writers_done = Arc::new(AtomicBool::new(false));
    let following = tokio::spawn(follow(reader.clone(), writers_done.clone()));
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(i, store)| tokio::spawn(write(store, i)))
        .collect();
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap();
    }
    writers_done.store(true, Ordering::SeqCst);
    let follower = following.await.unwrap();

    let stored: Vec<RecordedEvent> = reader.read_all(0, AsOf::Now).try_collect().await.unwrap();
    assert_eq!(stored.len(), written, "every append stored");
    assert_eq!(
        follower.seen.len(),
        written,
        "the follower saw every committed event once"
    );
    let stored_ids: HashSet<_> = stored.iter().map(|e| e.event_id).collect();
    assert_eq!(stored_ids, follower.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_catch_up_reader_on_postgres_sees_every_event_once_and_every_stream_in_order() {
    let schema = PgSchema::create().await;
    let mut writers: Vec<Arc<dyn EventStore>> = Vec::new();
    for _ in 0..WRITERS {
        writers.push(Arc::new(schema.store().await));
    }
    let reader: Arc<dyn EventStore> = Arc::new(schema.store().await);
    writers_and_a_follower_agree(writers, reader).await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_catch_up_reader_on_sqlite_sees_every_event_once_and_every_stream_in_order() {
    let file = SqliteFile::create();
    let store: Arc<dyn EventStore> = Arc::new(file.store().await);
    let writers = (0..WRITERS).map(|_| store.clone()).collect();
    writers_and_a_follower_agree(writers, store).await;
}
