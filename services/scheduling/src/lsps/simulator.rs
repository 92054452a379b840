//! `kesos lsps-sim`: plays LSPS over NATS. Reads rosters from its roster subject and answers
//! each — after a delay — with attendance and results at a pass rate and a no-show rate, and
//! on request misbehaves the ways a real integration does: every result twice, results before
//! attendance and in reverse order, malformed messages, results for a session that does not
//! exist and for a candidate not on the roster. End-to-end tests and the demo use it; LSPS's
//! own developers can use it as a reference for their side of the contract.
//!
//! Outcomes are a pure function of the candidate id (a hash), so a run is reproducible.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use kesos_bus::BusError;
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::lsps::v1 as lsps;
use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::LspsChannel;

/// How the simulated LSPS behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorSettings {
    /// The LSPS played (its subjects).
    pub lsps: String,
    /// Share of present candidates judged Kompeten (0 to 1).
    pub pass_rate: f64,
    /// Share of candidates who do not come (0 to 1).
    pub no_show_rate: f64,
    /// Wait before answering a roster.
    pub delay: Duration,
    /// Send every result twice.
    pub duplicates: bool,
    /// Send results before attendance, in reverse order.
    pub reorder: bool,
    /// Malformed messages sent per roster.
    pub malformed: u32,
    /// Per roster: one result for a session that does not exist and one for a candidate
    /// not on the roster, this many times.
    pub wrong: u32,
    /// Competency units judged.
    pub units: Vec<String>,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            lsps: "LSPS-PEKSOS".to_owned(),
            pass_rate: 0.8,
            no_show_rate: 0.05,
            delay: Duration::from_millis(0),
            duplicates: false,
            reorder: false,
            malformed: 0,
            wrong: 0,
            units: vec!["U01".into(), "U02".into(), "U03".into()],
        }
    }
}

/// What the simulator sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulatorReport {
    /// Rosters answered.
    pub rosters: usize,
    /// Candidates reported present.
    pub present: usize,
    /// Candidates reported as no-shows.
    pub no_shows: usize,
    /// Kompeten results sent (first copies).
    pub kompeten: usize,
    /// Belum kompeten results sent (first copies).
    pub belum_kompeten: usize,
    /// Extra copies sent.
    pub duplicates: usize,
    /// Malformed messages sent.
    pub malformed: usize,
    /// Results sent for a wrong session or candidate.
    pub wrong: usize,
}

impl SimulatorReport {
    fn add(&mut self, other: &Self) {
        self.rosters += other.rosters;
        self.present += other.present;
        self.no_shows += other.no_shows;
        self.kompeten += other.kompeten;
        self.belum_kompeten += other.belum_kompeten;
        self.duplicates += other.duplicates;
        self.malformed += other.malformed;
        self.wrong += other.wrong;
    }
}

/// The simulated LSPS.
pub struct Simulator {
    context: jetstream::Context,
    channel: LspsChannel,
    settings: SimulatorSettings,
}

/// The outcome the simulator gives a candidate: a no-show, or a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Did not come.
    NoShow,
    /// Judged Kompeten.
    Kompeten,
    /// Judged belum kompeten.
    BelumKompeten,
}

fn fraction(seed: &str, salt: &str) -> f64 {
    let digest = Sha256::digest(format!("{salt}:{seed}").as_bytes());
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // 53 bits of the hash, as a fraction in [0, 1).
    (u64::from_be_bytes(bytes) >> 11) as f64 / (1_u64 << 53) as f64
}

impl Simulator {
    /// A simulator on `channel` (creating its stream if needed when run).
    pub fn new(
        context: jetstream::Context,
        channel: LspsChannel,
        settings: SimulatorSettings,
    ) -> Self {
        Self {
            context,
            channel,
            settings,
        }
    }

    /// The outcome for one candidate (deterministic).
    pub fn outcome(&self, candidate_id: &str) -> Outcome {
        if fraction(candidate_id, "no-show") < self.settings.no_show_rate {
            Outcome::NoShow
        } else if fraction(candidate_id, "pass") < self.settings.pass_rate {
            Outcome::Kompeten
        } else {
            Outcome::BelumKompeten
        }
    }

    /// Answers rosters until `rosters` were answered (if given) or `shutdown` completes.
    pub async fn run(
        &self,
        rosters: Option<usize>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<SimulatorReport, BusError> {
        self.channel.ensure(&self.context).await?;
        let stream = self
            .context
            .get_stream(&self.channel.stream)
            .await
            .map_err(BusError::nats)?;
        let durable = format!("lsps-sim-{}", self.settings.lsps);
        let consumer = stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    filter_subject: self.channel.roster_subject(&self.settings.lsps),
                    ..Default::default()
                },
            )
            .await
            .map_err(BusError::nats)?;
        let mut messages = consumer.messages().await.map_err(BusError::nats)?;
        let mut report = SimulatorReport::default();
        tokio::pin!(shutdown);
        while rosters.is_none_or(|wanted| report.rosters < wanted) {
            let message = tokio::select! {
                () = &mut shutdown => break,
                message = messages.next() => match message {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        tracing::warn!(%error, "roster pull hiccup");
                        continue;
                    }
                    None => break,
                },
            };
            match lsps::CandidateRoster::decode(message.payload.as_ref()) {
                Ok(roster) => {
                    tokio::time::sleep(self.settings.delay).await;
                    report.add(&self.answer(&roster).await?);
                }
                Err(error) => tracing::warn!(%error, "not a roster; skipped"),
            }
            message.ack().await.map_err(BusError::nats)?;
        }
        Ok(report)
    }

    /// Sends the answers to one roster.
    pub async fn answer(
        &self,
        roster: &lsps::CandidateRoster,
    ) -> Result<SimulatorReport, BusError> {
        let settings = &self.settings;
        let mut report = SimulatorReport {
            rosters: 1,
            ..SimulatorReport::default()
        };
        let reported_at = roster.ends_at.or(roster.starts_at);
        let mut attendances = Vec::new();
        let mut results = Vec::new();
        for candidate in &roster.candidates {
            let outcome = self.outcome(&candidate.candidate_id);
            let attendance = if outcome == Outcome::NoShow {
                report.no_shows += 1;
                common::Attendance::NoShow
            } else {
                report.present += 1;
                common::Attendance::Present
            };
            attendances.push(lsps::CandidateAttendance {
                candidate_id: candidate.candidate_id.clone(),
                attendance: attendance as i32,
            });
            if outcome != Outcome::NoShow {
                let kompeten = outcome == Outcome::Kompeten;
                if kompeten {
                    report.kompeten += 1;
                } else {
                    report.belum_kompeten += 1;
                }
                results.push(self.result(
                    roster,
                    &candidate.candidate_id,
                    &roster.session_id,
                    kompeten,
                ));
            }
        }
        let attendance = lsps::AttendanceReported {
            message_id: kesos_http::uuid_for_key(&format!("{}:attendance", roster.message_id))
                .to_string(),
            session_id: roster.session_id.clone(),
            attendances,
            lsps_id: settings.lsps.clone(),
            reported_at,
        };
        let attendance_subject = self.channel.attendance_subject(&settings.lsps);
        let result_subject = self.channel.result_subject(&settings.lsps);
        if settings.reorder {
            results.reverse();
        } else {
            self.send(&attendance_subject, attendance.encode_to_vec())
                .await?;
        }
        for result in &results {
            self.send(&result_subject, result.encode_to_vec()).await?;
            if settings.duplicates {
                self.send(&result_subject, result.encode_to_vec()).await?;
                report.duplicates += 1;
            }
        }
        if settings.reorder {
            self.send(&attendance_subject, attendance.encode_to_vec())
                .await?;
        }
        for n in 0..settings.malformed {
            let garbage = format!("not protobuf {n} \u{0}\u{ff}").into_bytes();
            self.send(&result_subject, garbage).await?;
            report.malformed += 1;
        }
        for _ in 0..settings.wrong {
            if let Some(first) = roster.candidates.first() {
                let elsewhere = self.result(
                    roster,
                    &first.candidate_id,
                    &Uuid::new_v4().to_string(),
                    true,
                );
                self.send(&result_subject, elsewhere.encode_to_vec())
                    .await?;
                let stranger = self.result(
                    roster,
                    &Uuid::new_v4().to_string(),
                    &roster.session_id,
                    true,
                );
                self.send(&result_subject, stranger.encode_to_vec()).await?;
                report.wrong += 2;
            }
        }
        Ok(report)
    }

    fn result(
        &self,
        roster: &lsps::CandidateRoster,
        candidate_id: &str,
        session_id: &str,
        kompeten: bool,
    ) -> lsps::AssessmentResultReported {
        let units = self
            .settings
            .units
            .iter()
            .enumerate()
            .map(|(i, unit)| common::UnitResult {
                unit_code: unit.clone(),
                judgement: if kompeten || i + 1 < self.settings.units.len() {
                    common::UnitJudgement::K as i32
                } else {
                    common::UnitJudgement::Bk as i32
                },
            });
        let decision = if kompeten {
            common::AssessmentDecision::Kompeten
        } else {
            common::AssessmentDecision::BelumKompeten
        };
        lsps::AssessmentResultReported {
            message_id: kesos_http::uuid_for_key(&format!(
                "{}:{session_id}:{candidate_id}",
                roster.message_id
            ))
            .to_string(),
            session_id: session_id.to_owned(),
            candidate_id: candidate_id.to_owned(),
            unit_results: units.collect(),
            decision: decision as i32,
            assessor_ids: roster.assessor_ids.iter().take(1).cloned().collect(),
            decided_at: roster.ends_at.or(roster.starts_at),
            lsps_id: self.settings.lsps.clone(),
        }
    }

    async fn send(&self, subject: &str, payload: Vec<u8>) -> Result<(), BusError> {
        self.context
            .publish(subject.to_owned(), payload.into())
            .await
            .map_err(BusError::nats)?
            .await
            .map_err(BusError::nats)?;
        Ok(())
    }
}
