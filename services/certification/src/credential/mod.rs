//! Signed exports: each certificate as a W3C Verifiable Credential 2.0 (JSON), the issuer's
//! W3C Bitstring Status Lists, a printable HTML page with a QR code, and the offline check of
//! an exported credential ([`verify_credential`]).
//!
//! What is standard and what is kesos's own, said plainly:
//! - **Standard**: the VC 2.0 data model (`@context` v2, `type`, `issuer`, `validFrom`,
//!   `validUntil`, `credentialSubject`, `credentialStatus`), `BitstringStatusListEntry` /
//!   `BitstringStatusListCredential` (gzip, base64url multibase `u`, at least 131,072 bits, bit 0
//!   the most significant bit of the first byte), the `DataIntegrityProof` with the
//!   `eddsa-jcs-2022` cryptosuite (JCS + SHA-256 + Ed25519, `proofValue` base58btc), and the
//!   issuer as an Ed25519 `did:key`.
//! - **kesos's own**: the credential type `KesosCompetencyCertificate` and the subject's members
//!   (`certificateNumber`, `scheme`, `certifiedBy`, `basis`, `verificationUrl`). kesos publishes
//!   no JSON-LD context for them, so they fall under VC 2.0's issuer-dependent `@vocab`; a
//!   JSON-LD processor reads them as such, and JCS proofs do not need one.
//! - **Trust**: a `did:key` only names a key; whether that key is Kemensos's is decided by the
//!   verifier's list of trusted keys (the issuer's public keys, as `kesos key public` prints
//!   them).
//! - **Canonical form**: JCS (RFC 8785) comes from `serde_json_canonicalizer`, numbers written
//!   as ECMAScript writes them, so an integer beyond 2^53 is written as its nearest double
//!   (kesos credentials hold no numbers at all: the status list index is text).

pub mod html;
pub mod proof;
pub mod status_list;

use serde::Serialize;
use serde_json::Value;

/// The issuer's key types, re-exported so callers need no direct `ed25519-dalek` dependency.
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use proof::{did_key, key_of_did};

/// The credential type kesos certificates carry besides `VerifiableCredential`.
pub const CERTIFICATE_TYPE: &str = "KesosCompetencyCertificate";
/// The VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// Why an exported credential does not verify. Each says what is wrong, never "invalid".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not JSON, or not shaped like a kesos certificate.
    #[error("not a kesos certificate credential: {0}")]
    Malformed(String),
    /// No proof at all.
    #[error("the credential is not signed: it has no proof")]
    Unsigned,
    /// A proof kesos does not make or cannot read.
    #[error("the proof is not supported: {0}")]
    UnsupportedProof(String),
    /// Signed by a key that is not among the trusted ones.
    #[error("the credential is signed by {0}, which is not a trusted issuer key")]
    UntrustedKey(String),
    /// The signature does not match the content: the credential was altered after signing.
    #[error(
        "the signature does not match the content: the credential was altered after it was signed"
    )]
    BadSignature,
}

/// What an intact, trusted certificate credential says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedCredential {
    /// The certificate number.
    pub number: String,
    /// The holder's name as exported (`(data erased)` for an erased holder).
    pub holder_name: String,
    /// Scheme code.
    pub scheme_code: String,
    /// Scheme name.
    pub scheme_name: String,
    /// Level.
    pub level: String,
    /// `validFrom`.
    pub valid_from: String,
    /// `validUntil`.
    pub valid_until: String,
    /// The issuer's name.
    pub issuer_name: String,
    /// The issuer's `did:key`.
    pub issuer: String,
    /// The certification body.
    pub certified_by: String,
    /// Where the revocation status is published (check it online: a signature cannot say a
    /// certificate was not revoked since).
    pub status_list: Option<String>,
}

fn member<'a>(value: &'a Value, path: &[&str]) -> Result<&'a str, CredentialError> {
    path.iter()
        .try_fold(value, |value, name| value.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| CredentialError::Malformed(format!("{} is missing", path.join("."))))
}

/// Checks an exported certificate credential offline: JSON, a kesos certificate, an
/// `eddsa-jcs-2022` proof by one of the `trusted` keys, and a signature over exactly this
/// content (any change to any member fails). Validity dates and revocation are reported, not
/// judged: the status list is online.
pub fn verify_credential(
    json: &[u8],
    trusted: &[VerifyingKey],
) -> Result<VerifiedCredential, CredentialError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| CredentialError::Malformed(format!("not JSON: {e}")))?;
    let (document, key) = proof::verify(&value, trusted)?;
    let document = Value::Object(document);
    let types = document.get("type").and_then(Value::as_array);
    if !types.is_some_and(|t| t.iter().any(|t| t.as_str() == Some(CERTIFICATE_TYPE))) {
        return Err(CredentialError::Malformed(format!(
            "its type does not include {CERTIFICATE_TYPE}"
        )));
    }
    let issuer = member(&document, &["issuer", "id"])?;
    if issuer != did_key(&key) {
        return Err(CredentialError::Malformed(
            "the issuer is not the key that signed the credential".into(),
        ));
    }
    let status_list = document
        .get("credentialStatus")
        .and_then(Value::as_array)
        .and_then(|entries| entries.first())
        .and_then(|entry| entry.get("statusListCredential"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(VerifiedCredential {
        number: member(&document, &["credentialSubject", "certificateNumber"])?.to_owned(),
        holder_name: member(&document, &["credentialSubject", "name"])?.to_owned(),
        scheme_code: member(&document, &["credentialSubject", "scheme", "code"])?.to_owned(),
        scheme_name: member(&document, &["credentialSubject", "scheme", "name"])?.to_owned(),
        level: member(&document, &["credentialSubject", "scheme", "level"])?.to_owned(),
        valid_from: member(&document, &["validFrom"])?.to_owned(),
        valid_until: member(&document, &["validUntil"])?.to_owned(),
        issuer_name: member(&document, &["issuer", "name"])?.to_owned(),
        issuer: issuer.to_owned(),
        certified_by: member(&document, &["credentialSubject", "certifiedBy", "name"])?.to_owned(),
        status_list,
    })
}
