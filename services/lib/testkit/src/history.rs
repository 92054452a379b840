//! A history of the three services' events written straight into a store, the way the
//! services would write them, with business times in the past: the progress tests and the
//! dashboard's browser tests seed the read models with it (imported history, which the HTTP
//! API cannot date in the past).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_proto::kesos::certification::v1 as certification;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use prost::Message;
use time::OffsetDateTime;
use uuid::Uuid;

fn region(code: &str) -> Option<common::RegionRef> {
    Some(common::RegionRef {
        code: code.to_owned(),
        edition: "2025".to_owned(),
    })
}

fn scheme(code: &str) -> Option<common::Scheme> {
    Some(common::Scheme {
        code: code.to_owned(),
        category: "peksos".to_owned(),
        level: "muda".to_owned(),
    })
}

/// The business date of `at` in WIB, as a protobuf date.
fn wib_date(at: OffsetDateTime) -> Option<common::Date> {
    let day = at.to_offset(time::macros::offset!(+7)).date();
    Some(common::Date {
        year: day.year(),
        month: i32::from(u8::from(day.month())),
        day: i32::from(day.day()),
    })
}

/// Writes events the way the services do (one stream per worker here, which is all progress
/// cares about).
pub struct Writer<'a> {
    /// Where the events go.
    pub store: &'a dyn EventStore,
    /// The actor every event names.
    pub actor: String,
}

/// The Peksos category's number.
pub const PEKSOS: i32 = enrollment::WorkerCategory::Peksos as i32;
/// The TKS category's number.
pub const TKS: i32 = enrollment::WorkerCategory::Tks as i32;
/// The role every registered worker here has (pendamping PKH).
pub const PKH: i32 = enrollment::WorkerRole::PendampingPkh as i32;
/// The scheme every nomination and certificate here is in.
pub const SCHEME: &str = "PEKSOS-GENERALIS";

impl<'a> Writer<'a> {
    /// A writer into `store`.
    pub fn new(store: &'a dyn EventStore) -> Self {
        Self {
            store,
            actor: "test:operator".to_owned(),
        }
    }

    async fn put(&self, worker: Uuid, name: &str, payload: Vec<u8>, at: OffsetDateTime) {
        let event = NewEvent::new(
            Uuid::now_v7(),
            EventType::parse(name).unwrap(),
            1,
            payload,
            Metadata {
                correlation_id: format!("corr-{worker}"),
                causation_id: "cmd-test".to_owned(),
                actor: self.actor.clone(),
                trace_parent: String::new(),
            },
            at,
        )
        .unwrap();
        let stream = StreamId::parse(format!("worker-{worker}")).unwrap();
        self.store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await
            .unwrap();
    }

    /// Appends the events of `register` (see the event names below).
    pub async fn register(&self, worker: Uuid, posting: &str, category: i32, at: OffsetDateTime) {
        let e = enrollment::WorkerRegistered {
            worker_id: worker.to_string(),
            posting: region(posting),
            category,
            role: PKH,
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.enrollment.v1.WorkerRegistered",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `move_to` (see the event names below).
    pub async fn move_to(&self, worker: Uuid, from: &str, to: &str, at: OffsetDateTime) {
        let e = enrollment::WorkerPostingMoved {
            worker_id: worker.to_string(),
            from_posting: region(from),
            to_posting: region(to),
        };
        self.put(
            worker,
            "kesos.enrollment.v1.WorkerPostingMoved",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `erase` (see the event names below).
    pub async fn erase(&self, worker: Uuid, at: OffsetDateTime) {
        let e = enrollment::WorkerErased {
            worker_id: worker.to_string(),
            key_id: "k".to_owned(),
            reason: "request of the worker".to_owned(),
            legal_basis: "UU PDP art. 8".to_owned(),
        };
        self.put(
            worker,
            "kesos.enrollment.v1.WorkerErased",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Nominates and returns the nomination id.
    pub async fn nominate(&self, worker: Uuid, at: OffsetDateTime) -> Uuid {
        let nomination = Uuid::now_v7();
        let e = enrollment::NominationSubmitted {
            nomination_id: nomination.to_string(),
            worker_id: worker.to_string(),
            scheme_code: SCHEME.to_owned(),
            period_year: at.year(),
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.enrollment.v1.NominationSubmitted",
            e.encode_to_vec(),
            at,
        )
        .await;
        nomination
    }

    /// Appends the events of `verify` (see the event names below).
    pub async fn verify(&self, worker: Uuid, nomination: Uuid, at: OffsetDateTime) {
        let e = enrollment::NominationVerified {
            nomination_id: nomination.to_string(),
            worker_id: worker.to_string(),
            scheme_code: SCHEME.to_owned(),
            rule_set_version: "2026.1".to_owned(),
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.enrollment.v1.NominationVerified",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `reject` (see the event names below).
    pub async fn reject(&self, worker: Uuid, nomination: Uuid, at: OffsetDateTime) {
        let e = enrollment::NominationRejected {
            nomination_id: nomination.to_string(),
            worker_id: worker.to_string(),
            failures: vec![enrollment::RuleFailure {
                rule_id: "PEKSOS-GENERALIS.utama.min_practice_months".to_owned(),
                message: "needs 24 months of practice".to_owned(),
            }],
            rule_set_version: "2026.1".to_owned(),
        };
        self.put(
            worker,
            "kesos.enrollment.v1.NominationRejected",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `seat` (see the event names below).
    pub async fn seat(&self, worker: Uuid, nomination: Uuid, at: OffsetDateTime) {
        let e = scheduling::CandidateSeated {
            session_id: Uuid::nil().to_string(),
            candidate_id: nomination.to_string(),
            worker_id: worker.to_string(),
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.scheduling.v1.CandidateSeated",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `decide` (see the event names below).
    pub async fn decide(&self, worker: Uuid, kompeten: bool, posting: &str, at: OffsetDateTime) {
        let decision = if kompeten {
            common::AssessmentDecision::Kompeten
        } else {
            common::AssessmentDecision::BelumKompeten
        };
        let e = scheduling::AssessmentDecided {
            session_id: Uuid::nil().to_string(),
            candidate_id: Uuid::nil().to_string(),
            worker_id: worker.to_string(),
            scheme: scheme(SCHEME),
            decision: decision as i32,
            lsps_id: "LSPS-PEKSOS".to_owned(),
            attempt: 1,
            region: region(posting),
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.scheduling.v1.AssessmentDecided",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Issues a certificate and returns its id.
    pub async fn issue(
        &self,
        worker: Uuid,
        posting: &str,
        supersedes: Option<Uuid>,
        at: OffsetDateTime,
    ) -> Uuid {
        let certificate = Uuid::now_v7();
        let e = certification::CertificateIssued {
            certificate_id: certificate.to_string(),
            number: "KSS-PSG-2026-000001-K".to_owned(),
            worker_id: worker.to_string(),
            scheme: scheme(SCHEME),
            lsps_id: "LSPS-PEKSOS".to_owned(),
            supersedes_certificate_id: supersedes.map(|s| s.to_string()).unwrap_or_default(),
            region: region(posting),
            ..Default::default()
        };
        self.put(
            worker,
            "kesos.certification.v1.CertificateIssued",
            e.encode_to_vec(),
            at,
        )
        .await;
        if let Some(old) = supersedes {
            let e = certification::CertificateSuperseded {
                certificate_id: old.to_string(),
                worker_id: worker.to_string(),
                superseded_by_certificate_id: certificate.to_string(),
            };
            self.put(
                worker,
                "kesos.certification.v1.CertificateSuperseded",
                e.encode_to_vec(),
                at,
            )
            .await;
        }
        certificate
    }

    /// Appends the events of `suspend` (see the event names below).
    pub async fn suspend(&self, worker: Uuid, certificate: Uuid, at: OffsetDateTime) {
        let e = certification::CertificateSuspended {
            certificate_id: certificate.to_string(),
            worker_id: worker.to_string(),
            reason: "under criminal investigation".to_owned(),
        };
        self.put(
            worker,
            "kesos.certification.v1.CertificateSuspended",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `revoke` (see the event names below).
    pub async fn revoke(&self, worker: Uuid, certificate: Uuid, at: OffsetDateTime) {
        let e = certification::CertificateRevoked {
            certificate_id: certificate.to_string(),
            worker_id: worker.to_string(),
            reason: certification::RevocationReason::EthicsBreach as i32,
            reason_text: "breach of the code of ethics".to_owned(),
        };
        self.put(
            worker,
            "kesos.certification.v1.CertificateRevoked",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `expire` (see the event names below).
    pub async fn expire(&self, worker: Uuid, certificate: Uuid, at: OffsetDateTime) {
        let e = certification::CertificateExpired {
            certificate_id: certificate.to_string(),
            worker_id: worker.to_string(),
            valid_until: None,
        };
        self.put(
            worker,
            "kesos.certification.v1.CertificateExpired",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends the events of `target` (see the event names below).
    pub async fn target(
        &self,
        year: i32,
        region_code: &str,
        category: i32,
        count: u32,
        at: OffsetDateTime,
    ) {
        let e = enrollment::TargetSet {
            year,
            region: region(region_code),
            category,
            target_count: count,
            ..Default::default()
        };
        self.put(
            Uuid::nil(),
            "kesos.enrollment.v1.TargetSet",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends a total target across all categories, in force from the business date of
    /// `at` in WIB (what enrollment writes for `POST /v1/targets` without a category).
    pub async fn total_target(&self, year: i32, region_code: &str, count: u32, at: OffsetDateTime) {
        let e = enrollment::TargetSet {
            year,
            region: region(region_code),
            target_count: count,
            all_categories: true,
            in_force_from: wib_date(at),
            ..Default::default()
        };
        self.put(
            Uuid::nil(),
            "kesos.enrollment.v1.TargetSet",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends a departure on the business date of `at` in WIB.
    pub async fn depart(&self, worker: Uuid, at: OffsetDateTime) {
        let e = enrollment::WorkerDeparted {
            worker_id: worker.to_string(),
            reason: enrollment::DepartureReason::Resigned as i32,
            departed_on: wib_date(at),
            note: String::new(),
        };
        self.put(
            worker,
            "kesos.enrollment.v1.WorkerDeparted",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// Appends a return on the business date of `at` in WIB.
    pub async fn come_back(&self, worker: Uuid, at: OffsetDateTime) {
        let e = enrollment::WorkerReturned {
            worker_id: worker.to_string(),
            returned_on: wib_date(at),
        };
        self.put(
            worker,
            "kesos.enrollment.v1.WorkerReturned",
            e.encode_to_vec(),
            at,
        )
        .await;
    }

    /// The whole way from registration to a valid certificate.
    pub async fn certify(
        &self,
        worker: Uuid,
        posting: &str,
        category: i32,
        at: OffsetDateTime,
    ) -> Uuid {
        self.register(worker, posting, category, at).await;
        let nomination = self.nominate(worker, at).await;
        self.verify(worker, nomination, at).await;
        self.seat(worker, nomination, at).await;
        self.decide(worker, true, posting, at).await;
        self.issue(worker, posting, None, at).await
    }
}
