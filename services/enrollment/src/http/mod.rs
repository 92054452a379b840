//! The enrollment HTTP API: JSON in and out, `application/problem+json` errors naming the
//! field and the rule, `Idempotency-Key` on every command, paged lists. Routes are listed in
//! [`ROUTES`] and documented in the OpenAPI document ([`openapi`]). No GET writes: a list
//! reads the worker directory as it stands, and the commands whose effect a list shows answer
//! once the directory has applied them.

mod errors;
pub mod openapi;
mod routes;

pub use errors::problem;
pub use routes::{access_rules, router};

/// The paths this service adds, for the start-up banner.
pub const ROUTES: &[&str] = &[
    "/v1/workers",
    "/v1/workers/{worker_id}",
    "/v1/workers/{worker_id}/{posting|employment-status|qualifications|role|erasure}",
    "/v1/workers/{worker_id}/nominations",
    "/v1/workers/{worker_id}/nominations/{nomination_id}/{verify|reject|override|withdraw}",
    "/v1/targets",
    "/v1/imports/workers",
    "/v1/schemes",
    "/v1/regions/{code}",
];
