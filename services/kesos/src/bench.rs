//! `kesos bench …`: the benchmarks, each printing its figures beside the limits they are held
//! to. Compiled only with the `bench` feature, so the release binary does not link the bench
//! crate: `cargo run --release --features bench -- bench progress`.

use std::io::Write;

use clap::Subcommand;
use kesos_runtime::{Config, init_tracing};

/// The loopback PostgreSQL that `deploy/local/up` starts: the benchmark's default target.
const LOCAL_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The loopback NATS that `deploy/local/up` starts.
const LOCAL_NATS_URL: &str = "nats://127.0.0.1:4222";

/// `kesos bench …`
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// The event store: command path, batched appends, ordered replay and relay, each next to
    /// plain SQL on the same table shape (PostgreSQL from KESOS_DATABASE_URL, default the local
    /// test server; NATS from KESOS_NATS_URL, default the local one).
    Store {
        /// Measure the embedded SQLite store instead of PostgreSQL.
        #[arg(long)]
        sqlite: bool,
        /// One JSON object per figure (name, value, unit, limit, ratio).
        #[arg(long)]
        json: bool,
        /// Events in the replayed log.
        #[arg(long, default_value_t = kesos_bench::DEFAULT_EVENTS)]
        events: u64,
        /// Seconds each rate is measured for.
        #[arg(long, default_value_t = kesos_bench::DEFAULT_DURATION_SECS)]
        duration: u64,
    },
    /// The enrollment service: import of generated workers from CSV end to end (validation,
    /// encryption, events, relay to JetStream) next to the store's batched append, and
    /// registration over HTTP at a fixed rate (p50/p99). PostgreSQL and NATS as for `store`.
    Enrollment {
        /// Workers in the generated file.
        #[arg(long, default_value_t = 100_000)]
        workers: usize,
        /// HTTP registrations per second.
        #[arg(long, default_value_t = 500)]
        rate: u32,
        /// Seconds of HTTP load.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
    /// The certification service: certificates issued from Kompeten decisions on JetStream
    /// (certificates/s, goal 10,000) and public verification by number at a fixed rate
    /// (p50/p99, goal p99 under 5 ms). PostgreSQL and NATS as for `store`.
    Certification {
        /// Kompeten decisions to issue certificates from.
        #[arg(long, default_value_t = 50_000)]
        decisions: usize,
        /// Verifications per second.
        #[arg(long, default_value_t = 2_000)]
        rate: u32,
        /// Seconds of verification load.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
    /// Regional progress: a generated national history (default 1,000,000 workers, about ten
    /// events each) projected live from JetStream (events/s, goal 50,000), queried (kabupaten/kota
    /// p99 under 5 ms; province as of a date under 1 s) and replayed (events/s, goal 250,000;
    /// peak memory under 300 MB), beside a plain SELECT of the log. PostgreSQL and NATS as for
    /// `store`.
    Progress {
        /// Workers in the generated history.
        #[arg(long, default_value_t = 1_000_000)]
        workers: usize,
        /// Kabupaten/kota queries timed (a tenth as many province as-of queries).
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        /// Leave out the live projection: the replay builds the model the queries are timed
        /// on (the live phase takes minutes at the default size).
        #[arg(long)]
        skip_live: bool,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
    /// The dashboard: server time of each page's data (the nation with its map, a province, a
    /// kabupaten/kota; now and as of a date; p50/p99, goal 200 ms) for a generated national
    /// history (default 1,000,000 workers). PostgreSQL as for `store`.
    Dashboard {
        /// Workers in the generated history.
        #[arg(long, default_value_t = 1_000_000)]
        workers: usize,
        /// Loads of each page kind timed.
        #[arg(long, default_value_t = 200)]
        pages: usize,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
    /// The scheduling service: auto-allocation of waiting candidates into sessions (seconds and
    /// seats/s) and ingestion of LSPS results through JetStream (results/s, goal 10,000),
    /// each next to the store's batched append. PostgreSQL and NATS as for `store`.
    Scheduling {
        /// Waiting candidates.
        #[arg(long, default_value_t = 50_000)]
        candidates: usize,
        /// Sessions to fill.
        #[arg(long, default_value_t = 500)]
        sessions: usize,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
}

/// The PostgreSQL a benchmark measures: the configured one, else the local test server.
fn bench_database_url(config: &Config) -> String {
    config
        .database_url
        .clone()
        .unwrap_or_else(|| LOCAL_DATABASE_URL.to_owned())
}

/// The NATS a benchmark measures: the configured one, else the local one.
fn bench_nats_url(config: &Config) -> String {
    config
        .nats_url
        .clone()
        .unwrap_or_else(|| LOCAL_NATS_URL.to_owned())
}

/// Runs one benchmark, writing its figures to `out`.
pub async fn run(target: BenchTarget, config: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    let mut out = out;
    match target {
        BenchTarget::Store {
                    sqlite,
                    json,
                    events,
                    duration,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let options = kesos_bench::StoreBenchOptions {
                sqlite,
                json,
                events,
                duration_secs: duration,
                database_url: bench_database_url(config),
                nats_url: Some(bench_nats_url(config)),
            };
            let figures = kesos_bench::store(&options, &mut out).await?;
            let missed: Vec<_> = figures
                .iter()
                .filter(|f| !f.passed)
                .map(|f| f.name.as_str())
                .collect();
            if !missed.is_empty() {
                tracing::warn!(?missed, "figures below their limits");
            }
            Ok(())
        }

        BenchTarget::Enrollment {
                    workers,
                    rate,
                    seconds,
                    json,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let options = kesos_bench::EnrollmentBenchOptions {
                database_url: bench_database_url(config),
                nats_url: bench_nats_url(config),
                workers,
                rate,
                seconds,
                append_seconds: kesos_bench::DEFAULT_DURATION_SECS,
                json,
            };
            kesos_bench::enrollment(&options, &mut out).await?;
            Ok(())
        }

        BenchTarget::Certification {
                    decisions,
                    rate,
                    seconds,
                    json,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let mut options = kesos_bench::CertificationBenchOptions::new(
                bench_database_url(config),
                bench_nats_url(config),
            );
            options.decisions = decisions;
            options.rate = rate;
            options.seconds = seconds;
            options.json = json;
            kesos_bench::certification(&options, &mut out).await?;
            Ok(())
        }

        BenchTarget::Scheduling {
                    candidates,
                    sessions,
                    json,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let options = kesos_bench::SchedulingBenchOptions {
                database_url: bench_database_url(config),
                nats_url: bench_nats_url(config),
                candidates,
                sessions,
                append_seconds: kesos_bench::DEFAULT_DURATION_SECS,
                json,
            };
            kesos_bench::scheduling(&options, &mut out).await?;
            Ok(())
        }

        BenchTarget::Progress {
                    workers,
                    queries,
                    skip_live,
                    json,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let options = kesos_bench::ProgressBenchOptions {
                database_url: bench_database_url(config),
                nats_url: bench_nats_url(config),
                workers,
                queries,
                skip_live,
                json,
            };
            kesos_bench::progress(&options, &mut out).await?;
            Ok(())
        }

        BenchTarget::Dashboard {
                    workers,
                    pages,
                    json,
                } => {
            init_tracing(config.log_format, &config.log_filter)?;
            let options = kesos_bench::DashboardBenchOptions {
                database_url: bench_database_url(config),
                workers,
                pages,
                json,
            };
            kesos_bench::dashboard(&options, &mut out).await?;
            Ok(())
        }
    }
}
