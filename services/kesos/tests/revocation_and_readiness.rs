//! Tokens an operator withdraws, tokens that live too long, and what `/readyz` tells the
//! public, over a real socket in both modes: embedded (SQLite file) and distributed (a fresh
//! PostgreSQL schema, the real NATS JetStream server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::modes::{delete_streams, distributed, embedded};
use common::{Running, start};
use kesos_auth::{Claims, TokenIssuer};
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile, database_url};
use time::OffsetDateTime;

async fn status(running: &Running, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}{path}", running.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Revokes one of two tokens with the operator's command; the revoked one answers 401 from
/// the next request on, also after a restart, and the other keeps working.
async fn a_revoked_token_is_refused_from_the_next_request_on(config: Config) {
    let running = start(config.clone()).await;
    let kept = common::mint(&running.token_key, "kesos", "auditor", None, None);
    let withdrawn = running.token.clone();
    assert_eq!(status(&running, "/v1/log", &withdrawn).await, 200);

    let jti = kesos_auth::token::unverified_jti(&withdrawn).unwrap();
    let mut out = Vec::new();
    kesos::tokens::revoke_command(&config, &jti, "laptop stolen", "siti", &mut out)
        .await
        .unwrap();
    assert!(String::from_utf8(out).unwrap().contains(&jti));
    assert_eq!(status(&running, "/v1/log", &withdrawn).await, 401);
    assert_eq!(status(&running, "/v1/log", &kept).await, 200);
    running.stop().await;

    let restarted = start(config).await;
    assert_eq!(status(&restarted, "/v1/log", &withdrawn).await, 401);
    assert_eq!(status(&restarted, "/v1/log", &kept).await, 200);
    restarted.stop().await;
}

#[tokio::test]
async fn embedded_a_revoked_token_answers_401_on_the_next_request_and_after_a_restart() {
    let file = SqliteFile::create();
    a_revoked_token_is_refused_from_the_next_request_on(embedded(&file)).await;
}

#[tokio::test]
async fn distributed_a_revoked_token_answers_401_on_the_next_request_and_after_a_restart() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = distributed(&schema, &dir);
    a_revoked_token_is_refused_from_the_next_request_on(config.clone()).await;
    delete_streams(&config).await;
    schema.drop_now().await;
}

#[tokio::test]
async fn a_token_living_longer_than_its_roles_maximum_is_refused_by_the_server() {
    let file = SqliteFile::create();
    let running = start(embedded(&file)).await;
    let issuer = TokenIssuer::new(kesos_auth::keys::read_signing_key(&running.token_key).unwrap());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = |role: &str, lsps: Option<&str>, lifetime: i64| Claims {
        iss: "kesos".to_owned(),
        aud: "kesos".to_owned(),
        sub: "siti".to_owned(),
        role: role.to_owned(),
        region: None,
        lsps: lsps.map(str::to_owned),
        iat: now,
        nbf: now,
        exp: now + lifetime,
        jti: uuid::Uuid::now_v7().to_string(),
    };
    let day = 86_400;
    let year = issuer.sign(&claims("central-operations", None, 366 * day));
    assert_eq!(status(&running, "/v1/log", &year).await, 401);
    let two_days = issuer.sign(&claims("auditor", None, 2 * day));
    assert_eq!(status(&running, "/v1/log", &two_days).await, 401);
    let shift = issuer.sign(&claims("central-operations", None, 8 * 3600));
    assert_eq!(status(&running, "/v1/log", &shift).await, 200);
    // A machine client's token may live longer (90 days by default), not a year.
    let sessions = "/v1/sessions?lsps=LSPS-PEKSOS";
    let lsps = issuer.sign(&claims("lsps", Some("LSPS-PEKSOS"), 30 * day));
    assert_ne!(status(&running, sessions, &lsps).await, 401);
    let lsps_year = issuer.sign(&claims("lsps", Some("LSPS-PEKSOS"), 366 * day));
    assert_eq!(status(&running, sessions, &lsps_year).await, 401);
    running.stop().await;
}

/// Breaks the store under a running process; `/readyz` says only that it is not ready.
async fn readiness_says_not_ready_and_nothing_more(running: &Running, secrets: &[&str]) {
    let response = reqwest::get(format!("{}/readyz", running.base))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body = response.text().await.unwrap();
    for secret in secrets {
        assert!(
            !body.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} in {body}"
        );
    }
}

const INTERNAL: [&str; 7] = [
    "kesos_events",
    "kesos_log_head",
    "no such table",
    "relation",
    "does not exist",
    "sqlx",
    "error",
];

#[tokio::test]
async fn embedded_readiness_with_a_broken_store_tells_the_public_nothing_of_the_error() {
    let file = SqliteFile::create();
    let running = start(embedded(&file)).await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", running.base))
            .await
            .unwrap()
            .status(),
        200
    );
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.path.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE kesos_log_head")
        .execute(&pool)
        .await
        .unwrap();
    let path = file.path.display().to_string();
    let mut secrets = INTERNAL.to_vec();
    secrets.push(&path);
    readiness_says_not_ready_and_nothing_more(&running, &secrets).await;
    running.stop().await;
}

#[tokio::test]
async fn distributed_readiness_with_a_dropped_schema_tells_the_public_nothing_of_the_error() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = distributed(&schema, &dir);
    let running = start(config.clone()).await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", running.base))
            .await
            .unwrap()
            .status(),
        200
    );
    let admin = sqlx::PgPool::connect(&database_url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {} CASCADE", schema.name))
        .execute(&admin)
        .await
        .unwrap();
    let mut secrets = INTERNAL.to_vec();
    secrets.push(&schema.name);
    secrets.push("postgres");
    readiness_says_not_ready_and_nothing_more(&running, &secrets).await;
    running.stop().await;
    delete_streams(&config).await;
    schema.drop_now().await;
}
