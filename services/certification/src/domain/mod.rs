//! The pure core of certification: numbers with check characters, the certificate aggregate
//! and its lifecycle, validity periods and name masking. No I/O, clock or randomness; no sqlx,
//! axum, async-nats or prost.

pub mod certificate;
pub mod names;
pub mod number;
pub mod types;

#[cfg(test)]
mod tests;

pub use certificate::{
    Certificate, CertificateChange, CertificateCommand, CertificateError, CertificateEvent,
    Issuance, MAX_VALIDITY_YEARS, valid_until,
};
pub use number::{CertificateNumber, NumberError};
pub use types::{
    CertificateId, Reason, ReasonError, RevocationCategory, SchemeRef, Status, WorkerId,
    derive_uuid,
};
