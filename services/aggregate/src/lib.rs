//! How every kesos service changes state: a pure core inside a thin async shell.
//!
//! - **Pure core** ([`Aggregate`]): `decide(&state, &command) -> events or a domain error`
//!   and `evolve(state, &event) -> state`. No I/O, clock or randomness: the time, new ids and
//!   looked-up facts arrive inside the command. So the rules are tested with plain function
//!   calls ([`testing`]), a decision can be replayed, and a retry decides the same.
//! - **Thin shell** ([`execute`]): load the stream, decode ([`EventCodec`]) and evolve,
//!   decide, append with the loaded version. A concurrent writer makes the append conflict
//!   instead of overwriting; the shell decides again on fresh state. Event ids derive from the
//!   command id ([`event_id`]), so a retried command appends nothing twice and reports its
//!   earlier outcome.
//! - **State cache** ([`execute_cached`]): the same answers as [`execute`], skipping the load
//!   when this process holds the stream's latest state; the expected version keeps it honest.
//! - **Errors in three layers**: the service's `DomainError` says which rule refused;
//!   [`AppError`] adds what the shell can hit (conflict, undecodable event, store failure);
//!   the service's HTTP layer maps each variant to a status, as documented on it.
//!
//! This crate knows neither protobuf nor HTTP: services implement [`EventCodec`] with prost
//! in their `wire` module, and map [`AppError`] in their `http` module.

pub mod aggregate;
pub mod cache;
pub mod codec;
pub mod command;
pub mod error;
pub mod event_id;
pub mod testing;

#[cfg(test)]
mod example;

pub use aggregate::Aggregate;
pub use cache::{StateCache, execute_cached};
pub use codec::{DecodeError, EventCodec};
pub use command::{
    CommandContext, Executed, MAX_ATTEMPTS, execute, execute_claiming, execute_deriving_claims,
    load, to_new_events,
};
pub use error::AppError;
pub use event_id::{derive_uuid, event_id};
