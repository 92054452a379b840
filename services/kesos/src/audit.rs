//! `kesos audit verify` and `kesos audit checkpoint`: the auditor's commands.

use std::io::Write;

use anyhow::bail;
use kesos_eventstore::{verify, write_checkpoint};
use kesos_runtime::Config;
use time::OffsetDateTime;

use crate::keys;
use crate::open::open_store;

/// Walks every hash chain and signed checkpoint; prints progress to stderr and the verdict to
/// `out`. An altered log is an error naming the first broken event (non-zero exit).
pub async fn verify_command(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let mode = config.mode()?;
    let store = open_store(config, mode).await?.shared();
    let key_path = keys::signing_key_path(config);
    let current = key_path
        .exists()
        .then(|| keys::read_signing_key(&key_path))
        .transpose()?;
    let trusted = keys::trusted_keys(config, current.as_ref())?;
    let head = store.head_position().await?;
    let mut stderr = std::io::stderr();
    let report = verify(&*store, &trusted, |done| {
        let percent = done.saturating_mul(100).checked_div(head).unwrap_or(100);
        let _ = write!(
            stderr,
            "\rverifying: {done} of about {head} events ({percent}%)"
        );
    })
    .await?;
    let _ = writeln!(stderr);
    if let Some(broken) = report.first_break {
        bail!("the log was altered: {broken}");
    }
    writeln!(
        out,
        "intact: {} events in {} streams, {} signed checkpoints verified",
        report.events, report.streams, report.checkpoints
    )?;
    Ok(())
}

/// Signs a checkpoint over everything committed since the last one.
pub async fn checkpoint_command(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let mode = config.mode()?;
    let store = open_store(config, mode).await?.shared();
    let key = keys::load_or_create_signing_key(config, mode)?;
    match write_checkpoint(&*store, &key, OffsetDateTime::now_utc()).await? {
        Some(c) => writeln!(
            out,
            "signed checkpoint {} up to position {} ({} events)",
            c.sequence, c.position, c.event_count
        )?,
        None => writeln!(out, "nothing new since the last checkpoint")?,
    }
    Ok(())
}
