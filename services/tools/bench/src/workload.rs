//! What the bench writes and how it times it: payload-sized random bytes, filled metadata,
//! and time-bounded loops on concurrent tasks.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kesos_eventstore::{EventType, InputError, Metadata, NewEvent};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

/// The event type of every seeded and appended event; its subject falls under the bench's
/// JetStream service (`<prefix>.bench.>`).
pub(crate) const MEASURED: &str = "kesos.bench.v1.Measured";

/// Payload size: what a typical kesos protobuf event (a few ids, a name, a timestamp) takes.
pub(crate) const PAYLOAD_BYTES: usize = 200;

/// The actor recorded on every event the bench writes.
pub(crate) const ACTOR: &str = "system:bench";

/// The correlation id recorded on every event the bench writes.
pub(crate) const CORRELATION: &str = "bench:store";

/// SplitMix64: fast and seeded once per task, so payloads are incompressible without the
/// generator showing up in the measurement. Not for anything secret.
pub(crate) struct Random(u64);

impl Random {
    /// A generator seeded from the system's randomness.
    pub(crate) fn new() -> Self {
        Self(Uuid::new_v4().as_u64_pair().0)
    }

    /// A generator with a fixed seed, for generated histories that are the same every run.
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    /// A number below `bound` (at least 1); slightly biased, which a workload does not mind.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `bytes` with random bytes.
    pub(crate) fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// `len` random bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        self.fill(&mut bytes);
        bytes
    }
}

/// Metadata as a real command fills it: a correlation, a causation and an actor.
pub(crate) fn metadata(causation: Uuid) -> Metadata {
    Metadata {
        correlation_id: CORRELATION.to_owned(),
        causation_id: causation.to_string(),
        actor: ACTOR.to_owned(),
        trace_parent: String::new(),
    }
}

/// One [`MEASURED`] event with a random payload.
pub(crate) fn measured_event(random: &mut Random) -> Result<NewEvent, InputError> {
    NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(MEASURED)?,
        1,
        random.bytes(PAYLOAD_BYTES),
        metadata(Uuid::now_v7()),
        OffsetDateTime::now_utc(),
    )
}

/// A name no other run uses: `<prefix>_<unix seconds>_<random>`, lowercase, so it is a valid
/// PostgreSQL schema, file name, NATS token and JetStream stream name.
pub(crate) fn unique_name(prefix: &str) -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let random = Uuid::new_v4().simple().to_string();
    format!("{prefix}_{seconds}_{}", &random[..12])
}

/// Runs `task(index, deadline)` on `tasks` concurrent tokio tasks, each looping until the
/// deadline and returning how many units (rows, events, commands) it completed, and answers
/// units per second over the wall time until the last task finished. The first failure stops
/// the others.
pub(crate) async fn per_second<F, Fut>(
    tasks: usize,
    duration: Duration,
    task: F,
) -> anyhow::Result<f64>
where
    F: Fn(usize, Instant) -> Fut,
    Fut: Future<Output = anyhow::Result<u64>> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut running = JoinSet::new();
    for index in 0..tasks {
        running.spawn(task(index, deadline));
    }
    let mut done = 0_u64;
    while let Some(finished) = running.join_next().await {
        done += finished??;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_measured_event_carries_a_payload_sized_body_and_filled_metadata() {
        let event = measured_event(&mut Random::new()).unwrap();
        assert_eq!(event.payload().len(), PAYLOAD_BYTES);
        assert_eq!(event.event_type().as_str(), MEASURED);
        assert_eq!(event.metadata().actor, ACTOR);
        assert!(!event.metadata().causation_id.is_empty());
    }

    #[test]
    fn random_payloads_differ() {
        let mut random = Random::new();
        assert_ne!(random.bytes(PAYLOAD_BYTES), random.bytes(PAYLOAD_BYTES));
    }

    #[tokio::test]
    async fn a_timed_loop_counts_the_units_of_every_task() {
        let rate = per_second(4, Duration::from_millis(50), |_, deadline| async move {
            let mut units = 0;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
                units += 1;
            }
            Ok(units)
        })
        .await
        .unwrap();
        assert!(rate.is_finite() && rate > 0.0, "{rate}");
    }
}
