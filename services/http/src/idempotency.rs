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
/// (FNV-1a, 128-bit) — the same key always names the same command; collisions between
/// different keys are as unlikely as between random UUIDs. Also used for message ids that
/// other systems (LSPS) choose.
pub fn uuid_for_key(text: &str) -> Uuid {
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
    fn a_key_with_spaces_inside_is_refused() {
        assert!(command_id(&headers("a b")).is_err());
    }
}
