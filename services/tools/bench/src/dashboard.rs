//! `kesos bench dashboard`: how long the server takes to give each dashboard page its data,
//! for a generated national history (default 1,000,000 workers, about ten events each) on
//! PostgreSQL (a fresh schema, dropped at the end).
//!
//! The history is written to the log and the progress model rebuilt from it; then the
//! progress and dashboard routes are served over a real socket behind the access gate, and
//! each page is loaded as the browser loads it: its requests at once, each on its own
//! keep-alive connection, one page after another. A page's time is from sending its first
//! request to the last answer, on loopback, so it is the server's time plus a loopback round
//! trip. Pages: the nation (with the province map), a province and a kabupaten/kota, each now
//! and as of a business date; p50 and p99 of each beside the goal of 200 ms.
//!
//! A kabupaten/kota page also lists the sessions, candidates, workers and certificates behind
//! its numbers: those are pages of 20 rows from the services' own read models, which this
//! generated history (written straight into the log) does not build, so they are not timed
//! here; their lists are indexed, paged queries.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use kesos_progress::{Progress, ProgressModel, Source, replay};
use kesos_readside::Db;
use kesos_regions::{Level, Regions};

use crate::http_load::{PageLoader, Server};
use crate::report::{Figure, LimitKind};
use crate::target::{Target, on_fresh_postgres};
use crate::workload::Random;

/// The goal for every page, in milliseconds of server time.
pub const PAGE_GOAL_MS: f64 = 200.0;

/// What `kesos bench dashboard` measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardBenchOptions {
    /// The PostgreSQL server.
    pub database_url: String,
    /// Workers in the generated history (about ten events each).
    pub workers: usize,
    /// Loads of each page kind timed.
    pub pages: usize,
    /// One JSON object per figure.
    pub json: bool,
}

/// Runs the bench, writes the figures and returns them.
pub async fn dashboard(
    options: &DashboardBenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Vec<Figure>> {
    if options.workers == 0 || options.pages == 0 {
        bail!("--workers and --pages must be at least 1");
    }
    let header = format!(
        "kesos bench dashboard: PostgreSQL, {} workers",
        options.workers
    );
    on_fresh_postgres(
        &options.database_url,
        header,
        options.json,
        out,
        async |target, figures, header| measure(target, options, figures, header).await,
    )
    .await
}

async fn measure(
    target: &Target,
    options: &DashboardBenchOptions,
    figures: &mut Vec<Figure>,
    header: &mut String,
) -> anyhow::Result<()> {
    let store = target.store.clone();
    let pool = target.postgres_pool("dashboard")?;
    let events = crate::progress::history::write(store.clone(), options.workers).await?;
    header.push_str(&format!(", {events} events"));
    let model = ProgressModel::open(Db::Postgres(pool)).await?;
    let sources = vec![Source::whole(crate::progress::SOURCE, store)];
    replay(&model, &sources, |_, _| {}).await?;
    tracing::info!(events, "the progress model is built");

    let (gate, token) = crate::http_load::bench_gate();
    let router = kesos_progress::http::router(Progress::new(model, sources))
        .merge(kesos_dashboard::router())
        .layer(gate.layer());
    let server = Server::start(router).await?;
    let timed = time_pages(server.address, &token, options.pages, figures).await;
    server.stop().await;
    timed
}

/// The regions pages are asked for, drawn at random from the embedded table.
fn codes(level: Level) -> Vec<String> {
    Regions::embedded()
        .iter()
        .filter(|region| region.level() == level)
        .map(|region| region.code().as_str().to_owned())
        .collect()
}

/// A business date within the generated history (2016–2025).
fn some_date(random: &mut Random) -> String {
    let year = 2016 + random.below(10);
    let month = 1 + random.below(12);
    let day = 1 + random.below(28);
    format!("{year}-{month:02}-{day:02}")
}

/// The requests the dashboard sends for a region's page (the nation's also fetches the map).
fn page_requests(region: &str, as_of: Option<&str>) -> Vec<String> {
    let mut query = format!("?region={region}");
    if let Some(date) = as_of {
        query.push_str(&format!("&as_of={date}"));
    }
    let mut paths = vec![
        format!("/v1/progress{query}"),
        format!("/v1/progress/series{query}"),
    ];
    if region.is_empty() {
        paths.push("/assets/map.json".to_owned());
    }
    paths
}

async fn time_pages(
    address: SocketAddr,
    token: &str,
    pages: usize,
    figures: &mut Vec<Figure>,
) -> anyhow::Result<()> {
    let provinces = codes(Level::Provinsi);
    let kabkota = codes(Level::KabupatenKota);
    let mut random = Random::seeded(0x6461_7368);
    let mut loader = PageLoader::open(address, token, 3).await?;
    let kinds: [(&str, &[String], bool); 6] = [
        ("national page", &[], false),
        ("national page as of a date", &[], true),
        ("province page", &provinces, false),
        ("province page as of a date", &provinces, true),
        ("kabupaten/kota page", &kabkota, false),
        ("kabupaten/kota page as of a date", &kabkota, true),
    ];
    for (name, regions, dated) in kinds {
        let mut times: Vec<Duration> = Vec::with_capacity(pages);
        for _ in 0..pages {
            let region = if regions.is_empty() {
                String::new()
            } else {
                let index = random.below(regions.len() as u64);
                regions[usize::try_from(index).unwrap_or_default()].clone()
            };
            let date = dated.then(|| some_date(&mut random));
            times.push(
                loader
                    .load(&page_requests(&region, date.as_deref()))
                    .await?,
            );
        }
        times.sort();
        let quantile = |q: f64| {
            let index = ((times.len() - 1) as f64 * q).round() as usize;
            times[index].as_secs_f64() * 1_000.0
        };
        figures.push(Figure::absolute(
            &format!("{name}, p50 {:.1} ms", quantile(0.5)),
            quantile(0.99),
            "ms p99",
            LimitKind::AtMostValue,
            PAGE_GOAL_MS,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_page_also_fetches_the_map_and_dated_pages_carry_the_date() {
        assert_eq!(page_requests("", None).len(), 3);
        let dated = page_requests("32.77", Some("2017-12-03"));
        assert_eq!(
            dated,
            [
                "/v1/progress?region=32.77&as_of=2017-12-03",
                "/v1/progress/series?region=32.77&as_of=2017-12-03"
            ]
        );
    }
}
