//! `kesos lsps-sim`: plays LSPS over NATS. Reads rosters from its roster subject and answers
//! each — after a delay — with attendance and results at a pass rate and a no-show rate, and
//! on request misbehaves the ways a real integration does: every result twice, results before
//! attendance and in reverse order, malformed messages, results for a session that does not
//! exist and for a candidate not on the roster. End-to-end tests and the demo use it; LSPS's
//! own developers can use it as a reference for their side of the contract.
//!
//! Outcomes are a pure function of the candidate id (a hash), so a run is reproducible. After
//! each roster it waits for kesos' `ReportOutcome` of every report it sent (its own durable
//! consumer `lsps-sim-<id>-outcomes`) and counts them, as an LSPS would read its answers.

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
    /// Competency units judged when a roster lists none (a session scheduled before the scheme
    /// catalogue listed units); otherwise the roster's units are judged, as the contract says.
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
    /// Reports kesos answered ACCEPTED.
    pub accepted: usize,
    /// Reports kesos answered ALREADY_RECORDED.
    pub already_recorded: usize,
    /// Reports kesos answered REJECTED or PARTLY_ACCEPTED.
    pub rejected: usize,
    /// Reports kesos had not answered when the simulator stopped waiting.
    pub unanswered: usize,
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
        self.accepted += other.accepted;
        self.already_recorded += other.already_recorded;
        self.rejected += other.rejected;
        self.unanswered += other.unanswered;
    }
}

/// How long the simulator waits for kesos' outcomes of one roster's reports.
const OUTCOME_PATIENCE: Duration = Duration::from_secs(60);

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
        let lsps = &self.settings.lsps;
        let consumer = own_consumer(
            &stream,
            format!("lsps-sim-{lsps}"),
            self.channel.roster_subject(lsps),
        )
        .await?;
        let outcomes = own_consumer(
            &stream,
            format!("lsps-sim-{lsps}-outcomes"),
            self.channel.outcome_subject(lsps),
        )
        .await?;
        let mut outcomes = outcomes.messages().await.map_err(BusError::nats)?;
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
                    let (mut answered, sent) = self.answer(&roster).await?;
                    await_outcomes(&mut outcomes, sent, &mut answered).await?;
                    report.add(&answered);
                }
                Err(error) => tracing::warn!(%error, "not a roster; skipped"),
            }
            message.ack().await.map_err(BusError::nats)?;
        }
        Ok(report)
    }

    /// Sends the answers to one roster; returns what was sent and the stream sequences
    /// JetStream gave each report (the keys of kesos' outcomes).
    pub async fn answer(
        &self,
        roster: &lsps::CandidateRoster,
    ) -> Result<(SimulatorReport, Vec<u64>), BusError> {
        let settings = &self.settings;
        let mut report = SimulatorReport {
            rosters: 1,
            ..SimulatorReport::default()
        };
        let reported_at = roster.ends_at.or(roster.starts_at);
        let mut attendances = Vec::new();
        let mut results = Vec::new();
        let mut sent = Vec::new();
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
            sent.push(
                self.send(&attendance_subject, attendance.encode_to_vec())
                    .await?,
            );
        }
        for result in &results {
            sent.push(self.send(&result_subject, result.encode_to_vec()).await?);
            if settings.duplicates {
                sent.push(self.send(&result_subject, result.encode_to_vec()).await?);
                report.duplicates += 1;
            }
        }
        if settings.reorder {
            sent.push(
                self.send(&attendance_subject, attendance.encode_to_vec())
                    .await?,
            );
        }
        for n in 0..settings.malformed {
            let garbage = format!("not protobuf {n} \u{0}\u{ff}").into_bytes();
            sent.push(self.send(&result_subject, garbage).await?);
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
                sent.push(
                    self.send(&result_subject, elsewhere.encode_to_vec())
                        .await?,
                );
                let stranger = self.result(
                    roster,
                    &Uuid::new_v4().to_string(),
                    &roster.session_id,
                    true,
                );
                sent.push(self.send(&result_subject, stranger.encode_to_vec()).await?);
                report.wrong += 2;
            }
        }
        Ok((report, sent))
    }

    fn result(
        &self,
        roster: &lsps::CandidateRoster,
        candidate_id: &str,
        session_id: &str,
        kompeten: bool,
    ) -> lsps::AssessmentResultReported {
        let codes: Vec<&String> = if roster.units.is_empty() {
            self.settings.units.iter().collect()
        } else {
            roster.units.iter().map(|unit| &unit.code).collect()
        };
        let last = codes.len().saturating_sub(1);
        let units = codes
            .into_iter()
            .enumerate()
            .map(|(i, unit)| common::UnitResult {
                unit_code: unit.clone(),
                judgement: if kompeten || i < last {
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

    /// Publishes one report and returns the stream sequence JetStream stored it at.
    async fn send(&self, subject: &str, payload: Vec<u8>) -> Result<u64, BusError> {
        let stored = self
            .context
            .publish(subject.to_owned(), payload.into())
            .await
            .map_err(BusError::nats)?
            .await
            .map_err(BusError::nats)?;
        Ok(stored.sequence)
    }
}

/// A durable pull consumer of the LSPS's own, on one subject, acknowledged message by message:
/// created through the one API subject its NATS user may use (name and filter in it).
async fn own_consumer(
    stream: &jetstream::stream::Stream,
    durable: String,
    filter_subject: String,
) -> Result<jetstream::consumer::PullConsumer, BusError> {
    stream
        .get_or_create_consumer(
            &durable,
            pull::Config {
                durable_name: Some(durable.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                filter_subject,
                ..Default::default()
            },
        )
        .await
        .map_err(BusError::nats)
}

/// Reads kesos' outcomes until each report in `sent` has one (or [`OUTCOME_PATIENCE`] passed),
/// counting them by status; outcomes of other reports (earlier runs) are acknowledged and
/// skipped. An outcome read twice (kesos answered a redelivered report again) counts once.
async fn await_outcomes(
    outcomes: &mut jetstream::consumer::pull::Stream,
    sent: Vec<u64>,
    report: &mut SimulatorReport,
) -> Result<(), BusError> {
    let mut waiting: std::collections::HashSet<u64> = sent.into_iter().collect();
    let deadline = tokio::time::Instant::now() + OUTCOME_PATIENCE;
    while !waiting.is_empty() {
        let next = tokio::time::timeout_at(deadline, outcomes.next()).await;
        let message = match next {
            Err(_) | Ok(None) => break,
            Ok(Some(Err(error))) => {
                tracing::warn!(%error, "outcome pull hiccup");
                continue;
            }
            Ok(Some(Ok(message))) => message,
        };
        if let Ok(outcome) = lsps::ReportOutcome::decode(message.payload.as_ref())
            && waiting.remove(&outcome.report_sequence)
        {
            match lsps::ReportStatus::try_from(outcome.status) {
                Ok(lsps::ReportStatus::Accepted) => report.accepted += 1,
                Ok(lsps::ReportStatus::AlreadyRecorded) => report.already_recorded += 1,
                _ => {
                    tracing::info!(refusals = ?outcome.refusals, "a report was refused");
                    report.rejected += 1;
                }
            }
        }
        message.ack().await.map_err(BusError::nats)?;
    }
    report.unanswered += waiting.len();
    Ok(())
}
