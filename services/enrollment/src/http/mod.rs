//! The enrollment HTTP API: JSON in and out, `application/problem+json` errors naming the
//! field and the rule, `Idempotency-Key` on every command, paged lists. Each route is written
//! once, in the route table, with its access rule and its OpenAPI operation: the router
//! ([`router`]), the gate's policy ([`access_rules`]) and the document's paths ([`openapi()`])
//! all come from it. No GET writes: a list reads the worker directory as it stands, and the
//! commands whose effect a list shows answer once the directory has applied them.

mod departures;
mod errors;
mod handlers;
mod openapi;
mod routes;

pub use errors::problem;
pub use routes::{access_rules, openapi, router};
