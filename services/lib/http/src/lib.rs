//! HTTP conventions every kesos service shares, so that a client meets one shape everywhere:
//! errors as `application/problem+json` naming the field and the rule ([`Problem`],
//! [`FieldError`]), JSON bodies whose type errors name the field ([`JsonBody`]), query strings
//! and path parameters likewise ([`Query`], [`Path`]), one paging rule for every list
//! ([`Paging`]), commands made idempotent by an `Idempotency-Key` ([`command_id`]), and each
//! route's part of the OpenAPI document ([`openapi::Operation`]).

pub mod body;
pub mod context;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod problem;
pub mod trace;

pub use body::JsonBody;
pub use context::command_context;
pub use extract::{Path, Query};
pub use idempotency::{IDEMPOTENCY_KEY, command_id, legacy_uuid_for_key, uuid_for_key};
pub use openapi::Operation;
pub use paging::Paging;
pub use problem::{FieldError, Problem};
