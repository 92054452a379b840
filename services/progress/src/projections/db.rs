//! The read model in SQL, for both backends: one implementation written once as a macro over
//! plain SQL that PostgreSQL and SQLite both accept (like `kesos-bus`'s consumer tables).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::{Pool, Postgres, QueryBuilder, Row, Sqlite, Transaction};
use uuid::Uuid;

use crate::domain::measure::Measure;
use crate::domain::months::MonthKey;
use crate::domain::plan::KeyedCounts as Counts;
use crate::domain::plan::Plan;
use crate::domain::query::{AsOf, Filter, RegionCounts, Scope};
use crate::domain::targets::StoredTarget;
use crate::domain::worker::WorkerProgress;
use crate::projections::bulk::{postgres, sqlite};
use crate::projections::questions;
use crate::projections::tables::Tables;

/// Rows per multi-row statement: far below both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// A database that can hold the progress read model.
#[async_trait]
pub trait ProgressDb: sqlx::Database {
    /// The SQL that computes a fact's business month from its `day` column.
    const MONTH_OF_DAY: &'static str;
    /// The type of the tables' text columns. On PostgreSQL they compare byte by byte
    /// (`COLLATE "C"`): the codes and ids they hold sort the same either way, and every
    /// upsert of a batch compares them dozens of times in its index probes, which a
    /// locale's collation makes several times dearer.
    const TEXT: &'static str;

    /// Statements that open each transaction of a replay's bulk load. On PostgreSQL it does
    /// not wait for its commits to reach the disk: a crash mid-replay leaves only tables the
    /// next replay drops (the swap itself commits as usual).
    const BULK_LOAD_SETTINGS: &'static [&'static str];

    /// Whether the database takes several writing transactions at once (PostgreSQL): a
    /// replay then loads in lanes and builds its indexes and writes its sums at once, each on
    /// a connection of its own. SQLite has one writer at a time, so there it does one thing
    /// after another.
    const CONCURRENT_WRITERS: bool;

    /// The statement that opens a transaction which reads the model and then writes it. On
    /// SQLite it takes the file's write lock first (`BEGIN IMMEDIATE`): a transaction that
    /// read first cannot write once another connection has committed meanwhile (its snapshot
    /// is stale, `SQLITE_BUSY_SNAPSHOT`, at once and whatever the busy timeout), so a batch
    /// that met a commit of the store's writer or a consumer failed and backed off instead of
    /// waiting its turn.
    const BEGIN_WRITE: &'static str;

    /// Creates a table set (idempotent), with its indexes unless `indexes` is `None` (a replay
    /// adds them after loading).
    async fn create(
        pool: &Pool<Self>,
        tables: &Tables,
        indexes: Option<&str>,
    ) -> Result<(), sqlx::Error>;

    /// Writes the counts and roll-up rows a replay summed into its empty tables.
    async fn write_sums(
        transaction: &mut Transaction<'static, Self>,
        tables: &Tables,
        counts: &Counts,
        months: &[(MonthKey, i64)],
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

    /// Net change per business month ([`crate::domain::months::month_index`]) and measure, for time
    /// series; changes that net to zero are left out.
    async fn monthly(
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

    /// Settles freshly loaded tables before readers use them: the planner's statistics, and
    /// on PostgreSQL the visibility map, without which a month's facts would be read from the
    /// table's scattered rows instead of from their covering index alone.
    async fn settle(pool: &Pool<Self>, tables: &Tables) -> Result<(), sqlx::Error>;

    /// Runs `statements` in order.
    async fn execute_all(
        transaction: &mut Transaction<'static, Self>,
        statements: &[String],
    ) -> Result<(), sqlx::Error>;
}

/// A query that counts 1 when `table` holds any row and 0 when it is empty, without reading
/// further than the first row.
fn any_row(table: &str) -> String {
    format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS one")
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

macro_rules! progress_db {
    (
        $db:ty,
        $bulk:ident,
        $indexes:expr,
        $month_of_day:expr,
        $lock_months:expr,
        $settle:expr,
        $bulk_load:expr,
        $concurrent_writers:expr,
        $begin_write:expr,
        $updated_in_place:expr,
        $text:expr
    ) => {
        #[async_trait]
        impl ProgressDb for $db {
            const MONTH_OF_DAY: &'static str = $month_of_day;
            const TEXT: &'static str = $text;
            const BULK_LOAD_SETTINGS: &'static [&'static str] = $bulk_load;
            const CONCURRENT_WRITERS: bool = $concurrent_writers;
            const BEGIN_WRITE: &'static str = $begin_write;

            async fn create(
                pool: &Pool<Self>,
                tables: &Tables,
                indexes: Option<&str>,
            ) -> Result<(), sqlx::Error> {
                let mut transaction = pool.begin().await?;
                Self::execute_all(&mut transaction, &tables.create_statements(Self::TEXT)).await?;
                let tuned: Vec<String> = [tables.counts(), tables.months(), tables.workers()]
                    .iter()
                    .flat_map(|table| $updated_in_place.iter().map(move |s| s.replace("{table}", table)))
                    .collect();
                Self::execute_all(&mut transaction, &tuned).await?;
                let Some(tag) = indexes else {
                    return transaction.commit().await;
                };
                // A replayed set keeps the index names it was built with: only an index no
                // name ends for (a set from before it existed) is added.
                for index in tables.index_statements(tag) {
                    let names: Vec<String> = sqlx::query_scalar($indexes)
                        .bind(&index.table)
                        .fetch_all(&mut *transaction)
                        .await?;
                    if !names.iter().any(|name| name.ends_with(index.suffix)) {
                        // On a large table from before the index existed this takes a while,
                        // once; say why the start waits (a new, empty table needs no word).
                        let rows: i64 = sqlx::query_scalar(&any_row(&index.table))
                            .fetch_one(&mut *transaction)
                            .await?;
                        if rows > 0 {
                            tracing::info!(
                                table = %index.table,
                                index = index.suffix,
                                "creating a missing index"
                            );
                        }
                        Self::execute_all(&mut transaction, &[index.create]).await?;
                    }
                }
                // A set from before the roll-up existed gets it summed from its facts, once,
                // under a lock that keeps a second process from summing it too.
                let lock = $lock_months.replace("{table}", &tables.months());
                Self::execute_all(&mut transaction, &[lock]).await?;
                let rolled: i64 = sqlx::query_scalar(&any_row(&tables.months()))
                    .fetch_one(&mut *transaction)
                    .await?;
                let facts: i64 = sqlx::query_scalar(&any_row(&tables.facts()))
                    .fetch_one(&mut *transaction)
                    .await?;
                if rolled == 0 && facts > 0 {
                    tracing::info!(table = %tables.months(), "summing the monthly roll-up from the facts (once, after an upgrade)");
                    Self::execute_all(&mut transaction, &tables.months_from_facts(Self::MONTH_OF_DAY))
                        .await?;
                }
                transaction.commit().await
            }

            async fn write_sums(
                transaction: &mut Transaction<'static, Self>,
                tables: &Tables,
                counts: &Counts,
                months: &[(MonthKey, i64)],
            ) -> Result<(), sqlx::Error> {
                $bulk::counts(transaction, &tables.counts(), counts).await?;
                $bulk::months(transaction, &tables.months(), months).await
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
                crate::projections::upserts::$bulk::workers(transaction, &tables.workers(), &plan.workers)
                    .await?;
                $bulk::facts(transaction, &tables.facts(), &plan.facts).await?;
                $bulk::history(transaction, &tables.history(), &plan.history).await?;
                crate::projections::upserts::$bulk::counts(transaction, &tables.counts(), &plan.counts).await?;
                crate::projections::upserts::$bulk::months(transaction, &tables.months(), &plan.months).await?;
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
                let mut sums: BTreeMap<(String, Measure), i64> = BTreeMap::new();
                for mut query in questions::counts::<$db>(tables, filter, as_of) {
                    for row in query.build().fetch_all(pool).await? {
                        let child: String = row.try_get(0)?;
                        let (measure, value) = measure_and_value(&row)?;
                        if let Some(measure) = measure {
                            *sums.entry((child, measure)).or_default() += value;
                        }
                    }
                }
                let mut counts = RegionCounts::default();
                // A count that nets to zero is absent, whether its row says 0 (the live model
                // keeps such rows) or there is no row (a replay sums only nonzero ones): both
                // models answer alike.
                for ((child, measure), value) in sums.into_iter().filter(|(_, v)| *v != 0) {
                    counts.total.add(measure, value);
                    if !matches!(filter.scope, Scope::KabupatenKota(_)) {
                        counts.children.entry(child).or_default().add(measure, value);
                    }
                }
                Ok(counts)
            }

            async fn monthly(
                pool: &Pool<Self>,
                tables: &Tables,
                filter: &Filter,
                as_of: AsOf,
            ) -> Result<Vec<(i64, Measure, i64)>, sqlx::Error> {
                let mut sums: BTreeMap<(i64, Measure), i64> = BTreeMap::new();
                for mut query in questions::series::<$db>(tables, filter, as_of, Self::MONTH_OF_DAY) {
                    for row in query.build().fetch_all(pool).await? {
                        let month: i64 = row.try_get(0)?;
                        let (measure, value) = measure_and_value(&row)?;
                        if let Some(measure) = measure {
                            *sums.entry((month, measure)).or_default() += value;
                        }
                    }
                }
                Ok(sums
                    .into_iter()
                    .filter(|(_, value)| *value != 0)
                    .map(|((month, measure), value)| (month, measure, value))
                    .collect())
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

            async fn settle(pool: &Pool<Self>, tables: &Tables) -> Result<(), sqlx::Error> {
                for table in tables.read_tables() {
                    // Outside a transaction: PostgreSQL's VACUUM cannot run inside one.
                    sqlx::query(&$settle.replace("{table}", &table))
                        .execute(pool)
                        .await?;
                }
                Ok(())
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

/// The measure (none for a code this build does not know) and the sum of a (group, measure,
/// sum) row.
fn measure_and_value<R: Row>(row: &R) -> Result<(Option<Measure>, i64), sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let measure: i64 = row.try_get(1)?;
    let value: Option<i64> = row.try_get(2)?;
    Ok((
        i16::try_from(measure).ok().and_then(Measure::from_code),
        value.unwrap_or(0),
    ))
}

/// The names of a table's indexes, by backend (SQLite's `sql IS NOT NULL` leaves automatic
/// ones out, such as a primary key's).
const PG_INDEXES: &str =
    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1";
const SQLITE_INDEXES: &str = "SELECT name FROM sqlite_master \
    WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL";

/// Statements that keep other writers off the roll-up until the transaction ends, by backend
/// (any write takes SQLite's write lock for the rest of the transaction).
const PG_LOCK_MONTHS: &str = "LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE";
const SQLITE_LOCK_MONTHS: &str = "DELETE FROM {table} WHERE level < 0";

/// How a freshly loaded table is settled, by backend (SQLite's VACUUM rewrites the whole file,
/// and it needs no visibility map).
const PG_SETTLE: &str = "VACUUM (ANALYZE) {table}";
const SQLITE_SETTLE: &str = "ANALYZE {table}";

/// Settings of the tables whose rows are updated in place by every batch, by backend: on
/// PostgreSQL, room left in each page lets an update write the new row version beside the old
/// one without touching the indexes (a "HOT" update).
const PG_UPDATED_IN_PLACE: &[&str] = &["ALTER TABLE {table} SET (fillfactor = 50)"];

progress_db!(
    Postgres,
    postgres,
    PG_INDEXES,
    sql::POSTGRES,
    PG_LOCK_MONTHS,
    PG_SETTLE,
    &["SET LOCAL synchronous_commit = off"],
    true,
    "BEGIN",
    PG_UPDATED_IN_PLACE,
    "TEXT COLLATE \"C\""
);
progress_db!(
    Sqlite,
    sqlite,
    SQLITE_INDEXES,
    sql::SQLITE,
    SQLITE_LOCK_MONTHS,
    SQLITE_SETTLE,
    &[],
    false,
    "BEGIN IMMEDIATE",
    (&[] as &[&str]),
    "TEXT"
);

/// The SQL expression that computes [`crate::domain::months::month_index`] from the `day` column, per backend.
pub mod sql {
    /// PostgreSQL.
    pub const POSTGRES: &str = "CAST(EXTRACT(YEAR FROM DATE '1970-01-01' + CAST(day AS INTEGER)) \
         * 12 + EXTRACT(MONTH FROM DATE '1970-01-01' + CAST(day AS INTEGER)) - 1 AS BIGINT)";
    /// SQLite.
    pub const SQLITE: &str = "(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 \
         + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1)";
}
