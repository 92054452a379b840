//! The NATS accounts of `deploy/nats/accounts.conf` on a real nats-server: each test starts its
//! own server with that file on a free loopback port in a temporary directory (kesos-testkit's
//! `SecuredNats`), each user logging in with its own NKey. Each forbidden publish,
//! subscription or consumer is refused with a permissions violation; the allowed ones work.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use async_nats::{Client, ConnectOptions, Event, ServerError};
use futures::StreamExt;
use kesos_testkit::secured_nats::SecuredNats;

/// A connection as `user`, collecting the permission violations the server reports.
struct Connection {
    client: Client,
    js: jetstream::Context,
    violations: Arc<Mutex<Vec<String>>>,
}

impl Connection {
    async fn open(server: &SecuredNats, user: &str) -> Self {
        let violations = Arc::new(Mutex::new(Vec::new()));
        let seen = violations.clone();
        let mut options =
            ConnectOptions::with_nkey(server.seed(user)).event_callback(move |event| {
                let seen = seen.clone();
                async move {
                    if let Event::ServerError(ServerError::Other(text)) = event {
                        seen.lock().unwrap().push(text);
                    }
                }
            });
        if user.starts_with("LSPS-") {
            options = options.custom_inbox_prefix(format!("_INBOX_{user}"));
        }
        let client = options.connect(server.url()).await.unwrap();
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_millis(700))
            .build(client.clone());
        Self {
            client,
            js,
            violations,
        }
    }

    /// Whether the server refused something on `subject` (waits for its asynchronous -ERR).
    async fn refused(&self, subject: &str) -> bool {
        for _ in 0..40 {
            self.client.flush().await.ok();
            if self
                .violations
                .lock()
                .unwrap()
                .iter()
                .any(|v| v.contains("Permissions Violation") && v.contains(subject))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }

    async fn publish_is_refused(&self, subject: &str) -> bool {
        self.client
            .publish(subject.to_owned(), "x".into())
            .await
            .unwrap();
        self.refused(subject).await
    }

    async fn subscribe_is_refused(&self, subject: &str) -> bool {
        let _subscription = self.client.subscribe(subject.to_owned()).await.unwrap();
        self.refused(subject).await
    }

    /// Publishes through JetStream and waits for the stream's acknowledgement.
    async fn stored(&self, subject: &str) -> bool {
        match self.js.publish(subject.to_owned(), "x".into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        }
    }
}

/// The streams as the kesos process creates them, with one roster per LSPS.
async fn prepare(server: &SecuredNats) -> Connection {
    let kesos = Connection::open(server, "kesos").await;
    kesos
        .js
        .get_or_create_stream(stream::Config {
            name: "KESOS".to_owned(),
            subjects: vec![
                "kesos.enrollment.>".to_owned(),
                "kesos.scheduling.>".to_owned(),
                "kesos.certification.>".to_owned(),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    kesos
        .js
        .get_or_create_stream(stream::Config {
            name: "KESOS_LSPS".to_owned(),
            subjects: vec!["kesos.lsps.v1.>".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    let scheduling = Connection::open(server, "scheduling").await;
    for lsps in ["LSPS-PEKSOS", "LSPS-KESOS"] {
        assert!(
            scheduling
                .stored(&format!("kesos.lsps.v1.roster.{lsps}"))
                .await
        );
    }
    kesos
}

async fn roster_consumer(
    connection: &Connection,
    name: &str,
    filter: &str,
) -> Result<jetstream::consumer::PullConsumer, String> {
    let stream = connection
        .js
        .get_stream("KESOS_LSPS")
        .await
        .map_err(|e| e.to_string())?;
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            filter_subject: filter.to_owned(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn an_lsps_reads_its_own_roster_and_reports_on_its_own_subjects() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    let lsps = Connection::open(&server, "LSPS-PEKSOS").await;

    let consumer = roster_consumer(
        &lsps,
        "lsps-LSPS-PEKSOS",
        "kesos.lsps.v1.roster.LSPS-PEKSOS",
    )
    .await
    .unwrap();
    let mut batch = consumer.fetch().max_messages(10).messages().await.unwrap();
    let message = batch.next().await.unwrap().unwrap();
    assert_eq!(message.subject.as_str(), "kesos.lsps.v1.roster.LSPS-PEKSOS");
    message.ack().await.unwrap();

    assert!(
        lsps.stored("kesos.lsps.v1.report.attendance.LSPS-PEKSOS")
            .await
    );
    assert!(lsps.stored("kesos.lsps.v1.report.result.LSPS-PEKSOS").await);
    assert!(lsps.violations.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_lsps_can_neither_read_another_lsps_roster_nor_report_for_it() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    let lsps = Connection::open(&server, "LSPS-PEKSOS").await;

    // A consumer on the other LSPS's roster, under its own name or the other's.
    for name in ["lsps-LSPS-PEKSOS", "lsps-LSPS-KESOS"] {
        assert!(
            roster_consumer(&lsps, name, "kesos.lsps.v1.roster.LSPS-KESOS")
                .await
                .is_err()
        );
    }
    assert!(lsps.refused("$JS.API.CONSUMER.CREATE.KESOS_LSPS").await);
    // Nor any consumer without its roster filter.
    assert!(
        roster_consumer(&lsps, "lsps-LSPS-PEKSOS", "")
            .await
            .is_err()
    );

    assert!(
        lsps.publish_is_refused("kesos.lsps.v1.report.result.LSPS-KESOS")
            .await
    );
    assert!(
        lsps.publish_is_refused("kesos.lsps.v1.report.attendance.LSPS-KESOS")
            .await
    );
    assert!(
        lsps.publish_is_refused("kesos.lsps.v1.roster.LSPS-PEKSOS")
            .await
    );
    assert!(
        lsps.publish_is_refused("kesos.scheduling.v1.AssessmentDecided")
            .await
    );
    // Plain subscriptions, to rosters or to the services' reply inboxes, are refused too.
    assert!(
        lsps.subscribe_is_refused("kesos.lsps.v1.roster.LSPS-KESOS")
            .await
    );
    assert!(lsps.subscribe_is_refused("_INBOX.>").await);
}

#[tokio::test]
async fn an_lsps_reads_only_its_own_outcomes_which_only_scheduling_publishes() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    let scheduling = Connection::open(&server, "scheduling").await;
    for lsps in ["LSPS-PEKSOS", "LSPS-KESOS"] {
        assert!(
            scheduling
                .stored(&format!("kesos.lsps.v1.outcome.{lsps}"))
                .await
        );
    }
    let lsps = Connection::open(&server, "LSPS-PEKSOS").await;
    let consumer = roster_consumer(
        &lsps,
        "lsps-LSPS-PEKSOS-outcomes",
        "kesos.lsps.v1.outcome.LSPS-PEKSOS",
    )
    .await
    .unwrap();
    let mut batch = consumer.fetch().max_messages(10).messages().await.unwrap();
    let message = batch.next().await.unwrap().unwrap();
    assert_eq!(
        message.subject.as_str(),
        "kesos.lsps.v1.outcome.LSPS-PEKSOS"
    );
    message.ack().await.unwrap();
    assert!(lsps.violations.lock().unwrap().is_empty());

    for name in ["lsps-LSPS-PEKSOS-outcomes", "lsps-LSPS-KESOS-outcomes"] {
        assert!(
            roster_consumer(&lsps, name, "kesos.lsps.v1.outcome.LSPS-KESOS")
                .await
                .is_err(),
            "LSPS-PEKSOS read LSPS-KESOS's outcomes through {name}"
        );
    }
    for user in ["LSPS-PEKSOS", "enrollment", "certification", "progress"] {
        let connection = Connection::open(&server, user).await;
        assert!(
            connection
                .publish_is_refused("kesos.lsps.v1.outcome.LSPS-PEKSOS")
                .await,
            "{user} published an outcome"
        );
    }
}

#[tokio::test]
async fn nobody_but_an_lsps_may_publish_on_lsps_report_subjects() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    for user in [
        "kesos",
        "enrollment",
        "scheduling",
        "certification",
        "LSPS-KESOS",
    ] {
        let connection = Connection::open(&server, user).await;
        assert!(
            connection
                .publish_is_refused("kesos.lsps.v1.report.result.LSPS-PEKSOS")
                .await,
            "{user} published an LSPS-PEKSOS result"
        );
        assert!(
            connection
                .publish_is_refused("kesos.lsps.v1.report.attendance.LSPS-PEKSOS")
                .await,
            "{user} published LSPS-PEKSOS attendance"
        );
    }
}

#[tokio::test]
async fn each_service_publishes_only_its_own_events() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    let own = [
        ("enrollment", "kesos.enrollment.v1.WorkerRegistered"),
        ("scheduling", "kesos.scheduling.v1.AssessmentDecided"),
        ("certification", "kesos.certification.v1.CertificateIssued"),
    ];
    for (user, subject) in own {
        let connection = Connection::open(&server, user).await;
        assert!(
            connection.stored(subject).await,
            "{user} could not publish {subject}"
        );
        for (other, foreign) in own {
            if other != user {
                assert!(
                    connection.publish_is_refused(foreign).await,
                    "{user} published {foreign}"
                );
            }
        }
    }
    let enrollment = Connection::open(&server, "enrollment").await;
    assert!(
        enrollment
            .publish_is_refused("kesos.lsps.v1.roster.LSPS-PEKSOS")
            .await
    );
}

#[tokio::test]
async fn enrollment_and_certification_cannot_read_the_rosters() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    for user in ["enrollment", "certification"] {
        let connection = Connection::open(&server, user).await;
        assert!(
            roster_consumer(&connection, "snoop", "kesos.lsps.v1.roster.LSPS-PEKSOS")
                .await
                .is_err(),
            "{user} opened a consumer on the rosters"
        );
        assert!(
            connection
                .refused("$JS.API.CONSUMER.CREATE.KESOS_LSPS")
                .await
        );
    }
}

#[tokio::test]
async fn progress_reads_the_events_through_its_own_consumer_and_publishes_nothing() {
    let server = SecuredNats::start();
    let _kesos = prepare(&server).await;
    let enrollment = Connection::open(&server, "enrollment").await;
    assert!(
        enrollment
            .stored("kesos.enrollment.v1.WorkerRegistered")
            .await
    );

    let progress = Connection::open(&server, "progress").await;
    let events = progress.js.get_stream("KESOS").await.unwrap();
    let consumer: jetstream::consumer::PullConsumer = events
        .create_consumer(pull::Config {
            durable_name: Some("progress".to_owned()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.fetch().max_messages(1).messages().await.unwrap();
    let message = messages.next().await.unwrap().unwrap();
    assert_eq!(
        message.subject.as_str(),
        "kesos.enrollment.v1.WorkerRegistered"
    );
    message.double_ack().await.unwrap();

    for subject in [
        "kesos.enrollment.v1.WorkerRegistered",
        "kesos.scheduling.v1.AssessmentDecided",
        "kesos.certification.v1.CertificateIssued",
        "kesos.lsps.v1.roster.LSPS-PEKSOS",
    ] {
        assert!(
            progress.publish_is_refused(subject).await,
            "progress published {subject}"
        );
    }
    assert!(
        events
            .create_consumer(pull::Config {
                durable_name: Some("snoop".to_owned()),
                ..Default::default()
            })
            .await
            .is_err(),
        "progress opened a consumer under another name"
    );
    assert!(
        roster_consumer(&progress, "progress", "kesos.lsps.v1.roster.LSPS-PEKSOS")
            .await
            .is_err(),
        "progress opened a consumer on the rosters"
    );
    assert!(
        progress.js.delete_stream("KESOS").await.is_err(),
        "progress deleted the events stream"
    );
}

#[tokio::test]
async fn only_scheduling_and_certification_ask_who_a_worker_is_and_only_enrollment_answers() {
    const LOOKUP: &str = "kesos_identity.v1.lookup";
    let server = SecuredNats::start();
    let enrollment = Connection::open(&server, "enrollment").await;
    // As kesos answers: in a queue group, so that enrollment's replicas share the lookups.
    let mut requests = enrollment
        .client
        .queue_subscribe(LOOKUP, "enrollment".into())
        .await
        .unwrap();
    let answerer = enrollment.client.clone();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                answerer.publish(reply, "identities".into()).await.unwrap();
            }
        }
    });
    enrollment.client.flush().await.unwrap();
    for user in ["scheduling", "certification"] {
        let asker = Connection::open(&server, user).await;
        let reply = asker.client.request(LOOKUP, "who".into()).await;
        assert!(
            !enrollment.refused(LOOKUP).await,
            "enrollment may answer in its queue group"
        );
        let reply = reply.unwrap();
        assert_eq!(
            &reply.payload[..],
            b"identities",
            "{user} asked and was answered"
        );
        assert!(
            asker.subscribe_is_refused(LOOKUP).await,
            "{user} cannot listen in on others' lookups"
        );
    }
    for user in ["progress", "LSPS-PEKSOS"] {
        let outsider = Connection::open(&server, user).await;
        assert!(
            outsider.publish_is_refused(LOOKUP).await,
            "{user} may not ask who a worker is"
        );
    }
    assert!(
        enrollment.publish_is_refused("_INBOX.someone.else").await,
        "enrollment replies to requests it received, and publishes to no other inbox"
    );
}
