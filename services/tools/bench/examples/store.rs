//! Runs `kesos bench store` with the default sizes and prints the figures:
//!
//! ```text
//! cargo run --release -p kesos-bench --example store [-- --sqlite] [-- --json]
//! ```
//!
//! PostgreSQL and NATS come from `KESOS_TEST_DATABASE_URL` and `KESOS_TEST_NATS_URL`, by
//! default the loopback servers `deploy/local/up` starts. Progress goes to stderr.

use kesos_bench::StoreBenchOptions;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = StoreBenchOptions::new(
        std::env::var("KESOS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
    );
    options.sqlite = args.iter().any(|arg| arg == "--sqlite");
    options.json = args.iter().any(|arg| arg == "--json");
    options.nats_url = Some(
        std::env::var("KESOS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
    );
    kesos_bench::store(&options, &mut std::io::stdout()).await?;
    Ok(())
}
