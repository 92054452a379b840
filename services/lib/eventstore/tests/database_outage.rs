//! The database goes away mid-run: appends fail with a typed, transient error, nothing already
//! stored is lost, and retrying the same events stores them exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kesos_eventstore::{
    AsOf, EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId,
};
use kesos_testkit::PgSchema;
use time::OffsetDateTime;
use uuid::Uuid;

fn event(n: u8) -> NewEvent {
    let kind = EventType::parse("kesos.test.v1.Happened").unwrap();
    NewEvent::new(
        Uuid::now_v7(),
        kind,
        1,
        vec![n],
        Metadata::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

async fn cut_connections(admin: &sqlx::PgPool, schema: &PgSchema) -> i64 {
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(format!("kesos:{}", schema.name))
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn idle_connections_cut_under_the_store_are_replaced_without_an_error() {
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    let admin = schema.pool().await;
    let stream = StreamId::parse("worker-idle-cut").unwrap();
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event(1)])
        .await
        .unwrap();
    assert!(cut_connections(&admin, &schema).await > 0);
    store
        .append(&stream, ExpectedVersion::Exactly(1), vec![event(2)])
        .await
        .unwrap();
    assert_eq!(
        store.read_stream(&stream, AsOf::Now).await.unwrap().len(),
        2
    );
    admin.close().await;
    schema.drop_now().await;
}

#[tokio::test]
async fn a_connection_cut_during_an_append_is_a_transient_error_and_the_retry_stores_once() {
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    let admin = schema.pool().await;
    let stream = StreamId::parse("worker-outage").unwrap();
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event(1), event(2)])
        .await
        .unwrap();

    // Hold the log head so the next append waits inside PostgreSQL, then cut its connection.
    let mut blocker = admin.begin().await.unwrap();
    sqlx::query("SELECT position FROM kesos_log_head FOR UPDATE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let events = vec![event(3), event(4)];
    let pending = {
        let store = store.clone();
        let stream = stream.clone();
        let events = events.clone();
        tokio::spawn(async move {
            store
                .append(&stream, ExpectedVersion::Exactly(2), events)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cut_connections(&admin, &schema).await > 0);
    let error = pending.await.unwrap().unwrap_err();
    assert!(
        error.is_transient(),
        "a cut connection is transient: {error}"
    );
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    blocker.rollback().await.unwrap();

    let retried = store
        .append(&stream, ExpectedVersion::Exactly(2), events.clone())
        .await
        .unwrap();
    assert_eq!((retried.stream_version, retried.already_stored), (4, false));
    let again = store
        .append(&stream, ExpectedVersion::Exactly(2), events)
        .await
        .unwrap();
    assert!(
        again.already_stored,
        "a second retry finds the events stored"
    );
    let stored = store.read_stream(&stream, AsOf::Now).await.unwrap();
    let payloads: Vec<u8> = stored.iter().map(|e| e.payload[0]).collect();
    assert_eq!(payloads, vec![1, 2, 3, 4], "nothing lost, nothing twice");
    admin.close().await;
    store.pool().close().await;
    schema.drop_now().await;
}
