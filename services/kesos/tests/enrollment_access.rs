//! What enrollment's answers tell a caller about workers outside its scope, over a real
//! socket: a duplicate NIK names its holder only to a role with national scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, mint, start};
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};

fn worker(nik: &str, posting: &str) -> Value {
    json!({
        "nik": nik, "full_name": "Siti Aminah", "sex": "P", "birth_date": "1990-05-17",
        "category": "peksos", "role": "kelurahan_peksos", "employment_status": "thl",
        "posting": posting, "education_level": "s1", "education_in_social_work": true,
        "practice_months": 24, "training_hours": 60
    })
}

async fn post_as(running: &Running, token: &str, path: &str, body: &Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", running.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_duplicate_nik_names_its_holder_to_central_operations_and_to_no_dinas() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let nik = "3277015705900002";
    // Registered by central operations in Kabupaten Bandung Barat, outside Cimahi.
    let (status, _, first) = running
        .post_json("/v1/workers", &worker(nik, "32.17"), None)
        .await;
    assert_eq!(status, 201, "{first}");
    let holder = first["worker_id"].as_str().unwrap().to_owned();

    let cimahi = mint(
        &running.token_key,
        "kesos",
        "regional-dinas",
        Some("32.77"),
        None,
    );
    let (status, body) = post_as(
        &running,
        &cimahi,
        "/v1/workers",
        &worker(nik, "32.77.01.1001"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        !body.contains(&holder),
        "a Dinas learned another region's worker id: {body}"
    );
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert!(problem["type"].as_str().unwrap().ends_with("duplicate-nik"));
    assert_eq!(problem["detail"], json!("this NIK is already registered"));

    // Central operations sees the whole nation, so it learns who holds the NIK.
    let (status, body) = post_as(
        &running,
        &running.token,
        "/v1/workers",
        &worker(nik, "32.77.01.1001"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert!(problem["type"].as_str().unwrap().ends_with("duplicate-nik"));
    assert!(
        problem["detail"].as_str().unwrap().contains(&holder),
        "{body}"
    );
    running.stop().await;
}
