//! The whole bench, tiny, on both stores: every figure is produced. Timing is never asserted
//! (these machines are shared and noisy); only that each figure exists and is a real number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn tiny(sqlite: bool, json: bool) -> StoreBenchOptions {
    StoreBenchOptions {
        sqlite,
        json,
        events: 2_000,
        duration_secs: 1,
        database_url: std::env::var("KESOS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        nats_url: Some(
            std::env::var("KESOS_TEST_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned()),
        ),
    }
}

fn assert_figures(figures: &[Figure], names: &[&str]) {
    let produced: Vec<&str> = figures.iter().map(|figure| figure.name.as_str()).collect();
    assert_eq!(produced, names);
    for figure in figures {
        let memory = figure.name == report::REPLAY_MEMORY;
        assert!(figure.value.is_finite(), "{figure:?}");
        // The replay may reuse memory freed earlier: no growth is a valid measurement.
        assert!(
            figure.value > 0.0 || (memory && figure.value == 0.0),
            "{figure:?}"
        );
        if figure.limit_kind == LimitKind::AtLeastRatio {
            assert!(figure.baseline.is_some_and(|b| b.is_finite() && b > 0.0));
            assert!(figure.ratio.is_some_and(|r| r.is_finite() && r > 0.0));
        }
    }
}

const STORE_FIGURES: [&str; 5] = [
    report::COMMAND_PATH,
    report::APPEND,
    report::REPLAY,
    report::REPLAY_RATE,
    report::REPLAY_MEMORY,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_bench_on_sqlite_produces_every_figure_but_the_relay() {
    let mut out = Vec::new();
    let figures = store(&tiny(true, false), &mut out).await.unwrap();
    assert_figures(&figures, &STORE_FIGURES);

    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), figures.len() + 2, "{text}");
    assert!(lines[0].starts_with("kesos bench store: SQLite"), "{text}");
    for (line, figure) in lines[1..].iter().zip(&figures) {
        assert!(line.starts_with(&figure.name), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_bench_on_postgres_and_jetstream_writes_every_figure_as_json() {
    let mut out = Vec::new();
    let figures = store(&tiny(false, true), &mut out).await.unwrap();
    let mut names = STORE_FIGURES.to_vec();
    names.push(report::RELAY);
    assert_figures(&figures, &names);

    let text = String::from_utf8(out).unwrap();
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(objects.len(), figures.len(), "{text}");
    for (object, figure) in objects.iter().zip(&figures) {
        assert_eq!(object["name"], figure.name.as_str());
        // JSON keeps the number, not necessarily its last bit: compare as numbers.
        let close = |json: &serde_json::Value, value: f64| {
            json.as_f64()
                .is_some_and(|parsed| (parsed - value).abs() <= value.abs() * 1e-12)
        };
        assert!(close(&object["value"], figure.value), "{object}");
        assert_eq!(object["unit"], figure.unit.as_str());
        assert!(close(&object["limit"], figure.limit), "{object}");
        assert!(object.get("ratio").is_some(), "{object}");
    }
}
