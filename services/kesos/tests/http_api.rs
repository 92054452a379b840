//! The kesos process over a real socket on port 0, in both modes: embedded (SQLite file) and
//! distributed (a fresh PostgreSQL schema, the real NATS JetStream server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;

use common::{embedded_config, start};
use kesos::Application;
use kesos_eventstore::{EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url, unique_name};
use serde_json::Value;
use time::OffsetDateTime;

fn event(label: &str) -> NewEvent {
    NewEvent::new(
        uuid::Uuid::now_v7(),
        EventType::parse("kesos.enrollment.v1.TargetSet").unwrap(),
        1,
        label.as_bytes().to_vec(),
        Metadata::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_embedded_process_answers_health_readiness_and_log_status() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let (status, _, body) = running.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = running.get("/readyz").await;
    assert_eq!((status, body["mode"].as_str()), (200, Some("embedded")));
    let stream = StreamId::parse("worker-1").unwrap();
    running
        .store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![event("a"), event("b")],
        )
        .await
        .unwrap();
    let (status, _, body) = running.get("/v1/log").await;
    assert_eq!((status, body["head_position"].as_u64()), (200, Some(2)));
    let (_, _, openapi) = running.get("/openapi.json").await;
    assert!(openapi["paths"]["/v1/audit/verify"].is_object());
    running.stop().await;
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_json_404() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let (status, content_type, body) = running.get("/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"].as_u64(), Some(404));
    assert!(body["detail"].as_str().unwrap().contains("openapi"));
    running.stop().await;
}

#[tokio::test]
async fn stopping_signs_a_checkpoint_that_audit_verification_then_accepts() {
    let file = SqliteFile::create();
    let config = embedded_config(&file);
    let running = start(config.clone()).await;
    let stream = StreamId::parse("worker-2").unwrap();
    running
        .store
        .append(&stream, ExpectedVersion::NoStream, vec![event("a")])
        .await
        .unwrap();
    running.stop().await;

    let running = start(config).await;
    let (status, _, log) = running.get("/v1/log").await;
    assert_eq!((status, log["checkpoints"].as_u64()), (200, Some(1)));
    let (status, _, report) = running.post("/v1/audit/verify").await;
    assert_eq!(status, 200);
    assert_eq!(report["intact"], Value::Bool(true));
    assert_eq!(report["checkpoints"].as_u64(), Some(1));
    running.stop().await;
}

#[tokio::test]
async fn the_distributed_process_relays_its_log_to_jetstream() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let key_file = dir.path.parent().unwrap().join("signing.key");
    let key = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
    kesos::keys::write_signing_key(&key_file, &key, false).unwrap();
    let master_file = dir.path.parent().unwrap().join("master.key");
    kesos::keys::write_secret_file(
        &master_file,
        &kesos_vault::MasterKey::generate().to_hex(),
        false,
    )
    .unwrap();
    let config = Config {
        master_key_file: Some(master_file),
        database_url: Some(database_url()),
        database_schema: Some(schema.name.clone()),
        nats_url: Some(nats_url()),
        nats_subject_prefix: unique_name("t"),
        nats_stream: unique_name("T"),
        nats_dead_letter_stream: unique_name("D"),
        nats_lsps_stream: unique_name("L"),
        signing_key_file: Some(key_file),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };

    let running = start(config.clone()).await;
    let (status, _, body) = running.get("/readyz").await;
    assert_eq!((status, body["nats"].as_str()), (200, Some("connected")));
    let stream = StreamId::parse("worker-3").unwrap();
    let events = (0..25).map(|i| event(&format!("e{i}"))).collect();
    running
        .store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .unwrap();

    let context = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let mut jet_stream = context.get_stream(&config.nats_stream).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut messages = 0;
    while messages < 25 && tokio::time::Instant::now() < deadline {
        messages = jet_stream.info().await.unwrap().state.messages;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(messages, 25);
    running.stop().await;
    context.delete_stream(&config.nats_stream).await.unwrap();
    context
        .delete_stream(&config.nats_dead_letter_stream)
        .await
        .unwrap();
    context
        .delete_stream(&config.nats_lsps_stream)
        .await
        .unwrap();
    schema.drop_now().await;
}

#[tokio::test]
async fn the_distributed_mode_refuses_to_start_without_a_signing_key() {
    let schema = PgSchema::create().await;
    let config = Config {
        database_url: Some(database_url()),
        database_schema: Some(schema.name.clone()),
        nats_url: Some(nats_url()),
        signing_key_file: Some(
            std::env::temp_dir()
                .join(unique_name("missing"))
                .join("signing.key"),
        ),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    let error = Application::build(&config)
        .await
        .err()
        .expect("must refuse")
        .to_string();
    assert!(error.contains("kesos key generate"), "{error}");
    schema.drop_now().await;
}
