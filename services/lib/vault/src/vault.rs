//! The vault: gets, creates, destroys and re-wraps data keys, and computes blind indexes.
//! All cryptography on stored keys happens here; [`crate::store`] only moves wrapped bytes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kesos_sql::{Backend, Db, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::data_key::DataKey;
use crate::error::VaultError;
use crate::master::{Kek, Keyring, MasterKey, Secret, derive, random_secret};
use crate::store::{KeyRow, NewKey, Rewrap, SecretRow, Store, select_in};

/// Name of the stored blind-index key in `kesos_vault_secrets`.
const BLIND_INDEX_SECRET: &str = "blind-index-v1";
/// Label of the per-scope blind-index key derivation.
const BLIND_INDEX_LABEL: &[u8] = b"kesos-vault-blind-index-v1";
/// Keys re-wrapped per round trip by [`Vault::rotate`].
const ROTATE_PAGE: usize = 1_000;

/// Personal-data keys of every worker (see the crate docs for the design and its limits).
///
/// Invariant: at most one key per subject, ever; once destroyed, a subject's key is gone and
/// the subject never gets another. Cheap to clone: clones share one pool and one keyring.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Vault {
    /// Names the backend and the current master's fingerprint; never a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.inner.store.backend() {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        };
        f.debug_struct("Vault")
            .field("backend", &backend)
            .field("master", &self.inner.keyring.current.fingerprint)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    keyring: Keyring,
    blind_root: Secret,
}

/// What the vault holds for one subject.
#[derive(Debug)]
pub enum KeyState {
    /// The subject's key, unwrapped: their values can be opened.
    Live(DataKey),
    /// The subject was erased at `destroyed_at`; values sealed under `key_id` are unreadable.
    Destroyed {
        /// The destroyed key's id (a fresh id if the subject never had a key).
        key_id: Uuid,
        /// When it was destroyed, as given to [`Vault::destroy`].
        destroyed_at: OffsetDateTime,
    },
    /// The subject never had a key: nothing personal was ever sealed for it.
    Missing,
}

/// The outcome of [`Vault::destroy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destroyed {
    /// The destroyed key (or the tombstone's id, if the subject never had a key).
    pub key_id: Uuid,
    /// The subject had already been destroyed before this call; nothing changed.
    pub already: bool,
}

impl Vault {
    /// The vault on `db` (a PostgreSQL pool's schema, or a SQLite file), after applying its
    /// migrations. `previous` are retired masters whose keys may still be wrapped under them
    /// (until [`Self::rotate`]). Fails with [`VaultError::UnknownMaster`] when the database
    /// was set up under a master that is neither `master` nor among `previous`: a
    /// misconfiguration shows at start-up. A SQLite pool should have a busy timeout (as the
    /// event store's options do), since the vault's writers queue on the file lock.
    pub async fn open(
        db: impl Into<Db>,
        master: MasterKey,
        previous: Vec<MasterKey>,
    ) -> Result<Self, VaultError> {
        let store = Store::open(db.into()).await?;
        let keyring = Keyring::new(&master, &previous);
        let blind_root = load_or_create_secret(&store, &keyring, BLIND_INDEX_SECRET).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keyring,
                blind_root,
            }),
        })
    }

    /// Gets or creates the live key of each subject, one slot per input in input order:
    /// a destroyed subject's slot is [`VaultError::Destroyed`]. Costs one read for the whole
    /// slice plus, when some keys are new, one transaction holding one insert (and a re-read
    /// of only the subjects another caller created meanwhile), each statement covering up to
    /// a thousand subjects; concurrent callers for the same subject all end with the one
    /// stored key (unique subject, `ON CONFLICT DO NOTHING`).
    pub async fn keys_for(
        &self,
        subjects: &[Uuid],
    ) -> Result<Vec<Result<DataKey, VaultError>>, VaultError> {
        let mut seen = HashSet::with_capacity(subjects.len());
        let unique: Vec<Uuid> = subjects
            .iter()
            .copied()
            .filter(|s| seen.insert(*s))
            .collect();
        let mut rows: HashMap<Uuid, KeyRow> = self
            .inner
            .store
            .select(&unique)
            .await?
            .into_iter()
            .map(|row| (row.subject, row))
            .collect();
        let mut missing: Vec<Uuid> = unique
            .into_iter()
            .filter(|s| !rows.contains_key(s))
            .collect();
        let mut fresh: HashMap<Uuid, DataKey> = HashMap::new();
        if !missing.is_empty() {
            // One insertion order for everyone, so concurrent batches cannot deadlock.
            missing.sort_unstable();
            let kek = &self.inner.keyring.current;
            let (new_keys, mut keys): (Vec<NewKey>, Vec<DataKey>) =
                missing.iter().map(|&s| new_key(kek, s)).unzip();
            let now = OffsetDateTime::now_utc();
            let outcome = self
                .inner
                .store
                .insert(&new_keys, &kek.fingerprint, now)
                .await?;
            // Keys this call stored are used as generated; the others lost a race (or hit a
            // tombstone) and are replaced by what was stored first.
            keys.retain(|key| outcome.stored.contains(&key.subject()));
            fresh.extend(keys.into_iter().map(|key| (key.subject(), key)));
            rows.extend(outcome.existing.into_iter().map(|row| (row.subject, row)));
        }
        Ok(subjects
            .iter()
            .map(|subject| {
                if let Some(key) = fresh.get(subject) {
                    return Ok(key.clone());
                }
                match rows.get(subject).map(|row| self.state(row)).transpose()? {
                    Some(KeyState::Live(key)) => Ok(key),
                    Some(KeyState::Destroyed { .. }) => {
                        Err(VaultError::Destroyed { subject: *subject })
                    }
                    Some(KeyState::Missing) | None => {
                        Err(VaultError::Database(sqlx::Error::RowNotFound))
                    }
                }
            })
            .collect())
    }

    /// Gets or creates one subject's key, as [`Self::keys_for`].
    pub async fn key_for(&self, subject: Uuid) -> Result<DataKey, VaultError> {
        self.keys_for(&[subject])
            .await?
            .into_iter()
            .next()
            .unwrap_or(Err(VaultError::Database(sqlx::Error::RowNotFound)))
    }

    /// Reads the state of each subject without creating anything (every input appears in the
    /// map); for showing lists of workers. A key that cannot be unwrapped fails the whole
    /// call: it means a missing previous master or altered rows, which must not go unnoticed.
    pub async fn keys(&self, subjects: &[Uuid]) -> Result<HashMap<Uuid, KeyState>, VaultError> {
        let mut states = all_missing(subjects);
        let unique: Vec<Uuid> = states.keys().copied().collect();
        for row in self.inner.store.select(&unique).await? {
            states.insert(row.subject, self.state(&row)?);
        }
        Ok(states)
    }

    /// [`Self::keys`], read inside the caller's transaction `tx` (on a database that holds
    /// the vault's tables) instead of on a connection of the vault's pool, so the rows are
    /// those that transaction sees. For a caller inside a write transaction on the vault's
    /// database, such as a consumer's handler: on SQLite that transaction holds the file's one
    /// write lock, and the pool's other connections may all be taken by writers waiting for
    /// that lock, so waiting for one of them would hold every writer of the file up until
    /// their busy timeout.
    pub async fn keys_on(
        &self,
        tx: &mut Tx,
        subjects: &[Uuid],
    ) -> Result<HashMap<Uuid, KeyState>, VaultError> {
        let mut states = all_missing(subjects);
        let unique: Vec<Uuid> = states.keys().copied().collect();
        for row in select_in(tx, &unique).await? {
            states.insert(row.subject, self.state(&row)?);
        }
        Ok(states)
    }

    /// Reads one subject's state, as [`Self::keys`].
    pub async fn key(&self, subject: Uuid) -> Result<KeyState, VaultError> {
        Ok(self
            .keys(&[subject])
            .await?
            .remove(&subject)
            .unwrap_or(KeyState::Missing))
    }

    /// Erases a subject: overwrites its wrapped key with NULL and records `at`. Idempotent
    /// (a second call reports `already`); a subject without a key gets a tombstone, so it can
    /// never be given one later. What remains readable afterwards is in the crate docs.
    pub async fn destroy(
        &self,
        subject: Uuid,
        at: OffsetDateTime,
    ) -> Result<Destroyed, VaultError> {
        let row = self
            .inner
            .store
            .destroy(subject, Uuid::new_v4(), at)
            .await?;
        tracing::info!(%subject, key_id = %row.key_id, already = row.already, "data key destroyed");
        Ok(Destroyed {
            key_id: row.key_id,
            already: row.already,
        })
    }

    /// A stable, keyed digest of `value` (hex HMAC-SHA256) for finding duplicates without
    /// storing the value, e.g. `blind_index("enrollment.nik", nik)`. Each scope has its own
    /// derived key, so digests from different scopes never match. The value is used byte for
    /// byte: normalise it first. Stable across master rotations (see the crate docs).
    pub fn blind_index(&self, scope: &str, value: &str) -> String {
        let mut label = Vec::with_capacity(BLIND_INDEX_LABEL.len() + 1 + scope.len());
        label.extend_from_slice(BLIND_INDEX_LABEL);
        label.push(0);
        label.extend_from_slice(scope.as_bytes());
        let scope_key = derive(&self.inner.blind_root, &label);
        hex::encode(derive(&scope_key, value.as_bytes()).as_slice())
    }

    /// Re-wraps every live key (and the vault's blind-index key) that is still wrapped under
    /// a previous master with the current one, a page at a time; returns how many it
    /// re-wrapped. Safe to run while the vault is in use, and to repeat: it never touches a
    /// destroyed key. Afterwards the previous masters are no longer needed.
    pub async fn rotate(&self) -> Result<u64, VaultError> {
        let store = &self.inner.store;
        let keyring = &self.inner.keyring;
        let current = &keyring.current;
        let mut count = 0;
        if let Some(row) = store.secret(BLIND_INDEX_SECRET).await?
            && row.kek_fingerprint != current.fingerprint
        {
            let aad = secret_aad(BLIND_INDEX_SECRET, row.key_id);
            let secret = keyring
                .get(&row.kek_fingerprint)?
                .unwrap(&aad, &row.wrapped, &row.nonce)
                .ok_or(VaultError::Undecryptable { key_id: row.key_id })?;
            let wrapped = current.wrap(&aad, &secret);
            let new_row = SecretRow {
                key_id: row.key_id,
                kek_fingerprint: current.fingerprint.clone(),
                wrapped: wrapped.ciphertext,
                nonce: wrapped.nonce,
            };
            count += store
                .rewrap_secret(BLIND_INDEX_SECRET, &row.kek_fingerprint, &new_row)
                .await?;
        }
        let mut after = None;
        loop {
            let page = store
                .stale_page(&current.fingerprint, after, ROTATE_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.subject);
            let rewraps = page
                .iter()
                .map(|row| self.rewrap(row))
                .collect::<Result<Vec<_>, _>>()?;
            count += store.rewrap(&current.fingerprint, &rewraps).await?;
        }
        tracing::info!(count, fingerprint = %current.fingerprint, "keys re-wrapped under the current master");
        Ok(count)
    }

    /// Unwraps a row into what it says about its subject.
    fn state(&self, row: &KeyRow) -> Result<KeyState, VaultError> {
        if let Some(destroyed_at) = row.destroyed_at {
            return Ok(KeyState::Destroyed {
                key_id: row.key_id,
                destroyed_at,
            });
        }
        Ok(KeyState::Live(DataKey::new(
            row.key_id,
            row.subject,
            self.unwrap(row)?,
        )))
    }

    fn unwrap(&self, row: &KeyRow) -> Result<Secret, VaultError> {
        let refused = VaultError::Undecryptable { key_id: row.key_id };
        let (Some(fingerprint), Some(wrapped), Some(nonce)) =
            (&row.kek_fingerprint, &row.wrapped, &row.nonce)
        else {
            return Err(refused);
        };
        self.inner
            .keyring
            .get(fingerprint)?
            .unwrap(&data_key_aad(row.subject, row.key_id), wrapped, nonce)
            .ok_or(refused)
    }

    fn rewrap(&self, row: &KeyRow) -> Result<Rewrap, VaultError> {
        let secret = self.unwrap(row)?;
        let current = &self.inner.keyring.current;
        Ok(Rewrap {
            subject: row.subject,
            old_fingerprint: row.kek_fingerprint.clone().unwrap_or_default(),
            wrapped: current.wrap(&data_key_aad(row.subject, row.key_id), &secret),
        })
    }
}

/// Every subject asked about, each [`KeyState::Missing`] until its row says otherwise.
fn all_missing(subjects: &[Uuid]) -> HashMap<Uuid, KeyState> {
    subjects
        .iter()
        .map(|&subject| (subject, KeyState::Missing))
        .collect()
}

/// A fresh data key for `subject`: the row to insert (wrapped under `kek`) and the key.
fn new_key(kek: &Kek, subject: Uuid) -> (NewKey, DataKey) {
    let key_id = Uuid::new_v4();
    let secret = random_secret();
    let row = NewKey {
        subject,
        key_id,
        wrapped: kek.wrap(&data_key_aad(subject, key_id), &secret),
    };
    (row, DataKey::new(key_id, subject, secret))
}

/// A wrapped data key is bound to its subject and id: swapping rows makes it unopenable.
fn data_key_aad(subject: Uuid, key_id: Uuid) -> [u8; 32] {
    let mut aad = [0; 32];
    aad[..16].copy_from_slice(subject.as_bytes());
    aad[16..].copy_from_slice(key_id.as_bytes());
    aad
}

/// The vault's own keys are bound to their name; longer than 32 bytes, so never confused
/// with a data key's associated data.
fn secret_aad(name: &str, key_id: Uuid) -> Vec<u8> {
    let mut aad = b"kesos-vault-secret:".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// The vault's own key `name`, created (wrapped under the current master) on first use.
async fn load_or_create_secret(
    store: &Store,
    keyring: &Keyring,
    name: &str,
) -> Result<Secret, VaultError> {
    let row = match store.secret(name).await? {
        Some(row) => row,
        None => {
            let key_id = Uuid::new_v4();
            let wrapped = keyring
                .current
                .wrap(&secret_aad(name, key_id), &random_secret());
            let row = SecretRow {
                key_id,
                kek_fingerprint: keyring.current.fingerprint.clone(),
                wrapped: wrapped.ciphertext,
                nonce: wrapped.nonce,
            };
            store
                .create_secret(name, &row, OffsetDateTime::now_utc())
                .await?
        }
    };
    keyring
        .get(&row.kek_fingerprint)?
        .unwrap(&secret_aad(name, row.key_id), &row.wrapped, &row.nonce)
        .ok_or(VaultError::Undecryptable { key_id: row.key_id })
}
