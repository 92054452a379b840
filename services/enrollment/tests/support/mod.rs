//! What the enrollment suites share: a fresh store with its vault and database, on PostgreSQL
//! or SQLite, the service's router served on a loopback port, and the cleanup afterwards.
#![allow(dead_code)] // each suite uses the parts it needs

use std::net::SocketAddr;
use std::sync::Arc;

use kesos_eventstore::{EventStore, PostgresStore, SqliteStore};
use kesos_readside::Db;
use kesos_testkit::{PgSchema, SqliteFile};
use kesos_vault::{MasterKey, Vault};
use tokio::task::JoinHandle;

/// Where a suite's data lives, kept until [`Place::close`].
pub enum Place {
    /// A schema of its own on PostgreSQL.
    Pg(PgSchema, PostgresStore),
    /// A file of its own for SQLite.
    Lite(SqliteFile, SqliteStore),
}

impl Place {
    /// Closes the pool and, on PostgreSQL, drops the schema.
    pub async fn close(self) {
        match self {
            Place::Pg(schema, store) => {
                store.pool().close().await;
                schema.drop_now().await;
            }
            Place::Lite(_file, store) => store.pool().close().await,
        }
    }
}

/// A fresh store, its vault and its database: the service not built yet.
pub type Opened = (Place, Arc<dyn EventStore>, Vault, Db);

/// A fresh PostgreSQL schema with its store and vault.
pub async fn open_postgres() -> Opened {
    let schema = PgSchema::create().await;
    let store = schema.store().await;
    let vault = Vault::open(store.pool().clone(), MasterKey::generate(), vec![])
        .await
        .unwrap();
    let db = Db::Postgres(store.pool().clone());
    let shared = Arc::new(store.clone());
    (Place::Pg(schema, store), shared, vault, db)
}

/// A fresh SQLite file with its store and vault.
pub async fn open_sqlite() -> Opened {
    let file = SqliteFile::create();
    let store = file.store().await;
    let vault = Vault::open(store.pool().clone(), MasterKey::generate(), vec![])
        .await
        .unwrap();
    let db = Db::Sqlite(store.pool().clone());
    let shared = Arc::new(store.clone());
    (Place::Lite(file, store), shared, vault, db)
}

/// Serves `router` on a free loopback port: its address, and the task to abort afterwards.
pub async fn serve(router: axum::Router) -> (SocketAddr, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (addr, server)
}
