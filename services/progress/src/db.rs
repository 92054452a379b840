//! The read model in SQL, for both backends: one implementation written once as a macro over
//! plain SQL that PostgreSQL and SQLite both accept (like `kesos-bus`'s consumer tables).

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{Pool, Postgres, QueryBuilder, Row, Sqlite, Transaction};
use uuid::Uuid;

use crate::bulk::{postgres, sqlite};
use crate::measure::Measure;
use crate::plan::Plan;
use crate::query::{AsOf, Counts, Filter, RegionCounts, Scope};
use crate::tables::Tables;
use crate::worker::WorkerProgress;

/// Rows per multi-row statement: far below both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// A stored target setting, for choosing the one in force as of a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTarget {
    /// Year.
    pub year: i64,
    /// Region code.
    pub region: String,
    /// Category number.
    pub category: i64,
    /// Workers to certify.
    pub count: i64,
    /// Business day set.
    pub day: i64,
    /// Recorded (µs).
    pub recorded_us: i64,
    /// Source.
    pub source: String,
    /// Position in the source.
    pub position: i64,
}

/// A database that can hold the progress read model.
#[async_trait]
pub trait ProgressDb: sqlx::Database {
    /// Creates a table set (idempotent), with its indexes unless `indexes` is `None` (a replay
    /// adds them after loading).
    async fn create(
        pool: &Pool<Self>,
        tables: &Tables,
        indexes: Option<&str>,
    ) -> Result<(), sqlx::Error>;

    /// Positions applied per source.
    async fn checkpoints(
        transaction: &mut Transaction<'static, Self>,
        tables: &Tables,
    ) -> Result<HashMap<String, u64>, sqlx::Error>;

    /// The stored standing of `workers`.
    async fn load_workers(
        transaction: &mut Transaction<'static, Self>,
        tables: &Tables,
        workers: &[Uuid],
    ) -> Result<HashMap<Uuid, WorkerProgress>, sqlx::Error>;

    /// Writes a planned batch.
    async fn write(
        transaction: &mut Transaction<'static, Self>,
        tables: &Tables,
        plan: &Plan,
    ) -> Result<(), sqlx::Error>;

    /// Figures for a region and its children, now or as of a moment.
    async fn counts(
        pool: &Pool<Self>,
        tables: &Tables,
        filter: &Filter,
        as_of: AsOf,
    ) -> Result<RegionCounts, sqlx::Error>;

    /// Net change per business day and measure (for time series).
    async fn daily(
        pool: &Pool<Self>,
        tables: &Tables,
        filter: &Filter,
        as_of: AsOf,
    ) -> Result<Vec<(i64, Measure, i64)>, sqlx::Error>;

    /// Target settings of a year for some regions (every setting; the caller picks by as-of),
    /// in one query for a region and all its children.
    async fn targets(
        pool: &Pool<Self>,
        tables: &Tables,
        year: i32,
        regions: &[&str],
    ) -> Result<Vec<StoredTarget>, sqlx::Error>;

    /// The history index of a worker: (source, position), in business-time order.
    async fn history(
        pool: &Pool<Self>,
        tables: &Tables,
        worker: Uuid,
    ) -> Result<Vec<(String, u64)>, sqlx::Error>;

    /// Runs `statements` in order.
    async fn execute_all(
        transaction: &mut Transaction<'static, Self>,
        statements: &[String],
    ) -> Result<(), sqlx::Error>;
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `WHERE` conditions for a filter and as-of on the counts or facts table.
fn conditions<'a, DB: sqlx::Database>(
    builder: &mut QueryBuilder<'a, DB>,
    filter: &'a Filter,
    as_of: AsOf,
) where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder.push(" WHERE scheme = ");
    builder.push_bind(filter.scheme.as_str());
    match &filter.scope {
        Scope::Nation => {}
        Scope::Province(code) => {
            builder.push(" AND province = ");
            builder.push_bind(code.as_str());
        }
        Scope::KabupatenKota(code) => {
            builder.push(" AND province = ");
            builder.push_bind(code.get(..2).unwrap_or(""));
            builder.push(" AND kabkota = ");
            builder.push_bind(code.as_str());
        }
    }
    if let Some(category) = filter.category {
        builder.push(" AND category = ");
        builder.push_bind(i64::from(category));
    }
    if let Some(role) = filter.role {
        builder.push(" AND role = ");
        builder.push_bind(i64::from(role));
    }
    if let Some(day) = as_of.day {
        builder.push(" AND day <= ");
        builder.push_bind(day);
    }
    if let Some(recorded) = as_of.recorded_us {
        builder.push(" AND recorded_us <= ");
        builder.push_bind(recorded);
    }
}

/// The column that names a region's children.
fn child_column(scope: &Scope) -> &'static str {
    match scope {
        Scope::Nation => "province",
        Scope::Province(_) | Scope::KabupatenKota(_) => "kabkota",
    }
}

macro_rules! progress_db {
    ($db:ty, $bulk:ident, $indexed:expr) => {
        #[async_trait]
        impl ProgressDb for $db {
            async fn create(
                pool: &Pool<Self>,
                tables: &Tables,
                indexes: Option<&str>,
            ) -> Result<(), sqlx::Error> {
                let mut transaction = pool.begin().await?;
                Self::execute_all(&mut transaction, &tables.create_statements()).await?;
                // A replayed set keeps the index names it was built with; only a set without
                // any index on its facts gets the default one.
                let indexed: i64 = sqlx::query_scalar($indexed)
                    .bind(tables.facts())
                    .fetch_one(&mut *transaction)
                    .await?;
                if let Some(tag) = indexes.filter(|_| indexed == 0) {
                    Self::execute_all(&mut transaction, &tables.index_statements(tag)).await?;
                }
                transaction.commit().await
            }

            async fn checkpoints(
                transaction: &mut Transaction<'static, Self>,
                tables: &Tables,
            ) -> Result<HashMap<String, u64>, sqlx::Error> {
                let sql = format!("SELECT source, position FROM {}", tables.checkpoints());
                let rows = sqlx::query(&sql).fetch_all(&mut **transaction).await?;
                rows.iter()
                    .map(|row| Ok((row.try_get(0)?, to_u64(row.try_get(1)?))))
                    .collect()
            }

            async fn load_workers(
                transaction: &mut Transaction<'static, Self>,
                tables: &Tables,
                workers: &[Uuid],
            ) -> Result<HashMap<Uuid, WorkerProgress>, sqlx::Error> {
                let mut loaded = HashMap::with_capacity(workers.len());
                for chunk in workers.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::<$db>::new(format!(
                        "SELECT worker_id, state FROM {} WHERE worker_id IN (",
                        tables.workers()
                    ));
                    let mut list = builder.separated(", ");
                    for worker in chunk {
                        list.push_bind(worker.to_string());
                    }
                    builder.push(")");
                    for row in builder.build().fetch_all(&mut **transaction).await? {
                        let id: String = row.try_get(0)?;
                        let state: String = row.try_get(1)?;
                        let id =
                            Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        let state: WorkerProgress = serde_json::from_str(&state)
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        loaded.insert(id, state);
                    }
                }
                Ok(loaded)
            }

            async fn write(
                transaction: &mut Transaction<'static, Self>,
                tables: &Tables,
                plan: &Plan,
            ) -> Result<(), sqlx::Error> {
                let workers: Vec<_> = plan.workers.iter().collect();
                for chunk in workers.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {} (worker_id, state) ",
                        tables.workers()
                    ));
                    let mut encoded = Vec::with_capacity(chunk.len());
                    for (id, state) in chunk {
                        let json = serde_json::to_string(state)
                            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                        encoded.push((id.to_string(), json));
                    }
                    builder.push_values(encoded, |mut row, (id, json)| {
                        row.push_bind(id).push_bind(json);
                    });
                    builder.push(" ON CONFLICT (worker_id) DO UPDATE SET state = excluded.state");
                    builder.build().execute(&mut **transaction).await?;
                }
                $bulk::facts(transaction, &tables.facts(), &plan.facts).await?;
                $bulk::history(transaction, &tables.history(), &plan.history).await?;
                let counts: Vec<_> = plan.counts.iter().collect();
                for chunk in counts.chunks(ROWS_PER_STATEMENT) {
                    let table = tables.counts();
                    let mut builder = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {table} (kabkota, province, category, role, scheme, \
                         measure, count) "
                    ));
                    builder.push_values(chunk, |mut row, ((key, scheme, measure), count)| {
                        row.push_bind(key.kabkota.clone())
                            .push_bind(key.province().to_owned())
                            .push_bind(i64::from(key.category))
                            .push_bind(i64::from(key.role))
                            .push_bind(scheme.clone())
                            .push_bind(i64::from(measure.code()))
                            .push_bind(**count);
                    });
                    builder.push(format!(
                        " ON CONFLICT (kabkota, category, role, scheme, measure) \
                         DO UPDATE SET count = {table}.count + excluded.count"
                    ));
                    builder.build().execute(&mut **transaction).await?;
                }
                for chunk in plan.targets.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {} (year, region, category, count, day, recorded_us, \
                         source, position) ",
                        tables.targets()
                    ));
                    builder.push_values(chunk, |mut row, target| {
                        row.push_bind(i64::from(target.year))
                            .push_bind(target.region.clone())
                            .push_bind(i64::from(target.category))
                            .push_bind(target.count)
                            .push_bind(target.day)
                            .push_bind(target.recorded_us)
                            .push_bind(target.source.clone())
                            .push_bind(target.position);
                    });
                    builder.push(" ON CONFLICT DO NOTHING");
                    builder.build().execute(&mut **transaction).await?;
                }
                let table = tables.checkpoints();
                for (source, position) in &plan.checkpoints {
                    let sql = format!(
                        "INSERT INTO {table} (source, position) VALUES ($1, $2) \
                         ON CONFLICT (source) DO UPDATE SET position = excluded.position"
                    );
                    sqlx::query(&sql)
                        .bind(source)
                        .bind(to_i64(*position))
                        .execute(&mut **transaction)
                        .await?;
                }
                Ok(())
            }

            async fn counts(
                pool: &Pool<Self>,
                tables: &Tables,
                filter: &Filter,
                as_of: AsOf,
            ) -> Result<RegionCounts, sqlx::Error> {
                let child = child_column(&filter.scope);
                let (table, value) = if as_of.is_now() {
                    (tables.counts(), "count")
                } else {
                    (tables.facts(), "delta")
                };
                let mut builder = QueryBuilder::<$db>::new(format!(
                    "SELECT {child}, measure, CAST(SUM({value}) AS BIGINT) FROM {table}"
                ));
                conditions(&mut builder, filter, as_of);
                builder.push(format!(" GROUP BY {child}, measure"));
                let mut counts = RegionCounts::default();
                for row in builder.build().fetch_all(pool).await? {
                    let child: String = row.try_get(0)?;
                    let measure: i64 = row.try_get(1)?;
                    let value: Option<i64> = row.try_get(2)?;
                    let Some(measure) = i16::try_from(measure).ok().and_then(Measure::from_code)
                    else {
                        continue;
                    };
                    // A count that nets to zero is absent, whether its row says 0 (the live
                    // model keeps such rows) or there is no row (a replay sums only nonzero
                    // ones): both models answer alike.
                    let value = value.unwrap_or(0);
                    if value == 0 {
                        continue;
                    }
                    counts.total.add(measure, value);
                    if !matches!(filter.scope, Scope::KabupatenKota(_)) {
                        counts
                            .children
                            .entry(child)
                            .or_insert_with(Counts::default)
                            .add(measure, value);
                    }
                }
                Ok(counts)
            }

            async fn daily(
                pool: &Pool<Self>,
                tables: &Tables,
                filter: &Filter,
                as_of: AsOf,
            ) -> Result<Vec<(i64, Measure, i64)>, sqlx::Error> {
                let mut builder = QueryBuilder::<$db>::new(format!(
                    "SELECT day, measure, CAST(SUM(delta) AS BIGINT) FROM {}",
                    tables.facts()
                ));
                conditions(&mut builder, filter, as_of);
                builder.push(" GROUP BY day, measure ORDER BY day");
                let mut days = Vec::new();
                for row in builder.build().fetch_all(pool).await? {
                    let day: i64 = row.try_get(0)?;
                    let measure: i64 = row.try_get(1)?;
                    let value: Option<i64> = row.try_get(2)?;
                    if let Some(measure) = i16::try_from(measure).ok().and_then(Measure::from_code)
                    {
                        days.push((day, measure, value.unwrap_or(0)));
                    }
                }
                Ok(days)
            }

            async fn targets(
                pool: &Pool<Self>,
                tables: &Tables,
                year: i32,
                regions: &[&str],
            ) -> Result<Vec<StoredTarget>, sqlx::Error> {
                if regions.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = QueryBuilder::<$db>::new(format!(
                    "SELECT year, region, category, count, day, recorded_us, source, position \
                     FROM {} WHERE year = ",
                    tables.targets()
                ));
                builder.push_bind(i64::from(year));
                builder.push(" AND region IN (");
                let mut list = builder.separated(", ");
                for region in regions {
                    list.push_bind(*region);
                }
                builder.push(")");
                let rows = builder.build().fetch_all(pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(StoredTarget {
                            year: row.try_get(0)?,
                            region: row.try_get(1)?,
                            category: row.try_get(2)?,
                            count: row.try_get(3)?,
                            day: row.try_get(4)?,
                            recorded_us: row.try_get(5)?,
                            source: row.try_get(6)?,
                            position: row.try_get(7)?,
                        })
                    })
                    .collect()
            }

            async fn history(
                pool: &Pool<Self>,
                tables: &Tables,
                worker: Uuid,
            ) -> Result<Vec<(String, u64)>, sqlx::Error> {
                let sql = format!(
                    "SELECT source, position FROM {} WHERE worker_id = $1 \
                     ORDER BY occurred_us, source, position",
                    tables.history()
                );
                let rows = sqlx::query(&sql)
                    .bind(worker.to_string())
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get(0)?, to_u64(row.try_get(1)?))))
                    .collect()
            }

            async fn execute_all(
                transaction: &mut Transaction<'static, Self>,
                statements: &[String],
            ) -> Result<(), sqlx::Error> {
                for statement in statements {
                    sqlx::query(statement).execute(&mut **transaction).await?;
                }
                Ok(())
            }
        }
    };
}

/// How many indexes a table has, by backend (PostgreSQL counts its primary key's too, SQLite's
/// `sql IS NOT NULL` leaves automatic ones out; the facts table has no primary key).
const PG_INDEXED: &str =
    "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1";
const SQLITE_INDEXED: &str = "SELECT count(*) FROM sqlite_master \
    WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL";

progress_db!(Postgres, postgres, PG_INDEXED);
progress_db!(Sqlite, sqlite, SQLITE_INDEXED);
