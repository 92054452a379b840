//! The command path: load a stream, decide, append with the expected version. The only async
//! code on a service's write path; everything it calls into the domain is pure.

use kesos_eventstore::{
    AsOf, Claims, EventStore, EventType, ExpectedVersion, InputError, Metadata, NewEvent,
    RecordedEvent, StoreError, StreamId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AppError;
use kesos_aggregate::Aggregate;
use kesos_aggregate::EventCodec;
use kesos_aggregate::event_id;

/// How many times [`execute`] decides before giving up on a contended stream. Three is enough
/// for the contention one aggregate sees (a handful of people on one session) and bounds the
/// work a burst can cause.
pub const MAX_ATTEMPTS: u32 = 3;

/// Who issues a command, within which flow, and under which id; the service builds it from
/// the request (token, headers, clock) before calling [`execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// The command's identity (a UUIDv7): the client's `Idempotency-Key`, or generated when
    /// none was sent. Event ids are derived from it, so a retry with the same id is a no-op.
    pub command_id: Uuid,
    /// Who issues the command: a user id, an LSPS system, or `system:<job>`.
    pub actor: String,
    /// Shared by everything one request, import or saga causes.
    pub correlation_id: String,
    /// The event or command that caused this command, if any; the command id otherwise.
    pub causation_id: Option<String>,
    /// Business time of the resulting events.
    pub occurred_at: OffsetDateTime,
}

impl CommandContext {
    fn metadata(&self) -> Metadata {
        Metadata {
            correlation_id: self.correlation_id.clone(),
            causation_id: self
                .causation_id
                .clone()
                .unwrap_or_else(|| self.command_id.to_string()),
            actor: self.actor.clone(),
            // The span the command runs in (the HTTP request's, a consumer's message's): its
            // events carry the trace on to the relay and every consumer.
            trace_parent: kesos_trace::current_text(),
        }
    }
}

/// What a command did: the state after it, the events it appended (or had appended before,
/// for a retry) and where they are.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The aggregate's state right after this command's events.
    pub state: A,
    /// The events this command caused; empty when it changed nothing.
    pub events: Vec<A::Event>,
    /// The stream's version after this command's events (the loaded version if none).
    pub stream_version: u64,
    /// The log position of each event, in order.
    pub positions: Vec<u64>,
    /// True when the command had been applied already (a retry): nothing was decided or
    /// appended this time, and this is the earlier outcome.
    pub already_applied: bool,
}

/// Runs one command against one stream: load, decode and evolve, decide, append with the
/// loaded version. A conflicting append is decided again on fresh state, up to
/// [`MAX_ATTEMPTS`] times. A command whose id already produced events in this stream is not
/// decided again: its earlier outcome is returned with `already_applied`.
pub async fn execute<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    command: A::Command,
    context: &CommandContext,
) -> Result<Executed<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    execute_claiming(store, stream, command, context, Claims::default()).await
}

/// [`execute`], taking and releasing unique `claims` in the same transaction as the append
/// (e.g. a NIK's blind index on registration, released on erasure). A key held by another
/// stream refuses the append with [`StoreError::ClaimTaken`], inside [`AppError::Store`].
pub async fn execute_claiming<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    command: A::Command,
    context: &CommandContext,
    claims: Claims,
) -> Result<Executed<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    let claims_for = |_: &A, _: &[A::Event]| Ok(claims.clone());
    execute_deriving_claims(store, stream, &command, context, MAX_ATTEMPTS, claims_for).await
}

/// [`execute`] for aggregates whose claims follow from what was decided (a seat claim for
/// each candidate actually seated, bookings that follow a changed timing): `claims_for` gets
/// the state before the events and the events, on every attempt. A contended stream is
/// decided again up to `max_attempts` times (an allocation racing others needs more than
/// [`MAX_ATTEMPTS`]).
pub async fn execute_deriving_claims<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    command: &A::Command,
    context: &CommandContext,
    max_attempts: u32,
    claims_for: impl Fn(&A, &[A::Event]) -> Result<Claims, InputError>,
) -> Result<Executed<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    let first_id = event_id(context.command_id, 0);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let history = read::<A>(store, stream, AsOf::Now).await?;
        if let Some(earlier) = history.outcome_of(first_id, context.command_id) {
            return Ok(earlier);
        }
        let state = A::replay(history.events.iter().map(|(_, event)| event));
        let events = state.decide(command).map_err(AppError::Domain)?;
        if events.is_empty() {
            return Ok(Executed {
                state,
                events,
                stream_version: history.version(),
                positions: Vec::new(),
                already_applied: false,
            });
        }
        let expected = ExpectedVersion::after(history.version());
        let new_events = to_new_events(&events, context)?;
        let claims = claims_for(&state, &events).map_err(StoreError::from)?;
        match store
            .append_claiming(stream, expected, new_events, claims)
            .await
        {
            Ok(outcome) if outcome.already_stored => {
                // A concurrent run of this very command won the race: report what it wrote.
                let history = read::<A>(store, stream, AsOf::Now).await?;
                if let Some(earlier) = history.outcome_of(first_id, context.command_id) {
                    return Ok(earlier);
                }
                return Ok(Executed {
                    state: events.iter().fold(state, A::evolve),
                    events,
                    stream_version: outcome.stream_version,
                    positions: outcome.positions,
                    already_applied: true,
                });
            }
            Ok(outcome) => {
                return Ok(Executed {
                    state: events.iter().fold(state, A::evolve),
                    events,
                    stream_version: outcome.stream_version,
                    positions: outcome.positions,
                    already_applied: false,
                });
            }
            // A mismatch here is usually a retry of this command racing its first run; the
            // next load sees the stored events and returns their outcome.
            Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. })
                if attempts < max_attempts =>
            {
                tracing::debug!(%stream, attempts, "append conflicted; deciding again");
            }
            Err(StoreError::Conflict { .. }) => {
                return Err(AppError::Conflict {
                    stream: stream.clone(),
                    attempts,
                });
            }
            Err(error) => return Err(AppError::Store(error)),
        }
    }
}

/// The aggregate's state and stream version as of a point in time (what the store knew
/// then), for read paths; `None` when the stream had no events at that point.
pub async fn load<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    as_of: AsOf,
) -> Result<Option<(A, u64)>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    let history = read::<A>(store, stream, as_of).await?;
    if history.events.is_empty() {
        return Ok(None);
    }
    let state = A::replay(history.events.iter().map(|(_, event)| event));
    Ok(Some((state, history.version())))
}

/// A stream's events, decoded, beside the records they came from.
struct History<A: Aggregate> {
    events: Vec<(RecordedEvent, A::Event)>,
}

impl<A: Aggregate> History<A> {
    fn version(&self) -> u64 {
        self.events
            .last()
            .map_or(0, |(recorded, _)| recorded.stream_version)
    }

    /// The outcome of the command whose first event has id `first_id`, if it is stored: its
    /// consecutive events with the derived ids, and the state right after them.
    fn outcome_of(&self, first_id: Uuid, command_id: Uuid) -> Option<Executed<A>> {
        let start = self
            .events
            .iter()
            .position(|(recorded, _)| recorded.event_id == first_id)?;
        let count = self.events[start..]
            .iter()
            .enumerate()
            .take_while(|(index, (recorded, _))| recorded.event_id == event_id(command_id, *index))
            .count();
        let applied = &self.events[..start + count];
        let ours = &applied[start..];
        Some(Executed {
            state: A::replay(applied.iter().map(|(_, event)| event)),
            events: ours.iter().map(|(_, event)| event.clone()).collect(),
            stream_version: ours
                .last()
                .map_or(0, |(recorded, _)| recorded.stream_version),
            positions: ours.iter().map(|(recorded, _)| recorded.position).collect(),
            already_applied: true,
        })
    }
}

/// Reads and decodes a stream; a missing stream is an empty history.
async fn read<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    as_of: AsOf,
) -> Result<History<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    let recorded = match store.read_stream(stream, as_of).await {
        Ok(recorded) => recorded,
        Err(StoreError::StreamNotFound(_)) => Vec::new(),
        Err(error) => return Err(AppError::Store(error)),
    };
    let mut events = Vec::with_capacity(recorded.len());
    for record in recorded {
        let event = A::Event::decode(
            record.event_type.as_str(),
            record.schema_version,
            &record.payload,
        )
        .inspect_err(|error| {
            tracing::error!(%stream, position = record.position, %error, "stored event does not decode");
        })?;
        events.push((record, event));
    }
    Ok(History { events })
}

/// The store's form of a command's events: ids derived from the command id (so a retry is
/// recognised), the context's metadata and business time. For shells that append themselves
/// (a bulk import writing new streams without loading them).
pub fn to_new_events<E: EventCodec>(
    events: &[E],
    context: &CommandContext,
) -> Result<Vec<NewEvent>, StoreError> {
    let metadata = context.metadata();
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            Ok(NewEvent::new(
                event_id(context.command_id, index),
                EventType::parse(event.event_type())?,
                event.schema_version(),
                event.encode(),
                metadata.clone(),
                context.occurred_at,
            )?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use kesos_aggregate::DecodeError;
    use kesos_aggregate::example::*;

    /// Runs each scenario once against a fresh SQLite file and once against a fresh
    /// PostgreSQL schema, as `<scenario>::on_sqlite` and `<scenario>::on_postgres`.
    macro_rules! on_both_backends {
        ($($scenario:ident),* $(,)?) => {$(
            mod $scenario {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn on_sqlite() {
                    let file = kesos_testkit::SqliteFile::create();
                    let store: Arc<dyn EventStore> = Arc::new(file.store().await);
                    super::$scenario(store).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn on_postgres() {
                    let schema = kesos_testkit::PgSchema::create().await;
                    let store: Arc<dyn EventStore> = Arc::new(schema.store().await);
                    super::$scenario(store).await;
                    schema.drop_now().await;
                }
            }
        )*};
    }

    on_both_backends!(
        a_new_stream_is_created_by_its_first_command,
        a_second_command_decides_on_the_state_the_first_left,
        a_refused_command_appends_nothing,
        a_command_that_changes_nothing_succeeds_without_events,
        a_retried_command_appends_nothing_and_reports_its_earlier_outcome,
        a_retry_racing_its_first_run_appends_once,
        concurrent_commands_on_one_stream_lose_no_update,
        a_stored_event_that_does_not_decode_is_an_error_not_a_panic,
        load_gives_the_state_as_of_a_point_in_the_log,
    );

    fn context() -> CommandContext {
        CommandContext {
            command_id: Uuid::now_v7(),
            actor: "user:tester".to_owned(),
            correlation_id: "request-1".to_owned(),
            causation_id: None,
            occurred_at: OffsetDateTime::now_utc(),
        }
    }

    fn new_stream() -> StreamId {
        StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap()
    }

    async fn run(
        store: &dyn EventStore,
        stream: &StreamId,
        command: SessionCommand,
    ) -> Result<Executed<Session>, AppError<SessionError>> {
        execute::<Session>(store, stream, command, &context()).await
    }

    async fn stored(store: &dyn EventStore, stream: &StreamId) -> Vec<RecordedEvent> {
        store.read_stream(stream, AsOf::Now).await.unwrap()
    }

    async fn a_new_stream_is_created_by_its_first_command(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        let context = context();
        let executed = execute::<Session>(&*store, &stream, open(3), &context)
            .await
            .unwrap();
        assert_eq!(executed.events, [opened(3)]);
        assert_eq!(executed.state.capacity, Some(3));
        assert_eq!(executed.stream_version, 1);
        assert!(!executed.already_applied);

        let recorded = stored(&*store, &stream).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(executed.positions, [recorded[0].position]);
        assert_eq!(recorded[0].event_id, event_id(context.command_id, 0));
        assert_eq!(recorded[0].event_type.as_str(), OPENED);
        assert_eq!(recorded[0].metadata.correlation_id, "request-1");
        assert_eq!(
            recorded[0].metadata.causation_id,
            context.command_id.to_string()
        );
        assert_eq!(recorded[0].metadata.actor, "user:tester");
    }

    async fn a_second_command_decides_on_the_state_the_first_left(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        run(&*store, &stream, open(2)).await.unwrap();
        let executed = run(&*store, &stream, seat("a")).await.unwrap();
        assert_eq!(executed.events, [seated("a")]);
        assert_eq!(executed.state.seated, ["a"]);
        assert_eq!(executed.stream_version, 2);

        let reopened = run(&*store, &stream, open(5)).await;
        assert!(matches!(
            reopened,
            Err(AppError::Domain(SessionError::AlreadyOpen))
        ));
    }

    async fn a_refused_command_appends_nothing(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        run(&*store, &stream, open(1)).await.unwrap();
        run(&*store, &stream, seat("a")).await.unwrap();
        let refused = run(&*store, &stream, seat("b")).await;
        assert!(matches!(
            refused,
            Err(AppError::Domain(SessionError::SessionFull { capacity: 1 }))
        ));
        assert_eq!(stored(&*store, &stream).await.len(), 2);

        let never_opened = new_stream();
        let refused = run(&*store, &never_opened, seat("a")).await;
        assert!(matches!(
            refused,
            Err(AppError::Domain(SessionError::NotOpen))
        ));
        assert!(matches!(
            store.read_stream(&never_opened, AsOf::Now).await,
            Err(StoreError::StreamNotFound(_))
        ));
    }

    async fn a_command_that_changes_nothing_succeeds_without_events(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        run(&*store, &stream, open(2)).await.unwrap();
        run(&*store, &stream, seat("a")).await.unwrap();
        let again = run(&*store, &stream, seat("a")).await.unwrap();
        assert!(again.events.is_empty());
        assert!(again.positions.is_empty());
        assert_eq!(again.stream_version, 2);
        assert!(!again.already_applied);
        assert_eq!(stored(&*store, &stream).await.len(), 2);
    }

    async fn a_retried_command_appends_nothing_and_reports_its_earlier_outcome(
        store: Arc<dyn EventStore>,
    ) {
        let stream = new_stream();
        run(&*store, &stream, open(3)).await.unwrap();
        let context = context();
        let first = execute::<Session>(&*store, &stream, seat("a"), &context)
            .await
            .unwrap();
        run(&*store, &stream, seat("b")).await.unwrap();

        let retry = execute::<Session>(&*store, &stream, seat("a"), &context)
            .await
            .unwrap();
        assert!(retry.already_applied);
        assert_eq!(retry.events, first.events);
        assert_eq!(retry.positions, first.positions);
        assert_eq!(retry.stream_version, 2);
        assert_eq!(retry.state, first.state);
        assert_eq!(stored(&*store, &stream).await.len(), 3);
    }

    async fn a_retry_racing_its_first_run_appends_once(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        run(&*store, &stream, open(3)).await.unwrap();
        let context = context();
        let runs = (0..2).map(|_| {
            let (store, stream, context) = (store.clone(), stream.clone(), context.clone());
            tokio::spawn(
                async move { execute::<Session>(&*store, &stream, seat("a"), &context).await },
            )
        });
        let mut applied_now = 0;
        for run in runs.collect::<Vec<_>>() {
            let executed = run.await.unwrap().unwrap();
            assert_eq!(executed.events, [seated("a")]);
            assert_eq!(executed.stream_version, 2);
            applied_now += usize::from(!executed.already_applied);
        }
        assert_eq!(applied_now, 1);
        assert_eq!(stored(&*store, &stream).await.len(), 2);
    }

    async fn concurrent_commands_on_one_stream_lose_no_update(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        run(&*store, &stream, open(3)).await.unwrap();
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (store, stream) = (store.clone(), stream.clone());
                tokio::spawn(async move {
                    let candidate = format!("candidate-{i}");
                    let result = run(&*store, &stream, seat(&candidate)).await;
                    (candidate, result)
                })
            })
            .collect();
        let mut reported_seated = BTreeSet::new();
        for task in tasks {
            match task.await.unwrap() {
                (candidate, Ok(executed)) => {
                    assert_eq!(executed.events, [seated(&candidate)]);
                    reported_seated.insert(candidate);
                }
                (_, Err(AppError::Domain(SessionError::SessionFull { capacity: 3 })))
                | (_, Err(AppError::Conflict { attempts: 3, .. })) => {}
                (candidate, Err(other)) => panic!("{candidate}: unexpected {other:?}"),
            }
        }
        let (state, version) = load::<Session>(&*store, &stream, AsOf::Now)
            .await
            .unwrap()
            .unwrap();
        let stored_seated: BTreeSet<String> = state.seated.iter().cloned().collect();
        assert_eq!(state.seated.len(), 3);
        assert_eq!(version, 4);
        assert_eq!(stored_seated, reported_seated);
    }

    async fn a_stored_event_that_does_not_decode_is_an_error_not_a_panic(
        store: Arc<dyn EventStore>,
    ) {
        let unknown = new_stream();
        append_raw(&*store, &unknown, "kesos.test.v1.SessionClosed", vec![]).await;
        let result = run(&*store, &unknown, seat("a")).await;
        assert!(
            matches!(&result, Err(AppError::Decode(DecodeError::UnknownType { event_type }))
                if event_type == "kesos.test.v1.SessionClosed"),
            "{result:?}"
        );

        let malformed = new_stream();
        append_raw(&*store, &malformed, OPENED, vec![1, 2, 3]).await;
        let result = load::<Session>(&*store, &malformed, AsOf::Now).await;
        assert!(
            matches!(result, Err(AppError::Decode(DecodeError::Malformed { .. }))),
            "{result:?}"
        );
        assert_eq!(stored(&*store, &malformed).await.len(), 1);
    }

    async fn append_raw(
        store: &dyn EventStore,
        stream: &StreamId,
        event_type: &str,
        payload: Vec<u8>,
    ) {
        let event = NewEvent::new(
            Uuid::now_v7(),
            EventType::parse(event_type).unwrap(),
            1,
            payload,
            Metadata::default(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        store
            .append(stream, ExpectedVersion::NoStream, vec![event])
            .await
            .unwrap();
    }

    async fn load_gives_the_state_as_of_a_point_in_the_log(store: Arc<dyn EventStore>) {
        let stream = new_stream();
        assert!(
            load::<Session>(&*store, &stream, AsOf::Now)
                .await
                .unwrap()
                .is_none()
        );
        let opening = run(&*store, &stream, open(3)).await.unwrap();
        let first = run(&*store, &stream, seat("a")).await.unwrap();
        run(&*store, &stream, seat("b")).await.unwrap();

        let (then, version) = load::<Session>(&*store, &stream, AsOf::Position(first.positions[0]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((then.seated, version), (vec!["a".to_owned()], 2));

        let (now, version) = load::<Session>(&*store, &stream, AsOf::Now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((now.seated.len(), version), (2, 3));

        let before = AsOf::Position(opening.positions[0] - 1);
        assert!(
            load::<Session>(&*store, &stream, before)
                .await
                .unwrap()
                .is_none()
        );
    }
}
