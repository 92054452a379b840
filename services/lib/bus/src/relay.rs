//! The relay: the log is the outbox. It reads the store's ordered log from its saved cursor and
//! publishes each event to JetStream with `Nats-Msg-Id` = event id, and advances the cursor only
//! after JetStream has acknowledged every message of the batch. No dual write anywhere: a crash
//! at any point re-publishes at most one batch, which JetStream's duplicate window drops (and
//! consumers' processed markers would drop after it).

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage};
use futures::future::try_join_all;
use kesos_eventstore::{EventStore, RecordedEvent};

use crate::consumer::Backoff;
use crate::envelope;
use crate::error::BusError;
use crate::jetstream::StreamNames;

/// The relay's first wait after a failed step, and its longest (NATS or the database away).
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// Header naming the event's protobuf type.
pub const EVENT_TYPE_HEADER: &str = "Kesos-Event-Type";
/// Header naming the source store.
pub const SOURCE_HEADER: &str = "Kesos-Source";
/// Header with the event's position in its source store.
pub const POSITION_HEADER: &str = "Kesos-Position";

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The source store's name (the service), carried in every envelope.
    pub source: String,
    /// The event types this relay publishes (a type-name prefix, `kesos.<service>.v1.`); the
    /// others of the log are passed over. A service relays only its own events, onto subjects
    /// only its NATS user may publish; `None` relays every event (tools and benchmarks).
    pub owned: Option<String>,
    /// Most events published before waiting for their acknowledgements.
    pub batch: usize,
    /// How often to look for events other processes appended.
    pub poll: Duration,
}

impl RelaySettings {
    /// Defaults for `source`.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            owned: None,
            batch: 2000,
            poll: Duration::from_millis(200),
        }
    }

    /// The relay of one service (`enrollment`, `scheduling`, `certification`): named after it,
    /// publishing only its events (`kesos.<service>.v1.*`).
    pub fn for_service(service: &str) -> Self {
        Self {
            owned: Some(format!("kesos.{service}.v1.")),
            ..Self::new(service)
        }
    }

    /// True when this relay publishes events of `event_type`.
    pub fn publishes(&self, event_type: &str) -> bool {
        self.owned
            .as_deref()
            .is_none_or(|prefix| event_type.starts_with(prefix))
    }

    /// The name of the relay's cursor in its store: `relay:<source>`.
    pub fn cursor_name(&self) -> String {
        format!("relay:{}", self.source)
    }
}

/// Publishes a store's log to JetStream.
pub struct Relay {
    store: Arc<dyn EventStore>,
    context: jetstream::Context,
    names: StreamNames,
    settings: RelaySettings,
}

/// How often the relay reads the log's head for its lag: often enough for a dashboard, rarely
/// enough to cost nothing beside a step.
const LAG_EVERY: Duration = Duration::from_secs(1);

/// What one relay step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relayed {
    /// Events of the log read in this step (published or, another service's, passed over).
    pub read: usize,
    /// Events published (and acknowledged) in this step.
    pub published: usize,
    /// Of those, how many JetStream reported as duplicates (re-published after a crash).
    pub duplicates: usize,
    /// The cursor after the step.
    pub cursor: u64,
}

impl Relay {
    /// A relay for `store`, publishing with `context` into the streams `names`.
    pub fn new(
        store: Arc<dyn EventStore>,
        context: jetstream::Context,
        names: StreamNames,
        settings: RelaySettings,
    ) -> Self {
        Self {
            store,
            context,
            names,
            settings,
        }
    }

    /// Creates the streams if missing.
    pub async fn prepare(&self) -> Result<(), BusError> {
        self.names.ensure(&self.context).await
    }

    /// Starts this relay's cursor where the relay `earlier` (a cursor name) left off, when this
    /// relay has none yet: a kesos before per-service relays published every event of the log
    /// under one cursor, and without this each service's new relay would publish the whole
    /// log again (harmless, since consumers drop what they processed, but slow). Answers the
    /// position adopted, if one was.
    pub async fn adopt_cursor(&self, earlier: &str) -> Result<Option<u64>, BusError> {
        let own = self.settings.cursor_name();
        if earlier == own || self.store.cursor(&own).await? > 0 {
            return Ok(None);
        }
        let position = self.store.cursor(earlier).await?;
        if position == 0 {
            return Ok(None);
        }
        self.store.save_cursor(&own, position).await?;
        Ok(Some(position))
    }

    /// Publishes one batch after the cursor and advances it; `published: 0` when caught up.
    pub async fn step(&self) -> Result<Relayed, BusError> {
        let cursor_name = self.settings.cursor_name();
        let cursor = self.store.cursor(&cursor_name).await?;
        let events = self.store.read_batch(cursor, self.settings.batch).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(Relayed {
                read: 0,
                published: 0,
                duplicates: 0,
                cursor,
            });
        };
        let mut acks = Vec::with_capacity(events.len());
        for event in events
            .iter()
            .filter(|e| self.settings.publishes(e.event_type.as_str()))
        {
            acks.push(self.publish(event).await?);
        }
        let published = acks.len();
        let acks = try_join_all(acks.into_iter().map(|ack| async move { ack.await }))
            .await
            .map_err(BusError::nats)?;
        let duplicates = acks.iter().filter(|ack| ack.duplicate).count();
        self.store.save_cursor(&cursor_name, last).await?;
        Ok(Relayed {
            read: events.len(),
            published,
            duplicates,
            cursor: last,
        })
    }

    async fn publish(
        &self,
        event: &RecordedEvent,
    ) -> Result<jetstream::context::PublishAckFuture, BusError> {
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_TYPE_HEADER, event.event_type.as_str());
        headers.insert(SOURCE_HEADER, self.settings.source.as_str());
        headers.insert(POSITION_HEADER, event.position.to_string().as_str());
        if !event.metadata.trace_parent.is_empty() {
            // The W3C header, so any NATS-aware tracer (not only kesos' consumers, which also
            // find it in the envelope) continues the trace of the request that caused the event.
            headers.insert(
                kesos_trace::TRACEPARENT,
                event.metadata.trace_parent.as_str(),
            );
        }
        let message = PublishMessage::build()
            .payload(envelope::encode(&self.settings.source, event).into())
            .headers(headers)
            .message_id(event.event_id.to_string());
        self.context
            .send_publish(self.names.subject_for(event.event_type.as_str()), message)
            .await
            .map_err(BusError::nats)
    }

    /// One step in the metrics: `kesos_relay_published_total`, and when `measure_lag`
    /// `kesos_relay_lag_events`, the log's head less the published cursor (left as it was when
    /// the head cannot be read).
    async fn record(&self, step: &Relayed, measure_lag: bool) {
        let relay = self.settings.cursor_name();
        metrics::counter!("kesos_relay_published_total", "relay" => relay.clone())
            .increment(step.published as u64);
        if !measure_lag {
            return;
        }
        match self.store.head_position().await {
            Ok(head) => metrics::gauge!("kesos_relay_lag_events", "relay" => relay)
                .set(head.saturating_sub(step.cursor) as f64),
            Err(error) => tracing::debug!(%error, "relay lag not measured"),
        }
    }

    /// Relays until `shutdown` completes. Failures (NATS or the database away) are logged and
    /// retried with backoff; the cursor only ever moves past acknowledged events.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut appended = self.store.appended();
        let mut failures = 0_u32;
        let mut backoff = Backoff::new(FIRST_RETRY, LAST_RETRY);
        let mut lag_measured: Option<std::time::Instant> = None;
        loop {
            let stepped = self.step().await;
            if let Ok(step) = &stepped {
                let measure = lag_measured.is_none_or(|at| at.elapsed() >= LAG_EVERY);
                if measure {
                    lag_measured = Some(std::time::Instant::now());
                }
                self.record(step, measure).await;
            }
            let wait = match stepped {
                Ok(step) if step.read > 0 => {
                    failures = 0;
                    backoff = Backoff::new(FIRST_RETRY, LAST_RETRY);
                    tracing::debug!(published = step.published, cursor = step.cursor, "relayed");
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    backoff = Backoff::new(FIRST_RETRY, LAST_RETRY);
                    self.settings.poll
                }
                Err(error) => {
                    failures += 1;
                    let delay = backoff.next_wait();
                    tracing::warn!(%error, ?delay, failures, "relay step failed; retrying");
                    delay
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                _ = appended.changed(), if failures == 0 => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
