//! Access control over a real socket: every route × every role × a resource inside and
//! outside the caller's region (or LSPS), each with its exact status code. The table below is
//! checked against the rules the routers are built from and against the OpenAPI document, so
//! a route added without a rule, or without a row here, fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Running, certificates, embedded_config, mint, start};
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Who may call a route. Upper case: scoped (inside the caller's region or LSPS: allowed;
/// outside: 403); lower case: allowed whatever the resource. C central operations, D a Dinas
/// for 32.77, L LSPS-PEKSOS, A auditor, P the public (no token).
struct Row {
    method: &'static str,
    path: &'static str,
    who: &'static str,
    ok: u16,
    body: Option<&'static str>,
}

const fn row(method: &'static str, path: &'static str, who: &'static str, ok: u16) -> Row {
    Row {
        method,
        path,
        who,
        ok,
        body: None,
    }
}

const fn with(
    method: &'static str,
    path: &'static str,
    who: &'static str,
    ok: u16,
    body: &'static str,
) -> Row {
    Row {
        method,
        path,
        who,
        ok,
        body: Some(body),
    }
}

/// Placeholders: {worker} {session} {certificate} {number} {code} (inside or outside: the
/// worker's certificate, its number and verification code), {region}, {posting}, {lsps} (the
/// LSPS running the session), {any} (an id that exists nowhere).
const TABLE: &[Row] = &[
    row("GET", "/", "CdlAP", 200),
    row("GET", "/assets/app.js", "CdlAP", 200),
    row("GET", "/healthz", "CdlAP", 200),
    row("GET", "/readyz", "CdlAP", 200),
    row("GET", "/openapi.json", "CdlAP", 200),
    row("GET", "/v1/log", "CA", 200),
    row("POST", "/v1/audit/verify", "CA", 200),
    row("GET", "/v1/access-log", "CA", 200),
    // enrollment
    with(
        "POST",
        "/v1/workers",
        "CD",
        400,
        r#"{"nik":"1","posting":"{posting}"}"#,
    ),
    row("GET", "/v1/workers?region={region}", "CDA", 200),
    row("GET", "/v1/workers/{worker}", "CDA", 200),
    with(
        "POST",
        "/v1/workers/{worker}/posting",
        "CD",
        400,
        r#"{"posting":"99.99"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/employment-status",
        "CD",
        400,
        r#"{"employment_status":"nope"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/qualifications",
        "CD",
        400,
        r#"{"education_level":"nope"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/role",
        "CD",
        400,
        r#"{"role":"nope"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/departure",
        "CD",
        400,
        r#"{"reason":"nope","departed_on":"2021-06-30"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/return",
        "CD",
        400,
        r#"{"returned_on":"2021-02-30"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/erasure",
        "C",
        400,
        r#"{"reason":"","legal_basis":""}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/nominations",
        "CD",
        400,
        r#"{"scheme_code":"NOPE","period_year":2026,"recommending_office":"32.77","portfolio_ref":"p"}"#,
    ),
    row(
        "POST",
        "/v1/workers/{worker}/nominations/{any}/verify",
        "C",
        404,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/nominations/{any}/reject",
        "C",
        404,
        r#"{"reason":"x"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/nominations/{any}/override",
        "C",
        404,
        r#"{"justification":"x"}"#,
    ),
    with(
        "POST",
        "/v1/workers/{worker}/nominations/{any}/withdraw",
        "CD",
        404,
        r#"{"reason":"x"}"#,
    ),
    with(
        "POST",
        "/v1/targets",
        "C",
        400,
        r#"{"year":2026,"category":"nope","target_count":1}"#,
    ),
    row("POST", "/v1/imports/workers", "C", 400),
    row("GET", "/v1/schemes", "CdlA", 200),
    row("GET", "/v1/regions/{region}", "CdlA", 200),
    // scheduling
    with("POST", "/v1/sessions", "C", 400, "{}"),
    row("GET", "/v1/sessions?region={region}", "CDlA", 200),
    row("GET", "/v1/sessions/{session}", "CDLA", 200),
    with("POST", "/v1/sessions/{any}/change", "C", 400, "{}"),
    with(
        "POST",
        "/v1/sessions/{any}/cancel",
        "C",
        404,
        r#"{"reason":"x"}"#,
    ),
    row("POST", "/v1/sessions/{any}/lock", "C", 404),
    with(
        "POST",
        "/v1/sessions/{session}/results",
        "CL",
        400,
        r#"{"candidate_id":"x","attendance":"x","lsps_id":"x"}"#,
    ),
    row("GET", "/v1/sessions/{session}/roster", "CL", 409),
    row("GET", "/v1/lsps/{lsps}/outcomes", "CLA", 200),
    with(
        "POST",
        "/v1/sessions/{any}/seats",
        "C",
        404,
        r#"{"candidate_id":"{any}"}"#,
    ),
    with(
        "POST",
        "/v1/sessions/{any}/seats/{any}/unseat",
        "C",
        404,
        r#"{"reason":"x"}"#,
    ),
    with(
        "POST",
        "/v1/sessions/{any}/seats/{any}/reschedule",
        "C",
        400,
        "{}",
    ),
    with("POST", "/v1/allocations", "C", 422, r#"{"scheme":"NOPE"}"#),
    row("GET", "/v1/candidates", "CA", 200),
    row("GET", "/v1/candidates/{any}", "CA", 404),
    // certification
    row("GET", "/v1/certificates?region={region}", "CA", 200),
    row("GET", "/v1/certificates/{certificate}", "CA", 200),
    with(
        "POST",
        "/v1/certificates/{any}/suspend",
        "C",
        404,
        r#"{"reason":"x"}"#,
    ),
    with(
        "POST",
        "/v1/certificates/{any}/reinstate",
        "C",
        404,
        r#"{"reason":"x"}"#,
    ),
    with(
        "POST",
        "/v1/certificates/{any}/revoke",
        "C",
        404,
        r#"{"category":"other","reason":"x"}"#,
    ),
    row(
        "GET",
        "/v1/certificates/{certificate}/credential.json",
        "CA",
        200,
    ),
    row(
        "GET",
        "/v1/certificates/{certificate}/certificate.html",
        "CA",
        200,
    ),
    row("GET", "/v1/verify/{number}", "CdlAP", 200),
    with(
        "POST",
        "/v1/verify",
        "CdlAP",
        200,
        r#"{"number":"{number}","code":"{code}","full_name":"Siti"}"#,
    ),
    row("GET", "/v1/status-list", "CdlAP", 200),
    row("GET", "/v1/status-list/suspension", "CdlAP", 200),
    row("GET", "/verify", "CdlAP", 200),
    row("GET", "/verify/{number}", "CdlAP", 200),
    // progress
    row("GET", "/v1/progress?region={region}", "CDA", 200),
    row("GET", "/v1/progress/series?region={region}", "CDA", 200),
    row(
        "GET",
        "/v1/progress/table?region={region}&format=csv",
        "CDA",
        200,
    ),
    with(
        "POST",
        "/v1/progress/workbook",
        "CdA",
        200,
        r#"{"name":"workers-32-77","headers":["nik"],"rows":[["3277015705900002"]]}"#,
    ),
    row("GET", "/v1/progress/status", "CA", 200),
    row("GET", "/v1/audit/workers/{any}/history", "CA", 404),
];

struct Place {
    worker: String,
    session: String,
    certificate: String,
    number: String,
    code: String,
    region: &'static str,
    posting: &'static str,
    lsps: &'static str,
    nik: &'static str,
}

fn fill(template: &str, place: &Place) -> String {
    template
        .replace("{worker}", &place.worker)
        .replace("{session}", &place.session)
        .replace("{certificate}", &place.certificate)
        .replace("{number}", &place.number)
        .replace("{code}", &place.code)
        .replace("{region}", place.region)
        .replace("{posting}", place.posting)
        .replace("{lsps}", place.lsps)
        .replace("{any}", "0190f000-0000-7000-8000-000000000001")
}

/// The path as the router knows it: placeholders named as the routes name them.
fn rule_path(template: &str) -> String {
    let path = template.split('?').next().unwrap_or_default();
    let mut parts = Vec::new();
    let mut previous = "";
    for part in path.split('/') {
        let named = match (previous, part) {
            ("workers", "{worker}" | "{any}") => "{worker_id}",
            ("nominations", "{any}") => "{nomination_id}",
            ("sessions", "{any}" | "{session}") => "{session_id}",
            ("seats", "{any}") => "{candidate_id}",
            ("candidates", "{any}") => "{candidate_id}",
            ("certificates", "{any}" | "{certificate}") => "{certificate_id}",
            ("regions", "{region}") => "{code}",
            ("lsps", "{lsps}") => "{lsps_id}",
            ("assets", _) => "{name}",
            (_, other) => other,
        };
        parts.push(named.to_owned());
        previous = part;
    }
    parts.join("/")
}

fn expected(row: &Row, role: char, inside: bool) -> u16 {
    let upper = role.to_ascii_uppercase();
    let allowed = row.who.chars().any(|c| c.to_ascii_uppercase() == upper);
    let scoped = row.who.contains(upper) && matches!(upper, 'D' | 'L');
    match (allowed, role) {
        (false, 'P') => 401,
        (false, _) => 403,
        (true, _) if scoped && !inside => 403,
        (true, _) => row.ok,
    }
}

async fn call(
    running: &Running,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<String>,
) -> (u16, Value, Option<String>, String) {
    let url = format!("{}{path}", running.base);
    let client = reqwest::Client::new();
    let mut request = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        challenge,
        text,
    )
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// The name every worker of the matrix is registered with.
const FULL_NAME: &str = "Siti Aminah";

async fn register(running: &Running, nik: &str, posting: &str) -> String {
    let body = json!({
        "nik": nik, "full_name": FULL_NAME, "sex": "P", "birth_date": "1990-05-17",
        "category": "peksos", "role": "kelurahan_peksos", "employment_status": "thl",
        "posting": posting, "education_level": "s1", "education_in_social_work": true,
        "practice_months": 24, "training_hours": 60
    });
    let (status, _, answer) = running.post_json("/v1/workers", &body, None).await;
    assert_eq!(status, 201, "{answer}");
    answer["worker_id"].as_str().unwrap().to_owned()
}

async fn schedule(running: &Running, region: &str, lsps: &str, assessor: &str) -> String {
    let cutoff = OffsetDateTime::now_utc() + time::Duration::days(2);
    let starts = cutoff + time::Duration::hours(1);
    let form = json!({
        "scheme": "PEKSOS-GENERALIS", "mode": "test_site",
        "test_site": { "name": "TUK", "region": region },
        "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + time::Duration::hours(8)),
        "reschedule_cutoff": rfc3339(cutoff),
        "capacity": 10, "assessor_ids": [assessor], "lsps_id": lsps
    });
    let (status, _, answer) = running.post_json("/v1/sessions", &form, None).await;
    assert_eq!(status, 201, "{answer}");
    answer["session_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_answers_every_role_inside_and_outside_its_scope_with_the_exact_status() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let audience = "kesos";
    let tokens: Vec<(char, Option<String>)> = vec![
        ('C', Some(running.token.clone())),
        (
            'D',
            Some(mint(
                &running.token_key,
                audience,
                "regional-dinas",
                Some("32.77"),
                None,
            )),
        ),
        (
            'L',
            Some(mint(
                &running.token_key,
                audience,
                "lsps",
                None,
                Some("LSPS-PEKSOS"),
            )),
        ),
        (
            'A',
            Some(mint(&running.token_key, audience, "auditor", None, None)),
        ),
        ('P', None),
    ];
    let inside_worker = register(&running, "3277015705900002", "32.77.01.1001").await;
    let outside_worker = register(&running, "3277015705900003", "32.17").await;
    let (certificate, number, code) =
        certificates::certify(&running, &inside_worker, "32.77.01.1001").await;
    let inside = Place {
        session: schedule(&running, "32.77", "LSPS-PEKSOS", "ASR-001").await,
        worker: inside_worker,
        certificate,
        number,
        code,
        region: "32.77",
        posting: "32.77.01.1001",
        lsps: "LSPS-PEKSOS",
        nik: "3277015705900002",
    };
    let (certificate, number, code) =
        certificates::certify(&running, &outside_worker, "32.17").await;
    let outside = Place {
        session: schedule(&running, "32.17", "LSPS-KESOS", "ASR-002").await,
        worker: outside_worker,
        certificate,
        number,
        code,
        region: "32.17",
        posting: "32.17",
        lsps: "LSPS-KESOS",
        nik: "3277015705900003",
    };

    let mut failures = Vec::new();
    for row in TABLE {
        for (role, token) in &tokens {
            for (place, is_inside) in [(&inside, true), (&outside, false)] {
                let path = fill(row.path, place);
                let body = row.body.map(|b| fill(b, place));
                let (status, answer, challenge, text) =
                    call(&running, token.as_deref(), row.method, &path, body).await;
                // Only central operations and the region's own Dinas see names and NIKs.
                if !matches!(role, 'C' | 'D') {
                    for secret in [FULL_NAME, place.nik] {
                        if text.contains(secret) {
                            failures.push(format!(
                                "{role} {} {path}: the body shows {secret:?}: {text}",
                                row.method
                            ));
                        }
                    }
                }
                let want = expected(row, *role, is_inside);
                if status != want {
                    failures.push(format!(
                        "{role} {} {path} ({}): {status}, expected {want}: {answer}",
                        row.method,
                        if is_inside { "inside" } else { "outside" }
                    ));
                }
                if status == 401
                    && challenge
                        .as_deref()
                        .is_none_or(|c| !c.starts_with("Bearer"))
                {
                    failures.push(format!(
                        "{role} {} {path}: 401 without a Bearer challenge",
                        row.method
                    ));
                }
                if status == 403
                    && answer["detail"]
                        != json!("your token's role or scope does not allow this request")
                {
                    failures.push(format!(
                        "{role} {} {path}: 403 says more than it should: {answer}",
                        row.method
                    ));
                }
            }
        }
    }
    running.stop().await;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_route_the_routers_serve_has_exactly_one_row_in_the_table() {
    let rules: BTreeSet<(String, String)> = kesos::http::access_rules()
        .into_iter()
        .map(|rule| (rule.method.to_string(), rule.path.to_owned()))
        .collect();
    let rows: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|row| (row.method.to_owned(), rule_path(row.path)))
        .collect();
    assert_eq!(rows.len(), TABLE.len(), "a route has two rows");
    let missing: Vec<_> = rules.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&rules).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the table: {missing:?}"
    );
    assert!(stale.is_empty(), "rows without a route: {stale:?}");
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let routes: BTreeSet<(String, String)> = kesos::http::access_rules()
        .into_iter()
        .map(|rule| (rule.method.to_string(), rule.path.to_owned()))
        .collect();
    let document = kesos::openapi::document();
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| ["get", "post", "put", "patch", "delete"].contains(&key.as_str()))
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes the document does not describe: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations no route serves: {unrouted:?}"
    );
}
