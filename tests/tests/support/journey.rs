//! The steps of a certification journey over the HTTP API of a running kesos, shared by the
//! journey tests and the dashboard's browser tests: import the sample workers, nominate and
//! verify them, seat them by auto-allocation, lock the session, and record results by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use kesos_testkit::SqliteFile;

use super::{Client, eventually, kesos};

/// The sample import: ten workers, five Peksos in Kota Cimahi (all eligible), three in
/// Kabupaten Bandung Barat, two in Kota Bandar Lampung.
pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/enrollment/samples/workers.csv")
}

pub const CIMAHI_PEKSOS: [&str; 5] = [
    "Siti Aminah",
    "Asep Sunandar",
    "Dewi Lestari",
    "Ujang Rahmat",
    "Rina Marlina",
];
/// A TKS with secondary schooling: not eligible for TKS Spesialis, so rejected.
pub const INELIGIBLE: &str = "Dadang Suryana";

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

pub fn var(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// An embedded kesos's place: a fresh SQLite file (removed when the returned value drops), its
/// directory, the environment that points kesos at them, and the tables migrated.
pub fn embedded() -> (SqliteFile, PathBuf, Vec<(String, String)>) {
    let place = SqliteFile::create();
    let dir = place.path.parent().unwrap().to_path_buf();
    let env = vec![
        var("KESOS_DATA_DIR", dir.display().to_string()),
        var("KESOS_SQLITE_PATH", place.path.display().to_string()),
    ];
    kesos(&env, &["migrate"], &dir);
    (place, dir, env)
}

/// Imports the sample, nominates and verifies; returns the worker ids by name.
pub async fn enroll(
    env: &[(String, String)],
    dir: &Path,
    api: &Client,
    base: &str,
) -> Vec<(String, String)> {
    let imported = kesos(env, &["import", "workers", sample().to_str().unwrap()], dir);
    assert!(imported.contains("10"), "{imported}");
    let (status, page) = api.get(&format!("{base}/v1/workers?limit=50")).await;
    assert_eq!(status, 200, "{page}");
    let workers: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["full_name"].as_str().unwrap_or_default().to_owned(),
                w["worker_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(workers.len(), 10, "{page}");
    for (name, id) in &workers {
        if !CIMAHI_PEKSOS.contains(&name.as_str()) && name != INELIGIBLE {
            continue;
        }
        // The TKS worker asks for the specialist scheme, which needs a bachelor's degree.
        let scheme = if name == INELIGIBLE {
            "TKS-SPESIALIS"
        } else {
            "PEKSOS-GENERALIS"
        };
        let nomination = json!({
            "scheme_code": scheme, "period_year": 2026,
            "recommending_office": "32.77", "portfolio_ref": format!("dinsos/2026/{name}")
        });
        let (status, created) = api
            .post(
                &format!("{base}/v1/workers/{id}/nominations"),
                &nomination,
                &format!("nominate-{id}"),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let nomination_id = created["nomination_id"].as_str().unwrap();
        let (status, verified) = api
            .post(
                &format!("{base}/v1/workers/{id}/nominations/{nomination_id}/verify"),
                &json!({}),
                &format!("verify-{id}"),
            )
            .await;
        assert_eq!(status, 200, "{verified}");
    }
    let (status, _) = api
        .post(
            &format!("{base}/v1/targets"),
            &json!({ "year": 2026, "region": "32.77", "category": "peksos", "target_count": 10 }),
            "target-2026-cimahi",
        )
        .await;
    assert!(status < 300, "setting a target: {status}");
    workers
}

/// Schedules a session with a cut-off in a few seconds, allocates and locks; returns its id.
pub async fn seat_everyone(api: &Client, base: &str, lsps: &str) -> String {
    eventually(60, "five waiting candidates", || async {
        let (_, page) = api
            .get(&format!("{base}/v1/candidates?status=waiting"))
            .await;
        (page["total"] == json!(5)).then_some(())
    })
    .await;
    // Room for the schedule and an allocation retried a few times before the cut-off, even on
    // a loaded machine: a session past its cut-off takes no seats.
    let cutoff = OffsetDateTime::now_utc() + time::Duration::seconds(8);
    let starts = cutoff + time::Duration::hours(1);
    let session = json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK Cimahi", "region": "32.77" },
        "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + time::Duration::hours(8)),
        "reschedule_cutoff": rfc3339(cutoff),
        "capacity": 10, "assessor_ids": ["ASR-001"], "lsps_id": lsps
    });
    let (status, created) = api
        .post(&format!("{base}/v1/sessions"), &session, "session-1")
        .await;
    assert_eq!(status, 201, "{created}");
    let session_id = created["session_id"].as_str().unwrap().to_owned();
    // A 503 asks the client to retry with the same key, which is what a client does.
    let mut attempts = 0;
    let (status, allocation) = loop {
        let answer = api
            .post(
                &format!("{base}/v1/allocations"),
                &json!({}),
                "allocation-1",
            )
            .await;
        attempts += 1;
        if answer.0 != 503 || attempts == 10 {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(
        (status, allocation["seated"].as_u64()),
        (200, Some(5)),
        "{allocation}"
    );
    session_id
}

/// Locks the session as soon as its cut-off has passed (a lock before it is refused with
/// `lock-before-cutoff`, and asked again with a new key).
pub async fn lock(api: &Client, base: &str, session_id: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut attempt = 0;
    let (status, locked) = loop {
        attempt += 1;
        let (status, answer) = api
            .post(
                &format!("{base}/v1/sessions/{session_id}/lock"),
                &json!({}),
                &format!("lock-{attempt}"),
            )
            .await;
        let early = status == 409
            && answer["type"]
                .as_str()
                .is_some_and(|kind| kind.ends_with("lock-before-cutoff"));
        if !early || tokio::time::Instant::now() > deadline {
            break (status, answer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(status, 200, "{locked}");
}

pub fn token(env: &[(String, String)], dir: &Path) -> String {
    kesos(
        env,
        &[
            "token",
            "issue",
            "--role",
            "central-operations",
            "--ttl",
            "2h",
        ],
        dir,
    )
    .lines()
    .next()
    .unwrap()
    .trim()
    .to_owned()
}

/// Records a Kompeten result for every seat of the (locked) session, as an LSPS would.
pub async fn record_kompeten_results(api: &Client, base: &str, session_id: &str) {
    let (_, session) = api.get(&format!("{base}/v1/sessions/{session_id}")).await;
    // Every unit of the session's scheme, judged K.
    let units: Vec<Value> = session["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| json!({ "unit": unit["code"], "judgement": "K" }))
        .collect();
    for seat in session["seats"].as_array().unwrap() {
        let candidate = seat["candidate_id"].as_str().unwrap();
        let result = json!({
            "candidate_id": candidate, "attendance": "present", "decision": "kompeten",
            "units": units, "assessor_ids": ["ASR-001"],
            "decided_at": session["ends_at"], "lsps_id": "LSPS-PEKSOS"
        });
        let (status, recorded) = api
            .post(
                &format!("{base}/v1/sessions/{session_id}/results"),
                &result,
                &format!("result-{candidate}"),
            )
            .await;
        assert_eq!(status, 200, "{recorded}");
    }
}
