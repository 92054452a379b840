#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_testkit::{PgSchema, SqliteFile};
use time::macros::datetime;

use std::collections::HashMap;

use super::*;

const NOW: OffsetDateTime = datetime!(2024-03-01 09:30 UTC);

/// A key for `subject` whose wrapped bytes are `byte` repeated (the store never opens them).
fn new_key(subject: Uuid, byte: u8) -> NewKey {
    NewKey {
        subject,
        key_id: Uuid::new_v4(),
        wrapped: wrapped(byte),
    }
}

fn wrapped(byte: u8) -> Wrapped {
    Wrapped {
        ciphertext: vec![byte; 48],
        nonce: vec![byte; 24],
    }
}

fn rewrap(subject: Uuid, old_fingerprint: &str, byte: u8) -> Rewrap {
    Rewrap {
        subject,
        old_fingerprint: old_fingerprint.to_owned(),
        wrapped: wrapped(byte),
    }
}

async fn row_of(store: &Store, subject: Uuid) -> KeyRow {
    store.select(&[subject]).await.unwrap().pop().unwrap()
}

// ---- the cases -------------------------------------------------------------------------

async fn a_second_insert_of_the_same_subjects_stores_nothing_and_reads_back_the_first_keys(
    store: Store,
) {
    // Past one statement's worth of rows, so the insert and the read-back take two each.
    let mut subjects: Vec<Uuid> = (0..1_500).map(|_| Uuid::new_v4()).collect();
    subjects.sort_unstable();
    let first: Vec<NewKey> = subjects.iter().map(|&s| new_key(s, 1)).collect();
    let inserted = store.insert(&first, "old", NOW).await.unwrap();
    assert_eq!(inserted.stored.len(), 1_500);
    assert!(inserted.existing.is_empty());

    let second: Vec<NewKey> = subjects.iter().map(|&s| new_key(s, 2)).collect();
    let again = store.insert(&second, "new", NOW).await.unwrap();
    assert!(again.stored.is_empty());
    assert_eq!(again.existing.len(), 1_500);
    let first_ids: HashMap<Uuid, Uuid> = first.iter().map(|k| (k.subject, k.key_id)).collect();
    for row in &again.existing {
        assert_eq!(row.key_id, first_ids[&row.subject]);
        assert_eq!(row.kek_fingerprint.as_deref(), Some("old"));
        assert_eq!(row.wrapped.as_deref(), Some(&[1; 48][..]));
        assert_eq!(row.destroyed_at, None);
    }
    assert_eq!(store.select(&subjects).await.unwrap().len(), 1_500);
}

async fn a_rewrap_changes_only_keys_still_live_and_still_under_their_old_fingerprint(store: Store) {
    let (live, erased, moved) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut keys = vec![new_key(live, 1), new_key(erased, 1), new_key(moved, 1)];
    keys.sort_unstable_by_key(|k| k.subject);
    store.insert(&keys, "old", NOW).await.unwrap();
    // Between a rotation's page and its re-wrap: one key is erased, another re-wrapped by a
    // concurrent rotation.
    store.destroy(erased, Uuid::new_v4(), NOW).await.unwrap();
    assert_eq!(
        store
            .rewrap("other", &[rewrap(moved, "old", 3)])
            .await
            .unwrap(),
        1
    );

    let stale = [
        rewrap(live, "old", 2),
        rewrap(erased, "old", 2),
        rewrap(moved, "old", 2),
    ];
    assert_eq!(store.rewrap("new", &stale).await.unwrap(), 1);

    let live = row_of(&store, live).await;
    assert_eq!(live.kek_fingerprint.as_deref(), Some("new"));
    assert_eq!(live.wrapped.as_deref(), Some(&[2; 48][..]));
    assert_eq!(live.nonce.as_deref(), Some(&[2; 24][..]));
    let erased = row_of(&store, erased).await;
    assert_eq!(erased.wrapped, None);
    assert_eq!(erased.destroyed_at, Some(NOW));
    let moved = row_of(&store, moved).await;
    assert_eq!(moved.kek_fingerprint.as_deref(), Some("other"));
    assert_eq!(moved.wrapped.as_deref(), Some(&[3; 48][..]));
}

async fn a_stale_page_lists_live_keys_under_other_fingerprints_in_subject_order(store: Store) {
    let mut subjects: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    subjects.sort_unstable();
    let keys: Vec<NewKey> = subjects.iter().map(|&s| new_key(s, 1)).collect();
    store.insert(&keys, "old", NOW).await.unwrap();
    store
        .destroy(subjects[1], Uuid::new_v4(), NOW)
        .await
        .unwrap();
    store
        .rewrap("new", &[rewrap(subjects[3], "old", 2)])
        .await
        .unwrap();
    let page = |after| store.stale_page("new", after, 2);
    let first: Vec<Uuid> = page(None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.subject)
        .collect();
    assert_eq!(first, [subjects[0], subjects[2]]);
    let next: Vec<Uuid> = page(Some(subjects[2]))
        .await
        .unwrap()
        .iter()
        .map(|r| r.subject)
        .collect();
    assert_eq!(next, [subjects[4]]);
}

// ---- the SQL ---------------------------------------------------------------------------

#[test]
fn an_insert_binds_the_shared_values_once_and_four_per_key() {
    assert_eq!(
        insert_sql(2),
        "INSERT INTO kesos_vault_keys \
         (subject_id, key_id, kek_fingerprint, wrapped, nonce, created_at) \
         VALUES ($3, $4, $1, $5, $6, $2), ($7, $8, $1, $9, $10, $2) \
         ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id"
    );
}

#[test]
fn a_rewrap_binds_the_current_fingerprint_once_and_four_per_key() {
    let sql = rewrap_sql(2);
    assert!(
        sql.contains("FROM (VALUES ($2, $3, $4, $5), ($6, $7, $8, $9)) AS t"),
        "{sql}"
    );
}

#[test]
fn a_select_lists_one_value_per_subject() {
    assert!(select_sql(3).ends_with("WHERE subject_id IN ($1, $2, $3)"));
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let schema = super::PgSchema::create().await;
                    let pool = schema.pool().await;
                    super::$case(super::Store::open(pool.clone().into()).await.unwrap()).await;
                    pool.close().await;
                    schema.drop_now().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let file = super::SqliteFile::create();
                    let pool = file.store().await.pool().clone();
                    super::$case(super::Store::open(pool.clone().into()).await.unwrap()).await;
                    pool.close().await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_second_insert_of_the_same_subjects_stores_nothing_and_reads_back_the_first_keys,
    a_rewrap_changes_only_keys_still_live_and_still_under_their_old_fingerprint,
    a_stale_page_lists_live_keys_under_other_fingerprints_in_subject_order,
);
