//! Event ids derived from the command id, so a retried command appends the very same events
//! and the store's idempotency turns the retry into a no-op.

use uuid::Uuid;

/// Bits of a UUIDv7 that carry neither the timestamp nor the version and variant: the 62
/// random bits after the variant (`rand_b`).
const RAND_B_MASK: u128 = (1 << 62) - 1;

/// Everything except `rand_b`: the 48-bit timestamp, version, `rand_a` and variant.
const KEPT_MASK: u128 = !RAND_B_MASK;

/// The version (7) and RFC 9562 variant (`10`) bits, set on every derived id.
const VERSION_BITS: u128 = 0x7 << 76;
const VERSION_MASK: u128 = 0xF << 76;
const VARIANT_BITS: u128 = 0b10 << 62;
const VARIANT_MASK: u128 = 0b11 << 62;

/// Odd 64-bit golden-ratio constant: spreads consecutive indexes far apart in `rand_b`, so ids
/// derived from two nearly equal command ids do not collide.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

/// The id of the event at `index` (0-based) among those one command appends.
///
/// Invariant: the result is a UUIDv7 with the command id's 48-bit timestamp and `rand_a`;
/// its `rand_b` is the command id's plus `(index + 1) * SPREAD` (mod 2^62). Equal inputs give
/// equal ids; different indexes of one command give different ids; the command id itself is
/// never one of its events' ids.
pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
    let bits = command_id.as_u128();
    let step = u64::try_from(index)
        .unwrap_or(u64::MAX)
        .wrapping_add(1)
        .wrapping_mul(SPREAD);
    let rand_b = (bits & RAND_B_MASK).wrapping_add(u128::from(step)) & RAND_B_MASK;
    let kept = bits & KEPT_MASK & !VERSION_MASK & !VARIANT_MASK;
    Uuid::from_u128(kept | VERSION_BITS | VARIANT_BITS | rand_b)
}

/// A stable UUIDv8 from SHA-256 over `label` and `id`: the id of a command that another event
/// or command causes (a certificate issued from a decision, a candidate returned after a
/// cancellation, the n-th step of a saga). Distinct per label, the same on every redelivery.
///
/// Derive such ids with this, never with [`event_id`]: event ids are `id + (index + 1) * k`,
/// so `event_id(event_id(c, n), i)` is `event_id(c, n + i + 1)` — one step's second event
/// would be the next step's first.
pub fn derive_uuid(label: &str, id: Uuid) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update([0]);
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use uuid::{Variant, Version};

    use super::*;

    #[test]
    fn derived_ids_are_valid_v7_with_the_command_timestamp() {
        let command = Uuid::now_v7();
        for index in [0, 1, 2, 1000] {
            let id = event_id(command, index);
            assert_eq!(id.get_version(), Some(Version::SortRand));
            assert_eq!(id.get_variant(), Variant::RFC4122);
            assert_eq!(id.get_timestamp(), command.get_timestamp());
            assert_ne!(id, command);
        }
    }

    #[test]
    fn the_same_command_and_index_always_give_the_same_id() {
        let command = Uuid::now_v7();
        assert_eq!(event_id(command, 3), event_id(command, 3));
    }

    #[test]
    fn ids_of_one_command_and_of_neighbouring_commands_do_not_collide() {
        let base = Uuid::now_v7().as_u128();
        let mut seen = HashSet::new();
        for neighbour in 0..50u128 {
            let command = Uuid::from_u128(base.wrapping_add(neighbour));
            for index in 0..50 {
                assert!(seen.insert(event_id(command, index)));
            }
        }
    }

    #[test]
    fn a_command_id_that_is_not_v7_still_yields_v7_event_ids() {
        let id = event_id(Uuid::new_v4(), 0);
        assert_eq!(id.get_version(), Some(Version::SortRand));
        assert_eq!(id.get_variant(), Variant::RFC4122);
    }
}
