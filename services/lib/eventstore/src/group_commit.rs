//! Group commit: concurrent appends share one database transaction (and one disk flush)
//! without weakening durability or any stream's version check.
//!
//! Every append is sent to one writer task per store instance. The writer takes all appends
//! waiting at that moment (up to [`MAX_BATCH`]), writes them in one transaction in which each
//! append is still checked on its own (a conflict in one does not affect the others), and
//! answers each caller only after the commit. A caller is therefore told "stored" only for
//! durable events, exactly as with one transaction per append; it just waits with others.
//!
//! Appends in a batch are decided in the order they were queued, each seeing the effects of
//! those before it: two appends to one stream chain their versions, and a claim released by an
//! earlier append is free for a later one.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::error::{InputError, StoreError};
use crate::model::{AppendOutcome, Claims, ExpectedVersion, NewEvent, StreamId};

/// Most appends written in one transaction.
pub const MAX_BATCH: usize = 256;

/// Most scheduler turns the writer waits for callers to join a batch.
const MAX_YIELDS: usize = 8;

/// One append, checked at the edge: events non-empty, ids unique within it, claim keys unique
/// within it and none both taken and released.
#[derive(Debug)]
pub struct AppendCommand {
    /// Target stream.
    pub stream: StreamId,
    /// Version check.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Claims taken and released with the events (each list sorted, without repeats).
    pub claims: Claims,
}

impl AppendCommand {
    /// Validates an append before it queues for the writer. Repeated claim keys are harmless
    /// and dropped; a key both taken and released is refused.
    pub fn new(
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        mut claims: Claims,
    ) -> Result<Self, InputError> {
        if events.is_empty() {
            return Err(InputError::NoEvents);
        }
        let mut ids: Vec<_> = events.iter().map(NewEvent::event_id).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(InputError::DuplicateEventInAppend(pair[0]));
        }
        for keys in [&mut claims.take, &mut claims.release] {
            keys.sort_unstable();
            keys.dedup();
        }
        if let Some(both) = claims
            .take
            .iter()
            .find(|key| claims.release.binary_search(key).is_ok())
        {
            return Err(InputError::ClaimTakenAndReleased(both.clone()));
        }
        Ok(Self {
            stream,
            expected,
            events,
            claims,
        })
    }
}

/// A backend that writes a batch of appends in one transaction.
#[async_trait]
pub trait BatchWriter: Send + 'static {
    /// Writes the batch in one transaction. The outer error means nothing was committed (or the
    /// outcome is unknown, e.g. the connection dropped at commit); callers retry with the same
    /// event ids, which the store then recognises.
    async fn write_batch(
        &mut self,
        batch: &[AppendCommand],
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError>;
}

struct Request {
    command: AppendCommand,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// The handle callers append through; cloneable, cheap.
#[derive(Clone)]
pub struct GroupCommit {
    sender: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the writer task; it ends when every handle is dropped.
    pub fn start(
        writer: impl BatchWriter,
        on_commit: impl Fn(u64) + Send + Sync + 'static,
    ) -> Self {
        Self::start_many(vec![writer], on_commit)
    }

    /// Starts one writer task per writer, all taking batches from one queue. While one writer
    /// waits for its commit, the next has its batch ready; the backend must serialise the
    /// batches' commits itself (PostgreSQL's log-head lock does), so positions still follow
    /// commit order.
    pub fn start_many<W: BatchWriter>(
        writers: Vec<W>,
        on_commit: impl Fn(u64) + Send + Sync + 'static,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(MAX_BATCH * 4);
        let shared = Arc::new(Shared {
            receiver: Mutex::new(receiver),
            writing: AtomicUsize::new(0),
            written: Notify::new(),
            on_commit: Box::new(on_commit),
        });
        for writer in writers {
            tokio::spawn(run(writer, shared.clone()));
        }
        Self { sender }
    }

    /// Queues one append and waits for its committed outcome.
    pub async fn append(&self, command: AppendCommand) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request { command, reply })
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        answer.await.map_err(|_| StoreError::ShuttingDown)?
    }
}

/// What the writers of one store share.
struct Shared {
    /// The queue; a writer holds it while gathering a batch, never while writing one.
    receiver: Mutex<mpsc::Receiver<Request>>,
    /// Writers writing a batch right now.
    writing: AtomicUsize,
    /// Signalled whenever a writer has written its batch.
    written: Notify,
    /// Told the last position of every committed batch.
    on_commit: Box<dyn Fn(u64) + Send + Sync>,
}

/// Takes the next batch from the shared queue: what waits now, plus the callers that join
/// within a few scheduler turns, plus — while another writer is still writing — everything
/// that arrives until it is done. So a second writer never splits a batch the first would
/// have taken whole; it only has the next one ready the moment the first commits.
/// Empty when every handle is gone.
async fn next_batch(shared: &Shared, requests: &mut Vec<Request>, last_batch: usize) {
    let mut receiver = shared.receiver.lock().await;
    if receiver.recv_many(requests, MAX_BATCH).await == 0 {
        return;
    }
    // The callers answered last time usually come straight back with their next append: give
    // them a few scheduler turns to join this batch instead of paying for a batch of their
    // own. A yield costs microseconds; a batch costs a database round trip.
    for _ in 0..MAX_YIELDS {
        if requests.len() >= last_batch {
            break;
        }
        tokio::task::yield_now().await;
        while requests.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => requests.push(request),
                Err(_) => break,
            }
        }
    }
    while requests.len() < MAX_BATCH {
        // Registered before looking at `writing`, so a batch finished in between still wakes us.
        let written = shared.written.notified();
        tokio::pin!(written);
        written.as_mut().enable();
        if shared.writing.load(Ordering::Acquire) == 0 {
            break;
        }
        let room = MAX_BATCH - requests.len();
        tokio::select! {
            biased;
            () = &mut written => break,
            received = receiver.recv_many(requests, room) => if received == 0 { break },
        }
    }
}

/// One committed batch in the store's metrics: the appends it carried
/// (`kesos_store_appends_total`), its events (`kesos_store_append_events`) and its time to
/// commit (`kesos_store_append_duration_seconds`); a batch that failed counts in
/// `kesos_store_append_failures_total` instead.
fn record_batch(commands: &[AppendCommand], took: std::time::Duration, committed: bool) {
    if !committed {
        metrics::counter!("kesos_store_append_failures_total").increment(1);
        return;
    }
    let events: usize = commands.iter().map(|command| command.events.len()).sum();
    metrics::counter!("kesos_store_appends_total").increment(commands.len() as u64);
    metrics::histogram!("kesos_store_append_events").record(events as f64);
    metrics::histogram!("kesos_store_append_duration_seconds").record(took.as_secs_f64());
}

async fn run(mut writer: impl BatchWriter, shared: Arc<Shared>) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    let mut last_batch = 1;
    loop {
        next_batch(&shared, &mut requests, last_batch).await;
        if requests.is_empty() {
            return;
        }
        last_batch = requests.len();
        let (commands, replies): (Vec<_>, Vec<_>) = requests
            .drain(..)
            .map(|request| (request.command, request.reply))
            .unzip();
        shared.writing.fetch_add(1, Ordering::AcqRel);
        let started = std::time::Instant::now();
        let written = writer.write_batch(&commands).await;
        record_batch(&commands, started.elapsed(), written.is_ok());
        shared.writing.fetch_sub(1, Ordering::AcqRel);
        shared.written.notify_waiters();
        match written {
            Ok(outcomes) => {
                let last = outcomes
                    .iter()
                    .filter_map(|outcome| outcome.as_ref().ok())
                    .filter_map(|outcome| outcome.positions.iter().max())
                    .max()
                    .copied();
                if let Some(last) = last {
                    (shared.on_commit)(last);
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::warn!(%error, appends = replies.len(), "batch append failed");
                let reason = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
                }
            }
        }
    }
}
