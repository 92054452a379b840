//! The questions asked of the model, run on its database: the counts of a region and its
//! children, monthly changes, target settings and a worker's history index. Reads only.

use std::collections::BTreeMap;

use kesos_readside::{Db, Row, to_u64};
use uuid::Uuid;

use crate::domain::measure::Measure;
use crate::domain::query::{AsOf, Filter, RegionCounts, Scope};
use crate::domain::targets::StoredTarget;
use crate::projections::dialect::Dialect;
use crate::projections::questions::{self, Select};
use crate::projections::tables::Tables;

/// Figures for a region and its children, now or as of a moment.
pub(crate) async fn counts(
    db: &Db,
    tables: &Tables,
    filter: &Filter,
    as_of: AsOf,
) -> Result<RegionCounts, sqlx::Error> {
    let mut sums: BTreeMap<(String, Measure), i64> = BTreeMap::new();
    for select in questions::counts(tables, filter, as_of) {
        for row in fetch(db, &select).await? {
            let child: String = row.get_index(0)?;
            let (measure, value) = measure_and_value(&row)?;
            if let Some(measure) = measure {
                *sums.entry((child, measure)).or_default() += value;
            }
        }
    }
    let mut counts = RegionCounts::default();
    // A count that nets to zero is absent, whether its row says 0 (the live model keeps such
    // rows) or there is no row (a replay sums only nonzero ones): both models answer alike.
    for ((child, measure), value) in sums.into_iter().filter(|(_, v)| *v != 0) {
        counts.total.add(measure, value);
        if !matches!(filter.scope, Scope::KabupatenKota(_)) {
            counts
                .children
                .entry(child)
                .or_default()
                .add(measure, value);
        }
    }
    Ok(counts)
}

/// Net change per business month ([`crate::domain::months::month_index`]) and measure, for
/// time series; changes that net to zero are left out.
pub(crate) async fn monthly(
    db: &Db,
    tables: &Tables,
    filter: &Filter,
    as_of: AsOf,
) -> Result<Vec<(i64, Measure, i64)>, sqlx::Error> {
    let month_of_day = Dialect::of(db.backend()).month_of_day;
    let mut sums: BTreeMap<(i64, Measure), i64> = BTreeMap::new();
    for select in questions::series(tables, filter, as_of, month_of_day) {
        for row in fetch(db, &select).await? {
            let month: i64 = row.get_index(0)?;
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

/// Target settings of a year for some regions (every setting; the caller picks by as-of), in
/// one query for a region and all its children.
pub(crate) async fn targets(
    db: &Db,
    tables: &Tables,
    year: i32,
    regions: &[&str],
) -> Result<Vec<StoredTarget>, sqlx::Error> {
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (2..regions.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT year, region, category, count, day, recorded_us, source, position \
         FROM {} WHERE year = $1 AND region IN ({})",
        tables.targets(),
        list.join(", ")
    );
    let mut statement = db.query(&sql).bind(i64::from(year));
    for region in regions {
        statement = statement.bind(*region);
    }
    statement
        .fetch_all()
        .await?
        .iter()
        .map(|row| {
            Ok(StoredTarget {
                year: row.get_index(0)?,
                region: row.get_index(1)?,
                category: row.get_index(2)?,
                count: row.get_index(3)?,
                day: row.get_index(4)?,
                recorded_us: row.get_index(5)?,
                source: row.get_index(6)?,
                position: row.get_index(7)?,
            })
        })
        .collect()
}

/// The history index of a worker: (source, position), in business-time order.
pub(crate) async fn history(
    db: &Db,
    tables: &Tables,
    worker: Uuid,
) -> Result<Vec<(String, u64)>, sqlx::Error> {
    let sql = format!(
        "SELECT source, position FROM {} WHERE worker_id = $1 \
         ORDER BY occurred_us, source, position",
        tables.history()
    );
    db.query(&sql)
        .bind(worker.to_string())
        .fetch_all()
        .await?
        .iter()
        .map(|row| Ok((row.get_index(0)?, to_u64(row.get_index(1)?))))
        .collect()
}

async fn fetch(db: &Db, select: &Select) -> Result<Vec<Row>, sqlx::Error> {
    db.query(&select.sql)
        .bind_values(select.filter.values())
        .fetch_all()
        .await
}

/// The measure (none for a code this build does not know) and the sum of a (group, measure,
/// sum) row.
fn measure_and_value(row: &Row) -> Result<(Option<Measure>, i64), sqlx::Error> {
    let measure: i64 = row.get_index(1)?;
    let value: Option<i64> = row.get_index(2)?;
    Ok((
        i16::try_from(measure).ok().and_then(Measure::from_code),
        value.unwrap_or(0),
    ))
}
