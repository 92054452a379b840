//! Verification codes: eight characters printed on each certificate beside its number
//! (`7KQ2-M9XD`) and carried in its QR link. Public verification shows a certificate's details
//! (holder masked, scheme, validity, issuing body) only with its code; with the number alone
//! it says whether the certificate is valid, nothing more. Numbers follow a sequence, so
//! walking them must not collect every certificate.
//!
//! A code is an HMAC-SHA-256 of the number under a key derived from the issuer's signing key:
//! it cannot be computed from the number without that key, needs no storage (a replay of the
//! log or a restored backup gives the same codes), and is the same on every node. The first
//! 40 bits are written in Crockford's base 32 (digits and capitals without I, L, O, U), which
//! people read and type without confusing characters; typing is forgiving about case,
//! hyphens and spaces, and reads `O` as `0` and `I`/`L` as `1`. Rotating the issuer's signing
//! key changes every code, so keep the key (as for the credentials it signed).

use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Crockford's base 32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (40 bits).
pub const CODE_LENGTH: usize = 8;
/// Domain separation of the code key from the signing key's other uses.
const LABEL: &[u8] = b"kesos.certification.verification-code.v1";

/// The key codes are derived with. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

impl CodeKey {
    /// The code key of an issuer: SHA-256 of a label and the signing key's secret bytes.
    pub fn of_issuer(signing_key: &SigningKey) -> Self {
        let mut hash = Sha256::new();
        hash.update(LABEL);
        hash.update(signing_key.to_bytes());
        Self(hash.finalize().into())
    }

    /// The code of a certificate number (canonical text), as stored: eight characters.
    pub fn code(&self, number: &str) -> String {
        // An HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(number.as_bytes());
        let digest = mac.finalize().into_bytes();
        let bits = digest
            .iter()
            .take(5)
            .fold(0u64, |bits, byte| (bits << 8) | u64::from(*byte));
        (0..CODE_LENGTH)
            .map(|i| {
                let value = (bits >> (35 - 5 * i)) & 31;
                char::from(ALPHABET[usize::try_from(value).unwrap_or(0)])
            })
            .collect()
    }

    /// Whether `typed` is the code of `number` (forgiving about how it was typed; compared in
    /// constant time).
    pub fn matches(&self, number: &str, typed: &str) -> bool {
        let Some(typed) = normalize(typed) else {
            return false;
        };
        let code = self.code(number);
        code.len() == typed.len()
            && code
                .bytes()
                .zip(typed.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

/// A code as printed: `7KQ2-M9XD`.
pub fn printed(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(head), Some(tail)) if !tail.is_empty() => format!("{head}-{tail}"),
        _ => code.to_owned(),
    }
}

/// A typed code in its stored form, or `None` when it cannot be one.
pub fn normalize(typed: &str) -> Option<String> {
    let mut code = String::with_capacity(CODE_LENGTH);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || code.len() == CODE_LENGTH {
            return None;
        }
        code.push(c);
    }
    (code.len() == CODE_LENGTH).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CodeKey {
        CodeKey::of_issuer(&SigningKey::from_bytes(&[7; 32]))
    }

    #[test]
    fn a_code_is_eight_unambiguous_characters_and_differs_between_neighbouring_numbers() {
        let a = key().code("KSS-PSG-2026-000001-N");
        let b = key().code("KSS-PSG-2026-000002-L");
        assert_eq!(a.len(), CODE_LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, key().code("KSS-PSG-2026-000001-N"), "deterministic");
    }

    #[test]
    fn another_issuer_key_gives_other_codes() {
        let other = CodeKey::of_issuer(&SigningKey::from_bytes(&[8; 32]));
        assert_ne!(
            key().code("KSS-PSG-2026-000001-N"),
            other.code("KSS-PSG-2026-000001-N")
        );
    }

    #[test]
    fn a_code_is_recognised_however_it_is_typed_and_nothing_else_is() {
        let number = "KSS-PSG-2026-000001-N";
        let code = key().code(number);
        assert!(key().matches(number, &code));
        assert!(key().matches(number, &printed(&code).to_lowercase()));
        assert!(key().matches(number, &format!(" {} ", printed(&code))));
        assert!(!key().matches("KSS-PSG-2026-000002-L", &code));
        assert!(!key().matches(number, ""));
        assert!(!key().matches(number, &format!("{code}0")));
        assert!(!key().matches(number, "ÄÄÄÄÄÄÄÄ"));
    }
}
