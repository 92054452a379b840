//! The scheduling HTTP API: JSON in and out, `application/problem+json` errors naming the
//! field and the rule, `Idempotency-Key` on every command, paged lists. Each route is written
//! once, in the route table, with its access rule and its OpenAPI operation: the router
//! ([`router`]), the gate's policy ([`access_rules`]) and the document's paths ([`openapi()`])
//! all come from it.
//!
//! Reads answer from the read models as the projector has applied them and never write; a
//! command waits until the lists show its own write before it answers, so the caller's next
//! `GET` sees it.

mod commands;
pub(crate) mod errors;
mod forms;
mod openapi;
mod reads;
mod routes;

pub use errors::problem;
pub use routes::{ApiState, access_rules, openapi, router};
