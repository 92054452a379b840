//! The certification HTTP API: central-operations commands and reads, public verification and
//! the status lists. JSON in and out, `application/problem+json` errors naming the field and
//! the rule, `Idempotency-Key` on every command, paged lists. Routes are listed in [`ROUTES`]
//! and documented in the OpenAPI document ([`openapi`]).
//!
//! Every GET answers from the registry as it stands and writes nothing; the commands answer
//! once the registry shows their effect (see [`crate::service`]).

mod errors;
pub mod openapi;
pub mod page;
mod routes;

pub use errors::problem;
pub use routes::{access_rules, router};

/// The paths this service adds, for the start-up banner.
pub const ROUTES: &[&str] = &[
    "/v1/certificates",
    "/v1/certificates/{certificate_id}",
    "/v1/certificates/{certificate_id}/{suspend|reinstate|revoke}",
    "/v1/certificates/{certificate_id}/{credential.json|certificate.html}",
    "/v1/verify/{number}",
    "/v1/verify",
    "/v1/status-list",
    "/v1/status-list/suspension",
    "/verify",
    "/verify/{number}",
];
