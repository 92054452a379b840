//! The Projector's guarantees, on PostgreSQL and on SQLite, over a real event store: each event
//! applied once (even with two projectors on one database), checkpoints that never move
//! backwards, waiting for a position, retrying a failing batch without skipping it, and paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_readside::{
    Db, Delivered, PageQuery, Projection, ProjectionError, Projector, Tx, WaitError, Where,
};
use kesos_testkit::{PgSchema, SqliteFile};
use time::macros::datetime;
use uuid::Uuid;

/// Records every handled event it applies in a table whose key refuses a second application.
struct Seen {
    /// Batches to fail before the first success (a database that is away, then back).
    failures_left: AtomicU32,
}

impl Seen {
    fn new() -> Arc<Self> {
        Self::failing(0)
    }

    fn failing(times: u32) -> Arc<Self> {
        Arc::new(Self {
            failures_left: AtomicU32::new(times),
        })
    }
}

#[async_trait]
impl Projection for Seen {
    fn name(&self) -> &str {
        "test.seen"
    }

    fn handles(&self, event_type: &str) -> bool {
        event_type == "kesos.test.v1.Counted"
    }

    fn batch_size(&self) -> usize {
        7
    }

    async fn apply(&self, tx: &mut Tx, events: &[&Delivered]) -> Result<(), ProjectionError> {
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
        {
            return Err(ProjectionError::event(events[0], "the test says not yet"));
        }
        for delivered in events {
            tx.query("INSERT INTO test_seen (event_id, label, position) VALUES ($1, $2, $3)")
                .bind(delivered.event.event_id.to_string())
                .bind(String::from_utf8_lossy(&delivered.event.payload).into_owned())
                .bind(kesos_readside::to_i64(delivered.event.position))
                .execute()
                .await?;
        }
        Ok(())
    }
}

fn event(kind: &str, label: &str) -> NewEvent {
    NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(kind).unwrap(),
        1,
        label.as_bytes().to_vec(),
        Metadata {
            correlation_id: "corr".into(),
            causation_id: "cmd".into(),
            actor: "test".into(),
            trace_parent: String::new(),
        },
        datetime!(2021-06-01 08:00 UTC),
    )
    .unwrap()
}

/// Appends `count` events to their own streams, every third of a type the projection does not
/// handle; returns the last position.
async fn append(store: &dyn EventStore, prefix: &str, count: usize) -> u64 {
    let mut last = 0;
    for index in 0..count {
        let kind = if index % 3 == 2 {
            "kesos.test.v1.Ignored"
        } else {
            "kesos.test.v1.Counted"
        };
        let stream = StreamId::parse(format!("test-{prefix}-{index}")).unwrap();
        let outcome = store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                vec![event(kind, &format!("{prefix}{index}"))],
            )
            .await
            .unwrap();
        last = *outcome.positions.last().unwrap();
    }
    last
}

async fn seen(db: &Db) -> Vec<String> {
    db.query("SELECT label FROM test_seen ORDER BY position")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String>("label").unwrap())
        .collect()
}

async fn create_table(db: &Db) {
    db.query(
        "CREATE TABLE test_seen (event_id TEXT PRIMARY KEY, label TEXT NOT NULL, \
         position BIGINT NOT NULL)",
    )
    .execute()
    .await
    .unwrap();
}

/// Runs `$body` with `$store: Arc<dyn EventStore>` and `$db: Db` on each backend.
macro_rules! on_both {
    ($name:ident, |$store:ident, $db:ident| $body:block) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn on_postgres() {
                let schema = PgSchema::create().await;
                let $store: Arc<dyn EventStore> = Arc::new(schema.store().await);
                let $db = Db::Postgres(schema.pool().await);
                create_table(&$db).await;
                $body
                schema.drop_now().await;
            }

            #[tokio::test]
            async fn on_sqlite() {
                let file = SqliteFile::create();
                let sqlite = file.store().await;
                let $db = Db::Sqlite(sqlite.pool().clone());
                let $store: Arc<dyn EventStore> = Arc::new(sqlite);
                create_table(&$db).await;
                $body
            }
        }
    };
}

on_both!(
    a_started_projector_applies_every_handled_event_once_and_in_order,
    |store, db| {
        let projector = Projector::new(db.clone(), Seen::new()).await.unwrap();
        projector.start_on_log(store.clone(), "test");
        let last = append(&*store, "a", 20).await;
        projector
            .wait_for("test", last, Duration::from_secs(10))
            .await
            .unwrap();
        let expected: Vec<String> = (0..20)
            .filter(|index| index % 3 != 2)
            .map(|index| format!("a{index}"))
            .collect();
        assert_eq!(seen(&db).await, expected);
        assert_eq!(projector.checkpoints().await.unwrap()["test"], last);
    }
);

on_both!(
    two_projectors_on_one_database_apply_each_event_exactly_once,
    |store, db| {
        let first = Projector::new(db.clone(), Seen::new()).await.unwrap();
        let second = Projector::new(db.clone(), Seen::new()).await.unwrap();
        first.start_on_log(store.clone(), "test");
        second.start_on_log(store.clone(), "test");
        let last = append(&*store, "b", 40).await;
        for projector in [&first, &second] {
            projector
                .wait_for("test", last, Duration::from_secs(20))
                .await
                .unwrap();
        }
        // A second application would have broken test_seen's primary key and stalled a projector.
        assert_eq!(seen(&db).await.len(), 27);
    }
);

on_both!(
    a_read_waits_for_the_position_of_its_own_write_instead_of_catching_up,
    |store, db| {
        let projector = Projector::new(db.clone(), Seen::new()).await.unwrap();
        let last = append(&*store, "c", 3).await;
        // Nothing applies the log yet: waiting gives up, and the read model is untouched.
        let waited = projector
            .wait_for("test", last, Duration::from_millis(300))
            .await;
        assert!(
            matches!(waited, Err(WaitError::TimedOut { .. })),
            "{waited:?}"
        );
        assert!(seen(&db).await.is_empty());
        projector.start_on_log(store.clone(), "test");
        projector
            .wait_for("test", last, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(seen(&db).await, vec!["c0", "c1"]);
    }
);

on_both!(
    a_failing_batch_is_retried_until_it_applies_and_nothing_is_skipped,
    |store, db| {
        let projector = Projector::new(db.clone(), Seen::failing(2)).await.unwrap();
        projector.start_on_log(store.clone(), "test");
        let last = append(&*store, "d", 6).await;
        projector
            .wait_for("test", last, Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(seen(&db).await, vec!["d0", "d1", "d3", "d4"]);
    }
);

on_both!(
    catching_up_again_from_a_restart_applies_only_what_is_new,
    |store, db| {
        let first_life = Projector::new(db.clone(), Seen::new()).await.unwrap();
        let middle = append(&*store, "e", 4).await;
        assert_eq!(first_life.catch_up(&*store, "test").await.unwrap(), middle);
        drop(first_life);
        let last = append(&*store, "f", 3).await;
        let second_life = Projector::new(db.clone(), Seen::new()).await.unwrap();
        assert_eq!(second_life.position("test"), middle);
        assert_eq!(second_life.catch_up(&*store, "test").await.unwrap(), last);
        assert_eq!(seen(&db).await, vec!["e0", "e1", "e3", "f0", "f1"]);
    }
);

on_both!(
    a_checkpoint_moved_by_another_process_is_not_moved_back,
    |store, db| {
        let ahead = Projector::new(db.clone(), Seen::new()).await.unwrap();
        let behind = Projector::new(db.clone(), Seen::new()).await.unwrap();
        let last = append(&*store, "g", 5).await;
        ahead.catch_up(&*store, "test").await.unwrap();
        // `behind` still believes nothing is applied; its catch-up must find the stored
        // checkpoint instead of applying the log again or writing an older position.
        assert_eq!(behind.catch_up(&*store, "test").await.unwrap(), last);
        assert_eq!(seen(&db).await.len(), 4);
        assert_eq!(behind.checkpoints().await.unwrap()["test"], last);
    }
);

on_both!(
    a_page_lists_matching_rows_after_the_cursor_with_the_total,
    |store, db| {
        let projector = Projector::new(db.clone(), Seen::new()).await.unwrap();
        append(&*store, "h", 9).await;
        projector.catch_up(&*store, "test").await.unwrap();
        let mut filter = Where::new();
        filter.compare("position", ">", Some(0));
        let query = |after| PageQuery {
            columns: "label",
            from: "test_seen",
            key: "label",
            filter: &filter,
            after,
            limit: 4,
            max: 500,
        };
        let label = |row: &kesos_readside::Row| row.get::<String>("label");
        let first = db.page(query(None), label, String::clone).await.unwrap();
        assert_eq!(first.items, vec!["h0", "h1", "h3", "h4"]);
        assert_eq!(first.total, 6);
        let second = db
            .page(query(first.next.as_deref()), label, String::clone)
            .await
            .unwrap();
        assert_eq!(second.items, vec!["h6", "h7"]);
        assert_eq!(second.next, None);
    }
);
