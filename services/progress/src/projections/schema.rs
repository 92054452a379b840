//! Creating a table set in the database, and settling one a replay has loaded. The tables are
//! created by code rather than by migrations because a replay builds a second, complete set
//! under another prefix ([`Tables`]) and swaps it in.

use kesos_readside::{Db, Tx};

use crate::projections::dialect::{Dialect, execute_all};
use crate::projections::tables::Tables;

/// Creates `tables` (idempotent), with its indexes unless `indexes` is `None` (a replay adds
/// them after loading; `indexes` is the tag their names carry). A set from an older kesos gets
/// what it lacks: a missing index, and the monthly roll-up summed from its facts.
pub(crate) async fn create(
    db: &Db,
    tables: &Tables,
    indexes: Option<&str>,
) -> Result<(), sqlx::Error> {
    let dialect = Dialect::of(db.backend());
    let mut tx = db.begin().await?;
    execute_all(&mut tx, &tables.create_statements(dialect.text)).await?;
    let tuned: Vec<String> = [tables.counts(), tables.months(), tables.workers()]
        .iter()
        .flat_map(|table| {
            dialect
                .updated_in_place
                .iter()
                .map(move |setting| setting.replace("{table}", table))
        })
        .collect();
    execute_all(&mut tx, &tuned).await?;
    let Some(tag) = indexes else {
        return tx.commit().await;
    };
    // A replayed set keeps the index names it was built with: only an index no name ends for
    // (a set from before it existed) is added.
    for index in tables.index_statements(tag) {
        let names = tx
            .query(dialect.index_names)
            .bind(index.table.as_str())
            .fetch_all()
            .await?
            .iter()
            .map(|row| row.get_index::<String>(0))
            .collect::<Result<Vec<String>, sqlx::Error>>()?;
        if !names.iter().any(|name| name.ends_with(index.suffix)) {
            // On a large table from before the index existed this takes a while, once; say
            // why the start waits (a new, empty table needs no word).
            if any_row(&mut tx, &index.table).await? {
                tracing::info!(table = %index.table, index = index.suffix, "creating a missing index");
            }
            execute_all(&mut tx, &[index.create]).await?;
        }
    }
    // A set from before the roll-up existed gets it summed from its facts, once, under a lock
    // that keeps a second process from summing it too.
    let lock = dialect.lock_months.replace("{table}", &tables.months());
    execute_all(&mut tx, &[lock]).await?;
    if !any_row(&mut tx, &tables.months()).await? && any_row(&mut tx, &tables.facts()).await? {
        tracing::info!(table = %tables.months(), "summing the monthly roll-up from the facts (once, after an upgrade)");
        execute_all(&mut tx, &tables.months_from_facts(dialect.month_of_day)).await?;
    }
    tx.commit().await
}

/// Settles freshly loaded tables before readers use them ([`Dialect::settle`]).
pub(crate) async fn settle(db: &Db, tables: &Tables) -> Result<(), sqlx::Error> {
    let settle = Dialect::of(db.backend()).settle;
    for table in tables.read_tables() {
        // Outside a transaction: PostgreSQL's VACUUM cannot run inside one.
        db.query(&settle.replace("{table}", &table))
            .execute()
            .await?;
    }
    Ok(())
}

/// Whether `table` holds any row, read no further than the first.
async fn any_row(tx: &mut Tx, table: &str) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS one");
    let rows: i64 = tx.query(&sql).fetch_scalar().await?;
    Ok(rows > 0)
}
