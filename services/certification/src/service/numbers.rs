//! Handing out certificate numbers and status-list indexes, unique under concurrent issuance.
//!
//! Uniqueness is the store's: each certificate's first append takes the unique claims
//! `certification.number:<number>` and `certification.status-index:<n>` in its transaction,
//! so of two writers (in this process or another) that pick the same value, exactly one
//! succeeds and the other gets `ClaimTaken` and picks again ([`Numbers::taken`]). For numbers
//! this allocator only makes collisions rare: it counts on from the registry's highest value,
//! remembered per process. A value picked for an issuance that then failed is not reused, so
//! sequences may have gaps; numbers are unique, not dense.
//!
//! Status-list indexes are drawn at random, as the W3C Bitstring Status List recommends, so an
//! index says nothing about when a certificate was issued or which certificates are its
//! neighbours: uniformly from a space at least twice the number of certificates (so a draw hits
//! a free index at least half the time) and never smaller than the smallest list
//! ([`MIN_BITS`], 131,072). Certificates issued when indexes were handed out in order keep
//! theirs: they are in the space too.

use std::collections::HashMap;

use kesos_eventstore::{ClaimKey, StoreError};
use rand::Rng;
use tokio::sync::Mutex;

use crate::credential::status_list::MIN_BITS;
use crate::domain::{CertificateId, CertificateNumber, NumberError};
use crate::projections::Registry;
use crate::service::error::CertificationError;

/// Scope of the number claims.
pub const NUMBER_SCOPE: &str = "certification.number";
/// Scope of the status-list index claims.
pub const INDEX_SCOPE: &str = "certification.status-index";
/// Scope of the successor claims: `certification.successor:<certificate id>` is taken by the
/// one certificate issued next after it for the same worker and scheme (its renewal). With the
/// holder claim on the first, a worker's certificates of a scheme form one line, each the
/// successor of the one before, so at most one of them (the last) is current: two renewals
/// decided at the same instant cannot both take the successor claim of the same certificate,
/// and the loser renews the winner instead.
pub const SUCCESSOR_SCOPE: &str = "certification.successor";
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
    // How many status-list indexes are in use, as far as this process knows (the registry's
    // count at first use, plus what it handed out since).
    indexes_used: Mutex<Option<u64>>,
}

/// The space status-list indexes are drawn from when `used` are in use: a multiple of
/// [`MIN_BITS`], at least twice `used`.
pub fn index_space(used: u64) -> u64 {
    let wanted = used.saturating_mul(2).max(1);
    wanted.div_ceil(MIN_BITS).saturating_mul(MIN_BITS)
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

/// The successor claim of a certificate (see [`SUCCESSOR_SCOPE`]).
pub fn successor_claim(certificate: CertificateId) -> Result<ClaimKey, CertificationError> {
    ClaimKey::parse(&format!("{SUCCESSOR_SCOPE}:{certificate}"))
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

    /// A status-list index drawn at random (see the module docs); the index claim in the
    /// issuance's append decides whether it is free.
    pub async fn next_index(&self, registry: &Registry) -> Result<u64, CertificationError> {
        let mut used = self.indexes_used.lock().await;
        let count = match *used {
            Some(count) => count,
            None => registry.count().await?,
        } + 1;
        *used = Some(count);
        let space = index_space(count);
        Ok(rand::thread_rng().gen_range(0..space))
    }

    /// Another writer holds `key`: move past it and past everything the registry has seen
    /// (call once the registry has reached the log's head), so the next pick is likely free.
    pub async fn taken(
        &self,
        registry: &Registry,
        key: &ClaimKey,
    ) -> Result<(), CertificationError> {
        let Some((scope, value)) = key.as_str().split_once(':') else {
            return Ok(());
        };
        if scope == INDEX_SCOPE {
            // Drawn again at random; other processes may have issued more than this one knows.
            let seen = registry.count().await?;
            let mut used = self.indexes_used.lock().await;
            *used = Some(used.unwrap_or(0).max(seen));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_drawn_from_at_least_the_smallest_list_and_twice_the_certificates() {
        assert_eq!(index_space(0), MIN_BITS);
        assert_eq!(index_space(1), MIN_BITS);
        assert_eq!(index_space(MIN_BITS / 2), MIN_BITS);
        assert_eq!(index_space(MIN_BITS / 2 + 1), 2 * MIN_BITS);
        assert_eq!(index_space(MIN_BITS), 2 * MIN_BITS);
    }
}
