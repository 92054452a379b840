//! The command path: [`kesos_commands::execute_cached`] (load a stream unless this process
//! holds its latest state, decide, append one event with the expected version) on concurrent
//! tasks over distinct streams.

use std::sync::Arc;
use std::time::Duration;

use kesos_commands::{CommandContext, StateCache, execute_cached};
use kesos_eventstore::{EventStore, StreamId};
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::counter::{Counter, Increment};
use crate::workload::{ACTOR, CORRELATION, Random, per_second};

/// Concurrent tasks, as in the baseline.
pub(crate) const TASKS: usize = 4;

/// The command path must reach this share of the plain single-row INSERT rate: one command
/// reads a stream and writes one row, and group commit spares it a commit of its own.
pub(crate) const LIMIT: f64 = 0.9;

/// Streams per task, visited in turn: every command loads a real, short stream, and no two
/// tasks ever contend for one (contention is a different figure).
const STREAMS_PER_TASK: usize = 1000;

/// Commands per second that [`TASKS`] tasks complete in `duration`, through the state cache a
/// service process keeps (the first command on each stream loads it).
pub(crate) async fn measure(store: Arc<dyn EventStore>, duration: Duration) -> anyhow::Result<f64> {
    let cache = Arc::new(StateCache::<Counter>::new(TASKS * STREAMS_PER_TASK));
    per_second(TASKS, duration, |task, deadline| {
        let store = store.clone();
        let cache = cache.clone();
        async move {
            let streams = (0..STREAMS_PER_TASK)
                .map(|i| StreamId::parse(format!("counter-{task}-{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut random = Random::new();
            let mut done = 0_u64;
            for stream in streams.iter().cycle() {
                if Instant::now() >= deadline {
                    break;
                }
                let context = CommandContext {
                    command_id: Uuid::now_v7(),
                    actor: ACTOR.to_owned(),
                    correlation_id: CORRELATION.to_owned(),
                    causation_id: None,
                    occurred_at: OffsetDateTime::now_utc(),
                };
                let command = Increment::new(1, &mut random);
                execute_cached(store.as_ref(), &cache, stream, command, &context).await?;
                done += 1;
            }
            Ok(done)
        }
    })
    .await
}
