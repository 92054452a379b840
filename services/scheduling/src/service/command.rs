//! The command path for aggregates whose claims depend on what was decided (a seat claim per
//! candidate actually seated, assessor bookings that follow a changed timing): load, decide,
//! derive the claims from the events, append with the expected version. A conflicting append
//! is decided again on fresh state; a command whose id already produced events reports them.

use kesos_aggregate::{Aggregate, AppError, CommandContext, EventCodec, event_id, to_new_events};
use kesos_eventstore::{
    AsOf, Claims, EventStore, ExpectedVersion, InputError, StoreError, StreamId,
};

/// Attempts before a contended stream gives up (allocations race on popular sessions).
const MAX_ATTEMPTS: u32 = 8;

/// What a command did.
#[derive(Debug, Clone)]
pub struct Ran<A: Aggregate> {
    /// The state after the command.
    pub state: A,
    /// The events it caused (or had caused, when `already`).
    pub events: Vec<A::Event>,
    /// True for a retry of a command applied before.
    pub already: bool,
}

/// Runs `command` on `stream`, taking and releasing the claims `claims_for(before, events)`.
pub async fn run<A>(
    store: &dyn EventStore,
    stream: &StreamId,
    command: &A::Command,
    context: &CommandContext,
    claims_for: impl Fn(&A, &[A::Event]) -> Result<Claims, InputError>,
) -> Result<Ran<A>, AppError<A::Error>>
where
    A: Aggregate,
    A::Event: EventCodec,
{
    let first = event_id(context.command_id, 0);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let recorded = match store.read_stream(stream, AsOf::Now).await {
            Ok(recorded) => recorded,
            Err(StoreError::StreamNotFound(_)) => Vec::new(),
            Err(error) => return Err(AppError::Store(error)),
        };
        let mut decoded = Vec::with_capacity(recorded.len());
        for record in &recorded {
            let event = A::Event::decode(
                record.event_type.as_str(),
                record.schema_version,
                &record.payload,
            )?;
            decoded.push((record.event_id, event));
        }
        if let Some(start) = decoded.iter().position(|(id, _)| *id == first) {
            let earlier = decoded[start..]
                .iter()
                .enumerate()
                .take_while(|(index, (id, _))| *id == event_id(context.command_id, *index))
                .map(|(_, (_, event))| event.clone())
                .collect();
            return Ok(Ran {
                state: A::replay(decoded.iter().map(|(_, event)| event)),
                events: earlier,
                already: true,
            });
        }
        let state = A::replay(decoded.iter().map(|(_, event)| event));
        let version = recorded.last().map_or(0, |r| r.stream_version);
        let events = state.decide(command).map_err(AppError::Domain)?;
        if events.is_empty() {
            return Ok(Ran {
                state,
                events,
                already: false,
            });
        }
        let claims = claims_for(&state, &events).map_err(|e| AppError::Store(e.into()))?;
        let new_events = to_new_events(&events, context)?;
        match store
            .append_claiming(stream, ExpectedVersion::after(version), new_events, claims)
            .await
        {
            Ok(_) => {
                return Ok(Ran {
                    state: events.iter().fold(state, A::evolve),
                    events,
                    already: false,
                });
            }
            Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. })
                if attempts < MAX_ATTEMPTS =>
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
