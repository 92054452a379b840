//! Workers' identities across the service boundary (see `kesos_bus::identity`): enrollment's
//! answer, read with each worker's data key; the choice between asking it in this process and
//! asking it over NATS; and scheduling's roster names on top of either.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use kesos_bus::{Identities, Identity, NatsIdentities};
use kesos_enrollment::service::{Enrollment, EnrollmentError};
use kesos_runtime::{Config, Service};
use kesos_scheduling::domain::WorkerId;
use kesos_scheduling::lsps::roster::{self, RosterNames};
use uuid::Uuid;

/// Identities read by enrollment in this process: each worker's NIK and name, opened with the
/// worker's key (an unknown or erased worker is absent).
pub struct EnrollmentIdentities(pub Enrollment);

#[async_trait]
impl Identities for EnrollmentIdentities {
    async fn identities(&self, workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String> {
        let mut found = HashMap::new();
        for worker in workers {
            let view = match self
                .0
                .view(kesos_enrollment::domain::WorkerId(*worker))
                .await
            {
                Ok(view) => view,
                Err(EnrollmentError::WorkerNotFound(_)) => continue,
                Err(error) => return Err(error.to_string()),
            };
            if let (Some(full_name), Some(nik)) = (view.full_name, view.nik) {
                found.insert(*worker, Identity { full_name, nik });
            }
        }
        Ok(found)
    }
}

/// Where this process asks for identities: enrollment itself when the process runs it, or
/// enrollment's processes over NATS (`None` when it runs neither enrollment nor NATS, which
/// the embedded mode never is: it runs every service).
pub fn source(
    config: &Config,
    enrollment: &Enrollment,
    nats: Option<&async_nats::Client>,
) -> Option<Arc<dyn Identities>> {
    if config.services.runs(Service::Enrollment) {
        return Some(Arc::new(EnrollmentIdentities(enrollment.clone())));
    }
    nats.map(|client| {
        Arc::new(NatsIdentities::new(
            client.clone(),
            &config.nats_subject_prefix,
        )) as Arc<dyn Identities>
    })
}

/// The identity source of a process that runs neither enrollment nor NATS (a tool's process,
/// never a serving one): every lookup says so, and callers show names as unavailable.
pub struct NobodyToAsk;

#[async_trait]
impl Identities for NobodyToAsk {
    async fn identities(&self, _workers: &[Uuid]) -> Result<HashMap<Uuid, Identity>, String> {
        Err("this process runs neither enrollment nor NATS: nobody to ask who a worker is".into())
    }
}

/// Scheduling's roster names, from an identity source.
pub struct RosterIdentities(pub Arc<dyn Identities>);

#[async_trait]
impl RosterNames for RosterIdentities {
    async fn identities(
        &self,
        workers: &[WorkerId],
    ) -> Result<HashMap<WorkerId, roster::Identity>, String> {
        let asked: Vec<Uuid> = workers.iter().map(|worker| worker.0).collect();
        Ok(self
            .0
            .identities(&asked)
            .await?
            .into_iter()
            .map(|(worker, identity)| {
                let identity = roster::Identity {
                    full_name: identity.full_name,
                    nik: identity.nik,
                };
                (WorkerId(worker), identity)
            })
            .collect())
    }
}
