//! How every kesos service changes state: the thin async shell around the pure core of
//! `kesos-aggregate`.
//!
//! - **Command path** ([`execute`]): load the stream, decode ([`kesos_aggregate::EventCodec`])
//!   and evolve, decide, append with the loaded version. A concurrent writer makes the append
//!   conflict instead of overwriting; the shell decides again on fresh state. Event ids derive
//!   from the command id ([`kesos_aggregate::event_id`]), so a retried command appends nothing
//!   twice and reports its earlier outcome.
//! - **State cache** ([`execute_cached`]): the same answers as [`execute`], skipping the load
//!   when this process holds the stream's latest state; the expected version keeps it honest.
//! - **Errors in three layers**: the service's `DomainError` says which rule refused;
//!   [`AppError`] adds what the shell can hit (conflict, undecodable event, store failure);
//!   the service's HTTP layer maps each variant to a status, as documented on it.

pub mod cache;
pub mod command;
pub mod error;

pub use cache::{StateCache, execute_cached};
pub use command::{
    CommandContext, Executed, MAX_ATTEMPTS, execute, execute_claiming, execute_deriving_claims,
    load, to_new_events,
};
pub use error::AppError;
