//! A certificate made the way the running process makes one: a Kompeten decision appended to
//! the log as scheduling would record it, and the certificate certification issues from it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use kesos_eventstore::{EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use time::OffsetDateTime;

use super::Running;

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

/// A Kompeten decision on `worker` as scheduling would record it, and the certificate the
/// running process issues from it: its id, number and verification code.
pub async fn certify(running: &Running, worker: &str, region: &str) -> (String, String, String) {
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
        let (status, _, answer) = running
            .get(&format!("/v1/certificates?worker_id={worker}"))
            .await;
        assert_eq!(status, 200, "{answer}");
        if let Some(item) = answer["items"].as_array().and_then(|items| items.first()) {
            return (
                item["certificate_id"].as_str().unwrap().to_owned(),
                item["number"].as_str().unwrap().to_owned(),
                item["verification_code"].as_str().unwrap().to_owned(),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no certificate was issued for {worker}");
}
