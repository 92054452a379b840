//! The LSPS inbox: attendance and results LSPS reports on its own schedule, read from a
//! durable JetStream consumer and recorded in the sessions.
//!
//! Reports arrive late, out of order, twice, or wrong. A duplicate (same message id, or the
//! same facts again) is acknowledged and changes nothing. A report the rules refuse — a
//! candidate not on that session's roster, a decision contradicting the recorded one, a
//! session that does not exist, another LSPS's session — and a message that does not decode
//! go to the dead-letter stream with the reason in `Kesos-Dead-Reason`, then are acknowledged
//! for good. A failure that may pass (database away) leaves the message for redelivery.
//! Every report settled — recorded, a repeat, or refused — is answered first with a
//! `ReportOutcome` on its LSPS's own outcome subject ([`super::outcome`]).
//!
//! Messages are taken in batches; the reports of one session are decided together in one
//! append ([`Scheduling::record_reports`]), sessions in parallel.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::StreamExt;
use kesos_bus::{BusError, StreamNames};
use kesos_commands::CommandContext;
use kesos_proto::kesos::lsps::v1 as lsps;
use prost::Message;
use uuid::Uuid;

use super::outcome::{self, Identified, Refusal};
use super::{LspsChannel, ReportKind};
use crate::domain::{CandidateId, ExternalId, SessionId};
use crate::service::reports::{Recorded, Report};
use crate::service::{ReportedDecision, Scheduling, derived};
use crate::wire::{attendance_of, decision_of, instant_of, units_of};

/// The inbox's first wait after reading failed (NATS or the database away), and its longest.
const FIRST_RETRY: Duration = Duration::from_millis(400);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// How the inbox reads.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// The durable consumer's name.
    pub durable: String,
    /// Most messages taken per round.
    pub batch: usize,
    /// Sessions recorded at once.
    pub in_flight: usize,
    /// How long a taken, unacknowledged message waits before JetStream redelivers it.
    pub ack_wait: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            durable: "scheduling-lsps-inbox".to_owned(),
            batch: 1_000,
            in_flight: 16,
            ack_wait: Duration::from_secs(60),
        }
    }
}

/// What a round did (for logs, tests and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Messages taken.
    pub messages: usize,
    /// Reports recorded now.
    pub accepted: usize,
    /// Reports already on record.
    pub duplicates: usize,
    /// Messages sent to the dead-letter stream.
    pub dead: usize,
    /// Messages left for redelivery.
    pub retried: usize,
}

/// The inbox.
pub struct Inbox {
    scheduling: Scheduling,
    context: jetstream::Context,
    channel: LspsChannel,
    dead_letter_subject: String,
    settings: InboxSettings,
}

#[derive(Debug)]
struct Parsed {
    message_id: String,
    session: SessionId,
    reports: Vec<(CommandContext, Report)>,
}

/// A report that could not be read, with what of it could.
#[derive(Debug)]
struct Unreadable {
    message_id: String,
    session_id: String,
    refusal: Refusal,
}

fn context(lsps: &str, message_id: &str, at: time::OffsetDateTime) -> CommandContext {
    let command_id = kesos_http::uuid_for_key(&format!("lsps:{lsps}:{message_id}"));
    CommandContext {
        command_id,
        actor: format!("lsps:{lsps}"),
        correlation_id: format!("lsps:{message_id}"),
        causation_id: Some(format!("lsps-message:{message_id}")),
        occurred_at: at,
    }
}

fn header_fields(
    message_id: &str,
    session_id: &str,
    lsps_id: &str,
    subject_lsps: &str,
) -> Result<SessionId, Refusal> {
    if message_id.trim().is_empty() || message_id.len() > 200 {
        return Err(Refusal::field(
            "message_id",
            "length",
            "message_id must be 1-200 characters",
        ));
    }
    if lsps_id != subject_lsps {
        return Err(Refusal::field(
            "lsps_id",
            "subject",
            format!("lsps_id {lsps_id:?} does not match the subject's LSPS {subject_lsps:?}"),
        ));
    }
    Uuid::parse_str(session_id)
        .map(SessionId)
        .map_err(|e| Refusal::field("session_id", "uuid", format!("session_id: {e}")))
}

fn uuid_field(field: &str, text: &str) -> Result<Uuid, Refusal> {
    Uuid::parse_str(text).map_err(|e| Refusal::field(field, "uuid", format!("{field}: {e}")))
}

fn external_id(field: &str, text: &str) -> Result<ExternalId, Refusal> {
    ExternalId::parse(text).map_err(|e| Refusal::field(field, "format", e.to_string()))
}

fn instant(
    field: &str,
    value: Option<kesos_proto::prost_types::Timestamp>,
) -> Result<time::OffsetDateTime, Refusal> {
    let check = if value.is_none() { "missing" } else { "range" };
    instant_of(field, value).map_err(|detail| Refusal::field(field, check, detail))
}

/// Reads one report message (never panics; a bad message is a refusal).
fn parse(kind: ReportKind, subject_lsps: &str, payload: &[u8]) -> Result<Parsed, Unreadable> {
    match kind {
        ReportKind::Attendance => decoded(
            payload,
            "AttendanceReported",
            |m: &lsps::AttendanceReported| (&m.message_id, &m.session_id),
            |m| attendance_reports(m, subject_lsps),
        ),
        ReportKind::Result => decoded(
            payload,
            "AssessmentResultReported",
            |m: &lsps::AssessmentResultReported| (&m.message_id, &m.session_id),
            |m| result_report(m, subject_lsps),
        ),
    }
}

/// Decodes a report of type `M` (called `name` in the contract) and reads it; a refusal keeps
/// the ids that could be read.
fn decoded<M: Message + Default>(
    payload: &[u8],
    name: &str,
    ids: fn(&M) -> (&String, &String),
    read: impl FnOnce(&M) -> Result<Parsed, Refusal>,
) -> Result<Parsed, Unreadable> {
    let message = M::decode(payload).map_err(|e| Unreadable {
        message_id: String::new(),
        session_id: String::new(),
        refusal: Refusal::malformed(format!("not an {name}: {e}")),
    })?;
    read(&message).map_err(|refusal| {
        let (message_id, session_id) = ids(&message);
        Unreadable {
            message_id: message_id.clone(),
            session_id: session_id.clone(),
            refusal,
        }
    })
}

fn attendance_reports(m: &lsps::AttendanceReported, subject_lsps: &str) -> Result<Parsed, Refusal> {
    let session = header_fields(&m.message_id, &m.session_id, &m.lsps_id, subject_lsps)?;
    let lsps_id = external_id("lsps_id", &m.lsps_id)?;
    let at = instant("reported_at", m.reported_at)?;
    let base = context(&m.lsps_id, &m.message_id, at);
    if m.attendances.is_empty() {
        return Err(Refusal::field(
            "attendances",
            "empty",
            "attendances is empty",
        ));
    }
    let reports = m
        .attendances
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let field = |name: &str| format!("attendances[{index}].{name}");
            let candidate = uuid_field(&field("candidate_id"), &entry.candidate_id)?;
            let attendance = attendance_of(entry.attendance)
                .map_err(|detail| Refusal::field(&field("attendance"), "value", detail))?;
            Ok((
                derived(&base, index),
                Report::Attendance {
                    candidate: CandidateId(candidate),
                    attendance,
                    lsps: lsps_id.clone(),
                },
            ))
        })
        .collect::<Result<_, Refusal>>()?;
    Ok(Parsed {
        message_id: m.message_id.clone(),
        session,
        reports,
    })
}

fn result_report(
    m: &lsps::AssessmentResultReported,
    subject_lsps: &str,
) -> Result<Parsed, Refusal> {
    let session = header_fields(&m.message_id, &m.session_id, &m.lsps_id, subject_lsps)?;
    let decided_at = instant("decided_at", m.decided_at)?;
    let decision = ReportedDecision {
        candidate: CandidateId(uuid_field("candidate_id", &m.candidate_id)?),
        units: units_of(m.unit_results.clone())
            .map_err(|detail| Refusal::field("unit_results", "value", detail))?,
        decision: decision_of(m.decision)
            .map_err(|detail| Refusal::field("decision", "value", detail))?,
        assessors: m
            .assessor_ids
            .iter()
            .enumerate()
            .map(|(index, a)| external_id(&format!("assessor_ids[{index}]"), a))
            .collect::<Result<_, _>>()?,
        decided_at,
        lsps: external_id("lsps_id", &m.lsps_id)?,
        message_id: m.message_id.clone(),
    };
    Ok(Parsed {
        message_id: m.message_id.clone(),
        session,
        reports: vec![(
            context(&m.lsps_id, &m.message_id, decided_at),
            Report::Decision(decision),
        )],
    })
}

impl Inbox {
    /// An inbox recording into `scheduling`, dead-lettering on `names`' dead-letter stream.
    pub fn new(
        scheduling: Scheduling,
        context: jetstream::Context,
        channel: LspsChannel,
        names: &StreamNames,
        settings: InboxSettings,
    ) -> Self {
        Self {
            dead_letter_subject: names.dead_letter_subject(&settings.durable),
            scheduling,
            context,
            channel,
            settings,
        }
    }

    /// Creates the streams and binds the durable consumer.
    pub async fn bind(
        &self,
        names: &StreamNames,
    ) -> Result<jetstream::consumer::PullConsumer, BusError> {
        names.ensure(&self.context).await?;
        self.channel.ensure(&self.context).await?;
        let stream = self
            .context
            .get_stream(&self.channel.stream)
            .await
            .map_err(BusError::nats)?;
        kesos_bus::declare_consumer(
            &stream,
            pull::Config {
                durable_name: Some(self.settings.durable.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: self.settings.ack_wait,
                max_deliver: -1,
                filter_subject: self.channel.reports_filter(),
                ..Default::default()
            },
        )
        .await
    }

    /// Reads until `shutdown` completes; NATS or database failures are retried with backoff.
    pub async fn run(&self, names: &StreamNames, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Reading only ends with a failure, so the waits grow until the process stops.
        let mut backoff = kesos_bus::Backoff::new(FIRST_RETRY, LAST_RETRY);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                Err(error) = self.read_on(names) => {
                    let delay = backoff.next_wait();
                    tracing::warn!(%error, ?delay, "LSPS inbox failed; binding again");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Binds and reads round after round; returns only with the failure that stopped it.
    async fn read_on(&self, names: &StreamNames) -> Result<std::convert::Infallible, BusError> {
        let consumer = self.bind(names).await?;
        loop {
            self.round(&consumer).await?;
        }
    }

    /// Takes one batch (waiting up to a second for it) and records it.
    pub async fn round(
        &self,
        consumer: &jetstream::consumer::PullConsumer,
    ) -> Result<Round, BusError> {
        let mut batch = consumer
            .fetch()
            .max_messages(self.settings.batch)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(BusError::nats)?;
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(BusError::nats)?;
            kesos_bus::metrics::record_delivery(&self.settings.durable, &message);
            messages.push(message);
        }
        self.record(messages).await
    }

    async fn record(&self, messages: Vec<jetstream::Message>) -> Result<Round, BusError> {
        let mut round = Round {
            messages: messages.len(),
            ..Round::default()
        };
        let mut parsed: Vec<Option<(ReportKind, Result<Parsed, Unreadable>)>> =
            Vec::with_capacity(messages.len());
        let mut by_session: HashMap<SessionId, Vec<usize>> = HashMap::new();
        for (index, message) in messages.iter().enumerate() {
            let result = self
                .channel
                .reporting_lsps(&message.subject)
                .map(|(kind, lsps)| (kind, parse(kind, lsps, &message.payload)));
            if let Some((_, Ok(p))) = &result {
                by_session.entry(p.session).or_default().push(index);
            }
            parsed.push(result);
        }
        let readable = |i: usize| match &parsed[i] {
            Some((_, Ok(p))) => Some(p),
            _ => None,
        };
        let groups = by_session.into_iter().map(|(session, indices)| {
            let reports: Vec<(CommandContext, Report)> = indices
                .iter()
                .filter_map(|i| readable(*i))
                .flat_map(|p| p.reports.iter().cloned())
                .collect();
            async move {
                let outcome = self.scheduling.record_reports(session, &reports).await;
                (indices, outcome)
            }
        });
        let mut results =
            futures::stream::iter(groups).buffer_unordered(self.settings.in_flight.max(1));
        let mut verdicts: Vec<Option<Result<Vec<Recorded>, String>>> =
            (0..messages.len()).map(|_| None).collect();
        while let Some((indices, outcome)) = results.next().await {
            match outcome {
                Ok(recorded) => {
                    let mut recorded = recorded.into_iter();
                    for i in indices {
                        let count = readable(i).map_or(0, |p| p.reports.len());
                        verdicts[i] = Some(Ok(recorded.by_ref().take(count).collect()));
                    }
                }
                Err(error) => {
                    for i in indices {
                        verdicts[i] = Some(Err(error.to_string()));
                    }
                }
            }
        }
        drop(results);
        let mut answered = Vec::with_capacity(messages.len());
        for ((message, parsed), verdict) in messages.iter().zip(parsed).zip(verdicts) {
            let Some((kind, parsed)) = parsed else {
                round.dead += 1;
                let reason = format!("unexpected subject {}", message.subject);
                self.dead_letter(message, "unexpected-subject", &reason)
                    .await?;
                continue;
            };
            let mut report = Identified {
                sequence: message.info().map_or(0, |info| info.stream_sequence),
                subject: message.subject.to_string(),
                ..Identified::default()
            };
            let (status, refusals, reasons) = match (parsed, verdict) {
                (Err(unreadable), _) => {
                    report.message_id = unreadable.message_id;
                    report.session_id = unreadable.session_id;
                    let reason = unreadable.refusal.detail.clone();
                    (
                        lsps::ReportStatus::Rejected,
                        vec![unreadable.refusal],
                        vec![reason],
                    )
                }
                (Ok(_), Some(Err(transient))) => {
                    tracing::warn!(%transient, "LSPS report not recorded yet; redelivering");
                    message
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await
                        .map_err(BusError::nats)?;
                    round.retried += 1;
                    continue;
                }
                (Ok(read), verdict) => {
                    report.message_id = read.message_id;
                    report.session_id = read.session.0.to_string();
                    let recorded = verdict.and_then(Result::ok).unwrap_or_default();
                    let status = outcome::verdict(&recorded);
                    let mut refusals = Vec::new();
                    let mut reasons = Vec::new();
                    for (index, entry) in recorded.into_iter().enumerate() {
                        match entry {
                            Recorded::Accepted => round.accepted += 1,
                            Recorded::AlreadyKnown => round.duplicates += 1,
                            Recorded::Refused(error) => {
                                reasons.push(error.to_string());
                                let prefix = match kind {
                                    ReportKind::Attendance => format!("attendances[{index}]."),
                                    ReportKind::Result => String::new(),
                                };
                                refusals.extend(Refusal::of_error(error, &prefix));
                            }
                        }
                    }
                    (status, refusals, reasons)
                }
            };
            answered.push((
                message,
                outcome::outcome(&report, status, &refusals),
                reasons,
            ));
        }
        // Kept first, so an answer an LSPS has received over NATS is already readable over HTTP.
        self.keep_answers(&answered).await?;
        self.send_outcomes(&answered).await?;
        let mut acks = Vec::with_capacity(answered.len());
        for (message, outcome, reasons) in &answered {
            if reasons.is_empty() {
                acks.push(message.ack());
            } else {
                round.dead += 1;
                let rule = outcome
                    .refusals
                    .first()
                    .map_or("refused", |refusal| refusal.rule.as_str());
                self.dead_letter(message, rule, &reasons.join("; ")).await?;
            }
        }
        futures::future::try_join_all(acks)
            .await
            .map_err(BusError::nats)?;
        Ok(round)
    }

    /// Keeps the answers for reading over HTTP, before the reports are acknowledged (a
    /// failure leaves them for redelivery, when they are answered and kept again).
    async fn keep_answers(
        &self,
        answered: &[(&jetstream::Message, lsps::ReportOutcome, Vec<String>)],
    ) -> Result<(), BusError> {
        let kept: Vec<(&str, &lsps::ReportOutcome)> = answered
            .iter()
            .filter_map(|(message, outcome, _)| {
                self.channel
                    .reporting_lsps(&message.subject)
                    .map(|(_, lsps)| (lsps, outcome))
            })
            .collect();
        self.scheduling
            .answers()
            .keep(&kept, time::OffsetDateTime::now_utc())
            .await
            .map_err(BusError::Database)
    }

    /// Publishes each outcome on its LSPS's outcome subject, all at once, and waits until
    /// JetStream stored every one, before any report is acknowledged: a report is never
    /// settled without its answer. A redelivered report's outcome carries the same
    /// `Nats-Msg-Id`, so within the duplicate window it is stored once.
    async fn send_outcomes(
        &self,
        answered: &[(&jetstream::Message, lsps::ReportOutcome, Vec<String>)],
    ) -> Result<(), BusError> {
        let mut stored = Vec::with_capacity(answered.len());
        for (message, outcome, _) in answered {
            let Some((_, lsps)) = self.channel.reporting_lsps(&message.subject) else {
                continue;
            };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Msg-Id",
                format!("outcome-{}", outcome.report_sequence).as_str(),
            );
            let ack = self
                .context
                .publish_with_headers(
                    self.channel.outcome_subject(lsps),
                    headers,
                    outcome.encode_to_vec().into(),
                )
                .await
                .map_err(BusError::nats)?;
            stored.push(ack);
        }
        for ack in stored {
            ack.await.map_err(BusError::nats)?;
        }
        Ok(())
    }

    /// Dead-letters a report; `rule` is the first rule it broke, the metrics' reason.
    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        rule: &str,
        reason: &str,
    ) -> Result<(), BusError> {
        tracing::warn!(subject = %message.subject, %reason, "LSPS report dead-lettered");
        kesos_bus::metrics::record_dead_letter(&self.settings.durable, rule);
        kesos_bus::jetstream::dead_letter(
            &self.context,
            self.dead_letter_subject.clone(),
            &self.settings.durable,
            message,
            reason,
        )
        .await
    }
}

#[cfg(test)]
#[path = "inbox_props.rs"]
mod props;
