//! Exactly-once issuance on the real NATS JetStream: decisions published twice each, consumed
//! by two durable consumers at once (concurrent delivery), then replayed by a third from the
//! stream's start, all into one PostgreSQL schema: one certificate per Kompeten decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::FutureExt;
use kesos_bus::{Consumer, JetStreamFeed, PullSettings, StreamNames};
use kesos_certification::domain::CertificateId;
use kesos_certification::wire::CERTIFICATE_ISSUED;
use kesos_testkit::{nats_url, unique_name};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use common::{Harness, Place, count, decision};

const DECISIONS: usize = 40;
const WAIT: Duration = Duration::from_secs(60);

async fn drained(context: &jetstream::Context, names: &StreamNames, durable: &str) -> bool {
    let Ok(stream) = context.get_stream(&names.events_stream).await else {
        return false;
    };
    let Ok(mut consumer) = stream.get_consumer::<pull::Config>(durable).await else {
        return false;
    };
    consumer
        .info()
        .await
        .is_ok_and(|info| info.num_pending == 0 && info.num_ack_pending == 0)
}

async fn consume(
    harness: &Harness,
    context: &jetstream::Context,
    names: &StreamNames,
    durables: &[String],
) {
    let Place::Pg(_, store) = &harness.place else {
        unreachable!()
    };
    let mut running = Vec::new();
    for durable in durables {
        let consumer = Consumer::new(
            durable.clone(),
            store.pool().clone(),
            Arc::new(harness.certification.intake()),
        );
        let settings = PullSettings {
            ack_wait: Duration::from_secs(5),
            batch: 20,
            ..PullSettings::default()
        };
        let feed = JetStreamFeed::subscribe(context.clone(), names, durable, settings)
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            consumer
                .run(feed, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        running.push((stop, task));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    for durable in durables {
        while !drained(context, names, durable).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "consumer {durable} did not drain in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for (stop, task) in running {
        let _ = stop.send(());
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_decision_published_twice_consumed_concurrently_and_replayed_issues_one_certificate() {
    let harness = Harness::postgres().await;
    let Place::Pg(_, store) = &harness.place else {
        unreachable!()
    };
    kesos_bus::bookkeeping::migrate_consumers(&kesos_readside::Db::from(store.pool().clone()))
        .await
        .unwrap();
    let client = async_nats::connect(nats_url())
        .await
        .unwrap_or_else(|error| {
            panic!(
                "NATS at {} is unreachable ({error}); start it with deploy/local/up",
                nats_url()
            )
        });
    let context = jetstream::new(client);
    let names = StreamNames::new(unique_name("c"), unique_name("C"), unique_name("CD")).unwrap();
    names.ensure(&context).await.unwrap();

    let mut decisions = Vec::new();
    for i in 0..DECISIONS {
        let kompeten = i % 5 != 4; // every fifth is belum kompeten
        decisions.push((
            decision(
                Uuid::now_v7(),
                "PEKSOS-GENERALIS",
                kompeten,
                OffsetDateTime::now_utc(),
            ),
            kompeten,
        ));
    }
    // Each decision twice, as a relay re-publishing outside the duplicate window would.
    for _ in 0..2 {
        for (delivered, _) in &decisions {
            let mut event = delivered.event.clone();
            event.position = u64::try_from(decisions.len()).unwrap();
            let payload = kesos_bus::envelope::encode("scheduling", &event);
            context
                .publish(names.subject_for(event.event_type.as_str()), payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }
    let outcome = async {
        consume(
            &harness,
            &context,
            &names,
            &[unique_name("cert_a"), unique_name("cert_b")],
        )
        .await;
        let kompeten = decisions.iter().filter(|(_, k)| *k).count();
        assert_eq!(count(&*harness.store(), CERTIFICATE_ISSUED).await, kompeten);
        // A replay: a new consumer reads the stream from its first message.
        consume(&harness, &context, &names, &[unique_name("cert_replay")]).await;
        assert_eq!(count(&*harness.store(), CERTIFICATE_ISSUED).await, kompeten);
        harness.settled().await;
        for (delivered, kompeten) in &decisions {
            let id = CertificateId::for_decision(delivered.event.event_id);
            assert_eq!(harness.certification.view(id).await.is_ok(), *kompeten);
        }
        let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM kesos_dead_letters")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(dead, 0);
    };
    // Clean up the streams and the schema also when an assertion fails.
    let result = std::panic::AssertUnwindSafe(tokio::time::timeout(WAIT * 3, outcome))
        .catch_unwind()
        .await;
    let _ = context.delete_stream(&names.events_stream).await;
    let _ = context.delete_stream(&names.dead_letter_stream).await;
    harness.finish().await;
    match result {
        Ok(finished) => finished.expect("the test finished in time"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
