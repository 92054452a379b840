//! An existing deployment upgraded to the read side's projector: its registry goes on from the
//! checkpoint the old catch-up loop kept (`certification_checkpoints`, carried over by migration
//! 4003), instead of applying its whole log again. On PostgreSQL and SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use kesos_certification::domain::{
    Certificate, CertificateCommand, CertificateId, CertificateNumber, Issuance, WorkerId,
    valid_until,
};
use kesos_certification::projections::LOG;
use kesos_certification::service::certificate_stream;
use kesos_commands::{CommandContext, execute};
use kesos_eventstore::EventStore;
use kesos_readside::{Db, to_i64};
use kesos_testkit::{PgSchema, SqliteFile, unique_name};
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use time::macros::date;
use uuid::Uuid;

use common::{SETTLE, build, scheme, signing_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_existing_registry_goes_on_from_its_old_checkpoint() {
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    let pool = store.pool().clone();
    goes_on_from_the_old_checkpoint(Arc::new(store), Db::Postgres(pool.clone())).await;
    pool.close().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_an_existing_registry_goes_on_from_its_old_checkpoint() {
    let file = SqliteFile::create();
    let store = file.store().await;
    let pool = store.pool().clone();
    goes_on_from_the_old_checkpoint(Arc::new(store), Db::Sqlite(pool.clone())).await;
    pool.close().await;
}

/// Certification's migrations from before the projector (4001, 4002), as a deployment has
/// them: copied into a directory of their own, so the checksums are the shipped ones.
async fn old_migrations(db: &Db) -> Migrator {
    let backend = match db {
        Db::Postgres(_) => "postgres",
        Db::Sqlite(_) => "sqlite",
    };
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = std::env::temp_dir().join(unique_name("kesos-old-migrations"));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["4001_certificates.sql", "4002_holder_masked_name.sql"] {
        std::fs::copy(shipped.join(name), dir.join(name)).unwrap();
    }
    let mut migrator = Migrator::new(dir.as_path()).await.unwrap();
    migrator.set_ignore_missing(true);
    let _ = std::fs::remove_dir_all(&dir);
    migrator
}

/// Issues a certificate straight into the log, as the service would.
async fn issue(store: &dyn EventStore, sequence: u64) -> CertificateId {
    let id = CertificateId(Uuid::now_v7());
    let valid_from = date!(2026 - 03 - 01);
    let issuance = Issuance {
        certificate_id: id,
        number: CertificateNumber::new("PSG", 2026, sequence).unwrap(),
        worker_id: WorkerId(Uuid::now_v7()),
        scheme: scheme("PEKSOS-GENERALIS"),
        basis_decision_event_id: Uuid::now_v7(),
        lsps_id: "LSPS-PEKSOS".to_owned(),
        valid_from,
        valid_until: valid_until(valid_from, 3).unwrap(),
        supersedes: None,
        region: Some("32.77".to_owned()),
        status_list_index: sequence,
    };
    let command_id = Uuid::now_v7();
    let context = CommandContext {
        command_id,
        actor: "test".to_owned(),
        correlation_id: command_id.to_string(),
        causation_id: None,
        occurred_at: OffsetDateTime::now_utc(),
    };
    execute::<Certificate>(
        store,
        &certificate_stream(id).unwrap(),
        CertificateCommand::Issue(Box::new(issuance)),
        &context,
    )
    .await
    .unwrap();
    id
}

async fn goes_on_from_the_old_checkpoint(store: Arc<dyn EventStore>, db: Db) {
    let old = old_migrations(&db).await;
    match &db {
        Db::Postgres(pool) => old.run(pool).await.unwrap(),
        Db::Sqlite(pool) => old.run(pool).await.unwrap(),
    }
    // Issued before the upgrade and, as the old checkpoint says, applied by the old loop. Its
    // row is left out here, so that a registry applying the log again would show it.
    let before = issue(&*store, 1).await;
    let head = store.head_position().await.unwrap();
    let moved = db
        .query("UPDATE certification_checkpoints SET position = $1 WHERE name = 'certificates'")
        .bind(to_i64(head))
        .execute()
        .await
        .unwrap();
    assert_eq!(moved, 1);

    let certification = build(
        store.clone(),
        db.clone(),
        Arc::new(common::Directory::default()),
        signing_key(),
    )
    .await;
    let checkpoints = certification.projector().checkpoints().await.unwrap();
    assert_eq!(checkpoints.get(LOG), Some(&head));
    let old_table = db
        .query("SELECT COUNT(*) FROM certification_checkpoints")
        .fetch_scalar::<i64>()
        .await;
    assert!(old_table.is_err(), "the old checkpoint table is dropped");

    let after = issue(&*store, 2).await;
    let head = store.head_position().await.unwrap();
    certification
        .projector()
        .wait_for(LOG, head, SETTLE)
        .await
        .unwrap();
    let registry = certification.registry();
    assert!(registry.by_id(after).await.unwrap().is_some());
    assert!(
        registry.by_id(before).await.unwrap().is_none(),
        "the registry applied the log again from the start"
    );
}
