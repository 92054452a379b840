//! Stream and consumer configurations declared in code reach a running JetStream: a release
//! that adds a subject, lengthens a window or changes a consumer's filter changes the server's
//! configuration in place, keeping the messages and the consumer's progress.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures::StreamExt;
use kesos_bus::{BusError, StreamNames, declare_consumer, declare_stream};
use kesos_testkit::{nats_url, unique_name};

async fn context() -> jetstream::Context {
    jetstream::new(async_nats::connect(nats_url()).await.unwrap())
}

fn pull_config(name: &str, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(30),
        max_deliver: -1,
        filter_subject: filter.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_existing_events_stream_gains_a_new_service_and_window_and_keeps_its_messages() {
    let context = context().await;
    let prefix = unique_name("decl");
    let names = StreamNames::new(
        &prefix,
        format!("{prefix}_events"),
        format!("{prefix}_dead"),
    )
    .unwrap();
    // An earlier release: enrollment only, the default window.
    context
        .create_stream(stream::Config {
            name: names.events_stream.clone(),
            subjects: vec![format!("{prefix}.enrollment.>")],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap();
    context
        .publish(
            format!("{prefix}.enrollment.v1.WorkerRegistered"),
            "kept".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    let mut longer = names.clone();
    longer.duplicate_window = Duration::from_secs(300);
    longer.ensure(&context).await.unwrap();

    let mut events = context.get_stream(&names.events_stream).await.unwrap();
    let info = events.info().await.unwrap().clone();
    let mut subjects = info.config.subjects.clone();
    subjects.sort();
    let mut expected: Vec<String> = ["certification", "enrollment", "scheduling"]
        .iter()
        .map(|s| format!("{prefix}.{s}.>"))
        .collect();
    expected.sort();
    assert_eq!(subjects, expected);
    assert_eq!(info.config.duplicate_window, Duration::from_secs(300));
    assert_eq!(
        info.state.messages, 1,
        "the update keeps what the stream held"
    );
    context
        .publish(
            format!("{prefix}.certification.v1.CertificateIssued"),
            "new".into(),
        )
        .await
        .unwrap()
        .await
        .expect("the new subject is now the stream's");

    context.delete_stream(&names.events_stream).await.unwrap();
    context
        .delete_stream(&names.dead_letter_stream)
        .await
        .unwrap();
}

#[tokio::test]
async fn declaring_the_same_stream_twice_changes_nothing() {
    let context = context().await;
    let name = unique_name("decl_same");
    let config = stream::Config {
        name: name.clone(),
        subjects: vec![format!("{name}.>")],
        storage: stream::StorageType::File,
        ..Default::default()
    };
    declare_stream(&context, config.clone()).await.unwrap();
    let stored = context
        .get_stream(&name)
        .await
        .unwrap()
        .cached_info()
        .clone();
    // What the server answers (its defaults filled in) is what was declared: a restart finds
    // nothing to update.
    let differences = kesos_bus::declare::stream_differences(&stored.config, &config);
    assert!(differences.is_empty(), "{differences:?}");
    declare_stream(&context, config).await.unwrap();
    let mut again = context.get_stream(&name).await.unwrap();
    assert_eq!(again.info().await.unwrap().created, stored.created);
    context.delete_stream(&name).await.unwrap();
}

#[tokio::test]
async fn a_stream_declared_in_memory_over_a_file_stream_is_refused_naming_the_storage() {
    let context = context().await;
    let name = unique_name("decl_storage");
    let subjects = vec![format!("{name}.>")];
    declare_stream(
        &context,
        stream::Config {
            name: name.clone(),
            subjects: subjects.clone(),
            storage: stream::StorageType::File,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let refused = declare_stream(
        &context,
        stream::Config {
            name: name.clone(),
            subjects,
            storage: stream::StorageType::Memory,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&refused, BusError::Config(message) if message.contains("storage")),
        "{refused}"
    );
    context.delete_stream(&name).await.unwrap();
}

#[tokio::test]
async fn a_durable_consumer_with_a_new_filter_resumes_after_what_it_acknowledged() {
    let context = context().await;
    let name = unique_name("decl_consumer");
    let events = declare_stream(
        &context,
        stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            storage: stream::StorageType::File,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for subject in ["a.1", "b.2", "a.3", "b.4"] {
        context
            .publish(format!("{name}.{subject}"), subject.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // Version one reads everything and acknowledges the first two messages.
    let first = declare_consumer(&events, pull_config("reader", &format!("{name}.>")))
        .await
        .unwrap();
    let mut first = first;
    let stored = first.info().await.unwrap().config.clone();
    let differences = kesos_bus::declare::consumer_differences(
        &stored,
        &pull_config("reader", &format!("{name}.>")),
    );
    assert!(differences.is_empty(), "{differences:?}");
    let mut messages = first.fetch().max_messages(2).messages().await.unwrap();
    while let Some(message) = messages.next().await {
        message.unwrap().double_ack().await.unwrap();
    }

    // Version two reads only `b` subjects.
    let mut second = declare_consumer(&events, pull_config("reader", &format!("{name}.b.>")))
        .await
        .unwrap();
    let info = second.info().await.unwrap().clone();
    assert_eq!(info.config.filter_subject, format!("{name}.b.>"));
    let mut delivered = Vec::new();
    let mut messages = second
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .unwrap();
    // The batch ends when it expires (a status the client may report as an error).
    while let Some(Ok(message)) = messages.next().await {
        delivered.push(String::from_utf8(message.payload.to_vec()).unwrap());
        message.double_ack().await.unwrap();
    }
    assert_eq!(delivered, ["b.4"], "b.2 was acknowledged before the change");
    context.delete_stream(&name).await.unwrap();
}
