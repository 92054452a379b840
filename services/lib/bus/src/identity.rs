//! Who a worker is, across the service boundary. Enrollment holds the workers' data keys; a
//! service that needs a name or a NIK (scheduling for an LSPS roster, certification for a
//! certificate's holder) asks for it rather than reading enrollment's tables. In one process
//! (the embedded mode, or an all-in-one process) the asking is a call; between processes it is
//! a NATS request on `<prefix>_identity.v1.lookup`, which enrollment's processes answer as one
//! queue group. Requests and replies are never stored in a stream, and the NATS accounts say
//! who may ask (scheduling, certification) and who answers (enrollment).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use kesos_proto::kesos::enrollment::v1 as wire;
use prost::Message;
use uuid::Uuid;

use crate::error::BusError;

/// Most workers one request names: a roster or a batch of holders fits, and a reply stays far
/// under NATS' default message size.
pub const LOOKUP_LIMIT: usize = 1_000;

/// How long an asker waits for enrollment's reply before reporting it away.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue group enrollment's processes answer in, so that replicas share the requests.
const ANSWERERS: &str = "enrollment";

/// A worker's identity as the services that need one use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Full name, as on the identity card.
    pub full_name: String,
    /// NIK.
    pub nik: String,
}

/// Where identities come from. A worker who is unknown or whose data was erased is simply
/// absent from the answer; an error means none could be read now (the asker retries later).
#[async_trait]
pub trait Identities: Send + Sync {
    /// The identities of `workers` that can still be read.
    async fn identities(&self, workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String>;
}

/// The subject identity lookups travel on, under the deployment's subject prefix.
pub fn lookup_subject(prefix: &str) -> String {
    format!("{prefix}_identity.v1.lookup")
}

/// Identities asked of enrollment over NATS.
#[derive(Clone)]
pub struct NatsIdentities {
    client: async_nats::Client,
    subject: String,
}

impl NatsIdentities {
    /// Asks on `client`, under the subject prefix `prefix`.
    pub fn new(client: async_nats::Client, prefix: &str) -> Self {
        Self {
            client,
            subject: lookup_subject(prefix),
        }
    }

    async fn ask(&self, workers: &[Uuid]) -> Result<Vec<wire::WorkerIdentity>, String> {
        let request = wire::IdentityLookup {
            worker_ids: workers.iter().map(Uuid::to_string).collect(),
        };
        let asked = self
            .client
            .request(self.subject.clone(), request.encode_to_vec().into());
        let reply = tokio::time::timeout(LOOKUP_TIMEOUT, asked)
            .await
            .map_err(|_| {
                format!(
                    "enrollment did not answer an identity lookup within {} s",
                    LOOKUP_TIMEOUT.as_secs()
                )
            })?
            .map_err(|error| format!("identity lookup on {}: {error}", self.subject))?;
        let reply = wire::IdentityLookupReply::decode(reply.payload)
            .map_err(|error| format!("enrollment's identity reply does not decode: {error}"))?;
        if !reply.error.is_empty() {
            return Err(format!(
                "enrollment could not look identities up: {}",
                reply.error
            ));
        }
        Ok(reply.identities)
    }
}

#[async_trait]
impl Identities for NatsIdentities {
    async fn identities(&self, workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String> {
        let mut found = HashMap::with_capacity(workers.len());
        for chunk in workers.chunks(LOOKUP_LIMIT) {
            for identity in self.ask(chunk).await? {
                let worker = Uuid::parse_str(&identity.worker_id).map_err(|error| {
                    format!("enrollment answered for a worker id that is not one: {error}")
                })?;
                found.insert(
                    worker,
                    Identity {
                        full_name: identity.full_name,
                        nik: identity.nik,
                    },
                );
            }
        }
        Ok(found)
    }
}

/// Reads a lookup request into the workers it names, or says why it is refused.
fn workers_of(payload: &[u8]) -> Result<Vec<Uuid>, String> {
    let request = wire::IdentityLookup::decode(payload)
        .map_err(|error| format!("the request does not decode: {error}"))?;
    if request.worker_ids.len() > LOOKUP_LIMIT {
        return Err(format!(
            "{} workers asked; at most {LOOKUP_LIMIT} per request",
            request.worker_ids.len()
        ));
    }
    request
        .worker_ids
        .iter()
        .map(|id| Uuid::parse_str(id).map_err(|_| format!("worker_ids: {id:?} is not a UUID")))
        .collect()
}

/// The reply to one request's payload.
async fn answer(source: &dyn Identities, payload: &[u8]) -> wire::IdentityLookupReply {
    let looked_up = match workers_of(payload) {
        Ok(workers) => source.identities(&workers).await,
        Err(refused) => Err(refused),
    };
    match looked_up {
        Ok(found) => wire::IdentityLookupReply {
            identities: found
                .into_iter()
                .map(|(worker, identity)| wire::WorkerIdentity {
                    worker_id: worker.to_string(),
                    full_name: identity.full_name,
                    nik: identity.nik,
                })
                .collect(),
            error: String::new(),
        },
        Err(error) => wire::IdentityLookupReply {
            identities: Vec::new(),
            error,
        },
    }
}

/// Answers identity lookups on `client` from `source` (enrollment) until `shutdown`
/// completes; a request without a reply subject is dropped. Fails only when the subscription
/// cannot be made or ends (NATS gone for good): the caller subscribes again.
pub async fn answer_lookups(
    client: async_nats::Client,
    prefix: &str,
    source: Arc<dyn Identities>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    let subject = lookup_subject(prefix);
    let mut requests = client
        .queue_subscribe(subject.clone(), ANSWERERS.to_owned())
        .await
        .map_err(BusError::nats)?;
    tokio::pin!(shutdown);
    loop {
        let request = tokio::select! {
            () = &mut shutdown => return Ok(()),
            request = requests.next() => request,
        };
        let Some(request) = request else {
            return Err(BusError::Nats(format!(
                "the subscription to {subject} ended"
            )));
        };
        let Some(reply_to) = request.reply else {
            tracing::debug!("an identity lookup without a reply subject was dropped");
            continue;
        };
        let reply = answer(&*source, &request.payload).await;
        if !reply.error.is_empty() {
            tracing::warn!(error = %reply.error, "an identity lookup was not answered");
        }
        if let Err(error) = client.publish(reply_to, reply.encode_to_vec().into()).await {
            tracing::warn!(%error, "an identity reply could not be sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_naming_too_many_workers_or_a_bad_id_is_refused_with_the_rule() {
        let many = wire::IdentityLookup {
            worker_ids: vec![Uuid::nil().to_string(); LOOKUP_LIMIT + 1],
        };
        let refused = workers_of(&many.encode_to_vec()).unwrap_err();
        assert!(refused.contains("at most 1000"), "{refused}");
        let bad = wire::IdentityLookup {
            worker_ids: vec!["not-a-uuid".into()],
        };
        let refused = workers_of(&bad.encode_to_vec()).unwrap_err();
        assert!(
            refused.contains("worker_ids") && refused.contains("not a UUID"),
            "{refused}"
        );
        assert!(
            workers_of(&[0xff, 0xff]).is_err(),
            "garbage does not decode"
        );
    }
}
