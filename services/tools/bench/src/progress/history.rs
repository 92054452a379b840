//! A realistic national history for the progress and dashboard benches, written to the log in
//! the order it happened: workers register evenly over eleven and a half years across every
//! kabupaten/kota and live out their [`Script`]s, one to ninety days a step, interleaved with
//! everyone else's; yearly targets per kabupaten/kota and category are set each January. About
//! ten events per worker.
//!
//! The order matters to what is measured: a batch of a live projection or a replay meets
//! thousands of workers in a few business days, as it would in production, rather than a few
//! hundred workers each with a decade of history. Each append carries a few thousand
//! consecutive events (one stream per worker, appended at the version it had reached), and
//! the next append is drawn while the last is written.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use anyhow::bail;
use kesos_eventstore::{BulkAppend, Claims, EventStore, ExpectedVersion, NewEvent, StreamId};
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_regions::{Level, Regions};
use prost::Message;
use time::{Duration, OffsetDateTime, macros::datetime};

use super::script::{Script, event, region};
use crate::workload::Random;

/// Events per bulk append.
const EVENTS_PER_APPEND: usize = 2_000;
/// The first registration.
const FIRST_REGISTRATION: OffsetDateTime = datetime!(2015-01-05 02:00 UTC);
/// Registrations are spread evenly over this many seconds (4,200 days).
const REGISTRATION_SECONDS: u128 = 4_200 * 86_400;
/// The years targets are set for, each on its second of January.
const TARGET_YEARS: std::ops::RangeInclusive<i32> = 2020..=2026;
/// Target events per stream.
const TARGETS_PER_STREAM: usize = 1_000;

/// Writes the history of `workers` workers; answers the number of events written.
pub(crate) async fn write(store: Arc<dyn EventStore>, workers: usize) -> anyhow::Result<u64> {
    let places: Vec<String> = Regions::embedded()
        .iter()
        .filter(|r| r.level() == Level::KabupatenKota)
        .map(|r| r.code().as_str().to_owned())
        .collect();
    if places.is_empty() {
        bail!("the embedded regions hold no kabupaten/kota to post workers to");
    }
    let (appends, mut received) = tokio::sync::mpsc::channel::<Vec<BulkAppend>>(1);
    let appending = tokio::spawn(async move {
        while let Some(bulk) = received.recv().await {
            for outcome in store.append_bulk(bulk).await {
                outcome?;
            }
        }
        anyhow::Ok(())
    });
    let mut history = History::new(workers as u64, places);
    let mut written = 0_u64;
    loop {
        let bulk = history.next_appends(EVENTS_PER_APPEND)?;
        if bulk.is_empty() {
            break;
        }
        written += bulk.iter().map(|a| a.events.len() as u64).sum::<u64>();
        if appends.send(bulk).await.is_err() {
            // The appender stopped on an error, which awaiting it reports.
            break;
        }
    }
    drop(appends);
    appending.await??;
    Ok(written)
}

/// What happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    /// The year's targets are set.
    Targets(i32),
    /// A worker's next step (by registration number).
    Worker(u64),
}

/// The history being told: the workers whose lives are under way and what happens next.
struct History {
    random: Random,
    places: Vec<String>,
    workers: u64,
    registered: u64,
    /// (when, tie-breaker in the order pushed, what).
    next: BinaryHeap<Reverse<(OffsetDateTime, u64, Next)>>,
    pushed: u64,
    scripts: HashMap<u64, Script>,
}

impl History {
    fn new(workers: u64, places: Vec<String>) -> Self {
        let mut history = Self {
            random: Random::seeded(0x6b65_736f_7300),
            places,
            workers,
            registered: 0,
            next: BinaryHeap::new(),
            pushed: 0,
            scripts: HashMap::new(),
        };
        for year in TARGET_YEARS {
            history.push(targets_set_at(year), Next::Targets(year));
        }
        history
    }

    fn push(&mut self, at: OffsetDateTime, next: Next) {
        self.pushed += 1;
        self.next.push(Reverse((at, self.pushed, next)));
    }

    fn registration_time(&self, worker: u64) -> OffsetDateTime {
        let offset = u128::from(worker) * REGISTRATION_SECONDS / u128::from(self.workers.max(1));
        FIRST_REGISTRATION + Duration::seconds(i64::try_from(offset).unwrap_or(i64::MAX))
    }

    /// Registers every worker due before the next thing that happens.
    fn register_due(&mut self) -> anyhow::Result<()> {
        while self.registered < self.workers {
            let at = self.registration_time(self.registered);
            if self
                .next
                .peek()
                .is_some_and(|Reverse((next, _, _))| *next < at)
            {
                break;
            }
            let script = Script::draw(&mut self.random, self.places.len(), at)?;
            let worker = self.registered;
            self.registered += 1;
            self.scripts.insert(worker, script);
            self.push(at, Next::Worker(worker));
        }
        Ok(())
    }

    /// The next `limit` or so events, one append per stream; empty once the history is told.
    fn next_appends(&mut self, limit: usize) -> anyhow::Result<Vec<BulkAppend>> {
        let mut appends: Vec<BulkAppend> = Vec::new();
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut told = 0;
        while told < limit {
            self.register_due()?;
            let Some(Reverse((_, _, next))) = self.next.pop() else {
                break;
            };
            let worker = match next {
                Next::Targets(year) => {
                    let events = targets(year, &self.places)?;
                    told += events.len();
                    for (i, chunk) in events.chunks(TARGETS_PER_STREAM).enumerate() {
                        appends.push(new_stream(
                            StreamId::parse(format!("targets-bench-{year}-{i}"))?,
                            chunk.to_vec(),
                        ));
                    }
                    continue;
                }
                Next::Worker(worker) => worker,
            };
            let Some(script) = self.scripts.get_mut(&worker) else {
                continue;
            };
            let index = *open.entry(worker).or_insert_with(|| {
                appends.push(BulkAppend {
                    stream: script.stream().clone(),
                    expected: ExpectedVersion::after(script.told()),
                    events: Vec::new(),
                    claims: Claims::default(),
                });
                appends.len() - 1
            });
            if let Some(event) = script.tell(&self.places)? {
                appends[index].events.push(event);
                told += 1;
            }
            match script.next_at() {
                Some(at) => self.push(at, Next::Worker(worker)),
                None => {
                    self.scripts.remove(&worker);
                }
            }
        }
        Ok(appends)
    }
}

fn new_stream(stream: StreamId, events: Vec<NewEvent>) -> BulkAppend {
    BulkAppend {
        stream,
        expected: ExpectedVersion::NoStream,
        events,
        claims: Claims::default(),
    }
}

/// When a year's targets are set: its second of January.
fn targets_set_at(year: i32) -> OffsetDateTime {
    let first_year = datetime!(2020-01-02 02:00 UTC);
    first_year.replace_year(year).unwrap_or(first_year)
}

/// A year's target for every kabupaten/kota and category.
fn targets(year: i32, places: &[String]) -> anyhow::Result<Vec<NewEvent>> {
    let at = targets_set_at(year);
    let mut events = Vec::with_capacity(places.len() * 4);
    for place in places {
        for category in 1..=4 {
            events.push(event(
                "kesos.enrollment.v1.TargetSet",
                enrollment::TargetSet {
                    year,
                    region: region(place),
                    category,
                    target_count: 100,
                    ..Default::default()
                }
                .encode_to_vec(),
                at,
            )?);
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bulk of the history of `workers` workers, in the order written.
    fn told(workers: u64) -> Vec<Vec<BulkAppend>> {
        let places = vec!["32.77".to_owned(), "33.01".to_owned()];
        let mut history = History::new(workers, places);
        let mut bulks = Vec::new();
        loop {
            let bulk = history.next_appends(50).expect("the history is told");
            if bulk.is_empty() {
                return bulks;
            }
            bulks.push(bulk);
        }
    }

    fn dates(bulk: &[BulkAppend]) -> impl Iterator<Item = OffsetDateTime> + '_ {
        bulk.iter()
            .flat_map(|a| a.events.iter().map(|e| e.occurred_at()))
    }

    #[test]
    fn the_history_is_told_in_the_order_it_happened_each_stream_at_the_version_it_reached() {
        let bulks = told(300);
        assert!(bulks.len() > 10, "{} bulks", bulks.len());
        for (earlier, later) in bulks.iter().zip(bulks.iter().skip(1)) {
            assert!(dates(earlier).max() <= dates(later).min(), "time went back");
        }
        let mut versions: HashMap<String, u64> = HashMap::new();
        for append in bulks.iter().flatten() {
            let dates: Vec<_> = append.events.iter().map(|e| e.occurred_at()).collect();
            assert!(dates.is_sorted(), "a stream's events in their order");
            let version = versions
                .entry(append.stream.as_str().to_owned())
                .or_default();
            assert_eq!(append.expected, ExpectedVersion::after(*version));
            *version += append.events.len() as u64;
        }
        let registered = bulks
            .iter()
            .flatten()
            .flat_map(|a| &a.events)
            .filter(|e| e.event_type().as_str() == "kesos.enrollment.v1.WorkerRegistered")
            .count();
        assert_eq!(registered, 300);
        let targets: Vec<&BulkAppend> = bulks
            .iter()
            .flatten()
            .filter(|a| a.stream.as_str().starts_with("targets-"))
            .collect();
        assert_eq!(targets.len(), TARGET_YEARS.count());
        for append in targets {
            let year = append.stream.as_str().split('-').nth(2);
            for event in &append.events {
                let at = event.occurred_at();
                assert_eq!((at.month(), at.day()), (time::Month::January, 2));
                assert_eq!(Some(at.year().to_string().as_str()), year);
            }
        }
    }
}
