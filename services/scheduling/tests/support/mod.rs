//! What the scheduling suites share: the test's clock, a command context at a moment, the plan
//! of a session at Cimahi's test site, and a consumer of the log run in the background until
//! the test says stop.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;

use kesos_bus::{Consumer, EmbeddedFeed, Handler};
use kesos_commands::CommandContext;
use kesos_eventstore::EventStore;
use kesos_readside::Db;
use kesos_regions::RegionCode;
use kesos_scheduling::domain::{ExternalId, Plan, SchemeRef, Venue};
use time::macros::datetime;
use time::{Duration as Span, OffsetDateTime};
use tokio::sync::watch;
use uuid::Uuid;

/// When the tests' commands are given.
pub const T0: OffsetDateTime = datetime!(2026-11-02 09:00 UTC);
/// When the tests' sessions start.
pub const STARTS: OffsetDateTime = datetime!(2026-12-01 01:00 UTC);

/// A test user's command at `when`.
pub fn at(when: OffsetDateTime) -> CommandContext {
    CommandContext {
        command_id: Uuid::now_v7(),
        actor: "user:test".to_owned(),
        correlation_id: "test".to_owned(),
        causation_id: None,
        occurred_at: when,
    }
}

/// A Peksos Generalis session at TUK Cimahi from [`STARTS`], serving West Java, with
/// `assessors`, run by `lsps`.
pub fn plan(assessors: &[&str], lsps: &str) -> Plan {
    Plan {
        scheme: SchemeRef {
            code: "PEKSOS-GENERALIS".into(),
            category: "peksos".into(),
            level: "Generalis".into(),
        },
        venue: Venue::TestSite {
            name: "TUK Cimahi".into(),
            region: RegionCode::parse("32.77").unwrap(),
        },
        starts_at: STARTS,
        ends_at: STARTS + Span::hours(8),
        capacity: 10,
        assessors: assessors
            .iter()
            .map(|a| ExternalId::parse(a).unwrap())
            .collect(),
        served: vec![RegionCode::parse("32").unwrap()],
        cutoff: STARTS - Span::days(7),
        lsps: ExternalId::parse(lsps).unwrap(),
        // Scheduling takes the scheme's units from the catalogue.
        units: Vec::new(),
    }
}

/// Runs the consumer `name` with `handler` on scheduling's log in `store` (its bookkeeping
/// in `db`) until `stop` turns true.
pub fn spawn_consumer(
    name: &str,
    store: Arc<dyn EventStore>,
    db: impl Into<Db>,
    handler: Arc<dyn Handler>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let name = name.to_owned();
    let db: Db = db.into();
    tokio::spawn(async move {
        let feed = EmbeddedFeed::resume(store, "scheduling", &name, &db)
            .await
            .unwrap();
        Consumer::new(name, db, handler)
            .run(feed, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
    })
}
