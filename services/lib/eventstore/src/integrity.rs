//! Tamper evidence: the per-stream hash chain and the signed checkpoints over the whole log.
//!
//! **Event hash.** `hash = SHA-256(prev_hash ‖ canonical bytes)`, where `prev_hash` is the hash
//! of the previous event of the same stream (32 zero bytes for version 1) and the canonical
//! bytes are, in order (integers big-endian, texts UTF-8 prefixed by their byte length as u32):
//!
//! ```text
//! "kesos-event-v1" ‖ len+stream_id ‖ u64 version ‖ 16-byte event id ‖ len+event_type
//! ‖ u32 schema_version ‖ len+payload ‖ len+correlation_id ‖ len+causation_id ‖ len+actor
//! ‖ i64 occurred_at µs ‖ i64 recorded_at µs
//! ```
//!
//! The trace context (`Metadata::trace_parent`) is left out: it says which request's trace the
//! event belongs to, not what happened, and chains hashed before it existed must still verify.
//!
//! PostgreSQL computes the same bytes in SQL (`kesos_event_hash`, migration 0001); the store
//! test suite checks that both agree by verifying PostgreSQL-written chains in Rust.
//!
//! **Log digest.** Chains are per stream (writers of different streams never wait for each
//! other's hashes), so deleting a stream's last event, or a whole stream, leaves every chain
//! intact. The log digest closes that hole: `digest = SHA-256(digest ‖ u64 position ‖ hash)`
//! folded over the log in position order, signed with Ed25519 at intervals as a
//! [`Checkpoint`]. Anything removed before the last checkpoint changes a signed digest.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::model::{RecordedEvent, unix_micros};

/// The hash that precedes version 1 of every stream, and the digest before position 1.
pub const GENESIS: [u8; 32] = [0; 32];

const EVENT_DOMAIN: &[u8] = b"kesos-event-v1";
const CHECKPOINT_DOMAIN: &[u8] = b"kesos-checkpoint-v1";

fn put_text(bytes: &mut Vec<u8>, text: &[u8]) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(text);
}

/// The canonical bytes of an event (see the module documentation).
pub fn canonical_bytes(event: &RecordedEvent) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(128 + event.payload.len());
    bytes.extend_from_slice(EVENT_DOMAIN);
    put_text(&mut bytes, event.stream_id.as_str().as_bytes());
    bytes.extend_from_slice(&event.stream_version.to_be_bytes());
    bytes.extend_from_slice(event.event_id.as_bytes());
    put_text(&mut bytes, event.event_type.as_str().as_bytes());
    bytes.extend_from_slice(&event.schema_version.to_be_bytes());
    put_text(&mut bytes, &event.payload);
    put_text(&mut bytes, event.metadata.correlation_id.as_bytes());
    put_text(&mut bytes, event.metadata.causation_id.as_bytes());
    put_text(&mut bytes, event.metadata.actor.as_bytes());
    bytes.extend_from_slice(&unix_micros(event.occurred_at).to_be_bytes());
    bytes.extend_from_slice(&unix_micros(event.recorded_at).to_be_bytes());
    bytes
}

/// The chain hash of `event` given the hash of its stream's previous event.
pub fn event_hash(prev_hash: &[u8; 32], event: &RecordedEvent) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical_bytes(event));
    hasher.finalize().into()
}

/// Folds one event into the log digest.
pub fn fold_digest(digest: &[u8; 32], position: u64, hash: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(digest);
    hasher.update(position.to_be_bytes());
    hasher.update(hash);
    hasher.finalize().into()
}

/// A signed statement "the log up to `position` held `event_count` events whose digest is
/// `digest`". Stored with the log, and worth copying elsewhere (to auditors) too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number of the checkpoint, from 1.
    pub sequence: u64,
    /// Last log position covered.
    pub position: u64,
    /// Number of events at or before `position`.
    pub event_count: u64,
    /// The log digest after folding the event at `position`.
    pub digest: [u8; 32],
    /// When it was signed.
    pub signed_at: OffsetDateTime,
    /// The public key that signed it.
    pub public_key: [u8; 32],
    /// Ed25519 signature over [`Checkpoint::signed_bytes`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// Signs a checkpoint.
    pub fn sign(
        key: &SigningKey,
        sequence: u64,
        position: u64,
        event_count: u64,
        digest: [u8; 32],
        signed_at: OffsetDateTime,
    ) -> Self {
        let public_key = key.verifying_key().to_bytes();
        let mut checkpoint = Self {
            sequence,
            position,
            event_count,
            digest,
            signed_at: crate::model::truncate_to_micros(signed_at),
            public_key,
            signature: [0; 64],
        };
        checkpoint.signature = key.sign(&checkpoint.signed_bytes()).to_bytes();
        checkpoint
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(CHECKPOINT_DOMAIN);
        bytes.extend_from_slice(&self.sequence.to_be_bytes());
        bytes.extend_from_slice(&self.position.to_be_bytes());
        bytes.extend_from_slice(&self.event_count.to_be_bytes());
        bytes.extend_from_slice(&self.digest);
        bytes.extend_from_slice(&unix_micros(self.signed_at).to_be_bytes());
        bytes.extend_from_slice(&self.public_key);
        bytes
    }

    /// Whether the signature is valid and made by one of `trusted` keys.
    pub fn signature_is_valid(&self, trusted: &[VerifyingKey]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else {
            return false;
        };
        if !trusted.iter().any(|t| t == &key) {
            return false;
        }
        key.verify(
            &self.signed_bytes(),
            &Signature::from_bytes(&self.signature),
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventType, Metadata, StreamId};
    use uuid::Uuid;

    fn event() -> RecordedEvent {
        RecordedEvent {
            position: 1,
            stream_id: StreamId::parse("worker-1").unwrap(),
            stream_version: 1,
            event_id: Uuid::nil(),
            event_type: EventType::parse("kesos.test.v1.Happened").unwrap(),
            schema_version: 1,
            payload: b"abc".to_vec(),
            metadata: Metadata::default(),
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            recorded_at: OffsetDateTime::UNIX_EPOCH,
            hash: GENESIS,
        }
    }

    #[test]
    fn changing_any_byte_of_the_payload_changes_the_hash() {
        let original = event_hash(&GENESIS, &event());
        let mut altered = event();
        altered.payload[0] ^= 1;
        assert_ne!(original, event_hash(&GENESIS, &altered));
    }

    #[test]
    fn the_hash_depends_on_the_previous_hash() {
        assert_ne!(
            event_hash(&GENESIS, &event()),
            event_hash(&[1; 32], &event())
        );
    }

    #[test]
    fn a_checkpoint_signed_by_a_trusted_key_verifies_and_an_altered_one_does_not() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let checkpoint = Checkpoint::sign(&key, 1, 10, 10, [3; 32], OffsetDateTime::UNIX_EPOCH);
        assert!(checkpoint.signature_is_valid(&[key.verifying_key()]));
        let mut altered = checkpoint.clone();
        altered.event_count = 9;
        assert!(!altered.signature_is_valid(&[key.verifying_key()]));
        let stranger = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(!checkpoint.signature_is_valid(&[stranger]));
    }
}
