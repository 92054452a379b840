//! A person's data key and the sealed values it produces.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use uuid::Uuid;

use crate::error::VaultError;
use crate::master::{NONCE_LEN, Secret, random_nonce};

/// One person's data key: the only key that opens their NIK and name.
///
/// Invariant: the secret is zeroed when the last copy is dropped and never printed (`Debug`
/// shows the ids only). A `DataKey` exists only for a live subject; once the subject is
/// destroyed the vault hands out no more copies, and copies still held in memory die with
/// the process.
#[derive(Clone)]
pub struct DataKey {
    key_id: Uuid,
    subject: Uuid,
    secret: Secret,
}

/// An encrypted value as it travels in events and messages; mirrors the protobuf
/// `EncryptedField`. It names the key (`key_id`, a UUID in text) but carries nothing secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// XChaCha20-Poly1305 ciphertext followed by its 16-byte tag.
    pub ciphertext: Vec<u8>,
    /// The 24-byte random nonce it was sealed with.
    pub nonce: Vec<u8>,
    /// The id of the data key that sealed it.
    pub key_id: String,
}

impl DataKey {
    pub(crate) fn new(key_id: Uuid, subject: Uuid, secret: Secret) -> Self {
        Self {
            key_id,
            subject,
            secret,
        }
    }

    /// The key's id, public: written beside every value it seals.
    pub fn key_id(&self) -> Uuid {
        self.key_id
    }

    /// The person this key belongs to.
    pub fn subject(&self) -> Uuid {
        self.subject
    }

    /// Encrypts `plaintext` under this key with a fresh random nonce. The associated data is
    /// the key id plus `label` (say `"nik"` or `"name"`), so a sealed NIK cannot be passed off
    /// as a name, nor one person's value as another's. (The cipher's limit is 256 GiB of
    /// plaintext; beyond it the ciphertext is empty and never opens.)
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Sealed {
        let nonce = random_nonce();
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &self.associated_data(label),
                },
            )
            .unwrap_or_default();
        Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: self.key_id.to_string(),
        }
    }

    /// Decrypts a value sealed by this key under the same label; any other key, label, or
    /// altered byte is [`VaultError::Undecryptable`].
    pub fn open(&self, label: &str, sealed: &Sealed) -> Result<Vec<u8>, VaultError> {
        let refused = VaultError::Undecryptable {
            key_id: self.key_id,
        };
        let same_key = Uuid::parse_str(&sealed.key_id).is_ok_and(|id| id == self.key_id);
        if !same_key || sealed.nonce.len() != NONCE_LEN {
            return Err(refused);
        }
        self.cipher()
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &self.associated_data(label),
                },
            )
            .map_err(|_| refused)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.secret.as_slice().into())
    }

    /// Key id (fixed 16 bytes) then label: unambiguous without a separator.
    fn associated_data(&self, label: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(16 + label.len());
        aad.extend_from_slice(self.key_id.as_bytes());
        aad.extend_from_slice(label.as_bytes());
        aad
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("key_id", &self.key_id)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::master::random_secret;

    fn key() -> DataKey {
        DataKey::new(Uuid::new_v4(), Uuid::new_v4(), random_secret())
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts_that_both_open() {
        let key = key();
        let a = key.seal("nik", b"3277010101900001");
        let b = key.seal("nik", b"3277010101900001");
        assert_ne!(a, b);
        assert_eq!(key.open("nik", &a).unwrap(), b"3277010101900001");
        assert_eq!(key.open("nik", &b).unwrap(), b"3277010101900001");
        assert_eq!(a.key_id, key.key_id().to_string());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = key();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.key_id().to_string()));
        assert!(!shown.contains("secret"));
    }

    #[test]
    fn a_value_relabelled_with_another_key_id_is_refused() {
        let (a, b) = (key(), key());
        let mut sealed = a.seal("name", b"Siti");
        sealed.key_id = b.key_id().to_string();
        assert!(matches!(
            b.open("name", &sealed),
            Err(VaultError::Undecryptable { .. })
        ));
    }
}
