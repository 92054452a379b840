//! The rows a batch adds to rather than appends — worker standings, current counts and the
//! monthly roll-up — upserted the cheapest way each backend has.
//!
//! On PostgreSQL every table takes one statement whose rows come from `UNNEST` of one array
//! per column: a batch of 16,000 events touches tens of thousands of roll-up rows, and as
//! multi-row `VALUES` those were seven bound parameters a row, planned afresh for every
//! thousand rows — the live projection spent most of its time there. SQLite has no arrays and
//! takes multi-row `VALUES` in chunks, as before.
//!
//! Each map holds a key once, so no statement meets a key twice (PostgreSQL refuses an
//! `ON CONFLICT DO UPDATE` that would).

use std::collections::BTreeMap;

use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::domain::months::MonthKey;
use crate::domain::worker::WorkerProgress;

/// Rows per multi-row statement on SQLite (at most seven parameters each, far below its limit).
const ROWS_PER_STATEMENT: usize = 1_000;

/// Current counts changed by a batch: (where, scheme, measure) → net change.
pub(crate) type Counts = crate::domain::plan::KeyedCounts;

/// Worker standings as JSON, the form both backends store.
fn encoded(workers: &BTreeMap<Uuid, WorkerProgress>) -> Result<Vec<(String, String)>, sqlx::Error> {
    workers
        .iter()
        .map(|(id, state)| {
            let json =
                serde_json::to_string(state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            Ok((id.to_string(), json))
        })
        .collect()
}

/// `UNNEST` upserts on PostgreSQL.
pub(crate) mod postgres {
    use super::*;

    /// Stores the standing of `workers`, replacing what was stored.
    pub(crate) async fn workers(
        transaction: &mut Transaction<'static, Postgres>,
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
        .execute(&mut **transaction)
        .await
        .map(|_| ())
    }

    /// Adds `counts` to the current counts.
    pub(crate) async fn counts(
        transaction: &mut Transaction<'static, Postgres>,
        table: &str,
        counts: &Counts,
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
        .execute(&mut **transaction)
        .await
        .map(|_| ())
    }

    /// Adds `months` to the roll-up.
    pub(crate) async fn months(
        transaction: &mut Transaction<'static, Postgres>,
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
        .execute(&mut **transaction)
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
}

/// Multi-row `VALUES` upserts on SQLite.
pub(crate) mod sqlite {
    use super::*;

    /// Stores the standing of `workers`, replacing what was stored.
    pub(crate) async fn workers(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        workers: &BTreeMap<Uuid, WorkerProgress>,
    ) -> Result<(), sqlx::Error> {
        for chunk in encoded(workers)?.chunks(ROWS_PER_STATEMENT) {
            let mut builder =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} (worker_id, state) "));
            builder.push_values(chunk, |mut row, (id, json)| {
                row.push_bind(id.clone()).push_bind(json.clone());
            });
            builder.push(" ON CONFLICT (worker_id) DO UPDATE SET state = excluded.state");
            builder.build().execute(&mut **transaction).await?;
        }
        Ok(())
    }

    /// Adds `counts` to the current counts.
    pub(crate) async fn counts(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        counts: &Counts,
    ) -> Result<(), sqlx::Error> {
        let counts: Vec<_> = counts.iter().collect();
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} (kabkota, province, category, role, scheme, measure, count) "
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
        Ok(())
    }

    /// Adds `months` to the roll-up.
    pub(crate) async fn months(
        transaction: &mut Transaction<'static, Sqlite>,
        table: &str,
        months: &[(MonthKey, i64)],
    ) -> Result<(), sqlx::Error> {
        for chunk in months.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} (level, parent, category, region, month, measure, delta) "
            ));
            builder.push_values(chunk, |mut row, (key, delta)| {
                row.push_bind(key.level.code())
                    .push_bind(key.parent.clone())
                    .push_bind(key.category)
                    .push_bind(key.region.clone())
                    .push_bind(key.month)
                    .push_bind(i64::from(key.measure.code()))
                    .push_bind(*delta);
            });
            builder.push(format!(
                " ON CONFLICT (level, parent, category, region, month, measure) \
                 DO UPDATE SET delta = {table}.delta + excluded.delta"
            ));
            builder.build().execute(&mut **transaction).await?;
        }
        Ok(())
    }
}
