//! The answers kesos gave LSPS reports, kept beside the sessions so an LSPS (or central
//! operations) can read them over HTTP too, not only from its outcome subject on NATS. One
//! row per report, keyed by the LSPS and the report's stream sequence; the first answer stays
//! (a report read again after a crash is answered the same way, or as already recorded).

use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::{Db, Page, PageQuery, Where, from_unix_micros, unix_micros};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::service::SchedulingError;

/// Largest page of answers.
pub const MAX_PAGE: u32 = 500;

/// Rows written per statement (8 parameters each, well inside both backends' limits).
const ROWS_PER_INSERT: usize = 100;

/// kesos' answer to one report, as the HTTP API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportAnswer {
    /// The report's stream sequence (the `seq` of the PubAck LSPS received).
    pub report_sequence: u64,
    /// The report's `message_id`; empty when it could not be decoded.
    pub message_id: String,
    /// The subject the report came on.
    pub report_subject: String,
    /// The session it named, when that could be read.
    pub session_id: String,
    /// `accepted`, `already_recorded`, `rejected` or `partly_accepted`.
    pub status: String,
    /// Why, for `rejected` and `partly_accepted`.
    pub refusals: Vec<AnswerRefusal>,
    /// When kesos answered (RFC 3339, UTC).
    pub answered_at: String,
}

/// One rule a report broke, in the words of the HTTP API's problem details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRefusal {
    /// The report's field (`decided_at`, `attendances[2].candidate_id`), empty for the whole
    /// message.
    pub field: String,
    /// The rule (`not-on-roster`, `session_id.uuid`, `malformed`…).
    pub rule: String,
    /// A sentence for people.
    pub detail: String,
}

/// The kept answers.
#[derive(Clone)]
pub struct Answers {
    db: Db,
}

/// A report's sequence as the list's text key: 20 digits, so text order is number order.
fn report_key(sequence: u64) -> String {
    format!("{sequence:020}")
}

/// A kept row kesos cannot read back.
fn undecodable(error: impl std::error::Error + Send + Sync + 'static) -> SchedulingError {
    SchedulingError::ReadModel(sqlx::Error::Decode(Box::new(error)))
}

fn status_word(status: i32) -> &'static str {
    match lsps::ReportStatus::try_from(status) {
        Ok(lsps::ReportStatus::Accepted) => "accepted",
        Ok(lsps::ReportStatus::AlreadyRecorded) => "already_recorded",
        Ok(lsps::ReportStatus::Rejected) => "rejected",
        Ok(lsps::ReportStatus::PartlyAccepted) => "partly_accepted",
        Ok(lsps::ReportStatus::Unspecified) | Err(_) => "unspecified",
    }
}

impl Answers {
    /// The answers in `db` (scheduling's read-side database; the table is its migration 5003).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Keeps the answers given to `lsps`'s reports at `at`; an answer already kept for a
    /// report stays.
    pub async fn keep(
        &self,
        answered: &[(&str, &lsps::ReportOutcome)],
        at: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        for chunk in answered.chunks(ROWS_PER_INSERT) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let first = row * 8;
                    let marks: Vec<String> = (1..=8)
                        .map(|column| format!("${}", first + column))
                        .collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO scheduling_lsps_answers (lsps_id, report_key, message_id, \
                 report_subject, session_id, status, refusals, answered_at) VALUES {} \
                 ON CONFLICT (lsps_id, report_key) DO NOTHING",
                placeholders.join(", ")
            );
            let mut query = self.db.query(&sql);
            for (lsps, outcome) in chunk {
                let refusals: Vec<AnswerRefusal> = outcome
                    .refusals
                    .iter()
                    .map(|refusal| AnswerRefusal {
                        field: refusal.field.clone(),
                        rule: refusal.rule.clone(),
                        detail: refusal.detail.clone(),
                    })
                    .collect();
                let refusals = serde_json::to_string(&refusals)
                    .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
                query = query
                    .bind((*lsps).to_owned())
                    .bind(report_key(outcome.report_sequence))
                    .bind(outcome.message_id.clone())
                    .bind(outcome.report_subject.clone())
                    .bind(outcome.session_id.clone())
                    .bind(status_word(outcome.status).to_owned())
                    .bind(refusals)
                    .bind(unix_micros(at));
            }
            query.execute().await?;
        }
        Ok(())
    }

    /// One page of the answers given to `lsps`, in report order, after the report with
    /// sequence `after`.
    pub async fn page(
        &self,
        lsps: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Page<ReportAnswer>, SchedulingError> {
        let mut filter = Where::new();
        filter.equals("lsps_id", Some(lsps));
        let after = after.map(report_key);
        self.db
            .page(
                PageQuery {
                    columns: "report_key, message_id, report_subject, session_id, status, \
                              refusals, answered_at",
                    from: "scheduling_lsps_answers",
                    key: "report_key",
                    filter: &filter,
                    after: after.as_deref(),
                    limit,
                    max: MAX_PAGE,
                },
                |row| {
                    let key: String = row.get("report_key")?;
                    let refusals: String = row.get("refusals")?;
                    let answered_at =
                        from_unix_micros(row.get("answered_at")?).map_err(undecodable)?;
                    Ok::<_, SchedulingError>(ReportAnswer {
                        report_sequence: key.parse().map_err(undecodable)?,
                        message_id: row.get("message_id")?,
                        report_subject: row.get("report_subject")?,
                        session_id: row.get("session_id")?,
                        status: row.get("status")?,
                        refusals: serde_json::from_str(&refusals).map_err(undecodable)?,
                        answered_at: answered_at.format(&Rfc3339).unwrap_or_default(),
                    })
                },
                |answer| report_key(answer.report_sequence),
            )
            .await
    }
}
