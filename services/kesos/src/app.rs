//! The running kesos process: `Application::build` binds and opens everything, then
//! `run_until_stopped` serves until the shutdown handle fires (zero-to-production's pattern, so
//! tests can start one on port 0 and stop it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ed25519_dalek::SigningKey;
use kesos_bus::{Relay, RelaySettings, StreamNames};
use kesos_eventstore::{EventStore, write_checkpoint};
use kesos_runtime::{Config, Mode, Service, Services, Shutdown};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::certification::open_certification;
use crate::enrollment::open_enrollment;
use crate::http::{self, AppState};
use crate::keys;
use crate::open::{OpenedStore, open_store};
use crate::progress::open_progress;
use crate::scheduling::{Distributed, open_scheduling, start_background};
use kesos_certification::service::Certification;
use kesos_enrollment::service::Enrollment;
use kesos_progress::Progress;
use kesos_scheduling::lsps::LspsChannel;
use kesos_scheduling::lsps::roster::RosterNames;
use kesos_scheduling::service::Scheduling;

/// A built, not yet running, kesos process.
pub struct Application {
    enrollment: Enrollment,
    scheduling: Scheduling,
    certification: Certification,
    progress: Progress,
    services: Services,
    gate: kesos_auth::Gate,
    distributed: Option<Distributed>,
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    store: OpenedStore,
    signing_key: SigningKey,
    /// The relays of the event-writing services this process runs (distributed mode).
    relays: Vec<Relay>,
    /// Where names and NIKs are asked for (enrollment, here or over NATS).
    identities: Option<Arc<dyn kesos_bus::Identities>>,
    /// The NATS subject prefix (identity lookups are answered under it).
    subject_prefix: String,
    checkpoint_every: Duration,
    description: String,
    /// `/metrics`: its listener and the recorder's handle, when `KESOS_METRICS_LISTEN` is set.
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
}

impl Application {
    /// Opens the store (migrating it), loads the signing key, connects NATS in the distributed
    /// mode and binds the HTTP listener.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let mode = config.mode()?;
        // First, so that what opening records (appends, consumers) is counted.
        let metrics = match config.metrics_listen {
            Some(address) => Some((
                crate::metrics::bind(address).await?,
                crate::metrics::install(&config.service_name)?,
            )),
            None => None,
        };
        let store = open_store(config, mode).await?;
        store.migrate_consumers().await?;
        let signing_key = keys::load_or_create_signing_key(config, mode)?;
        let trusted = keys::trusted_keys(config, Some(&signing_key))?;
        let nats = crate::nats::connect(config, crate::nats::Identity::default()).await?;
        let (relays, distributed) = match &nats {
            Some(client) => {
                let names = StreamNames::new(
                    config.nats_subject_prefix.clone(),
                    config.nats_stream.clone(),
                    config.nats_dead_letter_stream.clone(),
                )?;
                let context = async_nats::jetstream::new(client.clone());
                // Each event-writing service relays its own events, onto its own subjects,
                // from its own cursor: a process relays for the services it runs and no
                // other, so scheduling's decisions reach certification while enrollment is
                // down, and each NATS user publishes only its own service's subjects.
                let runs = |service| config.services.runs(service);
                let relays: Vec<Relay> = Service::WRITERS
                    .into_iter()
                    .filter(|service| runs(*service))
                    .map(|service| {
                        Relay::new(
                            store.shared(),
                            context.clone(),
                            names.clone(),
                            RelaySettings::for_service(service.name()),
                        )
                    })
                    .collect();
                // A process declares only the streams its services write: a progress-only
                // process reads (its NATS user may not create or change a stream), and only
                // scheduling touches the LSPS stream (the other users may not).
                if let Some(relay) = relays.first() {
                    relay
                        .prepare()
                        .await
                        .context("cannot create the JetStream streams")?;
                }
                let earlier = RelaySettings::new(config.service_name.clone()).cursor_name();
                for relay in &relays {
                    if let Some(position) = relay.adopt_cursor(&earlier).await? {
                        tracing::info!(
                            from = %earlier,
                            position,
                            "the service's relay starts where the process-wide one left off"
                        );
                    }
                }
                let channel = LspsChannel::new(
                    config.nats_subject_prefix.clone(),
                    config.nats_lsps_stream.clone(),
                );
                if runs(Service::Scheduling) {
                    channel
                        .ensure(&context)
                        .await
                        .context("cannot create the LSPS JetStream stream")?;
                }
                let distributed = Distributed {
                    client: client.clone(),
                    context,
                    names,
                    channel,
                };
                (relays, Some(distributed))
            }
            None => (Vec::new(), None),
        };
        let listener = TcpListener::bind(config.http_listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (KESOS_HTTP_LISTEN)",
                    config.http_listen
                )
            })?;
        let address = listener.local_addr()?;
        let description = format!("{mode} mode, {}", store.describe(config));
        // One registry of stalls for every projector and consumer: readiness reads it.
        let stalls = kesos_bus::Stalls::new();
        // Progress first: its opening creates tables in a deferred SQLite transaction, which
        // fails at once (rather than wait) when a write commits meanwhile — and the services'
        // projectors start applying their logs as soon as each service is built.
        let progress = open_progress(config, &store).await?;
        let enrollment = open_enrollment(config, mode, &store, &stalls).await?;
        let schemes = kesos_scheduling::domain::SchemeList::from_catalogue_toml(
            &crate::enrollment::scheme_catalogue_text(config)?,
        )
        .with_context(|| {
            format!(
                "scheme catalogue {} is invalid",
                crate::enrollment::catalogue_name(config)
            )
        })?;
        let base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let identities = crate::identities::source(config, &enrollment, nats.as_ref());
        let certification = open_certification(
            config,
            &store,
            identities
                .clone()
                .unwrap_or_else(|| Arc::new(crate::identities::NobodyToAsk)),
            signing_key.clone(),
            base_url,
            &stalls,
        )
        .await?;
        let revocations = http::revocation_list(&store).await?;
        let scheduling = open_scheduling(config, &store, schemes, &stalls).await?;
        let gate = http::gate(config, mode, revocations, http::legacy_keys(&store))?;
        let state = AppState {
            store: store.shared(),
            mode,
            trusted_keys: Arc::new(trusted),
            nats,
            stalls,
        };
        Ok(Self {
            enrollment,
            scheduling,
            certification,
            progress,
            services: config.services.clone(),
            gate,
            distributed,
            listener,
            address,
            state,
            store,
            signing_key,
            relays,
            identities,
            subject_prefix: config.nats_subject_prefix.clone(),
            checkpoint_every: Duration::from_secs(config.checkpoint_interval_secs),
            description,
            metrics,
        })
    }

    /// The bound address (the real port when the configuration asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The mode the process runs in.
    pub fn mode(&self) -> Mode {
        self.state.mode
    }

    /// The enrollment service this process runs.
    pub fn enrollment(&self) -> &Enrollment {
        &self.enrollment
    }

    /// The scheduling service this process runs.
    pub fn scheduling(&self) -> &Scheduling {
        &self.scheduling
    }

    /// The certification service this process runs.
    pub fn certification(&self) -> &Certification {
        &self.certification
    }

    /// The progress read model this process keeps.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The process's event store.
    pub fn store(&self) -> Arc<dyn EventStore> {
        self.store.shared()
    }

    /// Where this process's consumers report a stall (readiness answers 503 while any is).
    pub fn stalls(&self) -> &kesos_bus::Stalls {
        &self.state.stalls
    }

    /// Serves HTTP, relays each service's events (distributed mode) and signs checkpoints
    /// until `shutdown` fires; then drains requests, stops the background work and signs a
    /// last checkpoint.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        tracing::info!(
            "kesos listening on http://{} ({}); dashboard at http://{}/ ; serving {}",
            self.address,
            self.description,
            self.address,
            http::served_paths().join(" ")
        );
        let store = self.store.shared();
        let services = self.services.clone();
        let runs = |service| services.runs(service);
        let mut background = JoinSet::new();
        if runs(Service::Enrollment) {
            background.spawn(checkpoints(
                store.clone(),
                self.signing_key.clone(),
                self.checkpoint_every,
                shutdown.clone(),
            ));
        }
        // Names and NIKs for rosters: asked of enrollment, in this process or over NATS.
        let roster_names = self.identities.clone().map(|source| {
            Arc::new(crate::identities::RosterIdentities(source)) as Arc<dyn RosterNames>
        });
        if let (true, Some(nats)) = (runs(Service::Enrollment), &self.state.nats) {
            background.spawn(answer_identity_lookups(
                nats.clone(),
                self.subject_prefix.clone(),
                Arc::new(crate::identities::EnrollmentIdentities(
                    self.enrollment.clone(),
                )),
                shutdown.clone(),
            ));
        }
        if runs(Service::Scheduling) {
            start_background(
                &mut background,
                &self.scheduling,
                roster_names.clone(),
                &self.store,
                self.distributed.as_ref(),
                &self.state.stalls,
                &shutdown,
            );
        }
        if runs(Service::Certification) {
            crate::certification::start_background(
                &mut background,
                &self.certification,
                &self.store,
                self.distributed.as_ref(),
                &self.state.stalls,
                &shutdown,
            );
        }
        if runs(Service::Progress) {
            crate::progress::start_background(
                &mut background,
                &self.progress,
                self.distributed.as_ref(),
                &self.state.stalls,
                &shutdown,
            );
        }
        for relay in self.relays {
            let stop = shutdown.clone();
            background.spawn(async move { relay.run(async move { stop.wait().await }).await });
        }
        let stop = shutdown.clone();
        let scheduling_api = kesos_scheduling::http::ApiState {
            scheduling: self.scheduling,
            names: roster_names,
        };
        let state = self.state.clone();
        let mut routes = http::router(self.state);
        if runs(Service::Enrollment) {
            routes = routes.merge(kesos_enrollment::http::router(self.enrollment));
        }
        if runs(Service::Scheduling) {
            routes = routes.merge(kesos_scheduling::http::router(scheduling_api));
        }
        if runs(Service::Certification) {
            routes = routes.merge(kesos_certification::http::router(self.certification));
        }
        if runs(Service::Progress) {
            routes = routes.merge(kesos_progress::http::router(self.progress));
        }
        let mut routes = routes
            .merge(kesos_dashboard::router())
            .merge(kesos_auth::routes::router(self.gate.clone()))
            .layer(self.gate.layer())
            // Outside the gate too, so a refused request is traced as well.
            .layer(axum::middleware::from_fn(kesos_http::trace::traced));
        if let Some((listener, handle)) = self.metrics {
            tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
            // Outside the gate, so refused requests are counted too.
            routes = routes.layer(axum::middleware::from_fn(kesos_http::metrics::measure));
            background.spawn(crate::metrics::serve(
                listener,
                handle,
                state,
                shutdown.clone(),
            ));
        }
        tracing::info!(
            keys = self.gate.key_count(),
            "every route needs a bearer token but /healthz /readyz /openapi.json and public \
             verification; mint one with `kesos token issue --role central-operations`"
        );
        let served = axum::serve(
            self.listener,
            routes.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.wait().await })
        .await;
        shutdown.trigger();
        while background.join_next().await.is_some() {}
        if runs(Service::Enrollment) {
            sign_checkpoint(&*store, &self.signing_key).await;
        }
        tracing::info!("kesos stopped");
        served.context("the HTTP server failed")
    }
}

async fn checkpoints(
    store: Arc<dyn EventStore>,
    key: SigningKey,
    every: Duration,
    shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(every) => sign_checkpoint(&*store, &key).await,
        }
    }
}

async fn sign_checkpoint(store: &dyn EventStore, key: &SigningKey) {
    match write_checkpoint(store, key, OffsetDateTime::now_utc()).await {
        Ok(Some(checkpoint)) => tracing::info!(
            sequence = checkpoint.sequence,
            position = checkpoint.position,
            "signed a log checkpoint"
        ),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not sign a log checkpoint"),
    }
}

/// Answers the other services' identity lookups (enrollment's processes only) until shutdown,
/// subscribing again after NATS dropped the subscription.
async fn answer_identity_lookups(
    client: async_nats::Client,
    prefix: String,
    source: Arc<dyn kesos_bus::Identities>,
    shutdown: Shutdown,
) {
    let mut backoff = kesos_bus::Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    while !shutdown.is_triggered() {
        let stop = shutdown.clone();
        let answered =
            kesos_bus::answer_lookups(client.clone(), &prefix, source.clone(), async move {
                stop.wait().await
            })
            .await;
        if let Err(error) = answered {
            let delay = backoff.next_wait();
            tracing::warn!(%error, ?delay, "identity lookups are not answered; subscribing again");
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}
