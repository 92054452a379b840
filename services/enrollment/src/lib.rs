//! The enrollment service: the registry of SDM Kesos workers, their nominations for
//! certification and administrative selection (eligibility), yearly targets, bulk import from
//! the spreadsheets Dinas offices send, and the protection of personal data (UU PDP).
//!
//! - [`domain`]: pure rules (decide/evolve), types valid by construction.
//! - [`wire`]: domain events <-> `kesos.enrollment.v1` protobuf.
//! - [`service`]: the commands (register, change, nominate and decide, erase, set targets,
//!   import) and the reads of one worker; it owns the projector of the read models and starts
//!   it on its own log when built.
//! - [`projections`]: the read models (the worker directory), each a
//!   `kesos_readside::Projection`.
//! - [`http`]: the routes, request and response types, the error mapping and the OpenAPI
//!   document.

pub mod domain;
pub mod http;
pub mod projections;
pub mod service;
pub mod wire;
