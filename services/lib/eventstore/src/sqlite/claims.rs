//! Claims in the SQLite writer: checked and changed per append, inside the batch's
//! `BEGIN IMMEDIATE` transaction. Each append's changes are written before the next append is
//! checked, so appends in a batch see each other's claims in order, as in PostgreSQL.

use std::collections::HashMap;

use sqlx::{QueryBuilder, SqliteConnection};

use crate::error::StoreError;
use crate::group_commit::AppendCommand;
use crate::model::StreamId;
use crate::reads::corrupt;

/// Most keys per statement (a few parameters each, well under SQLite's 32,766).
const KEYS_PER_STATEMENT: usize = 500;

/// The first key `command` takes that another stream holds, as a refusal naming the holder.
pub(super) async fn taken_elsewhere(
    connection: &mut SqliteConnection,
    command: &AppendCommand,
) -> Result<Option<StoreError>, StoreError> {
    let mut holders: HashMap<String, String> = HashMap::new();
    for chunk in command.claims.take.chunks(KEYS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::new("SELECT claim_key, stream_id FROM kesos_claims WHERE claim_key IN (");
        let mut keys = query.separated(", ");
        for key in chunk {
            keys.push_bind(key.as_str());
        }
        query.push(")");
        let rows: Vec<(String, String)> =
            query.build_query_as().fetch_all(&mut *connection).await?;
        holders.extend(rows);
    }
    let clash = command.claims.take.iter().find_map(|key| {
        holders
            .get(key.as_str())
            .filter(|holder| holder.as_str() != command.stream.as_str())
            .map(|holder| (key, holder))
    });
    let Some((key, holder)) = clash else {
        return Ok(None);
    };
    Ok(Some(StoreError::ClaimTaken {
        key: key.clone(),
        holder: StreamId::parse(holder.as_str()).map_err(|e| corrupt(0, e))?,
    }))
}

/// Records the keys `command` takes for its stream and deletes the keys it releases that its
/// stream holds. Called after [`taken_elsewhere`] found no clash, so a key that already exists
/// is this stream's and keeps its first `claimed_at`.
pub(super) async fn apply(
    connection: &mut SqliteConnection,
    command: &AppendCommand,
    claimed_at_micros: i64,
) -> Result<(), StoreError> {
    let stream = command.stream.as_str();
    for chunk in command.claims.take.chunks(KEYS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::new("INSERT INTO kesos_claims (claim_key, stream_id, claimed_at) ");
        query.push_values(chunk, |mut row, key| {
            row.push_bind(key.as_str())
                .push_bind(stream)
                .push_bind(claimed_at_micros);
        });
        query.push(" ON CONFLICT (claim_key) DO NOTHING");
        query.build().execute(&mut *connection).await?;
    }
    for chunk in command.claims.release.chunks(KEYS_PER_STATEMENT) {
        let mut query = QueryBuilder::new("DELETE FROM kesos_claims WHERE stream_id = ");
        query.push_bind(stream).push(" AND claim_key IN (");
        let mut keys = query.separated(", ");
        for key in chunk {
            keys.push_bind(key.as_str());
        }
        query.push(")");
        query.build().execute(&mut *connection).await?;
    }
    Ok(())
}
