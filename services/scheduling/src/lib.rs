//! The exam scheduling service: verified nominations become candidates waiting in a pool;
//! competency-test sessions are planned, filled by hand or by auto-allocation, locked and sent
//! to LSPS; LSPS reports attendance and decisions back, asynchronously, over NATS.
//!
//! - [`domain`]: the pure core (sessions, candidates, the allocation plan, the rules).
//! - [`wire`]: domain events to and from `kesos.scheduling.v1` protobuf.
//! - [`service`]: the commands (load, decide, append with claims), the consumers of
//!   enrollment's events and of scheduling's own log, and waiting for the read models.
//! - [`projections`]: the pool and session read models, run by the read side's projector.
//! - [`http`]: the routes, forms, error mapping and the OpenAPI document.
//! - [`lsps`]: the integration with the certification bodies over NATS (the roster desk, the
//!   report inbox, the simulator).

pub mod domain;
pub mod http;
pub mod lsps;
pub mod projections;
pub mod service;
pub mod wire;
