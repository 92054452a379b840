//! The one test suite every event store implementation passes: each case runs against
//! PostgreSQL (a fresh schema on the real server) and SQLite (a fresh file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::SigningKey;
use futures::TryStreamExt;
use kesos_eventstore::{
    AsOf, Break, BulkAppend, ClaimKey, Claims, EventStore, EventType, ExpectedVersion, InputError,
    Metadata, NewEvent, RecordedEvent, StoreError, StreamId, verify, write_checkpoint,
};
use kesos_testkit::{PgSchema, SqliteFile};
use sqlx::Executor;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// A store under test plus a way to run plain SQL against its tables (to tamper with them).
trait Backend {
    fn store(&self) -> &dyn EventStore;
    /// Another store instance on the same tables, as another process would open.
    async fn another_store(&self) -> Box<dyn EventStore>;
    async fn sql(&self, sql: &str);
}

struct Pg {
    schema: PgSchema,
    store: kesos_eventstore::PostgresStore,
    pool: sqlx::PgPool,
}

impl Pg {
    async fn new() -> Self {
        let schema = PgSchema::create().await;
        let store = schema.store().await;
        let pool = schema.pool().await;
        Self {
            schema,
            store,
            pool,
        }
    }
    async fn finish(self) {
        self.pool.close().await;
        self.store.pool().close().await;
        self.schema.drop_now().await;
    }
}

impl Backend for Pg {
    fn store(&self) -> &dyn EventStore {
        &self.store
    }
    async fn another_store(&self) -> Box<dyn EventStore> {
        Box::new(self.schema.store().await)
    }
    async fn sql(&self, sql: &str) {
        self.pool.execute(sql).await.unwrap();
    }
}

struct Lite {
    file: SqliteFile,
    store: kesos_eventstore::SqliteStore,
}

impl Lite {
    async fn new() -> Self {
        let file = SqliteFile::create();
        let store = file.store().await;
        Self { file, store }
    }
    async fn finish(self) {}
}

impl Backend for Lite {
    fn store(&self) -> &dyn EventStore {
        &self.store
    }
    async fn another_store(&self) -> Box<dyn EventStore> {
        Box::new(self.file.store().await)
    }
    async fn sql(&self, sql: &str) {
        self.store.pool().execute(sql).await.unwrap();
    }
}

fn stream(name: &str) -> StreamId {
    StreamId::parse(name).unwrap()
}

fn event(label: &str) -> NewEvent {
    event_at(label, datetime!(2021-06-01 08:00 UTC))
}

/// The W3C example `traceparent`, as a request would leave it in its events' metadata.
const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn event_at(label: &str, occurred_at: OffsetDateTime) -> NewEvent {
    NewEvent::new(
        Uuid::now_v7(),
        EventType::parse("kesos.test.v1.Happened").unwrap(),
        1,
        label.as_bytes().to_vec(),
        Metadata {
            correlation_id: "corr-1".into(),
            causation_id: "cmd-1".into(),
            actor: "operator@kemensos".into(),
            trace_parent: TRACE.into(),
        },
        occurred_at,
    )
    .unwrap()
}

async fn all(store: &dyn EventStore, after: u64, as_of: AsOf) -> Vec<RecordedEvent> {
    store.read_all(after, as_of).try_collect().await.unwrap()
}

/// Appends `chunks` appends of 500 events each, spread over `streams` streams in turn.
async fn append_in_chunks_of_500(store: &dyn EventStore, chunks: u64, streams: u64) {
    for chunk in 0..chunks {
        let events = (0..500).map(|i| event(&format!("{chunk}/{i}"))).collect();
        let name = stream(&format!("bulk-{}", chunk % streams));
        store
            .append(&name, ExpectedVersion::Any, events)
            .await
            .unwrap();
    }
}

async fn seed(store: &dyn EventStore) {
    store
        .append(
            &stream("a"),
            ExpectedVersion::NoStream,
            vec![event("a1"), event("a2")],
        )
        .await
        .unwrap();
    store
        .append(&stream("b"), ExpectedVersion::NoStream, vec![event("b1")])
        .await
        .unwrap();
    store
        .append(&stream("a"), ExpectedVersion::Exactly(2), vec![event("a3")])
        .await
        .unwrap();
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

async fn first_break(store: &dyn EventStore) -> Option<Break> {
    verify(store, &[key().verifying_key()], |_| {})
        .await
        .unwrap()
        .first_break
}

// ---- the cases -------------------------------------------------------------------------

async fn each_event_keeps_its_trace_context_outside_its_hash(b: &impl Backend) {
    let store = b.store();
    // One event alone (the single-append path), then two in one append (the general one).
    store
        .append(
            &stream("traced-1"),
            ExpectedVersion::NoStream,
            vec![event("a")],
        )
        .await
        .unwrap();
    store
        .append(
            &stream("traced-2"),
            ExpectedVersion::NoStream,
            vec![event("b"), event("c")],
        )
        .await
        .unwrap();
    let read = store
        .read_stream(&stream("traced-2"), AsOf::Now)
        .await
        .unwrap();
    assert!(
        read.iter().all(|e| e.metadata.trace_parent == TRACE),
        "{read:?}"
    );
    let log = all(store, 0, AsOf::Now).await;
    assert_eq!(log.len(), 3);
    assert!(
        log.iter().all(|e| e.metadata.trace_parent == TRACE),
        "{log:?}"
    );
    // The hash covers what happened, not which trace recorded it.
    b.sql("UPDATE kesos_events SET trace_parent = ''").await;
    assert_eq!(first_break(store).await, None);
}

async fn appending_to_a_new_stream_numbers_versions_from_one_and_reads_them_back(b: &impl Backend) {
    let store = b.store();
    let outcome = store
        .append(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("x"), event("y")],
        )
        .await
        .unwrap();
    assert_eq!(outcome.positions, vec![1, 2]);
    assert_eq!(outcome.stream_version, 2);
    assert!(!outcome.already_stored);
    let events = store
        .read_stream(&stream("worker-1"), AsOf::Now)
        .await
        .unwrap();
    let versions: Vec<_> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(events[0].payload, b"x");
    assert_eq!(events[1].metadata.actor, "operator@kemensos");
    assert_eq!(events[0].occurred_at, datetime!(2021-06-01 08:00 UTC));
}

async fn a_wrong_expected_version_is_a_conflict_naming_both_versions_and_stores_nothing(
    b: &impl Backend,
) {
    let store = b.store();
    seed(store).await;
    let error = store
        .append(
            &stream("a"),
            ExpectedVersion::Exactly(1),
            vec![event("late")],
        )
        .await
        .unwrap_err();
    match error {
        StoreError::Conflict {
            stream: s,
            expected,
            actual,
        } => {
            assert_eq!(s, stream("a"));
            assert_eq!(expected, ExpectedVersion::Exactly(1));
            assert_eq!(actual, 3);
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(
        store
            .read_stream(&stream("a"), AsOf::Now)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.head_position().await.unwrap(), 4);
}

async fn expecting_no_stream_fails_once_the_stream_exists(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let error = store
        .append(&stream("b"), ExpectedVersion::NoStream, vec![event("b?")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict { actual: 1, .. }),
        "{error}"
    );
    let any = store
        .append(&stream("b"), ExpectedVersion::Any, vec![event("b2")])
        .await
        .unwrap();
    assert_eq!(any.stream_version, 2);
}

async fn re_appending_the_same_event_ids_stores_nothing_and_reports_the_stored_positions(
    b: &impl Backend,
) {
    let store = b.store();
    seed(store).await;
    let events = vec![event("c1"), event("c2")];
    let first = store
        .append(&stream("c"), ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    let retry = store
        .append(&stream("c"), ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    assert!(retry.already_stored);
    assert_eq!(retry.positions, first.positions);
    assert_eq!(retry.stream_version, 2);
    assert_eq!(store.head_position().await.unwrap(), 6);
}

async fn reusing_some_stored_ids_beside_new_ones_is_refused(b: &impl Backend) {
    let store = b.store();
    let stored = event("d1");
    store
        .append(
            &stream("d"),
            ExpectedVersion::NoStream,
            vec![stored.clone()],
        )
        .await
        .unwrap();
    let error = store
        .append(
            &stream("d"),
            ExpectedVersion::Any,
            vec![stored.clone(), event("d2")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::IdempotencyMismatch { .. }),
        "{error}"
    );
    let elsewhere = store
        .append(&stream("e"), ExpectedVersion::Any, vec![stored])
        .await
        .unwrap_err();
    assert!(
        matches!(elsewhere, StoreError::IdempotencyMismatch { .. }),
        "{elsewhere}"
    );
    assert_eq!(store.head_position().await.unwrap(), 1);
}

async fn bad_input_is_refused_with_a_typed_error_before_anything_is_stored(b: &impl Backend) {
    let store = b.store();
    let empty = store
        .append(&stream("f"), ExpectedVersion::Any, vec![])
        .await
        .unwrap_err();
    assert!(matches!(empty, StoreError::Input(InputError::NoEvents)));
    let twice = event("f1");
    let duplicate = store
        .append(
            &stream("f"),
            ExpectedVersion::Any,
            vec![twice.clone(), twice],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        duplicate,
        StoreError::Input(InputError::DuplicateEventInAppend(_))
    ));
    assert_eq!(store.head_position().await.unwrap(), 0);
}

async fn reading_an_unknown_stream_is_stream_not_found(b: &impl Backend) {
    let error = b
        .store()
        .read_stream(&stream("nobody"), AsOf::Now)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::StreamNotFound(s) if s == stream("nobody")));
}

async fn the_whole_log_reads_in_position_order_from_a_checkpoint(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let everything = all(store, 0, AsOf::Now).await;
    let positions: Vec<_> = everything.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2, 3, 4]);
    let labels: Vec<_> = everything.iter().map(|e| e.payload.clone()).collect();
    assert_eq!(
        labels,
        vec![
            b"a1".to_vec(),
            b"a2".to_vec(),
            b"b1".to_vec(),
            b"a3".to_vec()
        ]
    );
    let rest: Vec<_> = all(store, 2, AsOf::Now)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(rest, vec![3, 4]);
    let page: Vec<_> = store
        .read_batch(1, 2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(page, vec![2, 3]);
    assert!(store.read_batch(4, 10).await.unwrap().is_empty());
}

async fn the_whole_log_reads_across_pages_without_gaps_or_repeats(b: &impl Backend) {
    let store = b.store();
    let total = 20_007_u64; // two full pages of 10,000 and a partial one
    append_in_chunks_of_500(store, total / 500, 7).await;
    let rest = (0..total % 500)
        .map(|i| event(&format!("rest/{i}")))
        .collect();
    store
        .append(&stream("bulk-rest"), ExpectedVersion::Any, rest)
        .await
        .unwrap();

    let positions: Vec<u64> = all(store, 0, AsOf::Now)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    let from_middle = all(store, 9_995, AsOf::Position(15_000)).await;
    assert_eq!(from_middle.first().map(|e| e.position), Some(9_996));
    assert_eq!(from_middle.last().map(|e| e.position), Some(15_000));
    assert_eq!(from_middle.len(), 5_005);
}

async fn replays_dropped_part_way_leave_the_store_whole_and_usable(b: &impl Backend) {
    let store = b.store();
    append_in_chunks_of_500(store, 24, 5).await;
    // More abandoned reads than the pool has connections: each must give its connection back
    // clean (or close it), whether dropped at once, inside a page or between two.
    for taken in [0_usize, 1, 3, 700, 9_999, 10_001, 10_500]
        .into_iter()
        .cycle()
        .take(21)
    {
        let mut events = store.read_all(0, AsOf::Now);
        for expected in 1..=taken as u64 {
            assert_eq!(events.try_next().await.unwrap().unwrap().position, expected);
        }
        drop(events);
        assert_eq!(store.head_position().await.unwrap(), 12_000);
    }
    store
        .append(
            &stream("after"),
            ExpectedVersion::NoStream,
            vec![event("x")],
        )
        .await
        .unwrap();
    let positions: Vec<u64> = all(store, 0, AsOf::Now)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, (1..=12_001).collect::<Vec<_>>());
    assert_eq!(
        store
            .read_stream(&stream("after"), AsOf::Now)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_row_altered_to_an_invalid_value_is_reported_as_corrupt_by_the_replay(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    b.sql("UPDATE kesos_events SET event_type = 'not a type' WHERE position = 2")
        .await;
    let mut events = store.read_all(0, AsOf::Now);
    assert_eq!(events.try_next().await.unwrap().unwrap().position, 1);
    match events.try_next().await {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, 2);
            assert!(reason.contains("not a type"), "{reason}");
        }
        other => panic!("expected a corrupt event at position 2, got {other:?}"),
    }
}

async fn reads_as_of_a_position_or_a_recorded_time_see_only_what_was_known_then(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let cut = store.read_stream(&stream("b"), AsOf::Now).await.unwrap()[0].recorded_at;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .append(&stream("b"), ExpectedVersion::Exactly(1), vec![event("b2")])
        .await
        .unwrap();

    assert_eq!(all(store, 0, AsOf::Position(2)).await.len(), 2);
    let a_then = store
        .read_stream(&stream("a"), AsOf::Position(3))
        .await
        .unwrap();
    assert_eq!(a_then.len(), 2);
    let known_then = all(store, 0, AsOf::RecordedAt(cut)).await;
    assert!(known_then.iter().all(|e| e.recorded_at <= cut));
    assert!(known_then.iter().all(|e| e.payload != b"b2"));
    assert_eq!(
        store
            .read_stream(&stream("b"), AsOf::RecordedAt(cut))
            .await
            .unwrap()
            .len(),
        1
    );
    let before_anything = store
        .read_stream(
            &stream("a"),
            AsOf::RecordedAt(datetime!(2000-01-01 0:00 UTC)),
        )
        .await
        .unwrap_err();
    assert!(matches!(before_anything, StoreError::StreamNotFound(_)));
}

async fn imported_history_keeps_its_business_time_and_is_recorded_now(b: &impl Backend) {
    let store = b.store();
    let back_then = datetime!(2017-12-03 10:00 +07:00);
    store
        .append(
            &stream("worker-cimahi"),
            ExpectedVersion::NoStream,
            vec![event_at("h", back_then)],
        )
        .await
        .unwrap();
    let stored = &store
        .read_stream(&stream("worker-cimahi"), AsOf::Now)
        .await
        .unwrap()[0];
    assert_eq!(stored.occurred_at, back_then);
    assert!(OffsetDateTime::now_utc() - stored.recorded_at < time::Duration::minutes(5));
}

async fn concurrent_appends_with_the_same_expected_version_let_exactly_one_win(b: &impl Backend) {
    let store = b.store();
    store
        .append(
            &stream("race"),
            ExpectedVersion::NoStream,
            vec![event("r0")],
        )
        .await
        .unwrap();
    let race = stream("race");
    let attempts = (0..8).map(|i| {
        store.append(
            &race,
            ExpectedVersion::Exactly(1),
            vec![event(&format!("r{i}"))],
        )
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
        .count();
    assert_eq!((winners, conflicts), (1, 7));
    assert_eq!(
        store
            .read_stream(&stream("race"), AsOf::Now)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn named_cursors_are_saved_loaded_and_never_moved_back(b: &impl Backend) {
    let store = b.store();
    assert_eq!(store.cursor("relay").await.unwrap(), 0);
    store.save_cursor("relay", 41).await.unwrap();
    store.save_cursor("relay", 42).await.unwrap();
    assert_eq!(store.cursor("relay").await.unwrap(), 42);
    // A late or second writer never moves it back.
    store.save_cursor("relay", 17).await.unwrap();
    assert_eq!(store.cursor("relay").await.unwrap(), 42);
}

async fn an_untouched_log_verifies_with_its_checkpoints(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let first = write_checkpoint(store, &key(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(
        first.map(|c| (c.sequence, c.position, c.event_count)),
        Some((1, 4, 4))
    );
    assert!(
        write_checkpoint(store, &key(), OffsetDateTime::now_utc())
            .await
            .unwrap()
            .is_none()
    );
    store
        .append(&stream("b"), ExpectedVersion::Any, vec![event("b2")])
        .await
        .unwrap();
    write_checkpoint(store, &key(), OffsetDateTime::now_utc())
        .await
        .unwrap()
        .unwrap();
    let report = verify(store, &[key().verifying_key()], |_| {})
        .await
        .unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(
        (report.events, report.streams, report.checkpoints),
        (5, 2, 2)
    );
}

async fn a_changed_payload_is_named_as_the_first_broken_event(b: &impl Backend) {
    seed(b.store()).await;
    b.sql(
        "UPDATE kesos_events SET payload = (SELECT payload FROM kesos_events WHERE position = 3) \
           WHERE position = 2",
    )
    .await;
    match first_break(b.store()).await {
        Some(Break::HashMismatch {
            position: 2,
            version: 2,
            ..
        }) => {}
        other => panic!("expected a hash mismatch at position 2, got {other:?}"),
    }
}

async fn a_deleted_event_is_found_as_a_gap_in_its_stream(b: &impl Backend) {
    seed(b.store()).await;
    b.sql("DELETE FROM kesos_events WHERE position = 2").await;
    match first_break(b.store()).await {
        Some(Break::VersionGap {
            position: 4,
            expected: 2,
            found: 3,
            ..
        }) => {}
        other => panic!("expected a version gap at position 4, got {other:?}"),
    }
}

async fn a_deleted_last_event_is_found_even_when_the_stream_table_is_fixed_too(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    write_checkpoint(store, &key(), OffsetDateTime::now_utc())
        .await
        .unwrap()
        .unwrap();
    b.sql("DELETE FROM kesos_events WHERE position = 4").await;
    b.sql(
        "UPDATE kesos_streams SET version = 2, hash = (SELECT hash FROM kesos_events \
           WHERE position = 2) WHERE stream_id = 'a'",
    )
    .await;
    match first_break(store).await {
        Some(Break::CheckpointMismatch {
            sequence: 1,
            signed_count: 4,
            found_count: 3,
            ..
        }) => {}
        other => panic!("expected the checkpoint to catch the deletion, got {other:?}"),
    }
}

async fn a_deleted_last_event_is_found_from_the_stream_table(b: &impl Backend) {
    seed(b.store()).await;
    b.sql("DELETE FROM kesos_events WHERE position = 4").await;
    match first_break(b.store()).await {
        Some(Break::StreamTailMissing {
            recorded_version: 3,
            found_version: 2,
            stream_id,
        }) => {
            assert_eq!(stream_id, stream("a"));
        }
        other => panic!("expected a missing tail on stream a, got {other:?}"),
    }
}

async fn two_swapped_versions_are_detected(b: &impl Backend) {
    seed(b.store()).await;
    b.sql("UPDATE kesos_events SET stream_version = -1 WHERE position = 1")
        .await;
    b.sql("UPDATE kesos_events SET stream_version = 1 WHERE position = 2")
        .await;
    b.sql("UPDATE kesos_events SET stream_version = 2 WHERE position = 1")
        .await;
    match first_break(b.store()).await {
        Some(Break::VersionGap {
            position: 1,
            expected: 1,
            found: 2,
            ..
        }) => {}
        other => panic!("expected the swap to break at position 1, got {other:?}"),
    }
}

async fn a_checkpoint_signed_by_an_unknown_key_is_refused(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let stranger = SigningKey::from_bytes(&[9; 32]);
    write_checkpoint(store, &stranger, OffsetDateTime::now_utc())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first_break(store).await,
        Some(Break::BadSignature { sequence: 1 })
    );
}

// ---- unique claims ---------------------------------------------------------------------

fn claim(raw: &str) -> ClaimKey {
    ClaimKey::parse(raw).unwrap()
}

fn taking(keys: &[&str]) -> Claims {
    Claims {
        take: keys.iter().map(|raw| claim(raw)).collect(),
        release: vec![],
    }
}

fn releasing(keys: &[&str]) -> Claims {
    Claims {
        take: vec![],
        release: keys.iter().map(|raw| claim(raw)).collect(),
    }
}

async fn holder(store: &dyn EventStore, key: &str) -> Option<StreamId> {
    store.claim_holder(&claim(key)).await.unwrap()
}

async fn a_claim_held_by_another_stream_refuses_the_append_and_stores_nothing(b: &impl Backend) {
    let store = b.store();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    let (worker_2, worker_3) = (stream("worker-2"), stream("worker-3"));
    let (refused, beside) = futures::join!(
        store.append_claiming(
            &worker_2,
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:bb", "nik:aa"]),
        ),
        store.append_claiming(
            &worker_3,
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:cc"]),
        ),
    );
    match refused.unwrap_err() {
        StoreError::ClaimTaken { key, holder } => {
            assert_eq!(key, claim("nik:aa"));
            assert_eq!(holder, stream("worker-1"));
        }
        other => panic!("expected the claim to be taken, got {other}"),
    }
    assert_eq!(beside.unwrap().stream_version, 1);
    assert!(matches!(
        store.read_stream(&stream("worker-2"), AsOf::Now).await,
        Err(StoreError::StreamNotFound(_))
    ));
    assert_eq!(holder(store, "nik:bb").await, None);
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-1")));
    assert_eq!(store.head_position().await.unwrap(), 2);
    assert_eq!(first_break(store).await, None);
}

async fn concurrent_appends_to_eight_streams_claiming_one_key_let_exactly_one_win(
    b: &impl Backend,
) {
    let first = b.store();
    let second = b.another_store().await;
    let attempts = (0..8).map(|i| {
        let store = if i % 2 == 0 { first } else { &*second };
        let name = stream(&format!("worker-{i}"));
        async move {
            let result = store
                .append_claiming(
                    &name,
                    ExpectedVersion::NoStream,
                    vec![event("registered")],
                    taking(&["nik:same"]),
                )
                .await;
            (name, result)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, result)| result.is_ok())
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = &winners[0];
    for (name, result) in &results {
        match result {
            Ok(_) => assert_eq!(name, winner),
            Err(StoreError::ClaimTaken { key, holder }) => {
                assert_eq!(key, &claim("nik:same"));
                assert_eq!(holder, winner);
            }
            Err(other) => panic!("{name}: expected ClaimTaken, got {other}"),
        }
    }
    assert_eq!(holder(first, "nik:same").await.as_ref(), Some(winner));
    assert_eq!(first.head_position().await.unwrap(), 1);
}

async fn a_stream_may_take_again_a_key_it_holds(b: &impl Backend) {
    let store = b.store();
    let worker = stream("worker-1");
    store
        .append_claiming(
            &worker,
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    let again = store
        .append_claiming(
            &worker,
            ExpectedVersion::Exactly(1),
            vec![event("corrected")],
            taking(&["nik:aa", "nik:aa"]),
        )
        .await
        .unwrap();
    assert_eq!(again.stream_version, 2);
    assert_eq!(holder(store, "nik:aa").await, Some(worker));
}

async fn releasing_a_key_frees_it_for_another_stream(b: &impl Backend) {
    let store = b.store();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::Exactly(1),
            vec![event("erased")],
            releasing(&["nik:aa"]),
        )
        .await
        .unwrap();
    assert_eq!(holder(store, "nik:aa").await, None);
    store
        .append_claiming(
            &stream("worker-2"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-2")));
}

async fn releasing_a_key_another_stream_holds_or_nobody_holds_changes_nothing(b: &impl Backend) {
    let store = b.store();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    let outcome = store
        .append_claiming(
            &stream("worker-2"),
            ExpectedVersion::NoStream,
            vec![event("erased")],
            releasing(&["nik:aa", "nik:nobody"]),
        )
        .await
        .unwrap();
    assert_eq!(outcome.stream_version, 1);
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-1")));
    assert_eq!(holder(store, "nik:nobody").await, None);
}

async fn appends_queued_together_are_decided_in_order_for_claims(b: &impl Backend) {
    let store = b.store();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    // Queued in this order (the writer is FIFO, and PostgreSQL rounds keep it): a release
    // frees the key for the next append, and of two appends taking it the first wins.
    let (worker_1, worker_2, worker_3) =
        (stream("worker-1"), stream("worker-2"), stream("worker-3"));
    let (released, retaken, late, reclaimed) = futures::join!(
        store.append_claiming(
            &worker_1,
            ExpectedVersion::Exactly(1),
            vec![event("erased")],
            releasing(&["nik:aa"]),
        ),
        store.append_claiming(
            &worker_2,
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa", "nik:bb"]),
        ),
        store.append_claiming(
            &worker_3,
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:bb"]),
        ),
        store.append_claiming(
            &worker_1,
            ExpectedVersion::Exactly(2),
            vec![event("re-registered")],
            taking(&["nik:aa"]),
        ),
    );
    released.unwrap();
    retaken.unwrap();
    assert!(
        matches!(late, Err(StoreError::ClaimTaken { ref holder, .. }) if *holder == stream("worker-2")),
        "{late:?}"
    );
    assert!(
        matches!(reclaimed, Err(StoreError::ClaimTaken { ref holder, .. }) if *holder == stream("worker-2")),
        "{reclaimed:?}"
    );
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-2")));
    assert_eq!(holder(store, "nik:bb").await, Some(stream("worker-2")));
    assert_eq!(store.head_position().await.unwrap(), 3);
}

async fn a_retried_append_succeeds_as_already_stored_after_its_claim_was_taken(b: &impl Backend) {
    let store = b.store();
    let registered = vec![event("registered")];
    let first = store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            registered.clone(),
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::Exactly(1),
            vec![event("erased")],
            releasing(&["nik:aa"]),
        )
        .await
        .unwrap();
    store
        .append_claiming(
            &stream("worker-2"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    let retry = store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            registered,
            taking(&["nik:aa"]),
        )
        .await
        .unwrap();
    assert!(retry.already_stored);
    assert_eq!(retry.positions, first.positions);
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-2")));
}

async fn a_conflicting_append_takes_no_claim(b: &impl Backend) {
    let store = b.store();
    seed(store).await;
    let error = store
        .append_claiming(
            &stream("a"),
            ExpectedVersion::Exactly(1),
            vec![event("late")],
            taking(&["nik:aa"]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict { actual: 3, .. }),
        "{error}"
    );
    assert_eq!(holder(store, "nik:aa").await, None);
}

async fn the_claim_holder_is_the_stream_that_took_the_key_or_none(b: &impl Backend) {
    let store = b.store();
    assert_eq!(holder(store, "nik:aa").await, None);
    store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:aa", "email:bb"]),
        )
        .await
        .unwrap();
    assert_eq!(holder(store, "nik:aa").await, Some(stream("worker-1")));
    assert_eq!(holder(store, "email:bb").await, Some(stream("worker-1")));
    assert_eq!(holder(store, "nik:bb").await, None);
}

async fn a_malformed_claim_or_one_both_taken_and_released_is_refused(b: &impl Backend) {
    let store = b.store();
    assert!(matches!(
        ClaimKey::parse("3201234567890001"),
        Err(InputError::InvalidClaimKey { .. })
    ));
    let both = Claims {
        take: vec![claim("nik:aa")],
        release: vec![claim("nik:aa")],
    };
    let error = store
        .append_claiming(
            &stream("worker-1"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            both,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Input(InputError::ClaimTakenAndReleased(ref key)) if *key == claim("nik:aa")
        ),
        "{error}"
    );
    assert_eq!(store.head_position().await.unwrap(), 0);
    assert_eq!(holder(store, "nik:aa").await, None);
}

async fn a_bulk_answers_each_append_on_its_own_in_order(b: &impl Backend) {
    let store = b.store();
    store
        .append_claiming(
            &stream("worker-held"),
            ExpectedVersion::NoStream,
            vec![event("registered")],
            taking(&["nik:held"]),
        )
        .await
        .unwrap();
    let bulk = |name: &str, expected, key: &str| BulkAppend {
        stream: stream(name),
        expected,
        events: vec![event(name)],
        claims: taking(&[key]),
    };
    let mut appends: Vec<BulkAppend> = (0..600)
        .map(|n| {
            bulk(
                &format!("worker-bulk-{n}"),
                ExpectedVersion::NoStream,
                &format!("nik:bulk-{n}"),
            )
        })
        .collect();
    appends[100] = bulk("worker-x", ExpectedVersion::NoStream, "nik:held");
    appends[200] = bulk("worker-held", ExpectedVersion::NoStream, "nik:other");
    let outcomes = store.append_bulk(appends).await;
    assert_eq!(outcomes.len(), 600);
    for (n, outcome) in outcomes.iter().enumerate() {
        match (n, outcome) {
            (100, Err(StoreError::ClaimTaken { holder, .. })) => {
                assert_eq!(holder.as_str(), "worker-held")
            }
            (200, Err(StoreError::Conflict { .. })) => {}
            (100 | 200, other) => panic!("append {n}: {other:?}"),
            (_, Ok(appended)) => assert_eq!(appended.stream_version, 1),
            (_, Err(error)) => panic!("append {n}: {error}"),
        }
    }
    assert_eq!(store.head_position().await.unwrap(), 599);
    assert_eq!(
        store.claim_holder(&claim("nik:bulk-599")).await.unwrap(),
        Some(stream("worker-bulk-599"))
    );
}

/// The command path's batch (one event per append, distinct streams, no claims): each append
/// is appended, refused or recognised exactly as it would be alone, and hashed into its chain.
async fn single_event_appends_queued_together_are_each_decided_on_their_own(b: &impl Backend) {
    let store = b.store();
    let stored_in_a = event("a1");
    let stored_in_m = event("m1");
    for (name, stored) in [
        ("worker-a", stored_in_a.clone()),
        ("worker-b", event("b1")),
        ("worker-m", stored_in_m.clone()),
    ] {
        store
            .append(&stream(name), ExpectedVersion::NoStream, vec![stored])
            .await
            .unwrap();
    }
    let single = |name: &str, expected, stored: NewEvent| BulkAppend {
        stream: stream(name),
        expected,
        events: vec![stored],
        claims: Claims::default(),
    };
    let outcomes = store
        .append_bulk(vec![
            single("worker-new-0", ExpectedVersion::NoStream, event("n0")),
            single("worker-b", ExpectedVersion::Exactly(5), event("b2")),
            single("worker-a", ExpectedVersion::Any, stored_in_a),
            single("worker-n", ExpectedVersion::NoStream, stored_in_m),
            single("worker-m", ExpectedVersion::Exactly(1), event("m2")),
            single("worker-new-1", ExpectedVersion::Any, event("n1")),
        ])
        .await;

    let appended = |n: usize| outcomes[n].as_ref().unwrap();
    assert_eq!(
        (appended(0).stream_version, appended(0).already_stored),
        (1, false)
    );
    assert!(
        matches!(&outcomes[1], Err(StoreError::Conflict { actual: 1, .. })),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(
        (
            appended(2).stream_version,
            appended(2).already_stored,
            appended(2).positions.clone()
        ),
        (1, true, vec![1])
    );
    assert!(
        matches!(&outcomes[3], Err(StoreError::IdempotencyMismatch { .. })),
        "{:?}",
        outcomes[3]
    );
    assert_eq!(appended(4).stream_version, 2);
    assert_eq!(appended(5).stream_version, 1);

    let new: Vec<(String, u64, u64)> = all(store, 3, AsOf::Now)
        .await
        .into_iter()
        .map(|e| {
            (
                e.stream_id.as_str().to_owned(),
                e.stream_version,
                e.position,
            )
        })
        .collect();
    let expected_new = [
        ("worker-new-0", 1, 4),
        ("worker-m", 2, 5),
        ("worker-new-1", 1, 6),
    ];
    let expected_new: Vec<(String, u64, u64)> = expected_new
        .iter()
        .map(|&(name, version, position)| (name.to_owned(), version, position))
        .collect();
    assert_eq!(new, expected_new);
    assert_eq!(appended(4).positions, vec![5]);
    assert!(matches!(
        store.read_stream(&stream("worker-n"), AsOf::Now).await,
        Err(StoreError::StreamNotFound(_))
    ));
    assert_eq!(first_break(store).await, None, "every new event chains");
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::Pg::new().await;
                    super::$case(&backend).await;
                    backend.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::Lite::new().await;
                    super::$case(&backend).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

suite!(
    each_event_keeps_its_trace_context_outside_its_hash,
    appending_to_a_new_stream_numbers_versions_from_one_and_reads_them_back,
    a_wrong_expected_version_is_a_conflict_naming_both_versions_and_stores_nothing,
    expecting_no_stream_fails_once_the_stream_exists,
    re_appending_the_same_event_ids_stores_nothing_and_reports_the_stored_positions,
    reusing_some_stored_ids_beside_new_ones_is_refused,
    bad_input_is_refused_with_a_typed_error_before_anything_is_stored,
    reading_an_unknown_stream_is_stream_not_found,
    the_whole_log_reads_in_position_order_from_a_checkpoint,
    the_whole_log_reads_across_pages_without_gaps_or_repeats,
    replays_dropped_part_way_leave_the_store_whole_and_usable,
    a_row_altered_to_an_invalid_value_is_reported_as_corrupt_by_the_replay,
    reads_as_of_a_position_or_a_recorded_time_see_only_what_was_known_then,
    imported_history_keeps_its_business_time_and_is_recorded_now,
    concurrent_appends_with_the_same_expected_version_let_exactly_one_win,
    named_cursors_are_saved_loaded_and_never_moved_back,
    an_untouched_log_verifies_with_its_checkpoints,
    a_changed_payload_is_named_as_the_first_broken_event,
    a_deleted_event_is_found_as_a_gap_in_its_stream,
    a_deleted_last_event_is_found_even_when_the_stream_table_is_fixed_too,
    a_deleted_last_event_is_found_from_the_stream_table,
    two_swapped_versions_are_detected,
    a_checkpoint_signed_by_an_unknown_key_is_refused,
    a_claim_held_by_another_stream_refuses_the_append_and_stores_nothing,
    concurrent_appends_to_eight_streams_claiming_one_key_let_exactly_one_win,
    a_stream_may_take_again_a_key_it_holds,
    releasing_a_key_frees_it_for_another_stream,
    releasing_a_key_another_stream_holds_or_nobody_holds_changes_nothing,
    appends_queued_together_are_decided_in_order_for_claims,
    a_retried_append_succeeds_as_already_stored_after_its_claim_was_taken,
    a_conflicting_append_takes_no_claim,
    the_claim_holder_is_the_stream_that_took_the_key_or_none,
    a_malformed_claim_or_one_both_taken_and_released_is_refused,
    a_bulk_answers_each_append_on_its_own_in_order,
    single_event_appends_queued_together_are_each_decided_on_their_own,
);
