//! The certificate's rules, one given/when/then scenario per rule, and the number's check
//! character tested exhaustively on samples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_aggregate::testing::given;
use time::macros::date;
use uuid::Uuid;

use super::number::{check_character, passes_check};
use super::*;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn id(n: u128) -> CertificateId {
    CertificateId(Uuid::from_u128(n))
}

fn number() -> CertificateNumber {
    CertificateNumber::new("PSG", 2026, 123).unwrap()
}

fn issuance() -> Issuance {
    Issuance {
        certificate_id: id(1),
        number: number(),
        worker_id: WorkerId(Uuid::from_u128(7)),
        scheme: SchemeRef {
            code: "PEKSOS-GENERALIS".into(),
            category: "PEKSOS".into(),
            level: "GENERALIS".into(),
        },
        basis_decision_event_id: Uuid::from_u128(99),
        lsps_id: "LSPS-PEKSOS".into(),
        valid_from: date!(2026 - 03 - 01),
        valid_until: date!(2029 - 02 - 28),
        supersedes: None,
        region: Some("32.77".into()),
        status_list_index: 5,
    }
}

fn at(change: CertificateChange) -> CertificateEvent {
    CertificateEvent {
        certificate_id: id(1),
        worker_id: WorkerId(Uuid::from_u128(7)),
        change,
    }
}

fn issued() -> CertificateEvent {
    at(CertificateChange::CertificateIssued(Box::new(issuance())))
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn suspended() -> CertificateEvent {
    at(CertificateChange::CertificateSuspended {
        reason: reason("under investigation"),
    })
}

fn revoked() -> CertificateEvent {
    at(CertificateChange::CertificateRevoked {
        category: RevocationCategory::EthicsBreach,
        reason: reason("ethics board ruling 12/2026"),
    })
}

fn expired() -> CertificateEvent {
    at(CertificateChange::CertificateExpired {
        valid_until: date!(2029 - 02 - 28),
    })
}

fn superseded() -> CertificateEvent {
    at(CertificateChange::CertificateSuperseded { by: id(2) })
}

fn suspend(today: time::Date) -> CertificateCommand {
    CertificateCommand::Suspend {
        reason: reason("under investigation"),
        today,
    }
}

fn reinstate(today: time::Date) -> CertificateCommand {
    CertificateCommand::Reinstate {
        reason: reason("investigation closed"),
        today,
    }
}

fn revoke() -> CertificateCommand {
    CertificateCommand::Revoke {
        category: RevocationCategory::EthicsBreach,
        reason: reason("ethics board ruling 12/2026"),
    }
}

const DURING: time::Date = date!(2027 - 06 - 01);
const AFTER: time::Date = date!(2029 - 03 - 01);

// ---- issuance -----------------------------------------------------------------------------

#[test]
fn a_kompeten_decision_issues_a_valid_certificate() {
    given::<Certificate>([])
        .when(CertificateCommand::Issue(Box::new(issuance())))
        .then([issued()]);
}

#[test]
fn a_certificate_is_issued_only_once() {
    given::<Certificate>([issued()])
        .when(CertificateCommand::Issue(Box::new(issuance())))
        .then_error(CertificateError::AlreadyIssued(id(1)));
}

#[test]
fn a_certificate_cannot_supersede_itself() {
    let mut renewal = issuance();
    renewal.supersedes = Some(id(1));
    given::<Certificate>([])
        .when(CertificateCommand::Issue(Box::new(renewal)))
        .then_error(CertificateError::SupersedesItself);
}

#[test]
fn validity_ending_before_it_starts_is_refused() {
    let mut bad = issuance();
    bad.valid_until = date!(2026 - 02 - 01);
    let error = Certificate::default()
        .decide_for_test(CertificateCommand::Issue(Box::new(bad)))
        .unwrap_err();
    assert!(
        matches!(error, CertificateError::InvalidValidity(_)),
        "{error}"
    );
}

#[test]
fn validity_longer_than_ten_years_is_refused() {
    let mut bad = issuance();
    bad.valid_until = date!(2040 - 01 - 01);
    let error = Certificate::default()
        .decide_for_test(CertificateCommand::Issue(Box::new(bad)))
        .unwrap_err();
    assert!(
        matches!(error, CertificateError::InvalidValidity(_)),
        "{error}"
    );
}

#[test]
fn three_years_of_validity_end_the_day_before_the_third_anniversary() {
    assert_eq!(
        valid_until(date!(2026 - 03 - 01), 3),
        Ok(date!(2029 - 02 - 28))
    );
    assert_eq!(
        valid_until(date!(2026 - 01 - 15), 5),
        Ok(date!(2031 - 01 - 14))
    );
}

#[test]
fn validity_from_the_twenty_ninth_of_february_ends_on_the_last_day_of_february() {
    assert_eq!(
        valid_until(date!(2024 - 02 - 29), 3),
        Ok(date!(2027 - 02 - 28))
    );
    assert_eq!(
        valid_until(date!(2024 - 02 - 29), 4),
        Ok(date!(2028 - 02 - 28))
    );
}

#[test]
fn a_validity_of_zero_or_eleven_years_is_refused() {
    assert!(valid_until(date!(2026 - 03 - 01), 0).is_err());
    assert!(valid_until(date!(2026 - 03 - 01), 11).is_err());
}

#[test]
fn a_certificate_derived_from_a_decision_is_always_the_same() {
    let decision = Uuid::now_v7();
    assert_eq!(
        CertificateId::for_decision(decision),
        CertificateId::for_decision(decision)
    );
    assert_ne!(
        CertificateId::for_decision(decision),
        CertificateId::for_decision(Uuid::now_v7())
    );
}

// ---- suspension and reinstatement ---------------------------------------------------------

#[test]
fn a_valid_certificate_is_suspended_with_a_reason() {
    given::<Certificate>([issued()])
        .when(suspend(DURING))
        .then([suspended()]);
}

#[test]
fn a_suspended_certificate_is_not_suspended_twice() {
    given::<Certificate>([issued(), suspended()])
        .when(suspend(DURING))
        .then_error(CertificateError::AlreadySuspended(number()));
}

#[test]
fn a_suspended_certificate_is_reinstated() {
    given::<Certificate>([issued(), suspended()])
        .when(reinstate(DURING))
        .then([at(CertificateChange::CertificateReinstated {
            reason: reason("investigation closed"),
        })]);
}

#[test]
fn a_certificate_in_force_cannot_be_reinstated() {
    given::<Certificate>([issued()])
        .when(reinstate(DURING))
        .then_error(CertificateError::NotSuspended(number()));
}

#[test]
fn a_revoked_certificate_cannot_be_reinstated() {
    given::<Certificate>([issued(), suspended(), revoked()])
        .when(reinstate(DURING))
        .then_error(CertificateError::Revoked { number: number() });
}

#[test]
fn an_expired_certificate_cannot_be_suspended() {
    given::<Certificate>([issued(), expired()])
        .when(suspend(AFTER))
        .then_error(CertificateError::Expired {
            number: number(),
            valid_until: date!(2029 - 02 - 28),
            action: "suspended",
        });
}

#[test]
fn a_certificate_past_its_validity_cannot_be_suspended_before_the_expiry_job_ran() {
    given::<Certificate>([issued()])
        .when(suspend(AFTER))
        .then_error(CertificateError::Expired {
            number: number(),
            valid_until: date!(2029 - 02 - 28),
            action: "suspended",
        });
}

#[test]
fn a_suspended_certificate_that_expired_cannot_be_reinstated() {
    given::<Certificate>([issued(), suspended(), expired()])
        .when(reinstate(AFTER))
        .then_error(CertificateError::Expired {
            number: number(),
            valid_until: date!(2029 - 02 - 28),
            action: "reinstated",
        });
}

#[test]
fn a_superseded_certificate_cannot_be_suspended() {
    given::<Certificate>([issued(), superseded()])
        .when(suspend(DURING))
        .then_error(CertificateError::Superseded {
            number: number(),
            by: id(2),
        });
}

#[test]
fn nothing_happens_to_a_certificate_that_was_never_issued() {
    given::<Certificate>([])
        .when(suspend(DURING))
        .then_error(CertificateError::NotIssued);
}

// ---- revocation ---------------------------------------------------------------------------

#[test]
fn a_valid_certificate_is_revoked_with_a_category_and_a_reason() {
    given::<Certificate>([issued()])
        .when(revoke())
        .then([revoked()]);
}

#[test]
fn a_suspended_certificate_can_be_revoked() {
    given::<Certificate>([issued(), suspended()])
        .when(revoke())
        .then([revoked()]);
}

#[test]
fn an_expired_certificate_can_still_be_revoked_so_relying_parties_see_it() {
    given::<Certificate>([issued(), expired()])
        .when(revoke())
        .then([revoked()]);
}

#[test]
fn a_revocation_is_final() {
    given::<Certificate>([issued(), revoked()])
        .when(revoke())
        .then_error(CertificateError::Revoked { number: number() });
    given::<Certificate>([issued(), revoked()])
        .when(suspend(DURING))
        .then_error(CertificateError::Revoked { number: number() });
}

// ---- expiry -------------------------------------------------------------------------------

#[test]
fn a_certificate_expires_the_day_after_its_last_valid_day() {
    given::<Certificate>([issued()])
        .when(CertificateCommand::Expire { today: AFTER })
        .then([expired()]);
}

#[test]
fn a_certificate_does_not_expire_on_its_last_valid_day() {
    given::<Certificate>([issued()])
        .when(CertificateCommand::Expire {
            today: date!(2029 - 02 - 28),
        })
        .then_error(CertificateError::NotYetDue {
            number: number(),
            valid_until: date!(2029 - 02 - 28),
        });
}

#[test]
fn a_suspended_certificate_expires_too() {
    given::<Certificate>([issued(), suspended()])
        .when(CertificateCommand::Expire { today: AFTER })
        .then([expired()]);
}

#[test]
fn expiring_an_expired_certificate_again_changes_nothing() {
    given::<Certificate>([issued(), expired()])
        .when(CertificateCommand::Expire {
            today: date!(2030 - 01 - 01),
        })
        .then([]);
}

#[test]
fn a_revoked_certificate_does_not_expire() {
    given::<Certificate>([issued(), revoked()])
        .when(CertificateCommand::Expire { today: AFTER })
        .then_error(CertificateError::Revoked { number: number() });
}

// ---- renewal ------------------------------------------------------------------------------

#[test]
fn a_renewal_supersedes_a_current_certificate() {
    given::<Certificate>([issued(), suspended()])
        .when(CertificateCommand::Supersede { by: id(2) })
        .then([superseded()]);
}

#[test]
fn superseding_again_by_the_same_renewal_changes_nothing() {
    given::<Certificate>([issued(), superseded()])
        .when(CertificateCommand::Supersede { by: id(2) })
        .then([]);
}

#[test]
fn a_superseded_certificate_is_not_superseded_by_another_renewal() {
    given::<Certificate>([issued(), superseded()])
        .when(CertificateCommand::Supersede { by: id(3) })
        .then_error(CertificateError::Superseded {
            number: number(),
            by: id(2),
        });
}

#[test]
fn an_expired_certificate_is_not_superseded() {
    given::<Certificate>([issued(), expired()])
        .when(CertificateCommand::Supersede { by: id(2) })
        .then_error(CertificateError::Expired {
            number: number(),
            valid_until: date!(2029 - 02 - 28),
            action: "superseded",
        });
}

// ---- reasons ------------------------------------------------------------------------------

#[test]
fn a_reason_is_required_and_bounded() {
    assert_eq!(Reason::parse("  "), Err(ReasonError::Empty));
    assert_eq!(
        Reason::parse(&"x".repeat(501)),
        Err(ReasonError::TooLong(501))
    );
    assert_eq!(
        Reason::parse("a\u{7}b"),
        Err(ReasonError::ControlCharacters)
    );
    assert_eq!(Reason::parse(" ok ").unwrap().as_str(), "ok");
}

// ---- numbers ------------------------------------------------------------------------------

#[test]
fn a_number_reads_prefix_scheme_year_sequence_and_check() {
    let number = CertificateNumber::new("PSG", 2026, 123).unwrap();
    let text = number.to_string();
    assert_eq!(text.len(), "KSS-PSG-2026-000123-K".len());
    assert!(text.starts_with("KSS-PSG-2026-000123-"), "{text}");
    assert_eq!(CertificateNumber::parse(&text), Ok(number));
}

#[test]
fn a_number_is_read_whatever_the_case_and_separators() {
    let number = CertificateNumber::new("TKA", 2025, 42).unwrap();
    let sloppy = number.to_string().to_lowercase().replace('-', " ");
    assert_eq!(CertificateNumber::parse(&sloppy), Ok(number.clone()));
    assert_eq!(CertificateNumber::parse(&number.compact()), Ok(number));
}

#[test]
fn sequences_whose_check_would_be_a_star_are_skipped() {
    let skipped: Vec<u64> = (1..=370)
        .filter(|&s| CertificateNumber::new("PSG", 2026, s) == Err(NumberError::Skipped(s)))
        .collect();
    assert!((5..=20).contains(&skipped.len()), "{skipped:?}");
}

#[test]
fn the_hybrid_mod_37_36_would_miss_a_swap_which_is_why_it_is_not_used() {
    fn hybrid(text: &[u8]) -> u32 {
        text.iter().fold(36, |p, &c| {
            let value = u32::try_from(ALPHABET.iter().position(|&a| a == c).unwrap()).unwrap();
            let s = match (p + value) % 36 {
                0 => 36,
                s => s,
            };
            (s * 2) % 37
        })
    }
    assert_eq!(hybrid(b"IJSPSG2026000123"), hybrid(b"JISPSG2026000123"));
}

#[test]
fn a_sequence_beyond_six_digits_grows_the_number() {
    let number = CertificateNumber::new("PSG", 2026, 1_234_568).unwrap();
    assert!(number.to_string().starts_with("KSS-PSG-2026-1234568-"));
    assert_eq!(CertificateNumber::parse(&number.to_string()), Ok(number));
}

#[test]
fn a_wrong_check_character_is_a_mistyped_number() {
    let number = CertificateNumber::new("PSG", 2026, 123).unwrap();
    let good = number.check();
    let bad = ALPHABET
        .iter()
        .map(|&c| char::from(c))
        .find(|&c| c != good)
        .unwrap();
    let text = format!("KSS-PSG-2026-000123-{bad}");
    assert_eq!(
        CertificateNumber::parse(&text),
        Err(NumberError::CheckFailed)
    );
}

#[test]
fn text_that_is_not_shaped_like_a_number_is_malformed() {
    for text in [
        "",
        "KSS",
        "ABC-PSG-2026-000123-K",
        "KSS-PSG-26-1-K",
        "KSS-P-2026-000123-K",
        "KSS-PSG-2026-000123-K!",
    ] {
        assert!(
            matches!(
                CertificateNumber::parse(text),
                Err(NumberError::Malformed(_))
            ),
            "{text:?}"
        );
    }
}

/// Sample payloads: every scheme abbreviation shape, years, sequences with many digit
/// patterns.
fn samples() -> Vec<String> {
    let mut samples = Vec::new();
    for (i, scheme) in [
        "PSG", "PSA", "PSS", "TKA", "TKG", "TKS", "PNY", "RLW", "ZZ", "ABCDEF",
    ]
    .iter()
    .enumerate()
    {
        for (j, sequence) in [
            1_u64, 9, 10, 99, 123, 100_000, 555_555, 909_090, 999_999, 1_000_001,
        ]
        .iter()
        .enumerate()
        {
            let year = 2020 + i32::try_from((i + j) % 10).unwrap();
            // A sequence whose check would be `*` is skipped, as the allocator skips it.
            let number = (*sequence..)
                .find_map(|s| CertificateNumber::new(scheme, year, s).ok())
                .unwrap();
            samples.push(number.compact());
        }
    }
    samples
}

#[test]
fn the_check_character_catches_every_single_substitution_on_the_samples() {
    let mut checked = 0;
    for sample in samples() {
        assert!(passes_check(&sample), "{sample}");
        let bytes = sample.as_bytes();
        for position in 0..bytes.len() {
            for &other in ALPHABET {
                if other == bytes[position] {
                    continue;
                }
                let mut typo = bytes.to_vec();
                typo[position] = other;
                let typo = String::from_utf8(typo).unwrap();
                assert!(!passes_check(&typo), "{sample} -> {typo} passed");
                checked += 1;
            }
        }
    }
    assert!(checked > 50_000, "{checked}");
}

#[test]
fn the_check_character_catches_every_adjacent_transposition_on_the_samples() {
    for sample in samples() {
        let bytes = sample.as_bytes();
        for position in 0..bytes.len() - 1 {
            if bytes[position] == bytes[position + 1] {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(position, position + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            assert!(!passes_check(&swapped), "{sample} -> {swapped} passed");
        }
    }
}

#[test]
fn the_check_character_catches_every_adjacent_transposition_of_any_two_characters() {
    // Beyond the samples: every pair of distinct characters swapped at every position of a
    // number, so no pair of symbols is blind to the check.
    let base = CertificateNumber::new("PSG", 2026, 123).unwrap().compact();
    let bytes = base.as_bytes();
    for position in 0..bytes.len() - 2 {
        for &a in ALPHABET {
            for &b in ALPHABET {
                if a == b {
                    continue;
                }
                let mut original = bytes[..bytes.len() - 1].to_vec();
                original[position] = a;
                original[position + 1] = b;
                let payload = String::from_utf8(original.clone()).unwrap();
                let Some(check) = check_character(&payload) else {
                    continue; // a `*` check: never issued
                };
                let mut swapped = original;
                swapped.swap(position, position + 1);
                let swapped = format!("{}{check}", String::from_utf8(swapped).unwrap());
                assert!(!passes_check(&swapped), "{payload}{check} -> {swapped}");
            }
        }
    }
}

// ---- names --------------------------------------------------------------------------------

#[test]
fn a_masked_name_shows_only_initials() {
    assert_eq!(names::mask("Siti Aminah"), "S**** A****");
    assert_eq!(names::mask("  budi   santoso  "), "B**** S****");
    assert_eq!(names::mask(""), "");
}

#[test]
fn a_name_matches_whatever_the_case_and_spacing() {
    assert!(names::same_name("Siti Aminah", "  siti   AMINAH "));
    assert!(!names::same_name("Siti Aminah", "Siti Amina"));
    assert!(!names::same_name("Siti Aminah", "   "));
}

trait DecideForTest {
    fn decide_for_test(
        &self,
        command: CertificateCommand,
    ) -> Result<Vec<CertificateEvent>, CertificateError>;
}

impl DecideForTest for Certificate {
    fn decide_for_test(
        &self,
        command: CertificateCommand,
    ) -> Result<Vec<CertificateEvent>, CertificateError> {
        kesos_aggregate::Aggregate::decide(self, &command)
    }
}
