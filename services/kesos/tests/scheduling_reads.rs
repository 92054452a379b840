//! Scheduling's lists over a real socket, in both modes: a command answers once the lists show
//! its write (it waits for its position), and a list answers from the rows the projector has
//! applied without applying anything itself, even when the projector is stuck.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::modes::{delete_streams, distributed, embedded};
use common::{Running, start};
use kesos_eventstore::{EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn session_form(assessor: &str) -> Value {
    let starts = OffsetDateTime::now_utc() + time::Duration::days(30);
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK Cimahi", "region": "32.77" },
        "starts_at": at(starts), "ends_at": at(starts + time::Duration::hours(8)),
        "capacity": 10, "assessor_ids": [assessor], "lsps_id": "LSPS-PEKSOS"
    })
}

async fn schedule(running: &Running, assessor: &str) -> String {
    let (status, _, session) = running
        .post_json("/v1/sessions", &session_form(assessor), None)
        .await;
    assert_eq!(status, 201, "{session}");
    session["session_id"].as_str().unwrap().to_owned()
}

async fn listed(running: &Running) -> (u64, Vec<String>) {
    let (status, _, page) = running.get("/v1/sessions").await;
    assert_eq!(status, 200, "{page}");
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["session_id"].as_str().unwrap().to_owned())
        .collect();
    (page["total"].as_u64().unwrap(), ids)
}

async fn a_session_scheduled_is_listed_by_the_very_next_get(config: Config) {
    let running = start(config).await;
    for n in 0..3_u64 {
        let session = schedule(&running, &format!("ASR-RYW-{n}")).await;
        let (total, ids) = listed(&running).await;
        assert_eq!(total, n + 1);
        assert!(ids.contains(&session), "{session} is not listed: {ids:?}");
    }
    running.stop().await;
}

/// Appends a scheduling event the read models cannot decode: their projector stops before it
/// and retries, while the log goes on.
async fn poison(running: &Running) {
    let event = NewEvent::new(
        uuid::Uuid::now_v7(),
        EventType::parse("kesos.scheduling.v1.SessionScheduled").unwrap(),
        1,
        vec![0xff; 8],
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "user:test".into(),
            trace_parent: String::new(),
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let stream = StreamId::parse(format!("session-{}", uuid::Uuid::now_v7())).unwrap();
    running
        .store
        .append(&stream, ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
}

async fn a_session_list_answers_from_the_applied_rows_while_the_pool_is_stalled(config: Config) {
    let running = start(config).await;
    let session = schedule(&running, "ASR-STALL").await;
    poison(&running).await;
    // A list that caught up first would fail on the event; one that only reads answers.
    let (total, ids) = listed(&running).await;
    assert_eq!((total, ids), (1, vec![session]));
    let (status, _, candidates) = running.get("/v1/candidates").await;
    assert_eq!(status, 200, "{candidates}");
    let mut ready = 200;
    for _ in 0..100 {
        (ready, _, _) = running.get("/readyz").await;
        if ready == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ready, 503,
        "readiness does not report the stalled projection"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_session_scheduled_is_listed_by_the_very_next_get() {
    let file = SqliteFile::create();
    a_session_scheduled_is_listed_by_the_very_next_get(embedded(&file)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_session_scheduled_is_listed_by_the_very_next_get() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = distributed(&schema, &dir);
    a_session_scheduled_is_listed_by_the_very_next_get(config.clone()).await;
    delete_streams(&config).await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_session_list_answers_from_the_applied_rows_while_the_pool_is_stalled() {
    let file = SqliteFile::create();
    a_session_list_answers_from_the_applied_rows_while_the_pool_is_stalled(embedded(&file)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_session_list_answers_from_the_applied_rows_while_the_pool_is_stalled() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = distributed(&schema, &dir);
    a_session_list_answers_from_the_applied_rows_while_the_pool_is_stalled(config.clone()).await;
    delete_streams(&config).await;
    schema.drop_now().await;
}
