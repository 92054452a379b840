//! W3C Bitstring Status Lists: one bit per certificate (its `status_list_index`), set when the
//! certificate is revoked (purpose `revocation`) or suspended (purpose `suspension`).
//! Published as a signed `BitstringStatusListCredential` computed from the registry on each
//! request, so it changes with every status change.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Map, Value, json};

use crate::credential::{VC_CONTEXT, did_key, proof};

/// The smallest list the specification allows (16 KiB), which also hides how many
/// certificates exist; lists grow in steps of this size.
pub const MIN_BITS: u64 = 131_072;

/// What a list's bits mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A set bit: the certificate is revoked (final).
    Revocation,
    /// A set bit: the certificate is suspended now.
    Suspension,
}

impl Purpose {
    /// The `statusPurpose` value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }
}

/// The bitstring with `set` bits on (bit 0 = most significant bit of byte 0), at least
/// [`MIN_BITS`] long.
pub fn bitstring(set: &[u64]) -> Vec<u8> {
    bitstring_covering(set, 0)
}

/// [`bitstring`], long enough to hold bit `covering` too (the highest index given to any
/// certificate: a relying party must find every certificate's bit in the list, set or not).
pub fn bitstring_covering(set: &[u64], covering: u64) -> Vec<u8> {
    let highest = set.iter().copied().max().unwrap_or(0).max(covering);
    let bits = (highest / MIN_BITS + 1) * MIN_BITS;
    let mut bytes = vec![0u8; usize::try_from(bits / 8).unwrap_or(0)];
    for &index in set {
        if let Some(byte) = usize::try_from(index / 8)
            .ok()
            .and_then(|i| bytes.get_mut(i))
        {
            *byte |= 0x80 >> (index % 8);
        }
    }
    bytes
}

/// `encodedList`: multibase base64url (`u`, no padding) of the gzip-compressed bitstring.
pub fn encode(bits: &[u8]) -> String {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let compressed = gzip
        .write_all(bits)
        .and_then(|()| gzip.finish())
        .unwrap_or_default();
    format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
}

/// The bitstring of an `encodedList`, for relying parties and tests; `None` when it is not
/// one.
pub fn decode(encoded: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let compressed = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut bits)
        .ok()?;
    Some(bits)
}

/// Whether bit `index` is set in a bitstring.
pub fn is_set(bits: &[u8], index: u64) -> bool {
    usize::try_from(index / 8)
        .ok()
        .and_then(|i| bits.get(i))
        .is_some_and(|byte| byte & (0x80 >> (index % 8)) != 0)
}

/// The signed status list credential published at `url`, its list long enough to hold bit
/// `covering` (the highest index given out).
pub fn credential(
    url: &str,
    purpose: Purpose,
    set: &[u64],
    covering: u64,
    issuer_name: &str,
    key: &SigningKey,
    now: &str,
) -> Value {
    let document = json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": { "id": did_key(&key.verifying_key()), "name": issuer_name },
        "validFrom": now,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.code(),
            "encodedList": encode(&bitstring_covering(set, covering)),
        },
    });
    match document {
        Value::Object(document) => proof::sign(document, key, now),
        _ => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn set_bits_survive_encoding_and_the_list_has_the_minimum_size() {
        let bits = bitstring(&[0, 7, 9, 131_071]);
        assert_eq!(bits.len() * 8, 131_072);
        let decoded = decode(&encode(&bits)).unwrap();
        for index in [0, 7, 9, 131_071] {
            assert!(is_set(&decoded, index), "{index}");
        }
        assert!(!is_set(&decoded, 8));
        assert_eq!(decoded[0], 0b1000_0001);
    }

    #[test]
    fn a_list_grows_past_the_minimum_in_steps() {
        assert_eq!(bitstring(&[131_072]).len() * 8, 2 * 131_072);
    }

    #[test]
    fn a_list_holds_the_highest_index_given_out_even_when_its_bit_is_clear() {
        assert_eq!(bitstring_covering(&[3], 200_000).len() * 8, 2 * 131_072);
    }
}
