//! A Dinas' region is judged on the state a command is decided on: a worker moved out of the
//! region between the route's check and the command is refused, never changed. The move is
//! appended deterministically by a store that moves the worker right after the route's first
//! read of the worker's stream. Every case runs on PostgreSQL and on SQLite, over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use futures::stream::BoxStream;
use kesos_auth::{Gate, Principal, Role};
use kesos_bus::Stalls;
use kesos_commands::CommandContext;
use kesos_enrollment::domain::{Posting, SchemeCatalog, WorkerCommand, WorkerId};
use kesos_enrollment::service::{Enrollment, WorkerForm, worker_stream};
use kesos_eventstore::{
    AppendOutcome, AsOf, BulkAppend, Checkpoint, ClaimKey, Claims, EventStore, ExpectedVersion,
    NewEvent, RecordedEvent, StoreError, StreamHead, StreamId,
};
use kesos_readside::Db;
use kesos_regions::Regions;
use kesos_vault::Vault;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use uuid::Uuid;

/// A store that, once armed, moves a worker to another posting just after the first read of
/// its stream has been answered: the read the route checks the region on.
struct MovesAfterFirstRead {
    inner: Arc<dyn EventStore>,
    mover: OnceLock<Enrollment>,
    armed: Mutex<Option<(StreamId, WorkerId, Posting)>>,
}

impl MovesAfterFirstRead {
    fn arm(&self, worker: WorkerId, to: &str) {
        let posting = Posting::parse(to, Regions::embedded()).unwrap();
        *self.armed.lock().unwrap() = Some((worker_stream(worker).unwrap(), worker, posting));
    }
}

#[async_trait]
impl EventStore for MovesAfterFirstRead {
    async fn append_claiming(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        claims: Claims,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner
            .append_claiming(stream, expected, events, claims)
            .await
    }
    async fn append_bulk(
        &self,
        appends: Vec<BulkAppend>,
    ) -> Vec<Result<AppendOutcome, StoreError>> {
        self.inner.append_bulk(appends).await
    }
    async fn claim_holder(&self, key: &ClaimKey) -> Result<Option<StreamId>, StoreError> {
        self.inner.claim_holder(key).await
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let read = self.inner.read_stream(stream, as_of).await?;
        let due = {
            let mut armed = self.armed.lock().unwrap();
            match armed.take() {
                Some((armed_stream, worker, to)) if &armed_stream == stream => Some((worker, to)),
                other => {
                    *armed = other;
                    None
                }
            }
        };
        if let Some((worker, to)) = due {
            let mover = self.mover.get().unwrap();
            mover
                .command(worker, WorkerCommand::MovePosting(to), &context())
                .await
                .unwrap();
        }
        Ok(read)
    }
    fn read_all(
        &self,
        after: u64,
        as_of: AsOf,
    ) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
        self.inner.read_all(after, as_of)
    }
    async fn read_batch(&self, after: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_batch(after, max).await
    }
    async fn head_position(&self) -> Result<u64, StoreError> {
        self.inner.head_position().await
    }
    fn appended(&self) -> watch::Receiver<u64> {
        self.inner.appended()
    }
    fn stream_heads(&self) -> BoxStream<'_, Result<StreamHead, StoreError>> {
        self.inner.stream_heads()
    }
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.checkpoints().await
    }
    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.last_checkpoint().await
    }
    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
        self.inner.insert_checkpoint(checkpoint).await
    }
    async fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        self.inner.cursor(name).await
    }
    async fn save_cursor(&self, name: &str, position: u64) -> Result<(), StoreError> {
        self.inner.save_cursor(name, position).await
    }
}

mod support;

use support::Place;

struct Harness {
    place: Place,
    racing: Arc<MovesAfterFirstRead>,
    enrollment: Enrollment,
    addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn build(place: Place, inner: Arc<dyn EventStore>, vault: Vault, db: Db) -> Self {
        let racing = Arc::new(MovesAfterFirstRead {
            inner: inner.clone(),
            mover: OnceLock::new(),
            armed: Mutex::new(None),
        });
        let catalog = || SchemeCatalog::shipped().unwrap();
        let mover = Enrollment::build(inner, vault.clone(), catalog(), db.clone(), Stalls::new())
            .await
            .unwrap();
        assert!(racing.mover.set(mover).is_ok());
        let enrollment = Enrollment::build(racing.clone(), vault, catalog(), db, Stalls::new())
            .await
            .unwrap();
        let cimahi = Principal {
            subject: "test".to_owned(),
            role: Role::from_parts("regional-dinas", Some("32.77"), None).unwrap(),
        };
        let router = kesos_enrollment::http::router(enrollment.clone())
            .layer(Gate::trusting(cimahi).layer());
        let (addr, server) = support::serve(router).await;
        Self {
            place,
            racing,
            enrollment,
            addr,
            server,
        }
    }

    async fn postgres() -> Self {
        let (place, store, vault, db) = support::open_postgres().await;
        Self::build(place, store, vault, db).await
    }

    async fn sqlite() -> Self {
        let (place, store, vault, db) = support::open_sqlite().await;
        Self::build(place, store, vault, db).await
    }

    async fn finish(self) {
        self.server.abort();
        self.place.close().await;
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
    };
}

on_both!(
    a_worker_moved_out_between_the_check_and_the_command_is_not_changed_by_the_old_region,
    a_nomination_of_a_worker_moved_out_meanwhile_is_not_withdrawn_by_the_old_region,
);

fn context() -> CommandContext {
    let command_id = Uuid::now_v7();
    CommandContext {
        command_id,
        actor: "test".into(),
        correlation_id: command_id.to_string(),
        causation_id: None,
        occurred_at: OffsetDateTime::now_utc(),
    }
}

/// A worker in Kota Cimahi (32.77), registered by central operations.
async fn cimahi_worker(enrollment: &Enrollment, serial: u16) -> WorkerId {
    let form = WorkerForm {
        nik: format!("3277015705900{serial:03}"),
        full_name: "Siti Aminah".into(),
        sex: "P".into(),
        birth_date: "1990-05-17".into(),
        category: "peksos".into(),
        role: "kelurahan_peksos".into(),
        employment_status: "thl".into(),
        posting: "32.77.01.1001".into(),
        education_level: "s1".into(),
        education_in_social_work: "ya".into(),
        practice_months: "24".into(),
        training_hours: "60".into(),
        association_member: "tidak".into(),
        registered_on: String::new(),
    };
    let worker = form
        .validate(Regions::embedded(), date!(2026 - 11 - 22))
        .unwrap();
    enrollment
        .register(&worker, &context())
        .await
        .unwrap()
        .worker_id
}

/// One POST over a fresh connection: the status and the body.
async fn post(addr: std::net::SocketAddr, path: &str, body: &Value) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

async fn a_worker_moved_out_between_the_check_and_the_command_is_not_changed_by_the_old_region(
    h: &Harness,
) {
    let changes = [
        ("role", json!({ "role": "sakti_peksos" })),
        (
            "employment-status",
            json!({ "employment_status": "asn_pppk" }),
        ),
        ("qualifications", json!({ "education_level": "s2" })),
        ("posting", json!({ "posting": "32.77.01.1002" })),
        (
            "nominations",
            json!({ "scheme_code": "PEKSOS-GENERALIS", "period_year": 2026,
                    "recommending_office": "32.77", "portfolio_ref": "p-1" }),
        ),
    ];
    for (serial, (route, body)) in (1..).zip(changes) {
        let worker = cimahi_worker(&h.enrollment, serial).await;
        let before = h.enrollment.load(worker).await.unwrap();
        // Central operations moves the worker to Kabupaten Bandung Barat right after the
        // route has read the worker (still in Cimahi) to check the Dinas' region.
        h.racing.arm(worker, "32.17");
        let (status, answer) = post(h.addr, &format!("/v1/workers/{worker}/{route}"), &body).await;
        assert!(
            h.racing.armed.lock().unwrap().is_none(),
            "{route}: the move never ran"
        );
        assert_eq!(status, 403, "{route}: {answer}");
        let after = h.enrollment.load(worker).await.unwrap();
        let (before, after) = (before.record.unwrap(), after.record.unwrap());
        assert_eq!(after.posting.code().as_str(), "32.17", "{route}");
        assert_eq!(
            (after.role, after.employment, after.qualifications),
            (before.role, before.employment, before.qualifications),
            "{route}: changed by the old region's Dinas"
        );
        assert!(
            h.enrollment
                .load(worker)
                .await
                .unwrap()
                .nominations
                .is_empty(),
            "{route}: nominated by the old region's Dinas"
        );
    }
}

async fn a_nomination_of_a_worker_moved_out_meanwhile_is_not_withdrawn_by_the_old_region(
    h: &Harness,
) {
    let worker = cimahi_worker(&h.enrollment, 90).await;
    let nomination = h
        .enrollment
        .nominate(
            worker,
            "PEKSOS-GENERALIS",
            2026,
            "32.77",
            "p-1",
            None,
            &context(),
        )
        .await
        .unwrap();
    h.racing.arm(worker, "32.17");
    let path = format!("/v1/workers/{worker}/nominations/{nomination}/withdraw");
    let (status, answer) = post(h.addr, &path, &json!({ "reason": "moved away" })).await;
    assert!(
        h.racing.armed.lock().unwrap().is_none(),
        "the move never ran"
    );
    assert_eq!(status, 403, "{answer}");
    let state = h.enrollment.load(worker).await.unwrap();
    assert_eq!(state.nominations[0].status.code(), "submitted");
}
