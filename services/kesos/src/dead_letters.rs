//! `kesos dead-letters list | show | retry`: the messages consumers gave up on, in both modes
//! (they are recorded in the store's database either way; in the distributed mode JetStream's
//! dead-letter stream holds a copy). A dead letter is never a transient failure (those are
//! waited out, and readiness reports the stall); it is a message that did not decode or that a
//! handler refused. `retry` asks the running consumer to hand it to its handler again, once:
//! asking twice changes nothing, and a retry that fails again becomes a new dead letter.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;
use kesos_bus::bookkeeping;
use kesos_bus::{DeadLetter, RetryRequest, envelope};
use kesos_eventstore::EventStore;
use kesos_readside::Db;
use kesos_runtime::Config;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::open::open_store;

/// `kesos dead-letters …`
#[derive(Debug, Subcommand)]
pub enum DeadLettersAction {
    /// List dead letters, oldest first: number, consumer, when, state, origin and reason.
    List {
        /// Only this consumer's (e.g. certification-intake).
        #[arg(long)]
        consumer: Option<String>,
        /// Only those numbered above this (for paging).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Show one dead letter: its origin, reason, redrive state and the event's envelope.
    Show {
        /// The dead letter's number (from `list`).
        id: i64,
    },
    /// Ask the running consumer to hand a dead letter to its handler again (within seconds
    /// while kesos runs). Each dead letter is retried once; asking again changes nothing.
    Retry {
        /// The dead letter's number (from `list`).
        id: i64,
    },
}

/// Runs a `dead-letters` action against the configured store's database.
pub async fn command(
    config: &Config,
    action: DeadLettersAction,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = open_store(config, config.mode()?).await?;
    store.migrate_consumers().await?;
    run(&store.db(), &*store.shared(), action, out).await
}

async fn run(
    pool: &Db,
    store: &dyn EventStore,
    action: DeadLettersAction,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match action {
        DeadLettersAction::List {
            consumer,
            after,
            limit,
        } => {
            let letters = bookkeeping::list_dead_letters(pool, consumer.as_deref(), after, limit)
                .await
                .context("cannot read the dead letters")?;
            if letters.is_empty() {
                writeln!(out, "no dead letters")?;
            }
            for letter in letters {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    letter.id,
                    letter.consumer,
                    when(letter.recorded_at),
                    letter.retry,
                    origin(&letter),
                    one_line(&letter.reason)
                )?;
            }
            Ok(())
        }
        DeadLettersAction::Show { id } => {
            let letter = find(pool, id).await?;
            show(&letter, out)
        }
        DeadLettersAction::Retry { id } => {
            let letter = find(pool, id).await?;
            let replacement = match envelope::decode(&letter.payload) {
                Ok(_) => None,
                Err(error) => Some(rebuild(store, &letter).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "dead letter {id} is not an event ({error}) and the log has no event \
                         to rebuild it from; a retry would fail the same way"
                    )
                })?),
            };
            match bookkeeping::request_retry(pool, id, replacement.as_deref()).await? {
                RetryRequest::Requested => writeln!(
                    out,
                    "dead letter {id}: retry requested; {} hands it to its handler again \
                     within seconds while kesos runs",
                    letter.consumer
                )?,
                RetryRequest::AlreadyRequested => writeln!(
                    out,
                    "dead letter {id}: a retry was already requested; nothing changed"
                )?,
                RetryRequest::AlreadyRetried(outcome) => writeln!(
                    out,
                    "dead letter {id}: already retried ({}); nothing changed",
                    one_line(&outcome)
                )?,
                RetryRequest::NotFound => bail!("no dead letter numbered {id}"),
            }
            Ok(())
        }
    }
}

async fn find(pool: &Db, id: i64) -> anyhow::Result<DeadLetter> {
    bookkeeping::dead_letter(pool, id)
        .await
        .context("cannot read the dead letters")?
        .ok_or_else(|| {
            anyhow::anyhow!("no dead letter numbered {id}; see `kesos dead-letters list`")
        })
}

/// A dead letter recorded before they kept the whole envelope holds only the event's payload;
/// the log still has the event at its position: rebuild the envelope from it.
async fn rebuild(store: &dyn EventStore, letter: &DeadLetter) -> anyhow::Result<Option<Vec<u8>>> {
    let (Some(position), Some(event_id)) = (letter.position, letter.event_id) else {
        return Ok(None);
    };
    let events = store
        .read_batch(position.saturating_sub(1), 1)
        .await
        .context("cannot read the event log")?;
    Ok(events
        .into_iter()
        .find(|event| event.position == position && event.event_id == event_id)
        .map(|event| envelope::encode(&letter.source, &event)))
}

fn show(letter: &DeadLetter, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "dead letter {}", letter.id)?;
    writeln!(out, "consumer:    {}", letter.consumer)?;
    writeln!(out, "recorded:    {}", when(letter.recorded_at))?;
    writeln!(out, "state:       {}", letter.retry)?;
    writeln!(out, "origin:      {}", origin(letter))?;
    writeln!(out, "reason:      {}", one_line(&letter.reason))?;
    match envelope::decode(&letter.payload) {
        Ok(delivered) => {
            let event = &delivered.event;
            writeln!(out, "event:       {} {}", event.event_type, event.event_id)?;
            writeln!(
                out,
                "stream:      {} version {}",
                event.stream_id, event.stream_version
            )?;
            writeln!(out, "occurred:    {}", rfc3339(event.occurred_at))?;
            writeln!(out, "correlation: {}", event.metadata.correlation_id)?;
            writeln!(out, "payload:     {} bytes", event.payload.len())?;
        }
        Err(error) => {
            let id = letter
                .event_id
                .map_or_else(|| "unknown".to_owned(), |id| id.to_string());
            writeln!(
                out,
                "event:       {id} (the message is not an envelope: {error})"
            )?;
            writeln!(out, "payload:     {} bytes", letter.payload.len())?;
        }
    }
    Ok(())
}

fn origin(letter: &DeadLetter) -> String {
    match (letter.source.as_str(), letter.position) {
        ("", None) => "-".to_owned(),
        (source, Some(position)) => format!("{source}@{position}"),
        (source, None) => source.to_owned(),
    }
}

fn when(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_or_else(|_| unix_seconds.to_string(), rfc3339)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Reasons may hold line breaks; a list is one line per dead letter.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
