//! The one event store API. Two implementations ([`crate::PostgresStore`],
//! [`crate::SqliteStore`]) pass the same test suite; the rest of kesos sees only this trait.

use async_trait::async_trait;
use futures::stream::BoxStream;
use tokio::sync::watch;

use crate::error::StoreError;
use crate::integrity::Checkpoint;
use crate::model::{
    AppendOutcome, AsOf, ClaimKey, Claims, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};

/// A stream's last version and hash, as the store's stream table records them; `audit verify`
/// compares them with the log to catch a deleted tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead {
    /// The stream.
    pub stream_id: StreamId,
    /// Its last version.
    pub version: u64,
    /// The hash of its last event.
    pub hash: [u8; 32],
}

/// One append of a bulk (see [`EventStore::append_bulk`]).
#[derive(Debug, Clone)]
pub struct BulkAppend {
    /// Target stream.
    pub stream: StreamId,
    /// Version check.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Keys taken and released with it.
    pub claims: Claims,
}

/// An append-only, ordered event log of streams.
///
/// Guarantees every implementation keeps:
/// - an append is atomic and checks the expected version in the same transaction;
/// - an event id is stored at most once; re-appending the same ids is a no-op that reports the
///   stored positions;
/// - log positions increase in commit order, so a reader that resumes with "after position P"
///   never skips an event that commits later (gap-safe);
/// - each event is chained to its stream's previous event by hash;
/// - a [`ClaimKey`] is held by at most one stream, and claims change only together with an
///   append to the holding stream, in its transaction.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` if its version meets `expected`: [`append_claiming`]
    /// without claims.
    ///
    /// [`append_claiming`]: EventStore::append_claiming
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_claiming(stream, expected, events, Claims::default())
            .await
    }

    /// Appends `events` to `stream` if its version meets `expected`, and in the same
    /// transaction takes and releases `claims` for `stream` (see [`Claims`] for the rules).
    ///
    /// The checks run in this order: a retry (every event id stored already) succeeds as
    /// `already_stored` without looking at claims; a version mismatch is a
    /// [`StoreError::Conflict`]; a key another stream holds is a [`StoreError::ClaimTaken`].
    /// Any refusal stores nothing and changes no claim. Concurrent appends are decided in the
    /// order they commit, so of two appends taking one free key, exactly one wins.
    async fn append_claiming(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        claims: Claims,
    ) -> Result<AppendOutcome, StoreError>;

    /// Many independent appends at once (a bulk import's new streams), each checked and
    /// answered on its own exactly as [`EventStore::append_claiming`] would, outcomes in order.
    /// The PostgreSQL store writes them through writers of their own, so a bulk keeps the
    /// database busy without splitting the batches of interactive commands.
    async fn append_bulk(&self, appends: Vec<BulkAppend>)
    -> Vec<Result<AppendOutcome, StoreError>>;

    /// The stream holding `key`, if any (as committed now).
    async fn claim_holder(&self, key: &ClaimKey) -> Result<Option<StreamId>, StoreError>;

    /// Reads one stream forward from version 1, as of a point in time.
    /// A stream without events (at that point) is [`StoreError::StreamNotFound`].
    async fn read_stream(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Streams the whole log in position order, from just after `after` to the end or to
    /// `as_of`. Rows are streamed, never collected: memory stays flat for any log size.
    fn read_all(&self, after: u64, as_of: AsOf)
    -> BoxStream<'_, Result<RecordedEvent, StoreError>>;

    /// Reads at most `max` events after position `after`, in position order: the bounded read
    /// that followers (the relay, the embedded feed) poll with.
    async fn read_batch(&self, after: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The position of the last committed event (0 for an empty log).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// Wakes followers in this process when this store instance commits; followers also poll,
    /// for events other processes append.
    fn appended(&self) -> watch::Receiver<u64>;

    /// Every stream's recorded head, in stream id order.
    fn stream_heads(&self) -> BoxStream<'_, Result<StreamHead, StoreError>>;

    /// All signed checkpoints, in sequence order.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;

    /// The most recent signed checkpoint, if any (without loading the others).
    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError>;

    /// Stores a checkpoint; false when one with the same sequence exists (another process
    /// signed first).
    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError>;

    /// A named reader's saved position (0 when it never saved one). Used by the relay.
    async fn cursor(&self, name: &str) -> Result<u64, StoreError>;

    /// Saves a named reader's position, forward only: a position below the saved one is
    /// ignored, so two relays racing, or one resumed late, never move a cursor back.
    async fn save_cursor(&self, name: &str, position: u64) -> Result<(), StoreError>;
}
