//! A worker's erasure reaches the rosters the LSPS stream still keeps, on the real NATS
//! JetStream and PostgreSQL: the roster desk sends a roster naming two workers, enrollment
//! erases one (a `WorkerErased` in the log, as in one process), and the intake erases every
//! message carrying the erased worker's name or NIK while the other candidate's roster stays
//! readable. Then the same without NATS, on SQLite: the embedded mode's intake takes the
//! erasure in its stride.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, Stalls};
use kesos_eventstore::{AsOf, EventStore, PostgresStore, StreamId};
use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::Db;
use kesos_regions::RegionCode;
use kesos_scheduling::domain::*;
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::roster::{Identity, RosterDesk, RosterNames};
use kesos_scheduling::service::Scheduling;
use kesos_scheduling::service::intake::Intake;
use kesos_testkit::history::Writer;
use kesos_testkit::{PgSchema, SqliteFile, nats_url, unique_name};
use prost::Message as _;
use time::Duration as Span;
use tokio::sync::watch;
use uuid::Uuid;

use support::{STARTS, T0, at, plan, spawn_consumer};

const LSPS: &str = "LSPS-PEKSOS";

/// Enrollment's part: the two workers' names and NIKs.
struct Names(HashMap<WorkerId, Identity>);

#[async_trait]
impl RosterNames for Names {
    async fn identities(
        &self,
        workers: &[WorkerId],
    ) -> Result<HashMap<WorkerId, Identity>, String> {
        Ok(workers
            .iter()
            .filter_map(|w| self.0.get(w).map(|i| (*w, i.clone())))
            .collect())
    }
}

/// A worker on the roster, with what the roster carries of them.
#[derive(Clone)]
struct Person {
    worker: WorkerId,
    name: String,
    nik: String,
}

impl Person {
    fn new(name: &str, nik: &str) -> Self {
        Self {
            worker: WorkerId(Uuid::now_v7()),
            name: name.to_owned(),
            nik: nik.to_owned(),
        }
    }
}

/// One message of the LSPS stream as it is stored.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    sequence: u64,
    payload: Vec<u8>,
}

impl Stored {
    fn contains(&self, text: &str) -> bool {
        self.payload
            .windows(text.len())
            .any(|window| window == text.as_bytes())
    }
}

/// A session with two seated workers whose roster the desk sent to LSPS; the intake (with
/// the LSPS erasure) runs as a consumer of the log when `intake_running`.
struct Harness {
    schema: PgSchema,
    store: PostgresStore,
    shared: Arc<dyn EventStore>,
    scheduling: Scheduling,
    context: jetstream::Context,
    channel: LspsChannel,
    intake: Intake,
    siti: Person,
    budi: Person,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Harness {
    async fn roster_sent(intake_running: bool) -> Self {
        let schema = PgSchema::create().await;
        let store = schema.store().await;
        let db = Db::from(store.pool().clone());
        kesos_bus::bookkeeping::migrate_consumers(&db)
            .await
            .unwrap();
        let shared: Arc<dyn EventStore> = Arc::new(store.clone());
        let scheduling = open(shared.clone(), db.clone()).await;
        let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
        let channel = LspsChannel::new(unique_name("erase").replace('-', "_"), unique_name("LSPS"));
        channel.ensure(&context).await.unwrap();
        let siti = Person::new("Siti Aminah Lestari", "3277014107900011");
        let budi = Person::new("Budi Santoso Wibowo", "3277014107900022");
        let names = Names(
            [&siti, &budi]
                .into_iter()
                .map(|p| {
                    let identity = Identity {
                        full_name: p.name.clone(),
                        nik: p.nik.clone(),
                    };
                    (p.worker, identity)
                })
                .collect(),
        );
        let intake = Intake::new(scheduling.clone()).erasing_rosters(context.clone());
        let (stop, watching) = watch::channel(false);
        let desk = RosterDesk::new(
            scheduling.clone(),
            Arc::new(names),
            context.clone(),
            channel.clone(),
        );
        let mut tasks = vec![spawn_consumer(
            "roster-desk",
            shared.clone(),
            db.clone(),
            Arc::new(desk),
            watching.clone(),
        )];
        if intake_running {
            tasks.push(spawn_consumer(
                "intake",
                shared.clone(),
                db,
                Arc::new(intake.clone()),
                watching,
            ));
        }
        let harness = Self {
            schema,
            store,
            shared,
            scheduling,
            context,
            channel,
            intake,
            siti,
            budi,
            stop,
            tasks,
        };
        harness.seat_and_lock().await;
        harness
    }

    async fn seat_and_lock(&self) {
        for (i, person) in [&self.siti, &self.budi].into_iter().enumerate() {
            self.scheduling
                .queue(
                    &at(T0),
                    Queued {
                        candidate: CandidateId(Uuid::now_v7()),
                        worker: person.worker,
                        scheme: plan(&["A-1"], LSPS).scheme,
                        region: RegionCode::parse("32.77.01").unwrap(),
                        verified_at: T0 + Span::minutes(i64::try_from(i).unwrap()),
                    },
                )
                .await
                .unwrap();
        }
        self.scheduling
            .schedule(&at(T0), SessionId(Uuid::now_v7()), plan(&["A-1"], LSPS))
            .await
            .unwrap();
        assert_eq!(
            self.scheduling
                .allocate(&at(T0), None)
                .await
                .unwrap()
                .seated,
            2
        );
        assert_eq!(
            self.scheduling
                .lock_due(STARTS - Span::days(2))
                .await
                .unwrap(),
            1
        );
        for _ in 0..200 {
            let sent = self
                .scheduling
                .sent_rosters()
                .naming(&self.budi.worker.to_string())
                .await
                .unwrap();
            if !sent.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the roster desk sent and recorded no roster");
    }

    /// Every message the LSPS stream holds, read one by one.
    async fn stored(&self) -> Vec<Stored> {
        let mut stream = self.context.get_stream(&self.channel.stream).await.unwrap();
        let state = stream.info().await.unwrap().state.clone();
        let mut stored = Vec::new();
        if state.messages == 0 {
            return stored;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            match stream.get_raw_message(sequence).await {
                Ok(message) => stored.push(Stored {
                    sequence,
                    payload: message.payload.to_vec(),
                }),
                Err(error) => assert_eq!(
                    error.kind(),
                    jetstream::stream::RawMessageErrorKind::NoMessageFound,
                    "{error}"
                ),
            }
        }
        stored
    }

    /// Enrollment erases `worker`: the `WorkerErased` as enrollment appends it.
    async fn erase(&self, worker: WorkerId) -> Delivered {
        let writer = Writer {
            store: &*self.shared,
            actor: "user:enrollment".to_owned(),
        };
        writer.erase(worker.0, T0 + Span::days(1)).await;
        let stream = StreamId::parse(format!("worker-{worker}")).unwrap();
        let event = self
            .shared
            .read_stream(&stream, AsOf::Now)
            .await
            .unwrap()
            .pop()
            .unwrap();
        Delivered {
            source: "scheduling".to_owned(),
            event,
        }
    }

    /// Waits until the running intake has handled everything in the log.
    async fn intake_caught_up(&self) {
        let head = self.shared.head_position().await.unwrap();
        let db = Db::from(self.store.pool().clone());
        for _ in 0..200 {
            let at = kesos_bus::bookkeeping::checkpoint(&db, "intake", "scheduling")
                .await
                .unwrap();
            if at >= head {
                assert_eq!(
                    kesos_bus::bookkeeping::dead_letter_count(&db, "intake")
                        .await
                        .unwrap(),
                    0
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the intake did not catch up with the log");
    }

    /// The erasure delivered straight to the intake, as the consumer does: `act`, then
    /// `handle` in a transaction of its own.
    async fn deliver(&self, erased: &Delivered) {
        self.intake.act(erased).await.unwrap();
        let db = Db::from(self.store.pool().clone());
        let mut transaction = db.begin_write().await.unwrap();
        self.intake.handle(&mut transaction, erased).await.unwrap();
        transaction.commit().await.unwrap();
    }

    async fn finish(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.unwrap();
        }
        drop(self.intake);
        drop(self.scheduling);
        let _ = self.context.delete_stream(&self.channel.stream).await;
        self.store.pool().close().await;
        self.schema.drop_now().await;
    }
}

async fn open(store: Arc<dyn EventStore>, db: Db) -> Scheduling {
    Scheduling::open(
        store,
        db,
        SchedulingPolicy::shipped().unwrap(),
        SchemeList::from_catalogue_toml(include_str!("../../enrollment/reference/schemes.toml"))
            .unwrap(),
        &Stalls::new(),
    )
    .await
    .unwrap()
}

fn roster_of(stored: &Stored) -> lsps::CandidateRoster {
    lsps::CandidateRoster::decode(stored.payload.as_slice()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_worker_is_erased_no_message_in_the_lsps_stream_carries_their_name_or_nik_and_the_other_candidates_roster_stays()
 {
    let harness = Harness::roster_sent(true).await;
    let before = harness.stored().await;
    assert_eq!(before.len(), 1);
    assert!(before[0].contains(&harness.siti.nik) && before[0].contains(&harness.siti.name));
    let recorded = harness
        .scheduling
        .sent_rosters()
        .naming(&harness.siti.worker.to_string())
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].sequence, before[0].sequence);
    assert_eq!(recorded[0].workers.len(), 2);

    harness.erase(harness.siti.worker).await;
    harness.intake_caught_up().await;

    let after = harness.stored().await;
    for message in &after {
        assert!(
            !message.contains(&harness.siti.nik),
            "Siti's NIK is still in the stream"
        );
        assert!(
            !message.contains(&harness.siti.name),
            "Siti's name is still in the stream"
        );
    }
    let [copy] = after.as_slice() else {
        panic!("one roster in the stream: {after:?}")
    };
    let roster = roster_of(copy);
    let original = roster_of(&before[0]);
    assert_eq!(roster.message_id, original.message_id);
    assert_eq!(roster.session_id, original.session_id);
    assert_eq!(
        roster.candidates.len(),
        2,
        "Siti keeps her seat, without her data"
    );
    let budi = roster
        .candidates
        .iter()
        .find(|c| c.worker_id == harness.budi.worker.to_string())
        .unwrap();
    assert_eq!(
        (budi.full_name.as_str(), budi.nik.as_str()),
        (harness.budi.name.as_str(), harness.budi.nik.as_str())
    );
    // Siti is forgotten; Budi's copy is on record, so his own erasure will find it.
    let sent = harness.scheduling.sent_rosters();
    assert!(
        sent.naming(&harness.siti.worker.to_string())
            .await
            .unwrap()
            .is_empty()
    );
    let budis = sent.naming(&harness.budi.worker.to_string()).await.unwrap();
    assert_eq!(budis.len(), 1);
    assert_eq!(budis[0].sequence, copy.sequence);
    assert_eq!(budis[0].workers, vec![harness.budi.worker.to_string()]);

    // Budi's erasure then leaves no name and no NIK in the stream at all.
    harness.erase(harness.budi.worker).await;
    harness.intake_caught_up().await;
    let last = harness.stored().await;
    assert_eq!(last.len(), 1);
    assert!(!last[0].contains(&harness.budi.nik) && !last[0].contains(&harness.budi.name));
    assert_eq!(roster_of(&last[0]).candidates.len(), 2);
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_delivered_again_before_or_after_its_commit_publishes_and_erases_nothing_more() {
    let harness = Harness::roster_sent(false).await;
    let erased = harness.erase(harness.siti.worker).await;

    // The first delivery acts, then the process stops before its transaction commits.
    harness.intake.act(&erased).await.unwrap();
    let once = harness.stored().await;
    assert_eq!(once.len(), 1);
    assert!(!once[0].contains(&harness.siti.nik));
    // Delivered again: acts again and commits; and once more after the commit.
    harness.deliver(&erased).await;
    assert_eq!(harness.stored().await, once);
    harness.deliver(&erased).await;
    assert_eq!(harness.stored().await, once);

    let sent = harness.scheduling.sent_rosters();
    assert!(
        sent.naming(&harness.siti.worker.to_string())
            .await
            .unwrap()
            .is_empty()
    );
    let budis = sent.naming(&harness.budi.worker.to_string()).await.unwrap();
    assert_eq!(budis.len(), 1);
    assert_eq!(budis[0].sequence, once[0].sequence);
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_worker_who_was_never_on_a_roster_changes_nothing_in_the_lsps_stream() {
    let harness = Harness::roster_sent(true).await;
    let before = harness.stored().await;

    harness.erase(WorkerId(Uuid::now_v7())).await;
    harness.intake_caught_up().await;

    assert_eq!(harness.stored().await, before);
    let sent = harness.scheduling.sent_rosters();
    assert_eq!(
        sent.naming(&harness.siti.worker.to_string())
            .await
            .unwrap()
            .len(),
        1
    );
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_embedded_mode_a_workers_erasure_is_taken_without_an_lsps_stream() {
    let file = SqliteFile::create();
    let store = file.store().await;
    let db = Db::from(store.pool().clone());
    kesos_bus::bookkeeping::migrate_consumers(&db)
        .await
        .unwrap();
    let shared: Arc<dyn EventStore> = Arc::new(store.clone());
    let scheduling = open(shared.clone(), db.clone()).await;
    let (stop, watching) = watch::channel(false);
    let intake = spawn_consumer(
        "intake",
        shared.clone(),
        db.clone(),
        Arc::new(Intake::new(scheduling.clone())),
        watching,
    );

    let writer = Writer {
        store: &*shared,
        actor: "user:enrollment".to_owned(),
    };
    writer.erase(Uuid::now_v7(), T0).await;
    let head = shared.head_position().await.unwrap();
    let mut handled = false;
    for _ in 0..200 {
        let at = kesos_bus::bookkeeping::checkpoint(&db, "intake", "scheduling")
            .await
            .unwrap();
        if at >= head {
            handled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(handled, "the intake took the erasure");
    assert_eq!(
        kesos_bus::bookkeeping::dead_letter_count(&db, "intake")
            .await
            .unwrap(),
        0
    );

    let _ = stop.send(true);
    intake.await.unwrap();
    drop(scheduling);
    store.pool().close().await;
}
