//! The scheduling HTTP API: JSON in and out, `application/problem+json` errors naming the
//! field and the rule, `Idempotency-Key` on every command, paged lists. Routes are listed in
//! [`ROUTES`] and documented in the OpenAPI document ([`openapi`]).
//!
//! Reads answer from the read models as the projector has applied them and never write; a
//! command waits until the lists show its own write before it answers, so the caller's next
//! `GET` sees it.

mod commands;
mod errors;
mod forms;
pub mod openapi;
mod reads;
mod routes;

pub use errors::problem;
pub use routes::{ApiState, access_rules, router};

/// The paths this service adds, for the start-up banner.
pub const ROUTES: &[&str] = &[
    "/v1/sessions",
    "/v1/sessions/{session_id}",
    "/v1/sessions/{session_id}/{change|cancel|lock|results|roster}",
    "/v1/sessions/{session_id}/seats",
    "/v1/sessions/{session_id}/seats/{candidate_id}/{unseat|reschedule}",
    "/v1/allocations",
    "/v1/candidates",
    "/v1/candidates/{candidate_id}",
];
