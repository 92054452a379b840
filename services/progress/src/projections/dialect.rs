//! What differs between the two backends for the progress model, in one place: a few
//! statements and settings per backend, chosen by a plain match on [`Backend`]. Everything
//! else the model runs is SQL both accept, through the one handle ([`Db`], [`Tx`]); the bulk
//! writes of PostgreSQL (`COPY`, `UNNEST`) are `postgres`'s, reached through
//! [`Tx::postgres`].

use kesos_readside::{Backend, Tx};

/// A backend's statements and settings.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// The SQL that computes a fact's business month
    /// ([`crate::domain::months::month_index`]) from its `day` column.
    pub(crate) month_of_day: &'static str,
    /// The type of the tables' text columns. On PostgreSQL they compare byte by byte
    /// (`COLLATE "C"`): the codes and ids they hold sort the same either way, and every
    /// upsert of a batch compares them dozens of times in its index probes, which a locale's
    /// collation makes several times dearer.
    pub(crate) text: &'static str,
    /// Statements that open each transaction of a replay's bulk load. On PostgreSQL it does
    /// not wait for its commits to reach the disk: a crash mid-replay leaves only tables the
    /// next replay drops (the swap itself commits as usual).
    pub(crate) bulk_load: &'static [&'static str],
    /// Whether the database takes several writing transactions at once (PostgreSQL): a replay
    /// then loads in lanes and builds its indexes and writes its sums at once, each on a
    /// connection of its own. SQLite has one writer at a time, so there it does one thing
    /// after another.
    pub(crate) concurrent_writers: bool,
    /// The names of a table's indexes (`$1`: the table); SQLite's `sql IS NOT NULL` leaves
    /// automatic ones out, such as a primary key's.
    pub(crate) index_names: &'static str,
    /// Keeps other writers off the roll-up table (`{table}`) until the transaction ends (any
    /// write takes SQLite's write lock for the rest of the transaction).
    pub(crate) lock_months: &'static str,
    /// Keeps the live projection's batches off the model (`{table}`: the live checkpoints,
    /// which every batch reads first) until the swap's transaction ends.
    pub(crate) lock_checkpoints: &'static str,
    /// Settles a freshly loaded table (`{table}`) before readers use it: the planner's
    /// statistics, and on PostgreSQL the visibility map, without which a month's facts would
    /// be read from the table's scattered rows instead of from their covering index alone
    /// (SQLite's VACUUM rewrites the whole file, and it needs no visibility map).
    pub(crate) settle: &'static str,
    /// Settings of the tables whose rows every batch updates in place (`{table}`): on
    /// PostgreSQL, room left in each page lets an update write the new row version beside the
    /// old one without touching the indexes (a "HOT" update).
    pub(crate) updated_in_place: &'static [&'static str],
}

const POSTGRES: Dialect = Dialect {
    month_of_day: "CAST(EXTRACT(YEAR FROM DATE '1970-01-01' + CAST(day AS INTEGER)) \
         * 12 + EXTRACT(MONTH FROM DATE '1970-01-01' + CAST(day AS INTEGER)) - 1 AS BIGINT)",
    text: "TEXT COLLATE \"C\"",
    bulk_load: &["SET LOCAL synchronous_commit = off"],
    concurrent_writers: true,
    index_names: "SELECT indexname FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = $1",
    lock_months: "LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE",
    lock_checkpoints: "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE",
    settle: "VACUUM (ANALYZE) {table}",
    updated_in_place: &["ALTER TABLE {table} SET (fillfactor = 50)"],
};

const SQLITE: Dialect = Dialect {
    month_of_day: "(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 \
         + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1)",
    text: "TEXT",
    bulk_load: &[],
    concurrent_writers: false,
    index_names: "SELECT name FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
    lock_months: "DELETE FROM {table} WHERE level < 0",
    lock_checkpoints: "UPDATE {table} SET position = position WHERE source = ''",
    settle: "ANALYZE {table}",
    updated_in_place: &[],
};

impl Dialect {
    /// The dialect of `backend`.
    pub(crate) fn of(backend: Backend) -> &'static Dialect {
        match backend {
            Backend::Postgres => &POSTGRES,
            Backend::Sqlite => &SQLITE,
        }
    }
}

/// Runs `statements` in order inside `tx`.
pub(crate) async fn execute_all(tx: &mut Tx, statements: &[String]) -> Result<(), sqlx::Error> {
    for statement in statements {
        tx.query(statement).execute().await?;
    }
    Ok(())
}
