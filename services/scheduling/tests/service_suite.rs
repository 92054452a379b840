//! The scheduling service against the real databases: every case runs on PostgreSQL (a fresh
//! schema) and on SQLite (a fresh file), with the intake and returns consumers running on the
//! store's own log as they do in the embedded mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use kesos_bus::{Delivered, Handler, Stalls};
use kesos_eventstore::{
    AsOf, EventStore, EventType, ExpectedVersion, Metadata, NewEvent, PostgresStore, RecordedEvent,
    SqliteStore, StreamId,
};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_readside::Db;
use kesos_regions::RegionCode;
use kesos_scheduling::domain::SchemeList;
use kesos_scheduling::domain::*;
use kesos_scheduling::projections::{CandidateFilter, SOURCE, SessionFilter};
use kesos_scheduling::service::intake::{Intake, NOMINATION_VERIFIED};
use kesos_scheduling::service::reports::{Recorded, Report};
use kesos_scheduling::service::returns::Returns;
use kesos_scheduling::service::{ReportedDecision, Scheduling, SchedulingError};
use kesos_testkit::{PgSchema, SqliteFile};
use prost::Message;
use time::{Duration as Span, OffsetDateTime};
use tokio::sync::watch;
use uuid::Uuid;

use support::{STARTS, T0, at, spawn_consumer};

enum Place {
    Pg(PgSchema, PostgresStore),
    Lite(SqliteFile, SqliteStore),
}

struct Harness {
    place: Place,
    scheduling: Scheduling,
    stalls: Stalls,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Harness {
    async fn postgres() -> Self {
        let schema = PgSchema::create().await;
        let store = schema.store().await;
        kesos_bus::bookkeeping::migrate_consumers(&kesos_readside::Db::from(store.pool().clone()))
            .await
            .unwrap();
        let shared: Arc<dyn EventStore> = Arc::new(store.clone());
        let stalls = Stalls::new();
        let db = Db::Postgres(store.pool().clone());
        let scheduling = scheduling(shared.clone(), db, &stalls).await;
        let (stop, watching) = watch::channel(false);
        let tasks = vec![
            spawn_consumer(
                "intake",
                shared.clone(),
                store.pool().clone(),
                Arc::new(Intake::new(scheduling.clone())),
                watching.clone(),
            ),
            spawn_consumer(
                "returns",
                shared,
                store.pool().clone(),
                Arc::new(Returns::new(scheduling.clone())),
                watching,
            ),
        ];
        Self {
            place: Place::Pg(schema, store),
            scheduling,
            stalls,
            stop,
            tasks,
        }
    }

    async fn sqlite() -> Self {
        let file = SqliteFile::create();
        let store = file.store().await;
        kesos_bus::bookkeeping::migrate_consumers(&kesos_readside::Db::from(store.pool().clone()))
            .await
            .unwrap();
        let shared: Arc<dyn EventStore> = Arc::new(store.clone());
        let stalls = Stalls::new();
        let db = Db::Sqlite(store.pool().clone());
        let scheduling = scheduling(shared.clone(), db, &stalls).await;
        let (stop, watching) = watch::channel(false);
        let tasks = vec![
            spawn_consumer(
                "intake",
                shared.clone(),
                store.pool().clone(),
                Arc::new(Intake::new(scheduling.clone())),
                watching.clone(),
            ),
            spawn_consumer(
                "returns",
                shared,
                store.pool().clone(),
                Arc::new(Returns::new(scheduling.clone())),
                watching,
            ),
        ];
        Self {
            place: Place::Lite(file, store),
            scheduling,
            stalls,
            stop,
            tasks,
        }
    }

    async fn finish(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.unwrap();
        }
        // The last handle: the projector stops before its database closes.
        drop(self.scheduling);
        match self.place {
            Place::Pg(schema, store) => {
                store.pool().close().await;
                schema.drop_now().await;
            }
            Place::Lite(_file, store) => store.pool().close().await,
        }
    }
}

/// The service as the process builds it: its projector starts on the store's log.
async fn scheduling(store: Arc<dyn EventStore>, db: Db, stalls: &Stalls) -> Scheduling {
    Scheduling::open(
        store,
        db,
        SchedulingPolicy::shipped().unwrap(),
        SchemeList::from_catalogue_toml(include_str!("../../enrollment/reference/schemes.toml"))
            .unwrap(),
        stalls,
    )
    .await
    .unwrap()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness.scheduling).await;
                    harness.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness.scheduling).await;
                    harness.finish().await;
                }
            )*
        }
    };
}

/// Like `on_both!`, for a case that needs the harness itself (its stall registry).
macro_rules! on_both_harness {
    ($($name:ident),* $(,)?) => {
        mod postgres_harness {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
        mod sqlite_harness {
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
    a_verified_nomination_becomes_a_waiting_candidate_once,
    a_candidate_is_never_seated_in_two_sessions,
    an_assessor_is_never_booked_into_overlapping_sessions,
    concurrent_auto_allocations_never_overfill_or_seat_twice,
    allocation_prefers_the_candidates_own_kabupaten_kota,
    a_reschedule_moves_the_seat_before_the_cutoff_and_is_refused_after,
    a_cancelled_session_sends_every_candidate_back_to_the_pool,
    a_belum_kompeten_candidate_waits_then_may_be_seated_again,
    reports_are_recorded_once_and_contradictions_are_refused,
    a_session_takes_its_schemes_units_and_a_result_must_judge_exactly_them,
    the_lock_job_locks_each_due_session_once,
    a_moved_worker_waits_as_a_candidate_of_the_new_region,
    a_scheduled_session_is_listed_once_the_command_has_waited_for_its_position,
    a_departed_worker_leaves_the_pool_and_a_return_brings_them_back,
);

on_both_harness!(a_list_answers_from_the_applied_rows_and_applies_nothing);

mod upgrade {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_an_older_deployment_resumes_the_pool_from_its_checkpoint() {
        let schema = super::PgSchema::create().await;
        let store = schema.store().await;
        let db = super::Db::Postgres(store.pool().clone());
        super::an_older_deployment_resumes_the_pool_from_its_checkpoint(
            std::sync::Arc::new(store.clone()),
            db,
        )
        .await;
        store.pool().close().await;
        schema.drop_now().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite_an_older_deployment_resumes_the_pool_from_its_checkpoint() {
        let file = super::SqliteFile::create();
        let store = file.store().await;
        let db = super::Db::Sqlite(store.pool().clone());
        super::an_older_deployment_resumes_the_pool_from_its_checkpoint(
            std::sync::Arc::new(store.clone()),
            db,
        )
        .await;
        store.pool().close().await;
    }
}

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

/// Appends a NominationVerified as enrollment would, verified at `when`.
async fn verify(scheduling: &Scheduling, region_code: &str, when: OffsetDateTime) -> CandidateId {
    let nomination = Uuid::now_v7();
    let worker = Uuid::now_v7();
    let payload = enrollment::NominationVerified {
        nomination_id: nomination.to_string(),
        worker_id: worker.to_string(),
        scheme_code: "PEKSOS-GENERALIS".into(),
        region: Some(common::RegionRef {
            code: region_code.into(),
            edition: "test".into(),
        }),
        rule_set_version: "2025-1".into(),
    }
    .encode_to_vec();
    let event = NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(NOMINATION_VERIFIED).unwrap(),
        1,
        payload,
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "user:test".into(),
            trace_parent: String::new(),
        },
        when,
    )
    .unwrap();
    scheduling
        .store()
        .append(
            &StreamId::parse(format!("worker-{worker}")).unwrap(),
            ExpectedVersion::Any,
            vec![event],
        )
        .await
        .unwrap();
    CandidateId(nomination)
}

async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn queued(scheduling: &Scheduling, candidate: CandidateId) {
    eventually("the candidate is queued", || async {
        scheduling.candidate(candidate).await.unwrap().is_some()
    })
    .await;
}

fn site_plan(region_code: &str, capacity: u32, assessors: &[&str], starts: OffsetDateTime) -> Plan {
    Plan {
        scheme: scheduling_scheme(),
        venue: Venue::TestSite {
            name: "TUK".into(),
            region: region(region_code),
        },
        starts_at: starts,
        ends_at: starts + Span::hours(8),
        capacity,
        assessors: assessors
            .iter()
            .map(|a| ExternalId::parse(a).unwrap())
            .collect(),
        served: vec![region(&region_code[..2])],
        cutoff: starts - Span::days(7),
        lsps: ExternalId::parse("LSPS-PEKSOS").unwrap(),
        // Scheduling takes the scheme's units from the catalogue.
        units: Vec::new(),
    }
}

fn scheduling_scheme() -> SchemeRef {
    SchemeRef {
        code: "PEKSOS-GENERALIS".into(),
        category: "peksos".into(),
        level: "Generalis".into(),
    }
}

async fn new_session(scheduling: &Scheduling, plan: Plan) -> SessionId {
    let session = SessionId(Uuid::now_v7());
    scheduling.schedule(&at(T0), session, plan).await.unwrap();
    session
}

fn assessor_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

async fn a_verified_nomination_becomes_a_waiting_candidate_once(scheduling: &Scheduling) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let state = scheduling.candidate(candidate).await.unwrap().unwrap();
    let queued = state.queued.unwrap();
    assert_eq!(queued.scheme.level, "Generalis");
    assert_eq!(queued.region, region("32.77.01"));
    assert_eq!(queued.verified_at, T0);
    let page = scheduling
        .pool_at_head()
        .await
        .unwrap()
        .list_candidates(&CandidateFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].status, "waiting");
}

async fn a_candidate_is_never_seated_in_two_sessions(scheduling: &Scheduling) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let first = new_session(scheduling, site_plan("32.77", 10, &["A-1"], STARTS)).await;
    let second = new_session(scheduling, site_plan("32.77", 10, &["A-2"], STARTS)).await;
    scheduling.seat(&at(T0), first, candidate).await.unwrap();
    let again = scheduling.seat(&at(T0), first, candidate).await.unwrap();
    assert!(
        again.events.is_empty(),
        "seating again asks for what is true"
    );
    let refused = scheduling
        .seat(&at(T0), second, candidate)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SchedulingError::SeatedElsewhere { session } if *session == first.to_string()),
        "{refused:?}"
    );
    scheduling
        .unseat(&at(T0), first, candidate, "moved away".into())
        .await
        .unwrap();
    scheduling.seat(&at(T0), second, candidate).await.unwrap();
}

async fn an_assessor_is_never_booked_into_overlapping_sessions(scheduling: &Scheduling) {
    let morning = new_session(scheduling, site_plan("32.77", 10, &["ASR-1"], STARTS)).await;
    let overlapping = scheduling
        .schedule(
            &at(T0),
            SessionId(Uuid::now_v7()),
            site_plan("32.73", 10, &["ASR-1"], STARTS + Span::hours(4)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&overlapping, SchedulingError::AssessorBooked { assessor, session } if assessor == "ASR-1" && *session == morning.to_string()),
        "{overlapping:?}"
    );
    new_session(
        scheduling,
        site_plan("32.73", 10, &["ASR-1"], STARTS + Span::hours(8)),
    )
    .await;
    scheduling
        .cancel(&at(T0), morning, "no room".into())
        .await
        .unwrap();
    new_session(
        scheduling,
        site_plan(
            "32.73",
            10,
            &["ASR-1"],
            STARTS + Span::hours(4) - Span::hours(4),
        ),
    )
    .await;
}

async fn concurrent_auto_allocations_never_overfill_or_seat_twice(scheduling: &Scheduling) {
    let mut candidates = Vec::new();
    for i in 0..40 {
        candidates.push(verify(scheduling, "32.77.01", T0 + Span::minutes(i)).await);
    }
    for candidate in &candidates {
        queued(scheduling, *candidate).await;
    }
    let mut sessions = Vec::new();
    for i in 0..3 {
        let names = assessor_names(&format!("S{i}"), 1);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        sessions.push(new_session(scheduling, site_plan("32.77", 10, &names, STARTS)).await);
    }
    let runs = (0..4).map(|_| {
        let scheduling = scheduling.clone();
        tokio::spawn(async move { scheduling.allocate(&at(T0), Some("PEKSOS-GENERALIS")).await })
    });
    let mut seated_by_runs = 0;
    for run in runs {
        seated_by_runs += run.await.unwrap().unwrap().seated;
    }
    assert_eq!(
        seated_by_runs, 30,
        "the runs together seat exactly the free seats"
    );
    let mut everyone = Vec::new();
    for session in &sessions {
        let state = scheduling.session(*session).await.unwrap().unwrap();
        assert_eq!(state.seated(), 10, "a session is full, never over-full");
        everyone.extend(state.seats.keys().copied());
    }
    let distinct: std::collections::BTreeSet<_> = everyone.iter().collect();
    assert_eq!(distinct.len(), everyone.len(), "nobody holds two seats");
    let oldest: std::collections::BTreeSet<_> = candidates[..30].iter().collect();
    assert_eq!(
        distinct, oldest,
        "the oldest verifications are seated first"
    );
}

async fn allocation_prefers_the_candidates_own_kabupaten_kota(scheduling: &Scheduling) {
    let far = verify(scheduling, "32.04.01", T0).await;
    let near = verify(scheduling, "32.77.02", T0 + Span::minutes(5)).await;
    queued(scheduling, far).await;
    queued(scheduling, near).await;
    let session = new_session(scheduling, site_plan("32.77", 1, &["K-1"], STARTS)).await;
    let allocation = scheduling.allocate(&at(T0), None).await.unwrap();
    assert_eq!(allocation.seated, 1);
    let state = scheduling.session(session).await.unwrap().unwrap();
    assert!(
        state.seats.contains_key(&near),
        "the local candidate wins the seat"
    );
}

async fn a_reschedule_moves_the_seat_before_the_cutoff_and_is_refused_after(
    scheduling: &Scheduling,
) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let from = new_session(scheduling, site_plan("32.77", 5, &["R-1"], STARTS)).await;
    let to = new_session(
        scheduling,
        site_plan("32.77", 5, &["R-2"], STARTS + Span::days(3)),
    )
    .await;
    scheduling.seat(&at(T0), from, candidate).await.unwrap();
    scheduling
        .reschedule(&at(T0), from, candidate, to, "closer date".into())
        .await
        .unwrap();
    assert!(
        !scheduling
            .session(from)
            .await
            .unwrap()
            .unwrap()
            .seats
            .contains_key(&candidate)
    );
    assert!(
        scheduling
            .session(to)
            .await
            .unwrap()
            .unwrap()
            .seats
            .contains_key(&candidate)
    );
    let late = scheduling
        .reschedule(
            &at(STARTS - Span::days(1)),
            to,
            candidate,
            from,
            "too late".into(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            late,
            SchedulingError::Session(SessionError::CutoffPassed { .. })
        ),
        "{late:?}"
    );
    assert!(
        scheduling
            .session(to)
            .await
            .unwrap()
            .unwrap()
            .seats
            .contains_key(&candidate)
    );
}

async fn a_cancelled_session_sends_every_candidate_back_to_the_pool(scheduling: &Scheduling) {
    let a = verify(scheduling, "32.77.01", T0).await;
    let b = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, a).await;
    queued(scheduling, b).await;
    let session = new_session(scheduling, site_plan("32.77", 5, &["C-1"], STARTS)).await;
    scheduling.seat(&at(T0), session, a).await.unwrap();
    scheduling.seat(&at(T0), session, b).await.unwrap();
    scheduling
        .cancel(&at(T0), session, "flood".into())
        .await
        .unwrap();
    for candidate in [a, b] {
        eventually("the candidate is returned", || async {
            !scheduling
                .candidate(candidate)
                .await
                .unwrap()
                .unwrap()
                .returned_from
                .is_empty()
        })
        .await;
        let state = scheduling.candidate(candidate).await.unwrap().unwrap();
        assert!(
            state.failures.is_empty(),
            "a cancellation is not an attempt"
        );
    }
    let other = new_session(scheduling, site_plan("32.77", 5, &["C-2"], STARTS)).await;
    scheduling.seat(&at(T0), other, a).await.unwrap();
}

/// The units of the sessions' scheme in the shipped catalogue.
fn generalis_units() -> Vec<String> {
    SchemeList::from_catalogue_toml(include_str!("../../enrollment/reference/schemes.toml"))
        .unwrap()
        .units("PEKSOS-GENERALIS")
        .unwrap()
        .iter()
        .map(|unit| unit.code.clone())
        .collect()
}

/// A decision that judges every unit of the scheme: all K for Kompeten, the last BK otherwise.
fn decision(
    candidate: CandidateId,
    decision: Decision,
    at: OffsetDateTime,
    message: &str,
) -> ReportedDecision {
    let units = generalis_units();
    let last = units.len() - 1;
    ReportedDecision {
        candidate,
        units: units
            .into_iter()
            .enumerate()
            .map(|(i, unit)| UnitResult {
                unit,
                kompeten: decision == Decision::Kompeten || i < last,
            })
            .collect(),
        decision,
        assessors: vec![ExternalId::parse("D-1").unwrap()],
        decided_at: at,
        lsps: ExternalId::parse("LSPS-PEKSOS").unwrap(),
        message_id: message.into(),
    }
}

async fn a_belum_kompeten_candidate_waits_then_may_be_seated_again(scheduling: &Scheduling) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let session = new_session(scheduling, site_plan("32.77", 5, &["D-1"], STARTS)).await;
    scheduling.seat(&at(T0), session, candidate).await.unwrap();
    scheduling
        .lock(&at(STARTS - Span::days(2)), session)
        .await
        .unwrap();
    let decided_at = STARTS + Span::hours(6);
    scheduling
        .record_decision(
            &at(decided_at),
            session,
            decision(candidate, Decision::BelumKompeten, decided_at, "m-1"),
        )
        .await
        .unwrap();
    eventually("the seat is released", || async {
        let state = scheduling.session(session).await.unwrap().unwrap();
        state
            .seats
            .get(&candidate)
            .is_some_and(|seat| seat.released)
    })
    .await;
    let state = scheduling.candidate(candidate).await.unwrap().unwrap();
    assert_eq!(state.failures, vec![decided_at.date()]);
    assert_eq!(
        state.eligible_from,
        Some(decided_at.date() + Span::days(30))
    );
    let too_soon = new_session(
        scheduling,
        site_plan("32.77", 5, &["D-2"], STARTS + Span::days(10)),
    )
    .await;
    let refused = scheduling
        .seat(&at(decided_at), too_soon, candidate)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            SchedulingError::Session(SessionError::StillWaiting { .. })
        ),
        "{refused:?}"
    );
    let later = scheduling
        .schedule(
            &at(decided_at),
            SessionId(Uuid::now_v7()),
            site_plan("32.77", 5, &["D-3"], STARTS + Span::days(40)),
        )
        .await
        .unwrap();
    let later = later.state.id.unwrap();
    scheduling
        .seat(&at(decided_at), later, candidate)
        .await
        .unwrap();
}

async fn a_session_takes_its_schemes_units_and_a_result_must_judge_exactly_them(
    scheduling: &Scheduling,
) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let session = new_session(scheduling, site_plan("32.77", 5, &["D-1"], STARTS)).await;
    let state = scheduling.session(session).await.unwrap().unwrap();
    let units: Vec<String> = state
        .plan
        .as_ref()
        .unwrap()
        .units
        .iter()
        .map(|unit| unit.code.clone())
        .collect();
    assert_eq!(units, generalis_units());
    scheduling.seat(&at(T0), session, candidate).await.unwrap();
    scheduling
        .lock(&at(STARTS - Span::days(2)), session)
        .await
        .unwrap();
    let when = STARTS + Span::hours(5);
    let mut stranger = decision(candidate, Decision::Kompeten, when, "m-u1");
    stranger.units[0].unit = "U01".into();
    let mut partial = decision(candidate, Decision::Kompeten, when, "m-u2");
    let left_out = partial.units.pop().unwrap().unit;
    for (report, expected) in [
        (stranger, SessionError::UnknownUnit("U01".into())),
        (partial, SessionError::MissingUnit(left_out)),
    ] {
        let refused = scheduling
            .record_decision(&at(when), session, report)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, SchedulingError::Session(error) if *error == expected),
            "{refused}"
        );
    }
    scheduling
        .record_decision(
            &at(when),
            session,
            decision(candidate, Decision::Kompeten, when, "m-u3"),
        )
        .await
        .unwrap();
}

async fn reports_are_recorded_once_and_contradictions_are_refused(scheduling: &Scheduling) {
    let a = verify(scheduling, "32.77.01", T0).await;
    let b = verify(scheduling, "32.77.01", T0).await;
    let stranger = verify(scheduling, "32.77.01", T0).await;
    for c in [a, b, stranger] {
        queued(scheduling, c).await;
    }
    let session = new_session(scheduling, site_plan("32.77", 5, &["D-1"], STARTS)).await;
    scheduling.seat(&at(T0), session, a).await.unwrap();
    scheduling.seat(&at(T0), session, b).await.unwrap();
    scheduling
        .lock(&at(STARTS - Span::days(2)), session)
        .await
        .unwrap();
    let when = STARTS + Span::hours(5);
    let report = |c, d, m: &str| {
        let mut context = at(when);
        context.command_id = kesos_http::uuid_for_key(m);
        (context, Report::Decision(decision(c, d, when, m)))
    };
    let batch = vec![
        report(a, Decision::Kompeten, "m-a"),
        report(a, Decision::Kompeten, "m-a"),
        report(a, Decision::BelumKompeten, "m-a2"),
        report(stranger, Decision::Kompeten, "m-s"),
        report(b, Decision::BelumKompeten, "m-b"),
    ];
    let outcomes = scheduling.record_reports(session, &batch).await.unwrap();
    assert!(matches!(outcomes[0], Recorded::Accepted));
    assert!(matches!(outcomes[1], Recorded::AlreadyKnown));
    assert!(matches!(
        outcomes[2],
        Recorded::Refused(SchedulingError::Session(
            SessionError::ContradictingDecision { .. }
        ))
    ));
    assert!(matches!(
        outcomes[3],
        Recorded::Refused(SchedulingError::Session(SessionError::NotOnRoster))
    ));
    assert!(matches!(outcomes[4], Recorded::Accepted));
    let again = scheduling
        .record_reports(session, &batch[..1])
        .await
        .unwrap();
    assert!(matches!(again[0], Recorded::AlreadyKnown));
    let state = scheduling.session(session).await.unwrap().unwrap();
    assert_eq!(
        state.seats[&a].decision.as_ref().unwrap().0,
        Decision::Kompeten
    );
    let elsewhere = scheduling
        .record_reports(SessionId(Uuid::now_v7()), &batch[..1])
        .await
        .unwrap();
    assert!(matches!(
        elsewhere[0],
        Recorded::Refused(SchedulingError::SessionNotFound(_))
    ));
}

async fn the_lock_job_locks_each_due_session_once(scheduling: &Scheduling) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let due = new_session(scheduling, site_plan("32.77", 5, &["L-1"], STARTS)).await;
    let empty = new_session(scheduling, site_plan("32.77", 5, &["L-2"], STARTS)).await;
    let later = new_session(
        scheduling,
        site_plan("32.77", 5, &["L-3"], STARTS + Span::days(30)),
    )
    .await;
    scheduling.seat(&at(T0), due, candidate).await.unwrap();
    let now = STARTS - Span::days(3);
    assert_eq!(scheduling.lock_due(now).await.unwrap(), 1);
    assert_eq!(scheduling.lock_due(now).await.unwrap(), 0);
    assert_eq!(
        scheduling.session(due).await.unwrap().unwrap().status,
        SessionStatus::Locked
    );
    assert_eq!(
        scheduling.session(empty).await.unwrap().unwrap().status,
        SessionStatus::Open
    );
    assert_eq!(
        scheduling.session(later).await.unwrap().unwrap().status,
        SessionStatus::Open
    );
}

/// Appends a WorkerPostingMoved as enrollment would.
async fn move_worker(scheduling: &Scheduling, worker: WorkerId, from: &str, to: &str) {
    let reference = |code: &str| {
        Some(common::RegionRef {
            code: code.into(),
            edition: "test".into(),
        })
    };
    let payload = enrollment::WorkerPostingMoved {
        worker_id: worker.to_string(),
        from_posting: reference(from),
        to_posting: reference(to),
    }
    .encode_to_vec();
    let event = NewEvent::new(
        Uuid::now_v7(),
        EventType::parse("kesos.enrollment.v1.WorkerPostingMoved").unwrap(),
        1,
        payload,
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "user:test".into(),
            trace_parent: String::new(),
        },
        T0 + Span::hours(1),
    )
    .unwrap();
    scheduling
        .store()
        .append(
            &StreamId::parse(format!("worker-{worker}")).unwrap(),
            ExpectedVersion::Any,
            vec![event],
        )
        .await
        .unwrap();
}

async fn a_moved_worker_waits_as_a_candidate_of_the_new_region(scheduling: &Scheduling) {
    let candidate = verify(scheduling, "32.77.01", T0).await;
    queued(scheduling, candidate).await;
    let worker = scheduling
        .candidate(candidate)
        .await
        .unwrap()
        .unwrap()
        .queued
        .unwrap()
        .worker;
    move_worker(scheduling, worker, "32.77.01", "32.17.01").await;
    let in_region = |code: &str| CandidateFilter {
        region: Some(region(code)),
        ..CandidateFilter::default()
    };
    eventually("the candidate follows the move", || async {
        let page = scheduling
            .pool()
            .list_candidates(&in_region("32.17"), None, 10)
            .await
            .unwrap();
        page.items
            .iter()
            .any(|c| c.candidate_id == candidate.to_string())
    })
    .await;
    let pool = scheduling.pool_at_head().await.unwrap();
    let left = pool
        .list_candidates(&in_region("32.77"), None, 10)
        .await
        .unwrap();
    assert_eq!(left.total, 0, "still listed in the old region: {left:?}");
    let state = scheduling.candidate(candidate).await.unwrap().unwrap();
    assert_eq!(state.queued.unwrap().region, region("32.17.01"));
    // Auto-allocation matches the new region: a session serving only Kabupaten Bandung Barat
    // seats the candidate.
    let mut plan = site_plan("32.17", 2, &["ASR-MOVE"], STARTS);
    plan.served = vec![region("32.17")];
    let session = new_session(scheduling, plan).await;
    scheduling
        .allocate(&at(T0), Some("PEKSOS-GENERALIS"))
        .await
        .unwrap();
    let seated = scheduling.session(session).await.unwrap().unwrap();
    assert!(
        seated.seats.contains_key(&candidate),
        "the moved candidate was not seated in its new region's session"
    );
}

async fn a_scheduled_session_is_listed_once_the_command_has_waited_for_its_position(
    scheduling: &Scheduling,
) {
    for n in 0..3_u64 {
        let assessor = format!("W-{n}");
        let session = SessionId(Uuid::now_v7());
        let ran = scheduling
            .schedule(
                &at(T0),
                session,
                site_plan("32.77", 5, &[assessor.as_str()], STARTS),
            )
            .await
            .unwrap();
        let appended = *ran.positions.iter().max().unwrap();
        scheduling.settle(&ran.positions).await;
        assert!(
            scheduling.projector().position(SOURCE) >= appended,
            "settle returned before the projector applied the write"
        );
        let page = scheduling
            .pool()
            .list_sessions(&SessionFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(page.total, n + 1, "{page:?}");
        assert!(
            page.items
                .iter()
                .any(|row| row.session_id == session.to_string()),
            "the session just scheduled is not listed: {page:?}"
        );
    }
}

/// Appends a scheduling event the pool cannot decode; returns its position.
async fn poison(scheduling: &Scheduling) -> u64 {
    let event = NewEvent::new(
        Uuid::now_v7(),
        EventType::parse("kesos.scheduling.v1.SessionScheduled").unwrap(),
        1,
        vec![0xff; 8],
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "user:test".into(),
            trace_parent: String::new(),
        },
        T0,
    )
    .unwrap();
    let stream = StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap();
    let appended = scheduling
        .store()
        .append(&stream, ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    appended.positions[0]
}

async fn a_list_answers_from_the_applied_rows_and_applies_nothing(harness: &Harness) {
    let scheduling = &harness.scheduling;
    let listed = new_session(scheduling, site_plan("32.77", 5, &["P-1"], STARTS)).await;
    scheduling.pool_at_head().await.unwrap();
    // The projection stops before an event it cannot apply, retrying; the log goes on.
    let poisoned = poison(scheduling).await;
    new_session(scheduling, site_plan("32.77", 5, &["P-2"], STARTS)).await;
    eventually("the pool reports itself stalled", || async {
        harness
            .stalls
            .current()
            .iter()
            .any(|(name, _)| name == "scheduling.pool")
    })
    .await;
    let before = scheduling.projector().checkpoints().await.unwrap();
    assert!(before[SOURCE] < poisoned, "{before:?}");
    let page = scheduling
        .pool()
        .list_sessions(&SessionFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(page.total, 1, "{page:?}");
    assert_eq!(page.items[0].session_id, listed.to_string());
    let candidates = scheduling
        .pool()
        .list_candidates(&CandidateFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(candidates.total, 0);
    let after = scheduling.projector().checkpoints().await.unwrap();
    assert_eq!(before, after, "a list moved the read models' checkpoint");
}

/// A database as the release before the read side left it: the pool's tables and its own
/// checkpoint table (migration 5001), the checkpoint at 42.
async fn an_older_deployment_resumes_the_pool_from_its_checkpoint(
    store: Arc<dyn EventStore>,
    db: Db,
) {
    let mut older = kesos_scheduling::projections::migrations();
    for migrator in [&mut older.postgres, &mut older.sqlite] {
        let before: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version < 5002)
            .cloned()
            .collect();
        migrator.migrations = before.into();
    }
    db.migrate(older).await.unwrap();
    db.query("UPDATE scheduling_checkpoints SET position = 42 WHERE name = 'pool'")
        .execute()
        .await
        .unwrap();
    let scheduling = scheduling(store, db.clone(), &Stalls::new()).await;
    let checkpoints = scheduling.projector().checkpoints().await.unwrap();
    assert_eq!(checkpoints.get(SOURCE), Some(&42), "{checkpoints:?}");
    let old = db
        .query("SELECT position FROM scheduling_checkpoints")
        .fetch_all()
        .await;
    assert!(old.is_err(), "the old checkpoint table is still there");
}

/// Appends an event of enrollment's about `worker`, and returns it as recorded (so a test can
/// deliver it again).
async fn enrollment_event(
    scheduling: &Scheduling,
    worker: WorkerId,
    event_type: &str,
    payload: Vec<u8>,
    when: OffsetDateTime,
) -> RecordedEvent {
    let event_id = Uuid::now_v7();
    let event = NewEvent::new(
        event_id,
        EventType::parse(event_type).unwrap(),
        1,
        payload,
        Metadata {
            correlation_id: "test".into(),
            causation_id: "test".into(),
            actor: "user:test".into(),
            trace_parent: String::new(),
        },
        when,
    )
    .unwrap();
    let stream = StreamId::parse(format!("worker-{worker}")).unwrap();
    scheduling
        .store()
        .append(&stream, ExpectedVersion::Any, vec![event])
        .await
        .unwrap();
    let recorded = scheduling
        .store()
        .read_stream(&stream, AsOf::Now)
        .await
        .unwrap();
    recorded
        .into_iter()
        .find(|e| e.event_id == event_id)
        .unwrap()
}

async fn worker_of(scheduling: &Scheduling, candidate: CandidateId) -> WorkerId {
    queued(scheduling, candidate).await;
    let state = scheduling.candidate(candidate).await.unwrap().unwrap();
    state.queued.unwrap().worker
}

fn business_day(day: time::Date) -> Option<common::Date> {
    Some(common::Date {
        year: day.year(),
        month: i32::from(u8::from(day.month())),
        day: i32::from(day.day()),
    })
}

/// The number of events in a stream: what a redelivery must leave unchanged.
async fn events_in(scheduling: &Scheduling, stream: StreamId) -> usize {
    scheduling
        .store()
        .read_stream(&stream, AsOf::Now)
        .await
        .unwrap()
        .len()
}

async fn a_departed_worker_leaves_the_pool_and_a_return_brings_them_back(scheduling: &Scheduling) {
    let waiting = verify(scheduling, "32.77.01", T0).await;
    let seated = verify(scheduling, "32.77.01", T0).await;
    let on_roster = verify(scheduling, "32.77.01", T0).await;
    let open = new_session(scheduling, site_plan("32.77", 5, &["D-1"], STARTS)).await;
    let later = STARTS + Span::days(2);
    let locked = new_session(scheduling, site_plan("32.77", 5, &["D-2"], later)).await;
    let mut workers = Vec::new();
    for candidate in [waiting, seated, on_roster] {
        workers.push(worker_of(scheduling, candidate).await);
    }
    scheduling.seat(&at(T0), open, seated).await.unwrap();
    scheduling.seat(&at(T0), locked, on_roster).await.unwrap();
    scheduling
        .lock(&at(later - Span::days(6)), locked)
        .await
        .unwrap();

    // Each worker leaves the programme.
    let departed_on = time::macros::date!(2026 - 11 - 02);
    let mut departures = Vec::new();
    for worker in &workers {
        let payload = enrollment::WorkerDeparted {
            worker_id: worker.to_string(),
            reason: enrollment::DepartureReason::Resigned as i32,
            departed_on: business_day(departed_on),
            note: "SK 12".into(),
        }
        .encode_to_vec();
        let recorded = enrollment_event(
            scheduling,
            *worker,
            "kesos.enrollment.v1.WorkerDeparted",
            payload,
            T0 + Span::hours(1),
        )
        .await;
        departures.push(recorded);
    }
    eventually(
        "every candidate departs and the open seat is given up",
        || async {
            let mut all = true;
            for candidate in [waiting, seated, on_roster] {
                let state = scheduling.candidate(candidate).await.unwrap().unwrap();
                all &= state.departed.is_some();
            }
            let session = scheduling.session(open).await.unwrap().unwrap();
            all && session.seats.is_empty()
        },
    )
    .await;
    let state = scheduling.candidate(seated).await.unwrap().unwrap();
    assert_eq!(state.departed.unwrap().departed_on, departed_on);
    // The locked roster keeps its seat: LSPS has it, and its report decides.
    let roster = scheduling.session(locked).await.unwrap().unwrap();
    assert!(roster.seats.contains_key(&on_roster));

    // The pool lists them as departed and auto-allocation offers none of them.
    let pool = scheduling.pool_at_head().await.unwrap();
    let row = |id: CandidateId| {
        let pool = pool.clone();
        async move {
            let page = pool
                .list_candidates(&CandidateFilter::default(), None, 100)
                .await
                .unwrap();
            page.items
                .into_iter()
                .find(|c| c.candidate_id == id.to_string())
                .unwrap()
        }
    };
    for candidate in [waiting, seated] {
        let listed = row(candidate).await;
        assert_eq!(listed.status, "departed", "{listed:?}");
        assert_eq!(listed.departed_on.as_deref(), Some("2026-11-02"));
        assert_eq!(listed.departure_reason.as_deref(), Some("resigned"));
    }
    assert_eq!(row(on_roster).await.status, "seated");
    let allocation = scheduling
        .allocate(&at(T0 + Span::hours(2)), Some("PEKSOS-GENERALIS"))
        .await
        .unwrap();
    let session = scheduling.session(open).await.unwrap().unwrap();
    assert!(
        !session.seats.contains_key(&waiting) && !session.seats.contains_key(&seated),
        "a departed candidate was allocated: {allocation:?}"
    );
    // A seat by hand is refused with the rule.
    let refused = scheduling
        .seat(&at(T0 + Span::hours(2)), open, waiting)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            SchedulingError::Session(SessionError::Departed { departed_on: day }) if day == departed_on
        ),
        "{refused:?}"
    );

    // A redelivered departure changes nothing.
    let intake = Intake::new(scheduling.clone());
    let streams = |c: CandidateId| kesos_scheduling::service::candidate_stream(c).unwrap();
    let before = (
        events_in(scheduling, streams(seated)).await,
        events_in(
            scheduling,
            kesos_scheduling::service::session_stream(open).unwrap(),
        )
        .await,
    );
    for recorded in &departures {
        intake
            .act(&Delivered {
                source: "enrollment".into(),
                event: recorded.clone(),
            })
            .await
            .unwrap();
    }
    let after = (
        events_in(scheduling, streams(seated)).await,
        events_in(
            scheduling,
            kesos_scheduling::service::session_stream(open).unwrap(),
        )
        .await,
    );
    assert_eq!(before, after, "a redelivered departure appended something");

    // The first worker returns: the candidate waits again from the return's date.
    let returned_on = time::macros::date!(2026 - 11 - 10);
    let payload = enrollment::WorkerReturned {
        worker_id: workers[0].to_string(),
        returned_on: business_day(returned_on),
    }
    .encode_to_vec();
    let back = enrollment_event(
        scheduling,
        workers[0],
        "kesos.enrollment.v1.WorkerReturned",
        payload,
        T0 + Span::hours(3),
    )
    .await;
    eventually("the returned candidate is back in the pool", || async {
        let state = scheduling.candidate(waiting).await.unwrap().unwrap();
        state.departed.is_none()
    })
    .await;
    let state = scheduling.candidate(waiting).await.unwrap().unwrap();
    assert_eq!(state.eligible_from, Some(returned_on));
    let pool = scheduling.pool_at_head().await.unwrap();
    let filter = CandidateFilter {
        worker: Some(workers[0]),
        ..CandidateFilter::default()
    };
    let listed = pool.list_candidates(&filter, None, 10).await.unwrap();
    assert_eq!(listed.items[0].status, "waiting");
    assert_eq!(listed.items[0].departed_on, None);
    assert_eq!(listed.items[0].eligible_from, "2026-11-10");
    let versions = events_in(scheduling, streams(waiting)).await;
    intake
        .act(&Delivered {
            source: "enrollment".into(),
            event: back,
        })
        .await
        .unwrap();
    assert_eq!(
        events_in(scheduling, streams(waiting)).await,
        versions,
        "a redelivered return appended something"
    );
    scheduling
        .allocate(&at(T0 + Span::hours(4)), Some("PEKSOS-GENERALIS"))
        .await
        .unwrap();
    let session = scheduling.session(open).await.unwrap().unwrap();
    assert!(
        session.seats.contains_key(&waiting),
        "the returned candidate was not allocated"
    );
    assert!(
        !session.seats.contains_key(&seated),
        "a departed candidate was allocated"
    );
}
