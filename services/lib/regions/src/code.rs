//! [`RegionCode`]: a syntactically valid Kemendagri code in canonical dotted form.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::level::Level;

/// Longest canonical code, `PP.KK.CC.DDDD`.
const MAX_LEN: usize = 13;
/// Longest input echoed back in an error, so a pasted spreadsheet column cannot flood a log.
const ECHO_LIMIT: usize = 40;

/// A region code that is well formed — `PP`, `PP.KK`, `PP.KK.CC` or `PP.KK.CC.DDDD`, ASCII
/// digits only — always held in canonical dotted form. It may still name a region that does not
/// exist; ask [`crate::Regions`] for that.
///
/// Codes order as their dotted strings, which puts every region directly before its
/// descendants (`32` < `32.77` < `32.77.01` < `32.77.01.1001` < `32.77.02` < `33`).
///
/// Deliberately not `Copy`, although it could be: callers clone it like a string, and making it
/// `Copy` would turn each of those `.clone()` calls into a `clippy::clone_on_copy` failure.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode {
    /// Invariant: `bytes[..len]` is the canonical dotted code, ASCII digits and dots only, and
    /// every byte after it is zero. Kept inline rather than in a `String` so that loading
    /// 91,599 codes allocates nothing; the zero padding lets equality, hashing and ordering
    /// work on the whole array (zero sorts before `.` and the digits, so the array order is the
    /// string order).
    bytes: [u8; MAX_LEN],
    /// One of 2, 5, 8 or 13.
    len: u8,
}

/// Why a text is not a region code: it is not one of the four accepted shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "region code {input:?} is malformed: expected PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD (digits)"
)]
pub struct RegionCodeError {
    /// The refused text, trimmed and cut to a few dozen characters.
    input: String,
}

impl RegionCodeError {
    fn new(trimmed: &str) -> Self {
        let mut input: String = trimmed.chars().take(ECHO_LIMIT).collect();
        if input.len() < trimmed.len() {
            input.push('…');
        }
        Self { input }
    }

    /// The refused text (trimmed, and shortened if it was long), for showing back to the user.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl RegionCode {
    /// Reads a code written dotted (`32.77.01.1001`) or as bare digits (`3277011001`; 2, 4, 6
    /// or 10 digits), ignoring surrounding whitespace, and normalises it to the dotted form.
    /// Anything else — letters, wrong part lengths, mixed forms such as `32.7701` — is refused.
    pub fn parse(input: &str) -> Result<RegionCode, RegionCodeError> {
        let trimmed = input.trim();
        let parsed = if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            Self::from_digits(trimmed.as_bytes())
        } else {
            Self::from_dotted(trimmed.as_bytes())
        };
        parsed.ok_or_else(|| RegionCodeError::new(trimmed))
    }

    /// Reads the canonical dotted form (`PP`, `PP.KK`, `PP.KK.CC`, `PP.KK.CC.DDDD`), `None`
    /// for anything else. One pass, no allocation: the table loader calls it 91,599 times.
    pub(crate) fn from_dotted(text: &[u8]) -> Option<RegionCode> {
        if !matches!(text.len(), 2 | 5 | 8 | MAX_LEN) {
            return None;
        }
        let mut bytes = [0u8; MAX_LEN];
        for (index, (slot, &byte)) in bytes.iter_mut().zip(text).enumerate() {
            let fits = if matches!(index, 2 | 5 | 8) {
                byte == b'.'
            } else {
                byte.is_ascii_digit()
            };
            if !fits {
                return None;
            }
            *slot = byte;
        }
        Some(RegionCode {
            bytes,
            len: u8::try_from(text.len()).ok()?,
        })
    }

    /// Builds the canonical form from 2, 4, 6 or 10 ASCII digits; `None` for any other count.
    fn from_digits(digits: &[u8]) -> Option<RegionCode> {
        if !matches!(digits.len(), 2 | 4 | 6 | 10) {
            return None;
        }
        let mut bytes = [0u8; MAX_LEN];
        let mut len = 0usize;
        for (index, &digit) in digits.iter().enumerate() {
            if matches!(index, 2 | 4 | 6) {
                *bytes.get_mut(len)? = b'.';
                len += 1;
            }
            *bytes.get_mut(len)? = digit;
            len += 1;
        }
        Some(RegionCode {
            bytes,
            len: u8::try_from(len).ok()?,
        })
    }

    /// The first `len` bytes of this code as a code of its own; `len` must be a canonical
    /// length no longer than this code's.
    fn truncated(&self, len: usize) -> RegionCode {
        let mut bytes = [0u8; MAX_LEN];
        for (to, from) in bytes.iter_mut().zip(self.bytes).take(len) {
            *to = from;
        }
        RegionCode {
            bytes,
            len: u8::try_from(len).unwrap_or(self.len),
        }
    }

    /// The canonical dotted form, e.g. `32.77.01.1001`.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII by construction, so the fallback is unreachable.
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// The tier of government this code names, from its number of parts.
    pub fn level(&self) -> Level {
        match self.len {
            2 => Level::Provinsi,
            5 => Level::KabupatenKota,
            8 => Level::Kecamatan,
            _ => Level::DesaKelurahan,
        }
    }

    /// The enclosing region's code (`32.77.01` for `32.77.01.1001`); `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        match self.level() {
            Level::Provinsi => None,
            Level::KabupatenKota => Some(self.truncated(2)),
            Level::Kecamatan => Some(self.truncated(5)),
            Level::DesaKelurahan => Some(self.truncated(8)),
        }
    }

    /// The province this code lies in (itself, for a province code).
    pub fn province(&self) -> RegionCode {
        self.truncated(2)
    }

    /// The kabupaten/kota this code lies in (itself, for a kabupaten/kota code); `None` for a
    /// province code, which lies above that level.
    pub fn kabupaten_kota(&self) -> Option<RegionCode> {
        (self.level() != Level::Provinsi).then(|| self.truncated(5))
    }

    /// Whether this code is `ancestor_or_self` or lies inside it. A Dinas office scoped to
    /// `32.77` sees `32.77` and `32.77.01.1001` but not `32.17`.
    pub fn is_within(&self, ancestor_or_self: &RegionCode) -> bool {
        let ancestor = ancestor_or_self.as_str();
        let own = self.as_str();
        own.starts_with(ancestor)
            && (own.len() == ancestor.len() || own.as_bytes().get(ancestor.len()) == Some(&b'.'))
    }

    /// The code without dots (`3277011001`), the form used inside a NIK and by some
    /// spreadsheets.
    pub fn digits(&self) -> String {
        self.as_str().chars().filter(char::is_ascii_digit).collect()
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegionCode").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegionCode {
    type Err = RegionCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for RegionCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(CodeVisitor)
    }
}

/// Reads a code from any serde string, applying [`RegionCode::parse`].
struct CodeVisitor;

impl Visitor<'_> for CodeVisitor {
    type Value = RegionCode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a region code such as \"32.77\"")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RegionCode, E> {
        RegionCode::parse(value).map_err(E::custom)
    }
}

#[cfg(test)]
#[path = "code_tests.rs"]
mod tests;
