//! How fast `keys_for` hands out keys on PostgreSQL for a bulk import: 10 batches of 1,000
//! new subjects, then the same batches again (all keys existing). Measures, never asserts:
//! run with `cargo nextest run -p kesos-vault --release --run-ignored only --no-capture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use kesos_testkit::PgSchema;
use kesos_vault::{MasterKey, Vault};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, run on demand in release"]
async fn keys_for_throughput_for_ten_batches_of_a_thousand_on_postgres() {
    let schema = PgSchema::create().await;
    let pool = schema.pool().await;
    let vault = Vault::open(pool.clone(), MasterKey::generate(), Vec::new())
        .await
        .unwrap();
    let batches: Vec<Vec<Uuid>> = (0..10)
        .map(|_| (0..1_000).map(|_| Uuid::new_v4()).collect())
        .collect();
    for (phase, what) in ["created", "existing"].iter().enumerate() {
        let started = Instant::now();
        let mut keys = 0;
        for batch in &batches {
            let slots = vault.keys_for(batch).await.unwrap();
            keys += slots.into_iter().filter(Result::is_ok).count();
        }
        let elapsed = started.elapsed();
        assert_eq!(keys, 10_000, "phase {phase}");
        eprintln!(
            "keys_for, {what}: {keys} keys in {:.1} ms = {:.0} keys/s",
            elapsed.as_secs_f64() * 1e3,
            keys as f64 / elapsed.as_secs_f64()
        );
    }
    pool.close().await;
    schema.drop_now().await;
}
