//! `kesos dead-letters list | show | retry` on both backends (SQLite for the embedded mode,
//! PostgreSQL for the distributed one), and readiness while a consumer is stalled. The redrive
//! itself (a running consumer handing a retried dead letter to its handler, once) is tested on
//! both feeds in `kesos-bus`'s feed suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Instant;

use kesos::Application;
use kesos_bus::{RetryState, bookkeeping, envelope};
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_readside::Db;
use kesos_runtime::Shutdown;
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url};
use time::OffsetDateTime;

fn kesos(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kesos"));
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KESOS_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn record(
    pool: &Db,
    consumer: &str,
    origin: Option<(String, u64)>,
    event_id: Option<uuid::Uuid>,
    reason: &str,
    raw: &[u8],
) {
    let mut transaction = pool.begin().await.unwrap();
    bookkeeping::record_dead_letter(
        &mut transaction,
        consumer,
        origin.as_ref(),
        event_id,
        reason,
        raw,
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();
}

/// Three dead letters: a refused event (whole envelope), one recorded before envelopes were
/// kept (the event's payload only), and bytes that never were an event.
async fn the_command_lists_shows_and_retries_once(
    store: Arc<dyn EventStore>,
    pool: &Db,
    dir: &Path,
    env: &[(&str, String)],
) {
    bookkeeping::migrate_consumers(pool).await.unwrap();
    let kind = EventType::parse("kesos.scheduling.v1.AssessmentDecided").unwrap();
    let events = (0..2)
        .map(|i| {
            NewEvent::new(
                uuid::Uuid::now_v7(),
                kind.clone(),
                1,
                vec![i; 4],
                Metadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        })
        .collect();
    store
        .append(
            &StreamId::parse("session-1").unwrap(),
            ExpectedVersion::Any,
            events,
        )
        .await
        .unwrap();
    let log = store.read_batch(0, 10).await.unwrap();
    let (first, second) = (&log[0], &log[1]);
    let intake = "certification-intake";
    record(
        pool,
        intake,
        Some(("certification".into(), first.position)),
        Some(first.event_id),
        "rejected: scheme X is unknown\nto the reference data",
        &envelope::encode("certification", first),
    )
    .await;
    record(
        pool,
        intake,
        Some(("certification".into(), second.position)),
        Some(second.event_id),
        "rejected: an old one",
        &second.payload,
    )
    .await;
    record(
        pool,
        "scheduling-intake",
        None,
        None,
        "not a kesos.envelope.v1.EventEnvelope",
        &[0xff, 0x01],
    )
    .await;
    let ids: Vec<i64> = bookkeeping::list_dead_letters(pool, None, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|letter| letter.id)
        .collect();
    let [refused, old, garbage] = ids[..] else {
        panic!("{ids:?}")
    };

    let listed = kesos(dir, &["dead-letters", "list"], env);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let lines: Vec<String> = text(&listed.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{refused}\t{intake}\t")),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("\tdead\t"), "{}", lines[0]);
    assert!(lines[0].contains(&format!("certification@{}", first.position)));
    assert!(
        lines[0].ends_with("rejected: scheme X is unknown to the reference data"),
        "{}",
        lines[0]
    );
    let only = kesos(
        dir,
        &["dead-letters", "list", "--consumer", "scheduling-intake"],
        env,
    );
    assert_eq!(
        text(&only.stdout).lines().count(),
        1,
        "{}",
        text(&only.stdout)
    );

    let shown = kesos(dir, &["dead-letters", "show", &refused.to_string()], env);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(
        shown.contains("consumer:    certification-intake"),
        "{shown}"
    );
    assert!(shown.contains("rejected: scheme X is unknown"), "{shown}");
    assert!(
        shown.contains(&format!(
            "event:       kesos.scheduling.v1.AssessmentDecided {}",
            first.event_id
        )),
        "{shown}"
    );

    let retried = kesos(dir, &["dead-letters", "retry", &refused.to_string()], env);
    assert!(retried.status.success(), "{}", text(&retried.stderr));
    assert!(text(&retried.stdout).contains("retry requested"));
    let again = kesos(dir, &["dead-letters", "retry", &refused.to_string()], env);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("already requested; nothing changed"),
        "{}",
        text(&again.stdout)
    );
    let letter = bookkeeping::dead_letter(pool, refused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.retry, RetryState::Requested);

    // The old dead letter is rebuilt from the log, so the consumer can redrive it.
    let rebuilt = kesos(dir, &["dead-letters", "retry", &old.to_string()], env);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt.stderr));
    let letter = bookkeeping::dead_letter(pool, old).await.unwrap().unwrap();
    assert_eq!(letter.retry, RetryState::Requested);
    let delivered = envelope::decode(&letter.payload).unwrap();
    assert_eq!(delivered.event.event_id, second.event_id);

    let refused_retry = kesos(dir, &["dead-letters", "retry", &garbage.to_string()], env);
    assert!(!refused_retry.status.success());
    let stderr = text(&refused_retry.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not an event"), "{stderr}");
    let letter = bookkeeping::dead_letter(pool, garbage)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.retry, RetryState::NotRequested);

    let missing = kesos(dir, &["dead-letters", "show", "999999"], env);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no dead letter numbered 999999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_and_retried_once_in_the_embedded_mode() {
    let file = SqliteFile::create();
    let store = file.store().await;
    let pool = Db::from(store.pool().clone());
    let env = [("KESOS_SQLITE_PATH", file.path.display().to_string())];
    let dir = file.path.parent().unwrap().to_path_buf();
    the_command_lists_shows_and_retries_once(Arc::new(store), &pool, &dir, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_and_retried_once_in_the_distributed_mode() {
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    let pool = Db::from(store.pool().clone());
    let env = [
        ("KESOS_DATABASE_URL", database_url()),
        ("KESOS_DATABASE_SCHEMA", schema.name.clone()),
        ("KESOS_NATS_URL", nats_url()),
    ];
    let dir = std::env::temp_dir();
    the_command_lists_shows_and_retries_once(Arc::new(store), &pool, &dir, &env).await;
    pool.close().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_while_a_consumer_is_stalled_and_200_once_it_moves_on() {
    let file = SqliteFile::create();
    let mut config = common::embedded_config(&file);
    config.token_key_file = Some(file.path.parent().unwrap().join("token.key"));
    let application = Application::build(&config).await.unwrap();
    let base = format!("http://{}", application.address());
    let stalls = application.stalls().clone();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    let ready = || async {
        let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    };
    assert_eq!(ready().await.0, 200);
    stalls.report(
        "certification-intake",
        Instant::now(),
        9,
        "pool timed out: secret host db.internal",
    );
    let (status, body) = ready().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stalled"), "{body}");
    assert!(
        !body.contains("db.internal"),
        "the failure's text stays in the log: {body}"
    );
    stalls.clear("certification-intake");
    assert_eq!(ready().await.0, 200);
    shutdown.trigger();
    task.await.unwrap().unwrap();
}
