//! The replay's write floor: how fast PostgreSQL itself can write the rows a replay must write.
//!
//! Each table of the replayed model is copied inside the server (`INSERT … SELECT` into an
//! empty table of the same columns, then the same indexes built), with the replay's own
//! `synchronous_commit = off`. No client encodes, sends or plans anything, so no design of the
//! replay that keeps these tables can write them faster: the log's events divided by this time
//! is the most any replay could reach on this machine today. The copies are dropped.

use anyhow::Context as _;
use sqlx::Row as _;
use tokio::time::Instant;

use kesos_progress::projections::tables::{NAMES, Tables};

/// What copying the model took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WriteFloor {
    /// Rows in the model's tables.
    pub rows: u64,
    /// Seconds spent inserting them.
    pub insert_seconds: f64,
    /// Seconds spent building their indexes (primary keys included).
    pub index_seconds: f64,
}

impl WriteFloor {
    /// The highest replay rate these writes allow for `events` events.
    pub(crate) fn events_per_second(&self, events: u64) -> f64 {
        events as f64 / (self.insert_seconds + self.index_seconds)
    }
}

/// The prefix of the copies' names.
const COPY_PREFIX: &str = "floor_copy_";

/// Copies every table of the live model and times it.
pub(crate) async fn measure(pool: &sqlx::PgPool) -> anyhow::Result<WriteFloor> {
    let mut floor = WriteFloor {
        rows: 0,
        insert_seconds: 0.0,
        index_seconds: 0.0,
    };
    for name in NAMES {
        let measured = copy_table(pool, name).await;
        let dropped = sqlx::query(&format!("DROP TABLE IF EXISTS {COPY_PREFIX}{name}"))
            .execute(pool)
            .await;
        let table = measured.with_context(|| format!("copying the model's {name}"))?;
        dropped?;
        floor.rows += table.rows;
        floor.insert_seconds += table.insert_seconds;
        floor.index_seconds += table.index_seconds;
    }
    Ok(floor)
}

/// Copies the live model's table `name` into `floor_copy_<name>` and builds the same indexes
/// on the copy, in one transaction.
async fn copy_table(pool: &sqlx::PgPool, name: &str) -> anyhow::Result<WriteFloor> {
    let table = Tables::live().name(name);
    let copy = format!("{COPY_PREFIX}{name}");
    let indexes: Vec<String> = sqlx::query(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
    )
    .bind(&table)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| row.try_get::<String, _>(0))
    .collect::<Result<_, _>>()?;
    let mut transaction = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *transaction)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE {copy} (LIKE {table} INCLUDING STORAGE)"
    ))
    .execute(&mut *transaction)
    .await?;
    let started = Instant::now();
    let rows = sqlx::query(&format!("INSERT INTO {copy} SELECT * FROM {table}"))
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    let insert_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for definition in &indexes {
        sqlx::query(&index_on_copy(definition, &copy)?)
            .execute(&mut *transaction)
            .await?;
    }
    let index_seconds = started.elapsed().as_secs_f64();
    transaction.commit().await?;
    Ok(WriteFloor {
        rows,
        insert_seconds,
        index_seconds,
    })
}

/// The statement that builds the index `definition` (as `pg_indexes` shows it: `CREATE
/// [UNIQUE] INDEX name ON schema.table USING method (columns)`) on `copy`, named by the server.
fn index_on_copy(definition: &str, copy: &str) -> anyhow::Result<String> {
    let unique = if definition.starts_with("CREATE UNIQUE INDEX") {
        "UNIQUE "
    } else {
        ""
    };
    let (_, method_and_columns) = definition
        .split_once(" USING ")
        .with_context(|| format!("an index definition without USING: {definition}"))?;
    Ok(format!(
        "CREATE {unique}INDEX ON {copy} USING {method_and_columns}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_rebuilt_on_the_copy_with_its_kind_method_and_columns() {
        let primary = "CREATE UNIQUE INDEX progress_counts_pkey ON s.progress_counts \
                       USING btree (kabkota, category)";
        assert_eq!(
            index_on_copy(primary, "floor_copy_counts").unwrap(),
            "CREATE UNIQUE INDEX ON floor_copy_counts USING btree (kabkota, category)"
        );
        let plain = "CREATE INDEX progress_facts_1_region ON s.progress_facts USING btree (day)";
        assert_eq!(
            index_on_copy(plain, "floor_copy_facts").unwrap(),
            "CREATE INDEX ON floor_copy_facts USING btree (day)"
        );
    }

    #[test]
    fn a_definition_without_a_method_is_an_error() {
        assert!(index_on_copy("CREATE INDEX x ON t (a)", "c").is_err());
    }
}
