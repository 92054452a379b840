//! The SELECT statements that answer a question, for both backends: which tables a question
//! is summed from, and how.
//!
//! - Now, over all schemes and not cut by role: the roll-up's all-time rows ([`crate::domain::months`]);
//!   cut by role or by one scheme: the current counts.
//! - As of a business date, over all schemes and not cut by role: the roll-up's months before
//!   the date's month, plus the facts of that month up to the date.
//! - Anything else (as of a recorded time, or cut by role or by one scheme): the facts.
//!
//! Each statement selects rows of (group, measure, sum), where the group is a region code for
//! counts and a month number for series; the caller adds them up.

use sqlx::QueryBuilder;

use crate::domain::measure::ALL_SCHEMES;
use crate::domain::months::{ALL_CATEGORIES, ALL_TIME, Level, first_day, month_index};
use crate::domain::query::{AsOf, Filter, Scope};
use crate::projections::tables::Tables;

/// True when the roll-up can answer: it keeps all schemes together, and no role and no
/// recorded time.
fn rolled_up(filter: &Filter, as_of: AsOf) -> bool {
    filter.scheme == ALL_SCHEMES && filter.role.is_none() && as_of.recorded_us.is_none()
}

/// The statements whose rows, added up per (region, measure), are a region's children's counts
/// (or a kabupaten/kota's own).
pub(crate) fn counts<'a, DB>(
    tables: &Tables,
    filter: &'a Filter,
    as_of: AsOf,
) -> Vec<QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let child = child_column(&filter.scope);
    let from_facts = |as_of: AsOf, from_day: Option<i64>| {
        let mut builder = QueryBuilder::<DB>::new(format!(
            "SELECT {child}, measure, CAST(SUM(delta) AS BIGINT) FROM {}",
            tables.facts()
        ));
        conditions(&mut builder, filter, as_of, from_day);
        builder.push(format!(" GROUP BY {child}, measure"));
        builder
    };
    let (level, parent, region) = match &filter.scope {
        Scope::Nation => (Level::Province, "", None),
        Scope::Province(code) => (Level::KabupatenKota, code.as_str(), None),
        Scope::KabupatenKota(code) => (
            Level::KabupatenKota,
            code.get(..2).unwrap_or(""),
            Some(code.as_str()),
        ),
    };
    let rolled = rolled_up(filter, as_of);
    let months = |month: i64| {
        let mut builder = QueryBuilder::<DB>::new(format!(
            "SELECT region, measure, CAST(SUM(delta) AS BIGINT) FROM {}",
            tables.months()
        ));
        month_rows(&mut builder, filter, level, parent, region);
        builder.push(if month == ALL_TIME {
            " AND month = "
        } else {
            " AND month < "
        });
        builder.push_bind(month);
        builder.push(" GROUP BY region, measure");
        builder
    };
    match as_of.day {
        None if rolled => vec![months(ALL_TIME)],
        _ if as_of.is_now() => {
            let mut builder = QueryBuilder::<DB>::new(format!(
                "SELECT {child}, measure, CAST(SUM(count) AS BIGINT) FROM {}",
                tables.counts()
            ));
            conditions(&mut builder, filter, as_of, None);
            builder.push(format!(" GROUP BY {child}, measure"));
            vec![builder]
        }
        Some(day) if rolled => {
            let month = month_index(day);
            vec![months(month), from_facts(as_of, Some(first_day(month)))]
        }
        _ => vec![from_facts(as_of, None)],
    }
}

/// The statements whose rows, added up per (month, measure), are a region's monthly changes up
/// to the as-of moment.
pub(crate) fn series<'a, DB>(
    tables: &Tables,
    filter: &'a Filter,
    as_of: AsOf,
    month_of_day: &str,
) -> Vec<QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if !rolled_up(filter, as_of) {
        let mut builder = QueryBuilder::<DB>::new(format!(
            "SELECT {month_of_day}, measure, CAST(SUM(delta) AS BIGINT) FROM {}",
            tables.facts()
        ));
        conditions(&mut builder, filter, as_of, None);
        builder.push(format!(" GROUP BY {month_of_day}, measure"));
        return vec![builder];
    }
    let (level, parent, region) = match &filter.scope {
        Scope::Nation => (Level::Nation, "", ""),
        Scope::Province(code) => (Level::Province, "", code.as_str()),
        Scope::KabupatenKota(code) => (
            Level::KabupatenKota,
            code.get(..2).unwrap_or(""),
            code.as_str(),
        ),
    };
    let mut months = QueryBuilder::<DB>::new(format!(
        "SELECT month, measure, CAST(SUM(delta) AS BIGINT) FROM {}",
        tables.months()
    ));
    month_rows(&mut months, filter, level, parent, Some(region));
    months.push(" AND month < ");
    let Some(day) = as_of.day else {
        months.push_bind(ALL_TIME);
        months.push(" GROUP BY month, measure");
        return vec![months];
    };
    let month = month_index(day);
    months.push_bind(month);
    months.push(" GROUP BY month, measure");
    // The as-of month itself, from its facts up to the day; its number is a literal integer.
    let mut last = QueryBuilder::<DB>::new(format!(
        "SELECT CAST({month} AS BIGINT), measure, CAST(SUM(delta) AS BIGINT) FROM {}",
        tables.facts()
    ));
    conditions(&mut last, filter, as_of, Some(first_day(month)));
    last.push(" GROUP BY measure");
    vec![months, last]
}

/// `WHERE` conditions on the roll-up: one level's rows under `parent` (one `region`'s, or all);
/// the caller adds the months.
fn month_rows<'a, DB>(
    builder: &mut QueryBuilder<'a, DB>,
    filter: &'a Filter,
    level: Level,
    parent: &'a str,
    region: Option<&'a str>,
) where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder.push(" WHERE level = ");
    builder.push_bind(level.code());
    builder.push(" AND parent = ");
    builder.push_bind(parent);
    builder.push(" AND category = ");
    builder.push_bind(filter.category.map_or(ALL_CATEGORIES, i64::from));
    if let Some(region) = region {
        builder.push(" AND region = ");
        builder.push_bind(region);
    }
}

/// `WHERE` conditions for a filter and as-of on the counts or facts table, from business day
/// `from_day` on when given.
fn conditions<'a, DB>(
    builder: &mut QueryBuilder<'a, DB>,
    filter: &'a Filter,
    as_of: AsOf,
    from_day: Option<i64>,
) where
    DB: sqlx::Database,
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
    if let Some(day) = from_day {
        builder.push(" AND day >= ");
        builder.push_bind(day);
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
