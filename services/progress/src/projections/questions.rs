//! The SELECT statements that answer a question, for both backends: which tables a question
//! is summed from, and how.
//!
//! - Now, over all schemes and not cut by role: the roll-up's all-time rows
//!   ([`crate::domain::months`]); cut by role or by one scheme: the current counts.
//! - As of a business date, over all schemes and not cut by role: the roll-up's months before
//!   the date's month, plus the facts of that month up to the date.
//! - Anything else (as of a recorded time, or cut by role or by one scheme): the facts.
//!
//! Each statement selects rows of (group, measure, sum), where the group is a region code for
//! counts and a month number for series; the caller adds them up.

use kesos_readside::Where;

use crate::domain::measure::ALL_SCHEMES;
use crate::domain::months::{ALL_CATEGORIES, ALL_TIME, Level, first_day, month_index};
use crate::domain::query::{AsOf, Filter, Scope};
use crate::projections::tables::Tables;

/// One statement: its SQL, and the filter whose values it binds.
pub(crate) struct Select {
    /// The SQL, with the filter's `WHERE` clause in it.
    pub(crate) sql: String,
    /// The filter (its values, in the order of their `$n`).
    pub(crate) filter: Where,
}

/// True when the roll-up can answer: it keeps all schemes together, and no role and no
/// recorded time.
fn rolled_up(filter: &Filter, as_of: AsOf) -> bool {
    filter.scheme == ALL_SCHEMES && filter.role.is_none() && as_of.recorded_us.is_none()
}

/// The statements whose rows, added up per (region, measure), are a region's children's counts
/// (or a kabupaten/kota's own).
pub(crate) fn counts(tables: &Tables, filter: &Filter, as_of: AsOf) -> Vec<Select> {
    let child = child_column(&filter.scope);
    let from_facts = |as_of: AsOf, from_day: Option<i64>| {
        let filter = conditions(filter, as_of, from_day);
        Select {
            sql: format!(
                "SELECT {child}, measure, CAST(SUM(delta) AS BIGINT) FROM {}{} \
                 GROUP BY {child}, measure",
                tables.facts(),
                filter.sql()
            ),
            filter,
        }
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
    let months = |month: i64| {
        let mut rows = month_rows(filter, level, parent, region);
        let op = if month == ALL_TIME { "=" } else { "<" };
        rows.compare("month", op, Some(month));
        Select {
            sql: format!(
                "SELECT region, measure, CAST(SUM(delta) AS BIGINT) FROM {}{} \
                 GROUP BY region, measure",
                tables.months(),
                rows.sql()
            ),
            filter: rows,
        }
    };
    let rolled = rolled_up(filter, as_of);
    match as_of.day {
        None if rolled => vec![months(ALL_TIME)],
        _ if as_of.is_now() => {
            let filter = conditions(filter, as_of, None);
            vec![Select {
                sql: format!(
                    "SELECT {child}, measure, CAST(SUM(count) AS BIGINT) FROM {}{} \
                     GROUP BY {child}, measure",
                    tables.counts(),
                    filter.sql()
                ),
                filter,
            }]
        }
        Some(day) if rolled => {
            let month = month_index(day);
            vec![months(month), from_facts(as_of, Some(first_day(month)))]
        }
        _ => vec![from_facts(as_of, None)],
    }
}

/// The statements whose rows, added up per (month, measure), are a region's monthly changes up
/// to the as-of moment, given the backend's SQL for a fact's month.
pub(crate) fn series(
    tables: &Tables,
    filter: &Filter,
    as_of: AsOf,
    month_of_day: &str,
) -> Vec<Select> {
    if !rolled_up(filter, as_of) {
        let filter = conditions(filter, as_of, None);
        return vec![Select {
            sql: format!(
                "SELECT {month_of_day}, measure, CAST(SUM(delta) AS BIGINT) FROM {}{} \
                 GROUP BY {month_of_day}, measure",
                tables.facts(),
                filter.sql()
            ),
            filter,
        }];
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
    let mut rows = month_rows(filter, level, parent, Some(region));
    let before = as_of.day.map_or(ALL_TIME, month_index);
    rows.compare("month", "<", Some(before));
    let months = Select {
        sql: format!(
            "SELECT month, measure, CAST(SUM(delta) AS BIGINT) FROM {}{} GROUP BY month, measure",
            tables.months(),
            rows.sql()
        ),
        filter: rows,
    };
    let Some(day) = as_of.day else {
        return vec![months];
    };
    // The as-of month itself, from its facts up to the day; its number is a literal integer.
    let month = month_index(day);
    let facts = conditions(filter, as_of, Some(first_day(month)));
    let last = Select {
        sql: format!(
            "SELECT CAST({month} AS BIGINT), measure, CAST(SUM(delta) AS BIGINT) FROM {}{} \
             GROUP BY measure",
            tables.facts(),
            facts.sql()
        ),
        filter: facts,
    };
    vec![months, last]
}

/// Conditions on the roll-up: one level's rows under `parent` (one `region`'s, or all); the
/// caller adds the months.
fn month_rows(filter: &Filter, level: Level, parent: &str, region: Option<&str>) -> Where {
    let mut rows = Where::new();
    rows.compare("level", "=", Some(level.code()))
        .equals("parent", Some(parent))
        .compare(
            "category",
            "=",
            Some(filter.category.map_or(ALL_CATEGORIES, i64::from)),
        )
        .equals("region", region);
    rows
}

/// Conditions for a filter and as-of on the counts or facts table, from business day
/// `from_day` on when given.
fn conditions(filter: &Filter, as_of: AsOf, from_day: Option<i64>) -> Where {
    let (province, kabkota) = match &filter.scope {
        Scope::Nation => (None, None),
        Scope::Province(code) => (Some(code.as_str()), None),
        Scope::KabupatenKota(code) => (code.get(..2).or(Some("")), Some(code.as_str())),
    };
    let mut rows = Where::new();
    rows.equals("scheme", Some(filter.scheme.as_str()))
        .equals("province", province)
        .equals("kabkota", kabkota)
        .compare("category", "=", filter.category.map(i64::from))
        .compare("role", "=", filter.role.map(i64::from))
        .compare("day", ">=", from_day)
        .compare("day", "<=", as_of.day)
        .compare("recorded_us", "<=", as_of.recorded_us);
    rows
}

/// The column that names a region's children.
fn child_column(scope: &Scope) -> &'static str {
    match scope {
        Scope::Nation => "province",
        Scope::Province(_) | Scope::KabupatenKota(_) => "kabkota",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kabupaten_kota_as_of_a_date_reads_the_months_before_and_the_facts_of_its_month() {
        let filter = Filter::region(Scope::KabupatenKota("32.77".to_owned()));
        let as_of = AsOf {
            day: Some(17_500),
            recorded_us: None,
        };
        let selects = counts(&Tables::live(), &filter, as_of);
        assert_eq!(selects.len(), 2);
        assert!(
            selects[0]
                .sql
                .contains("FROM progress_months WHERE level = $1")
        );
        assert!(
            selects[0]
                .sql
                .ends_with("AND month < $5 GROUP BY region, measure")
        );
        assert!(
            selects[1]
                .sql
                .contains("FROM progress_facts WHERE scheme = $1")
        );
        assert!(selects[1].sql.contains("day >= $4 AND day <= $5"));
        assert_eq!(selects[1].filter.values().len(), 5);
    }
}
