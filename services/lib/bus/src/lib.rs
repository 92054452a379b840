//! How kesos events travel: one consumer API ([`Consumer`] with a [`Handler`]) over two feeds.
//!
//! - **Embedded** ([`EmbeddedFeed`]): a consumer reads the local store's ordered log from its
//!   own checkpoint. No broker; for a laptop, a pilot, a demo.
//! - **Distributed** ([`JetStreamFeed`] fed by the [`Relay`]): the relay publishes each
//!   service's log to NATS JetStream; consumers are durable pull consumers.
//!
//! Both give the same guarantees (see [`consumer`]): effects and the processed marker commit
//! together, acknowledgement after commit, dead letters for poison messages (redriven on
//! request, see [`dead_letter`]), capped backoff for transient failures for as long as they
//! last (a stall is reported in [`Stalls`]). One test suite runs against both feeds.

pub mod bookkeeping;
pub mod consumer;
pub mod dead_letter;
pub mod declare;
pub mod embedded;
pub mod envelope;
pub mod error;
pub mod health;
pub mod identity;
pub mod jetstream;
pub mod metrics;
pub mod relay;

pub use consumer::{
    Backoff, Consumer, Feed, Handler, HandlerError, Incoming, REDRIVE_EVERY, RetryPolicy,
    is_transient_sqlx,
};
pub use dead_letter::{DeadLetter, RetryRequest, RetryState};
pub use declare::{declare_consumer, declare_stream};
pub use embedded::EmbeddedFeed;
pub use envelope::{Delivered, EnvelopeError};
pub use error::BusError;
pub use health::{Stall, Stalls};
pub use identity::{Identities, Identity, NatsIdentities, answer_lookups};
pub use jetstream::{JetStreamFeed, PullSettings, StreamNames};
pub use relay::{Relay, RelaySettings, Relayed};
