//! The read model's tables. They are created by code rather than by migrations because a
//! replay builds a second, complete set under another prefix and swaps it in; every statement
//! here is plain SQL that PostgreSQL and SQLite both accept.

/// The prefix of the tables readers use.
pub const LIVE: &str = "progress_";
/// The prefix of the tables a replay builds.
pub const NEXT: &str = "progress_next_";

/// One set of read-model tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    prefix: &'static str,
}

/// The table names in a set, without prefix.
pub const NAMES: [&str; 6] = [
    "workers",
    "counts",
    "facts",
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

    /// The secondary indexes (idempotent), created after a replay's bulk load rather than kept
    /// up to date row by row. `tag` makes index names unique across builds, since an index
    /// keeps its name when its table is renamed.
    pub fn index_statements(&self, tag: &str) -> Vec<String> {
        let p = self.prefix;
        vec![format!(
            "CREATE INDEX IF NOT EXISTS {p}facts_{tag}_region \
             ON {p}facts (province, kabkota, scheme, day)"
        )]
    }

    /// The statements that create the set's tables (idempotent).
    pub fn create_statements(&self) -> Vec<String> {
        let p = self.prefix;
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {p}workers \
                 (worker_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}counts (kabkota TEXT NOT NULL, \
                 province TEXT NOT NULL, category BIGINT NOT NULL, role BIGINT NOT NULL, \
                 scheme TEXT NOT NULL, measure BIGINT NOT NULL, count BIGINT NOT NULL, \
                 PRIMARY KEY (kabkota, category, role, scheme, measure))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}facts (province TEXT NOT NULL, \
                 kabkota TEXT NOT NULL, category BIGINT NOT NULL, role BIGINT NOT NULL, \
                 scheme TEXT NOT NULL, measure BIGINT NOT NULL, delta BIGINT NOT NULL, \
                 day BIGINT NOT NULL, recorded_us BIGINT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}targets (year BIGINT NOT NULL, \
                 region TEXT NOT NULL, category BIGINT NOT NULL, count BIGINT NOT NULL, \
                 day BIGINT NOT NULL, recorded_us BIGINT NOT NULL, source TEXT NOT NULL, \
                 position BIGINT NOT NULL, PRIMARY KEY (source, position))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}history (worker_id TEXT NOT NULL, \
                 source TEXT NOT NULL, position BIGINT NOT NULL, occurred_us BIGINT NOT NULL, \
                 PRIMARY KEY (worker_id, source, position))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {p}checkpoints \
                 (source TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            ),
        ]
    }

    /// Fills the (empty) counts table from the facts: a count is by definition the sum of its
    /// facts, so a replay sums them once instead of updating counts batch by batch.
    pub fn counts_from_facts(&self) -> String {
        let p = self.prefix;
        format!(
            "INSERT INTO {p}counts (kabkota, province, category, role, scheme, measure, count) \
             SELECT kabkota, province, category, role, scheme, measure, \
             CAST(SUM(delta) AS BIGINT) FROM {p}facts \
             GROUP BY kabkota, province, category, role, scheme, measure \
             HAVING SUM(delta) <> 0"
        )
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
