//! A worker's history for auditors: one [`Step`] per event that names the worker, saying what
//! happened, who did it, when and why, without personal data. The steps are read back from the
//! hash-chained logs themselves ([`crate::wire::history`]), so the history is exactly what the
//! logs hold; the projection only keeps which events make it up.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// One step of a worker's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The service whose log holds it.
    pub source: String,
    /// Its position there.
    pub position: u64,
    /// The event id.
    pub event_id: Uuid,
    /// The event type, e.g. `kesos.enrollment.v1.NominationVerified`.
    pub event_type: String,
    /// The stream and version.
    pub stream: String,
    /// Version within the stream.
    pub stream_version: u64,
    /// What happened, in a sentence without personal data.
    pub summary: String,
    /// Why, as recorded (reason, justification, basis), when the event says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who did it.
    pub actor: String,
    /// Business time.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// When the system recorded it.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// The command or event that caused it.
    pub causation_id: String,
    /// The request or journey it belongs to.
    pub correlation_id: String,
}
