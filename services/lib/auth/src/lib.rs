//! Access control for kesos: who may do what, for which region.
//!
//! - [`Principal`] and [`Role`]: central operations, a regional Dinas Sosial scoped to a
//!   region prefix, LSPS scoped to its id, auditor, public.
//! - [`policy`]: the pure rules, [`authorize`]`(principal, action, scope)`.
//! - [`token`]: EdDSA bearer tokens (compact JWS) with several verification keys by `kid`,
//!   so keys rotate without downtime.
//! - [`Gate`] and [`Secured`]: every route is declared once, with its [`Action`] and its
//!   OpenAPI operation, and the router, the policy and the document come from that entry;
//!   the gate answers 401/403/429 as problem+json and hands handlers a [`Caller`] for
//!   region-level checks and for the actor recorded in event metadata.
//! - [`rate`]: the per-client token bucket on public verification; [`access_log`]: denials
//!   for auditors.
//! - [`lifetime`]: each role's longest token lifetime; [`revocation`]: tokens withdrawn by
//!   `jti` before they expire, kept in the database and checked on every request.

pub mod access_log;
pub mod gate;
pub mod issue;
pub mod keys;
pub mod legacy_keys;
pub mod lifetime;
pub mod policy;
pub mod principal;
pub mod rate;
pub mod revocation;
pub mod routes;
pub mod secured;
pub mod token;

pub use access_log::AccessLog;
pub use gate::{Caller, Gate, forbidden};
pub use legacy_keys::LegacyKeys;
pub use lifetime::Lifetimes;
pub use policy::{Action, Denied, Scope, authorize, role_may};
pub use principal::{LspsId, Principal, RegionScope, Role, RoleError};
pub use rate::RateLimiter;
pub use revocation::{Revocation, RevocationError, RevocationList};
pub use secured::{ApiPart, Rule, Secured, guard_all};
pub use token::{Claims, TokenError, TokenIssuer, TokenVerifier, Verified, key_id};
