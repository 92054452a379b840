//! The worker directory is a projection: commands wait for it, lists only read it. Every case
//! runs on PostgreSQL and on SQLite, over a real socket, as central operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use kesos_auth::{Gate, Principal, Role};
use kesos_bus::Stalls;
use kesos_commands::{CommandContext, execute};
use kesos_enrollment::domain::{Posting, SchemeCatalog, Worker, WorkerCommand, WorkerId};
use kesos_enrollment::projections::{self, directory::NAME};
use kesos_enrollment::service::{Enrollment, LOG, WorkerForm, seal_registration, worker_stream};
use kesos_enrollment::wire::WORKER_POSTING_MOVED;
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent};
use kesos_readside::{Db, to_i64, to_u64};
use kesos_regions::Regions;
use kesos_vault::Vault;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

mod support;

use support::{Opened, Place};

struct Harness {
    place: Place,
    db: Db,
    stalls: Stalls,
    enrollment: Enrollment,
    addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn build(place: Place, store: Arc<dyn EventStore>, vault: Vault, db: Db) -> Self {
        let stalls = Stalls::new();
        let catalog = SchemeCatalog::shipped().unwrap();
        let enrollment = Enrollment::build(store, vault, catalog, db.clone(), stalls.clone())
            .await
            .unwrap();
        let central = Principal {
            subject: "test".to_owned(),
            role: Role::from_parts("central-operations", None, None).unwrap(),
        };
        let router = kesos_enrollment::http::router(enrollment.clone())
            .layer(Gate::trusting(central).layer());
        let (addr, server) = support::serve(router).await;
        Self {
            place,
            db,
            stalls,
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

    /// The directory's checkpoint as stored.
    async fn checkpoint(&self) -> u64 {
        let position: i64 = self
            .db
            .query(
                "SELECT position FROM kesos_projection_checkpoints \
                 WHERE projection = $1 AND source = $2",
            )
            .bind(NAME)
            .bind(LOG)
            .fetch_scalar()
            .await
            .unwrap();
        to_u64(position)
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
    a_registered_worker_is_listed_by_the_very_next_get_because_the_command_waited_for_it,
    a_list_answers_from_the_directory_as_it_stands_and_writes_nothing_while_the_projector_is_stalled,
);

/// Cases that start from a database the previous release left (its own checkpoint table).
mod upgrade {
    mod postgres {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_existing_directory_carries_on_from_its_old_checkpoint() {
            let opened = crate::support::open_postgres().await;
            crate::an_existing_directory_carries_on_from_its_old_checkpoint(opened).await;
        }
    }
    mod sqlite {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_existing_directory_carries_on_from_its_old_checkpoint() {
            let opened = crate::support::open_sqlite().await;
            crate::an_existing_directory_carries_on_from_its_old_checkpoint(opened).await;
        }
    }
}

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

/// A worker of Kota Cimahi (32.77.01.1001) as the registration form takes it.
fn form(serial: u16) -> Value {
    json!({
        "nik": format!("3277015705900{serial:03}"), "full_name": format!("Siti {serial}"),
        "sex": "P", "birth_date": "1990-05-17", "category": "peksos",
        "role": "kelurahan_peksos", "employment_status": "thl", "posting": "32.77.01.1001",
        "education_level": "s1", "education_in_social_work": "ya", "practice_months": "24",
        "training_hours": "60", "association_member": "tidak"
    })
}

async fn register(enrollment: &Enrollment, serial: u16) -> WorkerId {
    let form: WorkerForm = serde_json::from_value(form(serial)).unwrap();
    let worker = form
        .validate(Regions::embedded(), date!(2026 - 11 - 22))
        .unwrap();
    enrollment
        .register(&worker, &context())
        .await
        .unwrap()
        .worker_id
}

/// One request over a fresh connection: the status and the JSON body.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn a_registered_worker_is_listed_by_the_very_next_get_because_the_command_waited_for_it(
    h: &Harness,
) {
    let (status, created) = request(h.addr, "POST", "/v1/workers", Some(&form(1))).await;
    assert_eq!(status, 201, "{created}");
    // The answer came once the directory had applied the registration, not merely appended it.
    let head = h.enrollment.store().head_position().await.unwrap();
    assert!(h.enrollment.projector().position(LOG) >= head);
    let (status, list) = request(h.addr, "GET", "/v1/workers?region=32.77", None).await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(1)), "{list}");
    assert_eq!(list["items"][0]["worker_id"], created["worker_id"]);
    assert_eq!(list["items"][0]["full_name"].as_str(), Some("Siti 1"));

    // A move, likewise: the very next list follows it.
    let worker = created["worker_id"].as_str().unwrap();
    let moved = json!({ "posting": "32.17" });
    let path = format!("/v1/workers/{worker}/posting");
    let (status, answer) = request(h.addr, "POST", &path, Some(&moved)).await;
    assert_eq!(status, 200, "{answer}");
    let (_, list) = request(h.addr, "GET", "/v1/workers?region=32.17", None).await;
    assert_eq!(
        list["items"][0]["worker_id"].as_str(),
        Some(worker),
        "{list}"
    );
}

async fn a_list_answers_from_the_directory_as_it_stands_and_writes_nothing_while_the_projector_is_stalled(
    h: &Harness,
) {
    let stalled = register(&h.enrollment, 1).await;
    let moving = register(&h.enrollment, 2).await;
    let applied = h.checkpoint().await;
    assert_eq!(applied, h.enrollment.store().head_position().await.unwrap());
    // An event the directory cannot read stalls it there (it never skips an event)...
    let broken = NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(WORKER_POSTING_MOVED).unwrap(),
        1,
        b"\xff\xff\xff".to_vec(),
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "test".into(),
            trace_parent: String::new(),
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let store = h.enrollment.store();
    store
        .append(
            &worker_stream(stalled).unwrap(),
            ExpectedVersion::Any,
            vec![broken],
        )
        .await
        .unwrap();
    // ...so a later move, appended without waiting for the directory, is not applied.
    let posting = Posting::parse("32.17", Regions::embedded()).unwrap();
    execute::<Worker>(
        &**store,
        &worker_stream(moving).unwrap(),
        WorkerCommand::MovePosting(posting),
        &context(),
    )
    .await
    .unwrap();
    let stall = async {
        while h.stalls.current().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), stall)
        .await
        .expect("readiness never heard of the stall");
    assert_eq!(h.stalls.current()[0].0, NAME);

    // A list answers at once from the rows as they stand, and catches nothing up.
    let (status, list) = request(h.addr, "GET", "/v1/workers?region=32.77", None).await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(2)), "{list}");
    let (status, list) = request(h.addr, "GET", "/v1/workers?region=32.17", None).await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(0)), "{list}");
    assert_eq!(h.checkpoint().await, applied, "a read moved the checkpoint");
}

/// The directory's tables as the previous release left them: migration 3001 only, with its own
/// checkpoint table.
async fn previous_release(db: &Db) {
    let mut migrations = projections::migrations();
    for migrator in [&mut migrations.postgres, &mut migrations.sqlite] {
        let first: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|migration| migration.version == 3001)
            .cloned()
            .collect();
        migrator.migrations = first.into();
    }
    db.migrate(migrations).await.unwrap();
}

async fn an_existing_directory_carries_on_from_its_old_checkpoint(opened: Opened) {
    let (place, store, vault, db) = opened;
    previous_release(&db).await;
    // Two workers registered under the previous release, whose directory had applied them
    // (their rows are left out here, so that a replay from the start would show).
    for serial in [1, 2] {
        let form: WorkerForm = serde_json::from_value(form(serial)).unwrap();
        let worker = form
            .validate(Regions::embedded(), date!(2026 - 11 - 22))
            .unwrap();
        let context = context();
        let id = WorkerId(context.command_id);
        let key = vault.key_for(id.0).await.unwrap();
        let registration = seal_registration(id, &key, &worker);
        let command = WorkerCommand::RegisterWorker(Box::new(registration));
        execute::<Worker>(&*store, &worker_stream(id).unwrap(), command, &context)
            .await
            .unwrap();
    }
    let old = store.head_position().await.unwrap();
    db.query("UPDATE enrollment_checkpoints SET position = $1 WHERE name = 'directory'")
        .bind(to_i64(old))
        .execute()
        .await
        .unwrap();

    let h = Harness::build(place, store, vault, db).await;
    assert_eq!(h.checkpoint().await, old);
    let gone =
        h.db.query("SELECT COUNT(*) FROM enrollment_checkpoints")
            .fetch_scalar::<i64>()
            .await;
    assert!(gone.is_err(), "the old checkpoint table is still there");
    // The next registration is applied on top; the two before it are not applied again.
    let (status, created) = request(h.addr, "POST", "/v1/workers", Some(&form(3))).await;
    assert_eq!(status, 201, "{created}");
    let (_, list) = request(h.addr, "GET", "/v1/workers", None).await;
    assert_eq!(list["total"].as_u64(), Some(1), "{list}");
    assert_eq!(list["items"][0]["worker_id"], created["worker_id"]);
    h.finish().await;
}
