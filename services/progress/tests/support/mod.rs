//! A store and a progress model on each real database for the progress tests; the history is
//! written with [`kesos_testkit::history::Writer`].
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kesos_eventstore::{EventStore, PostgresStore, SqliteStore};
use kesos_progress::{ProgressModel, Source};
use kesos_readside::Db;
use kesos_testkit::{PgSchema, SqliteFile};

/// The source name events carry in these tests.
pub const SOURCE: &str = "kesos";

pub enum Place {
    Pg(PgSchema, PostgresStore),
    Lite(SqliteFile, SqliteStore),
}

/// A store and a progress model in the same database.
pub struct Bench {
    pub place: Place,
    pub store: Arc<dyn EventStore>,
    pub model: ProgressModel,
}

impl Bench {
    pub async fn postgres() -> Self {
        let schema = PgSchema::create().await;
        let store = schema.store().await;
        let model = ProgressModel::open(Db::Postgres(store.pool().clone()))
            .await
            .unwrap();
        Self {
            store: Arc::new(store.clone()),
            place: Place::Pg(schema, store),
            model,
        }
    }

    pub async fn sqlite() -> Self {
        let file = SqliteFile::create();
        let store = file.store().await;
        let model = ProgressModel::open(Db::Sqlite(store.pool().clone()))
            .await
            .unwrap();
        Self {
            store: Arc::new(store.clone()),
            place: Place::Lite(file, store),
            model,
        }
    }

    pub fn sources(&self) -> Vec<Source> {
        vec![Source::whole(SOURCE, self.store.clone())]
    }

    /// Applies everything in the log not applied yet, in batches of `batch`.
    pub async fn catch_up(&self, batch: usize) {
        let mut after = self
            .model
            .checkpoints()
            .await
            .unwrap()
            .get(SOURCE)
            .copied()
            .unwrap_or(0);
        loop {
            let events = self.store.read_batch(after, batch).await.unwrap();
            let Some(last) = events.last() else { return };
            after = last.position;
            let sourced: Vec<_> = events
                .into_iter()
                .map(|event| kesos_readside::Delivered {
                    source: SOURCE.to_owned(),
                    event,
                })
                .collect();
            self.model.apply(&sourced).await.unwrap();
        }
    }

    pub async fn finish(self) {
        if let Place::Pg(schema, store) = self.place {
            store.pool().close().await;
            schema.drop_now().await;
        }
    }
}

impl Bench {
    /// Runs a statement on the model's database (to set up an older shape of the tables).
    pub async fn execute(&self, sql: &str) {
        match &self.place {
            Place::Pg(_, store) => {
                sqlx::query(sql).execute(store.pool()).await.unwrap();
            }
            Place::Lite(_, store) => {
                sqlx::query(sql).execute(store.pool()).await.unwrap();
            }
        }
    }

    /// Opens the live model again, as a restarted process does.
    pub async fn reopen(&self) -> ProgressModel {
        match &self.place {
            Place::Pg(_, store) => ProgressModel::open(Db::Postgres(store.pool().clone())).await,
            Place::Lite(_, store) => ProgressModel::open(Db::Sqlite(store.pool().clone())).await,
        }
        .unwrap()
    }

    /// The names of the live facts table's indexes.
    pub async fn facts_index_names(&self) -> Vec<String> {
        match &self.place {
            Place::Pg(_, store) => sqlx::query_scalar(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() \
                 AND tablename = 'progress_facts' ORDER BY indexname",
            )
            .fetch_all(store.pool())
            .await
            .unwrap(),
            Place::Lite(_, store) => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = 'progress_facts' AND sql IS NOT NULL ORDER BY name",
            )
            .fetch_all(store.pool())
            .await
            .unwrap(),
        }
    }
}

/// The number of indexes on the live facts table.
pub async fn facts_indexes(bench: &Bench) -> i64 {
    match &bench.place {
        Place::Pg(_, store) => sqlx::query_scalar(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = 'progress_facts'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap(),
        Place::Lite(_, store) => sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = 'progress_facts' AND sql IS NOT NULL",
        )
        .fetch_one(store.pool())
        .await
        .unwrap(),
    }
}

pub use kesos_testkit::history::{PEKSOS, SCHEME, TKS, Writer};

/// Every row of each live read-model table, one text line per row in a stable order; rows
/// whose count or sum is zero are left out (the live model can keep a row whose changes
/// cancelled, a replay never writes one: both mean nothing).
pub async fn model_rows(bench: &Bench) -> Vec<String> {
    let tables: [(&str, &[&str], &str); 7] = [
        ("progress_workers", &["worker_id", "state"], ""),
        (
            "progress_counts",
            &[
                "kabkota", "province", "category", "role", "scheme", "measure", "count",
            ],
            "count <> 0",
        ),
        (
            "progress_facts",
            &[
                "province",
                "kabkota",
                "category",
                "role",
                "scheme",
                "measure",
                "delta",
                "day",
                "recorded_us",
            ],
            "",
        ),
        (
            "progress_months",
            &[
                "level", "parent", "category", "region", "month", "measure", "delta",
            ],
            "delta <> 0",
        ),
        (
            "progress_targets",
            &[
                "year",
                "region",
                "category",
                "count",
                "day",
                "recorded_us",
                "source",
                "position",
            ],
            "",
        ),
        (
            "progress_history",
            &["worker_id", "source", "position", "occurred_us"],
            "",
        ),
        ("progress_checkpoints", &["source", "position"], ""),
    ];
    let mut rows = Vec::new();
    for (table, columns, keep) in tables {
        let line: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect();
        let filter = if keep.is_empty() {
            String::new()
        } else {
            format!(" WHERE {keep}")
        };
        let sql = format!(
            "SELECT '{table}|' || {} FROM {table}{filter} ORDER BY 1",
            line.join(" || '|' || ")
        );
        let lines: Vec<String> = match &bench.place {
            Place::Pg(_, store) => sqlx::query_scalar(&sql)
                .fetch_all(store.pool())
                .await
                .unwrap(),
            Place::Lite(_, store) => sqlx::query_scalar(&sql)
                .fetch_all(store.pool())
                .await
                .unwrap(),
        };
        rows.extend(lines);
    }
    rows
}
