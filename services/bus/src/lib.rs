//! How kesos events travel: one consumer API ([`Consumer`] with a [`Handler`]) over two feeds.
//!
//! - **Embedded** ([`EmbeddedFeed`]): a consumer reads the local store's ordered log from its
//!   own checkpoint. No broker; for a laptop, a pilot, a demo.
//! - **Distributed** ([`JetStreamFeed`] fed by the [`Relay`]): the relay publishes each
//!   service's log to NATS JetStream; consumers are durable pull consumers.
//!
//! Both give the same guarantees (see [`consumer`]): effects and the processed marker commit
//! together, acknowledgement after commit, dead letters for poison messages, backoff for
//! transient failures. One test suite runs against both feeds.

pub mod consumer;
pub mod consumer_db;
pub mod embedded;
pub mod envelope;
pub mod error;
pub mod jetstream;
pub mod relay;

pub use consumer::{Consumer, Feed, Handler, HandlerError, Incoming, RetryPolicy};
pub use consumer_db::ConsumerDb;
pub use embedded::EmbeddedFeed;
pub use envelope::{Delivered, EnvelopeError};
pub use error::BusError;
pub use jetstream::{JetStreamFeed, PullSettings, StreamNames};
pub use relay::{Relay, RelaySettings, Relayed};
