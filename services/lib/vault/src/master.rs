//! The master key and what is derived from it: the key-encryption key (KEK) that wraps every
//! data key, and the KEK's fingerprint, stored beside each wrapped key so that a vault given
//! the previous masters can still unwrap keys during a rotation.

use std::collections::HashMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::VaultError;

/// Label of the KEK derivation; a new label is a new KEK, so it carries a version.
const KEK_LABEL: &[u8] = b"kesos-vault-kek-v1";
/// Label of the fingerprint hash, so a fingerprint is never an HMAC output used elsewhere.
const FINGERPRINT_LABEL: &[u8] = b"kesos-vault-kek-fingerprint-v1";
/// Bytes of every key the vault handles (master, KEK, data keys, blind-index key).
pub(crate) const KEY_LEN: usize = 32;
/// Bytes of an XChaCha20-Poly1305 nonce: large enough to draw at random for every message.
pub(crate) const NONCE_LEN: usize = 24;

/// A 32-byte secret held as bytes that are zeroed when dropped.
pub(crate) type Secret = Zeroizing<[u8; KEY_LEN]>;

/// The root secret of a deployment: 32 random bytes, configured as 64 hex digits.
///
/// Invariant: the bytes are zeroed on drop and never printed; `Debug` shows only the
/// fingerprint. It is deliberately not `Clone`, so copies of it do not spread; use
/// [`MasterKey::to_hex`] and [`MasterKey::from_hex`] when a copy is really needed.
pub struct MasterKey {
    bytes: Secret,
}

impl MasterKey {
    /// A fresh master key from the operating system's random source.
    pub fn generate() -> Self {
        Self {
            bytes: random_secret(),
        }
    }

    /// Parses 64 hexadecimal digits (surrounding whitespace ignored, so a key file's final
    /// newline is harmless). The error never repeats the text.
    pub fn from_hex(text: &str) -> Result<Self, VaultError> {
        let text = text.trim();
        if text.len() != 2 * KEY_LEN {
            return Err(VaultError::MalformedMasterKey(format!(
                "expected {} hexadecimal digits, got {} characters",
                2 * KEY_LEN,
                text.chars().count()
            )));
        }
        let mut bytes: Secret = Zeroizing::new([0; KEY_LEN]);
        hex::decode_to_slice(text, bytes.as_mut_slice()).map_err(|_| {
            VaultError::MalformedMasterKey("it contains characters that are not hexadecimal".into())
        })?;
        Ok(Self { bytes })
    }

    /// The key as 64 lowercase hex digits, for writing it to a secret store. Treat the result
    /// as the secret it is.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes.as_slice())
    }

    /// A short public id of this master's KEK (16 hex digits), stored beside each key it
    /// wraps; safe to log.
    pub fn fingerprint(&self) -> String {
        self.kek().fingerprint
    }

    /// The key-encryption key: HMAC-SHA256 of a fixed label under the master.
    pub(crate) fn kek(&self) -> Kek {
        let bytes = derive(&self.bytes, KEK_LABEL);
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update(bytes.as_slice())
            .finalize();
        Kek {
            fingerprint: hex::encode(&digest[..8]),
            bytes,
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 of `label` under `key`: the vault's one key-derivation step (also the
/// blind-index digest).
pub(crate) fn derive(key: &[u8; KEY_LEN], label: &[u8]) -> Secret {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps it total.
    let mut out: Secret = Zeroizing::new([0; KEY_LEN]);
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        mac.update(label);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// 32 bytes from the operating system's random source.
pub(crate) fn random_secret() -> Secret {
    let mut bytes: Secret = Zeroizing::new([0; KEY_LEN]);
    OsRng.fill_bytes(bytes.as_mut_slice());
    bytes
}

/// A fresh random nonce.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

/// A key-encryption key with its public fingerprint.
pub(crate) struct Kek {
    pub(crate) fingerprint: String,
    bytes: Secret,
}

/// A wrapped key as stored: ciphertext (key plus tag) and the nonce it was sealed with.
pub(crate) struct Wrapped {
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) nonce: Vec<u8>,
}

impl Kek {
    /// Seals `secret` with XChaCha20-Poly1305, binding it to `aad` (the owner's ids).
    pub(crate) fn wrap(&self, aad: &[u8], secret: &Secret) -> Wrapped {
        let nonce = random_nonce();
        let cipher = XChaCha20Poly1305::new(self.bytes.as_slice().into());
        // Encryption only fails beyond 256 GiB of plaintext; a key is 32 bytes.
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_slice(),
                    aad,
                },
            )
            .unwrap_or_default();
        Wrapped {
            ciphertext,
            nonce: nonce.to_vec(),
        }
    }

    /// Opens a wrapped key; `None` when the bytes, the nonce or the owner's ids do not match.
    pub(crate) fn unwrap(&self, aad: &[u8], ciphertext: &[u8], nonce: &[u8]) -> Option<Secret> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(self.bytes.as_slice().into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad,
                    },
                )
                .ok()?,
        );
        let mut secret: Secret = Zeroizing::new([0; KEY_LEN]);
        if plain.len() != KEY_LEN {
            return None;
        }
        secret.copy_from_slice(&plain);
        Some(secret)
    }
}

/// The current KEK, which wraps new keys, and every KEK the vault may unwrap with.
pub(crate) struct Keyring {
    pub(crate) current: Kek,
    known: HashMap<String, Kek>,
}

impl Keyring {
    /// The current master's KEK plus the previous masters' ones.
    pub(crate) fn new(master: &MasterKey, previous: &[MasterKey]) -> Self {
        let known = previous
            .iter()
            .chain(std::iter::once(master))
            .map(|key| {
                let kek = key.kek();
                (kek.fingerprint.clone(), kek)
            })
            .collect();
        Self {
            current: master.kek(),
            known,
        }
    }

    /// The KEK with this fingerprint.
    pub(crate) fn get(&self, fingerprint: &str) -> Result<&Kek, VaultError> {
        self.known
            .get(fingerprint)
            .ok_or_else(|| VaultError::UnknownMaster {
                fingerprint: fingerprint.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_master_key_survives_a_hex_round_trip() {
        let key = MasterKey::generate();
        let again = MasterKey::from_hex(&format!("{}\n", key.to_hex())).unwrap();
        assert_eq!(again.to_hex(), key.to_hex());
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(key.fingerprint().len(), 16);
    }

    #[test]
    fn malformed_hex_is_refused_without_being_quoted() {
        let good = MasterKey::generate().to_hex();
        for text in [
            &good[..63],
            &format!("{}zz", &good[..62]),
            "",
            &format!("{good}00"),
        ] {
            let error = MasterKey::from_hex(text).unwrap_err();
            assert!(matches!(error, VaultError::MalformedMasterKey(_)));
            if text.len() > 8 {
                assert!(!error.to_string().contains(&text[..8]));
            }
        }
    }

    #[test]
    fn debug_shows_the_fingerprint_but_never_the_key() {
        let key = MasterKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.fingerprint()));
        assert!(!shown.contains(&key.to_hex()));
    }

    #[test]
    fn different_masters_have_different_fingerprints() {
        assert_ne!(
            MasterKey::generate().fingerprint(),
            MasterKey::generate().fingerprint()
        );
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_kek_and_owner_ids() {
        let kek = MasterKey::generate().kek();
        let other = MasterKey::generate().kek();
        let secret = random_secret();
        let wrapped = kek.wrap(b"owner-a", &secret);
        let opened = kek.unwrap(b"owner-a", &wrapped.ciphertext, &wrapped.nonce);
        assert_eq!(opened.as_deref(), Some(&*secret));
        assert!(
            kek.unwrap(b"owner-b", &wrapped.ciphertext, &wrapped.nonce)
                .is_none()
        );
        assert!(
            other
                .unwrap(b"owner-a", &wrapped.ciphertext, &wrapped.nonce)
                .is_none()
        );
        assert!(
            kek.unwrap(b"owner-a", &wrapped.ciphertext, &wrapped.nonce[1..])
                .is_none()
        );
    }
}
