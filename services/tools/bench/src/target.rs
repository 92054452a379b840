//! Where a bench runs: a fresh PostgreSQL schema or a SQLite file in a fresh temporary
//! directory, holding both the store and the plain comparison table, removed at the end.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use kesos_eventstore::sqlite::sqlite_options;
use kesos_eventstore::{EventStore, PostgresConfig, PostgresStore, SqliteStore};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::StoreBenchOptions;
use crate::raw::Raw;
use crate::report::Figure;
use crate::workload::unique_name;

/// Which store is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The distributed mode's store.
    Postgres,
    /// The embedded mode's store.
    Sqlite,
}

/// The store under test, plain SQL access to the same database, and what to remove after.
pub(crate) struct Target {
    /// Which store this is.
    pub(crate) backend: Backend,
    /// The store under test.
    pub(crate) store: Arc<dyn EventStore>,
    /// Plain SQL on the same database, for the baselines.
    pub(crate) raw: Raw,
    place: Place,
}

enum Place {
    Schema { url: String, name: String },
    Directory(PathBuf),
}

/// Runs `measure` in a fresh PostgreSQL schema at `database_url`, then removes the schema and
/// writes the figures under `header` (which `measure` may extend), also those of a run that
/// failed part-way; answers the figures, or the first error.
pub(crate) async fn on_fresh_postgres(
    database_url: &str,
    mut header: String,
    json: bool,
    out: &mut dyn std::io::Write,
    measure: impl AsyncFnOnce(&Target, &mut Vec<Figure>, &mut String) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Figure>> {
    let target = Target::open(&StoreBenchOptions::new(database_url.to_owned())).await?;
    let mut figures = Vec::new();
    let measured = measure(&target, &mut figures, &mut header).await;
    let closed = target.close().await;
    crate::report::write_all(out, &figures, &header, json)?;
    measured?;
    closed?;
    Ok(figures)
}

/// Connections the PostgreSQL store may open: the command path's 4 tasks read while the
/// group-commit writer writes, with room to spare.
const PG_CONNECTIONS: u32 = 16;

impl Target {
    /// The PostgreSQL pool of plain SQL, for benches that run on PostgreSQL only (`name`).
    pub(crate) fn postgres_pool(&self, name: &str) -> anyhow::Result<sqlx::PgPool> {
        match &self.raw {
            Raw::Postgres(pool) => Ok(pool.clone()),
            Raw::Sqlite { .. } => anyhow::bail!("the {name} bench runs on PostgreSQL"),
        }
    }

    /// Opens the store in a fresh schema or file; nothing is left behind when this fails.
    pub(crate) async fn open(options: &StoreBenchOptions) -> anyhow::Result<Self> {
        if options.sqlite {
            Self::open_sqlite().await
        } else {
            Self::open_postgres(&options.database_url).await
        }
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Self> {
        let name = unique_name("kesos_bench");
        tracing::info!(schema = %name, "opening the PostgreSQL store in a fresh schema");
        let config = PostgresConfig {
            url: url.to_owned(),
            schema: Some(name.clone()),
            max_connections: PG_CONNECTIONS,
        };
        let place = Place::Schema {
            url: url.to_owned(),
            name,
        };
        match PostgresStore::connect(&config).await {
            Ok(store) => Ok(Self {
                backend: Backend::Postgres,
                raw: Raw::Postgres(store.pool().clone()),
                store: Arc::new(store),
                place,
            }),
            Err(error) => {
                // The schema may exist already (created, then the migration failed).
                if let Err(cleanup) = place.remove().await {
                    tracing::warn!(%cleanup, "could not remove the bench schema");
                }
                Err(anyhow::Error::new(error).context("opening the PostgreSQL store"))
            }
        }
    }

    async fn open_sqlite() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(unique_name("kesos_bench"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the directory {}", dir.display()))?;
        let path = dir.join("kesos.db");
        tracing::info!(file = %path.display(), "opening the SQLite store in a fresh file");
        let opened = async {
            let store = SqliteStore::open(&path).await?;
            // SQLite has one writer at a time, so the plain baseline writes through one
            // connection, as the store does, instead of colliding on the file lock.
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlite_options(&path))
                .await?;
            anyhow::Ok((store, writer))
        }
        .await;
        match opened {
            Ok((store, writer)) => Ok(Self {
                backend: Backend::Sqlite,
                raw: Raw::Sqlite {
                    readers: store.pool().clone(),
                    writer,
                },
                store: Arc::new(store),
                place: Place::Directory(dir),
            }),
            Err(error) => {
                if let Err(cleanup) = Place::Directory(dir).remove().await {
                    tracing::warn!(%cleanup, "could not remove the bench directory");
                }
                Err(error.context("opening the SQLite store"))
            }
        }
    }

    /// Closes every connection and removes the schema or directory.
    pub(crate) async fn close(self) -> anyhow::Result<()> {
        let Self {
            store, raw, place, ..
        } = self;
        raw.close().await;
        drop(store);
        place.remove().await
    }
}

impl Place {
    async fn remove(self) -> anyhow::Result<()> {
        match self {
            Self::Schema { url, name } => {
                let mut connection = PgConnection::connect(&url)
                    .await
                    .context("connecting to drop the bench schema")?;
                connection
                    .execute(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE").as_str())
                    .await
                    .with_context(|| format!("dropping the schema {name}"))?;
                connection.close().await?;
                tracing::info!(schema = %name, "dropped the bench schema");
            }
            Self::Directory(dir) => {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
                tracing::info!(dir = %dir.display(), "removed the bench directory");
            }
        }
        Ok(())
    }
}
