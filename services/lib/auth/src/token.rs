//! Bearer tokens: compact JWS (RFC 7515) with `alg: EdDSA` (Ed25519, RFC 8037), written by
//! hand on `ed25519-dalek` so that exactly one algorithm is ever accepted (no `alg: none`, no
//! HMAC confusion). The header names the key (`kid`), so several keys verify at once and a
//! key can be rotated without downtime: add the new public key to every server, start issuing
//! with it, drop the old one after the longest token lifetime.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::lifetime::{Lifetimes, describe};
use crate::principal::{Principal, Role};

/// The issuer every kesos token names.
pub const ISSUER: &str = "kesos";

/// Longest token accepted, in bytes: a header line is not a place for megabytes.
const MAX_TOKEN_LEN: usize = 4096;

/// Clock difference between servers tolerated on `nbf` and `exp`.
const LEEWAY: Duration = Duration::seconds(30);

/// The claims a kesos token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Issuer, always [`ISSUER`].
    pub iss: String,
    /// Audience: the deployment the token is for (`token_audience`).
    pub aud: String,
    /// Subject: the operator or system.
    pub sub: String,
    /// Role name (`central-operations`, `regional-dinas`, `lsps`, `auditor`).
    pub role: String,
    /// Region prefix, for a Dinas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// LSPS id, for LSPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsps: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Token id, for the access log and revocation lists.
    pub jti: String,
}

/// The JOSE header. Unknown members (`crit`, `jku`, `x5u`, …) are refused rather than
/// ignored: kesos never asks a verifier to fetch keys or honour extensions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    kid: String,
}

/// Why a token was refused. Each maps to 401; the variant is logged, never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, or too long.
    #[error("the token is malformed")]
    Malformed,
    /// The header names an algorithm other than EdDSA.
    #[error("the token's algorithm is not EdDSA")]
    Algorithm,
    /// No verification key has the header's `kid`.
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not match (forged or altered).
    #[error("the token's signature is invalid")]
    Signature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still ahead.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The audience is another deployment's.
    #[error("the token is for another audience")]
    Audience,
    /// The issuer is not kesos.
    #[error("the token is from another issuer")]
    Issuer,
    /// The role claims are not a valid role.
    #[error("the token's role is invalid: {0}")]
    Role(String),
    /// The token lives longer (`exp` − `iat`) than its role's maximum lifetime.
    #[error("the token lives longer than a {role} token may ({max} at most)")]
    Lifetime {
        /// The role's name.
        role: String,
        /// The role's maximum, as text.
        max: String,
    },
    /// The token's id is on the revocation list.
    #[error("the token was revoked")]
    Revoked,
}

/// A token that passed every check: who it names and its id (`jti`), which the revocation
/// list is keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The caller.
    pub principal: Principal,
    /// The token's id.
    pub jti: String,
}

/// A key's id: the first 8 bytes of SHA-256 over the public key, in hex. Derived, so a
/// verifier and an issuer agree on it without configuration.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn encode_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail; an empty object would fail verification.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Signs tokens with one key (an operator's `kesos token issue`).
pub struct TokenIssuer {
    key: SigningKey,
    kid: String,
}

impl TokenIssuer {
    /// An issuer signing with `key`.
    pub fn new(key: SigningKey) -> Self {
        let kid = key_id(&key.verifying_key());
        Self { key, kid }
    }

    /// The id verifiers know this key by.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// A token for `principal`, valid from `now` for `ttl`, for `audience`.
    pub fn issue(
        &self,
        principal: &Principal,
        audience: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> String {
        let iat = now.unix_timestamp();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            sub: principal.subject.clone(),
            role: principal.role.name().to_owned(),
            region: principal.role.region().map(|r| r.code().to_string()),
            lsps: principal.role.lsps().map(ToString::to_string),
            iat,
            nbf: iat,
            exp: iat + ttl.whole_seconds(),
            jti: Uuid::now_v7().to_string(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests build expired or foreign tokens with it).
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".to_owned(),
            typ: Some("JWT".to_owned()),
            kid: self.kid.clone(),
        };
        let input = format!("{}.{}", encode_json(&header), encode_json(claims));
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// Checks tokens against every trusted key, by `kid`.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    keys: HashMap<String, VerifyingKey>,
    audience: String,
    lifetimes: Lifetimes,
}

impl TokenVerifier {
    /// A verifier trusting `keys` for tokens addressed to `audience`, holding tokens to the
    /// default [`Lifetimes`].
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>, audience: impl Into<String>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (key_id(&k), k)).collect(),
            audience: audience.into(),
            lifetimes: Lifetimes::default(),
        }
    }

    /// The same verifier, refusing tokens that live longer than `lifetimes` allows their role.
    #[must_use]
    pub fn with_lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// How many keys it trusts.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The principal a token names, if the token is well-formed, signed by a trusted key,
    /// addressed to this audience by kesos, valid at `now`, and no longer-lived than its role
    /// allows (the revocation list is the gate's to check, with [`TokenVerifier::verify_token`]).
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, TokenError> {
        self.verify_token(token, now)
            .map(|verified| verified.principal)
    }

    /// [`TokenVerifier::verify`], also giving the token's id.
    pub fn verify_token(&self, token: &str, now: OffsetDateTime) -> Result<Verified, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signed = &token[..header.len() + 1 + payload.len()];
        let header: Header = decode_json(header)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let key = self.keys.get(&header.kid).ok_or(TokenError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .map(|bytes| Signature::from_bytes(&bytes))
            .ok_or(TokenError::Malformed)?;
        // Strict: refuses a weak (small-order) key and a non-canonical signature, which the
        // plain check lets through (a trusted-keys file holding the identity point would
        // otherwise accept a forged token for any claims).
        key.verify_strict(signed.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = decode_json(payload)?;
        self.check(&claims, now)?;
        let role = Role::from_parts(
            &claims.role,
            claims.region.as_deref(),
            claims.lsps.as_deref(),
        )
        .map_err(|e| TokenError::Role(e.to_string()))?;
        if role == Role::Public || claims.sub.is_empty() || claims.sub.len() > 200 {
            return Err(TokenError::Role("no subject or a public role".to_owned()));
        }
        let max = self.lifetimes.max_for(&role);
        let issued = claims.iat.min(claims.nbf);
        if claims.exp.saturating_sub(issued) > max.whole_seconds() {
            return Err(TokenError::Lifetime {
                role: role.name().to_owned(),
                max: describe(max),
            });
        }
        if claims.jti.is_empty() || claims.jti.len() > 200 {
            return Err(TokenError::Malformed);
        }
        Ok(Verified {
            principal: Principal {
                subject: claims.sub,
                role,
            },
            jti: claims.jti,
        })
    }

    fn check(&self, claims: &Claims, now: OffsetDateTime) -> Result<(), TokenError> {
        let now = now.unix_timestamp();
        if claims.iss != ISSUER {
            return Err(TokenError::Issuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::Audience);
        }
        if now >= claims.exp + LEEWAY.whole_seconds() {
            return Err(TokenError::Expired);
        }
        if now + LEEWAY.whole_seconds() < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

/// The `jti` of a token, read without checking anything (for `kesos token revoke`, which may
/// be handed the whole token: withdrawing a token needs no trust in it).
pub fn unverified_jti(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let payload = token.trim().split('.').nth(1)?;
    decode_json::<Claims>(payload).ok().map(|claims| claims.jti)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn central() -> Principal {
        Principal {
            subject: "siti".to_owned(),
            role: Role::CentralOperations,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn a_token_from_a_trusted_key_names_its_principal() {
        let issuer = TokenIssuer::new(key(1));
        let token = issuer.issue(&central(), "kesos", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&token, now()), Ok(central()));
    }

    #[test]
    fn a_scoped_role_survives_the_round_trip() {
        let dinas = Principal {
            subject: "budi".to_owned(),
            role: Role::from_parts("regional-dinas", Some("32.77"), None).unwrap(),
        };
        let token = TokenIssuer::new(key(1)).issue(&dinas, "kesos", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&token, now()), Ok(dinas));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = TokenIssuer::new(key(1)).issue(&central(), "kesos", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        let later = now() + Duration::hours(1) + LEEWAY;
        assert_eq!(verifier.verify(&token, later), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let token = TokenIssuer::new(key(1)).issue(&central(), "other", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&token, now()), Err(TokenError::Audience));
    }

    #[test]
    fn a_token_signed_by_an_untrusted_key_is_refused() {
        let token = TokenIssuer::new(key(2)).issue(&central(), "kesos", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&token, now()), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_forged_token_under_a_trusted_kid_is_refused() {
        // The forger copies the trusted key's id into a token it signs with its own key.
        let trusted = TokenIssuer::new(key(1));
        let genuine = trusted.issue(&central(), "kesos", now(), Duration::hours(1));
        let forger = TokenIssuer {
            key: key(2),
            kid: trusted.key_id().to_owned(),
        };
        let forged = forger.issue(&central(), "kesos", now(), Duration::hours(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&forged, now()), Err(TokenError::Signature));
        assert!(verifier.verify(&genuine, now()).is_ok());
    }

    #[test]
    fn a_token_under_a_weak_trusted_key_with_a_trivial_signature_is_refused() {
        // The identity point: a valid encoding, of small order. R = identity and S = 0 satisfy
        // the plain (cofactorless) equation for every message; the strict check refuses them.
        let mut identity = [0_u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let genuine =
            TokenIssuer::new(key(1)).issue(&central(), "kesos", now(), Duration::hours(1));
        let mut parts = genuine.split('.');
        let mut header: serde_json::Value = decode_json(parts.next().unwrap()).unwrap();
        header["kid"] = serde_json::Value::String(key_id(&weak));
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        let payload = parts.next().unwrap();
        let mut trivial = [0_u8; 64];
        trivial[..32].copy_from_slice(&identity);
        let forged = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(trivial));
        let verifier = TokenVerifier::new([weak], "kesos");
        assert_eq!(verifier.verify(&forged, now()), Err(TokenError::Signature));
    }

    #[test]
    fn a_token_whose_claims_were_changed_is_refused() {
        let dinas = Principal {
            subject: "budi".to_owned(),
            role: Role::from_parts("regional-dinas", Some("32.77"), None).unwrap(),
        };
        let token = TokenIssuer::new(key(1)).issue(&dinas, "kesos", now(), Duration::hours(1));
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Claims = decode_json(parts[1]).unwrap();
        claims.role = "central-operations".to_owned();
        claims.region = None;
        let altered = format!("{}.{}.{}", parts[0], encode_json(&claims), parts[2]);
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(verifier.verify(&altered, now()), Err(TokenError::Signature));
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x"}"#);
        let token = TokenIssuer::new(key(1)).issue(&central(), "kesos", now(), Duration::hours(1));
        let payload = token.split('.').nth(1).unwrap();
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        let unsigned = format!("{header}.{payload}.");
        assert_eq!(
            verifier.verify(&unsigned, now()),
            Err(TokenError::Algorithm)
        );
        assert_eq!(
            verifier.verify("not a token", now()),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_header_asking_to_fetch_a_key_is_refused() {
        let issuer = TokenIssuer::new(key(1));
        let token = issuer.issue(&central(), "kesos", now(), Duration::hours(1));
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"EdDSA","kid":"{}","jku":"https://evil"}}"#,
            issuer.key_id()
        ));
        let rest = token.split_once('.').unwrap().1;
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos");
        assert_eq!(
            verifier.verify(&format!("{header}.{rest}"), now()),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_token_living_longer_than_its_roles_maximum_is_refused() {
        let issuer = TokenIssuer::new(key(1));
        let verifier = TokenVerifier::new([key(1).verifying_key()], "kesos")
            .with_lifetimes(Lifetimes::new(Duration::hours(8), Duration::days(30)));
        let long = issuer.issue(&central(), "kesos", now(), Duration::days(366));
        assert!(matches!(
            verifier.verify(&long, now()),
            Err(TokenError::Lifetime { .. })
        ));
        let day = issuer.issue(&central(), "kesos", now(), Duration::hours(9));
        assert!(matches!(
            verifier.verify(&day, now()),
            Err(TokenError::Lifetime { .. })
        ));
        let shift = issuer.issue(&central(), "kesos", now(), Duration::hours(8));
        assert!(verifier.verify(&shift, now()).is_ok());
        let lsps = Principal {
            subject: "system".to_owned(),
            role: Role::from_parts("lsps", None, Some("LSPS-PEKSOS")).unwrap(),
        };
        let machine = issuer.issue(&lsps, "kesos", now(), Duration::days(30));
        assert!(verifier.verify(&machine, now()).is_ok());
    }

    #[test]
    fn tokens_of_the_old_and_the_new_key_both_verify_during_a_rotation() {
        let old = TokenIssuer::new(key(1)).issue(&central(), "kesos", now(), Duration::hours(1));
        let new = TokenIssuer::new(key(2)).issue(&central(), "kesos", now(), Duration::hours(1));
        let both = TokenVerifier::new([key(1).verifying_key(), key(2).verifying_key()], "kesos");
        assert!(both.verify(&old, now()).is_ok());
        assert!(both.verify(&new, now()).is_ok());
        let after = TokenVerifier::new([key(2).verifying_key()], "kesos");
        assert_eq!(after.verify(&old, now()), Err(TokenError::UnknownKey));
        assert!(after.verify(&new, now()).is_ok());
    }
}
