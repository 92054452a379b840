//! `kesos lsps-sim`: the LSPS simulator as a command (see
//! [`kesos_scheduling::lsps::simulator`]).

use std::io::Write;

use anyhow::{Context, bail};
use kesos_runtime::{Config, Shutdown};

use crate::nats::{Identity, connect};
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::simulator::{Simulator, SimulatorSettings};

/// What the simulator was asked to do on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// The settings.
    pub settings: SimulatorSettings,
    /// Stop after this many rosters.
    pub rosters: Option<usize>,
}

/// Runs the simulator until the rosters are answered or a signal arrives; prints a summary.
pub async fn run(config: &Config, options: SimOptions, out: &mut impl Write) -> anyhow::Result<()> {
    for (name, rate) in [
        ("--pass-rate", options.settings.pass_rate),
        ("--no-show-rate", options.settings.no_show_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            bail!("{name} must lie between 0 and 1, got {rate}");
        }
    }
    if kesos_scheduling::domain::ExternalId::parse(&options.settings.lsps).is_err() {
        bail!("--lsps must be 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-'");
    }
    // Replies come on the LSPS's own inbox prefix, the only one its NATS user may read
    // (deploy/nats/accounts.conf), so the simulator runs as a real LSPS would; it logs in as
    // that LSPS's user (KESOS_NATS_NKEY_SEED_FILE, or a user and password in the URL).
    let identity = Identity {
        name: Some(format!("lsps-sim-{}", options.settings.lsps)),
        inbox_prefix: Some(format!("_INBOX_{}", options.settings.lsps)),
    };
    let Some(client) = connect(config, identity).await? else {
        bail!("kesos lsps-sim needs NATS: set KESOS_NATS_URL");
    };
    let channel = LspsChannel::new(
        config.nats_subject_prefix.clone(),
        config.nats_lsps_stream.clone(),
    );
    tracing::info!(
        lsps = %options.settings.lsps,
        subject = %channel.roster_subject(&options.settings.lsps),
        "LSPS simulator waiting for rosters"
    );
    let simulator = Simulator::new(
        async_nats::jetstream::new(client),
        channel,
        options.settings,
    );
    let shutdown = Shutdown::on_signals();
    let report = simulator
        .run(options.rosters, async move { shutdown.wait().await })
        .await
        .context("the LSPS simulator lost NATS")?;
    writeln!(
        out,
        "rosters {} · present {} · no-shows {} · kompeten {} · belum kompeten {} · duplicates {} · malformed {} · wrong {} · answered: accepted {} · already recorded {} · rejected {} · unanswered {}",
        report.rosters,
        report.present,
        report.no_shows,
        report.kompeten,
        report.belum_kompeten,
        report.duplicates,
        report.malformed,
        report.wrong,
        report.accepted,
        report.already_recorded,
        report.rejected,
        report.unanswered
    )?;
    Ok(())
}
