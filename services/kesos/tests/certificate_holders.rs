//! Certificates follow their holders: a worker moved to another region is listed under the new
//! region and no longer under the old one (issue 21, item 15), over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, certificates, embedded_config, start};
use kesos_testkit::SqliteFile;
use serde_json::{Value, json};

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

#[tokio::test]
async fn a_moved_holders_certificate_is_listed_under_the_new_region_and_no_longer_the_old() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;
    let central = running.token.clone();
    let worker = register(&running, "3277015705900002", "32.77.01.1001").await;
    let (certificate, _, _) = certificates::certify(&running, &worker, "32.77.01.1001").await;
    let listed = |region: &str| format!("/v1/certificates?region={region}&worker_id={worker}");
    assert_eq!(
        running.get_as(&central, &listed("32.77")).await.1["total"],
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
            running.get_as(&central, &listed("32.17")).await.1["total"].clone(),
            running.get_as(&central, &listed("32.77")).await.1["total"].clone(),
        );
        if totals == (json!(1), json!(0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(totals, (json!(1), json!(0)), "(new region, old region)");
    let (_, list) = running.get_as(&central, &listed("32.17")).await;
    assert_eq!(list["items"][0]["certificate_id"], json!(certificate));
    running.stop().await;
}
