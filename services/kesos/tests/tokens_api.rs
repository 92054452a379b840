//! Bearer tokens over a real socket: forged, expired, wrong-audience and unknown-key tokens
//! are 401 with a Bearer challenge; keys rotate through the trusted-keys file; the actor of a
//! command is the token's role and subject; denials reach the auditors' access log; public
//! verification is rate limited per client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, mint, start};
use ed25519_dalek::SigningKey;
use kesos_auth::{Claims, TokenIssuer};
use kesos_runtime::Config;
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};
use time::OffsetDateTime;

async fn get(running: &Running, path: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", running.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let extra = header("www-authenticate").or_else(|| header("retry-after"));
    (status, response.json().await.unwrap_or(Value::Null), extra)
}

fn claims(audience: &str, expires_in: i64) -> Claims {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: "kesos".to_owned(),
        aud: audience.to_owned(),
        sub: "siti".to_owned(),
        role: "central-operations".to_owned(),
        region: None,
        lsps: None,
        iat: now - 7200,
        nbf: now - 7200,
        exp: now + expires_in,
        jti: "t".to_owned(),
    }
}

fn issuer(running: &Running) -> TokenIssuer {
    TokenIssuer::new(kesos_auth::keys::read_signing_key(&running.token_key).unwrap())
}

#[tokio::test]
async fn missing_forged_expired_and_foreign_tokens_are_refused_with_a_bearer_challenge() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let genuine = issuer(&running);
    let forger = TokenIssuer::new(SigningKey::from_bytes(&[9; 32]));
    let cases = [
        ("missing", None),
        ("garbage", Some("not.a.token".to_owned())),
        ("unknown key", Some(forger.sign(&claims("kesos", 3600)))),
        ("expired", Some(genuine.sign(&claims("kesos", -120)))),
        (
            "wrong audience",
            Some(genuine.sign(&claims("other-deployment", 3600))),
        ),
    ];
    for (case, token) in cases {
        let (status, body, challenge) = get(&running, "/v1/workers", token.as_deref()).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert!(
            challenge.unwrap().starts_with("Bearer realm=\"kesos\""),
            "{case}"
        );
        assert_eq!(
            body["type"],
            json!("https://kesos.kemensos.go.id/problems/unauthenticated")
        );
    }
    let (status, _, _) = get(
        &running,
        "/v1/workers",
        Some(&genuine.sign(&claims("kesos", 3600))),
    )
    .await;
    assert_eq!(status, 200);
    running.stop().await;
}

#[tokio::test]
async fn a_key_listed_as_trusted_verifies_tokens_beside_the_current_one() {
    let file = SqliteFile::create();
    let old = SigningKey::from_bytes(&[3; 32]);
    let trusted = file.path.with_extension("trusted");
    std::fs::write(
        &trusted,
        format!(
            "# the key being retired\n{}\n",
            hex::encode(old.verifying_key().as_bytes())
        ),
    )
    .unwrap();
    let config = Config {
        token_trusted_keys_file: Some(trusted),
        ..embedded_config(&file)
    };
    let running = start(config).await;
    let from_old = TokenIssuer::new(old).sign(&claims("kesos", 3600));
    let from_current = issuer(&running).sign(&claims("kesos", 3600));
    let unlisted = TokenIssuer::new(SigningKey::from_bytes(&[4; 32])).sign(&claims("kesos", 3600));
    assert_eq!(get(&running, "/v1/log", Some(&from_old)).await.0, 200);
    assert_eq!(get(&running, "/v1/log", Some(&from_current)).await.0, 200);
    assert_eq!(get(&running, "/v1/log", Some(&unlisted)).await.0, 401);
    running.stop().await;
}

#[tokio::test]
async fn a_command_records_its_caller_and_a_denial_reaches_the_access_log() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let dinas = mint(
        &running.token_key,
        "kesos",
        "regional-dinas",
        Some("32.77"),
        None,
    );
    let body = json!({
        "nik": "3277015705900002", "full_name": "Siti Aminah", "sex": "P",
        "birth_date": "1990-05-17", "category": "peksos", "role": "kelurahan_peksos",
        "employment_status": "thl", "posting": "32.77.01.1001", "education_level": "s1"
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/workers", running.base))
        .bearer_auth(&dinas)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let events = running.store.read_batch(0, 10).await.unwrap();
    assert_eq!(events[0].metadata.actor, "regional-dinas/32.77:test");

    // The same office reaching into Kabupaten Bandung Barat is refused and logged.
    let (status, _, _) = get(&running, "/v1/workers?region=32.17", Some(&dinas)).await;
    assert_eq!(status, 403);
    let auditor = mint(&running.token_key, "kesos", "auditor", None, None);
    let (status, log, _) = get(&running, "/v1/access-log", Some(&auditor)).await;
    assert_eq!(status, 200);
    let denial = &log["denials"][0];
    assert_eq!(
        (
            denial["actor"].as_str(),
            denial["path"].as_str(),
            denial["status"].as_u64()
        ),
        (
            Some("regional-dinas/32.77:test"),
            Some("/v1/workers"),
            Some(403)
        )
    );
    // The auditor reads the worker, without name or NIK.
    let (_, page, _) = get(&running, "/v1/workers", Some(&auditor)).await;
    assert_eq!(page["items"][0]["full_name"], Value::Null);
    running.stop().await;
}

#[tokio::test]
async fn public_verification_is_rate_limited_per_client_with_retry_after() {
    let file = SqliteFile::create();
    let config = Config {
        public_rate_limit_per_minute: 2,
        public_rate_limit_burst: 3,
        ..embedded_config(&file)
    };
    let running = start(config).await;
    for _ in 0..3 {
        assert_eq!(get(&running, "/v1/status-list", None).await.0, 200);
    }
    let (status, body, retry_after) = get(&running, "/v1/status-list", None).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        body["type"],
        json!("https://kesos.kemensos.go.id/problems/rate-limited")
    );
    // Other routes are not counted.
    assert_eq!(get(&running, "/healthz", None).await.0, 200);
    running.stop().await;
}

#[tokio::test]
async fn a_dinas_reads_the_progress_of_its_own_region_only_and_the_nation_means_its_region() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let dinas = mint(
        &running.token_key,
        "kesos",
        "regional-dinas",
        Some("32.77"),
        None,
    );
    let path = "/v1/progress?region=32.77";
    assert_eq!(get(&running, path, None).await.0, 401);
    assert_eq!(get(&running, path, Some(&dinas)).await.0, 200);
    assert_eq!(
        get(&running, "/v1/progress?region=32.17", Some(&dinas))
            .await
            .0,
        403
    );
    assert_eq!(
        get(&running, "/v1/progress?region=32", Some(&dinas))
            .await
            .0,
        403
    );
    let (status, body, _) = get(&running, "/v1/progress", Some(&dinas)).await;
    assert_eq!(status, 200);
    assert_eq!(body["region"]["code"], serde_json::json!("32.77"), "{body}");
    let history = "/v1/audit/workers/0190f000-0000-7000-8000-000000000001/history";
    assert_eq!(get(&running, history, Some(&dinas)).await.0, 403);
    assert_eq!(get(&running, history, Some(&running.token)).await.0, 404);
    running.stop().await;
}

#[tokio::test]
async fn a_province_office_sees_every_kabupaten_kota_of_its_province_and_nothing_beyond() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let jawa_barat = mint(
        &running.token_key,
        "kesos",
        "regional-dinas",
        Some("32"),
        None,
    );
    let lampung = mint(
        &running.token_key,
        "kesos",
        "regional-dinas",
        Some("18"),
        None,
    );
    for region in ["32.77", "32.17", "32"] {
        let path = format!("/v1/workers?region={region}");
        assert_eq!(
            get(&running, &path, Some(&jawa_barat)).await.0,
            200,
            "{region}"
        );
        assert_eq!(
            get(&running, &path, Some(&lampung)).await.0,
            403,
            "{region}"
        );
    }
    running.stop().await;
}
