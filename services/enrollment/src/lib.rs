//! The enrollment service: the registry of SDM Kesos workers, their nominations for
//! certification and administrative selection (eligibility), yearly targets, bulk import from
//! the spreadsheets Dinas offices send, and the protection of personal data (UU PDP).
//!
//! - [`domain`]: pure rules (decide/evolve), types valid by construction.
//! - [`wire`]: domain events <-> `kesos.enrollment.v1` protobuf.
//! - [`service`]: the async shell (register, command, import, erase, reads, directory).
//! - [`http`]: the HTTP API: routes, request and response types, the error mapping and the
//!   OpenAPI document.

pub mod domain;
pub mod http;
pub mod service;
pub mod wire;
