//! The certification HTTP API: central-operations commands and reads, public verification and
//! the status lists. JSON in and out, `application/problem+json` errors naming the field and
//! the rule, `Idempotency-Key` on every command, paged lists. Each route is written once, in
//! the route table, with its access rule and its OpenAPI operation: the router ([`router`]),
//! the gate's policy ([`access_rules`]) and the document's paths ([`openapi()`]) all come
//! from it.
//!
//! Every GET answers from the registry as it stands and writes nothing; the commands answer
//! once the registry shows their effect (see [`crate::service`]).

mod errors;
mod handlers;
mod openapi;
pub mod page;
mod routes;

pub use errors::problem;
pub use routes::{access_rules, openapi, router};
