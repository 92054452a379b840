//! The read side and bookkeeping of both stores, written once.
//!
//! PostgreSQL and SQLite hold the same tables; they differ in how an instant is stored
//! (`timestamptz` versus integer microseconds), in how appends are written (a PL/pgSQL
//! function versus Rust under `BEGIN IMMEDIATE`) and in how the whole log is streamed (binary
//! `COPY` versus the [`paged`] queries here). Everything else — the statements (plain SQL
//! both accept: `$n` parameters, `CAST`, `ON CONFLICT`), row decoding and the read half of
//! [`EventStore`](crate::EventStore) — is generated for each store by [`impl_event_store!`].

use futures::stream::{self, BoxStream, StreamExt};

use crate::error::StoreError;
use crate::model::{AsOf, RecordedEvent};

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
    causation_id, actor, occurred_at, recorded_at, hash FROM kesos_events \
    WHERE stream_id = $1 ORDER BY stream_version";

pub(crate) const READ_BATCH: &str = "SELECT position, stream_id, stream_version, event_id, \
    event_type, CAST(schema_version AS BIGINT) AS schema_version, payload, correlation_id, \
    causation_id, actor, occurred_at, recorded_at, hash FROM kesos_events \
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

pub(crate) const SAVE_CURSOR: &str = "INSERT INTO kesos_cursors (name, position, updated_at) \
    VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
    updated_at = excluded.updated_at";

pub(crate) use crate::model::{to_i64, to_u64};

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

/// Generates row decoding and the `EventStore` impl for a store type with fields `pool` (its
/// reader pool) and `writer` (its [`GroupCommit`](crate::group_commit::GroupCommit)), and a
/// method `read_log(after, as_of)` that streams the whole log (each store reads it its own way).
/// `$to_db`/`$from_db` convert instants to and from the column type `$instant`.
macro_rules! impl_event_store {
    ($store:ty, $row:ty, $instant:ty, $to_db:path, $from_db:path) => {
        fn event_from_row(row: &$row) -> Result<RecordedEvent, StoreError> {
            use crate::reads::{corrupt, hash_array, to_u64};
            let position: i64 = row.try_get("position")?;
            let instant = |column: &str| -> Result<OffsetDateTime, StoreError> {
                $from_db(row.try_get::<$instant, _>(column)?).map_err(|e| corrupt(position, e))
            };
            Ok(RecordedEvent {
                position: to_u64(position),
                stream_id: StreamId::parse(row.try_get::<String, _>("stream_id")?)
                    .map_err(|e| corrupt(position, e))?,
                stream_version: to_u64(row.try_get("stream_version")?),
                event_id: row.try_get("event_id")?,
                event_type: EventType::parse(row.try_get::<String, _>("event_type")?)
                    .map_err(|e| corrupt(position, e))?,
                schema_version: u32::try_from(row.try_get::<i64, _>("schema_version")?)
                    .map_err(|e| corrupt(position, e))?,
                payload: row.try_get("payload")?,
                metadata: Metadata {
                    correlation_id: row.try_get("correlation_id")?,
                    causation_id: row.try_get("causation_id")?,
                    actor: row.try_get("actor")?,
                },
                occurred_at: instant("occurred_at")?,
                recorded_at: instant("recorded_at")?,
                hash: hash_array(&row.try_get::<Vec<u8>, _>("hash")?, position)?,
            })
        }

        fn checkpoint_from_row(row: &$row) -> Result<Checkpoint, StoreError> {
            use crate::reads::{corrupt, to_u64};
            let sequence: i64 = row.try_get("sequence")?;
            let bytes = |column: &str| -> Result<Vec<u8>, StoreError> { Ok(row.try_get(column)?) };
            let bad = |what: &str| corrupt(0, format!("checkpoint {sequence}: bad {what}"));
            Ok(Checkpoint {
                sequence: to_u64(sequence),
                position: to_u64(row.try_get("position")?),
                event_count: to_u64(row.try_get("event_count")?),
                digest: bytes("digest")?.try_into().map_err(|_| bad("digest"))?,
                signed_at: $from_db(row.try_get::<$instant, _>("signed_at")?)
                    .map_err(|_| bad("signing time"))?,
                public_key: bytes("public_key")?
                    .try_into()
                    .map_err(|_| bad("public key"))?,
                signature: bytes("signature")?
                    .try_into()
                    .map_err(|_| bad("signature"))?,
            })
        }

        #[async_trait]
        impl EventStore for $store {
            async fn append_claiming(
                &self,
                stream: &StreamId,
                expected: ExpectedVersion,
                events: Vec<NewEvent>,
                claims: crate::model::Claims,
            ) -> Result<AppendOutcome, StoreError> {
                let command = AppendCommand::new(stream.clone(), expected, events, claims)?;
                self.writer.append(command).await
            }

            async fn append_bulk(
                &self,
                appends: Vec<crate::store::BulkAppend>,
            ) -> Vec<Result<AppendOutcome, StoreError>> {
                let writer = self.bulk_writer();
                futures::future::join_all(appends.into_iter().map(|append| async move {
                    let command = AppendCommand::new(
                        append.stream,
                        append.expected,
                        append.events,
                        append.claims,
                    )?;
                    writer.append(command).await
                }))
                .await
            }

            async fn claim_holder(
                &self,
                key: &crate::model::ClaimKey,
            ) -> Result<Option<StreamId>, StoreError> {
                let holder: Option<String> = sqlx::query_scalar(crate::reads::CLAIM_HOLDER)
                    .bind(key.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                holder
                    .map(|holder| StreamId::parse(holder).map_err(|e| crate::reads::corrupt(0, e)))
                    .transpose()
            }

            async fn read_stream(
                &self,
                stream: &StreamId,
                as_of: AsOf,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                // By the unique (stream_id, stream_version) index alone, whatever the table
                // statistics; streams are short, so the as-of cut is applied here.
                let rows = sqlx::query(crate::reads::READ_STREAM)
                    .bind(stream.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                let mut events = Vec::with_capacity(rows.len());
                for row in &rows {
                    let event = event_from_row(row)?;
                    if !crate::reads::within(as_of, &event) {
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

            async fn read_batch(
                &self,
                after: u64,
                max: usize,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                sqlx::query(crate::reads::READ_BATCH)
                    .bind(crate::reads::to_i64(after))
                    .bind(i64::try_from(max).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(event_from_row)
                    .collect()
            }

            async fn head_position(&self) -> Result<u64, StoreError> {
                let head: i64 = sqlx::query_scalar(crate::reads::HEAD)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(crate::reads::to_u64(head))
            }

            fn appended(&self) -> watch::Receiver<u64> {
                self.appended.clone()
            }

            fn stream_heads(&self) -> BoxStream<'_, Result<StreamHead, StoreError>> {
                use crate::reads::{corrupt, hash_array, to_u64};
                sqlx::query(crate::reads::STREAM_HEADS)
                    .fetch(&self.pool)
                    .map(|row| {
                        let row = row?;
                        let stream_id: String = row.try_get("stream_id")?;
                        Ok(StreamHead {
                            stream_id: StreamId::parse(stream_id).map_err(|e| corrupt(0, e))?,
                            version: to_u64(row.try_get("version")?),
                            hash: hash_array(&row.try_get::<Vec<u8>, _>("hash")?, 0)?,
                        })
                    })
                    .boxed()
            }

            async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
                sqlx::query(crate::reads::CHECKPOINTS)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(checkpoint_from_row)
                    .collect()
            }

            async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
                sqlx::query(crate::reads::LAST_CHECKPOINT)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(checkpoint_from_row)
                    .transpose()
            }

            async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
                use crate::reads::to_i64;
                let inserted = sqlx::query(crate::reads::INSERT_CHECKPOINT)
                    .bind(to_i64(checkpoint.sequence))
                    .bind(to_i64(checkpoint.position))
                    .bind(to_i64(checkpoint.event_count))
                    .bind(checkpoint.digest.as_slice())
                    .bind($to_db(checkpoint.signed_at))
                    .bind(checkpoint.public_key.as_slice())
                    .bind(checkpoint.signature.as_slice())
                    .execute(&self.pool)
                    .await?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn cursor(&self, name: &str) -> Result<u64, StoreError> {
                let position: Option<i64> = sqlx::query_scalar(crate::reads::CURSOR)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(position.map(crate::reads::to_u64).unwrap_or(0))
            }

            async fn save_cursor(&self, name: &str, position: u64) -> Result<(), StoreError> {
                sqlx::query(crate::reads::SAVE_CURSOR)
                    .bind(name)
                    .bind(crate::reads::to_i64(position))
                    .bind($to_db(OffsetDateTime::now_utc()))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_event_store;
