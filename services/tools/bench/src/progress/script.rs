//! One worker's life in the generated history, drawn when they register and told one event at
//! a time: registered in a kabupaten/kota, their record kept up to date (qualifications,
//! employment status, role; some move), nominated (one in ten rejected), verified, queued,
//! seated, assessed (four in five Kompeten), certified; some certificates are suspended or
//! expire three years on. Steps are one to ninety days apart.
//!
//! A script holds only the dates and kinds of the steps still to come, not their events, so
//! the history can hold every worker whose life is under way (about a year and a half's
//! registrations) without holding millions of events.

use std::collections::VecDeque;

use kesos_eventstore::{EventType, Metadata, NewEvent, StreamId};
use kesos_proto::kesos::certification::v1 as certification;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use prost::Message;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::workload::Random;

/// The schemes workers are nominated for, with their category.
const SCHEMES: [(&str, i32); 4] = [
    ("PEKSOS-GENERALIS", 1),
    ("TKS-GENERALIS", 2),
    ("PENYULUH-SOSIAL", 3),
    ("RELAWAN-SOSIAL", 4),
];

/// What happens at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Registered,
    QualificationsUpdated,
    EmploymentStatusChanged,
    RoleChanged,
    PostingMoved,
    NominationSubmitted,
    NominationRejected,
    NominationVerified,
    CandidateQueued,
    CandidateSeated,
    AttendanceRecorded,
    AssessmentDecided { kompeten: bool },
    CertificateIssued,
    CertificateSuspended,
    CertificateExpired,
}

/// A worker's drawn life and how much of it has been told.
#[derive(Debug)]
pub(crate) struct Script {
    stream: StreamId,
    worker: String,
    place: usize,
    moved_to: usize,
    scheme: usize,
    role: i32,
    nomination: String,
    session: String,
    certificate: String,
    steps: VecDeque<(OffsetDateTime, Step)>,
    told: u64,
}

impl Script {
    /// Draws the life of a worker who registers at `registered` in one of `places` (their
    /// count).
    pub(crate) fn draw(
        random: &mut Random,
        places: usize,
        registered: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let worker = Uuid::now_v7();
        let mut at = registered;
        let mut later = |random: &mut Random| {
            at += Duration::days(1 + random.below(90) as i64);
            at
        };
        let place = random.below(places as u64) as usize;
        let scheme = random.below(4) as usize;
        let role = 1 + random.below(13) as i32;
        let mut steps = VecDeque::with_capacity(14);
        steps.push_back((registered, Step::Registered));
        steps.push_back((later(random), Step::QualificationsUpdated));
        if random.below(2) == 0 {
            steps.push_back((later(random), Step::EmploymentStatusChanged));
        }
        if random.below(10) < 4 {
            steps.push_back((later(random), Step::RoleChanged));
        }
        let mut moved_to = place;
        if random.below(10) < 3 {
            moved_to = random.below(places as u64) as usize;
            steps.push_back((later(random), Step::PostingMoved));
        }
        steps.push_back((later(random), Step::NominationSubmitted));
        if random.below(10) == 0 {
            steps.push_back((later(random), Step::NominationRejected));
        } else {
            let verified = later(random);
            steps.push_back((verified, Step::NominationVerified));
            steps.push_back((verified, Step::CandidateQueued));
            steps.push_back((later(random), Step::CandidateSeated));
            let attended = later(random);
            steps.push_back((attended, Step::AttendanceRecorded));
            let kompeten = random.below(5) != 0;
            steps.push_back((attended, Step::AssessmentDecided { kompeten }));
            if kompeten {
                let issued = later(random);
                steps.push_back((issued, Step::CertificateIssued));
                match random.below(20) {
                    0 => steps.push_back((later(random), Step::CertificateSuspended)),
                    1..=3 => {
                        steps.push_back((issued + Duration::days(1_095), Step::CertificateExpired))
                    }
                    _ => {}
                }
            }
        }
        Ok(Self {
            stream: StreamId::parse(format!("worker-{worker}"))?,
            worker: worker.to_string(),
            place,
            moved_to,
            scheme,
            role,
            nomination: Uuid::now_v7().to_string(),
            session: Uuid::now_v7().to_string(),
            certificate: Uuid::now_v7().to_string(),
            steps,
            told: 0,
        })
    }

    /// When the next step happens; `None` once the life is told.
    pub(crate) fn next_at(&self) -> Option<OffsetDateTime> {
        self.steps.front().map(|(at, _)| *at)
    }

    /// The worker's stream.
    pub(crate) fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// Events told so far: the stream's version before the next one.
    pub(crate) fn told(&self) -> u64 {
        self.told
    }

    /// Tells the next step as an event, dated when it happened; `places` are the kabupaten/kota
    /// codes the script's places index.
    pub(crate) fn tell(&mut self, places: &[String]) -> anyhow::Result<Option<NewEvent>> {
        let Some((at, step)) = self.steps.pop_front() else {
            return Ok(None);
        };
        self.told += 1;
        let place = &places[self.place % places.len()];
        let posting = format!("{place}.01");
        let (scheme_code, category) = SCHEMES[self.scheme];
        let worker_id = self.worker.clone();
        let nomination = || self.nomination.clone();
        let certificate_id = self.certificate.clone();
        let (name, payload) = match step {
            Step::Registered => (
                "kesos.enrollment.v1.WorkerRegistered",
                enrollment::WorkerRegistered {
                    worker_id,
                    posting: region(&posting),
                    category,
                    role: self.role,
                    employment_status: 3,
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            Step::QualificationsUpdated => (
                "kesos.enrollment.v1.WorkerQualificationsUpdated",
                enrollment::WorkerQualificationsUpdated {
                    worker_id,
                    qualifications: None,
                }
                .encode_to_vec(),
            ),
            Step::EmploymentStatusChanged => (
                "kesos.enrollment.v1.WorkerEmploymentStatusChanged",
                enrollment::WorkerEmploymentStatusChanged {
                    worker_id,
                    from_status: 3,
                    to_status: 2,
                }
                .encode_to_vec(),
            ),
            Step::RoleChanged => (
                "kesos.enrollment.v1.WorkerRoleChanged",
                enrollment::WorkerRoleChanged {
                    worker_id,
                    from_role: self.role,
                    to_role: 1 + (self.role % 13),
                }
                .encode_to_vec(),
            ),
            Step::PostingMoved => (
                "kesos.enrollment.v1.WorkerPostingMoved",
                enrollment::WorkerPostingMoved {
                    worker_id,
                    from_posting: region(&posting),
                    to_posting: region(&format!("{}.02", places[self.moved_to % places.len()])),
                }
                .encode_to_vec(),
            ),
            Step::NominationSubmitted => (
                "kesos.enrollment.v1.NominationSubmitted",
                enrollment::NominationSubmitted {
                    nomination_id: nomination(),
                    worker_id,
                    scheme_code: scheme_code.to_owned(),
                    period_year: at.year(),
                    recommending_office: region(place),
                    portfolio_ref: String::new(),
                    portfolio: None,
                }
                .encode_to_vec(),
            ),
            Step::NominationRejected => (
                "kesos.enrollment.v1.NominationRejected",
                enrollment::NominationRejected {
                    nomination_id: nomination(),
                    worker_id,
                    failures: vec![],
                    rule_set_version: "2026.1".to_owned(),
                }
                .encode_to_vec(),
            ),
            Step::NominationVerified => (
                "kesos.enrollment.v1.NominationVerified",
                enrollment::NominationVerified {
                    nomination_id: nomination(),
                    worker_id,
                    scheme_code: scheme_code.to_owned(),
                    region: region(place),
                    rule_set_version: "2026.1".to_owned(),
                }
                .encode_to_vec(),
            ),
            Step::CandidateQueued => (
                "kesos.scheduling.v1.CandidateQueued",
                scheduling::CandidateQueued {
                    candidate_id: nomination(),
                    nomination_id: nomination(),
                    worker_id,
                    scheme: scheme(scheme_code),
                    region: region(place),
                    verified_at: None,
                }
                .encode_to_vec(),
            ),
            Step::CandidateSeated => (
                "kesos.scheduling.v1.CandidateSeated",
                scheduling::CandidateSeated {
                    session_id: self.session.clone(),
                    candidate_id: nomination(),
                    worker_id,
                    auto_allocated: true,
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            Step::AttendanceRecorded => (
                "kesos.scheduling.v1.AttendanceRecorded",
                scheduling::AttendanceRecorded {
                    session_id: self.session.clone(),
                    candidate_id: nomination(),
                    worker_id,
                    attendance: 1,
                    attempt: 1,
                }
                .encode_to_vec(),
            ),
            Step::AssessmentDecided { kompeten } => (
                "kesos.scheduling.v1.AssessmentDecided",
                scheduling::AssessmentDecided {
                    session_id: self.session.clone(),
                    candidate_id: nomination(),
                    worker_id,
                    scheme: scheme(scheme_code),
                    decision: if kompeten { 1 } else { 2 },
                    lsps_id: "LSPS-PEKSOS".to_owned(),
                    attempt: 1,
                    region: region(place),
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            Step::CertificateIssued => (
                "kesos.certification.v1.CertificateIssued",
                certification::CertificateIssued {
                    certificate_id,
                    number: "KSS-BENCH".to_owned(),
                    worker_id,
                    scheme: scheme(scheme_code),
                    lsps_id: "LSPS-PEKSOS".to_owned(),
                    region: region(place),
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            Step::CertificateSuspended => (
                "kesos.certification.v1.CertificateSuspended",
                certification::CertificateSuspended {
                    certificate_id,
                    worker_id,
                    reason: "investigation".to_owned(),
                }
                .encode_to_vec(),
            ),
            Step::CertificateExpired => (
                "kesos.certification.v1.CertificateExpired",
                certification::CertificateExpired {
                    certificate_id,
                    worker_id,
                    valid_until: None,
                }
                .encode_to_vec(),
            ),
        };
        Ok(Some(event(name, payload, at)?))
    }
}

/// A region reference of the 2025 edition.
pub(crate) fn region(code: &str) -> Option<common::RegionRef> {
    Some(common::RegionRef {
        code: code.to_owned(),
        edition: "2025".to_owned(),
    })
}

fn scheme(code: &str) -> Option<common::Scheme> {
    Some(common::Scheme {
        code: code.to_owned(),
        category: "peksos".to_owned(),
        level: "Generalis".to_owned(),
    })
}

/// An event of the generated history, dated `at`.
pub(crate) fn event(name: &str, payload: Vec<u8>, at: OffsetDateTime) -> anyhow::Result<NewEvent> {
    Ok(NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(name)?,
        1,
        payload,
        Metadata {
            correlation_id: "bench-history".to_owned(),
            causation_id: "bench".to_owned(),
            actor: "system:bench".to_owned(),
            trace_parent: String::new(),
        },
        at,
    )?)
}
