//! Certificate numbers that people type and read aloud: `KSS-PSG-2026-000123-K`.
//!
//! | part | example | meaning |
//! |---|---|---|
//! | prefix | `KSS` | fixed: a kesos competency certificate (*Kompetensi SDM Kesos*) |
//! | scheme | `PSG` | the scheme's abbreviation from the reference data, 2-6 letters |
//! | year | `2026` | year of issue (of the decision's date) |
//! | sequence | `000123` | per scheme and year, at least six digits, from 1 |
//! | check | `K` | ISO/IEC 7064 MOD 37-2 over the other characters |
//!
//! The check character is computed over the number without separators (`KSSPSG2026000123`)
//! with the pure system MOD 37-2 of ISO/IEC 7064 over the values `0-9` = 0-9, `A-Z` = 10-35:
//! the weighted sum `Σ value · 2^(n-i)` of all characters, check included, is 1 modulo 37.
//! Because 37 is prime and every value is below it, the check catches every single
//! substitution and every swap of two adjacent characters (the tests in this crate check both
//! exhaustively on samples).
//!
//! Why not the hybrid MOD 37,36, whose check is always a letter or digit: it misses some
//! adjacent swaps (`IJ…` and `JI…` share a check character; a test here shows it on real
//! numbers). MOD 37-2 needs a 37th check symbol, `*`, for one sum in 37; rather than read a
//! star over the phone, kesos never issues those sequences ([`NumberError::Skipped`]): about
//! one sequence in 37 is left out, and every number stays letters and digits. Parsing is forgiving about what people do (lower case, spaces,
//! dots or missing hyphens) and strict about the rest; a number whose check character does not
//! match is [`NumberError::CheckFailed`]: a typo, not a certificate that "does not exist".

use std::fmt;

/// The fixed prefix of every certificate number.
pub const PREFIX: &str = "KSS";
/// The check alphabet: digit and letter values 0-35.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Fewest digits of the sequence as written (zero-padded).
pub const SEQUENCE_DIGITS: usize = 6;

/// A well-formed certificate number with a matching check character.
///
/// Invariant: `scheme` is 2-6 ASCII capitals, `year` is 1000-9999, `sequence` is at least 1,
/// and `check` is the MOD 37-2 check character of the other parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateNumber {
    scheme: String,
    year: i32,
    sequence: u64,
    check: char,
}

/// Why a text is not a valid certificate number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// The text does not have the shape of a number.
    #[error("not a valid certificate number: {0}; numbers look like KSS-PSG-2026-000123-K")]
    Malformed(&'static str),
    /// This sequence is never issued: its check character would be `*` (see the module docs);
    /// the next sequence is used instead.
    #[error("sequence {0} is skipped: its check character would be `*`")]
    Skipped(u64),
    /// The shape is right but the check character does not match: a character is mistyped or
    /// two are swapped.
    #[error(
        "not a valid certificate number: the check character does not match (a mistyped or swapped character?)"
    )]
    CheckFailed,
}

fn value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|v| u32::try_from(v).ok())
}

/// The ISO/IEC 7064 MOD 37-2 running value after `text` (`((p + value) · 2) mod 37` per
/// character); `None` for a character outside `0-9A-Z`.
fn running(text: &[u8]) -> Option<u32> {
    let mut p = 0;
    for &c in text {
        p = ((p + value(c)?) * 2) % 37;
    }
    Some(p)
}

/// The check character for `payload` (capitals and digits only); `None` for other characters
/// or when the check would be `*` (value 36), which kesos never issues.
pub fn check_character(payload: &str) -> Option<char> {
    let p = running(payload.as_bytes())?;
    let check = (38 - p) % 37;
    ALPHABET.get(check as usize).map(|&c| char::from(c))
}

/// Whether `compact` (payload followed by its check character, capitals and digits only)
/// passes the MOD 37-2 check.
pub fn passes_check(compact: &str) -> bool {
    let bytes = compact.as_bytes();
    let Some((&last, payload)) = bytes.split_last() else {
        return false;
    };
    match (running(payload), value(last)) {
        (Some(p), Some(check)) => (p + check) % 37 == 1,
        _ => false,
    }
}

impl CertificateNumber {
    /// The number for a scheme abbreviation, year and sequence, with its check character.
    pub fn new(scheme: &str, year: i32, sequence: u64) -> Result<Self, NumberError> {
        if !(2..=6).contains(&scheme.len()) || !scheme.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(NumberError::Malformed(
                "the scheme part is 2-6 capital letters",
            ));
        }
        if !(1000..=9999).contains(&year) {
            return Err(NumberError::Malformed("the year has four digits"));
        }
        if sequence == 0 {
            return Err(NumberError::Malformed("sequences start at 1"));
        }
        let payload = format!(
            "{PREFIX}{scheme}{year}{sequence:0width$}",
            width = SEQUENCE_DIGITS
        );
        let check = check_character(&payload).ok_or(NumberError::Skipped(sequence))?;
        Ok(Self {
            scheme: scheme.to_owned(),
            year,
            sequence,
            check,
        })
    }

    /// Reads a number as people type it: case, spaces, dots and hyphens do not matter.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        if text.len() > 64 {
            return Err(NumberError::Malformed("it is far too long"));
        }
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '.' | '\t'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(NumberError::Malformed(
                "it has characters other than letters and digits",
            ));
        }
        let rest = compact
            .strip_prefix(PREFIX)
            .ok_or(NumberError::Malformed("it does not start with KSS"))?;
        let letters = rest.bytes().take_while(u8::is_ascii_uppercase).count();
        let (scheme, tail) = rest.split_at(letters);
        let Some((body, _check)) = tail.split_at_checked(tail.len().saturating_sub(1)) else {
            return Err(NumberError::Malformed("it is too short"));
        };
        if !(2..=6).contains(&scheme.len()) {
            return Err(NumberError::Malformed("the scheme part is 2-6 letters"));
        }
        if body.len() < 4 + SEQUENCE_DIGITS || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::Malformed(
                "after the scheme come a four-digit year, a sequence of six or more digits and the check character",
            ));
        }
        if !passes_check(&compact) {
            return Err(NumberError::CheckFailed);
        }
        let (year, sequence) = body.split_at(4);
        let year: i32 = year
            .parse()
            .map_err(|_| NumberError::Malformed("bad year"))?;
        let sequence: u64 = sequence
            .parse()
            .map_err(|_| NumberError::Malformed("the sequence is too long"))?;
        let number = Self::new(scheme, year, sequence)?;
        // A sequence padded beyond six digits ("0000123") is a different text for the same
        // number; only the canonical spelling is accepted, so one number has one text.
        if number.compact() != compact {
            return Err(NumberError::Malformed(
                "the sequence has extra leading zeros",
            ));
        }
        Ok(number)
    }

    /// The scheme abbreviation.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The year of issue.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The sequence within scheme and year.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The check character.
    pub fn check(&self) -> char {
        self.check
    }

    /// The number without separators, as the check character is computed over (plus it).
    pub fn compact(&self) -> String {
        format!(
            "{PREFIX}{}{}{:0width$}{}",
            self.scheme,
            self.year,
            self.sequence,
            self.check,
            width = SEQUENCE_DIGITS
        )
    }
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}-{}-{}-{:0width$}-{}",
            self.scheme,
            self.year,
            self.sequence,
            self.check,
            width = SEQUENCE_DIGITS
        )
    }
}
