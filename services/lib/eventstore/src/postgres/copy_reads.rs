//! The whole log read with `COPY … TO STDOUT (FORMAT binary)`: [`read_all`] on PostgreSQL,
//! which `kesos audit verify`, checkpoint signing and any other full replay of the log stream.
//!
//! [`read_all`]: crate::EventStore::read_all
//!
//! Why not a plain `SELECT`: a replay is per-row work, and a query result costs the client a
//! generic row per event (a message, column metadata, a type check and a by-name lookup per
//! column) before kesos sees a value. Binary COPY hands over the same rows as one byte stream in
//! a documented layout that is decoded here field by field, straight into [`RecordedEvent`],
//! checked exactly as a queried row is (an altered row is still [`StoreError::Corrupt`]).
//!
//! The ordering guarantee is the paged one of [`crate::reads::paged`]: pages of
//! `position > after ORDER BY position LIMIT n`, each a fresh statement, so no page holds a
//! snapshot open for the whole replay. Pages are read by a task of their own, which decodes
//! while the caller works and hands events over in chunks; dropping the stream stops it, and a
//! connection left in the middle of a COPY is closed rather than returned to the pool.

use futures::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{AsOf, EventType, Metadata, RecordedEvent, StreamId};
use crate::reads::{PAGE, corrupt, hash_array, within};
use kesos_sql::{to_i64, to_u64};

/// Events handed to the caller at a time: one channel message per chunk keeps the hand-over
/// cheap per event.
const CHUNK: usize = 512;
/// Chunks decoded ahead of the caller; with [`CHUNK`] this bounds what a replay holds.
const CHUNKS_AHEAD: usize = 4;

/// The log after `after`, as of `as_of`, in position order.
pub(crate) fn read_log(
    pool: &PgPool,
    after: u64,
    as_of: AsOf,
) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
    let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(read_pages(pool.clone(), after, as_of, sender));
    stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((stream::iter(chunk), receiver))
    })
    .flatten()
    .boxed()
}

/// Events handed over at once; an error, if any, is the last item the caller gets.
type Chunk = Vec<Result<RecordedEvent, StoreError>>;

/// Reads pages until the log, or `as_of`, ends, or the caller goes away or is handed an error.
async fn read_pages(pool: PgPool, mut after: u64, as_of: AsOf, sender: mpsc::Sender<Chunk>) {
    loop {
        match read_page(&pool, after, as_of, &sender).await {
            Page::Full { last } => after = last,
            Page::Last | Page::Stopped => return,
        }
    }
}

/// How a page ended.
enum Page {
    /// [`PAGE`] events, the last at `last`: there may be more.
    Full { last: u64 },
    /// The end of the log or of `as_of`.
    Last,
    /// The caller dropped the stream, or was handed an error, which ends it.
    Stopped,
}

/// Reads one page and hands it over, ending with the error if one comes up: every event
/// decoded before it reaches the caller first.
async fn read_page(pool: &PgPool, after: u64, as_of: AsOf, sender: &mpsc::Sender<Chunk>) -> Page {
    let statement = format!(
        "COPY (SELECT position, stream_id, stream_version, event_id, event_type, \
         schema_version, payload, correlation_id, causation_id, actor, occurred_at, \
         recorded_at, hash, trace_parent FROM kesos_events WHERE position > {} ORDER BY position \
         LIMIT {PAGE}) \
         TO STDOUT (FORMAT binary)",
        to_i64(after)
    );
    let mut chunk = Vec::with_capacity(CHUNK);
    let page = match pool.acquire().await {
        Ok(mut connection) => {
            let page = copy_page(&mut connection, &statement, as_of, sender, &mut chunk).await;
            // A connection goes back to the pool only once its COPY has run to the end;
            // otherwise the rest of the page would still be on the wire for its next user.
            if !matches!(page, Ok(Page::Full { .. } | Page::Last)) {
                connection.close_on_drop();
            }
            page
        }
        Err(error) => Err(error.into()),
    };
    let page = page.unwrap_or_else(|error| {
        chunk.push(Err(error));
        Page::Stopped
    });
    if !chunk.is_empty() && sender.send(chunk).await.is_err() {
        return Page::Stopped;
    }
    page
}

/// Decodes one page into `chunk`, handing over each full chunk; the last, partial one is left
/// for the caller.
async fn copy_page(
    connection: &mut PgConnection,
    statement: &str,
    as_of: AsOf,
    sender: &mpsc::Sender<Chunk>,
    chunk: &mut Chunk,
) -> Result<Page, StoreError> {
    let mut bytes = connection.copy_out_raw(statement).await?;
    let mut decoder = Decoder::default();
    let mut count = 0;
    let mut last = None;
    let mut outside = false;
    while let Some(data) = bytes.next().await {
        decoder.extend(&data?);
        // Past `as_of`, the rest of the page is only drained, so the connection stays usable.
        while !outside && let Some(event) = decoder.next_event()? {
            if !within(as_of, &event) {
                outside = true;
                break;
            }
            count += 1;
            last = Some(event.position);
            chunk.push(Ok(event));
            if chunk.len() == CHUNK {
                let full = std::mem::replace(chunk, Vec::with_capacity(CHUNK));
                if sender.send(full).await.is_err() {
                    return Ok(Page::Stopped);
                }
            }
        }
        if outside {
            decoder.clear();
        }
    }
    if !outside {
        decoder.finish()?;
    }
    Ok(match last {
        Some(last) if count == PAGE && !outside => Page::Full { last },
        _ => Page::Last,
    })
}

/// The signature that opens every binary COPY stream.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Columns of each row, as selected above.
const COLUMNS: i16 = 14;
/// PostgreSQL's epoch for `timestamptz` (microseconds since 2000-01-01 UTC).
const POSTGRES_EPOCH: OffsetDateTime = time::macros::datetime!(2000-01-01 0:00 UTC);

/// Decodes the binary COPY layout (a header, then per row a field count and per field a
/// length and its bytes, then a trailer of -1) from bytes that may arrive in any split.
#[derive(Default)]
struct Decoder {
    buffer: Vec<u8>,
    read: usize,
    header_read: bool,
    trailer_read: bool,
}

/// Reads big-endian fields from one complete row.
struct Fields<'a> {
    bytes: &'a [u8],
    position: i64,
}

impl Decoder {
    fn extend(&mut self, data: &[u8]) {
        if self.read == self.buffer.len() {
            self.buffer.clear();
            self.read = 0;
        } else if self.read > self.buffer.len() / 2 {
            self.buffer.drain(..self.read);
            self.read = 0;
        }
        self.buffer.extend_from_slice(data);
    }

    /// Forgets what is buffered (the rest of a page that is only drained).
    fn clear(&mut self) {
        self.buffer.clear();
        self.read = 0;
    }

    /// The next complete row, or `None` until more bytes arrive.
    fn next_event(&mut self) -> Result<Option<RecordedEvent>, StoreError> {
        if !self.header_read && !self.read_header()? {
            return Ok(None);
        }
        if self.trailer_read {
            return Err(malformed("data after the trailer"));
        }
        let rest = &self.buffer[self.read..];
        let Some(count) = rest.get(..2) else {
            return Ok(None);
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            self.trailer_read = true;
            self.read += 2;
            return Ok(None);
        }
        if count != COLUMNS {
            return Err(malformed(format!(
                "a row of {count} columns, not {COLUMNS}"
            )));
        }
        let Some(length) = row_length(&rest[2..]) else {
            return Ok(None);
        };
        let row = &rest[2..2 + length];
        self.read += 2 + length;
        event_from_fields(row).map(Some)
    }

    fn read_header(&mut self) -> Result<bool, StoreError> {
        let rest = &self.buffer[self.read..];
        let fixed = SIGNATURE.len() + 8;
        if rest.len() < fixed {
            return Ok(false);
        }
        if &rest[..SIGNATURE.len()] != SIGNATURE {
            return Err(malformed("no binary COPY signature"));
        }
        let extension = be_i32(&rest[SIGNATURE.len() + 4..fixed]);
        let extension = usize::try_from(extension).map_err(|_| malformed("header length"))?;
        if rest.len() < fixed + extension {
            return Ok(false);
        }
        self.read += fixed + extension;
        self.header_read = true;
        Ok(true)
    }

    /// Checks that the stream ended where it should: after the trailer, nothing left over.
    fn finish(&self) -> Result<(), StoreError> {
        if !self.trailer_read || self.read != self.buffer.len() {
            return Err(malformed("the stream ended inside a row"));
        }
        Ok(())
    }
}

/// The byte length of the [`COLUMNS`] fields at the start of `fields`, once all are there.
fn row_length(fields: &[u8]) -> Option<usize> {
    let mut at = 0;
    for _ in 0..COLUMNS {
        let length = fields.get(at..at + 4)?;
        // NULL (-1) has no bytes; every column is NOT NULL, which the row decoding reports.
        let length = usize::try_from(be_i32(length).max(0)).unwrap_or(0);
        at += 4 + length;
    }
    (at <= fields.len()).then_some(at)
}

fn event_from_fields(row: &[u8]) -> Result<RecordedEvent, StoreError> {
    let mut fields = Fields {
        bytes: row,
        position: 0,
    };
    let position = fields.i64()?;
    fields.position = position;
    // Fields in column order (the struct's field order differs: the trace context is last).
    let stream_id = StreamId::parse(fields.text()?).map_err(|e| corrupt(position, e))?;
    let stream_version = to_u64(fields.i64()?);
    let event_id = Uuid::from_bytes(fields.array::<16>()?);
    let event_type = EventType::parse(fields.text()?).map_err(|e| corrupt(position, e))?;
    let schema_version = u32::try_from(fields.i32()?).map_err(|e| corrupt(position, e))?;
    let payload = fields.bytes()?.to_vec();
    let (correlation_id, causation_id, actor) = (fields.text()?, fields.text()?, fields.text()?);
    let occurred_at = fields.instant()?;
    let recorded_at = fields.instant()?;
    let hash = hash_array(fields.bytes()?, position)?;
    Ok(RecordedEvent {
        position: to_u64(position),
        stream_id,
        stream_version,
        event_id,
        event_type,
        schema_version,
        payload,
        metadata: Metadata {
            correlation_id,
            causation_id,
            actor,
            trace_parent: fields.text()?,
        },
        occurred_at,
        recorded_at,
        hash,
    })
}

impl<'a> Fields<'a> {
    fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let length = be_i32(&self.bytes[..4]);
        let Ok(length) = usize::try_from(length) else {
            return Err(corrupt(self.position, "a column is NULL"));
        };
        let value = &self.bytes[4..4 + length];
        self.bytes = &self.bytes[4 + length..];
        Ok(value)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        self.bytes()?
            .try_into()
            .map_err(|_| malformed(format!("a field of the wrong width for {N} bytes")))
    }

    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, StoreError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn text(&mut self) -> Result<String, StoreError> {
        let position = self.position;
        String::from_utf8(self.bytes()?.to_vec()).map_err(|e| corrupt(position, e))
    }

    fn instant(&mut self) -> Result<OffsetDateTime, StoreError> {
        let micros = self.i64()?;
        POSTGRES_EPOCH
            .checked_add(Duration::microseconds(micros))
            .ok_or_else(|| corrupt(self.position, format!("instant {micros} out of range")))
    }
}

/// A big-endian `i32` from exactly four bytes (callers slice them).
fn be_i32(bytes: &[u8]) -> i32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[..4]);
    i32::from_be_bytes(word)
}

/// The server sent something that is not binary COPY of these columns.
fn malformed(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!(
        "binary COPY of the log: {what}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// One row as PostgreSQL writes it, at `position`, with `event_type`.
    fn row(position: i64, event_type: &str) -> Vec<u8> {
        let mut out = COLUMNS.to_be_bytes().to_vec();
        field(&mut out, &position.to_be_bytes());
        field(&mut out, b"worker-1");
        field(&mut out, &position.to_be_bytes());
        field(&mut out, Uuid::from_u128(7).as_bytes());
        field(&mut out, event_type.as_bytes());
        field(&mut out, &1_i32.to_be_bytes());
        field(&mut out, b"\x08\x01");
        field(&mut out, b"corr");
        field(&mut out, b"cause");
        field(&mut out, b"actor");
        field(&mut out, &0_i64.to_be_bytes());
        field(&mut out, &86_400_000_000_i64.to_be_bytes());
        field(&mut out, &[9; 32]);
        field(&mut out, TRACE.as_bytes());
        out
    }

    const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn header() -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0_i32.to_be_bytes());
        out.extend_from_slice(&0_i32.to_be_bytes());
        out
    }

    fn copy_of(rows: &[Vec<u8>]) -> Vec<u8> {
        let mut out = header();
        rows.iter().for_each(|row| out.extend_from_slice(row));
        out.extend_from_slice(&(-1_i16).to_be_bytes());
        out
    }

    /// Feeds `bytes` in pieces of `size` and collects what decodes.
    fn decode_in_pieces(bytes: &[u8], size: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut decoder = Decoder::default();
        let mut events = Vec::new();
        for piece in bytes.chunks(size) {
            decoder.extend(piece);
            while let Some(event) = decoder.next_event()? {
                events.push(event);
            }
        }
        decoder.finish()?;
        Ok(events)
    }

    #[test]
    fn rows_decode_whatever_pieces_the_bytes_arrive_in() {
        let bytes = copy_of(&[row(1, "a.B"), row(2, "a.C"), row(3, "a.D")]);
        for size in [1, 2, 7, 100, bytes.len()] {
            let events = decode_in_pieces(&bytes, size).unwrap();
            let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
            assert_eq!(positions, [1, 2, 3], "pieces of {size}");
            let second = &events[1];
            assert_eq!(second.event_type.as_str(), "a.C");
            assert_eq!(second.stream_id.as_str(), "worker-1");
            assert_eq!(second.event_id, Uuid::from_u128(7));
            assert_eq!(second.payload, b"\x08\x01");
            assert_eq!(second.metadata.actor, "actor");
            assert_eq!(second.occurred_at, POSTGRES_EPOCH);
            assert_eq!(
                second.recorded_at,
                time::macros::datetime!(2000-01-02 0:00 UTC)
            );
            assert_eq!(second.hash, [9; 32]);
            assert_eq!(second.metadata.trace_parent, TRACE);
        }
    }

    #[test]
    fn an_invalid_stored_value_is_corrupt_at_its_position() {
        let bytes = copy_of(&[row(1, "a.B"), row(2, "not a type")]);
        match decode_in_pieces(&bytes, 64) {
            Err(StoreError::Corrupt { position, .. }) => assert_eq!(position, 2),
            other => panic!("expected corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_stream_cut_inside_a_row_or_without_its_trailer_is_an_error() {
        let bytes = copy_of(&[row(1, "a.B")]);
        assert!(decode_in_pieces(&bytes[..bytes.len() - 2], 64).is_err());
        assert!(decode_in_pieces(&bytes[..bytes.len() - 20], 64).is_err());
    }

    #[test]
    fn a_null_column_or_a_row_of_other_columns_is_an_error() {
        let mut null = row(1, "a.B");
        let at = 2 + 12; // the stream id's length, after the position field
        null[at..at + 4].copy_from_slice(&(-1_i32).to_be_bytes());
        null.truncate(at + 4);
        null.extend_from_slice(&row(1, "a.B")[at + 4 + 8..]);
        assert!(decode_in_pieces(&copy_of(&[null]), 64).is_err());

        let mut short = row(1, "a.B");
        short[..2].copy_from_slice(&12_i16.to_be_bytes());
        assert!(decode_in_pieces(&copy_of(&[short]), 64).is_err());
        assert!(decode_in_pieces(b"not a copy stream at all", 64).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder() {
        let valid = copy_of(&[row(1, "a.B"), row(2, "a.C")]);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2_000 {
            let mut bytes = valid.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % bytes.len() as u64) as usize;
                bytes[at] = (seed >> 32) as u8;
            }
            let _ = decode_in_pieces(&bytes, 1 + (seed % 50) as usize);
        }
    }
}
