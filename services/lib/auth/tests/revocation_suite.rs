//! The revocation list on both backends: a revoked `jti` is found by every later reader,
//! including one that opens the database afresh (a restarted process); revoking twice keeps
//! the first reason; bad input is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kesos_auth::{RevocationError, RevocationList};
use kesos_testkit::{PgSchema, SqliteFile};
use time::OffsetDateTime;

async fn revoked_tokens_stay_revoked_for_every_later_reader(
    first: RevocationList,
    reopened: impl std::future::Future<Output = RevocationList>,
) {
    let now = OffsetDateTime::now_utc();
    assert!(!first.is_revoked("jti-1").await.unwrap());
    assert!(
        first
            .revoke("jti-1", "laptop stolen", "siti", now)
            .await
            .unwrap()
    );
    assert!(first.is_revoked("jti-1").await.unwrap());
    assert!(!first.is_revoked("jti-2").await.unwrap());
    assert!(
        !first
            .revoke("jti-1", "second thoughts", "budi", now)
            .await
            .unwrap()
    );

    let later = reopened.await;
    assert!(later.is_revoked("jti-1").await.unwrap());
    let revocation = later.get("jti-1").await.unwrap().unwrap();
    assert_eq!(
        (revocation.reason.as_str(), revocation.revoked_by.as_str()),
        ("laptop stolen", "siti")
    );
    assert_eq!(revocation.revoked_at, now.unix_timestamp());

    for (jti, reason) in [("", "x"), ("jti-3", " "), ("jti-3", &"x".repeat(501))] {
        assert!(matches!(
            later.revoke(jti, reason, "siti", now).await,
            Err(RevocationError::Invalid(_))
        ));
    }
    assert!(!later.is_revoked("jti-3").await.unwrap());
}

#[tokio::test]
async fn on_postgres_a_revoked_token_stays_revoked_for_every_later_reader() {
    let schema = PgSchema::create().await;
    let first = RevocationList::open(schema.pool().await).await.unwrap();
    let reopened = async { RevocationList::open(schema.pool().await).await.unwrap() };
    revoked_tokens_stay_revoked_for_every_later_reader(first, reopened).await;
    schema.drop_now().await;
}

#[tokio::test]
async fn on_sqlite_a_revoked_token_stays_revoked_for_every_later_reader() {
    let file = SqliteFile::create();
    let first = RevocationList::open(file.store().await.pool().clone())
        .await
        .unwrap();
    let reopened = async {
        RevocationList::open(file.store().await.pool().clone())
            .await
            .unwrap()
    };
    revoked_tokens_stay_revoked_for_every_later_reader(first, reopened).await;
}
