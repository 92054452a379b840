//! Which consumers are stalled: held up by a transient failure (a database or NATS away) for
//! longer than their retry policy's `stalled_after`. A stalled consumer does not skip or
//! dead-letter anything, it waits; this registry is how readiness learns that it waits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// One stalled consumer: since when, after how many attempts, and the last failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// When the failing message was first tried.
    pub since: Instant,
    /// Attempts so far.
    pub attempts: u32,
    /// The last failure's text (for the log, never for a public answer).
    pub reason: String,
}

/// Shared by the consumers of a process and its readiness probe; cheap to clone. A std mutex,
/// not a tokio one: it is held for a map update only, never across an await.
#[derive(Debug, Clone, Default)]
pub struct Stalls(Arc<Mutex<BTreeMap<String, Stall>>>);

impl Stalls {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `consumer` is still failing (keeps the first `since`).
    pub fn report(&self, consumer: &str, since: Instant, attempts: u32, reason: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(
            consumer.to_owned(),
            Stall {
                since,
                attempts,
                reason: reason.to_owned(),
            },
        );
    }

    /// `consumer` moved on.
    pub fn clear(&self, consumer: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(consumer);
    }

    /// The consumers stalled now, by name.
    pub fn current(&self) -> Vec<(String, Stall)> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// True when no consumer is stalled.
    pub fn is_empty(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}
