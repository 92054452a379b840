//! Each service relays its own events: a service's relay publishes only the event types of its
//! service, onto its own subjects, from its own cursor, and passes over the rest of the log —
//! so two services' relays over one log publish each event exactly once between them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_nats::jetstream;
use futures::StreamExt;
use kesos_bus::{Relay, RelaySettings, StreamNames};
use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_testkit::{PgSchema, nats_url, unique_name};
use time::OffsetDateTime;
use uuid::Uuid;

async fn append(store: &dyn EventStore, stream: &str, event_type: &str, count: usize) {
    let kind = EventType::parse(event_type).unwrap();
    let events = (0..count)
        .map(|_| {
            NewEvent::new(
                Uuid::now_v7(),
                kind.clone(),
                1,
                vec![7; 8],
                Metadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        })
        .collect();
    store
        .append(
            &StreamId::parse(stream).unwrap(),
            ExpectedVersion::Any,
            events,
        )
        .await
        .unwrap();
}

/// The subjects of every message in the stream, in stream order.
async fn subjects(context: &jetstream::Context, stream: &str) -> Vec<String> {
    let mut stream = context.get_stream(stream).await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap().take(count as usize);
    let mut found = Vec::new();
    while let Some(message) = messages.next().await {
        found.push(message.unwrap().subject.to_string());
    }
    found
}

/// A fresh schema's store, JetStream, and stream names under a fresh prefix.
async fn setup(
    label: &str,
) -> (
    PgSchema,
    Arc<dyn EventStore>,
    jetstream::Context,
    StreamNames,
) {
    let schema = PgSchema::create().await;
    let store: Arc<dyn EventStore> = Arc::new(schema.store().await);
    let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let prefix = unique_name(label);
    let names = StreamNames::new(&prefix, format!("{prefix}_E"), format!("{prefix}_D")).unwrap();
    (schema, store, context, names)
}

#[tokio::test]
async fn each_service_relay_publishes_only_its_own_events_from_its_own_cursor() {
    let (schema, store, context, names) = setup("own").await;
    let prefix = names.prefix.clone();
    // Interleaved: enrollment, scheduling, enrollment, and an event of no relaying service.
    append(
        &*store,
        "worker-a",
        "kesos.enrollment.v1.WorkerRegistered",
        3,
    )
    .await;
    append(
        &*store,
        "session-a",
        "kesos.scheduling.v1.SessionScheduled",
        2,
    )
    .await;
    append(
        &*store,
        "worker-b",
        "kesos.enrollment.v1.WorkerRegistered",
        1,
    )
    .await;
    append(&*store, "other-a", "kesos.progress.v1.Noted", 1).await;
    let relay = |service: &str| {
        Relay::new(
            store.clone(),
            context.clone(),
            names.clone(),
            RelaySettings::for_service(service),
        )
    };
    let (enrollment, scheduling) = (relay("enrollment"), relay("scheduling"));
    enrollment.prepare().await.unwrap();

    let step = enrollment.step().await.unwrap();
    assert_eq!((step.read, step.published), (7, 4), "{step:?}");
    assert_eq!(store.cursor("relay:enrollment").await.unwrap(), step.cursor);
    assert_eq!(
        store.cursor("relay:scheduling").await.unwrap(),
        0,
        "one relay's step moves no other relay's cursor"
    );
    let step = scheduling.step().await.unwrap();
    assert_eq!((step.read, step.published), (7, 2), "{step:?}");
    assert_eq!(enrollment.step().await.unwrap().read, 0, "caught up");

    let published = subjects(&context, &names.events_stream).await;
    let on = |service: &str| {
        published
            .iter()
            .filter(|s| s.starts_with(&format!("{prefix}.{service}.v1.")))
            .count()
    };
    assert_eq!(published.len(), 6, "{published:?}");
    assert_eq!(
        (on("enrollment"), on("scheduling")),
        (4, 2),
        "{published:?}"
    );
    context.delete_stream(&names.events_stream).await.unwrap();
    context
        .delete_stream(&names.dead_letter_stream)
        .await
        .unwrap();
    schema.drop_now().await;
}

#[tokio::test]
async fn a_new_service_relay_starts_where_the_process_wide_relay_left_off() {
    let (schema, store, context, names) = setup("adopt").await;
    append(
        &*store,
        "worker-a",
        "kesos.enrollment.v1.WorkerRegistered",
        3,
    )
    .await;
    store.save_cursor("relay:kesos", 2).await.unwrap();
    let relay = Relay::new(
        store.clone(),
        context.clone(),
        names.clone(),
        RelaySettings::for_service("enrollment"),
    );

    assert_eq!(relay.adopt_cursor("relay:kesos").await.unwrap(), Some(2));
    assert_eq!(store.cursor("relay:enrollment").await.unwrap(), 2);
    store.save_cursor("relay:kesos", 3).await.unwrap();
    assert_eq!(
        relay.adopt_cursor("relay:kesos").await.unwrap(),
        None,
        "a relay with a cursor of its own keeps it"
    );
    assert_eq!(store.cursor("relay:enrollment").await.unwrap(), 2);
    schema.drop_now().await;
}
