//! [`EventStore`], written once for both stores.
//!
//! PostgreSQL and SQLite hold the same tables; they differ in how appends are written (a
//! PL/pgSQL function versus Rust under `BEGIN IMMEDIATE`) and in how the whole log is streamed
//! (binary `COPY` versus the [`paged`] queries here) — what a store supplies through
//! [`SqlBackend`]. Everything else — the statements (plain SQL both accept: `$n` parameters,
//! `CAST`, `ON CONFLICT`), row decoding, bookkeeping and the reads — runs once through
//! `kesos-sql`'s [`Db`], which also keeps each backend's own form of an instant.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use kesos_sql::{Db, Row, to_i64, to_u64};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::error::StoreError;
use crate::group_commit::{AppendCommand, GroupCommit};
use crate::integrity::Checkpoint;
use crate::model::{
    AppendOutcome, AsOf, ClaimKey, Claims, EventType, ExpectedVersion, Metadata, NewEvent,
    RecordedEvent, StreamId,
};
use crate::store::{BulkAppend, EventStore, StreamHead};

/// Events per page of [`paged`]: large enough that a page costs little per event, small enough
/// that memory stays flat.
pub(crate) const PAGE: usize = 10_000;

/// Whether an event was known as of `as_of`. Along a stream and along the log, positions and
/// recorded times only grow, so the first event outside ends a read.
pub(crate) fn within(as_of: AsOf, event: &RecordedEvent) -> bool {
    match as_of {
        AsOf::Now => true,
        AsOf::Position(position) => event.position <= position,
        AsOf::RecordedAt(at) => event.recorded_at <= at,
    }
}

/// One page of the log: at most `max` events after `after`, streamed as they arrive.
pub(crate) type PageReader<'a> =
    dyn Fn(u64, usize) -> BoxStream<'a, Result<RecordedEvent, StoreError>> + Send + Sync + 'a;

struct Paging<'a> {
    page: Box<PageReader<'a>>,
    current: Option<BoxStream<'a, Result<RecordedEvent, StoreError>>>,
    after: u64,
    in_page: usize,
    finished: bool,
}

/// The whole log from `after`, read in pages of `position > $1 ORDER BY position LIMIT n`: a
/// query that walks the primary-key index whatever the table statistics, and never holds more
/// than one page. Rows are decoded as they arrive. Each page is a fresh query; since positions
/// are handed out in commit order, no page can miss an event that a later page would have
/// needed.
pub(crate) fn paged(
    page: Box<PageReader<'_>>,
    after: u64,
    as_of: AsOf,
) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
    let paging = Paging {
        page,
        current: None,
        after,
        in_page: 0,
        finished: false,
    };
    stream::unfold(paging, move |mut paging| async move {
        loop {
            if paging.finished {
                return None;
            }
            if paging.current.is_none() {
                paging.current = Some((paging.page)(paging.after, PAGE));
                paging.in_page = 0;
            }
            let next = paging.current.as_mut()?.next().await;
            match next {
                Some(Ok(event)) if within(as_of, &event) => {
                    paging.after = event.position;
                    paging.in_page += 1;
                    return Some((Ok(event), paging));
                }
                Some(Ok(_)) => paging.finished = true,
                Some(Err(error)) => {
                    paging.finished = true;
                    return Some((Err(error), paging));
                }
                None => {
                    paging.current = None;
                    paging.finished = paging.in_page < PAGE;
                }
            }
        }
    })
    .boxed()
}

pub(crate) const READ_STREAM: &str = "SELECT position, stream_id, stream_version, event_id, \
    event_type, CAST(schema_version AS BIGINT) AS schema_version, payload, correlation_id, \
    causation_id, actor, occurred_at, recorded_at, hash, trace_parent FROM kesos_events \
    WHERE stream_id = $1 ORDER BY stream_version";

pub(crate) const READ_BATCH: &str = "SELECT position, stream_id, stream_version, event_id, \
    event_type, CAST(schema_version AS BIGINT) AS schema_version, payload, correlation_id, \
    causation_id, actor, occurred_at, recorded_at, hash, trace_parent FROM kesos_events \
    WHERE position > $1 ORDER BY position LIMIT $2";

pub(crate) const HEAD: &str = "SELECT position FROM kesos_log_head";

pub(crate) const STREAM_HEADS: &str =
    "SELECT stream_id, version, hash FROM kesos_streams ORDER BY stream_id";

pub(crate) const CHECKPOINTS: &str = "SELECT * FROM kesos_checkpoints ORDER BY sequence";

pub(crate) const LAST_CHECKPOINT: &str =
    "SELECT * FROM kesos_checkpoints ORDER BY sequence DESC LIMIT 1";

pub(crate) const INSERT_CHECKPOINT: &str = "INSERT INTO kesos_checkpoints (sequence, position, \
    event_count, digest, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (sequence) DO NOTHING";

pub(crate) const CLAIM_HOLDER: &str = "SELECT stream_id FROM kesos_claims WHERE claim_key = $1";

pub(crate) const CURSOR: &str = "SELECT position FROM kesos_cursors WHERE name = $1";

/// Moves a cursor forward only: a save below the stored position (a second relay, a late
/// writer) leaves it where it is.
pub(crate) const SAVE_CURSOR: &str = "INSERT INTO kesos_cursors (name, position, updated_at) \
    VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
    updated_at = excluded.updated_at WHERE kesos_cursors.position < excluded.position";

/// A row that does not decode into what kesos wrote: the database was altered outside kesos.
pub(crate) fn corrupt(position: i64, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        position: to_u64(position),
        reason: reason.to_string(),
    }
}

/// A stored hash, which must be 32 bytes.
pub(crate) fn hash_array(bytes: &[u8], position: i64) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| corrupt(position, "hash is not 32 bytes"))
}

/// An event as selected by [`READ_STREAM`] and [`READ_BATCH`].
pub(crate) fn event_from_row(row: &Row) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.get("position")?;
    let instant = |column: &str| row.instant(column).map_err(|e| corrupt(position, e));
    Ok(RecordedEvent {
        position: to_u64(position),
        stream_id: StreamId::parse(row.get::<String>("stream_id")?)
            .map_err(|e| corrupt(position, e))?,
        stream_version: to_u64(row.get("stream_version")?),
        event_id: row.get("event_id")?,
        event_type: EventType::parse(row.get::<String>("event_type")?)
            .map_err(|e| corrupt(position, e))?,
        schema_version: u32::try_from(row.get::<i64>("schema_version")?)
            .map_err(|e| corrupt(position, e))?,
        payload: row.get("payload")?,
        metadata: Metadata {
            correlation_id: row.get("correlation_id")?,
            causation_id: row.get("causation_id")?,
            actor: row.get("actor")?,
            trace_parent: row.get("trace_parent")?,
        },
        occurred_at: instant("occurred_at")?,
        recorded_at: instant("recorded_at")?,
        hash: hash_array(&row.get::<Vec<u8>>("hash")?, position)?,
    })
}

fn checkpoint_from_row(row: &Row) -> Result<Checkpoint, StoreError> {
    let sequence: i64 = row.get("sequence")?;
    let bytes = |column: &str| -> Result<Vec<u8>, StoreError> { Ok(row.get(column)?) };
    let bad = |what: &str| corrupt(0, format!("checkpoint {sequence}: bad {what}"));
    Ok(Checkpoint {
        sequence: to_u64(sequence),
        position: to_u64(row.get("position")?),
        event_count: to_u64(row.get("event_count")?),
        digest: bytes("digest")?.try_into().map_err(|_| bad("digest"))?,
        signed_at: row.instant("signed_at").map_err(|_| bad("signing time"))?,
        public_key: bytes("public_key")?
            .try_into()
            .map_err(|_| bad("public key"))?,
        signature: bytes("signature")?
            .try_into()
            .map_err(|_| bad("signature"))?,
    })
}

fn stream_head_from_row(row: &Row) -> Result<StreamHead, StoreError> {
    let stream_id: String = row.get("stream_id")?;
    Ok(StreamHead {
        stream_id: StreamId::parse(stream_id).map_err(|e| corrupt(0, e))?,
        version: to_u64(row.get("version")?),
        hash: hash_array(&row.get::<Vec<u8>>("hash")?, 0)?,
    })
}

/// At most `max` events after `after`, streamed as the rows arrive: a page of [`paged`], and
/// (collected) the bounded read followers poll with.
pub(crate) fn batch_after(
    db: &Db,
    after: u64,
    max: usize,
) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
    db.query(READ_BATCH)
        .bind(to_i64(after))
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch()
        .map(|row| event_from_row(&row?))
        .boxed()
}

/// What every store holds, whatever its backend (public only inside this crate, as
/// [`SqlBackend`] is).
#[derive(Clone)]
pub struct StoreParts {
    /// The reader pool as the shared handle.
    pub(crate) db: Db,
    /// The writer of interactive appends.
    pub(crate) writer: GroupCommit,
    /// The writer(s) of bulk appends (SQLite has one writer per file, so it is the same).
    pub(crate) bulk: GroupCommit,
    /// Notified with the last position this instance committed.
    pub(crate) appended: watch::Receiver<u64>,
}

/// What a store on one backend supplies; the rest of [`EventStore`] is written once, below,
/// for every type that supplies it. (The trait is public only inside this crate.)
pub trait SqlBackend: Send + Sync + 'static {
    /// Its pools, writers and commit notifications.
    fn parts(&self) -> &StoreParts;

    /// The whole log from `after`, the backend's fastest way.
    fn read_log(&self, after: u64, as_of: AsOf)
    -> BoxStream<'_, Result<RecordedEvent, StoreError>>;
}

#[async_trait]
impl<S: SqlBackend> EventStore for S {
    async fn append_claiming(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        claims: Claims,
    ) -> Result<AppendOutcome, StoreError> {
        let command = AppendCommand::new(stream.clone(), expected, events, claims)?;
        self.parts().writer.append(command).await
    }

    async fn append_bulk(
        &self,
        appends: Vec<BulkAppend>,
    ) -> Vec<Result<AppendOutcome, StoreError>> {
        let writer = &self.parts().bulk;
        futures::future::join_all(appends.into_iter().map(|append| async move {
            let command =
                AppendCommand::new(append.stream, append.expected, append.events, append.claims)?;
            writer.append(command).await
        }))
        .await
    }

    async fn claim_holder(&self, key: &ClaimKey) -> Result<Option<StreamId>, StoreError> {
        let row = self
            .parts()
            .db
            .query(CLAIM_HOLDER)
            .bind(key.as_str())
            .fetch_optional()
            .await?;
        row.map(|row| {
            let holder: String = row.get_index(0)?;
            StreamId::parse(holder).map_err(|e| corrupt(0, e))
        })
        .transpose()
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // By the unique (stream_id, stream_version) index alone, whatever the table
        // statistics; streams are short, so the as-of cut is applied here.
        let rows = self
            .parts()
            .db
            .query(READ_STREAM)
            .bind(stream.as_str())
            .fetch_all()
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = event_from_row(row)?;
            if !within(as_of, &event) {
                break;
            }
            events.push(event);
        }
        if events.is_empty() {
            return Err(StoreError::StreamNotFound(stream.clone()));
        }
        Ok(events)
    }

    fn read_all(
        &self,
        after: u64,
        as_of: AsOf,
    ) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
        self.read_log(after, as_of)
    }

    async fn read_batch(&self, after: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = self
            .parts()
            .db
            .query(READ_BATCH)
            .bind(to_i64(after))
            .bind(i64::try_from(max).unwrap_or(i64::MAX))
            .fetch_all()
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        let head: i64 = self.parts().db.query(HEAD).fetch_scalar().await?;
        Ok(to_u64(head))
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.parts().appended.clone()
    }

    fn stream_heads(&self) -> BoxStream<'_, Result<StreamHead, StoreError>> {
        self.parts()
            .db
            .query(STREAM_HEADS)
            .fetch()
            .map(|row| stream_head_from_row(&row?))
            .boxed()
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = self.parts().db.query(CHECKPOINTS).fetch_all().await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row = self
            .parts()
            .db
            .query(LAST_CHECKPOINT)
            .fetch_optional()
            .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
        let inserted = self
            .parts()
            .db
            .query(INSERT_CHECKPOINT)
            .bind(to_i64(checkpoint.sequence))
            .bind(to_i64(checkpoint.position))
            .bind(to_i64(checkpoint.event_count))
            .bind(checkpoint.digest.as_slice())
            .bind_instant(checkpoint.signed_at)
            .bind(checkpoint.public_key.as_slice())
            .bind(checkpoint.signature.as_slice())
            .execute()
            .await?;
        Ok(inserted == 1)
    }

    async fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        let row = self
            .parts()
            .db
            .query(CURSOR)
            .bind(name)
            .fetch_optional()
            .await?;
        let position: Option<i64> = row.map(|row| row.get_index(0)).transpose()?;
        Ok(position.map(to_u64).unwrap_or(0))
    }

    async fn save_cursor(&self, name: &str, position: u64) -> Result<(), StoreError> {
        self.parts()
            .db
            .query(SAVE_CURSOR)
            .bind(name)
            .bind(to_i64(position))
            .bind_instant(OffsetDateTime::now_utc())
            .execute()
            .await?;
        Ok(())
    }
}
