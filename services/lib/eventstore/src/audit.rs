//! Signing checkpoints and verifying the whole log: the auditor's proof that nobody altered
//! history. Written once against [`EventStore`], so both backends are verified by the same code.

use std::collections::HashMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use futures::TryStreamExt;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::integrity::{Checkpoint, GENESIS, event_hash, fold_digest};
use crate::model::{AsOf, StreamId};
use crate::store::EventStore;

/// Signs a checkpoint over everything committed since the last one; `None` when nothing new
/// was committed (or another process signed the same sequence first).
pub async fn write_checkpoint(
    store: &dyn EventStore,
    key: &SigningKey,
    now: OffsetDateTime,
) -> Result<Option<Checkpoint>, StoreError> {
    let previous = store.last_checkpoint().await?;
    let (sequence, after, mut count, mut digest) = match &previous {
        Some(last) => (
            last.sequence + 1,
            last.position,
            last.event_count,
            last.digest,
        ),
        None => (1, 0, 0, GENESIS),
    };
    let head = store.head_position().await?;
    if head <= after {
        return Ok(None);
    }
    let mut events = store.read_all(after, AsOf::Position(head));
    let mut last = after;
    while let Some(event) = events.try_next().await? {
        digest = fold_digest(&digest, event.position, &event.hash);
        count += 1;
        last = event.position;
    }
    drop(events);
    let checkpoint = Checkpoint::sign(key, sequence, last, count, digest, now);
    Ok(store
        .insert_checkpoint(&checkpoint)
        .await?
        .then_some(checkpoint))
}

/// What is wrong with the log, naming the first place it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// An event's stored hash is not the hash of its content and predecessor: the event (or an
    /// earlier one of its stream) was altered.
    HashMismatch {
        /// Log position.
        position: u64,
        /// Stream.
        stream_id: StreamId,
        /// Version in the stream.
        version: u64,
        /// Event id.
        event_id: uuid::Uuid,
    },
    /// A stream's versions do not run 1, 2, 3, …: an event was deleted or versions swapped.
    VersionGap {
        /// Position of the event found where another was due.
        position: u64,
        /// Stream.
        stream_id: StreamId,
        /// The version that was due.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// A signed checkpoint does not match the log: events before it were removed or altered.
    CheckpointMismatch {
        /// Checkpoint sequence.
        sequence: u64,
        /// Last position it covers.
        position: u64,
        /// Events it counted.
        signed_count: u64,
        /// Events found up to its position.
        found_count: u64,
    },
    /// A checkpoint whose signature is invalid or made by an untrusted key.
    BadSignature {
        /// Checkpoint sequence.
        sequence: u64,
    },
    /// The stream table says a stream is longer (or has another last hash) than the log holds:
    /// its tail was deleted.
    StreamTailMissing {
        /// Stream.
        stream_id: StreamId,
        /// Version according to the stream table.
        recorded_version: u64,
        /// Last version in the log.
        found_version: u64,
    },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HashMismatch {
                position,
                stream_id,
                version,
                event_id,
            } => write!(
                f,
                "event {event_id} (stream {stream_id} version {version}, position {position}) \
                 does not match its hash: it or its stream's history was altered"
            ),
            Self::VersionGap {
                position,
                stream_id,
                expected,
                found,
            } => write!(
                f,
                "stream {stream_id} jumps from version {} to {found} at position {position}: \
                 version {expected} was deleted or moved",
                expected.saturating_sub(1)
            ),
            Self::CheckpointMismatch {
                sequence,
                position,
                signed_count,
                found_count,
            } => write!(
                f,
                "signed checkpoint {sequence} (up to position {position}, {signed_count} events) \
                 does not match the log ({found_count} events found): events were removed or altered"
            ),
            Self::BadSignature { sequence } => write!(
                f,
                "checkpoint {sequence} has an invalid signature or an untrusted key"
            ),
            Self::StreamTailMissing {
                stream_id,
                recorded_version,
                found_version,
            } => write!(
                f,
                "stream {stream_id} should end at version {recorded_version} but the log ends at \
                 version {found_version}: its last events were deleted"
            ),
        }
    }
}

/// The result of walking the whole log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Events walked.
    pub events: u64,
    /// Distinct streams seen.
    pub streams: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first break found, if any.
    pub first_break: Option<Break>,
}

/// Walks every hash chain and signed checkpoint; stops at the first break. `progress` is
/// called with the number of events walked so far, now and then, for a progress bar.
pub async fn verify(
    store: &dyn EventStore,
    trusted: &[VerifyingKey],
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let checkpoints = store.checkpoints().await?;
    let mut report = VerifyReport::default();
    for checkpoint in &checkpoints {
        if !checkpoint.signature_is_valid(trusted) {
            report.first_break = Some(Break::BadSignature {
                sequence: checkpoint.sequence,
            });
            return Ok(report);
        }
    }
    let mut pending = checkpoints.iter().peekable();
    let mut heads: HashMap<StreamId, (u64, [u8; 32])> = HashMap::new();
    let mut digest = GENESIS;
    let mut events = store.read_all(0, AsOf::Now);
    while let Some(event) = events.try_next().await? {
        while let Some(checkpoint) = pending.next_if(|c| c.position < event.position) {
            if let Some(found) = checkpoint_break(checkpoint, report.events, &digest) {
                report.first_break = Some(found);
                return Ok(report);
            }
            report.checkpoints += 1;
        }
        let (version, prev_hash) = heads.get(&event.stream_id).copied().unwrap_or((0, GENESIS));
        if event.stream_version != version + 1 {
            report.first_break = Some(Break::VersionGap {
                position: event.position,
                stream_id: event.stream_id,
                expected: version + 1,
                found: event.stream_version,
            });
            return Ok(report);
        }
        if event_hash(&prev_hash, &event) != event.hash {
            report.first_break = Some(Break::HashMismatch {
                position: event.position,
                stream_id: event.stream_id,
                version: event.stream_version,
                event_id: event.event_id,
            });
            return Ok(report);
        }
        digest = fold_digest(&digest, event.position, &event.hash);
        report.events += 1;
        if report.events % 100_000 == 0 {
            progress(report.events);
        }
        heads.insert(event.stream_id, (event.stream_version, event.hash));
    }
    drop(events);
    for checkpoint in pending {
        if let Some(found) = checkpoint_break(checkpoint, report.events, &digest) {
            report.first_break = Some(found);
            return Ok(report);
        }
        report.checkpoints += 1;
    }
    progress(report.events);
    report.streams = heads.len() as u64;
    report.first_break = tail_break(store, &heads).await?;
    Ok(report)
}

fn checkpoint_break(checkpoint: &Checkpoint, count: u64, digest: &[u8; 32]) -> Option<Break> {
    (checkpoint.event_count != count || &checkpoint.digest != digest).then_some(
        Break::CheckpointMismatch {
            sequence: checkpoint.sequence,
            position: checkpoint.position,
            signed_count: checkpoint.event_count,
            found_count: count,
        },
    )
}

async fn tail_break(
    store: &dyn EventStore,
    heads: &HashMap<StreamId, (u64, [u8; 32])>,
) -> Result<Option<Break>, StoreError> {
    let mut recorded = store.stream_heads();
    while let Some(head) = recorded.try_next().await? {
        let (found_version, found_hash) =
            heads.get(&head.stream_id).copied().unwrap_or((0, GENESIS));
        if found_version != head.version || found_hash != head.hash {
            return Ok(Some(Break::StreamTailMissing {
                stream_id: head.stream_id,
                recorded_version: head.version,
                found_version,
            }));
        }
    }
    Ok(None)
}
