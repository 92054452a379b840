//! What an LSPS sees of scheduling, over a real socket: its own sessions, listed like any
//! other caller's, and nothing of another LSPS' sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, mint, start};
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn schedule(running: &Running, region: &str, lsps: &str, assessor: &str) -> String {
    let cutoff = OffsetDateTime::now_utc() + time::Duration::days(2);
    let starts = cutoff + time::Duration::hours(1);
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    let form = json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK", "region": region },
        "starts_at": at(starts), "ends_at": at(starts + time::Duration::hours(8)),
        "reschedule_cutoff": at(cutoff),
        "capacity": 10, "assessor_ids": [assessor], "lsps_id": lsps
    });
    let (status, _, answer) = running.post_json("/v1/sessions", &form, None).await;
    assert_eq!(status, 201, "{answer}");
    answer["session_id"].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_lsps_lists_and_reads_its_own_sessions_and_none_of_another_lsps() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let own_cimahi = schedule(&running, "32.77", "LSPS-PEKSOS", "ASR-001").await;
    let own_bandung_barat = schedule(&running, "32.17", "LSPS-PEKSOS", "ASR-002").await;
    let other = schedule(&running, "32.77", "LSPS-KESOS", "ASR-003").await;
    let peksos = mint(
        &running.token_key,
        "kesos",
        "lsps",
        None,
        Some("LSPS-PEKSOS"),
    );

    let (status, page) = running.get_as(&peksos, "/v1/sessions").await;
    assert_eq!(status, 200, "{page}");
    let mut want = vec![own_cimahi.clone(), own_bandung_barat];
    let own_cimahi_id = own_cimahi.clone();
    want.sort();
    assert_eq!(ids(&page), want, "{page}");
    assert_eq!(page["total"], json!(2));
    assert!(!ids(&page).contains(&other));

    // A region filter narrows the LSPS' own sessions; it never widens them.
    let (status, page) = running.get_as(&peksos, "/v1/sessions?region=32.77").await;
    assert_eq!((status, ids(&page)), (200, vec![own_cimahi]), "{page}");

    // Paging stays within its own sessions.
    let (status, first) = running.get_as(&peksos, "/v1/sessions?limit=1").await;
    assert_eq!((status, first["total"].clone()), (200, json!(2)), "{first}");
    let after = first["next"].as_str().unwrap();
    let (_, second) = running
        .get_as(&peksos, &format!("/v1/sessions?limit=1&after={after}"))
        .await;
    assert_eq!(ids(&second).len(), 1);
    assert_eq!(second["next"], Value::Null);

    // Each of its sessions reads in full (the seats with what was recorded of its reports);
    // another LSPS's does not.
    let (status, detail) = running
        .get_as(&peksos, &format!("/v1/sessions/{own_cimahi_id}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["lsps_id"], json!("LSPS-PEKSOS"), "{detail}");
    let (status, refused) = running
        .get_as(&peksos, &format!("/v1/sessions/{other}"))
        .await;
    assert_eq!(status, 403, "{refused}");

    // Its answers read too (none yet: the embedded mode has no NATS); another LSPS's do not.
    let (status, answers) = running
        .get_as(&peksos, "/v1/lsps/LSPS-PEKSOS/outcomes")
        .await;
    assert_eq!(status, 200, "{answers}");
    assert_eq!(answers["total"], json!(0), "{answers}");
    let (status, refused) = running
        .get_as(&peksos, "/v1/lsps/LSPS-KESOS/outcomes")
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, malformed) = running
        .get_as(&peksos, "/v1/lsps/LSPS-PEKSOS/outcomes?after_sequence=x1")
        .await;
    assert_eq!(status, 400, "{malformed}");
    assert_eq!(
        malformed["errors"][0]["field"],
        json!("after_sequence"),
        "{malformed}"
    );
    let (status, negative) = running
        .get_as(&peksos, "/v1/lsps/LSPS-PEKSOS/outcomes?after_sequence=-1")
        .await;
    assert_eq!(status, 400, "{negative}");
    assert_eq!(
        negative["errors"][0]["rule"],
        json!("after_sequence.range"),
        "{negative}"
    );
    running.stop().await;
}
