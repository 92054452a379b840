//! One consumer API over both feeds. The guarantees live here, written once:
//!
//! - the handler's effects and the "processed" marker commit in **one transaction** in the
//!   consumer's own database, and the feed is acknowledged only **after** that commit; a
//!   redelivery finds the marker and has no second effect;
//! - a message that cannot be decoded, or that the handler rejects permanently, is recorded as a
//!   **dead letter** (in the database, and by the feed: JetStream's dead-letter stream) and the
//!   consumer moves on;
//! - a transient failure (database or NATS away, handler says "later") is **retried in place**
//!   with capped exponential backoff for as long as it lasts, so events of a stream are never
//!   handled out of order and an outage never loses an effect; past `stalled_after` attempts the
//!   consumer reports itself stalled ([`Stalls`], read by readiness) until it moves on;
//! - a dead letter can be **redriven** once ([`bookkeeping::request_retry`], `kesos dead-letters
//!   retry`): the running consumer looks for requested retries every `redrive_every` and hands
//!   each to its handler again, as one more delivery (see [`crate::dead_letter`]).
//!
//! **Batches (opt-in).** A handler whose [`Handler::batch_size`] is above 1 gets up to that many
//! messages together: [`Handler::act_batch`], then one transaction with the processed markers
//! (one statement), one checkpoint advance per source and [`Handler::handle_batch`], then the
//! acknowledgements. The guarantees stay those above, per message: a batch commits whole or not
//! at all; a transient failure retries the whole batch with backoff; a permanent failure (or a
//! batch that keeps failing) falls back to handling its messages one at a time, so only the
//! poison message is dead-lettered and a stall holds up only the message that causes it. A batch holding an undecodable message is handled one at a
//! time too, so a dead letter never moves the checkpoint past messages not yet committed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kesos_sql::{Db, Tx};
use tracing::Instrument;

use crate::bookkeeping;
use crate::dead_letter::{DeadLetter, HANDLED};
use crate::envelope::{self, Delivered};
use crate::error::BusError;
use crate::health::Stalls;

/// What a handler can say about an event it could not handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Will never succeed (the event breaks a rule the consumer enforces, or its payload does not
    /// decode): dead-letter it and move on.
    #[error("rejected: {0}")]
    Permanent(String),
    /// May succeed later (a dependency is away): retry with backoff.
    #[error("failed for now: {0}")]
    Transient(String),
}

impl From<sqlx::Error> for HandlerError {
    /// A database error inside a handler rolls the transaction back, so nothing is
    /// half-applied; it is transient (retried until the database answers) unless it says the
    /// data itself is wrong (see [`is_transient_sqlx`]), which no retry can mend.
    fn from(error: sqlx::Error) -> Self {
        if is_transient_sqlx(&error) {
            Self::Transient(error.to_string())
        } else {
            Self::Permanent(error.to_string())
        }
    }
}

/// Whether a database error may go away by itself: connection, pool, I/O, locking and
/// serialisation failures do (and a unique violation, which a concurrent writer can cause); a
/// row or column that does not decode, a missing row, and a rule the data breaks (not-null,
/// foreign key, check, PostgreSQL's data exceptions, class 22) do not.
pub fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    match error {
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::Configuration(_) => false,
        sqlx::Error::Database(database) => {
            let rule = matches!(
                database.kind(),
                ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            );
            let data = database.code().is_some_and(|code| code.starts_with("22"));
            !(rule || data)
        }
        _ => true,
    }
}

/// Handles events inside the consumer's transaction. Implementations must do all their
/// database writes through `transaction` (so they commit with the processed marker), and
/// their reads of the consumer's database too: on SQLite the transaction holds the file's one
/// write lock from the processed marker on, and the pool's other connections may all be taken
/// by writers waiting for that lock, so a handler that waited for one of them would hold every
/// writer of the file up until their busy timeout.
///
/// A handler that reacts by *commanding* its own service (appending to its event store, or
/// publishing to JetStream with a message id) does that in [`Handler::act`], which runs before the
/// transaction opens: the store's append cannot join the consumer's transaction (and on SQLite
/// must not wait for the write lock that transaction holds). `act` runs again on a redelivery, so
/// its effects must be idempotent by construction: event ids derived from the delivered event's
/// id, a `Nats-Msg-Id` JetStream de-duplicates.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Most messages handed over together (see the module docs on batches). The default, 1,
    /// keeps one transaction per message; a handler opts in only when its batch methods keep
    /// each message's effects exactly as one-at-a-time handling would.
    fn batch_size(&self) -> usize {
        1
    }

    /// Idempotent effects outside the consumer's database, run before [`Handler::handle`]; an
    /// error here is treated as `handle`'s would be. The default does nothing.
    async fn act(&self, _delivered: &Delivered) -> Result<(), HandlerError> {
        Ok(())
    }

    /// [`Handler::act`] for a batch, in delivery order (it may hold redeliveries); an error
    /// fails the whole batch (retried, or handled one at a time). The default acts on each.
    async fn act_batch(&self, batch: &[&Delivered]) -> Result<(), HandlerError> {
        for delivered in batch {
            self.act(delivered).await?;
        }
        Ok(())
    }

    /// Applies one event.
    async fn handle(&self, transaction: &mut Tx, delivered: &Delivered)
    -> Result<(), HandlerError>;

    /// Applies a batch's fresh events (never processed before, each once), in delivery order,
    /// in one transaction. The default handles each.
    async fn handle_batch(
        &self,
        transaction: &mut Tx,
        batch: &[&Delivered],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            self.handle(transaction, delivered).await?;
        }
        Ok(())
    }
}

/// A message from a feed: an event, or the reason it is not one, plus what the feed needs to
/// acknowledge it.
pub struct Incoming<T> {
    /// The decoded event, or why decoding failed.
    pub content: Result<Delivered, String>,
    /// The raw message, kept for a dead letter; empty when the feed can rebuild it from
    /// `content` (the embedded feed), so that nothing is encoded for messages that never become
    /// one. Read it through [`Incoming::message`].
    pub raw: Vec<u8>,
    /// The source store and position, when known even without decoding.
    pub origin: Option<(String, u64)>,
    /// Feed-specific acknowledgement handle.
    pub token: T,
}

impl<T> Incoming<T> {
    /// The message as a dead letter keeps it: the raw bytes, or for a decoded event the feed
    /// left them out for, its envelope (what the embedded feed would have sent).
    pub fn message(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.content {
            Ok(delivered) if self.raw.is_empty() => {
                std::borrow::Cow::Owned(envelope::encode(&delivered.source, &delivered.event))
            }
            _ => std::borrow::Cow::Borrowed(&self.raw),
        }
    }
}

/// Where a consumer's messages come from: the embedded log or JetStream.
#[async_trait]
pub trait Feed: Send {
    /// The feed's acknowledgement handle.
    type Token: Send + Sync;

    /// Waits for the next messages (at least one).
    async fn next(&mut self) -> Result<Vec<Incoming<Self::Token>>, BusError>;

    /// The message is handled (committed); do not deliver it again.
    async fn ack(&mut self, token: &Self::Token) -> Result<(), BusError>;

    /// Still working on it (a long retry): keep it from being redelivered meanwhile.
    async fn working(&mut self, token: &Self::Token) -> Result<(), BusError>;

    /// The message is dead: publish it where operators look, and never deliver it again.
    async fn reject(
        &mut self,
        incoming: &Incoming<Self::Token>,
        reason: &str,
    ) -> Result<(), BusError>;
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First wait.
    pub initial: Duration,
    /// Longest wait (the cap: a transient failure is retried at least this often for as long
    /// as it lasts; it is never dead-lettered). Kept under JetStream's acknowledgement wait
    /// (30 s by default), so the progress signal after each wait keeps the message ours.
    pub max: Duration,
    /// Attempts after which the consumer reports itself stalled (readiness turns 503) and a
    /// batch falls back to one message at a time. It keeps retrying.
    pub stalled_after: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(15),
            stalled_after: 8,
        }
    }
}

impl RetryPolicy {
    /// The waits between the attempts of one failure, from the first: about `initial`,
    /// doubling up to `max`, each jittered (see [`Backoff`]). A new failure starts a new one.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.initial, self.max)
    }
}

/// The waits of one failure: capped exponential backoff from `backon`, jittered so replicas
/// that failed together (the database went away under all of them) do not retry in step.
/// Each wait lies between half its nominal value and the nominal value, which doubles from
/// the first wait up to the cap; it never exceeds the cap (for a consumer, kept under
/// JetStream's acknowledgement wait).
#[derive(Debug)]
pub struct Backoff {
    waits: backon::ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    /// Waits from about `first` up to `max`, for as long as they are asked for.
    pub fn new(first: Duration, max: Duration) -> Self {
        use backon::BackoffBuilder as _;
        let max = max.max(first);
        let waits = backon::ExponentialBuilder::new()
            .with_min_delay(first / 2)
            .with_max_delay(max / 2)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        Self { waits, max }
    }

    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        self.waits.next().unwrap_or(self.max).min(self.max)
    }
}

/// How often a consumer looks for dead letters an operator asked to retry.
pub const REDRIVE_EVERY: Duration = Duration::from_secs(2);
/// Most dead letters redriven per look.
const REDRIVE_BATCH: u32 = 100;

/// A named consumer: its handler, its database and its retry policy.
pub struct Consumer {
    name: String,
    db: Db,
    handler: Arc<dyn Handler>,
    retry: RetryPolicy,
    stalls: Stalls,
    redrive_every: Duration,
}

enum Failure {
    Permanent(String),
    Transient(String),
}

impl From<HandlerError> for Failure {
    fn from(error: HandlerError) -> Self {
        match error {
            HandlerError::Permanent(reason) => Self::Permanent(reason),
            HandlerError::Transient(reason) => Self::Transient(reason),
        }
    }
}

impl Consumer {
    /// A consumer named `name` (the durable name on JetStream; the checkpoint key on the log).
    /// `db` is its own database (a pool of either backend), where the handler's effects and
    /// the bookkeeping commit together.
    pub fn new(name: impl Into<String>, db: impl Into<Db>, handler: Arc<dyn Handler>) -> Self {
        Self {
            name: name.into(),
            db: db.into(),
            handler,
            retry: RetryPolicy::default(),
            stalls: Stalls::new(),
            redrive_every: REDRIVE_EVERY,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Reports stalls into `stalls` (the process's, read by readiness) instead of its own.
    pub fn with_stalls(mut self, stalls: Stalls) -> Self {
        self.stalls = stalls;
        self
    }

    /// Replaces how often requested retries of dead letters are looked for.
    pub fn with_redrive_every(mut self, every: Duration) -> Self {
        self.redrive_every = every.max(Duration::from_millis(10));
        self
    }

    /// Where this consumer reports a stall.
    pub fn stalls(&self) -> &Stalls {
        &self.stalls
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The consumer's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Consumes from `feed` until `shutdown` completes. Returns an error only when the feed
    /// itself fails for good; handler and database failures are retried or dead-lettered.
    pub async fn run<F: Feed>(
        &self,
        mut feed: F,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), BusError> {
        tokio::pin!(shutdown);
        // The first look one period after the start, not at once: a process that starts and
        // stops again at once never begins one.
        let mut redrive = tokio::time::interval_at(
            tokio::time::Instant::now() + self.redrive_every,
            self.redrive_every,
        );
        redrive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Both feeds' `next` are safe to cancel (nothing is taken before it returns).
            let batch = tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = redrive.tick() => {
                    tokio::select! {
                        () = &mut shutdown => return Ok(()),
                        () = self.redrive_requested() => continue,
                    }
                }
                batch = feed.next() => batch?,
            };
            let size = self.handler.batch_size().max(1);
            if size == 1 {
                for incoming in batch {
                    tokio::select! {
                        () = &mut shutdown => return Ok(()),
                        done = self.deliver(&mut feed, &incoming) => done?,
                    }
                }
            } else {
                for chunk in batch.chunks(size) {
                    tokio::select! {
                        () = &mut shutdown => return Ok(()),
                        done = self.deliver_batch(&mut feed, chunk) => done?,
                    }
                }
            }
        }
    }

    /// Handles a batch in one transaction (see the module docs), falling back to one message
    /// at a time when that cannot succeed.
    async fn deliver_batch<F: Feed>(
        &self,
        feed: &mut F,
        batch: &[Incoming<F::Token>],
    ) -> Result<(), BusError> {
        let events: Vec<&Delivered> = batch
            .iter()
            .filter_map(|incoming| incoming.content.as_ref().ok())
            .collect();
        if events.len() == batch.len() {
            let mut attempt = 0;
            let mut backoff = self.retry.backoff();
            let since = Instant::now();
            loop {
                attempt += 1;
                match self.apply_batch(&events).await {
                    Ok(()) => {
                        self.stalls.clear(&self.name);
                        for incoming in batch {
                            feed.ack(&incoming.token).await?;
                        }
                        return Ok(());
                    }
                    Err(Failure::Permanent(reason)) => {
                        tracing::warn!(
                            consumer = %self.name, messages = batch.len(), %reason,
                            "a batch was rejected; handling its messages one at a time"
                        );
                        break;
                    }
                    Err(Failure::Transient(reason)) if attempt >= self.retry.stalled_after => {
                        self.stalls.report(&self.name, since, attempt, &reason);
                        tracing::warn!(
                            consumer = %self.name, messages = batch.len(), attempt, %reason,
                            "a batch kept failing; handling its messages one at a time"
                        );
                        break;
                    }
                    Err(Failure::Transient(reason)) => {
                        let delay = backoff.next_wait();
                        tracing::warn!(
                            consumer = %self.name, messages = batch.len(), attempt, ?delay,
                            %reason, "transient failure of a batch; retrying"
                        );
                        tokio::time::sleep(delay).await;
                        for incoming in batch {
                            if let Err(error) = feed.working(&incoming.token).await {
                                tracing::debug!(%error, "could not extend the ack deadline");
                            }
                        }
                    }
                }
            }
        }
        for incoming in batch {
            self.deliver(feed, incoming).await?;
        }
        Ok(())
    }

    /// Handles a batch's events in one transaction with their processed markers.
    async fn apply_batch(&self, events: &[&Delivered]) -> Result<(), Failure> {
        let transient = |error: sqlx::Error| Failure::Transient(error.to_string());
        self.handler.act_batch(events).await?;
        let mut transaction = self.db.begin().await.map_err(transient)?;
        let fresh = bookkeeping::mark_processed_batch(&mut transaction, &self.name, events)
            .await
            .map_err(transient)?;
        let mut first = std::collections::HashSet::with_capacity(fresh.len());
        let fresh: Vec<&Delivered> = events
            .iter()
            .copied()
            .filter(|d| fresh.contains(&d.event.event_id) && first.insert(d.event.event_id))
            .collect();
        if fresh.len() < events.len() {
            tracing::debug!(
                consumer = %self.name, duplicates = events.len() - fresh.len(),
                "duplicate deliveries in a batch skipped"
            );
        }
        if fresh.is_empty() {
            return Ok(());
        }
        // Each traced event's span lasts until the batch commits (exported spans only).
        let _spans = kesos_trace::batch_spans(&self.name, fresh.iter().map(|d| d.handled()));
        self.handler.handle_batch(&mut transaction, &fresh).await?;
        transaction.commit().await.map_err(transient)
    }

    async fn deliver<F: Feed>(
        &self,
        feed: &mut F,
        incoming: &Incoming<F::Token>,
    ) -> Result<(), BusError> {
        let delivered = match &incoming.content {
            Ok(delivered) => delivered,
            Err(reason) => {
                crate::metrics::record_dead_letter(&self.name, "undecodable");
                return self.dead_letter(feed, incoming, reason).await;
            }
        };
        // The event's trace goes on here: commands its handling issues carry it further.
        let span = kesos_trace::handling_span(&self.name, delivered.handled());
        self.deliver_decoded(feed, incoming, delivered)
            .instrument(span)
            .await
    }

    /// [`Consumer::deliver`] for a decoded event: retried while the failure is transient,
    /// dead-lettered when it is permanent.
    async fn deliver_decoded<F: Feed>(
        &self,
        feed: &mut F,
        incoming: &Incoming<F::Token>,
        delivered: &Delivered,
    ) -> Result<(), BusError> {
        let mut attempt = 0;
        let mut backoff = self.retry.backoff();
        let since = Instant::now();
        loop {
            attempt += 1;
            match self.apply(delivered).await {
                Ok(()) => {
                    self.stalls.clear(&self.name);
                    return feed.ack(&incoming.token).await;
                }
                Err(Failure::Permanent(reason)) => {
                    self.stalls.clear(&self.name);
                    crate::metrics::record_dead_letter(&self.name, "refused");
                    return self.dead_letter(feed, incoming, &reason).await;
                }
                Err(Failure::Transient(reason)) => {
                    if attempt >= self.retry.stalled_after {
                        self.stalls.report(&self.name, since, attempt, &reason);
                    }
                    let delay = backoff.next_wait();
                    tracing::warn!(
                        consumer = %self.name, event_id = %delivered.event.event_id, attempt,
                        ?delay, %reason, "transient failure; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    if let Err(error) = feed.working(&incoming.token).await {
                        tracing::debug!(%error, "could not extend the ack deadline");
                    }
                }
            }
        }
    }

    /// Handles one event in one transaction with its processed marker.
    async fn apply(&self, delivered: &Delivered) -> Result<(), Failure> {
        let transient = |error: sqlx::Error| Failure::Transient(error.to_string());
        self.handler.act(delivered).await?;
        let mut transaction = self.db.begin().await.map_err(transient)?;
        let fresh = bookkeeping::mark_processed(&mut transaction, &self.name, delivered)
            .await
            .map_err(transient)?;
        if !fresh {
            tracing::debug!(consumer = %self.name, event_id = %delivered.event.event_id, "duplicate delivery skipped");
            return Ok(());
        }
        self.handler.handle(&mut transaction, delivered).await?;
        transaction.commit().await.map_err(transient)
    }

    /// Records a dead letter (marking the event processed, so a redelivery is skipped), then
    /// lets the feed reject the message. Retries the recording while the database is away.
    async fn dead_letter<F: Feed>(
        &self,
        feed: &mut F,
        incoming: &Incoming<F::Token>,
        reason: &str,
    ) -> Result<(), BusError> {
        tracing::error!(consumer = %self.name, %reason, "dead-lettering a message");
        let mut backoff = self.retry.backoff();
        loop {
            match self.record_dead_letter(incoming, reason).await {
                Ok(()) => break,
                Err(error) => {
                    let delay = backoff.next_wait();
                    tracing::warn!(%error, ?delay, "could not record a dead letter; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
        feed.reject(incoming, reason).await
    }

    async fn record_dead_letter(
        &self,
        incoming: &Incoming<impl Send + Sync>,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        let mut transaction = self.db.begin().await?;
        if let Ok(delivered) = &incoming.content
            && !bookkeeping::mark_processed(&mut transaction, &self.name, delivered).await?
        {
            return Ok(());
        }
        let event_id = incoming.content.as_ref().ok().map(|d| d.event.event_id);
        bookkeeping::record_dead_letter(
            &mut transaction,
            &self.name,
            incoming.origin.as_ref(),
            event_id,
            reason,
            &incoming.message(),
        )
        .await?;
        transaction.commit().await
    }

    /// Redrives the dead letters whose retry was requested. A transient failure leaves the
    /// request standing for the next look; anything else settles it.
    async fn redrive_requested(&self) {
        let letters = match bookkeeping::pending_retries(&self.db, &self.name, REDRIVE_BATCH).await
        {
            Ok(letters) => letters,
            Err(error) => {
                tracing::warn!(consumer = %self.name, %error, "cannot look for requested retries");
                return;
            }
        };
        for letter in letters {
            let outcome = match envelope::decode(&letter.payload) {
                Ok(delivered) => self.redrive(&letter, &delivered).await,
                Err(error) => Err(Failure::Permanent(error.to_string())),
            };
            match outcome {
                Ok(()) => {
                    tracing::info!(consumer = %self.name, dead_letter = letter.id, "dead letter redriven");
                }
                Err(Failure::Transient(reason)) => {
                    tracing::warn!(
                        consumer = %self.name, dead_letter = letter.id, %reason,
                        "redrive failed for now; trying again later"
                    );
                    return;
                }
                Err(Failure::Permanent(reason)) => {
                    tracing::error!(
                        consumer = %self.name, dead_letter = letter.id, %reason,
                        "redrive failed again; recorded as a new dead letter"
                    );
                    if let Err(error) = self.dead_again(&letter, &reason).await {
                        tracing::warn!(%error, "cannot record the failed redrive; trying again later");
                        return;
                    }
                }
            }
        }
    }

    /// One more delivery of a dead letter's event: `act`, then in one transaction the retry
    /// noted as done (skipped if another instance did it), the processed marker (present
    /// already unless it never decoded before) and `handle`.
    async fn redrive(&self, letter: &DeadLetter, delivered: &Delivered) -> Result<(), Failure> {
        let transient = |error: sqlx::Error| Failure::Transient(error.to_string());
        self.handler.act(delivered).await?;
        let mut transaction = self.db.begin().await.map_err(transient)?;
        if !bookkeeping::finish_retry(&mut transaction, letter.id, HANDLED)
            .await
            .map_err(transient)?
        {
            return Ok(());
        }
        bookkeeping::mark_processed(&mut transaction, &self.name, delivered)
            .await
            .map_err(transient)?;
        self.handler.handle(&mut transaction, delivered).await?;
        transaction.commit().await.map_err(transient)
    }

    /// A redrive refused again: settles the request and records a new dead letter.
    async fn dead_again(&self, letter: &DeadLetter, reason: &str) -> Result<(), sqlx::Error> {
        let mut transaction = self.db.begin().await?;
        let outcome = format!("failed again: {reason}");
        if !bookkeeping::finish_retry(&mut transaction, letter.id, &outcome).await? {
            return Ok(());
        }
        let origin = letter
            .position
            .map(|position| (letter.source.clone(), position));
        bookkeeping::record_dead_letter(
            &mut transaction,
            &self.name,
            origin.as_ref(),
            letter.event_id,
            reason,
            &letter.payload,
        )
        .await?;
        transaction.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_initial_wait_up_to_the_maximum_each_wait_jittered_below_it() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            stalled_after: 10,
        };
        for _ in 0..50 {
            let mut backoff = policy.backoff();
            for nominal in [100, 200, 400, 800, 1000, 1000, 1000] {
                let wait = backoff.next_wait().as_millis();
                assert!(
                    (nominal / 2..=nominal).contains(&wait),
                    "{wait} ms for a nominal {nominal} ms"
                );
            }
        }
    }

    #[test]
    fn a_database_away_is_transient_and_a_row_that_does_not_decode_is_permanent() {
        let away = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(
            HandlerError::from(away),
            HandlerError::Transient(_)
        ));
        assert!(matches!(
            HandlerError::from(sqlx::Error::PoolTimedOut),
            HandlerError::Transient(_)
        ));
        assert!(matches!(
            HandlerError::from(sqlx::Error::RowNotFound),
            HandlerError::Permanent(_)
        ));
        assert!(matches!(
            HandlerError::from(sqlx::Error::ColumnNotFound("name".into())),
            HandlerError::Permanent(_)
        ));
    }
}
