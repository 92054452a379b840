//! Dead letters as operators see them (`kesos dead-letters list | show | retry`), and the state
//! of their redrive. A dead letter is a message a consumer could not decode or its handler
//! refused for good (never a transient failure: those are waited out). Retrying one asks the
//! running consumer to hand it to its handler again; each dead letter is retried at most once,
//! and a retry that fails again is recorded as a new dead letter.

use uuid::Uuid;

/// One recorded dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its number, for `show` and `retry`.
    pub id: i64,
    /// The consumer that gave up on it.
    pub consumer: String,
    /// The source store, when known (empty otherwise).
    pub source: String,
    /// Its position in the source store, when known.
    pub position: Option<u64>,
    /// The event's id, when it decoded that far.
    pub event_id: Option<Uuid>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The message as received: an event envelope (raw bytes when it did not decode).
    pub payload: Vec<u8>,
    /// When it was recorded, in Unix seconds.
    pub recorded_at: i64,
    /// Where its redrive stands.
    pub retry: RetryState,
}

/// Where a dead letter's redrive stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryState {
    /// Nobody asked for a retry.
    NotRequested,
    /// An operator asked; the consumer has not handled it yet (it may be down).
    Requested,
    /// The consumer handled the retry; the outcome says how it went.
    Retried {
        /// `handled`, or why it failed again (then a newer dead letter holds it).
        outcome: String,
    },
}

impl RetryState {
    pub(crate) fn from_columns(requested: bool, outcome: Option<String>) -> Self {
        match (requested, outcome) {
            (_, Some(outcome)) => Self::Retried { outcome },
            (true, None) => Self::Requested,
            (false, None) => Self::NotRequested,
        }
    }
}

impl std::fmt::Display for RetryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRequested => f.write_str("dead"),
            Self::Requested => f.write_str("retry requested"),
            Self::Retried { outcome } => write!(f, "retried: {outcome}"),
        }
    }
}

/// What asking for a retry did: each dead letter is retried at most once, so asking again
/// changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryRequest {
    /// Asked now; the running consumer redrives it within its redrive interval.
    Requested,
    /// Someone asked before; nothing changed.
    AlreadyRequested,
    /// It was retried already (outcome given); nothing changed.
    AlreadyRetried(String),
    /// No dead letter has that number.
    NotFound,
}

/// The outcome noted on a dead letter whose retry the handler took.
pub const HANDLED: &str = "handled";
