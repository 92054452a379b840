//! Batches of appends written to PostgreSQL: the group-commit writers' side of the store.
//!
//! A batch goes to the database as one statement in its own transaction, in one of two
//! functions (see the migrations for what each decides and answers):
//! - `kesos_append_single` (0005) for the command path's common batch: concurrent commands on
//!   distinct streams, one event each, no claims. It decides the whole batch in one set-based
//!   statement. Measured with `kesos bench store --duration 8`, alternating runs with and
//!   without it: the command path went from 0.50-0.56 to 0.57-0.72 of plain single-row INSERTs.
//! - `kesos_append` (0003) for everything else: several events per append, two appends to one
//!   stream in a batch, claims.
//!
//! Both take the log-head lock first and hold it until the transaction commits, so positions
//! follow commit order whichever function wrote them.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::group_commit::{AppendCommand, BatchWriter};
use crate::model::{AppendOutcome, ClaimKey, ExpectedVersion, NewEvent, StreamId};
use crate::reads::corrupt;
use kesos_sql::{to_i64, to_u64};

/// Batch writers for bulk appends: while one waits for its commit, the other has the next
/// batch ready and queued on the log-head lock, so the database never idles between batches.
/// Measured with `kesos bench enrollment`: an import of 100,000 workers went from 7,500-10,600
/// to 11,400-11,900 workers/s; the same two writers on the command path (4 callers) cut it from
/// 0.59 to 0.37-0.45 of plain INSERTs, hence the separate interactive writer.
pub(super) const BULK_WRITERS: usize = 2;

/// One group-commit writer: appends through the store's pool.
pub(super) struct PgBatchWriter {
    pub(super) pool: PgPool,
}

#[async_trait]
impl BatchWriter for PgBatchWriter {
    async fn write_batch(
        &mut self,
        batch: &[AppendCommand],
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let mut outcomes: Vec<Option<Result<AppendOutcome, StoreError>>> =
            batch.iter().map(|_| None).collect();
        for round in rounds(batch) {
            let commands: Vec<&AppendCommand> = round.iter().map(|&index| &batch[index]).collect();
            for (index, outcome) in round.into_iter().zip(self.write_round(&commands).await?) {
                outcomes[index] = Some(outcome);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or(Err(StoreError::Unavailable("append not answered".into())))
            })
            .collect())
    }
}

/// Splits a batch into rounds in which no event id appears twice (kesos_append checks stored
/// ids once per call, so a retry racing its own first run must come in a later call). Rounds
/// are consecutive runs of the batch, so appends are still decided in the order queued (claims
/// depend on it); nearly every batch is a single round.
fn rounds(batch: &[AppendCommand]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut round = Vec::new();
    let mut ids = HashSet::new();
    for (index, command) in batch.iter().enumerate() {
        let fits = command
            .events
            .iter()
            .all(|event| !ids.contains(&event.event_id()));
        if !fits {
            rounds.push(std::mem::take(&mut round));
            ids.clear();
        }
        ids.extend(command.events.iter().map(NewEvent::event_id));
        round.push(index);
    }
    if !round.is_empty() {
        rounds.push(round);
    }
    rounds
}

/// The batch of the command path (see the module documentation). Its eleven parameters are
/// the first eleven bound for either function (the event columns, then the trace contexts).
const APPEND_SINGLE: &str = "SELECT outcome, version, positions, clash_id, \
    NULL::text AS clash_key, NULL::text AS clash_holder \
    FROM kesos_append_single($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Any other batch: the same eleven parameters, then the event counts and the claims.
const APPEND_GENERAL: &str = "SELECT outcome, version, positions, clash_id, clash_key, \
    clash_holder \
    FROM kesos_append($1, $2, $12, $3, $4, $5, $6, $7, $8, $9, $10, $13, $14, $15, $16, $11)";

impl PgBatchWriter {
    async fn write_round(
        &self,
        commands: &[&AppendCommand],
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let mut arrays = BatchArrays::default();
        for command in commands {
            arrays.push(command);
        }
        let single = single_events_on_distinct_streams(commands);
        let mut query = sqlx::query(if single {
            APPEND_SINGLE
        } else {
            APPEND_GENERAL
        })
        .bind(arrays.streams)
        .bind(arrays.expected)
        .bind(arrays.ids)
        .bind(arrays.types)
        .bind(arrays.schemas)
        .bind(arrays.payloads)
        .bind(arrays.correlations)
        .bind(arrays.causations)
        .bind(arrays.actors)
        .bind(arrays.occurred)
        .bind(arrays.traces);
        if !single {
            query = query
                .bind(arrays.counts)
                .bind(arrays.take_counts)
                .bind(arrays.release_counts)
                .bind(arrays.take_keys)
                .bind(arrays.release_keys);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(commands
            .iter()
            .zip(rows)
            .map(|(command, row)| outcome(command, &row))
            .collect())
    }
}

/// Whether `kesos_append_single` can decide the round: one event per append, no claims, and
/// no stream twice (two appends to one stream must chain their versions, which the set-based
/// statement does not do).
fn single_events_on_distinct_streams(commands: &[&AppendCommand]) -> bool {
    let mut streams = HashSet::with_capacity(commands.len());
    commands.iter().all(|command| {
        command.events.len() == 1
            && command.claims.is_empty()
            && streams.insert(command.stream.as_str())
    })
}

#[derive(Default)]
struct BatchArrays {
    streams: Vec<String>,
    expected: Vec<i64>,
    counts: Vec<i32>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    schemas: Vec<i32>,
    payloads: Vec<Vec<u8>>,
    correlations: Vec<String>,
    causations: Vec<String>,
    actors: Vec<String>,
    occurred: Vec<OffsetDateTime>,
    traces: Vec<String>,
    take_counts: Vec<i32>,
    release_counts: Vec<i32>,
    take_keys: Vec<String>,
    release_keys: Vec<String>,
}

impl BatchArrays {
    fn push(&mut self, command: &AppendCommand) {
        self.streams.push(command.stream.as_str().to_owned());
        self.expected.push(match command.expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exactly(version) => to_i64(version),
        });
        self.counts
            .push(i32::try_from(command.events.len()).unwrap_or(i32::MAX));
        for event in &command.events {
            self.push_event(event);
        }
        let claims = &command.claims;
        self.take_counts
            .push(i32::try_from(claims.take.len()).unwrap_or(i32::MAX));
        self.release_counts
            .push(i32::try_from(claims.release.len()).unwrap_or(i32::MAX));
        self.take_keys
            .extend(claims.take.iter().map(|key| key.as_str().to_owned()));
        self.release_keys
            .extend(claims.release.iter().map(|key| key.as_str().to_owned()));
    }

    fn push_event(&mut self, event: &NewEvent) {
        self.ids.push(event.event_id());
        self.types.push(event.event_type().as_str().to_owned());
        self.schemas
            .push(i32::try_from(event.schema_version()).unwrap_or(i32::MAX));
        self.payloads.push(event.payload().to_vec());
        let metadata = event.metadata();
        self.correlations.push(metadata.correlation_id.clone());
        self.causations.push(metadata.causation_id.clone());
        self.actors.push(metadata.actor.clone());
        self.traces.push(metadata.trace_parent.clone());
        self.occurred.push(event.occurred_at());
    }
}

fn outcome(command: &AppendCommand, row: &PgRow) -> Result<AppendOutcome, StoreError> {
    let kind: String = row.try_get("outcome")?;
    let version = to_u64(row.try_get::<Option<i64>, _>("version")?.unwrap_or(0));
    let positions: Vec<i64> = row
        .try_get::<Option<Vec<i64>>, _>("positions")?
        .unwrap_or_default();
    let positions = positions.into_iter().map(to_u64).collect();
    match kind.as_str() {
        "appended" | "duplicate" => Ok(AppendOutcome {
            positions,
            stream_version: version,
            already_stored: kind == "duplicate",
        }),
        "conflict" => Err(StoreError::Conflict {
            stream: command.stream.clone(),
            expected: command.expected,
            actual: version,
        }),
        "claimed" => {
            let text = |column: &str| -> Result<String, StoreError> {
                Ok(row
                    .try_get::<Option<String>, _>(column)?
                    .unwrap_or_default())
            };
            Err(StoreError::ClaimTaken {
                key: ClaimKey::parse(&text("clash_key")?).map_err(|e| corrupt(0, e))?,
                holder: StreamId::parse(text("clash_holder")?).map_err(|e| corrupt(0, e))?,
            })
        }
        "mismatch" => Err(StoreError::IdempotencyMismatch {
            stream: command.stream.clone(),
            event_id: row
                .try_get::<Option<Uuid>, _>("clash_id")?
                .unwrap_or_default(),
        }),
        other => Err(corrupt(
            0,
            format!("kesos_append answered {other:?}: the database does not match this kesos"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Claims, EventType, Metadata};

    fn command(ids: &[u128]) -> AppendCommand {
        let events = ids
            .iter()
            .map(|&id| {
                NewEvent::new(
                    Uuid::from_u128(id),
                    EventType::parse("a.B").unwrap(),
                    1,
                    vec![],
                    Metadata::default(),
                    OffsetDateTime::UNIX_EPOCH,
                )
                .unwrap()
            })
            .collect();
        AppendCommand::new(
            StreamId::parse("s").unwrap(),
            ExpectedVersion::Any,
            events,
            Claims::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_batch_repeating_an_event_id_is_split_into_consecutive_rounds() {
        let batch = [
            command(&[1, 2]),
            command(&[3]),
            command(&[2, 1]),
            command(&[4]),
            command(&[1, 2]),
        ];
        assert_eq!(rounds(&batch), vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn a_batch_without_repeats_is_one_round() {
        let batch = [command(&[1]), command(&[2]), command(&[3])];
        assert_eq!(rounds(&batch), vec![vec![0, 1, 2]]);
    }
}
