//! `Idempotency-Key`: a client that retries a command with the same key gets the first
//! outcome and no second effect. The key becomes the command id, from which event ids derive.

use axum::http::HeaderMap;
use uuid::Uuid;

use crate::problem::{FieldError, Problem};

/// The header name.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The command id for a request: the `Idempotency-Key` when it is a UUID, a UUID derived
/// from it otherwise (so any opaque key of 1–200 printable characters works), or a fresh
/// UUIDv7 when none was sent.
pub fn command_id(headers: &HeaderMap) -> Result<Uuid, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(Uuid::now_v7());
    };
    let text = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| (1..=200).contains(&t.len()) && t.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            Problem::invalid(vec![FieldError::new(
                "Idempotency-Key",
                "idempotency_key.format",
                "must be 1-200 printable ASCII characters, ideally a UUID",
            )])
        })?;
    Ok(uuid_for_key(text))
}

/// The command id an opaque key names: the key itself when it is a UUID, else a stable UUIDv8
/// from SHA-256 over a label and the key, as kesos derives every other id — the same key
/// always names the same command, and nobody can choose two keys that name one command (LSPS
/// choose their message ids, which are keyed this way). Also used for message ids that other
/// systems (LSPS) choose.
pub fn uuid_for_key(text: &str) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(text) {
        return uuid;
    }
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"kesos.idempotency-key");
    hasher.update([0]);
    hasher.update(text.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The command id kesos derived from an opaque key before it used SHA-256 (FNV-1a, 128-bit),
/// kept only to recognise commands recorded then: their events' ids derive from it, so a
/// client retrying such a command after the upgrade must be answered with what was recorded
/// (the gate rewrites the key to this id when its first event is stored). Never use it for a
/// new id: FNV-1a collisions can be chosen.
pub fn legacy_uuid_for_key(text: &str) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(text) {
        return uuid;
    }
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = text.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(byte)).wrapping_mul(PRIME)
    });
    uuid::Builder::from_custom_bytes(hash.to_be_bytes()).into_uuid()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn headers(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, key.parse().unwrap());
        headers
    }

    #[test]
    fn a_uuid_key_is_the_command_id() {
        let id = Uuid::now_v7();
        assert_eq!(command_id(&headers(&id.to_string())).unwrap(), id);
    }

    #[test]
    fn the_same_opaque_key_names_the_same_command() {
        let a = command_id(&headers("import-2025-01")).unwrap();
        assert_eq!(a, command_id(&headers("import-2025-01")).unwrap());
        assert_ne!(a, command_id(&headers("import-2025-02")).unwrap());
    }

    #[test]
    fn an_opaque_key_names_a_command_through_sha_256_not_fnv() {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(b"kesos.idempotency-key\0lsps:LSPS-PEKSOS:m-1");
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        let expected = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        assert_eq!(uuid_for_key("lsps:LSPS-PEKSOS:m-1"), expected);
        // The old derivation stays available to recognise what was recorded with it.
        assert_ne!(legacy_uuid_for_key("lsps:LSPS-PEKSOS:m-1"), expected);
        assert_eq!(
            legacy_uuid_for_key("import-2025-01").to_string(),
            "c48d8a2d-90fb-8e43-975f-942a06059908"
        );
    }

    #[test]
    fn a_key_with_spaces_inside_is_refused() {
        assert!(command_id(&headers("a b")).is_err());
    }
}
