//! What a batch reads before it is planned (the checkpoints, the stored standing of its
//! workers) and how its plan is written: through the one handle, except where PostgreSQL has
//! a faster way of its own (`postgres`, reached through [`Tx::postgres`]); SQLite writes
//! multi-row `VALUES` (`values`).

use std::collections::HashMap;

use kesos_readside::{Tx, to_i64, to_u64};
use uuid::Uuid;

use crate::domain::months::MonthKey;
use crate::domain::plan::{KeyedCounts, Plan};
use crate::domain::worker::WorkerProgress;
use crate::projections::tables::Tables;
use crate::projections::{postgres, values};

/// Worker ids per `IN (…)` list: far below both backends' parameter limits.
const IDS_PER_STATEMENT: usize = 1_000;

/// Positions applied per source.
pub(crate) async fn checkpoints(
    tx: &mut Tx,
    tables: &Tables,
) -> Result<HashMap<String, u64>, sqlx::Error> {
    let sql = format!("SELECT source, position FROM {}", tables.checkpoints());
    tx.query(&sql)
        .fetch_all()
        .await?
        .iter()
        .map(|row| Ok((row.get_index(0)?, to_u64(row.get_index(1)?))))
        .collect()
}

/// The stored standing of `workers`.
pub(crate) async fn load_workers(
    tx: &mut Tx,
    tables: &Tables,
    workers: &[Uuid],
) -> Result<HashMap<Uuid, WorkerProgress>, sqlx::Error> {
    let mut loaded = HashMap::with_capacity(workers.len());
    for chunk in workers.chunks(IDS_PER_STATEMENT) {
        let list: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT worker_id, state FROM {} WHERE worker_id IN ({})",
            tables.workers(),
            list.join(", ")
        );
        let mut statement = tx.query(&sql);
        for worker in chunk {
            statement = statement.bind(worker.to_string());
        }
        for row in statement.fetch_all().await? {
            let id: String = row.get_index(0)?;
            let state: String = row.get_index(1)?;
            let id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let state: WorkerProgress =
                serde_json::from_str(&state).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            loaded.insert(id, state);
        }
    }
    Ok(loaded)
}

/// Writes a planned batch: the workers' standing, the facts, the history index, the counts
/// and roll-up it adds to, the targets set, and the checkpoints.
pub(crate) async fn write(tx: &mut Tx, tables: &Tables, plan: &Plan) -> Result<(), sqlx::Error> {
    if let Some(connection) = tx.postgres() {
        postgres::workers(connection, &tables.workers(), &plan.workers).await?;
        postgres::facts(connection, &tables.facts(), &plan.facts).await?;
        postgres::history(connection, &tables.history(), &plan.history).await?;
        postgres::add_counts(connection, &tables.counts(), &plan.counts).await?;
        postgres::add_months(connection, &tables.months(), &plan.months).await?;
    } else {
        values::workers(tx, &tables.workers(), &plan.workers).await?;
        values::facts(tx, &tables.facts(), &plan.facts).await?;
        values::history(tx, &tables.history(), &plan.history).await?;
        values::add_counts(tx, &tables.counts(), &plan.counts).await?;
        values::add_months(tx, &tables.months(), &plan.months).await?;
    }
    values::targets(tx, &tables.targets(), &plan.targets).await?;
    let sql = format!(
        "INSERT INTO {} (source, position) VALUES ($1, $2) \
         ON CONFLICT (source) DO UPDATE SET position = excluded.position",
        tables.checkpoints()
    );
    for (source, position) in &plan.checkpoints {
        tx.query(&sql)
            .bind(source.as_str())
            .bind(to_i64(*position))
            .execute()
            .await?;
    }
    Ok(())
}

/// Writes the counts and roll-up rows a replay summed into its empty tables.
pub(crate) async fn write_sums(
    tx: &mut Tx,
    tables: &Tables,
    counts: &KeyedCounts,
    months: &[(MonthKey, i64)],
) -> Result<(), sqlx::Error> {
    if let Some(connection) = tx.postgres() {
        postgres::copy_counts(connection, &tables.counts(), counts).await?;
        postgres::copy_months(connection, &tables.months(), months).await
    } else {
        values::add_counts(tx, &tables.counts(), counts).await?;
        values::add_months(tx, &tables.months(), months).await
    }
}
