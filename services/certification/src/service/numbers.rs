//! Handing out certificate numbers and status-list indexes, unique under concurrent issuance.
//!
//! Uniqueness is the store's: each certificate's first append takes the unique claims
//! `certification.number:<number>` and `certification.status-index:<n>` in its transaction,
//! so of two writers (in this process or another) that pick the same value, exactly one
//! succeeds and the other gets `ClaimTaken` and picks again ([`Numbers::taken`]). This
//! allocator only makes collisions rare: it counts on from the registry's highest value,
//! remembered per process. A value picked for an issuance that then failed is not reused, so
//! sequences may have gaps; numbers are unique, not dense.

use std::collections::HashMap;

use kesos_eventstore::{ClaimKey, StoreError};
use tokio::sync::Mutex;

use crate::domain::{CertificateNumber, NumberError};
use crate::service::error::CertificationError;
use crate::service::registry::Registry;

/// Scope of the number claims.
pub const NUMBER_SCOPE: &str = "certification.number";
/// Scope of the status-list index claims.
pub const INDEX_SCOPE: &str = "certification.status-index";
/// Scope of the holder claims: `certification.holder:<worker id>/<scheme code>` is taken by a
/// worker's first certificate of a scheme and kept for good, so an issuance that takes it
/// knows, in its own append, that it renews nothing (see `issue_batch`).
pub const HOLDER_SCOPE: &str = "certification.holder";

/// The next free values, per process.
#[derive(Default)]
pub struct Numbers {
    // A tokio Mutex: the first use of a key reads the registry while holding it, so
    // concurrent first uses agree on one starting point.
    sequences: Mutex<HashMap<(String, i32), u64>>,
    index: Mutex<Option<u64>>,
}

/// The claim key of a number.
pub fn number_claim(number: &CertificateNumber) -> Result<ClaimKey, CertificationError> {
    ClaimKey::parse(&format!("{NUMBER_SCOPE}:{number}"))
        .map_err(|e| CertificationError::Store(StoreError::Input(e)))
}

/// The holder claim of a worker and scheme (a worker id is no personal data).
pub fn holder_claim(worker: uuid::Uuid, scheme_code: &str) -> Result<ClaimKey, CertificationError> {
    ClaimKey::parse(&format!("{HOLDER_SCOPE}:{worker}/{scheme_code}"))
        .map_err(|e| CertificationError::Store(StoreError::Input(e)))
}

/// The claim key of a status-list index.
pub fn index_claim(index: u64) -> Result<ClaimKey, CertificationError> {
    ClaimKey::parse(&format!("{INDEX_SCOPE}:{index}"))
        .map_err(|e| CertificationError::Store(StoreError::Input(e)))
}

impl Numbers {
    /// The next number for a scheme abbreviation and year, skipping sequences whose check
    /// character would be `*`.
    pub async fn next_number(
        &self,
        registry: &Registry,
        abbreviation: &str,
        year: i32,
    ) -> Result<CertificateNumber, CertificationError> {
        let mut sequences = self.sequences.lock().await;
        let key = (abbreviation.to_owned(), year);
        let next = match sequences.get(&key) {
            Some(next) => *next,
            None => registry.max_sequence(abbreviation, year).await? + 1,
        };
        let mut sequence = next;
        loop {
            match CertificateNumber::new(abbreviation, year, sequence) {
                Ok(number) => {
                    sequences.insert(key, sequence + 1);
                    return Ok(number);
                }
                Err(NumberError::Skipped(_)) => sequence += 1,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The next status-list index.
    pub async fn next_index(&self, registry: &Registry) -> Result<u64, CertificationError> {
        let mut index = self.index.lock().await;
        let next = match *index {
            Some(next) => next,
            None => registry.max_status_index().await?.map_or(0, |max| max + 1),
        };
        *index = Some(next + 1);
        Ok(next)
    }

    /// Another writer holds `key`: move past it and past everything the registry has seen
    /// (call after a refresh), so the next pick is likely free.
    pub async fn taken(
        &self,
        registry: &Registry,
        key: &ClaimKey,
    ) -> Result<(), CertificationError> {
        let Some((scope, value)) = key.as_str().split_once(':') else {
            return Ok(());
        };
        if scope == INDEX_SCOPE {
            let seen = registry.max_status_index().await?.map_or(0, |max| max + 1);
            let taken = value.parse::<u64>().map_or(0, |v| v + 1);
            let mut index = self.index.lock().await;
            *index = Some(index.unwrap_or(0).max(seen).max(taken));
        } else if scope == NUMBER_SCOPE {
            let Ok(number) = CertificateNumber::parse(value) else {
                return Ok(());
            };
            let seen = registry
                .max_sequence(number.scheme(), number.year())
                .await?
                + 1;
            let mut sequences = self.sequences.lock().await;
            let next = sequences
                .entry((number.scheme().to_owned(), number.year()))
                .or_insert(1);
            *next = (*next).max(seen).max(number.sequence() + 1);
        }
        Ok(())
    }
}
