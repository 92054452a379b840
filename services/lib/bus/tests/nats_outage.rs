//! NATS goes away mid-run: the relay reports a typed error, its cursor does not move past what
//! JetStream acknowledged, and once NATS is back every event is in the stream exactly once.
//! The test runs its own nats-server on a free loopback port and stops it by its own PID.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kesos_bus::{BusError, Relay, RelaySettings, StreamNames};
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_testkit::{PgSchema, free_port, unique_name};
use time::OffsetDateTime;
use uuid::Uuid;

fn nats_server_binary() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nats-server")])
        .find(|path| path.is_file())
        .expect("nats-server is not installed; run deploy/local/up")
}

/// Our own nats-server; killed (by its PID) when dropped, also when the test panics.
struct PrivateNats(Child);

impl PrivateNats {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_nats(port: u16, store_dir: &Path) -> PrivateNats {
    let child = Command::new(nats_server_binary())
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "private nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    PrivateNats(child)
}

async fn append(store: &dyn EventStore, count: usize) {
    let stream = StreamId::parse("worker-outage").unwrap();
    let kind = EventType::parse("kesos.test.v1.Happened").unwrap();
    let events = (0..count)
        .map(|_| {
            NewEvent::new(
                Uuid::now_v7(),
                kind.clone(),
                1,
                vec![1; 32],
                Metadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        })
        .collect();
    store
        .append(&stream, ExpectedVersion::Any, events)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_outlives_a_nats_outage_without_losing_or_duplicating_events() {
    let dir = std::env::temp_dir().join(unique_name("kesos-nats"));
    let port = free_port();
    let mut nats = start_nats(port, &dir);
    let schema = PgSchema::create().await;
    let store: Arc<dyn EventStore> = Arc::new(schema.store().await);
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(format!("nats://127.0.0.1:{port}"))
        .await
        .unwrap();
    let context = async_nats::jetstream::new(client);
    let mut names = StreamNames::new(unique_name("t"), unique_name("T"), unique_name("D")).unwrap();
    names.services = vec!["test".into()];
    let relay = Relay::new(
        store.clone(),
        context.clone(),
        names.clone(),
        RelaySettings::new("kesos"),
    );
    relay.prepare().await.unwrap();

    append(&*store, 300).await;
    assert_eq!(relay.step().await.unwrap().cursor, 300);

    nats.stop();
    append(&*store, 200).await;
    let error = relay.step().await.unwrap_err();
    assert!(matches!(error, BusError::Nats(_)), "{error}");
    assert_eq!(
        store.cursor("relay:kesos").await.unwrap(),
        300,
        "cursor stays at what was acknowledged"
    );

    let nats = start_nats(port, &dir);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while store.cursor("relay:kesos").await.unwrap() < 500 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relay did not recover"
        );
        if let Err(error) = relay.step().await {
            tracing::debug!(%error, "still recovering");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let mut stream = context.get_stream(&names.events_stream).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        500,
        "every event exactly once"
    );

    drop(nats);
    let _ = std::fs::remove_dir_all(&dir);
    schema.drop_now().await;
}
