//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C VC Data Integrity EdDSA
//! Cryptosuites v1.0), and `did:key` identifiers for Ed25519 keys.
//!
//! Signing, as the cryptosuite specifies: the proof options (the proof without `proofValue`,
//! with the document's `@context`) and the document without its proof are each canonicalised
//! with JCS ([`super::jcs`]) and hashed with SHA-256; the Ed25519 signature is over the two
//! hashes, options first; `proofValue` is that signature in multibase base58btc (`z…`). The
//! verification method is the issuer's `did:key` (multicodec `0xed01` + the public key,
//! base58btc), with its own fragment.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::credential::CredentialError;
use crate::credential::jcs::{base58_decode, base58_encode, canonical};

/// The multicodec prefix of an Ed25519 public key.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// The `did:key` of an Ed25519 public key: `did:key:z6Mk…`.
pub fn did_key(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("did:key:z{}", base58_encode(&bytes))
}

/// The verification method of a key: its `did:key` with the key as fragment.
pub fn verification_method(key: &VerifyingKey) -> String {
    let did = did_key(key);
    let fragment = did.trim_start_matches("did:key:").to_owned();
    format!("{did}#{fragment}")
}

/// The public key a `did:key` (or its verification method) names.
pub fn key_of_did(text: &str) -> Result<VerifyingKey, CredentialError> {
    let bad = || {
        CredentialError::UnsupportedProof(format!(
            "verification method {text:?} is not an Ed25519 did:key"
        ))
    };
    let did = text.split('#').next().unwrap_or_default();
    let encoded = did.strip_prefix("did:key:z").ok_or_else(bad)?;
    let bytes = base58_decode(encoded).ok_or_else(bad)?;
    let key = bytes.strip_prefix(&ED25519_PUB).ok_or_else(bad)?;
    let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
    VerifyingKey::from_bytes(&key).map_err(|_| bad())
}

fn hash_data(options: &Value, document: &Value) -> Vec<u8> {
    let mut data = Sha256::digest(canonical(options).as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(canonical(document).as_bytes()));
    data
}

fn options_with_context(proof: &Map<String, Value>, document: &Map<String, Value>) -> Value {
    let mut options = proof.clone();
    options.remove("proofValue");
    if let Some(context) = document.get("@context") {
        options.insert("@context".to_owned(), context.clone());
    }
    Value::Object(options)
}

/// Adds an `eddsa-jcs-2022` proof to `document` (an object without one), made `created`
/// (an XML Schema date-time) by `key`.
pub fn sign(document: Map<String, Value>, key: &SigningKey, created: &str) -> Value {
    let proof = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method(&key.verifying_key()),
        "proofPurpose": "assertionMethod",
    });
    let proof = match proof {
        Value::Object(proof) => proof,
        _ => Map::new(),
    };
    let options = options_with_context(&proof, &document);
    let signature = key.sign(&hash_data(&options, &Value::Object(document.clone())));
    let mut proof = proof;
    proof.insert(
        "proofValue".to_owned(),
        Value::String(format!("z{}", base58_encode(&signature.to_bytes()))),
    );
    let mut signed = document;
    signed.insert("proof".to_owned(), Value::Object(proof));
    Value::Object(signed)
}

fn text<'a>(proof: &'a Map<String, Value>, member: &str) -> Result<&'a str, CredentialError> {
    proof
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| CredentialError::UnsupportedProof(format!("the proof has no {member}")))
}

/// Checks the proof of a signed document: a trusted key, the cryptosuite, and a signature
/// over exactly this content. Returns the document without its proof, and the key.
pub fn verify(
    signed: &Value,
    trusted: &[VerifyingKey],
) -> Result<(Map<String, Value>, VerifyingKey), CredentialError> {
    let mut document = signed
        .as_object()
        .cloned()
        .ok_or_else(|| CredentialError::Malformed("a credential is a JSON object".into()))?;
    let proof = match document.remove("proof") {
        Some(Value::Object(proof)) => proof,
        Some(_) => {
            return Err(CredentialError::UnsupportedProof(
                "the proof is not one object".into(),
            ));
        }
        None => return Err(CredentialError::Unsigned),
    };
    if text(&proof, "type")? != "DataIntegrityProof" || text(&proof, "cryptosuite")? != CRYPTOSUITE
    {
        return Err(CredentialError::UnsupportedProof(format!(
            "only DataIntegrityProof with {CRYPTOSUITE} is supported"
        )));
    }
    if text(&proof, "proofPurpose")? != "assertionMethod" {
        return Err(CredentialError::UnsupportedProof(
            "the proof's purpose is not assertionMethod".into(),
        ));
    }
    let key = key_of_did(text(&proof, "verificationMethod")?)?;
    if !trusted.contains(&key) {
        return Err(CredentialError::UntrustedKey(did_key(&key)));
    }
    let value = text(&proof, "proofValue")?;
    let signature = value
        .strip_prefix('z')
        .and_then(base58_decode)
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .ok_or_else(|| {
            CredentialError::UnsupportedProof(
                "proofValue is not a base58btc Ed25519 signature".into(),
            )
        })?;
    let options = options_with_context(&proof, &document);
    key.verify_strict(
        &hash_data(&options, &Value::Object(document.clone())),
        &signature,
    )
    .map_err(|_| CredentialError::BadSignature)?;
    Ok((document, key))
}
