//! Identity lookups over a real NATS server: what enrollment's answerer knows reaches the
//! asker, an unknown or erased worker is absent, a large request is split under the limit,
//! and an answerer that cannot read says so (the asker gets an error to retry on, not an empty
//! roster).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use kesos_bus::identity::LOOKUP_LIMIT;
use kesos_bus::{Identities, Identity, NatsIdentities, answer_lookups};
use kesos_testkit::{nats_url, unique_name};
use tokio::sync::oneshot;
use uuid::Uuid;

/// Knows the workers of `known`; counts the requests; fails when `broken`.
struct Directory {
    known: HashMap<Uuid, Identity>,
    requests: AtomicUsize,
    broken: bool,
}

#[async_trait]
impl Identities for Directory {
    async fn identities(&self, workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        assert!(
            workers.len() <= LOOKUP_LIMIT,
            "{} asked at once",
            workers.len()
        );
        if self.broken {
            return Err("the vault is away".into());
        }
        Ok(workers
            .iter()
            .filter_map(|w| self.known.get(w).map(|i| (*w, i.clone())))
            .collect())
    }
}

async fn answering(directory: Arc<Directory>, prefix: &str) -> oneshot::Sender<()> {
    let client = async_nats::connect(nats_url()).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let prefix = prefix.to_owned();
    tokio::spawn(async move {
        answer_lookups(client, &prefix, directory, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    // The subscription is made once the task runs; give it a moment on a busy machine.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop
}

#[tokio::test]
async fn an_asker_gets_the_identities_enrollment_can_read_and_no_others() {
    let prefix = unique_name("who");
    let known: HashMap<Uuid, Identity> = (0..LOOKUP_LIMIT + 5)
        .map(|i| {
            let identity = Identity {
                full_name: format!("Siti Aminah {i}"),
                nik: format!("{:016}", 3_277_000_000_000_000_u64 + i as u64),
            };
            (Uuid::now_v7(), identity)
        })
        .collect();
    let directory = Arc::new(Directory {
        known: known.clone(),
        requests: AtomicUsize::new(0),
        broken: false,
    });
    let _stop = answering(directory.clone(), &prefix).await;
    let asker = NatsIdentities::new(async_nats::connect(nats_url()).await.unwrap(), &prefix);

    let erased = Uuid::now_v7();
    let mut asked: Vec<Uuid> = known.keys().copied().collect();
    asked.push(erased);
    let found = asker.identities(&asked).await.unwrap();

    assert_eq!(
        found, known,
        "every readable identity, the erased worker absent"
    );
    assert_eq!(
        directory.requests.load(Ordering::SeqCst),
        2,
        "split under the limit"
    );
}

#[tokio::test]
async fn an_answerer_that_cannot_read_makes_the_asker_fail_rather_than_see_nobody() {
    let prefix = unique_name("who");
    let directory = Arc::new(Directory {
        known: HashMap::new(),
        requests: AtomicUsize::new(0),
        broken: true,
    });
    let _stop = answering(directory, &prefix).await;
    let asker = NatsIdentities::new(async_nats::connect(nats_url()).await.unwrap(), &prefix);

    let failed = asker.identities(&[Uuid::now_v7()]).await.unwrap_err();

    assert!(failed.contains("the vault is away"), "{failed}");
}

#[tokio::test]
async fn with_no_answerer_the_asker_fails_with_a_reason() {
    let asker = NatsIdentities::new(
        async_nats::connect(nats_url()).await.unwrap(),
        &unique_name("nobody"),
    );

    let failed = asker.identities(&[Uuid::now_v7()]).await.unwrap_err();

    assert!(failed.contains("identity lookup"), "{failed}");
}
