//! The PostgreSQL event store: the distributed mode's store, one database or schema per service.

use futures::stream::BoxStream;
use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::watch;

mod appends;
mod copy_reads;

use crate::error::StoreError;
use crate::group_commit::GroupCommit;
use crate::model::{AsOf, RecordedEvent};
use crate::reads::{SqlBackend, StoreParts};
use kesos_sql::{Db, to_u64};

/// Where a PostgreSQL store lives.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Connection URL, e.g. `postgres://kesos@db:5432/kesos`.
    pub url: String,
    /// Schema holding the store's tables (a service's own schema); `None` for the default.
    pub schema: Option<String>,
    /// Most connections the pool opens.
    pub max_connections: u32,
}

/// An [`EventStore`] on PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    parts: StoreParts,
    pool: PgPool,
}

impl PostgresStore {
    /// Connects, creates the schema if needed and applies the embedded migrations. Connections
    /// carry `application_name` `kesos:<schema>`, so operators can tell them apart.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let application = match &config.schema {
            Some(schema) => format!("kesos:{schema}"),
            None => "kesos".to_owned(),
        };
        let options: PgConnectOptions = config
            .url
            .parse::<PgConnectOptions>()?
            .application_name(&application);
        let mut pool_options = PgPoolOptions::new().max_connections(config.max_connections);
        if let Some(schema) = &config.schema {
            check_schema_name(schema)?;
            let admin = PgPool::connect_with(options.clone()).await?;
            admin
                .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                .await?;
            admin.close().await;
            let set_path = format!("SET search_path TO \"{schema}\"");
            pool_options = pool_options.after_connect(move |connection, _| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    connection.execute(set_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect_with(options).await?;
        Self::migrate(&pool).await?;
        Ok(Self::from_migrated_pool(pool).await?)
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        // Other components (consumers, services) keep their own migrations in the same schema,
        // numbered in their own ranges; the store's are 1-999.
        migrator.set_ignore_missing(true);
        migrator.run(pool).await?;
        Ok(())
    }

    async fn from_migrated_pool(pool: PgPool) -> Result<Self, sqlx::Error> {
        let head: i64 = sqlx::query_scalar("SELECT position FROM kesos_log_head")
            .fetch_one(&pool)
            .await?;
        let (notify, appended) = watch::channel(to_u64(head));
        let notify = std::sync::Arc::new(notify);
        let committed = move |notify: std::sync::Arc<watch::Sender<u64>>| {
            move |last: u64| {
                notify.send_if_modified(|seen| {
                    let newer = last > *seen;
                    if newer {
                        *seen = last;
                    }
                    newer
                });
            }
        };
        // Interactive appends go through one writer: with few callers, a second would split
        // batches. Bulk appends (imports) keep the database busy with two (see `WRITERS`).
        let writer = GroupCommit::start(
            appends::PgBatchWriter { pool: pool.clone() },
            committed(notify.clone()),
        );
        let bulk_writers = (0..appends::BULK_WRITERS)
            .map(|_| appends::PgBatchWriter { pool: pool.clone() })
            .collect();
        let bulk = GroupCommit::start_many(bulk_writers, committed(notify));
        Ok(Self {
            parts: StoreParts {
                db: Db::Postgres(pool.clone()),
                writer,
                bulk,
                appended,
            },
            pool,
        })
    }

    /// The underlying pool, for tests and benchmarks that compare with plain SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            format!("schema name {schema:?} must be 1-63 lowercase letters, digits or _").into(),
        )))
    }
}

impl SqlBackend for PostgresStore {
    fn parts(&self) -> &StoreParts {
        &self.parts
    }

    /// The whole log by binary COPY, decoded on a task of its own ([`copy_reads`]).
    fn read_log(
        &self,
        after: u64,
        as_of: AsOf,
    ) -> BoxStream<'_, Result<RecordedEvent, StoreError>> {
        copy_reads::read_log(&self.pool, after, as_of)
    }
}
