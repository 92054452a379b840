//! Departures, returns and dated targets over HTTP on a real socket, as central operations:
//! the dates, the problem bodies naming the field and rule, the retry by `Idempotency-Key`,
//! the worker view and list, and the events' business time. Every case runs on PostgreSQL
//! and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kesos_auth::{Gate, Principal, Role};
use kesos_bus::Stalls;
use kesos_commands::CommandContext;
use kesos_enrollment::domain::{SchemeCatalog, WorkerId, business_date};
use kesos_enrollment::service::{Enrollment, WorkerForm, worker_stream};
use kesos_enrollment::wire::WORKER_DEPARTED;
use kesos_eventstore::{AsOf, EventStore, StreamId};
use kesos_readside::Db;
use kesos_regions::Regions;
use kesos_vault::Vault;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

mod support;

use support::Place;

struct Harness {
    place: Place,
    store: Arc<dyn EventStore>,
    enrollment: Enrollment,
    addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn build(place: Place, store: Arc<dyn EventStore>, vault: Vault, db: Db) -> Self {
        let catalog = SchemeCatalog::shipped().unwrap();
        let enrollment = Enrollment::build(store.clone(), vault, catalog, db, Stalls::new())
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
            store,
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

    /// One request over a fresh connection: the status and the JSON body.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        key: &str,
    ) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        let idempotency = if key.is_empty() {
            String::new()
        } else {
            format!("Idempotency-Key: {key}\r\n")
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{idempotency}\
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

    async fn post(&self, path: &str, body: &Value, key: &str) -> (u16, Value) {
        self.call("POST", path, Some(body), key).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, "").await
    }

    /// A Peksos in Kota Cimahi registered on 1 March 2017 (imported history).
    async fn worker(&self, serial: u16) -> WorkerId {
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
            registered_on: "2017-03-01".into(),
        };
        let now = OffsetDateTime::now_utc();
        let worker = form
            .validate(Regions::embedded(), business_date(now))
            .unwrap();
        let command_id = Uuid::now_v7();
        let context = CommandContext {
            command_id,
            actor: "test".into(),
            correlation_id: command_id.to_string(),
            causation_id: None,
            occurred_at: now,
        };
        self.enrollment
            .register(&worker, &context)
            .await
            .unwrap()
            .worker_id
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
    a_worker_retires_on_a_past_date_is_listed_as_departed_and_returns_later,
    departure_dates_are_refused_naming_the_field_and_the_rule,
    a_departed_worker_is_not_nominated_and_cannot_depart_again,
    a_total_target_is_set_in_force_from_a_past_date_but_not_a_future_one,
);

fn rule(problem: &Value) -> (&str, &str) {
    (
        problem["errors"][0]["field"].as_str().unwrap_or_default(),
        problem["errors"][0]["rule"].as_str().unwrap_or_default(),
    )
}

async fn a_worker_retires_on_a_past_date_is_listed_as_departed_and_returns_later(h: &Harness) {
    let worker = h.worker(1).await;
    let departure =
        json!({ "reason": "pensiun", "departed_on": "2021-06-30", "note": "SK 800/17" });
    let path = format!("/v1/workers/{worker}/departure");
    let (status, view) = h.post(&path, &departure, "depart-1").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "departed");
    assert_eq!(
        view["departure"],
        json!({ "reason": "retired", "departed_on": "2021-06-30", "note": "SK 800/17" })
    );
    assert_eq!(view["full_name"], "Siti Aminah", "the record stays");

    // A retry with the same key answers the same and records nothing twice.
    let (status, again) = h.post(&path, &departure, "depart-1").await;
    assert_eq!((status, &again), (200, &view));
    let stream: StreamId = worker_stream(worker).unwrap();
    let events = h.store.read_stream(&stream, AsOf::Now).await.unwrap();
    let departed: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.as_str() == WORKER_DEPARTED)
        .collect();
    assert_eq!(departed.len(), 1);
    // Business time: the start of the date in WIB; recorded time: now.
    assert_eq!(departed[0].occurred_at, datetime!(2021-06-30 00:00 +7));
    assert!(departed[0].recorded_at > datetime!(2026-01-01 00:00 UTC));

    let (status, list) = h.get("/v1/workers?region=32.77&status=departed").await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(1)), "{list}");
    assert_eq!(list["items"][0]["status"], "departed");

    let back = json!({ "returned_on": "2022-01-03" });
    let path = format!("/v1/workers/{worker}/return");
    let (status, view) = h.post(&path, &back, "").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["status"], &view["departure"], &view["returned_on"]),
        (&json!("active"), &Value::Null, &json!("2022-01-03"))
    );
    let (_, list) = h.get("/v1/workers?region=32.77&status=departed").await;
    assert_eq!(list["total"].as_u64(), Some(0), "{list}");
}

async fn departure_dates_are_refused_naming_the_field_and_the_rule(h: &Harness) {
    let worker = h.worker(2).await;
    let path = format!("/v1/workers/{worker}/departure");
    let cases = [
        (
            json!({ "reason": "resigned", "departed_on": "2017-02-28" }),
            422,
            ("departed_on", "departed_on.not_before_registration"),
        ),
        (
            json!({ "reason": "resigned", "departed_on": "2999-01-01" }),
            422,
            ("departed_on", "departed_on.not_in_future"),
        ),
        (
            json!({ "reason": "resigned", "departed_on": "2021-02-30" }),
            400,
            ("departed_on", "departed_on.date"),
        ),
        (
            json!({ "reason": "astronaut", "departed_on": "2021-02-01" }),
            400,
            ("reason", "reason.known"),
        ),
    ];
    for (body, expected, named) in cases {
        let (status, problem) = h.post(&path, &body, "").await;
        assert_eq!(
            (status, rule(&problem)),
            (expected, named),
            "{body}: {problem}"
        );
    }
    // A future date says today in WIB and the instant in RFC 3339.
    let future = json!({ "reason": "resigned", "departed_on": "2999-01-01" });
    let (_, problem) = h.post(&path, &future, "").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("in WIB (now ") && detail.contains("+07:00)"),
        "{detail}"
    );

    let (status, problem) = h
        .post(
            &format!("/v1/workers/{worker}/return"),
            &json!({ "returned_on": "2022-01-03" }),
            "",
        )
        .await;
    assert_eq!(
        (
            status,
            problem["type"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/not-departed")
        ),
        (409, true),
        "{problem}"
    );

    let departure = json!({ "reason": "died", "departed_on": "2021-06-30" });
    assert_eq!(h.post(&path, &departure, "").await.0, 200);
    let (status, problem) = h
        .post(
            &format!("/v1/workers/{worker}/return"),
            &json!({ "returned_on": "2021-06-30" }),
            "",
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (422, ("returned_on", "returned_on.after_departure")),
        "{problem}"
    );
}

async fn a_departed_worker_is_not_nominated_and_cannot_depart_again(h: &Harness) {
    let worker = h.worker(3).await;
    let path = format!("/v1/workers/{worker}/departure");
    let departure = json!({ "reason": "left_programme", "departed_on": "2020-12-31" });
    assert_eq!(h.post(&path, &departure, "").await.0, 200);
    let (status, problem) = h.post(&path, &departure, "").await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/already-departed")
    );
    let nomination = json!({ "scheme_code": "PEKSOS-GENERALIS", "period_year": 2026,
                             "recommending_office": "32.77", "portfolio_ref": "p-1" });
    let (status, problem) = h
        .post(
            &format!("/v1/workers/{worker}/nominations"),
            &nomination,
            "",
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/worker-departed")
    );
    assert!(problem["detail"].as_str().unwrap().contains("2020-12-31"));
}

async fn a_total_target_is_set_in_force_from_a_past_date_but_not_a_future_one(h: &Harness) {
    let target = json!({ "year": 2020, "target_count": 16_920, "in_force_from": "2020-01-02" });
    let (status, answer) = h.post("/v1/targets", &target, "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "year": 2020, "region": "", "category": "all", "target_count": 16_920,
                "in_force_from": "2020-01-02" })
    );
    let events = h
        .store
        .read_stream(
            &StreamId::parse("target-2020-national-all").unwrap(),
            AsOf::Now,
        )
        .await
        .unwrap();
    assert_eq!(events[0].occurred_at, datetime!(2020-01-02 00:00 +7));

    let future = json!({ "year": 2020, "category": "peksos", "target_count": 1,
                         "in_force_from": "2999-01-01" });
    let (status, problem) = h.post("/v1/targets", &future, "").await;
    assert_eq!(
        (status, rule(&problem)),
        (422, ("in_force_from", "in_force_from.not_in_future")),
        "{problem}"
    );
}
