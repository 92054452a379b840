//! The distributed feed: NATS JetStream streams, durable pull consumers and the dead-letter
//! stream.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use async_trait::async_trait;
use futures::{FutureExt, StreamExt};

use crate::consumer::{Feed, Incoming};
use crate::declare::{declare_consumer, declare_stream};
use crate::envelope;
use crate::error::BusError;

/// Header naming why a message was dead-lettered.
pub const DEAD_REASON_HEADER: &str = "Kesos-Dead-Reason";
/// Header naming the consumer that dead-lettered a message.
pub const DEAD_CONSUMER_HEADER: &str = "Kesos-Dead-Consumer";
/// Header with the dead-lettered message's original subject.
pub const ORIGINAL_SUBJECT_HEADER: &str = "Kesos-Original-Subject";
/// Header with the dead-lettered message's sequence in the events stream.
pub const ORIGINAL_SEQUENCE_HEADER: &str = "Kesos-Original-Sequence";

/// Names of the JetStream streams and subjects kesos uses.
///
/// Events of service `s` are published on `<prefix>.<s>.v1.<EventName>` (their protobuf type
/// with the prefix in place of `kesos`); the events stream holds `<prefix>.<s>.>` for each
/// service; dead letters go to `<prefix>_dlq.<consumer>` in their own stream.
#[derive(Debug, Clone)]
pub struct StreamNames {
    /// Subject prefix (`kesos` in production; unique per test).
    pub prefix: String,
    /// The events stream's name.
    pub events_stream: String,
    /// The services whose events the stream holds.
    pub services: Vec<String>,
    /// The dead-letter stream's name.
    pub dead_letter_stream: String,
    /// How long JetStream remembers a message id to drop a re-published duplicate.
    pub duplicate_window: Duration,
}

impl StreamNames {
    /// The production layout for `prefix`: the enrollment, scheduling and certification events.
    pub fn new(
        prefix: impl Into<String>,
        events_stream: impl Into<String>,
        dead_letter_stream: impl Into<String>,
    ) -> Result<Self, BusError> {
        let prefix = prefix.into();
        let token = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if prefix.is_empty() || !prefix.chars().all(token) {
            return Err(BusError::Config(format!(
                "subject prefix {prefix:?} must be one NATS token of letters, digits, _ or -"
            )));
        }
        Ok(Self {
            prefix,
            events_stream: events_stream.into(),
            services: vec![
                "enrollment".into(),
                "scheduling".into(),
                "certification".into(),
            ],
            dead_letter_stream: dead_letter_stream.into(),
            duplicate_window: Duration::from_secs(120),
        })
    }

    /// The subject an event of `event_type` is published on.
    pub fn subject_for(&self, event_type: &str) -> String {
        let rest = event_type.strip_prefix("kesos.").unwrap_or(event_type);
        format!("{}.{rest}", self.prefix)
    }

    /// The subject a consumer's dead letters go to.
    pub fn dead_letter_subject(&self, consumer: &str) -> String {
        format!("{}_dlq.{consumer}", self.prefix)
    }

    /// Creates the events and dead-letter streams, or brings their configuration up to date
    /// (see [`crate::declare`]); idempotent.
    pub async fn ensure(&self, context: &jetstream::Context) -> Result<(), BusError> {
        declare_stream(
            context,
            stream::Config {
                name: self.events_stream.clone(),
                subjects: self
                    .services
                    .iter()
                    .map(|s| format!("{}.{s}.>", self.prefix))
                    .collect(),
                storage: stream::StorageType::File,
                duplicate_window: self.duplicate_window,
                ..Default::default()
            },
        )
        .await?;
        declare_stream(
            context,
            stream::Config {
                name: self.dead_letter_stream.clone(),
                subjects: vec![format!("{}_dlq.>", self.prefix)],
                storage: stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }
}

/// How a durable consumer pulls.
#[derive(Debug, Clone)]
pub struct PullSettings {
    /// Only messages on this subject pattern (e.g. `kesos.scheduling.>`); all when `None`.
    pub filter_subject: Option<String>,
    /// How long a delivered, unacknowledged message waits before JetStream redelivers it. Also
    /// how long a crashed consumer's in-flight messages wait before another instance gets them.
    pub ack_wait: Duration,
    /// Messages requested per pull; all of them must be handled within `ack_wait`.
    pub batch: usize,
}

impl Default for PullSettings {
    fn default() -> Self {
        Self {
            filter_subject: None,
            ack_wait: Duration::from_secs(30),
            batch: 200,
        }
    }
}

/// A durable pull consumer on the events stream.
pub struct JetStreamFeed {
    context: jetstream::Context,
    messages: pull::Stream,
    dead_letter_subject: String,
    consumer: String,
    batch: usize,
}

impl JetStreamFeed {
    /// Binds the durable consumer `consumer`, creating it or bringing its settings up to date
    /// (see [`crate::declare`]).
    ///
    /// One instance per consumer name at a time: binding rewinds a consumer that holds
    /// unacknowledged messages (see below), which would disturb a second live instance.
    pub async fn subscribe(
        context: jetstream::Context,
        names: &StreamNames,
        consumer: &str,
        settings: PullSettings,
    ) -> Result<Self, BusError> {
        names.ensure(&context).await?;
        let events = context
            .get_stream(&names.events_stream)
            .await
            .map_err(BusError::nats)?;
        let config = pull::Config {
            durable_name: Some(consumer.to_owned()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            max_deliver: -1,
            max_ack_pending: i64::try_from(settings.batch * 4).unwrap_or(1024),
            filter_subject: settings.filter_subject.unwrap_or_default(),
            ..Default::default()
        };
        let mut durable = declare_consumer(&events, config.clone()).await?;
        let info = durable.info().await.map_err(BusError::nats)?;
        if info.num_ack_pending > 0 {
            // A previous instance died (or stopped) holding delivered, unacknowledged messages.
            // JetStream would redeliver them only after ack_wait, *after* newer ones: events of
            // a stream would arrive out of order. Rewind to the acknowledgement floor instead;
            // messages handled after it are recognised by the processed markers.
            let start_sequence = info.ack_floor.stream_sequence + 1;
            tracing::info!(
                consumer,
                start_sequence,
                pending = info.num_ack_pending,
                "rewinding to the ack floor"
            );
            events
                .delete_consumer(consumer)
                .await
                .map_err(BusError::nats)?;
            durable = events
                .create_consumer(pull::Config {
                    deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                        start_sequence,
                    },
                    ..config
                })
                .await
                .map_err(BusError::nats)?;
        }
        // Present from the start, so a dashboard and an alert see 0 rather than nothing.
        metrics::counter!("kesos_consumer_redeliveries_total", "consumer" => consumer.to_owned())
            .increment(0);
        let batch = settings.batch.max(1);
        let messages = durable
            .stream()
            .max_messages_per_batch(batch)
            .messages()
            .await
            .map_err(BusError::nats)?;
        Ok(Self {
            context,
            messages,
            dead_letter_subject: names.dead_letter_subject(consumer),
            consumer: consumer.to_owned(),
            batch,
        })
    }
}

impl JetStreamFeed {
    async fn next_message(&mut self) -> Result<jetstream::Message, BusError> {
        loop {
            match self.messages.next().await {
                Some(Ok(message)) => return Ok(message),
                Some(Err(error)) => {
                    tracing::warn!(%error, consumer = %self.consumer, "JetStream pull hiccup; continuing");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                None => return Err(BusError::Nats("the JetStream message stream ended".into())),
            }
        }
    }
}

fn incoming_from(message: jetstream::Message) -> Incoming<jetstream::Message> {
    let content = envelope::decode(&message.payload).map_err(|e| e.to_string());
    let origin = content
        .as_ref()
        .ok()
        .map(|d| (d.source.clone(), d.event.position));
    Incoming {
        raw: message.payload.to_vec(),
        content,
        origin,
        token: message,
    }
}

#[async_trait]
impl Feed for JetStreamFeed {
    type Token = jetstream::Message;

    /// Waits for one message, then takes every message already received (up to the pull batch)
    /// without waiting again, so a consumer that handles batches sees them together.
    async fn next(&mut self) -> Result<Vec<Incoming<jetstream::Message>>, BusError> {
        let first = self.next_message().await?;
        let mut incoming = vec![incoming_from(first)];
        while incoming.len() < self.batch {
            match self.messages.next().now_or_never() {
                Some(Some(Ok(message))) => incoming.push(incoming_from(message)),
                Some(Some(Err(error))) => {
                    tracing::warn!(%error, consumer = %self.consumer, "JetStream pull hiccup; continuing");
                    break;
                }
                Some(None) | None => break,
            }
        }
        for message in &incoming {
            crate::metrics::record_delivery(&self.consumer, &message.token);
        }
        Ok(incoming)
    }

    async fn ack(&mut self, token: &jetstream::Message) -> Result<(), BusError> {
        token.ack().await.map_err(BusError::nats)
    }

    async fn working(&mut self, token: &jetstream::Message) -> Result<(), BusError> {
        token
            .ack_with(AckKind::Progress)
            .await
            .map_err(BusError::nats)
    }

    async fn reject(
        &mut self,
        incoming: &Incoming<jetstream::Message>,
        reason: &str,
    ) -> Result<(), BusError> {
        dead_letter(
            &self.context,
            self.dead_letter_subject.clone(),
            &self.consumer,
            &incoming.token,
            reason,
        )
        .await
    }
}

/// Copies `message` to the dead-letter `subject` with the reason, the consumer and its origin
/// in headers, waits for JetStream to store it, then terminates the original (never
/// redelivered). Shared by every JetStream reader that dead-letters: the event consumers and
/// the LSPS inbox.
pub async fn dead_letter(
    context: &jetstream::Context,
    subject: String,
    consumer: &str,
    message: &jetstream::Message,
    reason: &str,
) -> Result<(), BusError> {
    let mut headers = HeaderMap::new();
    headers.insert(DEAD_REASON_HEADER, one_line(reason).as_str());
    headers.insert(DEAD_CONSUMER_HEADER, consumer);
    headers.insert(ORIGINAL_SUBJECT_HEADER, message.subject.as_str());
    if let Ok(info) = message.info() {
        headers.insert(
            ORIGINAL_SEQUENCE_HEADER,
            info.stream_sequence.to_string().as_str(),
        );
    }
    context
        .publish_with_headers(subject, headers, message.payload.clone())
        .await
        .map_err(BusError::nats)?
        .await
        .map_err(BusError::nats)?;
    message
        .ack_with(AckKind::Term)
        .await
        .map_err(BusError::nats)
}

/// Header values are one line; reasons may not be.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.chars().take(1000).collect()
}
