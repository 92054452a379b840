//! The certification service: every Kompeten decision yields exactly one competency
//! certificate, with a number people can type and read over the phone; certificates are
//! suspended, reinstated, revoked, expire and are renewed; anyone can verify a number; relying
//! parties read the W3C Bitstring Status Lists; each certificate exports as a signed W3C
//! Verifiable Credential and as a printable page with a QR code.
//!
//! - [`domain`]: pure rules (decide/evolve), numbers with check characters
//!   ([`domain::number`] documents the format), validity, name masking.
//! - [`wire`]: domain events <-> `kesos.certification.v1` protobuf; the consumed events.
//! - [`service`]: the commands: issuance from decisions ([`service::Intake`]), lifecycle
//!   commands, the expiry job; and the reads built on the registry (verification, lists,
//!   exports), which never write.
//! - [`projections`]: the certificate registry, a `kesos_readside` projection run by the
//!   projector the service starts, and its reads.
//! - [`http`]: the HTTP API and its OpenAPI paths ([`http::openapi()`]).
//! - [`credential`]: the formats of the exports — Verifiable Credentials (JCS, Ed25519 proof),
//!   status lists, the printable page — and [`credential::verify_credential`] for offline
//!   checks. No I/O and no certificate rule, so neither domain nor HTTP: the service builds
//!   exports with it and `kesos cert verify` checks them offline with it.
//! - [`reference`]: validity per scheme, number abbreviations, issuer and LSPS names (the
//!   reference data the service is built with).

pub mod credential;
pub mod domain;
pub mod http;
pub mod projections;
pub mod reference;
pub mod service;
pub mod wire;
