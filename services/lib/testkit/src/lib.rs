//! Fixtures that give each test its own place on the real servers, so tests run in parallel
//! against one PostgreSQL and one NATS without seeing each other, and clean up after
//! themselves. There are no mocks here: a test that cannot reach a server fails, with a message
//! that says how to start it (`deploy/local/up`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod history;
pub mod secured_nats;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use kesos_eventstore::{PostgresConfig, PostgresStore, SqliteStore};
use sqlx::Executor;
use sqlx::postgres::PgPool;

/// The PostgreSQL server tests use: `KESOS_TEST_DATABASE_URL`, by default the loopback one
/// that `deploy/local/up` starts.
pub fn database_url() -> String {
    std::env::var("KESOS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The NATS server tests use: `KESOS_TEST_NATS_URL`, by default the loopback one.
pub fn nats_url() -> String {
    std::env::var("KESOS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A loopback port free at the time of asking, for a server a test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A name no other test (or earlier run) uses: `<prefix>_<unix seconds>_<random>`; the time
/// lets leftovers of crashed runs be recognised and removed.
pub fn unique_name(prefix: &str) -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{seconds}_{}", &random[..12])
}

/// A fresh PostgreSQL schema, dropped by [`PgSchema::drop_now`] (and, if a test panicked
/// before that, by a later test run once it is an hour old).
pub struct PgSchema {
    /// The schema's name.
    pub name: String,
    admin: PgPool,
}

impl PgSchema {
    /// Creates a fresh schema; panics with advice when PostgreSQL is unreachable.
    pub async fn create() -> Self {
        let url = database_url();
        let admin = PgPool::connect(&url).await.unwrap_or_else(|error| {
            panic!("PostgreSQL at {url} is unreachable ({error}); start it with deploy/local/up")
        });
        remove_stale_schemas(&admin).await;
        let name = unique_name("kt");
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap();
        Self { name, admin }
    }

    /// Store configuration pointing at this schema.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            url: database_url(),
            schema: Some(self.name.clone()),
            max_connections: 8,
        }
    }

    /// Opens a store in this schema (each call a separate instance, as separate processes).
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.config())
            .await
            .expect("open PostgreSQL store")
    }

    /// A pool whose connections use this schema, for plain SQL in tests.
    pub async fn pool(&self) -> PgPool {
        let name = self.name.clone();
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .after_connect(move |connection, _| {
                let set = format!("SET search_path TO {name}");
                Box::pin(async move {
                    connection.execute(set.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&database_url())
            .await
            .unwrap()
    }

    /// Drops the schema and everything in it. A test's background work (a projector, a
    /// consumer) may still hold locks on its tables as the drop takes them all, so a deadlock
    /// (PostgreSQL chooses one side to fail) is tried again a few times before it fails the test.
    pub async fn drop_now(self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        for attempt in 1.. {
            match self.admin.execute(drop.as_str()).await {
                Ok(_) => return,
                Err(sqlx::Error::Database(error))
                    if error.code().as_deref() == Some("40P01") && attempt < 5 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                Err(error) => panic!("cannot drop the test schema {}: {error}", self.name),
            }
        }
    }
}

async fn remove_stale_schemas(admin: &PgPool) {
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(3600))
        .unwrap_or(0);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'kt\\_%'")
            .fetch_all(admin)
            .await
            .unwrap_or_default();
    for name in names {
        let created = name
            .split('_')
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if created < hour_ago {
            let _ = admin
                .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                .await;
        }
    }
}

/// A fresh SQLite file in a temporary directory, removed when dropped.
pub struct SqliteFile {
    dir: PathBuf,
    /// The file's path.
    pub path: PathBuf,
}

impl SqliteFile {
    /// A new, not yet existing, file path.
    pub fn create() -> Self {
        let dir = std::env::temp_dir().join(unique_name("kesos-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kesos.db");
        Self { dir, path }
    }

    /// Opens a store in this file.
    pub async fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.path)
            .await
            .expect("open SQLite store")
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
