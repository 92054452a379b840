//! Running the scheduling service inside the kesos process: opening it over the store, the
//! names rosters need (from enrollment, which holds the keys), and its background work —
//! intake of verified nominations (and, in the distributed mode, of erasures, which erase the
//! erased worker's rosters from the LSPS stream), returns to the pool, the roster-lock job,
//! and in the distributed mode the roster desk and the LSPS inbox on NATS.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kesos_bus::{
    BusError, Consumer, EmbeddedFeed, Feed, Handler, JetStreamFeed, PullSettings, Stalls,
    StreamNames,
};
use kesos_eventstore::EventStore;
use kesos_readside::Db;
use kesos_runtime::{Config, Shutdown};
use kesos_scheduling::domain::{SchedulingPolicy, SchemeList};
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::inbox::{Inbox, InboxSettings};
use kesos_scheduling::lsps::roster::{RosterDesk, RosterNames};
use kesos_scheduling::service::Scheduling;
use kesos_scheduling::service::intake::Intake;
use kesos_scheduling::service::returns::Returns;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::open::OpenedStore;

/// How often the roster-lock job looks for sessions past their cut-off.
const LOCK_EVERY: Duration = Duration::from_secs(60);

/// The scheduling rules in force: the configured file, or the shipped ones.
pub fn load_policy(config: &Config) -> anyhow::Result<SchedulingPolicy> {
    match &config.scheduling_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the scheduling rules {}", path.display()))?;
            SchedulingPolicy::from_toml(&text)
                .with_context(|| format!("scheduling rules {} are invalid", path.display()))
        }
        None => SchedulingPolicy::shipped().context("the shipped scheduling rules are invalid"),
    }
}

/// Builds the scheduling service: migrates its read models and starts their projector on the
/// store's log, reporting a stall in `stalls`.
pub async fn open_scheduling(
    config: &Config,
    store: &OpenedStore,
    schemes: SchemeList,
    stalls: &Stalls,
) -> anyhow::Result<Scheduling> {
    let policy = load_policy(config)?;
    tracing::info!(rules = %policy.version, "scheduling rules loaded");
    Scheduling::open(store.shared(), store.db(), policy, schemes, stalls)
        .await
        .context("cannot open the scheduling read models")
}

/// NATS, for the distributed mode's part of scheduling.
pub struct Distributed {
    /// The connection (identity lookups travel on it as plain requests).
    pub client: async_nats::Client,
    /// JetStream.
    pub context: async_nats::jetstream::Context,
    /// The events streams.
    pub names: StreamNames,
    /// The LSPS stream and subjects.
    pub channel: LspsChannel,
}

/// Runs one consumer until shutdown, binding its feed again after a feed failure.
pub(crate) async fn consume<F, Fut>(consumer: Consumer, bind: impl Fn() -> Fut, shutdown: Shutdown)
where
    F: Feed,
    Fut: Future<Output = Result<F, BusError>>,
{
    let mut failures = 0_u32;
    while !shutdown.is_triggered() {
        let outcome = match bind().await {
            Ok(feed) => {
                let stop = shutdown.clone();
                consumer.run(feed, async move { stop.wait().await }).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            failures += 1;
            let delay = Duration::from_millis(200) * 2_u32.pow(failures.min(7));
            tracing::warn!(consumer = consumer.name(), %error, ?delay, "consumer stopped; binding again");
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

fn on_own_log(
    background: &mut JoinSet<()>,
    name: &'static str,
    store: Arc<dyn EventStore>,
    db: Db,
    handler: Arc<dyn Handler>,
    stalls: &Stalls,
    shutdown: &Shutdown,
) {
    let consumer = Consumer::new(name, db.clone(), handler).with_stalls(stalls.clone());
    let shutdown = shutdown.clone();
    background.spawn(async move {
        let bind = || EmbeddedFeed::resume(store.clone(), "scheduling", name, &db);
        consume(consumer, bind, shutdown).await;
    });
}

/// Starts scheduling's background work on `background`: the intake (enrollment's events, from
/// the embedded log or JetStream), the returns and roster desk on its own log, the LSPS inbox,
/// and the roster-lock job.
pub fn start_background(
    background: &mut JoinSet<()>,
    scheduling: &Scheduling,
    names: Option<Arc<dyn RosterNames>>,
    opened: &OpenedStore,
    nats: Option<&Distributed>,
    stalls: &Stalls,
    shutdown: &Shutdown,
) {
    let db = opened.db();
    let store = scheduling.store().clone();
    let intake = Intake::new(scheduling.clone());
    match nats {
        None => on_own_log(
            background,
            "scheduling-intake",
            store.clone(),
            db.clone(),
            Arc::new(intake),
            stalls,
            shutdown,
        ),
        Some(nats) => {
            // Only here is there an LSPS stream whose rosters an erasure must reach.
            let intake = Arc::new(intake.erasing_rosters(nats.context.clone()));
            let consumer =
                Consumer::new("scheduling-intake", db.clone(), intake).with_stalls(stalls.clone());
            let (context, names) = (nats.context.clone(), nats.names.clone());
            let filter = format!("{}.enrollment.v1.>", names.prefix);
            let shutdown = shutdown.clone();
            background.spawn(async move {
                let bind = || {
                    let settings = PullSettings {
                        filter_subject: Some(filter.clone()),
                        ..PullSettings::default()
                    };
                    JetStreamFeed::subscribe(context.clone(), &names, "scheduling-intake", settings)
                };
                consume(consumer, bind, shutdown).await;
            });
        }
    }
    let returns: Arc<dyn Handler> = Arc::new(Returns::new(scheduling.clone()));
    on_own_log(
        background,
        "scheduling-returns",
        store.clone(),
        db.clone(),
        returns,
        stalls,
        shutdown,
    );
    if let (Some(nats), Some(names)) = (nats, names) {
        let desk: Arc<dyn Handler> = Arc::new(RosterDesk::new(
            scheduling.clone(),
            names,
            nats.context.clone(),
            nats.channel.clone(),
        ));
        on_own_log(
            background,
            "scheduling-roster-desk",
            store,
            db,
            desk,
            stalls,
            shutdown,
        );
        let inbox = Inbox::new(
            scheduling.clone(),
            nats.context.clone(),
            nats.channel.clone(),
            &nats.names,
            InboxSettings::default(),
        );
        let names = nats.names.clone();
        let stop = shutdown.clone();
        background.spawn(async move { inbox.run(&names, async move { stop.wait().await }).await });
    }
    let locker = scheduling.clone();
    let stop = shutdown.clone();
    background.spawn(async move {
        loop {
            match locker.lock_due(OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(locked) => tracing::info!(locked, "rosters locked"),
                Err(error) => {
                    tracing::warn!(%error, "the roster-lock job failed; trying again later")
                }
            }
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(LOCK_EVERY) => {}
            }
        }
    });
}
