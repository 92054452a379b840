//! A realistic national history for the progress bench: workers registered over a decade
//! across every kabupaten/kota, nominated, verified, queued, seated, assessed (four in five
//! Kompeten), certified; some move, change role, are suspended or see their certificate
//! expire; their records are updated (qualifications, employment status, role); yearly
//! targets per kabupaten/kota. About ten events per worker, written by bulk
//! appends (one stream per worker) from two tasks.

use std::sync::Arc;

use kesos_eventstore::{
    BulkAppend, Claims, EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId,
};
use kesos_proto::kesos::certification::v1 as certification;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use kesos_regions::{Level, Regions};
use prost::Message;
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

use crate::workload::Random;

/// Workers per bulk append.
const WORKERS_PER_APPEND: usize = 400;
/// Concurrent writers.
const WRITERS: usize = 2;

/// Writes the history of `workers` workers; answers the number of events written.
pub(crate) async fn write(store: Arc<dyn EventStore>, workers: usize) -> anyhow::Result<u64> {
    let places: Arc<Vec<String>> = Arc::new(
        Regions::embedded()
            .iter()
            .filter(|r| r.level() == Level::KabupatenKota)
            .map(|r| r.code().as_str().to_owned())
            .collect(),
    );
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        let places = places.clone();
        tasks.push(tokio::spawn(async move {
            let mut random = Random::seeded(0x6b65_736f_7300 + writer as u64);
            let mut written = 0_u64;
            let mut batch = Vec::with_capacity(WORKERS_PER_APPEND);
            let mine = (writer..workers).step_by(WRITERS);
            let total = mine.clone().count();
            for (done, _) in mine.enumerate() {
                let events = worker_history(&mut random, &places)?;
                written += events.len() as u64;
                batch.push(BulkAppend {
                    stream: StreamId::parse(format!("worker-{}", Uuid::now_v7()))?,
                    expected: ExpectedVersion::NoStream,
                    events,
                    claims: Claims::default(),
                });
                if batch.len() == WORKERS_PER_APPEND || done + 1 == total {
                    for outcome in store.append_bulk(std::mem::take(&mut batch)).await {
                        outcome?;
                    }
                }
            }
            anyhow::Ok(written)
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await??;
    }
    written += targets(store.as_ref(), &places).await?;
    Ok(written)
}

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
        level: "Generalis".to_owned(),
    })
}

fn event(name: &str, payload: Vec<u8>, at: OffsetDateTime) -> anyhow::Result<NewEvent> {
    Ok(NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(name)?,
        1,
        payload,
        Metadata {
            correlation_id: "bench-history".to_owned(),
            causation_id: "bench".to_owned(),
            actor: "system:bench".to_owned(),
        },
        at,
    )?)
}

const SCHEMES: [(&str, i32); 4] = [
    ("PEKSOS-GENERALIS", 1),
    ("TKS-GENERALIS", 2),
    ("PENYULUH-SOSIAL", 3),
    ("RELAWAN-SOSIAL", 4),
];

/// Moves `at` one to ninety days on and answers it.
fn later(at: &mut OffsetDateTime, random: &mut Random) -> OffsetDateTime {
    *at += Duration::days(1 + random.below(90) as i64);
    *at
}

fn worker_history(random: &mut Random, places: &[String]) -> anyhow::Result<Vec<NewEvent>> {
    let worker = Uuid::now_v7().to_string();
    let place = &places[random.below(places.len() as u64) as usize];
    let posting = format!("{place}.01");
    let (scheme_code, category) = SCHEMES[random.below(4) as usize];
    let role = 1 + random.below(13) as i32;
    let at = datetime!(2015-01-05 02:00 UTC) + Duration::days(random.below(4_200) as i64);
    let mut at = at;
    let mut events = Vec::with_capacity(12);
    events.push(event(
        "kesos.enrollment.v1.WorkerRegistered",
        enrollment::WorkerRegistered {
            worker_id: worker.clone(),
            posting: region(&posting),
            category,
            role,
            employment_status: 3,
            ..Default::default()
        }
        .encode_to_vec(),
        at,
    )?);
    // The record is kept up to date: qualifications grow, THL become PPPK, roles change.
    events.push(event(
        "kesos.enrollment.v1.WorkerQualificationsUpdated",
        enrollment::WorkerQualificationsUpdated {
            worker_id: worker.clone(),
            qualifications: None,
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    if random.below(2) == 0 {
        events.push(event(
            "kesos.enrollment.v1.WorkerEmploymentStatusChanged",
            enrollment::WorkerEmploymentStatusChanged {
                worker_id: worker.clone(),
                from_status: 3,
                to_status: 2,
            }
            .encode_to_vec(),
            later(&mut at, random),
        )?);
    }
    if random.below(10) < 4 {
        events.push(event(
            "kesos.enrollment.v1.WorkerRoleChanged",
            enrollment::WorkerRoleChanged {
                worker_id: worker.clone(),
                from_role: role,
                to_role: 1 + (role % 13),
            }
            .encode_to_vec(),
            later(&mut at, random),
        )?);
    }
    if random.below(10) < 3 {
        let to = &places[random.below(places.len() as u64) as usize];
        events.push(event(
            "kesos.enrollment.v1.WorkerPostingMoved",
            enrollment::WorkerPostingMoved {
                worker_id: worker.clone(),
                from_posting: region(&posting),
                to_posting: region(&format!("{to}.02")),
            }
            .encode_to_vec(),
            later(&mut at, random),
        )?);
    }
    let nomination = Uuid::now_v7().to_string();
    events.push(event(
        "kesos.enrollment.v1.NominationSubmitted",
        enrollment::NominationSubmitted {
            nomination_id: nomination.clone(),
            worker_id: worker.clone(),
            scheme_code: scheme_code.to_owned(),
            period_year: at.year(),
            recommending_office: region(place),
            portfolio_ref: "bench".to_owned(),
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    if random.below(10) == 0 {
        events.push(event(
            "kesos.enrollment.v1.NominationRejected",
            enrollment::NominationRejected {
                nomination_id: nomination,
                worker_id: worker,
                failures: vec![],
                rule_set_version: "2026.1".to_owned(),
            }
            .encode_to_vec(),
            later(&mut at, random),
        )?);
        return Ok(events);
    }
    events.push(event(
        "kesos.enrollment.v1.NominationVerified",
        enrollment::NominationVerified {
            nomination_id: nomination.clone(),
            worker_id: worker.clone(),
            scheme_code: scheme_code.to_owned(),
            region: region(place),
            rule_set_version: "2026.1".to_owned(),
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    events.push(event(
        "kesos.scheduling.v1.CandidateQueued",
        scheduling::CandidateQueued {
            candidate_id: nomination.clone(),
            nomination_id: nomination.clone(),
            worker_id: worker.clone(),
            scheme: scheme(scheme_code),
            region: region(place),
            verified_at: None,
        }
        .encode_to_vec(),
        at,
    )?);
    let session = Uuid::now_v7().to_string();
    events.push(event(
        "kesos.scheduling.v1.CandidateSeated",
        scheduling::CandidateSeated {
            session_id: session.clone(),
            candidate_id: nomination.clone(),
            worker_id: worker.clone(),
            auto_allocated: true,
            ..Default::default()
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    events.push(event(
        "kesos.scheduling.v1.AttendanceRecorded",
        scheduling::AttendanceRecorded {
            session_id: session.clone(),
            candidate_id: nomination.clone(),
            worker_id: worker.clone(),
            attendance: 1,
            attempt: 1,
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    let kompeten = random.below(5) != 0;
    events.push(event(
        "kesos.scheduling.v1.AssessmentDecided",
        scheduling::AssessmentDecided {
            session_id: session,
            candidate_id: nomination,
            worker_id: worker.clone(),
            scheme: scheme(scheme_code),
            decision: if kompeten { 1 } else { 2 },
            lsps_id: "LSPS-PEKSOS".to_owned(),
            attempt: 1,
            region: region(place),
            ..Default::default()
        }
        .encode_to_vec(),
        at,
    )?);
    if !kompeten {
        return Ok(events);
    }
    let certificate = Uuid::now_v7().to_string();
    events.push(event(
        "kesos.certification.v1.CertificateIssued",
        certification::CertificateIssued {
            certificate_id: certificate.clone(),
            number: "KSS-BENCH".to_owned(),
            worker_id: worker.clone(),
            scheme: scheme(scheme_code),
            lsps_id: "LSPS-PEKSOS".to_owned(),
            region: region(place),
            ..Default::default()
        }
        .encode_to_vec(),
        later(&mut at, random),
    )?);
    match random.below(20) {
        0 => events.push(event(
            "kesos.certification.v1.CertificateSuspended",
            certification::CertificateSuspended {
                certificate_id: certificate,
                worker_id: worker,
                reason: "investigation".to_owned(),
            }
            .encode_to_vec(),
            later(&mut at, random),
        )?),
        1..=3 => events.push(event(
            "kesos.certification.v1.CertificateExpired",
            certification::CertificateExpired {
                certificate_id: certificate,
                worker_id: worker,
                valid_until: None,
            }
            .encode_to_vec(),
            at + Duration::days(1_095),
        )?),
        _ => {}
    }
    Ok(events)
}

/// A yearly target for every kabupaten/kota and category, 2020-2026.
async fn targets(store: &dyn EventStore, places: &[String]) -> anyhow::Result<u64> {
    let mut events = Vec::new();
    for year in 2020..=2026 {
        for place in places {
            for category in 1..=4 {
                events.push(event(
                    "kesos.enrollment.v1.TargetSet",
                    enrollment::TargetSet {
                        year,
                        region: region(place),
                        category,
                        target_count: 100,
                    }
                    .encode_to_vec(),
                    datetime!(2020-01-02 02:00 UTC) + Duration::days(365 * i64::from(year - 2020)),
                )?);
            }
        }
    }
    let written = events.len() as u64;
    let mut appends = Vec::new();
    for (i, chunk) in events.chunks(1_000).enumerate() {
        appends.push(BulkAppend {
            stream: StreamId::parse(format!("targets-bench-{i}"))?,
            expected: ExpectedVersion::NoStream,
            events: chunk.to_vec(),
            claims: Claims::default(),
        });
    }
    for outcome in store.append_bulk(appends).await {
        outcome?;
    }
    Ok(written)
}
