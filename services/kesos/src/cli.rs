//! The command line: `kesos [--config FILE] [COMMAND]`. With no command, `kesos` serves.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use kesos_runtime::{CONFIG_FILE_VAR, Config, Otlp, Shutdown, init_telemetry, init_tracing};

use crate::app::Application;
use crate::{audit, keys, open};

/// kesos: certification of Indonesia's social-welfare workforce, event-sourced.
#[derive(Debug, Parser)]
#[command(name = "kesos", version, about)]
pub struct Cli {
    /// Configuration file (TOML); `KESOS_*` environment variables override it.
    #[arg(long, global = true, env = CONFIG_FILE_VAR)]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run kesos: HTTP, checkpoints, and (distributed mode) the relay to JetStream.
    Serve,
    /// Create or update the database tables, then exit.
    Migrate,
    /// Rebuild every read model of regional progress from the event log (into fresh tables,
    /// swapped in only when complete; safe while kesos serves), with a progress bar.
    Replay,
    /// Write a report to a file, as the dashboard's downloads do.
    Report {
        /// The report.
        #[command(subcommand)]
        report: ReportKind,
    },
    /// Check that history was not altered, or sign a checkpoint.
    Audit {
        /// The audit action.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Measure kesos next to the limits it is held to (bounded in time; loopback servers only).
    /// Built only with `--features bench`: the release binary does not link the bench.
    #[cfg(feature = "bench")]
    Bench {
        /// What to measure.
        #[command(subcommand)]
        target: crate::bench::BenchTarget,
    },
    /// Import records from a file (CSV UTF-8 or XLSX); see the README for the format.
    Import {
        /// What to import.
        #[command(subcommand)]
        what: ImportTarget,
    },
    /// Certificates: check an exported one offline.
    Cert {
        /// The certificate action.
        #[command(subcommand)]
        action: CertAction,
    },
    /// Play LSPS over NATS (for tests, demos and LSPS's own developers): read rosters on
    /// `<prefix>.lsps.v1.roster.<lsps>`, answer with attendance and results.
    LspsSim {
        /// The LSPS played.
        #[arg(long, default_value = "LSPS-PEKSOS")]
        lsps: String,
        /// Share of present candidates judged Kompeten (0-1).
        #[arg(long, default_value_t = 0.8)]
        pass_rate: f64,
        /// Share of candidates who do not come (0-1).
        #[arg(long, default_value_t = 0.05)]
        no_show_rate: f64,
        /// Wait before answering each roster, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Send every result twice.
        #[arg(long)]
        duplicates: bool,
        /// Send results before attendance, in reverse order.
        #[arg(long)]
        reorder: bool,
        /// Malformed messages per roster.
        #[arg(long, default_value_t = 0)]
        malformed: u32,
        /// Results for a wrong session and a stranger, per roster.
        #[arg(long, default_value_t = 0)]
        wrong: u32,
        /// Stop after answering this many rosters (default: until Ctrl-C).
        #[arg(long)]
        rosters: Option<usize>,
    },
    /// Access tokens for the HTTP API (see the README's "Access control").
    Token {
        /// The token action.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage checkpoint signing keys and the personal-data master key.
    Key {
        /// The key action.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Messages consumers gave up on (undecodable or refused): list, show, retry once.
    DeadLetters {
        /// The dead-letter action.
        #[command(subcommand)]
        action: crate::dead_letters::DeadLettersAction,
    },
}

/// `kesos report …`
#[derive(Debug, Subcommand)]
pub enum ReportKind {
    /// A region's progress table (the region and each child region: every measure, the
    /// target and the rates, with the question on every row) as CSV or XLSX, the same as
    /// `GET /v1/progress/table` answers central operations.
    Progress {
        /// Province `PP` or kabupaten/kota `PP.KK`; absent: the nation.
        #[arg(long)]
        region: Option<String>,
        /// peksos, tks, penyuluh_sosial or relawan_sosial.
        #[arg(long)]
        category: Option<String>,
        /// A worker role code, e.g. pendamping_pkh.
        #[arg(long)]
        role: Option<String>,
        /// A scheme code, e.g. PEKSOS-GENERALIS.
        #[arg(long)]
        scheme: Option<String>,
        /// Business date YYYY-MM-DD: what was true by the end of that day.
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// RFC 3339 instant: only what had been recorded by then.
        #[arg(long = "known-at")]
        known_at: Option<String>,
        /// The target year (default: the as-of year, or this year).
        #[arg(long)]
        year: Option<String>,
        /// csv or xlsx.
        #[arg(long)]
        format: String,
        /// The file to write; default: the report's own name in the current directory
        /// (`progress-32-77-2021-06-30.xlsx`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `kesos audit …`
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk every hash chain and signed checkpoint; name the first broken event.
    Verify,
    /// Sign a checkpoint over everything committed since the last one.
    Checkpoint,
}

/// `kesos cert …`
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Check an exported certificate (`credential.json`, a W3C Verifiable Credential) offline:
    /// its signature against this deployment's signing key and trusted keys. Exits non-zero,
    /// saying why, when it was altered or signed by another key.
    Verify {
        /// The exported credential.
        file: PathBuf,
    },
}

/// `kesos import …`
#[derive(Debug, Subcommand)]
pub enum ImportTarget {
    /// Register the workers of a Dinas office's spreadsheet. Valid rows are stored, invalid
    /// rows are listed (row, column, rule); importing the same file again stores nothing twice.
    /// Exits non-zero when any row was rejected.
    Workers {
        /// The CSV or XLSX file.
        file: PathBuf,
        /// Also write the full report as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

/// `kesos token …`
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Print a signed bearer token (EdDSA JWT) for a role: central-operations, auditor,
    /// regional-dinas (with --region 32 or 32.77) or lsps (with --lsps LSPS-PEKSOS).
    Issue {
        /// The role.
        #[arg(long)]
        role: String,
        /// A Dinas office's region prefix: a province or kabupaten/kota code.
        #[arg(long)]
        region: Option<String>,
        /// An LSPS's id.
        #[arg(long)]
        lsps: Option<String>,
        /// Who the token is for (recorded as the actor of every command); default `$USER`.
        #[arg(long)]
        subject: Option<String>,
        /// Lifetime: 30m, 8h, 7d; at most the role's maximum (a day for people, 90 days for
        /// LSPS by default: KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS / _LSPS_SECS).
        #[arg(long, default_value = "8h")]
        ttl: String,
        /// The signing key (64 hex digits, as `kesos key generate` writes); default
        /// `token_key_file` (`<data_dir>/token.key`, created in the embedded mode).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Withdraw a token before it expires: every process refuses it (401) from the next
    /// request on, also after a restart. `kesos token issue` prints a token's id on stderr.
    Revoke {
        /// The token's id (`jti`), or the whole token.
        token: String,
        /// Why (kept with the revocation).
        #[arg(long)]
        reason: String,
    },
}

/// `kesos key …`
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Generate a new Ed25519 signing key file (mode 0600) and print its public key; with
    /// `--master`, a personal-data master key file instead (prints its fingerprint); with
    /// `--nats-user`, a NATS user NKey seed file (prints the public key `U…` that the
    /// nats-server's configuration names, see deploy/nats/accounts.conf).
    Generate {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Generate the master key that wraps workers' personal-data keys.
        #[arg(long, conflicts_with = "nats_user")]
        master: bool,
        /// Generate a NATS user NKey seed (for KESOS_NATS_NKEY_SEED_FILE).
        #[arg(long)]
        nats_user: bool,
    },
    /// Print the public key of a signing key file (for a trusted-keys file).
    Public {
        /// The signing key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Re-wrap every personal-data key still under the previous master key
    /// (`KESOS_PREVIOUS_MASTER_KEY_FILE`) with the current one (`KESOS_MASTER_KEY_FILE`). Safe
    /// to repeat and to run while kesos serves; see the README for the whole rotation.
    RotateMaster,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let env = std::env::vars();
    // The simulator is only a NATS client (an LSPS runs it without a kesos database).
    let config = if matches!(cli.command, Some(Command::LspsSim { .. })) {
        Config::load_nats_client(cli.config.as_deref(), env)?
    } else {
        Config::load(cli.config.as_deref(), env)?
    };
    let mut out = std::io::stdout();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let otlp = config.otlp_endpoint.as_ref().map(|endpoint| Otlp {
                endpoint: endpoint.clone(),
                service_name: config.service_name.clone(),
                services: config.services.to_string(),
            });
            let telemetry = init_telemetry(config.log_format, &config.log_filter, otlp.as_ref())?;
            tracing::info!(config = %config.redacted_summary(), "starting");
            let application = Application::build(&config).await?;
            let served = application.run_until_stopped(Shutdown::on_signals()).await;
            // The spans of the last second, sent before the process ends.
            telemetry.shutdown();
            served
        }
        Command::Migrate => {
            init_tracing(config.log_format, &config.log_filter)?;
            let mode = config.mode()?;
            let store = open::open_store(&config, mode).await?;
            store.migrate_consumers().await?;
            crate::http::revocation_list(&store).await?;
            writeln!(out, "migrated: {}", store.describe(&config))?;
            Ok(())
        }
        Command::Replay => {
            init_tracing(config.log_format, &config.log_filter)?;
            crate::progress::replay_command(&config, &mut out).await
        }
        Command::Report {
            report:
                ReportKind::Progress {
                    region,
                    category,
                    role,
                    scheme,
                    as_of,
                    known_at,
                    year,
                    format,
                    out: file,
                },
        } => {
            let params = [
                ("region", region),
                ("category", category),
                ("role", role),
                ("scheme", scheme),
                ("as_of", as_of),
                ("known_at", known_at),
                ("year", year),
                ("format", Some(format)),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)))
            .collect();
            crate::progress::report_command(&config, params, file, &mut out).await
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => audit::verify_command(&config, &mut out).await,
        Command::DeadLetters { action } => {
            crate::dead_letters::command(&config, action, &mut out).await
        }
        Command::Audit {
            action: AuditAction::Checkpoint,
        } => audit::checkpoint_command(&config, &mut out).await,
        #[cfg(feature = "bench")]
        Command::Bench { target } => crate::bench::run(target, &config, &mut out).await,
        Command::Import {
            what: ImportTarget::Workers { file, report },
        } => crate::import::workers_command(&config, &file, report.as_deref(), &mut out).await,
        Command::LspsSim {
            lsps,
            pass_rate,
            no_show_rate,
            delay_ms,
            duplicates,
            reorder,
            malformed,
            wrong,
            rosters,
        } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let settings = kesos_scheduling::lsps::simulator::SimulatorSettings {
                lsps,
                pass_rate,
                no_show_rate,
                delay: std::time::Duration::from_millis(delay_ms),
                duplicates,
                reorder,
                malformed,
                wrong,
                ..Default::default()
            };
            let options = crate::lsps_sim::SimOptions { settings, rosters };
            crate::lsps_sim::run(&config, options, &mut out).await
        }
        Command::Cert {
            action: CertAction::Verify { file },
        } => crate::certification::verify_command(&config, &file, &mut out),
        Command::Key {
            action:
                KeyAction::Generate {
                    out: path,
                    force,
                    nats_user: true,
                    ..
                },
        } => {
            let pair = nkeys::KeyPair::new_user();
            let seed = pair
                .seed()
                .map_err(|error| anyhow::anyhow!("cannot encode the NKey seed: {error}"))?;
            keys::write_secret_file(&path, &seed, force)?;
            writeln!(out, "{}", pair.public_key()).context("cannot print the public key")
        }
        Command::Key {
            action:
                KeyAction::Generate {
                    out: path,
                    force,
                    master: true,
                    ..
                },
        } => {
            let key = kesos_vault::MasterKey::generate();
            keys::write_secret_file(&path, &key.to_hex(), force)?;
            writeln!(
                out,
                "master key {} written to {}",
                key.fingerprint(),
                path.display()
            )
            .context("cannot print the fingerprint")
        }
        Command::Key {
            action:
                KeyAction::Generate {
                    out: path,
                    force,
                    master: false,
                    nats_user: false,
                },
        } => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            keys::write_signing_key(&path, &key, force)?;
            writeln!(out, "{}", hex::encode(key.verifying_key().to_bytes()))
                .context("cannot print the public key")
        }
        Command::Token {
            action:
                TokenAction::Issue {
                    role,
                    region,
                    lsps,
                    subject,
                    ttl,
                    key,
                },
        } => {
            let subject = subject
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "operator".to_owned());
            let request = kesos_auth::issue::IssueRequest {
                role: &role,
                region: region.as_deref(),
                lsps: lsps.as_deref(),
                subject: &subject,
                ttl: &ttl,
                audience: &config.token_audience,
                lifetimes: crate::http::lifetimes(&config),
            };
            let default_key = config.token_key_file.clone();
            let create = key.is_none() && config.mode()? == kesos_runtime::Mode::Embedded;
            let path = key
                .or(default_key)
                .context("no token key: pass --key FILE or set KESOS_TOKEN_KEY_FILE")?;
            let token =
                kesos_auth::issue::issue(&request, &path, create, time::OffsetDateTime::now_utc())?;
            if let Some(jti) = kesos_auth::token::unverified_jti(&token) {
                eprintln!(
                    "token id {jti} (withdraw it with `kesos token revoke {jti} --reason …`)"
                );
            }
            writeln!(out, "{token}").context("cannot print the token")
        }
        Command::Token {
            action: TokenAction::Revoke { token, reason },
        } => {
            let by = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
            crate::tokens::revoke_command(&config, &token, &reason, &by, &mut out).await
        }
        Command::Key {
            action: KeyAction::Public { key },
        } => {
            let key = keys::read_signing_key(&key)?;
            writeln!(out, "{}", hex::encode(key.verifying_key().to_bytes()))
                .context("cannot print the public key")
        }
        Command::Key {
            action: KeyAction::RotateMaster,
        } => {
            let (rewrapped, fingerprint) = crate::enrollment::rotate_master(&config).await?;
            writeln!(
                out,
                "re-wrapped {rewrapped} keys under master {fingerprint}; the previous master key \
                 is no longer needed once every process runs without it"
            )
            .context("cannot print the result")
        }
    }
}
