//! The scheduling API over a real socket, from a verified nomination to a recorded decision:
//! in the embedded mode the result is recorded by hand; in the distributed mode the roster
//! goes to the LSPS simulator over JetStream and its answers come back through the inbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Running, embedded_config, start};
use kesos_runtime::Config;
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::simulator::{Simulator, SimulatorSettings};
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url, unique_name};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

async fn verified_candidate(running: &Running) -> String {
    let worker = json!({
        "nik": "3277015705900002", "full_name": "Siti Aminah", "sex": "P",
        "birth_date": "1990-05-17", "category": "peksos", "role": "kelurahan_peksos",
        "employment_status": "thl", "posting": "32.77.01.1001", "education_level": "s1",
        "education_in_social_work": true, "practice_months": 24, "training_hours": 60
    });
    let (status, _, created) = running.post_json("/v1/workers", &worker, None).await;
    assert_eq!(status, 201, "{created}");
    let id = created["worker_id"].as_str().unwrap().to_owned();
    let nomination = json!({
        "scheme_code": "PEKSOS-GENERALIS", "period_year": 2026,
        "recommending_office": "32.77", "portfolio_ref": "dinsos-cimahi/2026/1"
    });
    let (_, _, created) = running
        .post_json(&format!("/v1/workers/{id}/nominations"), &nomination, None)
        .await;
    let nomination_id = created["nomination_id"].as_str().unwrap().to_owned();
    let (status, _, _) = running
        .post(&format!(
            "/v1/workers/{id}/nominations/{nomination_id}/verify"
        ))
        .await;
    assert_eq!(status, 200);
    for _ in 0..200 {
        let (_, _, page) = running.get("/v1/candidates?status=waiting").await;
        if page["total"] == json!(1) {
            assert_eq!(page["items"][0]["candidate_id"], json!(nomination_id));
            return nomination_id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the verified nomination never became a candidate");
}

fn session_form(cutoff: OffsetDateTime, lsps: &str) -> Value {
    let starts = cutoff + time::Duration::hours(1);
    json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK Cimahi", "region": "32.77" },
        "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + time::Duration::hours(8)),
        "reschedule_cutoff": rfc3339(cutoff),
        "capacity": 10, "assessor_ids": ["ASR-001"], "lsps_id": lsps
    })
}

/// Schedules, allocates and locks; returns the session id and the candidate id.
async fn a_locked_session(running: &Running, lsps: &str) -> (String, String) {
    let candidate = verified_candidate(running).await;

    // Bad input names each field and rule; nothing is stored.
    let mut bad = session_form(OffsetDateTime::now_utc(), lsps);
    bad["capacity"] = json!(25);
    bad["starts_at"] = json!("tomorrow");
    bad["test_site"]["region"] = json!("99.99");
    let (status, content_type, problem) = running.post_json("/v1/sessions", &bad, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    let rules: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"starts_at.rfc3339"), "{problem}");
    assert!(rules.contains(&"test_site.region.region"), "{problem}");

    // Too few assessors for the capacity is a rule of the domain: 422.
    let mut crowded = session_form(OffsetDateTime::now_utc() + time::Duration::hours(1), lsps);
    crowded["capacity"] = json!(25);
    let (status, _, problem) = running.post_json("/v1/sessions", &crowded, None).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("too-few-assessors")
    );

    // The cut-off leaves room for the schedule and the allocation before it even on a loaded
    // machine (a session past its cut-off takes no seats); the lock then waits for it to pass.
    let cutoff = OffsetDateTime::now_utc() + time::Duration::seconds(6);
    let (status, _, session) = running
        .post_json(
            "/v1/sessions",
            &session_form(cutoff, lsps),
            Some("session-1"),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let session_id = session["session_id"].as_str().unwrap().to_owned();
    let (status, _, again) = running
        .post_json(
            "/v1/sessions",
            &session_form(cutoff, lsps),
            Some("session-1"),
        )
        .await;
    assert_eq!(
        (status, again["session_id"].as_str()),
        (201, Some(session_id.as_str()))
    );

    let (status, _, allocation) = running.post_json("/v1/allocations", &json!({}), None).await;
    assert_eq!(
        (status, allocation["seated"].as_u64()),
        (200, Some(1)),
        "{allocation}"
    );
    let (status, _, problem) = running
        .post(&format!("/v1/sessions/{session_id}/lock"))
        .await;
    assert_eq!(status, 409, "locking before the cut-off: {problem}");
    let until_past_cutoff = cutoff - OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    tokio::time::sleep(until_past_cutoff.try_into().unwrap_or(Duration::ZERO)).await;
    let (status, _, locked) = running
        .post(&format!("/v1/sessions/{session_id}/lock"))
        .await;
    assert_eq!(
        (status, locked["status"].as_str()),
        (200, Some("locked")),
        "{locked}"
    );
    let (status, _, roster) = running
        .get(&format!("/v1/sessions/{session_id}/roster"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(roster["candidates"][0]["full_name"], json!("Siti Aminah"));
    assert_eq!(roster["candidates"][0]["nik"], json!("3277015705900002"));
    (session_id, candidate)
}

/// Every unit of the session (its scheme's) judged K, as the results form takes them.
fn every_unit_k(session: &Value) -> Value {
    session["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| json!({ "unit": unit["code"], "judgement": "K" }))
        .collect()
}

async fn decision_of(running: &Running, session_id: &str) -> Value {
    let (_, _, session) = running.get(&format!("/v1/sessions/{session_id}")).await;
    session["seats"][0]["decision"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_recorded_by_hand_completes_the_embedded_journey() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let (session_id, candidate) = a_locked_session(&running, "LSPS-PEKSOS").await;
    let (_, _, session) = running.get(&format!("/v1/sessions/{session_id}")).await;
    let decided_at = session["ends_at"].clone();
    // The session carries its scheme's units, as the catalogue lists them.
    let (_, _, catalogue) = running.get("/v1/schemes").await;
    let generalis = catalogue["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|scheme| scheme["code"] == json!("PEKSOS-GENERALIS"))
        .unwrap();
    assert_eq!(session["units"], generalis["units"], "{session}");
    assert_eq!(session["units"][0]["code"], json!("PKS-GN.01"), "{session}");
    let result = json!({
        "candidate_id": candidate, "attendance": "present", "decision": "kompeten",
        "units": every_unit_k(&session), "assessor_ids": ["ASR-001"],
        "decided_at": decided_at, "lsps_id": "LSPS-PEKSOS"
    });
    let path = format!("/v1/sessions/{session_id}/results");
    // A unit not of the scheme, or one of its units left out, is refused by name.
    let mut stranger = result.clone();
    stranger["units"][0]["unit"] = json!("U01");
    let mut partial = result.clone();
    partial["units"].as_array_mut().unwrap().pop();
    for (refused, rule, unit) in [
        (stranger, "unknown-unit", "U01"),
        (partial, "missing-unit", "PKS-GN.07"),
    ] {
        let (status, _, problem) = running.post_json(&path, &refused, None).await;
        assert_eq!(status, 422, "{problem}");
        assert!(
            problem["type"].as_str().unwrap().ends_with(rule),
            "{problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(unit),
            "{problem}"
        );
    }
    let (status, _, recorded) = running.post_json(&path, &result, None).await;
    assert_eq!(status, 200, "{recorded}");
    let mut contradicting = result.clone();
    contradicting["decision"] = json!("belum_kompeten");
    contradicting["units"][0]["judgement"] = json!("BK");
    let (status, _, problem) = running.post_json(&path, &contradicting, None).await;
    assert_eq!(status, 409);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("contradicting-decision")
    );
    assert_eq!(decision_of(&running, &session_id).await, json!("kompeten"));
    let (status, _, _) = running.get("/v1/sessions/not-a-uuid").await;
    assert_eq!(status, 400);
    let (status, _, _) = running
        .get("/v1/sessions/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(status, 404);
    let (_, _, openapi) = running.get("/openapi.json").await;
    assert!(openapi["paths"]["/v1/allocations"].is_object());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kompeten_decision_becomes_a_certificate_that_verifies_offline() {
    let file = SqliteFile::create();
    let config = embedded_config(&file);
    let running = start(config.clone()).await;
    let (session_id, candidate) = a_locked_session(&running, "LSPS-PEKSOS").await;
    let (_, _, session) = running.get(&format!("/v1/sessions/{session_id}")).await;
    let worker = session["seats"][0]["worker_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = json!({
        "candidate_id": candidate, "attendance": "present", "decision": "kompeten",
        "units": every_unit_k(&session), "assessor_ids": ["ASR-001"],
        "decided_at": session["ends_at"], "lsps_id": "LSPS-PEKSOS"
    });
    let (status, _, _) = running
        .post_json(&format!("/v1/sessions/{session_id}/results"), &result, None)
        .await;
    assert_eq!(status, 200);
    let mut certificate = Value::Null;
    for _ in 0..200 {
        let (_, _, page) = running
            .get(&format!("/v1/certificates?worker_id={worker}"))
            .await;
        if page["total"] == json!(1) {
            certificate = page["items"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let number = certificate["number"]
        .as_str()
        .expect("a certificate is issued")
        .to_owned();
    let (status, _, public) = running.get(&format!("/v1/verify/{number}")).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["valid"], json!(true), "{public}");
    let id = certificate["certificate_id"].as_str().unwrap();
    let credential = running
        .get_bytes(&format!("/v1/certificates/{id}/credential.json"))
        .await;
    running.stop().await;

    let dir = file.path.parent().unwrap();
    let exported = dir.join("credential.json");
    std::fs::write(&exported, &credential).unwrap();
    let signing_key = config.signing_key_file.clone().unwrap();
    let cli = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kesos"))
            .current_dir(dir)
            .args(["cert", "verify", path.to_str().unwrap()])
            .env("KESOS_SIGNING_KEY_FILE", &signing_key)
            .env("KESOS_DATA_DIR", dir)
            .output()
            .unwrap()
    };
    let valid = cli(&exported);
    let stdout = String::from_utf8_lossy(&valid.stdout);
    assert!(
        valid.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(stdout.starts_with(&format!("valid: {number}")), "{stdout}");
    assert!(stdout.contains("Siti Aminah"), "{stdout}");

    let tampered = dir.join("tampered.json");
    let text = String::from_utf8(credential.to_vec()).unwrap();
    std::fs::write(&tampered, text.replace("Siti Aminah", "Siti Aminan")).unwrap();
    let refused = cli(&tampered);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is not a valid kesos certificate"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lsps_simulator_answers_a_roster_sent_over_jetstream() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let base = dir.path.parent().unwrap().to_path_buf();
    let master = base.join("master.key");
    kesos::keys::write_secret_file(&master, &kesos_vault::MasterKey::generate().to_hex(), false)
        .unwrap();
    let config = Config {
        database_url: Some(database_url()),
        database_schema: Some(schema.name.clone()),
        nats_url: Some(nats_url()),
        nats_subject_prefix: unique_name("s"),
        nats_stream: unique_name("S"),
        nats_dead_letter_stream: unique_name("D"),
        nats_lsps_stream: unique_name("L"),
        signing_key_file: Some(base.join("signing.key")),
        master_key_file: Some(master),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    kesos::keys::write_signing_key(
        config.signing_key_file.as_ref().unwrap(),
        &ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        false,
    )
    .unwrap();
    let running = start(config.clone()).await;
    let context = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let simulator = Simulator::new(
        context.clone(),
        LspsChannel::new(
            config.nats_subject_prefix.clone(),
            config.nats_lsps_stream.clone(),
        ),
        SimulatorSettings {
            lsps: "LSPS-SIM".into(),
            pass_rate: 1.0,
            no_show_rate: 0.0,
            duplicates: true,
            ..SimulatorSettings::default()
        },
    );
    let simulated =
        tokio::spawn(async move { simulator.run(Some(1), std::future::pending()).await });
    let (session_id, _) = a_locked_session(&running, "LSPS-SIM").await;
    let report = tokio::time::timeout(Duration::from_secs(30), simulated)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.kompeten, 1);
    let mut decision = Value::Null;
    for _ in 0..200 {
        decision = decision_of(&running, &session_id).await;
        if !decision.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(decision, json!("kompeten"));
    running.stop().await;
    for stream in [
        &config.nats_stream,
        &config.nats_dead_letter_stream,
        &config.nats_lsps_stream,
    ] {
        let _ = context.delete_stream(stream).await;
    }
    schema.drop_now().await;
}
