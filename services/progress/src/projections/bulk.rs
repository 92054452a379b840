//! The two tables that grow by a row per event — dated facts and the history index — and the
//! counts and roll-up a replay summed (into empty tables), written the fastest way each backend
//! has: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s on SQLite.

use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};

use crate::domain::months::MonthKey;
use crate::domain::plan::KeyedCounts as Counts;
use crate::domain::plan::{Fact, HistoryEntry};

/// Rows per multi-row statement on SQLite (9 parameters each, far below its limit).
const ROWS_PER_STATEMENT: usize = 1_000;

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

/// COPY on PostgreSQL.
pub(crate) mod postgres {
    use std::fmt::Write as _;

    use super::*;

    /// Writes `facts` into `table`.
    pub(crate) async fn facts(
        transaction: &mut Transaction<'static, Postgres>,
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
        copy(transaction, &statement, data).await
    }

    /// Writes history index `entries` into `table` (an entry already there is a replayed one:
    /// the batch's checkpoint check keeps those out).
    pub(crate) async fn history(
        transaction: &mut Transaction<'static, Postgres>,
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
        let statement =
            format!("COPY {table} (worker_id, source, position, occurred_us) FROM STDIN");
        copy(transaction, &statement, data).await
    }

    /// Writes a replay's summed `counts` into its empty `table`.
    pub(crate) async fn counts(
        transaction: &mut Transaction<'static, Postgres>,
        table: &str,
        counts: &Counts,
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
        copy(transaction, &statement, data).await
    }

    /// Writes roll-up rows a replay summed into its `table` (which holds none of their keys).
    pub(crate) async fn months(
        transaction: &mut Transaction<'static, Postgres>,
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
        let statement = format!(
            "COPY {table} (level, parent, category, region, month, measure, delta) FROM STDIN"
        );
        copy(transaction, &statement, data).await
    }

    async fn copy(
        transaction: &mut Transaction<'static, Postgres>,
        statement: &str,
        data: String,
    ) -> Result<(), sqlx::Error> {
        let mut copy = transaction.copy_in_raw(statement).await?;
        if let Err(error) = copy.send(data.into_bytes()).await {
            let _ = copy.abort("kesos could not send the rows").await;
            return Err(error);
        }
        copy.finish().await.map(|_| ())
    }
}

/// Multi-row INSERTs on SQLite.
pub(crate) mod sqlite {
    use super::*;

    /// Writes a replay's summed `counts` into its empty `table`.
    pub(crate) async fn counts(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        counts: &Counts,
    ) -> Result<(), sqlx::Error> {
        crate::projections::upserts::sqlite::counts(transaction, table, counts).await
    }

    /// Writes roll-up rows a replay summed into its `table` (which holds none of their keys).
    pub(crate) async fn months(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        months: &[(MonthKey, i64)],
    ) -> Result<(), sqlx::Error> {
        crate::projections::upserts::sqlite::months(transaction, table, months).await
    }

    /// Writes `facts` into `table`.
    pub(crate) async fn facts(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        facts: &[Fact],
    ) -> Result<(), sqlx::Error> {
        for chunk in facts.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} (province, kabkota, category, role, scheme, measure, \
                 delta, day, recorded_us) "
            ));
            builder.push_values(chunk, |mut row, fact| {
                row.push_bind(fact.key.province().to_owned())
                    .push_bind(fact.key.kabkota.clone())
                    .push_bind(i64::from(fact.key.category))
                    .push_bind(i64::from(fact.key.role))
                    .push_bind(fact.scheme.clone())
                    .push_bind(i64::from(fact.measure.code()))
                    .push_bind(i64::from(fact.delta))
                    .push_bind(fact.day)
                    .push_bind(fact.recorded_us);
            });
            builder.build().execute(&mut **transaction).await?;
        }
        Ok(())
    }

    /// Writes history index `entries` into `table`.
    pub(crate) async fn history(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        entries: &[HistoryEntry],
    ) -> Result<(), sqlx::Error> {
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} (worker_id, source, position, occurred_us) "
            ));
            builder.push_values(chunk, |mut row, entry| {
                row.push_bind(entry.worker.to_string())
                    .push_bind(entry.source.clone())
                    .push_bind(entry.position)
                    .push_bind(entry.occurred_us);
            });
            builder.push(" ON CONFLICT DO NOTHING");
            builder.build().execute(&mut **transaction).await?;
        }
        Ok(())
    }
}
