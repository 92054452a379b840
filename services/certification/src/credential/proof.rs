//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C VC Data Integrity EdDSA
//! Cryptosuites v1.0), and `did:key` identifiers for Ed25519 keys.
//!
//! Signing, as the cryptosuite specifies: the proof options (the proof without `proofValue`,
//! with the document's `@context`) and the document without its proof are each canonicalised
//! with JCS (RFC 8785, by `serde_json_canonicalizer`) and hashed with SHA-256; the Ed25519
//! signature is over the two hashes, options first; `proofValue` is that signature in multibase
//! base58btc (`z…`, by `bs58`, whose default alphabet is Bitcoin's). The verification method is
//! the issuer's `did:key` (multicodec `0xed01` + the public key, base58btc), with its own
//! fragment.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::credential::CredentialError;

/// The multicodec prefix of an Ed25519 public key.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// The `did:key` of an Ed25519 public key: `did:key:z6Mk…`.
pub fn did_key(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("did:key:z{}", bs58::encode(bytes).into_string())
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
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| bad())?;
    let key = bytes.strip_prefix(&ED25519_PUB).ok_or_else(bad)?;
    let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
    VerifyingKey::from_bytes(&key).map_err(|_| bad())
}

/// The JCS (RFC 8785) text of `value`. JCS refuses only non-finite numbers and repeated member
/// names, neither of which a `serde_json::Value` can hold, so this fails only in theory.
fn canonical(value: &Value) -> Result<Vec<u8>, CredentialError> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| CredentialError::Malformed(format!("it cannot be canonicalised (JCS): {e}")))
}

fn hash_data(options: &Value, document: &Value) -> Result<Vec<u8>, CredentialError> {
    let mut data = Sha256::digest(canonical(options)?).to_vec();
    data.extend_from_slice(&Sha256::digest(canonical(document)?));
    Ok(data)
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
/// (an XML Schema date-time) by `key`. Should the document not canonicalise (see
/// [`canonical`]: not for a `Value`), it is returned without a proof, logged, so that a verifier
/// calls it unsigned: never a proof over other content than the document's.
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
    let data = match hash_data(&options, &Value::Object(document.clone())) {
        Ok(data) => data,
        Err(error) => {
            tracing::error!(%error, "a credential was left unsigned");
            return Value::Object(document);
        }
    };
    let signature = key.sign(&data);
    let mut proof = proof;
    proof.insert(
        "proofValue".to_owned(),
        Value::String(format!(
            "z{}",
            bs58::encode(signature.to_bytes()).into_string()
        )),
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
        .and_then(|text| bs58::decode(text).into_vec().ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .ok_or_else(|| {
            CredentialError::UnsupportedProof(
                "proofValue is not a base58btc Ed25519 signature".into(),
            )
        })?;
    let options = options_with_context(&proof, &document);
    key.verify_strict(
        &hash_data(&options, &Value::Object(document.clone()))?,
        &signature,
    )
    .map_err(|_| CredentialError::BadSignature)?;
    Ok((document, key))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;

    fn jcs(value: &Value) -> String {
        String::from_utf8(canonical(value).unwrap()).unwrap()
    }

    #[test]
    fn members_are_sorted_and_whitespace_dropped() {
        let value = json!({ "b": [1, true, null], "a": { "z": "x", "é": 2, "A": -3 } });
        assert_eq!(
            jcs(&value),
            r#"{"a":{"A":-3,"z":"x","é":2},"b":[1,true,null]}"#
        );
    }

    #[test]
    fn members_are_sorted_by_utf16_code_units_not_by_utf8_bytes() {
        // U+1F600 is the surrogate pair D83D DE00, before U+FB01 in UTF-16 (after it in UTF-8).
        let value = json!({ "\u{fb01}": 1, "😀": 2, "€": 3 });
        assert_eq!(jcs(&value), r#"{"€":3,"😀":2,"ﬁ":1}"#);
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        assert_eq!(jcs(&json!("a\"b\\c\nd\u{1}é/")), r#""a\"b\\c\nd\u0001é/""#);
    }

    #[test]
    fn numbers_are_written_as_ecmascript_writes_them() {
        let value = json!([0, -1, 1e21, 2.5e-7, 1.5, -0.0, 100.0]);
        assert_eq!(jcs(&value), "[0,-1,1e+21,2.5e-7,1.5,0,100]");
    }

    #[test]
    fn base58_round_trips_and_keeps_leading_zeros() {
        for bytes in [
            vec![],
            vec![0, 0, 1, 2, 255],
            vec![255; 40],
            (0..=255).collect::<Vec<u8>>(),
        ] {
            let text = bs58::encode(&bytes).into_string();
            assert_eq!(bs58::decode(&text).into_vec().unwrap(), bytes);
        }
        assert_eq!(
            bs58::encode(b"hello world").into_string(),
            "StV1DL6CwTryKyV"
        );
        assert!(bs58::decode("0OIl").into_vec().is_err());
    }

    /// A credential signed before JCS and base58 came from crates (with the hand-written
    /// canonicaliser): names out of UTF-8 order, escapes, non-ASCII text and numbers.
    const SIGNED: &str = include_str!("testdata/signed_credential.json");
    /// The seed of the key that signed it.
    const SEED: [u8; 32] = [7; 32];

    #[test]
    fn a_credential_signed_before_the_swap_still_verifies() {
        let key = SigningKey::from_bytes(&SEED);
        let signed: Value = serde_json::from_str(SIGNED).unwrap();
        let (_, by) = verify(&signed, &[key.verifying_key()]).unwrap();
        assert_eq!(by, key.verifying_key());
        assert_eq!(
            signed["issuer"]["id"],
            "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z"
        );
    }

    #[test]
    fn signing_the_same_content_again_gives_the_same_proof() {
        // Ed25519 is deterministic: the same proof value means the same canonical text.
        let key = SigningKey::from_bytes(&SEED);
        let signed: Value = serde_json::from_str(SIGNED).unwrap();
        let mut document = signed.as_object().cloned().unwrap();
        let proof = document.remove("proof").unwrap();
        let again = sign(document, &key, proof["created"].as_str().unwrap());
        assert_eq!(again, signed);
    }

    #[test]
    fn a_did_key_names_the_key_it_was_made_of() {
        let key = SigningKey::from_bytes(&SEED).verifying_key();
        assert_eq!(key_of_did(&verification_method(&key)).unwrap(), key);
        assert!(key_of_did("did:key:z0OIl").is_err());
    }
}
