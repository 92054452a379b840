//! The intake's transaction on SQLite holds the file's one write lock from its processed
//! markers until it commits. Whatever the handler does meanwhile must need no other connection
//! of the pool: those may all be writers waiting for that very lock (the other consumers'
//! markers, the projectors' batches), and would then hold it up, and be held up, until their
//! busy timeout. In the embedded kesos this once answered a list of workers with a 503 after 10 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{build, registration, signing_key};
use kesos_bus::{Handler, bookkeeping};
use kesos_readside::Db;
use kesos_testkit::SqliteFile;
use sqlx::sqlite::SqlitePoolOptions;
use uuid::Uuid;

/// Short, so a writer held up by the lock fails quickly instead of after kesos's 10 s.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_holders_commits_while_the_pools_other_connection_waits_for_the_write_lock() {
    let file = SqliteFile::create();
    let store = file.store().await;
    let options = kesos_eventstore::sqlite::sqlite_options(&file.path).busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    bookkeeping::migrate_consumers(&Db::Sqlite(pool.clone()))
        .await
        .unwrap();
    let directory = Arc::new(common::Directory::default());
    let certification = build(
        Arc::new(store),
        Db::Sqlite(pool.clone()),
        directory.clone(),
        signing_key(),
    )
    .await;
    let intake = certification.intake();
    let worker = Uuid::now_v7();
    directory.register(worker, "Siti Aminah");
    let registered = registration(worker);
    let batch = [&registered];
    // As the consumer does: its effects outside the database's lock first (the mask, asked of
    // enrollment), before the transaction opens.
    Handler::act_batch(&intake, &batch).await.unwrap();

    // As the consumer does: the processed markers first, which take the write lock.
    let mut transaction = Db::Sqlite(pool.clone()).begin().await.unwrap();
    let fresh = bookkeeping::mark_processed_batch(&mut transaction, "certification-intake", &batch)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    // Another writer of the file takes the pool's other connection and waits for the lock.
    let mut other = pool.acquire().await.unwrap();
    let waiting = tokio::spawn(async move {
        sqlx::query(
            "INSERT INTO kesos_consumer_checkpoints (consumer, source, position) \
             VALUES ('another-consumer', 'enrollment', 1)",
        )
        .execute(&mut *other)
        .await
    });
    Handler::handle_batch(&intake, &mut transaction, &batch)
        .await
        .unwrap();
    transaction.commit().await.unwrap();

    let other_write = waiting.await.unwrap();
    assert!(
        other_write.is_ok(),
        "the other writer waited out its busy timeout: {other_write:?}"
    );
    let mask: Option<String> =
        sqlx::query_scalar("SELECT name_masked FROM certification_holders WHERE worker_id = ?")
            .bind(worker.to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(mask.as_deref(), Some("S**** A****"));
}
