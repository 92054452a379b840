//! Opening the configured event store: SQLite in the embedded mode, PostgreSQL in the
//! distributed mode. The rest of the program sees only `Arc<dyn EventStore>`.

use std::sync::Arc;

use anyhow::Context;
use kesos_eventstore::{EventStore, PostgresConfig, PostgresStore, SqliteStore};
use kesos_runtime::{Config, Mode};

/// The opened store, with its concrete type kept for what needs the database itself
/// (consumer migrations).
#[derive(Clone)]
pub enum OpenedStore {
    /// The embedded store.
    Sqlite(SqliteStore),
    /// The distributed store.
    Postgres(PostgresStore),
}

impl OpenedStore {
    /// The store's database as the read side's handle: the services keep their read models
    /// beside their log, in the same database.
    pub fn db(&self) -> kesos_readside::Db {
        match self {
            Self::Sqlite(sqlite) => kesos_readside::Db::Sqlite(sqlite.pool().clone()),
            Self::Postgres(postgres) => kesos_readside::Db::Postgres(postgres.pool().clone()),
        }
    }

    /// The store behind the one API.
    pub fn shared(&self) -> Arc<dyn EventStore> {
        match self {
            Self::Sqlite(store) => Arc::new(store.clone()),
            Self::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// Applies the consumers' bookkeeping migrations in the store's database.
    pub async fn migrate_consumers(&self) -> anyhow::Result<()> {
        kesos_bus::bookkeeping::migrate_consumers(&self.db()).await?;
        Ok(())
    }

    /// Where the store lives, for logs (no secrets).
    pub fn describe(&self, config: &Config) -> String {
        match self {
            Self::Sqlite(_) => format!("SQLite file {}", config.sqlite_path.display()),
            Self::Postgres(_) => format!(
                "PostgreSQL{}",
                config
                    .database_schema
                    .as_ref()
                    .map(|s| format!(" schema {s}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Opens (and migrates) the store the configuration names.
pub async fn open_store(config: &Config, mode: Mode) -> anyhow::Result<OpenedStore> {
    match (mode, &config.database_url) {
        (Mode::Distributed, Some(url)) => {
            let store = PostgresStore::connect(&PostgresConfig {
                url: url.clone(),
                schema: config.database_schema.clone(),
                max_connections: config.database_max_connections,
            })
            .await
            .context("cannot open the PostgreSQL event store (KESOS_DATABASE_URL)")?;
            Ok(OpenedStore::Postgres(store))
        }
        _ => {
            if let Some(parent) = config
                .sqlite_path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("cannot create the data directory {}", parent.display())
                })?;
            }
            let store = SqliteStore::open(&config.sqlite_path)
                .await
                .with_context(|| {
                    format!(
                        "cannot open the SQLite event store {}",
                        config.sqlite_path.display()
                    )
                })?;
            Ok(OpenedStore::Sqlite(store))
        }
    }
}
