//! The vault's suite: every case runs against PostgreSQL (a fresh schema on the real server)
//! and SQLite (a fresh file), through the public API only, plus plain SQL to inspect and
//! tamper with the stored rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kesos_sql::Db;
use kesos_testkit::{PgSchema, SqliteFile};
use kesos_vault::{KeyState, MasterKey, Sealed, Vault, VaultError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use time::macros::datetime;
use tokio::sync::Barrier;
use uuid::Uuid;

/// Storage under test: opens vaults on it (as separate processes would) and reads or
/// corrupts a subject's stored wrapped key.
trait Backend {
    async fn vault(&self, master: &MasterKey, previous: &[&MasterKey])
    -> Result<Vault, VaultError>;
    async fn stored_wrapped(&self, subject: Uuid) -> Option<Vec<u8>>;
    async fn corrupt_wrapped(&self, subject: Uuid);
    /// [`Vault::keys_on`] inside a transaction of the backend's pool, as a consumer's handler.
    async fn keys_in_transaction(
        &self,
        vault: &Vault,
        subjects: &[Uuid],
    ) -> HashMap<Uuid, KeyState>;
}

/// [`Vault::keys_on`] inside a write transaction on `db`, committed after, as a consumer's
/// handler reads them.
async fn keys_in_transaction_of(
    db: impl Into<Db>,
    vault: &Vault,
    subjects: &[Uuid],
) -> HashMap<Uuid, KeyState> {
    let mut transaction = db.into().begin_write().await.unwrap();
    let keys = vault.keys_on(&mut transaction, subjects).await.unwrap();
    transaction.commit().await.unwrap();
    keys
}

fn copy(master: &MasterKey) -> MasterKey {
    MasterKey::from_hex(&master.to_hex()).unwrap()
}

fn copies(previous: &[&MasterKey]) -> Vec<MasterKey> {
    previous.iter().map(|m| copy(m)).collect()
}

struct Pg {
    schema: PgSchema,
    pool: sqlx::PgPool,
}

impl Pg {
    async fn new() -> Self {
        let schema = PgSchema::create().await;
        let pool = schema.pool().await;
        Self { schema, pool }
    }
    async fn finish(self) {
        self.pool.close().await;
        self.schema.drop_now().await;
    }
}

impl Backend for Pg {
    async fn vault(
        &self,
        master: &MasterKey,
        previous: &[&MasterKey],
    ) -> Result<Vault, VaultError> {
        Vault::open(self.pool.clone(), copy(master), copies(previous)).await
    }
    async fn stored_wrapped(&self, subject: Uuid) -> Option<Vec<u8>> {
        sqlx::query_scalar("SELECT wrapped FROM kesos_vault_keys WHERE subject_id = $1")
            .bind(subject)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
    async fn corrupt_wrapped(&self, subject: Uuid) {
        let mut wrapped = self.stored_wrapped(subject).await.unwrap();
        wrapped[0] ^= 1;
        sqlx::query("UPDATE kesos_vault_keys SET wrapped = $1 WHERE subject_id = $2")
            .bind(wrapped)
            .bind(subject)
            .execute(&self.pool)
            .await
            .unwrap();
    }
    async fn keys_in_transaction(
        &self,
        vault: &Vault,
        subjects: &[Uuid],
    ) -> HashMap<Uuid, KeyState> {
        keys_in_transaction_of(self.pool.clone(), vault, subjects).await
    }
}

struct Lite {
    file: SqliteFile,
    pool: sqlx::SqlitePool,
}

impl Lite {
    async fn new() -> Self {
        let file = SqliteFile::create();
        let options = SqliteConnectOptions::new()
            .filename(&file.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        Self { file, pool }
    }
    async fn finish(self) {
        self.pool.close().await;
    }
}

impl Backend for Lite {
    async fn vault(
        &self,
        master: &MasterKey,
        previous: &[&MasterKey],
    ) -> Result<Vault, VaultError> {
        Vault::open(self.pool.clone(), copy(master), copies(previous)).await
    }
    async fn stored_wrapped(&self, subject: Uuid) -> Option<Vec<u8>> {
        sqlx::query_scalar("SELECT wrapped FROM kesos_vault_keys WHERE subject_id = ?")
            .bind(subject)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
    async fn corrupt_wrapped(&self, subject: Uuid) {
        let mut wrapped = self.stored_wrapped(subject).await.unwrap();
        wrapped[0] ^= 1;
        sqlx::query("UPDATE kesos_vault_keys SET wrapped = ? WHERE subject_id = ?")
            .bind(wrapped)
            .bind(subject)
            .execute(&self.pool)
            .await
            .unwrap();
    }
    async fn keys_in_transaction(
        &self,
        vault: &Vault,
        subjects: &[Uuid],
    ) -> HashMap<Uuid, KeyState> {
        keys_in_transaction_of(self.pool.clone(), vault, subjects).await
    }
}

async fn open(b: &impl Backend, master: &MasterKey) -> Vault {
    b.vault(master, &[]).await.unwrap()
}

const NIK: &[u8] = b"3277011204900003";

// ---- the cases -------------------------------------------------------------------------

async fn a_sealed_value_opens_with_the_same_key_and_label(b: &impl Backend) {
    let master = MasterKey::generate();
    let worker = Uuid::new_v4();
    let sealed = open(b, &master)
        .await
        .key_for(worker)
        .await
        .unwrap()
        .seal("nik", NIK);
    assert_ne!(sealed.ciphertext, NIK);
    // Another instance (another process) gets the same key from the database.
    let again = open(b, &master).await.key_for(worker).await.unwrap();
    assert_eq!(again.key_id().to_string(), sealed.key_id);
    assert_eq!(again.open("nik", &sealed).unwrap(), NIK);
}

async fn a_different_label_or_another_workers_key_cannot_open_it(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let siti = vault.key_for(Uuid::new_v4()).await.unwrap();
    let budi = vault.key_for(Uuid::new_v4()).await.unwrap();
    let sealed = siti.seal("nik", NIK);
    assert!(matches!(
        siti.open("name", &sealed),
        Err(VaultError::Undecryptable { key_id }) if key_id == siti.key_id()
    ));
    assert!(matches!(
        budi.open("nik", &sealed),
        Err(VaultError::Undecryptable { .. })
    ));
    let passed_off = Sealed {
        key_id: budi.key_id().to_string(),
        ..sealed
    };
    assert!(matches!(
        budi.open("nik", &passed_off),
        Err(VaultError::Undecryptable { .. })
    ));
}

async fn tampered_ciphertext_or_nonce_is_refused(b: &impl Backend) {
    let key = open(b, &MasterKey::generate())
        .await
        .key_for(Uuid::new_v4())
        .await
        .unwrap();
    let sealed = key.seal("name", b"Siti Rahmawati");
    for i in 0..sealed.ciphertext.len() {
        let mut altered = sealed.clone();
        altered.ciphertext[i] ^= 0x80;
        assert!(key.open("name", &altered).is_err(), "byte {i} altered");
    }
    let mut altered = sealed.clone();
    altered.nonce[3] ^= 1;
    assert!(key.open("name", &altered).is_err());
    let mut truncated = sealed.clone();
    truncated.ciphertext.pop();
    assert!(key.open("name", &truncated).is_err());
    assert_eq!(key.open("name", &sealed).unwrap(), b"Siti Rahmawati");
}

async fn a_tampered_wrapped_key_is_refused_as_undecryptable(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let worker = Uuid::new_v4();
    let key_id = vault.key_for(worker).await.unwrap().key_id();
    b.corrupt_wrapped(worker).await;
    assert!(matches!(
        vault.key_for(worker).await,
        Err(VaultError::Undecryptable { key_id: k }) if k == key_id
    ));
    assert!(matches!(
        vault.key(worker).await,
        Err(VaultError::Undecryptable { .. })
    ));
}

async fn keys_for_creates_a_key_once_and_returns_the_same_key_after(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let workers: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
    let states = vault.keys(&workers).await.unwrap();
    assert_eq!(states.len(), 50);
    assert!(states.values().all(|s| matches!(s, KeyState::Missing)));
    let first: Vec<Uuid> = vault
        .keys_for(&workers)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.unwrap().key_id())
        .collect();
    let second: Vec<Uuid> = vault
        .keys_for(&workers)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.unwrap().key_id())
        .collect();
    assert_eq!(first, second);
    let states = vault.keys(&workers).await.unwrap();
    for (worker, key_id) in workers.iter().zip(&first) {
        assert!(matches!(&states[worker], KeyState::Live(k) if k.key_id() == *key_id));
    }
}

async fn keys_for_answers_one_slot_per_subject_in_input_order(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let (a, gone, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    vault
        .destroy(gone, datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();
    let slots = vault.keys_for(&[a, gone, c, a]).await.unwrap();
    assert_eq!(slots.len(), 4);
    assert_eq!(slots[0].as_ref().unwrap().subject(), a);
    assert!(matches!(slots[1], Err(VaultError::Destroyed { subject }) if subject == gone));
    assert_eq!(slots[2].as_ref().unwrap().subject(), c);
    assert_eq!(
        slots[3].as_ref().unwrap().key_id(),
        slots[0].as_ref().unwrap().key_id()
    );
}

async fn concurrent_keys_for_calls_for_one_subject_agree(b: &impl Backend) {
    let master = MasterKey::generate();
    let (shared, other) = (Uuid::new_v4(), Uuid::new_v4());
    let start = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        // Separate instances, as separate processes, released together.
        let vault = open(b, &master).await;
        let start = start.clone();
        let order = if i % 2 == 0 {
            vec![shared, other, Uuid::new_v4()]
        } else {
            vec![Uuid::new_v4(), other, shared]
        };
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let keys = vault.keys_for(&order).await.unwrap();
            let pick = |subject: Uuid| {
                let index = order.iter().position(|s| *s == subject).unwrap();
                keys[index].as_ref().unwrap().key_id()
            };
            (pick(shared), pick(other))
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    assert!(seen.iter().all(|ids| *ids == seen[0]), "{seen:?}");
    let vault = open(b, &master).await;
    assert_eq!(vault.key_for(shared).await.unwrap().key_id(), seen[0].0);
}

async fn destroy_makes_the_key_destroyed_and_keys_for_refuse_it(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let worker = Uuid::new_v4();
    let key = vault.key_for(worker).await.unwrap();
    let sealed = key.seal("nik", NIK);
    drop(key);
    let at = datetime!(2024-03-01 09:30:15.123456 UTC);
    let destroyed = vault.destroy(worker, at).await.unwrap();
    assert!(!destroyed.already);
    assert_eq!(destroyed.key_id.to_string(), sealed.key_id);
    assert_eq!(b.stored_wrapped(worker).await, None);
    match vault.key(worker).await.unwrap() {
        KeyState::Destroyed {
            key_id,
            destroyed_at,
        } => {
            assert_eq!(key_id, destroyed.key_id);
            assert_eq!(destroyed_at, at);
        }
        other => panic!("expected a destroyed key, got {other:?}"),
    }
    assert!(matches!(
        vault.key_for(worker).await,
        Err(VaultError::Destroyed { subject }) if subject == worker
    ));
}

async fn destroying_twice_is_harmless(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let worker = Uuid::new_v4();
    vault.key_for(worker).await.unwrap();
    let first = vault
        .destroy(worker, datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();
    let second = vault
        .destroy(worker, datetime!(2024-04-01 10:00 UTC))
        .await
        .unwrap();
    assert!(!first.already);
    assert!(second.already);
    assert_eq!(first.key_id, second.key_id);
    assert!(matches!(
        vault.key(worker).await.unwrap(),
        KeyState::Destroyed { destroyed_at, .. } if destroyed_at == datetime!(2024-03-01 09:30 UTC)
    ));
}

async fn a_subject_destroyed_before_it_had_a_key_never_gets_one(b: &impl Backend) {
    let master = MasterKey::generate();
    let vault = open(b, &master).await;
    let worker = Uuid::new_v4();
    let destroyed = vault
        .destroy(worker, datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();
    assert!(!destroyed.already);
    let later = open(b, &master).await;
    assert!(matches!(
        later.keys_for(&[worker]).await.unwrap()[0],
        Err(VaultError::Destroyed { .. })
    ));
    assert!(matches!(
        later.key(worker).await.unwrap(),
        KeyState::Destroyed { key_id, .. } if key_id == destroyed.key_id
    ));
}

async fn a_destruction_racing_a_creation_always_leaves_the_subject_destroyed(b: &impl Backend) {
    let master = MasterKey::generate();
    let (creator, eraser) = (open(b, &master).await, open(b, &master).await);
    for _ in 0..20 {
        let subject = Uuid::new_v4();
        let start = Arc::new(Barrier::new(2));
        let (creating, erasing) = (creator.clone(), eraser.clone());
        let (go, also) = (start.clone(), start);
        let created = tokio::spawn(async move {
            go.wait().await;
            creating.key_for(subject).await
        });
        let destroyed = tokio::spawn(async move {
            also.wait().await;
            erasing
                .destroy(subject, datetime!(2024-03-01 09:30 UTC))
                .await
        });
        let destroyed = destroyed.await.unwrap().unwrap();
        assert!(!destroyed.already);
        match created.await.unwrap() {
            // Created first: the erasure found that key and destroyed it.
            Ok(key) => assert_eq!(key.key_id(), destroyed.key_id),
            // Erased first: the tombstone refused the creation.
            Err(VaultError::Destroyed { subject: s }) => assert_eq!(s, subject),
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            creator.key(subject).await.unwrap(),
            KeyState::Destroyed { key_id, .. } if key_id == destroyed.key_id
        ));
    }
}

async fn a_new_master_with_the_old_as_previous_still_opens_and_after_rotate_the_old_is_not_needed(
    b: &impl Backend,
) {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let before = open(b, &old).await;
    let workers: Vec<Uuid> = (0..1_203).map(|_| Uuid::new_v4()).collect();
    let keys = before.keys_for(&workers).await.unwrap();
    let sealed = keys[7].as_ref().unwrap().seal("nik", NIK);
    let digest = before.blind_index("enrollment.nik", "3277011204900003");
    before
        .destroy(workers[0], datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();

    assert!(matches!(
        b.vault(&new, &[]).await,
        Err(VaultError::UnknownMaster { fingerprint }) if fingerprint == old.fingerprint()
    ));
    let during = b.vault(&new, &[&old]).await.unwrap();
    let key = during.key_for(workers[7]).await.unwrap();
    assert_eq!(key.open("nik", &sealed).unwrap(), NIK);
    let fresh = Uuid::new_v4();
    let fresh_id = during.key_for(fresh).await.unwrap().key_id();

    // 1,202 live keys under the old master plus the blind-index key; not the destroyed one,
    // nor the fresh key, already under the new master.
    assert_eq!(during.rotate().await.unwrap(), 1_203);
    assert_eq!(during.rotate().await.unwrap(), 0);

    let after = open(b, &new).await;
    let key = after.key_for(workers[7]).await.unwrap();
    assert_eq!(key.open("nik", &sealed).unwrap(), NIK);
    assert_eq!(after.key_for(fresh).await.unwrap().key_id(), fresh_id);
    assert!(matches!(
        after.key_for(workers[0]).await,
        Err(VaultError::Destroyed { .. })
    ));
    assert_eq!(b.stored_wrapped(workers[0]).await, None);
    assert_eq!(
        after.blind_index("enrollment.nik", "3277011204900003"),
        digest
    );
    let all = after.keys(&workers).await.unwrap();
    assert_eq!(
        all.values()
            .filter(|s| matches!(s, KeyState::Live(_)))
            .count(),
        1_202
    );
}

async fn keys_read_through_a_callers_transaction_are_those_the_pool_reads(b: &impl Backend) {
    let vault = open(b, &MasterKey::generate()).await;
    let (live, destroyed, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let sealed = vault.key_for(live).await.unwrap().seal("nik", NIK);
    vault.key_for(destroyed).await.unwrap();
    vault
        .destroy(destroyed, datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();
    let subjects = [live, destroyed, missing, live];
    let through = b.keys_in_transaction(&vault, &subjects).await;
    let pooled = vault.keys(&subjects).await.unwrap();
    assert_eq!(through.len(), 3);
    for (subject, state) in &through {
        assert_eq!(
            format!("{state:?}"),
            format!("{:?}", pooled[subject]),
            "{subject}"
        );
    }
    match &through[&live] {
        KeyState::Live(key) => assert_eq!(key.open("nik", &sealed).unwrap(), NIK),
        other => panic!("expected a live key, got {other:?}"),
    }
    assert!(matches!(through[&destroyed], KeyState::Destroyed { .. }));
    assert!(matches!(through[&missing], KeyState::Missing));
}

async fn blind_index_is_deterministic_and_differs_across_scopes(b: &impl Backend) {
    let master = MasterKey::generate();
    let vault = open(b, &master).await;
    let nik = "3277011204900003";
    let digest = vault.blind_index("enrollment.nik", nik);
    assert_eq!(digest.len(), 64);
    assert!(!digest.contains(nik));
    assert_eq!(vault.blind_index("enrollment.nik", nik), digest);
    assert_eq!(
        open(b, &master).await.blind_index("enrollment.nik", nik),
        digest
    );
    assert_ne!(vault.blind_index("enrollment.phone", nik), digest);
    assert_ne!(
        vault.blind_index("enrollment.nik", "3277011204900004"),
        digest
    );
}

/// SQLite only: the erasure zeroes the old row's bytes in the page (`secure_delete`) and
/// truncates the write-ahead log, so not even a fragment of the wrapped key (any 8 bytes of
/// it in a row; the shorter tombstone row may overwrite part of the old one in place) is
/// found in either file afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_key_leaves_no_copy_of_its_wrapped_bytes_in_the_sqlite_file_or_its_log() {
    let lite = Lite::new().await;
    let vault = open(&lite, &MasterKey::generate()).await;
    let worker = Uuid::new_v4();
    vault.key_for(worker).await.unwrap();
    let wrapped = lite.stored_wrapped(worker).await.unwrap();
    let files = [
        lite.file.path.clone(),
        lite.file.path.with_extension("db-wal"),
    ];
    let holding = |files: &[std::path::PathBuf]| -> Vec<String> {
        files
            .iter()
            .filter(|path| {
                std::fs::read(path)
                    .map(|bytes| {
                        wrapped
                            .windows(8)
                            .any(|fragment| bytes.windows(8).any(|w| w == fragment))
                    })
                    .unwrap_or(false)
            })
            .map(|path| path.display().to_string())
            .collect()
    };
    assert!(
        !holding(&files).is_empty(),
        "the key is written before it is erased"
    );
    vault
        .destroy(worker, datetime!(2024-03-01 09:30 UTC))
        .await
        .unwrap();
    assert_eq!(holding(&files), Vec::<String>::new());
    lite.finish().await;
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let backend = super::Pg::new().await;
                    super::$case(&backend).await;
                    backend.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let backend = super::Lite::new().await;
                    super::$case(&backend).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

suite!(
    a_sealed_value_opens_with_the_same_key_and_label,
    a_different_label_or_another_workers_key_cannot_open_it,
    tampered_ciphertext_or_nonce_is_refused,
    a_tampered_wrapped_key_is_refused_as_undecryptable,
    keys_for_creates_a_key_once_and_returns_the_same_key_after,
    keys_for_answers_one_slot_per_subject_in_input_order,
    concurrent_keys_for_calls_for_one_subject_agree,
    destroy_makes_the_key_destroyed_and_keys_for_refuse_it,
    destroying_twice_is_harmless,
    a_subject_destroyed_before_it_had_a_key_never_gets_one,
    a_destruction_racing_a_creation_always_leaves_the_subject_destroyed,
    a_new_master_with_the_old_as_previous_still_opens_and_after_rotate_the_old_is_not_needed,
    keys_read_through_a_callers_transaction_are_those_the_pool_reads,
    blind_index_is_deterministic_and_differs_across_scopes,
);
