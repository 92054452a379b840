//! The access log: every denied request, and every allowed command, with its actor.
//!
//! Each decision is a `tracing` event on the target [`TARGET`] (shipped with the JSON logs, the
//! durable record), and the most recent denials are kept in memory for auditors at
//! `GET /v1/access-log`. Allowed commands are also recorded durably as the actor in their
//! events' metadata.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// The tracing target of access decisions, to route them to their own log.
pub const TARGET: &str = "kesos::access";

/// Denials kept in memory by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    /// When (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `<role>:<subject>`, or `public:anonymous`.
    pub actor: String,
    /// HTTP method.
    pub method: String,
    /// The path requested.
    pub path: String,
    /// The route's action.
    pub action: String,
    /// The status answered: 401, 403 or 429 for denials.
    pub status: u16,
    /// Why (never sent to the caller).
    pub reason: String,
    /// The client's address, when known.
    pub client: Option<String>,
}

/// The in-memory ring of recent denials.
#[derive(Debug)]
pub struct AccessLog {
    capacity: usize,
    denials: Mutex<VecDeque<AccessEntry>>,
}

impl AccessLog {
    /// A ring keeping the last `capacity` denials.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            denials: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a denial: logged, and kept.
    pub fn denied(&self, entry: AccessEntry) {
        tracing::warn!(
            target: TARGET,
            actor = %entry.actor,
            method = %entry.method,
            path = %entry.path,
            action = %entry.action,
            status = entry.status,
            reason = %entry.reason,
            client = entry.client.as_deref().unwrap_or("-"),
            "access denied"
        );
        let mut denials = self
            .denials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if denials.len() >= self.capacity {
            denials.pop_front();
        }
        denials.push_back(entry);
    }

    /// Records an allowed command (reads are not logged: they would drown the denials).
    pub fn allowed(&self, actor: &str, method: &str, path: &str, action: &str) {
        tracing::info!(target: TARGET, %actor, %method, %path, %action, "access allowed");
    }

    /// The most recent denials, newest first, at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<AccessEntry> {
        self.denials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn entry(path: &str) -> AccessEntry {
        AccessEntry {
            at: OffsetDateTime::UNIX_EPOCH,
            actor: "public:anonymous".to_owned(),
            method: "GET".to_owned(),
            path: path.to_owned(),
            action: "ReadWorkers".to_owned(),
            status: 401,
            reason: "no token".to_owned(),
            client: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_denials_first() {
        let log = AccessLog::new(2);
        log.denied(entry("/a"));
        log.denied(entry("/b"));
        log.denied(entry("/c"));
        let paths: Vec<String> = log.recent(10).into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/c", "/b"]);
    }
}
