//! The database goes away while a Kompeten decision is in flight, for far longer than the old
//! retry budget (12 attempts, about two minutes; here a short policy so the test takes
//! seconds): the consumer waits it out, reports the stall, and once the database is back
//! exactly one certificate exists and nothing was dead-lettered. Over the embedded feed and
//! over JetStream.
//!
//! The outage is made without touching the shared PostgreSQL: the certification service and
//! the consumer reach it through a TCP proxy this test starts on a free loopback port and
//! pauses (every connection cut, new ones closed at once); the feed reads the log directly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use kesos_bus::{
    Consumer, EmbeddedFeed, Handler, JetStreamFeed, PullSettings, RetryPolicy, StreamNames,
};
use kesos_certification::service::Certification;
use kesos_certification::wire::CERTIFICATE_ISSUED;
use kesos_eventstore::{
    EventStore, ExpectedVersion, NewEvent, PostgresConfig, PostgresStore, StreamId,
};
use kesos_readside::Db;
use kesos_testkit::{PgSchema, database_url, nats_url, unique_name};
use sqlx::postgres::PgConnectOptions;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use common::{build, count, decision, signing_key};

/// Longer than the old budget would have taken with this test's policy (12 attempts of at
/// most 50 ms) many times over.
const OUTAGE: Duration = Duration::from_secs(3);
const WAIT: Duration = Duration::from_secs(30);

/// A loopback TCP proxy to PostgreSQL that can be paused: [`Proxy::down`] cuts every open
/// connection and closes new ones as soon as they arrive; [`Proxy::up`] forwards again.
struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watching) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !*watching.borrow() {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut watching = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watching.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up, task }
    }

    fn down(&self) {
        self.up.send_replace(false);
    }

    fn up(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The test database's URL with the proxy in place of the server's address.
fn through(proxy: &Proxy) -> String {
    let url = database_url();
    let options: PgConnectOptions = url.parse().unwrap();
    let server = format!("{}:{}", options.get_host(), options.get_port());
    assert!(url.contains(&server), "cannot place the proxy in {url}");
    url.replace(&server, &format!("127.0.0.1:{}", proxy.port))
}

fn server_address() -> String {
    let options: PgConnectOptions = database_url().parse().unwrap();
    format!("{}:{}", options.get_host(), options.get_port())
}

/// Everything on one fresh schema: `direct` reads and writes the log without the proxy (the
/// feed, the test's checks), the service and the consumer's database go through it.
struct Place {
    schema: PgSchema,
    proxy: Proxy,
    direct: Arc<PostgresStore>,
    proxied: PostgresStore,
    certification: Certification,
}

impl Place {
    async fn new() -> Self {
        let schema = PgSchema::create().await;
        let proxy = Proxy::start(server_address()).await;
        let direct = Arc::new(schema.store().await);
        let proxied = PostgresStore::connect(&PostgresConfig {
            url: through(&proxy),
            ..schema.config()
        })
        .await
        .unwrap();
        let pool = proxied.pool().clone();
        kesos_bus::bookkeeping::migrate_consumers(&kesos_readside::Db::from(pool.clone()))
            .await
            .unwrap();
        let certification = build(
            Arc::new(proxied.clone()),
            Db::Postgres(pool),
            Arc::new(common::Directory::default()),
            signing_key(),
        )
        .await;
        Self {
            schema,
            proxy,
            direct,
            proxied,
            certification,
        }
    }

    fn consumer(&self, name: &str) -> Arc<Consumer> {
        let intake: Arc<dyn Handler> = Arc::new(self.certification.intake());
        let retry = RetryPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            stalled_after: 3,
        };
        Arc::new(Consumer::new(name, self.proxied.pool().clone(), intake).with_retry(retry))
    }

    /// Waits out the outage with the decision in flight, brings the database back, and checks
    /// that exactly one certificate was issued and nothing dead-lettered.
    async fn outlast(&self, consumer: &Consumer) {
        tokio::time::sleep(OUTAGE).await;
        let stalls = consumer.stalls().current();
        assert_eq!(
            stalls.len(),
            1,
            "the decision is held up and the stall reported"
        );
        assert!(stalls[0].1.attempts > 12, "{:?}", stalls[0].1);
        assert_eq!(count(&*self.direct, CERTIFICATE_ISSUED).await, 0);
        self.proxy.up();
        let deadline = tokio::time::Instant::now() + WAIT;
        while count(&*self.direct, CERTIFICATE_ISSUED).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no certificate after the database came back: the decision was lost"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(count(&*self.direct, CERTIFICATE_ISSUED).await, 1);
        let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM kesos_dead_letters")
            .fetch_one(self.direct.pool())
            .await
            .unwrap();
        assert_eq!(dead, 0, "a transient failure was dead-lettered");
        assert!(
            consumer.stalls().is_empty(),
            "the stall ends with the outage"
        );
    }

    async fn finish(self) {
        self.proxied.pool().close().await;
        self.direct.pool().close().await;
        drop(self.proxy);
        self.schema.drop_now().await;
    }
}

fn spawn(
    consumer: Arc<Consumer>,
    feed: impl kesos_bus::Feed + 'static,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        consumer
            .run(feed, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_longer_than_the_old_retry_budget_over_the_embedded_feed_issues_one_certificate()
 {
    let place = Place::new().await;
    let decided = decision(
        Uuid::now_v7(),
        "PEKSOS-GENERALIS",
        true,
        OffsetDateTime::now_utc(),
    );
    place.proxy.down();
    let event = &decided.event;
    place
        .direct
        .append(
            &StreamId::parse(format!("session-{}", Uuid::now_v7())).unwrap(),
            ExpectedVersion::Any,
            vec![
                NewEvent::new(
                    event.event_id,
                    event.event_type.clone(),
                    1,
                    event.payload.clone(),
                    event.metadata.clone(),
                    event.occurred_at,
                )
                .unwrap(),
            ],
        )
        .await
        .unwrap();
    let consumer = place.consumer("certification-intake");
    let direct: Arc<dyn EventStore> = place.direct.clone();
    let feed = EmbeddedFeed::from_position(direct, "certification", 0);
    let (stop, task) = spawn(consumer.clone(), feed);
    place.outlast(&consumer).await;
    let _ = stop.send(());
    task.await.unwrap();
    place.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_longer_than_the_old_retry_budget_over_jetstream_issues_one_certificate()
{
    let place = Place::new().await;
    let context = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    let names = StreamNames::new(unique_name("o"), unique_name("O"), unique_name("OD")).unwrap();
    names.ensure(&context).await.unwrap();
    let decided = decision(
        Uuid::now_v7(),
        "PEKSOS-GENERALIS",
        true,
        OffsetDateTime::now_utc(),
    );
    place.proxy.down();
    let payload = kesos_bus::envelope::encode("scheduling", &decided.event);
    context
        .publish(
            names.subject_for(decided.event.event_type.as_str()),
            payload.into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let name = unique_name("cert_outage");
    let consumer = place.consumer(&name);
    let settings = PullSettings {
        ack_wait: Duration::from_secs(1),
        batch: 20,
        ..PullSettings::default()
    };
    let feed = JetStreamFeed::subscribe(context.clone(), &names, &name, settings)
        .await
        .unwrap();
    let (stop, task) = spawn(consumer.clone(), feed);
    place.outlast(&consumer).await;
    let _ = stop.send(());
    task.await.unwrap();
    let _ = context.delete_stream(&names.events_stream).await;
    let _ = context.delete_stream(&names.dead_letter_stream).await;
    place.finish().await;
}
