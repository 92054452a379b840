//! Idempotency keys across the change of derivation (FNV-1a to SHA-256), in both modes: a
//! command recorded under an opaque key before the change is recognised when the key comes
//! again after it, and appends nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::modes::{delete_streams, distributed, embedded};
use common::start;
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A session `days` from now with one assessor (two sessions apart in time and staff do not
/// contend for anything).
fn session_form(days: i64, assessor: &str) -> Value {
    let cutoff = OffsetDateTime::now_utc() + time::Duration::days(days);
    let starts = cutoff + time::Duration::hours(1);
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK Cimahi", "region": "32.77" },
        "starts_at": at(starts), "ends_at": at(starts + time::Duration::hours(8)),
        "reschedule_cutoff": at(cutoff),
        "capacity": 10, "assessor_ids": [assessor], "lsps_id": "LSPS-PEKSOS"
    })
}

async fn a_retry_across_the_change_appends_nothing_twice(config: Config) {
    let running = start(config).await;
    let form = session_form(2, "ASR-001");
    // What kesos stored before the change for the opaque key "session-1": a command whose id
    // FNV-1a derived from the key, and events whose ids derive from that id.
    let before = kesos_http::legacy_uuid_for_key("session-1").to_string();
    let (status, _, first) = running
        .post_json("/v1/sessions", &form, Some(&before))
        .await;
    assert_eq!(status, 201, "{first}");
    let head = running.store.head_position().await.unwrap();

    // The client retries with its key after the upgrade.
    let (status, _, retry) = running
        .post_json("/v1/sessions", &form, Some("session-1"))
        .await;
    assert_eq!(status, 201, "{retry}");
    assert_eq!(retry["session_id"], first["session_id"]);
    assert_eq!(running.store.head_position().await.unwrap(), head);

    // A key first sent after the change names a new command, whose retry is a retry too.
    let other = session_form(5, "ASR-002");
    let (status, _, second) = running
        .post_json("/v1/sessions", &other, Some("session-2"))
        .await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["session_id"], first["session_id"]);
    let head = running.store.head_position().await.unwrap();
    let (_, _, again) = running
        .post_json("/v1/sessions", &other, Some("session-2"))
        .await;
    assert_eq!(again["session_id"], second["session_id"]);
    assert_eq!(running.store.head_position().await.unwrap(), head);
    running.stop().await;
}

#[tokio::test]
async fn embedded_a_key_recorded_before_sha_256_is_still_a_retry() {
    let file = SqliteFile::create();
    a_retry_across_the_change_appends_nothing_twice(embedded(&file)).await;
}

#[tokio::test]
async fn distributed_a_key_recorded_before_sha_256_is_still_a_retry() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = distributed(&schema, &dir);
    a_retry_across_the_change_appends_nothing_twice(config.clone()).await;
    delete_streams(&config).await;
    schema.drop_now().await;
}
