//! Wiring the progress read model into the process: opened in the store's database, fed live
//! from the embedded log or JetStream by the read side's projector, and rebuilt by
//! `kesos replay`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use kesos_bus::{EmbeddedFeed, JetStreamFeed, PullSettings, RelaySettings, Stalls};
use kesos_progress::projections::live::{self, PULL_BATCH};
use kesos_progress::{Progress, ProgressModel, Source, replay};
use kesos_runtime::{Config, Mode, Service, Shutdown};
use tokio::task::JoinSet;

use crate::open::{OpenedStore, open_store};
use crate::scheduling::Distributed;

/// The durable consumer name of the live projection on JetStream.
const CONSUMER: &str = "progress";

/// Opens the model in the store's own database; histories are read from that store, whose
/// events carry the process's service name as their source (as the relay publishes them).
pub async fn open_progress(config: &Config, store: &OpenedStore) -> anyhow::Result<Progress> {
    let model = ProgressModel::open(store.db())
        .await
        .context("cannot open the progress read model")?;
    let sources = match config.mode()? {
        // One log, read whole under the process's name, as the live projection reads it.
        Mode::Embedded => vec![Source::whole(config.service_name.clone(), store.shared())],
        // Each service's events under the service's name, as its relay publishes them (the
        // live projection keeps a checkpoint per source, and a replay must too).
        Mode::Distributed => Service::WRITERS
            .into_iter()
            .map(|service| Source {
                owned: RelaySettings::for_service(service.name()).owned,
                name: service.name().to_owned(),
                store: store.shared(),
            })
            .collect(),
    };
    Ok(Progress::new(model, sources))
}

/// Runs the live projection until shutdown, binding its feed again after a failure; a batch
/// that cannot be applied is reported in `stalls`, which readiness reads.
pub fn start_background(
    background: &mut JoinSet<()>,
    progress: &Progress,
    nats: Option<&Distributed>,
    stalls: &Stalls,
    shutdown: &Shutdown,
) {
    let model = progress.model().clone();
    let source = progress.sources().first().cloned();
    let nats = nats.map(|n| (n.context.clone(), n.names.clone()));
    if nats.is_none() && source.is_none() {
        return;
    }
    let stalls = stalls.clone();
    let shutdown = shutdown.clone();
    background.spawn(async move {
        let mut failures = 0_u32;
        while !shutdown.is_triggered() {
            let stop = shutdown.clone();
            let stopped = async move { stop.wait().await };
            let outcome: anyhow::Result<()> = async {
                let projector = live::projector(&model).await?.with_stalls(stalls.clone());
                if let Some((context, names)) = &nats {
                    let settings = PullSettings {
                        batch: PULL_BATCH,
                        ..PullSettings::default()
                    };
                    let feed =
                        JetStreamFeed::subscribe(context.clone(), names, CONSUMER, settings).await?;
                    projector.run(feed, stopped).await?;
                } else if let Some(source) = &source {
                    let after = live::resume_at(&projector, &model, &source.name).await?;
                    let feed =
                        EmbeddedFeed::from_position(source.store.clone(), &source.name, after)
                            .with_batch_size(PULL_BATCH);
                    projector.run(feed, stopped).await?;
                }
                Ok(())
            }
            .await;
            if let Err(error) = outcome {
                failures += 1;
                let delay = Duration::from_millis(200) * 2_u32.pow(failures.min(7));
                tracing::warn!(error = %format!("{error:#}"), ?delay, "the progress projection stopped; starting again");
                tokio::select! {
                    () = shutdown.wait() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    });
}

/// `kesos report progress`: the region's table, as `GET /v1/progress/table` answers central
/// operations, written to `file` (default: the table's own name). A bad parameter is named as
/// the API names it: `region: … (region.format)`.
pub async fn report_command(
    config: &Config,
    params: std::collections::BTreeMap<String, String>,
    file: Option<std::path::PathBuf>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mode = config.mode()?;
    let store = open_store(config, mode).await?;
    let progress = open_progress(config, &store).await?;
    let table = kesos_progress::http::table_for_operators(&progress, params)
        .await
        .map_err(|problem| {
            let named: Vec<String> = problem
                .errors
                .iter()
                .map(|error| format!("{}: {} ({})", error.field, error.detail, error.rule))
                .collect();
            match named.is_empty() {
                true => anyhow::anyhow!("{}", problem.detail),
                false => anyhow::anyhow!("{}", named.join("; ")),
            }
        })?;
    let file = file.unwrap_or_else(|| std::path::PathBuf::from(&table.file_name));
    std::fs::write(&file, &table.bytes)
        .with_context(|| format!("cannot write {}", file.display()))?;
    writeln!(
        out,
        "wrote {} ({}, {} bytes)",
        file.display(),
        table.media_type,
        table.bytes.len()
    )?;
    Ok(())
}

/// `kesos replay`: rebuilds every read model of progress from the event log into fresh tables,
/// swapped in when complete; progress on stderr, the summary on `out`.
pub async fn replay_command(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let mode = config.mode()?;
    let store = open_store(config, mode).await?;
    let progress = open_progress(config, &store).await?;
    let started = std::time::Instant::now();
    let mut stderr = std::io::stderr();
    let mut last_percent = u64::MAX;
    let report = replay(progress.model(), progress.sources(), |done, total| {
        let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
        if percent != last_percent {
            last_percent = percent;
            let _ = write!(stderr, "\rreplaying: {done} of {total} events ({percent}%)");
        }
    })
    .await
    .context("the replay failed; the live read model is unchanged")?;
    let _ = writeln!(stderr);
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "replayed {} events ({} count changes) in {seconds:.1} s; {} applied at the swap; the \
         rebuilt progress model is live",
        report.events, report.facts, report.caught_up
    )?;
    Ok(())
}
