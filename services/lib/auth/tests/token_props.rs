//! Property tests of token verification (issue 21, item 10): any text is verified or refused
//! without a panic, an issued token verifies to its principal, and no changed byte of it
//! verifies. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-auth -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use ed25519_dalek::SigningKey;
    use kesos_auth::{Principal, Role, TokenIssuer, TokenVerifier};
    use proptest::prelude::*;
    use time::{Duration, OffsetDateTime};

    const AUDIENCE: &str = "kesos-test";

    fn pair(seed: [u8; 32]) -> (TokenIssuer, TokenVerifier) {
        let key = SigningKey::from_bytes(&seed);
        let verifier = TokenVerifier::new([key.verifying_key()], AUDIENCE);
        (TokenIssuer::new(key), verifier)
    }

    fn principal(subject: String, auditor: bool) -> Principal {
        Principal {
            subject,
            role: if auditor {
                Role::Auditor
            } else {
                Role::CentralOperations
            },
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    proptest! {
        #[test]
        fn any_text_is_refused_without_a_panic(text in any::<String>()) {
            let (_, verifier) = pair([7; 32]);
            prop_assert!(verifier.verify(&text, now()).is_err());
        }

        #[test]
        fn any_three_base64_parts_are_refused_without_a_panic(
            parts in proptest::collection::vec("[A-Za-z0-9_-]{0,120}", 3),
        ) {
            let (_, verifier) = pair([7; 32]);
            prop_assert!(verifier.verify(&parts.join("."), now()).is_err());
        }

        #[test]
        fn an_issued_token_verifies_to_its_principal(
            seed in any::<[u8; 32]>(),
            subject in "[a-z0-9@.]{1,40}",
            auditor in any::<bool>(),
            hours in 1i64..24,
        ) {
            let (issuer, verifier) = pair(seed);
            let principal = principal(subject, auditor);
            let token = issuer.issue(&principal, AUDIENCE, now(), Duration::hours(hours));
            prop_assert_eq!(verifier.verify(&token, now()).unwrap(), principal);
        }

        #[test]
        fn an_issued_token_with_any_byte_changed_is_refused(
            subject in "[a-z0-9@.]{1,40}",
            at in any::<prop::sample::Index>(),
            replacement in any::<u8>(),
        ) {
            let (issuer, verifier) = pair([9; 32]);
            let token = issuer.issue(&principal(subject, false), AUDIENCE, now(), Duration::hours(1));
            let mut bytes = token.into_bytes();
            let i = at.index(bytes.len());
            prop_assume!(bytes[i] != replacement);
            bytes[i] = replacement;
            let changed = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(verifier.verify(&changed, now()).is_err());
        }
    }
}
