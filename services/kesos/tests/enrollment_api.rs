//! The enrollment API over a real socket: registration, problem+json errors naming the field
//! and the rule, Idempotency-Key, nominations, lists, erasure and the import upload; in the
//! embedded mode (SQLite) and the distributed mode (PostgreSQL + JetStream).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, start};
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url, unique_name};
use serde_json::{Value, json};

fn worker(nik: &str, day: u8) -> Value {
    json!({
        "nik": nik,
        "full_name": "Siti Aminah",
        "sex": "P",
        "birth_date": format!("1990-05-{day:02}"),
        "category": "peksos",
        "role": "kelurahan_peksos",
        "employment_status": "thl",
        "posting": "32.77.01.1001",
        "education_level": "s1",
        "education_in_social_work": true,
        "practice_months": 24,
        "training_hours": 60
    })
}

async fn the_whole_enrollment_api(running: &Running) {
    // Register, with an Idempotency-Key: a retry answers the same worker, 200 not 201.
    let body = worker("3277015705900002", 17);
    let (status, _, first) = running
        .post_json("/v1/workers", &body, Some("reg-0001"))
        .await;
    assert_eq!(status, 201, "{first}");
    let id = first["worker_id"].as_str().unwrap().to_owned();
    let (status, _, again) = running
        .post_json("/v1/workers", &body, Some("reg-0001"))
        .await;
    assert_eq!(
        (status, again["worker_id"].as_str()),
        (200, Some(id.as_str()))
    );

    // The same NIK under another key is a 409 naming the rule.
    let (status, content_type, problem) = running.post_json("/v1/workers", &body, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (409, "application/problem+json")
    );
    assert!(problem["type"].as_str().unwrap().ends_with("duplicate-nik"));

    // Bad input: 400 problem+json listing each field with its rule.
    let mut bad = worker("3277015705900002", 18);
    bad["posting"] = json!("32");
    let (status, content_type, problem) = running.post_json("/v1/workers", &bad, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    let rules: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("nik", "nik.matches_birth_date"),
            ("posting", "posting.region")
        ]
    );
    let (status, _, problem) = running
        .post_json("/v1/workers", &json!({"nik": [5]}), None)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("nik"))
    );
    let (status, _, problem) = running
        .post_json("/v1/workers", &json!({"extra": 1}), None)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("extra"))
    );

    // Read, nominate, verify.
    let (status, _, view) = running.get(&format!("/v1/workers/{id}")).await;
    assert_eq!(
        (status, view["nik"].as_str()),
        (200, Some("3277015705900002"))
    );
    let nomination = json!({
        "scheme_code": "PEKSOS-GENERALIS", "period_year": 2025,
        "recommending_office": "32.77", "portfolio_ref": "dinsos-cimahi/2025/17"
    });
    let (status, _, created) = running
        .post_json(&format!("/v1/workers/{id}/nominations"), &nomination, None)
        .await;
    assert_eq!(status, 201, "{created}");
    let nomination_id = created["nomination_id"].as_str().unwrap();
    let (status, _, verified) = running
        .post(&format!(
            "/v1/workers/{id}/nominations/{nomination_id}/verify"
        ))
        .await;
    assert_eq!(
        (status, verified["status"].as_str()),
        (200, Some("verified"))
    );
    let (status, _, problem) = running
        .post_json(&format!("/v1/workers/{id}/nominations"), &nomination, None)
        .await;
    assert_eq!(status, 409);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("nomination-already-open")
    );

    // Lists are paged, filtered by region prefix, and name workers.
    let (status, _, list) = running
        .get("/v1/workers?region=32.77&category=peksos")
        .await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(1)));
    assert_eq!(list["items"][0]["full_name"].as_str(), Some("Siti Aminah"));
    let (status, _, list) = running.get("/v1/workers?region=32.17").await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(0)));
    let (status, _, problem) = running.get("/v1/workers?region=3x").await;
    assert_eq!(
        (status, problem["errors"][0]["rule"].as_str()),
        (400, Some("region.format"))
    );

    // A target.
    let target = json!({"year": 2020, "region": "32.77", "category": "peksos", "target_count": 36});
    let (status, _, _) = running.post_json("/v1/targets", &target, None).await;
    assert_eq!(status, 200);

    // Import upload: valid rows stored, bad rows reported by row, column and rule.
    let csv = "NIK,Nama Lengkap,Jenis Kelamin,Tanggal Lahir,Kategori,Peran,Status Kepegawaian,Kode Wilayah,Pendidikan\n\
               3277011705900001,Budi,L,1990-05-17,peksos,psm,thl,32.77,sma\n\
               327701,Cici,P,1990-05-17,peksos,psm,thl,32.77,sma\n";
    let (status, _, report) = running
        .post_bytes("/v1/imports/workers", csv.as_bytes().to_vec())
        .await;
    assert_eq!(
        (status, report["stored"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    assert_eq!(report["errors"][0]["row"].as_u64(), Some(3));
    assert_eq!(report["errors"][0]["column"].as_str(), Some("NIK"));
    let (status, _, problem) = running.post_bytes("/v1/imports/workers", Vec::new()).await;
    assert_eq!(
        (status, problem["errors"][0]["rule"].as_str()),
        (400, Some("file.empty"))
    );

    // Erasure: the person is gone, the record stays.
    let erasure =
        json!({"reason": "request of the data subject", "legal_basis": "UU 27/2022 Pasal 8"});
    let (status, _, erased) = running
        .post_json(&format!("/v1/workers/{id}/erasure"), &erasure, None)
        .await;
    assert_eq!(
        (status, erased["erased"].as_bool(), erased["nik"].as_str()),
        (200, Some(true), None)
    );
    let (status, _, list) = running.get("/v1/workers?status=erased").await;
    assert_eq!(
        (status, list["items"][0]["full_name"].as_str()),
        (200, None),
        "{list}"
    );

    // Unknown ids are 404 problems.
    let (status, _, _) = running
        .get("/v1/workers/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(status, 404);
    let (status, _, openapi) = running.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/v1/workers"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enrollment_api_works_in_the_embedded_mode() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    the_whole_enrollment_api(&running).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enrollment_api_works_in_the_distributed_mode() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let base = dir.path.parent().unwrap().to_path_buf();
    let signing = base.join("signing.key");
    kesos::keys::write_signing_key(
        &signing,
        &ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        false,
    )
    .unwrap();
    let master = base.join("master.key");
    kesos::keys::write_secret_file(&master, &kesos_vault::MasterKey::generate().to_hex(), false)
        .unwrap();
    let config = Config {
        database_url: Some(database_url()),
        database_schema: Some(schema.name.clone()),
        nats_url: Some(nats_url()),
        nats_subject_prefix: unique_name("t"),
        nats_stream: unique_name("T"),
        nats_dead_letter_stream: unique_name("D"),
        nats_lsps_stream: unique_name("L"),
        signing_key_file: Some(signing),
        master_key_file: Some(master),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    let running = start(config.clone()).await;
    the_whole_enrollment_api(&running).await;
    running.stop().await;
    let context = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let _ = context.delete_stream(&config.nats_stream).await;
    let _ = context.delete_stream(&config.nats_dead_letter_stream).await;
    let _ = context.delete_stream(&config.nats_lsps_stream).await;
    schema.drop_now().await;
}
