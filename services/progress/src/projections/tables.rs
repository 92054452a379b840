//! The read model's tables. They are created by code rather than by migrations because a
//! replay builds a second, complete set under another prefix and swaps it in; every statement
//! here is plain SQL that PostgreSQL and SQLite both accept.

use crate::domain::measure::ALL_SCHEMES;

/// The prefix of the tables readers use.
pub const LIVE: &str = "progress_";
/// The prefix of the tables a replay builds.
pub const NEXT: &str = "progress_next_";

/// A secondary index of a table set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The indexed table's full name.
    pub table: String,
    /// How the index's name ends, whatever the build that named it.
    pub suffix: &'static str,
    /// The statement that creates it (idempotent).
    pub create: String,
}

/// One set of read-model tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    prefix: &'static str,
}

/// The table names in a set, without prefix.
pub const NAMES: [&str; 7] = [
    "workers",
    "counts",
    "facts",
    "months",
    "targets",
    "history",
    "checkpoints",
];

impl Tables {
    /// The tables readers use.
    pub fn live() -> Self {
        Self { prefix: LIVE }
    }

    /// The tables a replay builds before swapping them in.
    pub fn next() -> Self {
        Self { prefix: NEXT }
    }

    /// The full name of table `name` in this set.
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Workers' standing (no personal data).
    pub fn workers(&self) -> String {
        self.name("workers")
    }

    /// Current counts.
    pub fn counts(&self) -> String {
        self.name("counts")
    }

    /// Dated count changes.
    pub fn facts(&self) -> String {
        self.name("facts")
    }

    /// The monthly roll-up of the facts (see [`crate::domain::months`]).
    pub fn months(&self) -> String {
        self.name("months")
    }

    /// Targets as set over time.
    pub fn targets(&self) -> String {
        self.name("targets")
    }

    /// Which events make up each worker's history.
    pub fn history(&self) -> String {
        self.name("history")
    }

    /// Positions applied per source.
    pub fn checkpoints(&self) -> String {
        self.name("checkpoints")
    }

    /// The secondary indexes: the facts by region (a kabupaten/kota's or province's facts) and
    /// by day (one month's facts of the country, which the roll-up leaves to be summed), the
    /// counts by province. They are created after a replay's bulk load rather than kept up to
    /// date row by row. `tag` makes index names unique across builds, since an index keeps its
    /// name when its table is renamed; the suffix tells which index a renamed one is.
    pub fn index_statements(&self, tag: &str) -> Vec<Index> {
        let p = self.prefix;
        let index = |table: &str, suffix: &'static str, columns: &str| Index {
            table: format!("{p}{table}"),
            suffix,
            create: format!(
                "CREATE INDEX IF NOT EXISTS {p}{table}_{tag}{suffix} ON {p}{table} ({columns})"
            ),
        };
        vec![
            index("facts", "_region", "province, kabkota, scheme, day"),
            // Every column a month's facts are summed by, so they are read from the index
            // alone rather than from rows scattered over the table.
            index(
                "facts",
                "_day",
                "scheme, day, province, kabkota, category, role, measure, delta",
            ),
            index("counts", "_province", "scheme, province"),
        ]
    }

    /// The statements that create the set's tables (idempotent), with `text` as the type of
    /// their text columns (the backend's `Dialect::text`).
    pub fn create_statements(&self, text: &str) -> Vec<String> {
        let p = self.prefix;
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {p}workers \
                 (worker_id {text} PRIMARY KEY, state {text} NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}counts (kabkota {text} NOT NULL, \
                 province {text} NOT NULL, category BIGINT NOT NULL, role BIGINT NOT NULL, \
                 scheme {text} NOT NULL, measure BIGINT NOT NULL, count BIGINT NOT NULL, \
                 PRIMARY KEY (kabkota, category, role, scheme, measure))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}facts (province {text} NOT NULL, \
                 kabkota {text} NOT NULL, category BIGINT NOT NULL, role BIGINT NOT NULL, \
                 scheme {text} NOT NULL, measure BIGINT NOT NULL, delta BIGINT NOT NULL, \
                 day BIGINT NOT NULL, recorded_us BIGINT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}months (level BIGINT NOT NULL, \
                 parent {text} NOT NULL, category BIGINT NOT NULL, region {text} NOT NULL, \
                 month BIGINT NOT NULL, measure BIGINT NOT NULL, delta BIGINT NOT NULL, \
                 PRIMARY KEY (level, parent, category, region, month, measure))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}targets (year BIGINT NOT NULL, \
                 region {text} NOT NULL, category BIGINT NOT NULL, count BIGINT NOT NULL, \
                 day BIGINT NOT NULL, recorded_us BIGINT NOT NULL, source {text} NOT NULL, \
                 position BIGINT NOT NULL, PRIMARY KEY (source, position))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}history (worker_id {text} NOT NULL, \
                 source {text} NOT NULL, position BIGINT NOT NULL, occurred_us BIGINT NOT NULL, \
                 PRIMARY KEY (worker_id, source, position))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}checkpoints \
                 (source {text} PRIMARY KEY, position BIGINT NOT NULL)"
            ),
        ]
    }

    /// Fills the (empty) roll-up from the facts over all schemes (once, when a database from
    /// before the roll-up is opened; a replay sums it in memory as it loads), given the
    /// backend's SQL for a day's month (`Dialect::month_of_day`): the kabupaten/kota rows by
    /// category from the facts, then each coarser cut from the finer rows, so the facts are
    /// read once; rows go in key order, so one region's months lie together.
    pub fn months_from_facts(&self, month_of_day: &str) -> Vec<String> {
        let p = self.prefix;
        let all = crate::domain::months::ALL_CATEGORIES;
        let all_time = crate::domain::months::ALL_TIME;
        let order = " ORDER BY 1, 2, 3, 4, 5, 6";
        let insert = format!(
            "INSERT INTO {p}months (level, parent, category, region, month, measure, delta) "
        );
        vec![
            format!(
                "{insert}SELECT 2, province, category, kabkota, {month_of_day}, measure, \
                 CAST(SUM(delta) AS BIGINT) FROM {p}facts WHERE scheme = '{ALL_SCHEMES}' \
                 GROUP BY province, kabkota, category, {month_of_day}, measure \
                 HAVING SUM(delta) <> 0{order}"
            ),
            format!(
                "{insert}SELECT 2, parent, {all}, region, month, measure, \
                 CAST(SUM(delta) AS BIGINT) FROM {p}months WHERE level = 2 \
                 GROUP BY parent, region, month, measure HAVING SUM(delta) <> 0{order}"
            ),
            format!(
                "{insert}SELECT 1, '', category, parent, month, measure, \
                 CAST(SUM(delta) AS BIGINT) FROM {p}months WHERE level = 2 \
                 GROUP BY parent, category, month, measure HAVING SUM(delta) <> 0{order}"
            ),
            format!(
                "{insert}SELECT 0, '', category, '', month, measure, \
                 CAST(SUM(delta) AS BIGINT) FROM {p}months WHERE level = 1 \
                 GROUP BY category, month, measure HAVING SUM(delta) <> 0{order}"
            ),
            format!(
                "{insert}SELECT level, parent, category, region, {all_time}, measure, \
                 CAST(SUM(delta) AS BIGINT) FROM {p}months \
                 GROUP BY level, parent, category, region, measure HAVING SUM(delta) <> 0{order}"
            ),
        ]
    }

    /// The tables questions read, whose statistics (and on PostgreSQL visibility map) a
    /// replay's bulk load should leave settled.
    pub fn read_tables(&self) -> Vec<String> {
        ["facts", "months", "counts"]
            .iter()
            .map(|name| self.name(name))
            .collect()
    }

    /// The statements that drop the set.
    pub fn drop_statements(&self) -> Vec<String> {
        NAMES
            .iter()
            .map(|name| format!("DROP TABLE IF EXISTS {}", self.name(name)))
            .collect()
    }

    /// The statements that give this set's tables the names of `target`'s.
    pub fn rename_statements(&self, target: &Tables) -> Vec<String> {
        NAMES
            .iter()
            .map(|name| {
                format!(
                    "ALTER TABLE {} RENAME TO {}",
                    self.name(name),
                    target.name(name)
                )
            })
            .collect()
    }
}
