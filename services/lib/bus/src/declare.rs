//! JetStream configuration declared in code and brought up to date in place.
//!
//! `get_or_create_*` leaves an existing stream or durable consumer as it was first created, so a
//! new subject, a longer duplicate window or another filter in a release never reached a
//! running system. Here a declaration is compared with what the server holds, field by field
//! for the fields kesos declares (the server's own defaults are not differences), and only
//! what differs is changed, with a log line naming the fields.
//!
//! What JetStream cannot change in place is handled as follows: a stream's storage type is
//! refused with an error naming it (moving a stream between file and memory is an operator's
//! decision); a durable consumer the server refuses to update (e.g. another filter on a server
//! before 2.10) is re-created from its acknowledgement floor, so nothing acknowledged is
//! delivered again and nothing unacknowledged is lost.

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::{self, stream};

use crate::error::BusError;

/// JetStream's duplicate window when a stream declares none.
const SERVER_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Makes the stream match `wanted`: creates it when missing, updates the fields that differ,
/// refuses a change JetStream cannot make in place. Answers the stream.
pub async fn declare_stream(
    context: &jetstream::Context,
    wanted: stream::Config,
) -> Result<stream::Stream, BusError> {
    let existing = match context.get_stream(&wanted.name).await {
        Ok(existing) => existing,
        Err(error) if is_not_found(&error.kind()) => {
            return context
                .get_or_create_stream(wanted)
                .await
                .map_err(BusError::nats);
        }
        Err(error) => return Err(BusError::nats(error)),
    };
    let differences = stream_differences(&existing.cached_info().config, &wanted);
    if differences.is_empty() {
        return Ok(existing);
    }
    if differences.contains(&"storage") {
        return Err(BusError::Config(format!(
            "stream {} is stored as {:?}, kesos declares {:?}; JetStream cannot change a \
             stream's storage in place (back it up, delete it, and start kesos again)",
            wanted.name,
            existing.cached_info().config.storage,
            wanted.storage
        )));
    }
    let name = wanted.name.clone();
    context
        .update_stream(wanted)
        .await
        .map_err(|error| BusError::Nats(format!("updating stream {name}: {error}")))?;
    tracing::info!(stream = %name, changed = ?differences, "brought the stream's configuration up to date");
    context.get_stream(&name).await.map_err(BusError::nats)
}

/// The fields of a stream's configuration that kesos declares and `existing` holds otherwise.
pub fn stream_differences(existing: &stream::Config, wanted: &stream::Config) -> Vec<&'static str> {
    let mut differences = Vec::new();
    let subjects =
        |config: &stream::Config| -> BTreeSet<String> { config.subjects.iter().cloned().collect() };
    if subjects(existing) != subjects(wanted) {
        differences.push("subjects");
    }
    if existing.storage != wanted.storage {
        differences.push("storage");
    }
    if existing.retention != wanted.retention {
        differences.push("retention");
    }
    if existing.discard != wanted.discard {
        differences.push("discard");
    }
    if existing.max_age != wanted.max_age {
        differences.push("max_age");
    }
    if unlimited(existing.max_messages) != unlimited(wanted.max_messages) {
        differences.push("max_messages");
    }
    if unlimited(existing.max_bytes) != unlimited(wanted.max_bytes) {
        differences.push("max_bytes");
    }
    if duplicate_window(existing) != duplicate_window(wanted) {
        differences.push("duplicate_window");
    }
    if existing.num_replicas.max(1) != wanted.num_replicas.max(1) {
        differences.push("num_replicas");
    }
    differences
}

/// Makes the durable consumer `wanted.durable_name` on `events` match `wanted`: creates it
/// when missing, updates the fields that differ, and re-creates it from its acknowledgement
/// floor when the server refuses the update. Answers the consumer.
pub async fn declare_consumer(
    events: &stream::Stream,
    wanted: pull::Config,
) -> Result<PullConsumer, BusError> {
    let Some(name) = wanted.durable_name.clone() else {
        return Err(BusError::Config(
            "a declared consumer needs a durable name".into(),
        ));
    };
    let mut existing: PullConsumer = match events.get_consumer(&name).await {
        Ok(existing) => existing,
        Err(_) => {
            return events
                .get_or_create_consumer(&name, wanted)
                .await
                .map_err(BusError::nats);
        }
    };
    let info = existing.info().await.map_err(BusError::nats)?.clone();
    let differences = consumer_differences(&info.config, &wanted);
    if differences.is_empty() {
        return Ok(existing);
    }
    match events.create_consumer(wanted.clone()).await {
        Ok(updated) => {
            tracing::info!(consumer = %name, changed = ?differences, "brought the consumer's configuration up to date");
            Ok(updated)
        }
        Err(refused) => {
            let start_sequence = info.ack_floor.stream_sequence + 1;
            tracing::info!(consumer = %name, changed = ?differences, %refused, start_sequence,
                "the server cannot update the consumer in place; re-creating it after its ack floor");
            events
                .delete_consumer(&name)
                .await
                .map_err(BusError::nats)?;
            events
                .create_consumer(pull::Config {
                    deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
                    ..wanted
                })
                .await
                .map_err(BusError::nats)
        }
    }
}

/// The fields of a pull consumer's configuration that kesos declares and `existing` holds
/// otherwise (the start policy is not one: it only matters when the consumer is created).
pub fn consumer_differences(
    existing: &jetstream::consumer::Config,
    wanted: &pull::Config,
) -> Vec<&'static str> {
    let mut differences = Vec::new();
    if existing.filter_subject != wanted.filter_subject {
        differences.push("filter_subject");
    }
    if existing.ack_policy != wanted.ack_policy {
        differences.push("ack_policy");
    }
    if existing.ack_wait != wanted.ack_wait {
        differences.push("ack_wait");
    }
    if unlimited(existing.max_deliver) != unlimited(wanted.max_deliver) {
        differences.push("max_deliver");
    }
    if wanted.max_ack_pending > 0 && existing.max_ack_pending != wanted.max_ack_pending {
        differences.push("max_ack_pending");
    }
    differences
}

/// JetStream stores "no limit" as -1 and accepts 0 for it.
fn unlimited(limit: i64) -> i64 {
    if limit <= 0 { -1 } else { limit }
}

/// The window the server applies: its default when none is declared.
fn duplicate_window(config: &stream::Config) -> Duration {
    if config.duplicate_window.is_zero() {
        SERVER_DUPLICATE_WINDOW
    } else {
        config.duplicate_window
    }
}

/// Whether the server answered that the stream does not exist.
fn is_not_found(kind: &GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(error)
        if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> stream::Config {
        stream::Config {
            name: "events".into(),
            subjects: vec!["kesos.enrollment.>".into(), "kesos.scheduling.>".into()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        }
    }

    #[test]
    fn the_servers_defaults_are_not_differences() {
        let mut stored = declared();
        stored.max_messages = -1;
        stored.max_bytes = -1;
        stored.num_replicas = 1;
        stored.subjects.reverse();
        let mut wanted = declared();
        wanted.duplicate_window = Duration::ZERO;
        assert!(stream_differences(&stored, &wanted).is_empty());
    }

    #[test]
    fn a_new_subject_and_a_longer_window_are_named() {
        let stored = declared();
        let mut wanted = declared();
        wanted.subjects.push("kesos.certification.>".into());
        wanted.duplicate_window = Duration::from_secs(600);
        assert_eq!(
            stream_differences(&stored, &wanted),
            ["subjects", "duplicate_window"]
        );
    }

    #[test]
    fn a_consumer_with_another_filter_or_ack_wait_differs() {
        let stored = jetstream::consumer::Config {
            filter_subject: "kesos.enrollment.>".into(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            max_deliver: -1,
            max_ack_pending: 800,
            ..Default::default()
        };
        let wanted = pull::Config {
            filter_subject: "kesos.scheduling.>".into(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(60),
            max_deliver: 0,
            max_ack_pending: 800,
            ..Default::default()
        };
        assert_eq!(
            consumer_differences(&stored, &wanted),
            ["filter_subject", "ack_wait"]
        );
    }
}
