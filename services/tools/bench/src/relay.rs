//! The relay to JetStream: [`Relay::step`] from an empty cursor until it reaches the head of
//! the log, into streams and subjects of this run's own, deleted afterwards.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use kesos_bus::{Relay, RelaySettings, StreamNames};
use kesos_eventstore::EventStore;
use tokio::time::Instant;

use crate::report::{Figure, LimitKind, RELAY};
use crate::workload::unique_name;

/// The relay must publish at least this many events per second. Also sizes the relayed log:
/// as many events as the limit rate relays in the measuring duration.
pub(crate) const EVENTS_PER_SECOND: u64 = 50_000;

/// The relay is given up on after this long, so an unreachable or stalled NATS cannot hold
/// the bench forever (every step's acknowledgements time out on their own, too).
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// The service name under which the bench's events are published (`<prefix>.bench.>`).
const SERVICE: &str = "bench";

/// Relays the whole log (seeded beforehand) and answers the relay figure.
pub(crate) async fn measure(store: Arc<dyn EventStore>, nats_url: &str) -> anyhow::Result<Figure> {
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let context = jetstream::new(client);
    let name = unique_name("kesos_bench");
    let mut names = StreamNames::new(
        name.clone(),
        format!("{name}_events"),
        format!("{name}_dead"),
    )?;
    names.services = vec![SERVICE.to_owned()];
    let relay = Relay::new(
        store.clone(),
        context.clone(),
        names.clone(),
        RelaySettings::new(SERVICE),
    );
    let relayed = relay_to_head(&relay, store.as_ref()).await;
    let deleted = delete_streams(&context, &names).await;
    if let (Err(_), Err(cleanup)) = (&relayed, &deleted) {
        tracing::warn!("{cleanup:#}");
    }
    let rate = relayed?;
    deleted?;
    Ok(Figure::absolute(
        RELAY,
        rate,
        "events/s",
        LimitKind::AtLeastValue,
        EVENTS_PER_SECOND as f64,
    ))
}

/// Creates the streams, then times relay steps until the cursor reaches the log's head;
/// answers events per second.
async fn relay_to_head(relay: &Relay, store: &dyn EventStore) -> anyhow::Result<f64> {
    relay.prepare().await?;
    let head = store.head_position().await?;
    tracing::info!("relaying {head} events to JetStream");
    let start = Instant::now();
    let mut published = 0_u64;
    loop {
        let step = relay.step().await?;
        published += step.published as u64;
        if step.cursor >= head {
            break;
        }
        if step.published == 0 {
            bail!("the relay stopped at position {} of {head}", step.cursor);
        }
        if start.elapsed() > GIVE_UP_AFTER {
            bail!(
                "the relay reached only position {} of {head} in {GIVE_UP_AFTER:?}",
                step.cursor
            );
        }
    }
    Ok(published as f64 / start.elapsed().as_secs_f64())
}

async fn delete_streams(context: &jetstream::Context, names: &StreamNames) -> anyhow::Result<()> {
    for stream in [&names.events_stream, &names.dead_letter_stream] {
        context
            .delete_stream(stream)
            .await
            .with_context(|| format!("deleting the JetStream stream {stream}"))?;
    }
    tracing::info!(prefix = %names.prefix, "deleted the bench's JetStream streams");
    Ok(())
}
