//! `kesos import workers FILE`: the bulk import from the command line, with a progress line
//! on stderr, the rejected rows on stdout, an optional JSON report, and a non-zero exit when
//! any row was rejected.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use kesos_runtime::Config;
use time::OffsetDateTime;

use crate::enrollment::open_enrollment;
use crate::open::open_store;

/// Imports a file of workers into the configured store.
pub async fn workers_command(
    config: &Config,
    file: &Path,
    report_path: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mode = config.mode()?;
    let store = open_store(config, mode).await?;
    let enrollment = open_enrollment(config, mode, &store, &kesos_bus::Stalls::new()).await?;
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    );
    // Today in the programme's clock (WIB): a registration dated today is not in the future.
    let today = kesos_enrollment::domain::business_date(OffsetDateTime::now_utc());
    let started = std::time::Instant::now();
    let report = enrollment
        .import_workers(bytes, &actor, today, |done, total| {
            // Progress goes to stderr so that stdout stays the report.
            eprint!("\rregistering workers: {done}/{total}");
            if done == total {
                eprintln!();
            }
        })
        .await
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    for error in &report.errors {
        writeln!(
            out,
            "row {}, column {}: {} [{}]",
            error.row, error.column, error.detail, error.rule
        )?;
    }
    writeln!(
        out,
        "{}: {} rows, {} registered, {} unchanged (imported before), {} rejected, in {:.1} s",
        file.display(),
        report.rows,
        report.stored,
        report.unchanged,
        report.rejected_rows,
        started.elapsed().as_secs_f64()
    )?;
    if let Some(path) = report_path {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.rejected_rows > 0 {
        bail!(
            "{} of {} rows were rejected",
            report.rejected_rows,
            report.rows
        );
    }
    Ok(())
}
