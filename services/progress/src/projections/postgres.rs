//! PostgreSQL's own ways to write the model fast, reached through [`kesos_readside::Tx::postgres`]:
//! `COPY … FROM STDIN` for the rows that are appended (dated facts, the history index) and for
//! the counts and roll-up a replay summed into empty tables; one `INSERT … SELECT FROM UNNEST`
//! per table, one array per column, for the rows a batch adds to (worker standings, current
//! counts, the monthly roll-up). A batch of 16,000 events touches tens of thousands of roll-up
//! rows, and as multi-row `VALUES` those were seven bound parameters a row, planned afresh for
//! every thousand rows — the live projection spent most of its time there.
//!
//! Each map holds a key once, so no statement meets a key twice (PostgreSQL refuses an
//! `ON CONFLICT DO UPDATE` that would).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sqlx::postgres::PgConnection;
use uuid::Uuid;

use crate::domain::months::MonthKey;
use crate::domain::plan::{Fact, HistoryEntry, KeyedCounts};
use crate::domain::worker::WorkerProgress;
use crate::projections::values::encoded;

/// PostgreSQL's COPY text format: a backslash, tab, newline or carriage return in a value is
/// escaped.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}

/// Stores the standing of `workers`, replacing what was stored.
pub(crate) async fn workers(
    connection: &mut PgConnection,
    table: &str,
    workers: &BTreeMap<Uuid, WorkerProgress>,
) -> Result<(), sqlx::Error> {
    if workers.is_empty() {
        return Ok(());
    }
    let (ids, states): (Vec<String>, Vec<String>) = encoded(workers)?.into_iter().unzip();
    sqlx::query(&format!(
        "INSERT INTO {table} (worker_id, state) \
         SELECT * FROM UNNEST($1::text[], $2::text[]) \
         ON CONFLICT (worker_id) DO UPDATE SET state = excluded.state"
    ))
    .bind(ids)
    .bind(states)
    .execute(&mut *connection)
    .await
    .map(|_| ())
}

/// Adds `counts` to the current counts.
pub(crate) async fn add_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &KeyedCounts,
) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut columns = CountColumns::default();
    for ((key, scheme, measure), count) in counts {
        columns.kabkota.push(key.kabkota.clone());
        columns.province.push(key.province().to_owned());
        columns.category.push(i64::from(key.category));
        columns.role.push(i64::from(key.role));
        columns.scheme.push(scheme.clone());
        columns.measure.push(i64::from(measure.code()));
        columns.count.push(*count);
    }
    sqlx::query(&format!(
        "INSERT INTO {table} (kabkota, province, category, role, scheme, measure, count) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
         $5::text[], $6::bigint[], $7::bigint[]) \
         ON CONFLICT (kabkota, category, role, scheme, measure) \
         DO UPDATE SET count = {table}.count + excluded.count"
    ))
    .bind(columns.kabkota)
    .bind(columns.province)
    .bind(columns.category)
    .bind(columns.role)
    .bind(columns.scheme)
    .bind(columns.measure)
    .bind(columns.count)
    .execute(&mut *connection)
    .await
    .map(|_| ())
}

/// Adds `months` to the roll-up.
pub(crate) async fn add_months(
    connection: &mut PgConnection,
    table: &str,
    months: &[(MonthKey, i64)],
) -> Result<(), sqlx::Error> {
    if months.is_empty() {
        return Ok(());
    }
    let mut columns = MonthColumns::default();
    for (key, delta) in months {
        columns.level.push(key.level.code());
        columns.parent.push(key.parent.clone());
        columns.category.push(key.category);
        columns.region.push(key.region.clone());
        columns.month.push(key.month);
        columns.measure.push(i64::from(key.measure.code()));
        columns.delta.push(*delta);
    }
    sqlx::query(&format!(
        "INSERT INTO {table} (level, parent, category, region, month, measure, delta) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], \
         $5::bigint[], $6::bigint[], $7::bigint[]) \
         ON CONFLICT (level, parent, category, region, month, measure) \
         DO UPDATE SET delta = {table}.delta + excluded.delta"
    ))
    .bind(columns.level)
    .bind(columns.parent)
    .bind(columns.category)
    .bind(columns.region)
    .bind(columns.month)
    .bind(columns.measure)
    .bind(columns.delta)
    .execute(&mut *connection)
    .await
    .map(|_| ())
}

#[derive(Default)]
struct CountColumns {
    kabkota: Vec<String>,
    province: Vec<String>,
    category: Vec<i64>,
    role: Vec<i64>,
    scheme: Vec<String>,
    measure: Vec<i64>,
    count: Vec<i64>,
}

#[derive(Default)]
struct MonthColumns {
    level: Vec<i64>,
    parent: Vec<String>,
    category: Vec<i64>,
    region: Vec<String>,
    month: Vec<i64>,
    measure: Vec<i64>,
    delta: Vec<i64>,
}

/// Writes `facts` into `table`.
pub(crate) async fn facts(
    connection: &mut PgConnection,
    table: &str,
    facts: &[Fact],
) -> Result<(), sqlx::Error> {
    if facts.is_empty() {
        return Ok(());
    }
    let mut data = String::with_capacity(facts.len() * 64);
    for fact in facts {
        escape(fact.key.province(), &mut data);
        data.push('\t');
        escape(&fact.key.kabkota, &mut data);
        data.push('\t');
        let _ = write!(data, "{}\t{}\t", fact.key.category, fact.key.role);
        escape(&fact.scheme, &mut data);
        let _ = writeln!(
            data,
            "\t{}\t{}\t{}\t{}",
            fact.measure.code(),
            fact.delta,
            fact.day,
            fact.recorded_us
        );
    }
    let statement = format!(
        "COPY {table} (province, kabkota, category, role, scheme, measure, delta, day, \
         recorded_us) FROM STDIN"
    );
    copy(connection, &statement, data).await
}

/// Writes history index `entries` into `table` (an entry already there is a replayed one:
/// the batch's checkpoint check keeps those out).
pub(crate) async fn history(
    connection: &mut PgConnection,
    table: &str,
    entries: &[HistoryEntry],
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut data = String::with_capacity(entries.len() * 64);
    for entry in entries {
        let _ = write!(data, "{}\t", entry.worker);
        escape(&entry.source, &mut data);
        let _ = writeln!(data, "\t{}\t{}", entry.position, entry.occurred_us);
    }
    let statement = format!("COPY {table} (worker_id, source, position, occurred_us) FROM STDIN");
    copy(connection, &statement, data).await
}

/// Writes a replay's summed `counts` into its empty `table`.
pub(crate) async fn copy_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &KeyedCounts,
) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut data = String::with_capacity(counts.len() * 48);
    for ((key, scheme, measure), count) in counts {
        escape(&key.kabkota, &mut data);
        data.push('\t');
        escape(key.province(), &mut data);
        let _ = write!(data, "\t{}\t{}\t", key.category, key.role);
        escape(scheme, &mut data);
        let _ = writeln!(data, "\t{}\t{count}", measure.code());
    }
    let statement = format!(
        "COPY {table} (kabkota, province, category, role, scheme, measure, count) FROM STDIN"
    );
    copy(connection, &statement, data).await
}

/// Writes roll-up rows a replay summed into its `table` (which holds none of their keys).
pub(crate) async fn copy_months(
    connection: &mut PgConnection,
    table: &str,
    months: &[(MonthKey, i64)],
) -> Result<(), sqlx::Error> {
    if months.is_empty() {
        return Ok(());
    }
    let mut data = String::with_capacity(months.len() * 40);
    for (key, delta) in months {
        let _ = write!(data, "{}\t", key.level.code());
        escape(&key.parent, &mut data);
        let _ = write!(data, "\t{}\t", key.category);
        escape(&key.region, &mut data);
        let _ = writeln!(data, "\t{}\t{}\t{delta}", key.month, key.measure.code());
    }
    let statement =
        format!("COPY {table} (level, parent, category, region, month, measure, delta) FROM STDIN");
    copy(connection, &statement, data).await
}

async fn copy(
    connection: &mut PgConnection,
    statement: &str,
    data: String,
) -> Result<(), sqlx::Error> {
    let mut copy = connection.copy_in_raw(statement).await?;
    if let Err(error) = copy.send(data.into_bytes()).await {
        let _ = copy.abort("kesos could not send the rows").await;
        return Err(error);
    }
    copy.finish().await.map(|_| ())
}
