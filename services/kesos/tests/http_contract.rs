//! The HTTP contract over a real socket on port 0: every rejection of a query string, a path
//! parameter or a JSON body is problem+json naming the field and the rule; every list pages by
//! one rule; an unknown path tells an anonymous caller nothing but 401. Lists read storage, so
//! the paging rule is checked in both modes (SQLite; PostgreSQL with NATS JetStream).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, modes, start};
use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile};
use serde_json::{Value, json};

/// Status, content type, `WWW-Authenticate` and body (JSON, or the text as a JSON string).
async fn call(
    running: &Running,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String, Option<String>, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", running.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let challenge = header("www-authenticate");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, challenge, body)
}

/// Asserts a 400 problem+json whose first field error names `field`; returns its rule.
async fn assert_names(running: &Running, path: &str, field: &str) -> String {
    let (status, content_type, _, body) = call(
        running,
        reqwest::Method::GET,
        path,
        Some(&running.token),
        None,
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json"),
        "GET {path}: {body}"
    );
    assert_eq!(
        body["errors"][0]["field"],
        json!(field),
        "GET {path}: {body}"
    );
    body["errors"][0]["rule"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_malformed_query_string_is_a_problem_naming_the_parameter() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    for (path, field) in [
        ("/v1/sessions?limit=", "limit"),
        ("/v1/candidates?limit=abc", "limit"),
        ("/v1/access-log?limit=abc", "limit"),
        ("/verify?lang=a&lang=b", "lang"),
        ("/verify?lang=fr", "lang"),
        ("/verify/KSS-PSG-2026-000123-K?lang=null", "lang"),
        ("/v1/workers?limit=abc", "limit"),
        ("/v1/certificates?limit=-1", "limit"),
        ("/v1/sessions?nothing=1", "nothing"),
    ] {
        assert_names(&running, path, field).await;
    }
    running.stop().await;
}

#[tokio::test]
async fn a_path_parameter_that_does_not_decode_is_a_problem_naming_it() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let rule = assert_names(&running, "/v1/workers/%FF", "worker_id").await;
    assert_eq!(rule, "path.format");
    running.stop().await;
}

/// Every list, and whether it takes an `after` cursor.
const LISTS: [(&str, bool); 5] = [
    ("/v1/workers", true),
    ("/v1/sessions", true),
    ("/v1/candidates", true),
    ("/v1/certificates", true),
    ("/v1/access-log", false),
];

async fn every_list_pages_by_one_rule(config: Config) {
    let running = start(config).await;
    for (list, cursor) in LISTS {
        for limit in ["0", "501", "100000"] {
            let rule = assert_names(&running, &format!("{list}?limit={limit}"), "limit").await;
            assert_eq!(rule, "limit.range", "{list}?limit={limit}");
        }
        let (status, _, _, body) = call(
            &running,
            reqwest::Method::GET,
            &format!("{list}?limit=500"),
            Some(&running.token),
            None,
        )
        .await;
        assert_eq!(status, 200, "{list}?limit=500: {body}");
        if cursor {
            assert_names(&running, &format!("{list}?after=zzz"), "after").await;
            assert_names(&running, &format!("{list}?after="), "after").await;
            let (status, _, _, body) = call(
                &running,
                reqwest::Method::GET,
                &format!("{list}?limit=1&after={}", uuid::Uuid::now_v7()),
                Some(&running.token),
                None,
            )
            .await;
            assert_eq!(status, 200, "{list} after a well-formed cursor: {body}");
        }
    }
    running.stop().await;
}

#[tokio::test]
async fn every_list_pages_by_one_rule_in_the_embedded_mode() {
    let file = SqliteFile::create();
    every_list_pages_by_one_rule(embedded_config(&file)).await;
}

#[tokio::test]
async fn every_list_pages_by_one_rule_in_the_distributed_mode() {
    let schema = PgSchema::create().await;
    let dir = SqliteFile::create();
    let config = modes::distributed(&schema, &dir);
    every_list_pages_by_one_rule(config.clone()).await;
    modes::delete_streams(&config).await;
    schema.drop_now().await;
}

#[tokio::test]
async fn a_null_field_in_a_json_body_is_refused_naming_it() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let (status, content_type, _, body) = call(
        &running,
        reqwest::Method::POST,
        "/v1/allocations",
        Some(&running.token),
        Some(&json!({ "scheme": null })),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["field"], json!("scheme"), "{body}");
    running.stop().await;
}

#[tokio::test]
async fn an_unknown_path_answers_401_to_an_anonymous_caller_and_404_to_a_signed_in_one() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let worker = uuid::Uuid::now_v7();
    let nominations = format!("/v1/workers/{worker}/nominations/x/0");
    for (method, path) in [
        (reqwest::Method::POST, nominations.as_str()),
        (reqwest::Method::GET, "/v1/nothing-here"),
        (reqwest::Method::GET, "/nothing/here"),
    ] {
        let (status, content_type, challenge, body) =
            call(&running, method.clone(), path, None, None).await;
        assert_eq!(
            (status, content_type.as_str()),
            (401, "application/problem+json"),
            "{method} {path}: {body}"
        );
        assert!(challenge.unwrap_or_default().starts_with("Bearer"));
        let (status, content_type, _, body) =
            call(&running, method.clone(), path, Some(&running.token), None).await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/problem+json"),
            "{method} {path} signed in: {body}"
        );
    }
    running.stop().await;
}
