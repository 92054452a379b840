//! The pure core every kesos service decides with, and nothing else: no store, no runtime, no
//! protobuf, no HTTP, so a service's `domain/` compiles against plain Rust.
//!
//! - [`Aggregate`]: `decide(&state, &command) -> events or a domain error` and
//!   `evolve(state, &event) -> state`. No I/O, clock or randomness: the time, new ids and
//!   looked-up facts arrive inside the command. So the rules are tested with plain function
//!   calls ([`testing`]), a decision can be replayed, and a retry decides the same.
//! - [`EventCodec`]: how a service's events become bytes and back (services implement it with
//!   prost in their `wire` module).
//! - [`event_id`]: event ids derived from the command id, so a retried command appends nothing
//!   twice.
//!
//! The async shell that loads, decides and appends (`execute`, the state cache, `AppError`)
//! lives in `kesos-commands`, beside the event store it needs.

pub mod aggregate;
pub mod codec;
pub mod event_id;
/// A tiny aggregate for the tests of this crate and of the command path.
#[doc(hidden)]
pub mod example;
pub mod testing;

pub use aggregate::Aggregate;
pub use codec::{DecodeError, EventCodec};
pub use event_id::{derive_uuid, event_id};
