//! Certificates follow their holders: a worker moved to another region is listed under the new
//! region and no longer under the old one (issue 21, item 15), over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, embedded_config, start};
use kesos_eventstore::{EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};
use time::OffsetDateTime;

async fn register(running: &Running, nik: &str, posting: &str) -> String {
    let body = json!({
        "nik": nik, "full_name": "Siti Aminah", "sex": "P", "birth_date": "1990-05-17",
        "category": "peksos", "role": "kelurahan_peksos", "employment_status": "thl",
        "posting": posting, "education_level": "s1", "education_in_social_work": true,
        "practice_months": 24, "training_hours": 60
    });
    let (status, _, answer) = running.post_json("/v1/workers", &body, None).await;
    assert_eq!(status, 201, "{answer}");
    answer["worker_id"].as_str().unwrap().to_owned()
}

/// `payload` with the string fields `session_id` (1) and `candidate_id` (2) appended in
/// protobuf's wire format, so that scheduling's read models, which read the shared log too,
/// read the decision as one for a session they do not know.
fn with_session(mut payload: Vec<u8>) -> Vec<u8> {
    for field in [1u8, 2] {
        let id = uuid::Uuid::now_v7().to_string();
        payload.push((field << 3) | 2);
        payload.push(u8::try_from(id.len()).unwrap());
        payload.extend_from_slice(id.as_bytes());
    }
    payload
}

/// A Kompeten decision on `worker` as scheduling would record it; the certificate's id once
/// the running process issued it.
async fn certify(running: &Running, worker: &str, region: &str) -> String {
    let worker = uuid::Uuid::parse_str(worker).unwrap();
    let scheme = kesos_certification::domain::SchemeRef {
        code: "PEKSOS-GENERALIS".into(),
        category: "PEKSOS".into(),
        level: "GENERALIS".into(),
    };
    let payload = kesos_certification::wire::assessment_decided(
        worker,
        &scheme,
        true,
        OffsetDateTime::now_utc(),
        "LSPS-PEKSOS",
        Some(region),
    );
    let event = NewEvent::new(
        uuid::Uuid::now_v7(),
        EventType::parse(kesos_certification::wire::ASSESSMENT_DECIDED).unwrap(),
        1,
        with_session(payload),
        Metadata::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let stream = StreamId::parse(format!("decision-{}", uuid::Uuid::now_v7())).unwrap();
    running
        .store
        .append(&stream, ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    for _ in 0..200 {
        let (_, _, answer) = running
            .get(&format!("/v1/certificates?worker_id={worker}"))
            .await;
        if let Some(item) = answer["items"].as_array().and_then(|items| items.first()) {
            return item["certificate_id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no certificate was issued for {worker}");
}

async fn get(running: &Running, token: &str, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", running.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_moved_holders_certificate_is_listed_under_the_new_region_and_no_longer_the_old() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let central = running.token.clone();
    let worker = register(&running, "3277015705900002", "32.77.01.1001").await;
    let certificate = certify(&running, &worker, "32.77.01.1001").await;
    let listed = |region: &str| format!("/v1/certificates?region={region}&worker_id={worker}");
    assert_eq!(
        get(&running, &central, &listed("32.77")).await.1["total"],
        json!(1)
    );

    let (status, _, answer) = running
        .post_json(
            &format!("/v1/workers/{worker}/posting"),
            &json!({ "posting": "32.17" }),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");

    let mut totals = (Value::Null, Value::Null);
    for _ in 0..200 {
        totals = (
            get(&running, &central, &listed("32.17")).await.1["total"].clone(),
            get(&running, &central, &listed("32.77")).await.1["total"].clone(),
        );
        if totals == (json!(1), json!(0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(totals, (json!(1), json!(0)), "(new region, old region)");
    let (_, list) = get(&running, &central, &listed("32.17")).await;
    assert_eq!(list["items"][0]["certificate_id"], json!(certificate));
    running.stop().await;
}
