//! Personal-data keys: a data key per person, wrapped by a master key, destroyed on erasure
//! (crypto-shredding); authenticated encryption and blind indexes.
//!
//! # Why
//!
//! A worker's NIK and name are personal data under UU 27/2022 (UU PDP): they must be
//! unreadable to whoever has no need for them, and erasable, although the event log is
//! append-only. So they never enter an event or a NATS message in clear: each person
//! (*subject*) has their own random 256-bit [`DataKey`], values are sealed with it
//! ([`DataKey::seal`], XChaCha20-Poly1305 with a fresh 24-byte nonce, associated data = key id
//! and label) and travel as [`Sealed`]. Erasing a person destroys the key ([`Vault::destroy`]):
//! the log keeps its shape, but the person's values can no longer be opened.
//!
//! # Keys
//!
//! * **Master key** ([`MasterKey`]): 32 bytes from the deployment's secret store, never stored
//!   in the database. From it, HMAC-SHA256 with the label `kesos-vault-kek-v1` derives the
//!   **key-encryption key** (KEK), whose short public fingerprint
//!   ([`MasterKey::fingerprint`]) is stored beside each key it wraps.
//! * **Data keys**: stored in `kesos_vault_keys`, one row per subject, wrapped under the KEK
//!   (XChaCha20-Poly1305, associated data = subject id + key id, so a wrapped key moved to
//!   another row will not open).
//! * **Rotation** without downtime: start every instance with the new master and the old one
//!   among `previous` (both can unwrap; new keys use the new one), run [`Vault::rotate`],
//!   then drop the old master from the configuration.
//!
//! # The blind-index key, and why it is not derived from the master
//!
//! [`Vault::blind_index`] lets enrollment find a duplicate NIK without storing it: the
//! digests are stored and compared for as long as the registry lives, so their key must
//! never change. Deriving it from the master would tie it to the one secret we want to be
//! able to rotate (a rotation would silently break every uniqueness check); deriving it from
//! the *oldest* master would keep a retired master alive forever; a second configured secret
//! would be one more thing operators must keep and never rotate. Instead the vault generates
//! a random blind-index key once, on first start, and stores it **wrapped under the master
//! like any data key** (table `kesos_vault_secrets`); [`Vault::rotate`] re-wraps it too. So
//! the digests stay stable across rotations, nothing secret is stored in clear, and there is
//! still one secret to configure. Each scope (`"enrollment.nik"`) derives its own key from it
//! (HMAC-SHA256, label `kesos-vault-blind-index-v1` + scope), so digests of different scopes
//! never match. A blind index of a NIK can be checked by anyone holding the key against
//! every possible NIK (the space is small), so it is as sensitive as the master; owners of
//! digests should delete an erased person's digest unless the law requires the marker.
//!
//! # What a reader sees after destruction
//!
//! [`Vault::key`] answers [`KeyState::Destroyed`] with the key id and the time; readers show
//! the person as erased (for example "data dihapus") and keep everything that is not
//! personal (ids, region codes, certificates). [`Vault::keys_for`] answers
//! [`VaultError::Destroyed`] for the subject, for ever, so no new personal data can be sealed
//! for them; destroying a subject that never had a key leaves a tombstone to the same effect.
//! Values sealed earlier still sit in the log and in messages as ciphertext with their key
//! id: nobody can open them without the destroyed key.
//!
//! # Honest limits of crypto-shredding
//!
//! Destroying a key overwrites it in the live table; old copies can outlive that:
//!
//! * **PostgreSQL** (MVCC) keeps the old row version, with the wrapped key, as a dead tuple
//!   until `VACUUM` removes it, and even then the bytes may stay in the page's free space
//!   until overwritten; the write-ahead log, WAL archives and base backups keep it for their
//!   retention period. The operator must let autovacuum run (or run `VACUUM` on
//!   `kesos_vault_keys` after erasures; `VACUUM FULL` rewrites the table) and expire backups
//!   and archives on a schedule.
//! * **SQLite**: the vault turns `secure_delete` on for the erasing connection (the old
//!   bytes are zeroed in the page) and truncates the write-ahead log afterwards, best effort;
//!   file-system snapshots and backups still keep copies.
//! * Every surviving copy is still wrapped under the master of its day. Rotating the master
//!   and, once the last backup taken under the old one has expired, destroying the old
//!   master, makes all those copies useless: an erasure is complete, everywhere, at the
//!   latest one backup-retention period after it. Keys already unwrapped in a running
//!   process's memory die with the process.
//! * Crypto-shredding protects what was sealed. Anything written in clear elsewhere (logs,
//!   spreadsheets, the LSPS roster copies) must be erased by its owner.

mod data_key;
mod error;
mod master;
mod store;
mod vault;

pub use data_key::{DataKey, Sealed};
pub use error::VaultError;
pub use master::MasterKey;
pub use vault::{Destroyed, KeyState, Vault};
