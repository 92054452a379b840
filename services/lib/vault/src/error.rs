//! The vault's one error type. No variant ever carries key material or plaintext: the worst
//! it names is a subject id, a key id or a master-key fingerprint.

use uuid::Uuid;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The subject was erased: its data key is destroyed and it will never get another one.
    /// Readers show the person as erased; writers must not record new personal data for it.
    #[error("the personal data of subject {subject} was erased, so its key no longer exists")]
    Destroyed {
        /// The erased person.
        subject: Uuid,
    },
    /// Authenticated decryption failed: wrong key, wrong label, or altered bytes. The vault
    /// cannot tell these apart, by design of the cipher.
    #[error("a value cannot be opened with key {key_id}: wrong key or label, or it was altered")]
    Undecryptable {
        /// The key that was tried.
        key_id: Uuid,
    },
    /// A stored key is wrapped under a master key this vault was not given (neither as the
    /// current one nor among the previous ones): a configuration error, not a data error.
    #[error("a key is wrapped under master key {fingerprint}, which this vault was not given")]
    UnknownMaster {
        /// The fingerprint stored beside the wrapped key.
        fingerprint: String,
    },
    /// The configured master key is not 64 hexadecimal digits. The reason never quotes the
    /// text itself, which may be a nearly correct secret.
    #[error("the master key is malformed: {0}")]
    MalformedMasterKey(String),
    /// The database failed or refused a statement.
    #[error("the vault's database failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<sqlx::migrate::MigrateError> for VaultError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Database(sqlx::Error::Migrate(Box::new(error)))
    }
}
