//! The certification service: every Kompeten decision yields exactly one competency
//! certificate, with a number people can type and read over the phone; certificates are
//! suspended, reinstated, revoked, expire and are renewed; anyone can verify a number; relying
//! parties read the W3C Bitstring Status Lists; each certificate exports as a signed W3C
//! Verifiable Credential and as a printable page with a QR code.
//!
//! - [`domain`]: pure rules (decide/evolve), numbers with check characters
//!   ([`domain::number`] documents the format), validity, name masking.
//! - [`wire`]: domain events <-> `kesos.certification.v1` protobuf; the consumed events.
//! - [`service`]: the async shell: issuance from decisions ([`service::Intake`]), lifecycle
//!   commands, the expiry job, the registry (read model), verification and exports.
//! - [`credential`]: Verifiable Credentials, status lists, the printable page, and
//!   [`credential::verify_credential`] for offline checks.
//! - [`http`]: the HTTP API and its OpenAPI paths ([`http::openapi`]).
//! - [`reference`]: validity per scheme, number abbreviations, issuer and LSPS names.

pub mod credential;
pub mod domain;
pub mod http;
pub mod reference;
pub mod service;
pub mod wire;
