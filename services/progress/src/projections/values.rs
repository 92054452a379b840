//! Multi-row `INSERT … VALUES` through the one handle, in SQL both backends accept: SQLite's
//! way to write every table of the model, and both backends' way for the few target settings
//! a batch adds. (PostgreSQL writes the other tables its own faster ways, `postgres`.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kesos_readside::{Statement, Tx, Value};
use uuid::Uuid;

use crate::domain::months::MonthKey;
use crate::domain::plan::{Fact, HistoryEntry, KeyedCounts, TargetRow};
use crate::domain::worker::WorkerProgress;

/// Rows per statement: at most nine values a row, far below both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Worker standings as JSON, the form both backends store.
pub(crate) fn encoded(
    workers: &BTreeMap<Uuid, WorkerProgress>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    workers
        .iter()
        .map(|(id, state)| {
            let json =
                serde_json::to_string(state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            Ok((id.to_string(), json))
        })
        .collect()
}

/// Stores the standing of `workers`, replacing what was stored.
pub(crate) async fn workers(
    tx: &mut Tx,
    table: &str,
    workers: &BTreeMap<Uuid, WorkerProgress>,
) -> Result<(), sqlx::Error> {
    let rows = encoded(workers)?;
    insert(
        tx,
        &format!("INSERT INTO {table} (worker_id, state) "),
        rows,
        |(id, json)| [Value::Text(id), Value::Text(json)],
        " ON CONFLICT (worker_id) DO UPDATE SET state = excluded.state",
    )
    .await
}

/// Adds `counts` to the current counts (or writes them into a replay's empty table).
pub(crate) async fn add_counts(
    tx: &mut Tx,
    table: &str,
    counts: &KeyedCounts,
) -> Result<(), sqlx::Error> {
    insert(
        tx,
        &format!(
            "INSERT INTO {table} (kabkota, province, category, role, scheme, measure, count) "
        ),
        counts.iter(),
        |((key, scheme, measure), count)| {
            [
                Value::Text(key.kabkota.clone()),
                Value::Text(key.province().to_owned()),
                Value::Int(i64::from(key.category)),
                Value::Int(i64::from(key.role)),
                Value::Text(scheme.clone()),
                Value::Int(i64::from(measure.code())),
                Value::Int(*count),
            ]
        },
        &format!(
            " ON CONFLICT (kabkota, category, role, scheme, measure) \
             DO UPDATE SET count = {table}.count + excluded.count"
        ),
    )
    .await
}

/// Adds `months` to the roll-up (or writes them into a replay's empty table).
pub(crate) async fn add_months(
    tx: &mut Tx,
    table: &str,
    months: &[(MonthKey, i64)],
) -> Result<(), sqlx::Error> {
    insert(
        tx,
        &format!("INSERT INTO {table} (level, parent, category, region, month, measure, delta) "),
        months,
        |(key, delta)| {
            [
                Value::Int(key.level.code()),
                Value::Text(key.parent.clone()),
                Value::Int(key.category),
                Value::Text(key.region.clone()),
                Value::Int(key.month),
                Value::Int(i64::from(key.measure.code())),
                Value::Int(*delta),
            ]
        },
        &format!(
            " ON CONFLICT (level, parent, category, region, month, measure) \
             DO UPDATE SET delta = {table}.delta + excluded.delta"
        ),
    )
    .await
}

/// Appends `facts`.
pub(crate) async fn facts(tx: &mut Tx, table: &str, facts: &[Fact]) -> Result<(), sqlx::Error> {
    insert(
        tx,
        &format!(
            "INSERT INTO {table} (province, kabkota, category, role, scheme, measure, delta, \
             day, recorded_us) "
        ),
        facts,
        |fact| {
            [
                Value::Text(fact.key.province().to_owned()),
                Value::Text(fact.key.kabkota.clone()),
                Value::Int(i64::from(fact.key.category)),
                Value::Int(i64::from(fact.key.role)),
                Value::Text(fact.scheme.clone()),
                Value::Int(i64::from(fact.measure.code())),
                Value::Int(i64::from(fact.delta)),
                Value::Int(fact.day),
                Value::Int(fact.recorded_us),
            ]
        },
        "",
    )
    .await
}

/// Appends history index `entries` (an entry already there is a replayed one: the batch's
/// checkpoint check keeps those out).
pub(crate) async fn history(
    tx: &mut Tx,
    table: &str,
    entries: &[HistoryEntry],
) -> Result<(), sqlx::Error> {
    insert(
        tx,
        &format!("INSERT INTO {table} (worker_id, source, position, occurred_us) "),
        entries,
        |entry| {
            [
                Value::Text(entry.worker.to_string()),
                Value::Text(entry.source.clone()),
                Value::Int(entry.position),
                Value::Int(entry.occurred_us),
            ]
        },
        " ON CONFLICT DO NOTHING",
    )
    .await
}

/// Records target settings (a setting is kept once, by its source and position).
pub(crate) async fn targets(
    tx: &mut Tx,
    table: &str,
    targets: &[TargetRow],
) -> Result<(), sqlx::Error> {
    insert(
        tx,
        &format!(
            "INSERT INTO {table} (year, region, category, count, day, recorded_us, source, \
             position) "
        ),
        targets,
        |target| {
            [
                Value::Int(i64::from(target.year)),
                Value::Text(target.region.clone()),
                Value::Int(i64::from(target.category)),
                Value::Int(target.count),
                Value::Int(target.day),
                Value::Int(target.recorded_us),
                Value::Text(target.source.clone()),
                Value::Int(target.position),
            ]
        },
        " ON CONFLICT DO NOTHING",
    )
    .await
}

/// Inserts `rows`, each made into its `N` column values by `values`, as `head VALUES (…), …
/// tail` in statements of at most [`ROWS_PER_STATEMENT`] rows.
async fn insert<T, const N: usize>(
    tx: &mut Tx,
    head: &str,
    rows: impl IntoIterator<Item = T>,
    values: impl Fn(T) -> [Value; N],
    tail: &str,
) -> Result<(), sqlx::Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<[Value; N]> = rows
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(&values)
            .collect();
        let sql = statement(head, chunk.len(), N, tail);
        let mut statement = tx.query(&sql);
        for value in chunk.into_iter().flatten() {
            statement = bind(statement, value);
        }
        statement.execute().await?;
    }
    Ok(())
}

/// Binds a value, moving its text rather than copying it.
fn bind<'e, 'q>(statement: Statement<'e, 'q>, value: Value) -> Statement<'e, 'q> {
    match value {
        Value::Text(text) => statement.bind(text),
        Value::Int(int) => statement.bind(int),
        Value::Null => statement.bind(Option::<String>::None),
    }
}

/// `head VALUES ($1, $2), ($3, $4) tail` for `rows` rows of `columns` values.
fn statement(head: &str, rows: usize, columns: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + 8 + rows * columns * 8);
    sql.push_str(head);
    sql.push_str("VALUES ");
    let mut number = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            number += 1;
            let _ = write!(sql, "{}${number}", if column == 0 { "" } else { ", " });
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_numbers_every_value_of_every_row() {
        assert_eq!(
            statement("INSERT INTO t (a, b) ", 2, 2, " ON CONFLICT DO NOTHING"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
    }
}
