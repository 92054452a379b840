//! A per-process cache of decided state, so that a command on a stream this process wrote last
//! skips loading the stream: one round trip (the append) instead of two.
//!
//! The cache is never trusted for correctness: the append carries the cached version as its
//! expectation, so a stale entry (another process wrote meanwhile) costs a `Conflict`, then the
//! full path reloads and decides again. Only a plain success is answered from the cache; a
//! domain error, a no-op, a conflict or a retried command ("already stored") all go through the
//! full path of [`execute`], so every answer is exactly what `execute` alone would give.

use std::collections::HashMap;
use std::sync::Mutex;

use kesos_eventstore::{EventStore, ExpectedVersion, StoreError, StreamId};

use crate::command::{CommandContext, Executed, execute, to_new_events};
use crate::error::AppError;
use kesos_aggregate::Aggregate;
use kesos_aggregate::EventCodec;

/// Decided states by stream, bounded to `capacity` entries (an arbitrary entry makes room: a
/// miss only costs one load).
pub struct StateCache<A: Aggregate> {
    capacity: usize,
    entries: Mutex<HashMap<StreamId, (A, u64)>>,
}

impl<A: Aggregate> StateCache<A> {
    /// An empty cache holding at most `capacity` streams.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, stream: &StreamId) -> Option<(A, u64)> {
        self.entries.lock().ok()?.get(stream).cloned()
    }

    fn put(&self, stream: &StreamId, state: A, version: u64) {
        // A std Mutex: held for a map operation only, never across an await.
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(stream) {
            let evicted = entries.keys().next().cloned();
            if let Some(evicted) = evicted {
                entries.remove(&evicted);
            }
        }
        entries.insert(stream.clone(), (state, version));
    }

    fn forget(&self, stream: &StreamId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(stream);
        }
    }
}

/// [`execute`] with a state cache: same answers, one round trip fewer when the cache is right.
pub async fn execute_cached<A>(
    store: &dyn EventStore,
    cache: &StateCache<A>,
    stream: &StreamId,
    command: A::Command,
    context: &CommandContext,
) -> Result<Executed<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    if let Some((state, version)) = cache.get(stream)
        && let Ok(events) = state.decide(&command)
        && !events.is_empty()
    {
        let expected = ExpectedVersion::after(version);
        let new_events = to_new_events(&events, context).map_err(AppError::Store)?;
        match store.append(stream, expected, new_events).await {
            Ok(outcome) if !outcome.already_stored => {
                let state = events.iter().fold(state, A::evolve);
                cache.put(stream, state.clone(), outcome.stream_version);
                return Ok(Executed {
                    state,
                    events,
                    stream_version: outcome.stream_version,
                    positions: outcome.positions,
                    already_applied: false,
                });
            }
            Ok(_) | Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. }) => {
                cache.forget(stream);
            }
            Err(error) => {
                cache.forget(stream);
                return Err(AppError::Store(error));
            }
        }
    }
    let executed = execute::<A>(store, stream, command, context).await;
    match &executed {
        // An earlier outcome describes the stream as it was then, not now: not worth caching.
        Ok(done) if !done.already_applied => {
            cache.put(stream, done.state.clone(), done.stream_version)
        }
        _ => cache.forget(stream),
    }
    executed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use kesos_eventstore::AsOf;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;
    use kesos_aggregate::example::*;

    fn context() -> CommandContext {
        CommandContext {
            command_id: Uuid::now_v7(),
            actor: "user:tester".to_owned(),
            correlation_id: "request-1".to_owned(),
            causation_id: None,
            occurred_at: OffsetDateTime::now_utc(),
        }
    }

    async fn on_both_backends<F, Fut>(scenario: F)
    where
        F: Fn(Arc<dyn EventStore>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let file = kesos_testkit::SqliteFile::create();
        scenario(Arc::new(file.store().await)).await;
        let schema = kesos_testkit::PgSchema::create().await;
        scenario(Arc::new(schema.store().await)).await;
        schema.drop_now().await;
    }

    #[tokio::test]
    async fn commands_through_the_cache_append_in_order_and_keep_the_state() {
        on_both_backends(|store| async move {
            let cache = StateCache::<Session>::new(8);
            let stream = StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap();
            execute_cached(&*store, &cache, &stream, open(3), &context())
                .await
                .unwrap();
            let first = execute_cached(&*store, &cache, &stream, seat("a"), &context())
                .await
                .unwrap();
            let second = execute_cached(&*store, &cache, &stream, seat("b"), &context())
                .await
                .unwrap();
            assert_eq!((first.stream_version, second.stream_version), (2, 3));
            assert_eq!(second.state.seated, vec!["a".to_owned(), "b".to_owned()]);
            assert_eq!(
                store.read_stream(&stream, AsOf::Now).await.unwrap().len(),
                3
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_stale_cached_state_is_corrected_by_the_expected_version() {
        on_both_backends(|store| async move {
            let cache = StateCache::<Session>::new(8);
            let stream = StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap();
            execute_cached(&*store, &cache, &stream, open(2), &context())
                .await
                .unwrap();
            // Another process fills the session behind this cache's back.
            execute::<Session>(&*store, &stream, seat("a"), &context())
                .await
                .unwrap();
            execute::<Session>(&*store, &stream, seat("b"), &context())
                .await
                .unwrap();
            let late = execute_cached(&*store, &cache, &stream, seat("c"), &context()).await;
            assert!(
                matches!(
                    late,
                    Err(AppError::Domain(SessionError::SessionFull { capacity: 2 }))
                ),
                "{late:?}"
            );
            assert_eq!(
                store.read_stream(&stream, AsOf::Now).await.unwrap().len(),
                3
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_retried_command_through_the_cache_reports_its_earlier_outcome() {
        on_both_backends(|store| async move {
            let cache = StateCache::<Session>::new(8);
            let stream = StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap();
            execute_cached(&*store, &cache, &stream, open(3), &context())
                .await
                .unwrap();
            let once = context();
            let first = execute_cached(&*store, &cache, &stream, seat("a"), &once)
                .await
                .unwrap();
            let retry = execute_cached(&*store, &cache, &stream, seat("a"), &once)
                .await
                .unwrap();
            assert!(retry.already_applied);
            assert_eq!(retry.events, first.events);
            assert_eq!(retry.positions, first.positions);
            assert_eq!(
                store.read_stream(&stream, AsOf::Now).await.unwrap().len(),
                2
            );
        })
        .await;
    }

    #[test]
    fn a_full_cache_makes_room_instead_of_growing() {
        let cache = StateCache::<Session>::new(2);
        for i in 0..5 {
            cache.put(
                &StreamId::parse(format!("s-{i}")).unwrap(),
                Session::default(),
                1,
            );
        }
        assert_eq!(cache.entries.lock().unwrap().len(), 2);
    }
}
