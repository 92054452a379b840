//! The asynchronous LSPS integration over NATS JetStream (`kesos.lsps.v1`).
//!
//! Subjects, under the deployment's prefix (`kesos` in production):
//!
//! | subject | direction | message |
//! |---|---|---|
//! | `<prefix>.lsps.v1.roster.<lsps>` | kesos → LSPS | `CandidateRoster` (names and NIKs readable) |
//! | `<prefix>.lsps.v1.report.attendance.<lsps>` | LSPS → kesos | `AttendanceReported` |
//! | `<prefix>.lsps.v1.report.result.<lsps>` | LSPS → kesos | `AssessmentResultReported` |
//! | `<prefix>.lsps.v1.outcome.<lsps>` | kesos → LSPS | `ReportOutcome`, one per report |
//!
//! All of them live in one JetStream stream of their own (not the events stream), so LSPS
//! reads rosters and kesos reads reports whenever each is ready, across restarts on either
//! side. Reports kesos cannot accept go to the dead-letter stream with the reason. A worker's
//! erasure erases the rosters naming them from the stream ([`erasure`]).

pub mod answers;
pub mod erasure;
pub mod inbox;
pub mod outcome;
pub mod roster;
pub mod sent;
pub mod simulator;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use kesos_bus::BusError;

/// Where the LSPS contract lives on NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LspsChannel {
    /// Subject prefix (`kesos` in production; unique per test).
    pub prefix: String,
    /// The JetStream stream holding every LSPS subject.
    pub stream: String,
}

impl LspsChannel {
    /// How long the LSPS stream keeps a message: rosters carry names and NIKs readable, so they
    /// must not stay on NATS for ever. Sixty days covers a roster's path (locked days before
    /// the session, read by the LSPS before it, results reported within weeks) and a long
    /// outage of either side; what kesos keeps of reports and outcomes is in its own tables.
    pub const RETENTION: Duration = Duration::from_secs(60 * 24 * 3_600);

    /// The channel for `prefix`, in stream `stream`.
    pub fn new(prefix: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            stream: stream.into(),
        }
    }

    /// Rosters for `lsps`.
    pub fn roster_subject(&self, lsps: &str) -> String {
        format!("{}.lsps.v1.roster.{lsps}", self.prefix)
    }

    /// Attendance reports from `lsps`.
    pub fn attendance_subject(&self, lsps: &str) -> String {
        format!("{}.lsps.v1.report.attendance.{lsps}", self.prefix)
    }

    /// Assessment results from `lsps`.
    pub fn result_subject(&self, lsps: &str) -> String {
        format!("{}.lsps.v1.report.result.{lsps}", self.prefix)
    }

    /// kesos' verdicts on the reports of `lsps`.
    pub fn outcome_subject(&self, lsps: &str) -> String {
        format!("{}.lsps.v1.outcome.{lsps}", self.prefix)
    }

    /// Creates the stream or brings its configuration up to date (idempotent).
    pub async fn ensure(&self, context: &jetstream::Context) -> Result<(), BusError> {
        kesos_bus::declare_stream(
            context,
            stream::Config {
                name: self.stream.clone(),
                subjects: vec![format!("{}.lsps.v1.>", self.prefix)],
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                max_age: Self::RETENTION,
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }

    /// The subjects of every report (what the inbox reads).
    pub fn reports_filter(&self) -> String {
        format!("{}.lsps.v1.report.>", self.prefix)
    }

    /// The LSPS a report subject comes from (`None` for other subjects).
    pub fn reporting_lsps<'a>(&self, subject: &'a str) -> Option<(ReportKind, &'a str)> {
        let rest = subject
            .strip_prefix(&self.prefix)?
            .strip_prefix(".lsps.v1.report.")?;
        if let Some(lsps) = rest.strip_prefix("attendance.") {
            return Some((ReportKind::Attendance, lsps));
        }
        rest.strip_prefix("result.")
            .map(|lsps| (ReportKind::Result, lsps))
    }
}

/// Which report a subject carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `AttendanceReported`.
    Attendance,
    /// `AssessmentResultReported`.
    Result,
}
