//! The process's metrics in the Prometheus text format, on a listener of their own
//! (`KESOS_METRICS_LISTEN`): the recorder that every crate's `metrics::` calls reach, and the
//! `/metrics` route that renders it. The families are listed in `deploy/observability/`.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kesos_runtime::Shutdown;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::http::{AppState, readiness};

/// Latency buckets in seconds, from a millisecond to ten seconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Events per append: one command's event up to the group commit's largest batches.
const BATCH_BUCKETS: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];

/// How often `kesos_ready` is evaluated (and the histograms' upkeep runs).
const READINESS_EVERY: Duration = Duration::from_secs(10);

/// The one recorder of the process: a process installs it once, and tests that build several
/// applications in one process share it.
static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder as the process's global recorder (once; later calls answer
/// the same handle). `service` labels every series, so one Prometheus tells the processes of a
/// deployment apart.
pub fn install(service: &str) -> anyhow::Result<PrometheusHandle> {
    let mut installed = INSTALLED
        .lock()
        .map_err(|_| anyhow::anyhow!("the metrics recorder's lock is poisoned"))?;
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .add_global_label("service", service)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full("kesos_store_append_events".into()),
                &BATCH_BUCKETS,
            )
        })
        .context("the metrics buckets")?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("another metrics recorder is installed already"))?;
    describe();
    metrics::gauge!("kesos_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    *installed = Some(handle.clone());
    Ok(handle)
}

/// The help text of each family, as `# HELP` shows it.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        "kesos_build_info",
        "The running build (always 1), by version."
    );
    describe_gauge!(
        "kesos_ready",
        "1 while /readyz answers ready, 0 while it answers 503."
    );
    describe_counter!(
        "kesos_http_requests_total",
        "HTTP requests by method, route and status."
    );
    describe_histogram!(
        "kesos_http_request_duration_seconds",
        "HTTP request latency by route."
    );
    describe_counter!(
        "kesos_store_appends_total",
        "Appends committed to the event store."
    );
    describe_counter!(
        "kesos_store_append_failures_total",
        "Append batches that failed."
    );
    describe_histogram!(
        "kesos_store_append_events",
        "Events per committed append batch."
    );
    describe_histogram!(
        "kesos_store_append_duration_seconds",
        "Time to commit an append batch."
    );
    describe_counter!(
        "kesos_relay_published_total",
        "Events the relay put on JetStream."
    );
    describe_gauge!(
        "kesos_relay_lag_events",
        "Log head less the relay's published cursor."
    );
    describe_gauge!(
        "kesos_consumer_pending_messages",
        "Messages still waiting in a consumer's stream at its last delivery."
    );
    describe_counter!(
        "kesos_consumer_redeliveries_total",
        "Deliveries after the first."
    );
    describe_counter!(
        "kesos_dead_letters_total",
        "Dead letters by consumer and reason."
    );
    describe_counter!(
        "kesos_import_rows_total",
        "Imported spreadsheet rows by outcome."
    );
}

/// Binds the metrics listener, so a taken address stops the start, named.
pub async fn bind(address: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (KESOS_METRICS_LISTEN)"))
}

/// Serves `GET /metrics` on `listener` until `shutdown`, and keeps `kesos_ready` current.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    state: AppState,
    shutdown: Shutdown,
) {
    let watch = readiness_gauge(handle.clone(), state, shutdown.clone());
    let routes = Router::new()
        .route("/metrics", get(render))
        .with_state(handle);
    let served =
        axum::serve(listener, routes).with_graceful_shutdown(async move { shutdown.wait().await });
    let (served, ()) = tokio::join!(served, watch);
    if let Err(error) = served {
        tracing::error!(%error, "the metrics listener failed");
    }
}

async fn render(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}

/// Evaluates readiness every [`READINESS_EVERY`] into `kesos_ready`, and lets the recorder
/// drain its histograms.
async fn readiness_gauge(handle: PrometheusHandle, state: AppState, shutdown: Shutdown) {
    loop {
        let ready = readiness(&state).await.is_ok();
        metrics::gauge!("kesos_ready").set(if ready { 1.0 } else { 0.0 });
        handle.run_upkeep();
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(READINESS_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    const README: &str = include_str!("../../../deploy/observability/README.md");
    const ALERTS: &str = include_str!("../../../deploy/observability/alerts.yml");
    const DASHBOARD: &str = include_str!("../../../deploy/observability/grafana-dashboard.json");
    const SOURCE: &str = include_str!("metrics.rs");

    /// The `kesos_…` families a text names, histogram series read as their family.
    fn families(text: &str) -> BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("kesos_") && word.len() > "kesos_".len())
            .map(|word| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| word.strip_suffix(suffix))
                    .unwrap_or(word)
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn the_alerts_and_the_dashboard_use_only_families_the_readme_lists_and_kesos_describes() {
        // The table's rows only: the prose may name other things (`kesos_http::trace`).
        let table: String = README
            .lines()
            .filter(|line| line.starts_with("| `kesos_"))
            .collect::<Vec<_>>()
            .join("\n");
        let listed = families(&table);
        assert!(
            listed.len() >= 10,
            "the README's table of families: {listed:?}"
        );
        let described = families(SOURCE);
        for family in families(ALERTS).union(&families(DASHBOARD)) {
            assert!(
                listed.contains(family),
                "{family} is not in the README's table"
            );
            assert!(described.contains(family), "{family} is not described");
        }
        for family in &listed {
            assert!(
                described.contains(family),
                "{family} is listed but not described"
            );
        }
    }
}
