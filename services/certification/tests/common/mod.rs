//! Fixtures for the certification tests: a service on a fresh PostgreSQL schema or SQLite
//! file, decisions as delivered events, holders registered through the consumer, and a tiny
//! HTTP/1.1 client for tests over a real socket.
//!
//! The registry follows the log in the background, as in kesos; a test reads what it wrote the
//! way a caller does, by waiting for the position ([`Harness::settled`]): delivering through
//! the harness settles before it returns.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ed25519_dalek::SigningKey;
use kesos_bus::{Delivered, Handler, Identities, Identity, Stalls};
use kesos_certification::domain::SchemeRef;
use kesos_certification::projections::LOG;
use kesos_certification::reference::Reference;
use kesos_certification::service::{Certification, Parts};
use kesos_certification::wire;
use kesos_eventstore::{
    EventStore, EventType, Metadata, PostgresStore, RecordedEvent, SqliteStore, StreamId,
};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_readside::Db;
use kesos_testkit::{PgSchema, SqliteFile};
use prost::Message;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

pub const BASE_URL: &str = "https://kesos.example";

/// Longest a test waits for the registry to reach a position.
pub const SETTLE: Duration = Duration::from_secs(30);

pub enum Place {
    Pg(PgSchema, PostgresStore),
    Lite(SqliteFile, SqliteStore),
}

pub struct Harness {
    pub place: Place,
    pub certification: Certification,
    pub key: SigningKey,
    /// Who the workers are, as enrollment would answer.
    pub directory: Arc<Directory>,
}

/// Enrollment's answers to identity lookups, as the tests set them: the service that alone
/// holds the workers' names, standing beside certification (not a database or NATS double).
#[derive(Default)]
pub struct Directory {
    names: Mutex<HashMap<Uuid, String>>,
    away: Mutex<bool>,
}

impl Directory {
    /// Enrollment knows `worker` by `full_name`.
    pub fn register(&self, worker: Uuid, full_name: &str) {
        self.names
            .lock()
            .unwrap()
            .insert(worker, full_name.to_owned());
    }

    /// Enrollment erased `worker`: it answers for them no more.
    pub fn erase(&self, worker: Uuid) {
        self.names.lock().unwrap().remove(&worker);
    }

    /// Enrollment stops (`true`) or starts again (`false`) answering.
    pub fn set_away(&self, away: bool) {
        *self.away.lock().unwrap() = away;
    }
}

#[async_trait]
impl Identities for Directory {
    async fn identities(&self, workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String> {
        if *self.away.lock().unwrap() {
            return Err("enrollment did not answer".into());
        }
        let names = self.names.lock().unwrap();
        Ok(workers
            .iter()
            .filter_map(|worker| {
                let full_name = names.get(worker)?.clone();
                let nik = "3277010101900001".to_owned();
                Some((*worker, Identity { full_name, nik }))
            })
            .collect())
    }
}

pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

impl Harness {
    pub async fn postgres() -> Self {
        let schema = PgSchema::create().await;
        let store = schema.store().await;
        let pool = store.pool().clone();
        Self::assemble(
            Place::Pg(schema, store.clone()),
            Arc::new(store),
            Db::Postgres(pool),
        )
        .await
    }

    pub async fn sqlite() -> Self {
        let file = SqliteFile::create();
        let store = file.store().await;
        let pool = store.pool().clone();
        Self::assemble(
            Place::Lite(file, store.clone()),
            Arc::new(store),
            Db::Sqlite(pool),
        )
        .await
    }

    async fn assemble(place: Place, store: Arc<dyn EventStore>, db: Db) -> Self {
        let key = signing_key();
        let directory = Arc::new(Directory::default());
        let certification = build(store, db, directory.clone(), key.clone()).await;
        Self {
            place,
            certification,
            key,
            directory,
        }
    }

    /// A second service over the same store and database: another process, with its own
    /// projector for the same registry.
    pub async fn another_process(&self) -> Certification {
        let c = &self.certification;
        build(
            c.store().clone(),
            c.registry().db().clone(),
            self.directory.clone(),
            self.key.clone(),
        )
        .await
    }

    /// Waits until the registry has applied everything the log holds now.
    pub async fn settled(&self) {
        let head = self.store().head_position().await.unwrap();
        self.certification
            .projector()
            .wait_for(LOG, head, SETTLE)
            .await
            .unwrap();
    }

    /// The registry's checkpoint in the service's log, as stored.
    pub async fn checkpoint(&self) -> u64 {
        let checkpoints = self.certification.projector().checkpoints().await.unwrap();
        checkpoints.get(LOG).copied().unwrap_or(0)
    }

    /// The store's database, as the consumer's handle.
    fn consumer_db(&self) -> Db {
        match &self.place {
            Place::Pg(_, store) => Db::from(store.pool().clone()),
            Place::Lite(_, store) => Db::from(store.pool().clone()),
        }
    }

    /// Hands `delivered` to the consumer's handler as the consumer would: `act`, then `handle`
    /// in a transaction; then waits for the registry to show it.
    pub async fn deliver(&self, delivered: &Delivered) {
        let intake = self.certification.intake();
        Handler::act(&intake, delivered).await.unwrap();
        let mut tx = self.consumer_db().begin().await.unwrap();
        Handler::handle(&intake, &mut tx, delivered).await.unwrap();
        tx.commit().await.unwrap();
        self.settled().await;
    }

    /// Hands a batch to the consumer's handler as a batching consumer would: `act_batch`, then
    /// `handle_batch` in one transaction; then waits for the registry to show it.
    pub async fn deliver_batch(&self, batch: &[Delivered]) {
        let intake = self.certification.intake();
        let batch: Vec<&Delivered> = batch.iter().collect();
        Handler::act_batch(&intake, &batch).await.unwrap();
        let mut tx = self.consumer_db().begin().await.unwrap();
        Handler::handle_batch(&intake, &mut tx, &batch)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        self.settled().await;
    }

    /// Registers a holder as enrollment would: it knows the name, then its event.
    pub async fn register_holder(&self, worker: Uuid, full_name: &str) {
        self.directory.register(worker, full_name);
        self.deliver(&registration(worker)).await;
    }

    /// Erases a holder as enrollment would: it forgets the name, then its event.
    pub async fn erase_holder(&self, worker: Uuid) {
        self.directory.erase(worker);
        let payload = enrollment::WorkerErased {
            worker_id: worker.to_string(),
            key_id: String::new(),
            reason: "request".into(),
            legal_basis: "UU 27/2022".into(),
        }
        .encode_to_vec();
        self.deliver(&delivered(wire::WORKER_ERASED, Uuid::now_v7(), payload))
            .await;
    }

    pub fn store(&self) -> Arc<dyn EventStore> {
        self.certification.store().clone()
    }

    pub async fn finish(self) {
        // The service first: its projector stops with it.
        drop(self.certification);
        match self.place {
            Place::Pg(schema, store) => {
                store.pool().close().await;
                schema.drop_now().await;
            }
            Place::Lite(_file, store) => store.pool().close().await,
        }
    }
}

/// The service over `store` and `db`, its projector running, as kesos builds it.
pub async fn build(
    store: Arc<dyn EventStore>,
    db: Db,
    identities: Arc<dyn Identities>,
    signing_key: SigningKey,
) -> Certification {
    Certification::build(Parts {
        store,
        db,
        identities,
        reference: Reference::shipped().unwrap(),
        signing_key,
        base_url: BASE_URL.to_owned(),
        stalls: Stalls::new(),
    })
    .await
    .unwrap()
}

pub fn scheme(code: &str) -> SchemeRef {
    let (category, level) = code.split_once('-').unwrap_or((code, ""));
    SchemeRef {
        code: code.into(),
        category: category.into(),
        level: level.into(),
    }
}

/// Enrollment's registration of `worker`; the name in it is sealed under enrollment's key,
/// which certification never holds (the bytes here stand for that ciphertext).
pub fn registration(worker: Uuid) -> Delivered {
    let payload = enrollment::WorkerRegistered {
        worker_id: worker.to_string(),
        full_name: Some(common::EncryptedField {
            ciphertext: vec![0x5a; 32],
            nonce: vec![0x11; 24],
            key_id: Uuid::now_v7().to_string(),
        }),
        posting: Some(common::RegionRef {
            code: "32.77".into(),
            edition: "2024".into(),
        }),
        ..Default::default()
    }
    .encode_to_vec();
    delivered(wire::WORKER_REGISTERED, Uuid::now_v7(), payload)
}

/// An event as the consumer receives it.
pub fn delivered(event_type: &str, event_id: Uuid, payload: Vec<u8>) -> Delivered {
    let now = OffsetDateTime::now_utc();
    Delivered {
        source: "scheduling".into(),
        event: RecordedEvent {
            position: 1,
            stream_id: StreamId::parse(format!("test-{event_id}")).unwrap(),
            stream_version: 1,
            event_id,
            event_type: EventType::parse(event_type).unwrap(),
            schema_version: 1,
            payload,
            metadata: Metadata {
                correlation_id: "c".into(),
                causation_id: "c".into(),
                actor: "lsps".into(),
                trace_parent: String::new(),
            },
            occurred_at: now,
            recorded_at: now,
            hash: [0; 32],
        },
    }
}

/// A decision on `worker` in `scheme` at `decided_at`.
pub fn decision(
    worker: Uuid,
    scheme_code: &str,
    kompeten: bool,
    decided_at: OffsetDateTime,
) -> Delivered {
    let payload = wire::assessment_decided(
        worker,
        &scheme(scheme_code),
        kompeten,
        decided_at,
        "LSPS-PEKSOS",
        Some("32.77"),
    );
    delivered(wire::ASSESSMENT_DECIDED, Uuid::now_v7(), payload)
}

/// How many events of `event_type` the log holds.
pub async fn count(store: &dyn EventStore, event_type: &str) -> usize {
    let mut after = 0;
    let mut count = 0;
    loop {
        let batch = store.read_batch(after, 1000).await.unwrap();
        let Some(last) = batch.last() else {
            return count;
        };
        after = last.position;
        count += batch
            .iter()
            .filter(|e| e.event_type.as_str() == event_type)
            .count();
    }
}

/// One HTTP exchange over a fresh connection: status, content type, body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// Serves a router on 127.0.0.1:0.
pub async fn serve(router: axum::Router) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (addr, task)
}
