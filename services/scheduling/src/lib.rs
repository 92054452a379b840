//! The exam scheduling service: verified nominations become candidates waiting in a pool;
//! competency-test sessions are planned, filled by hand or by auto-allocation, locked and sent
//! to LSPS; LSPS reports attendance and decisions back, asynchronously, over NATS.
//!
//! - [`domain`]: the pure core (sessions, candidates, the allocation plan, the rules).
//! - [`wire`]: domain events to and from `kesos.scheduling.v1` protobuf.

pub mod domain;
pub mod http;
pub mod lsps;
pub mod service;
pub mod wire;
