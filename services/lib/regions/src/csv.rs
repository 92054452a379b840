//! Reading the region table from its CSV text, without panicking on bad input.
//!
//! The data is embedded and checked by tests, so a bad row is a programming error rather than
//! user input; the loader still never panics on one. It skips the row and counts it, and a test
//! asserts that the embedded table skips none.

use std::borrow::Cow;

use crate::code::RegionCode;
use crate::level::Level;
use crate::region::Region;

/// The header line the data file starts with; it is not a row.
const HEADER: &str = "code,name,level";

/// The outcome of reading a table: the good rows sorted by code, and how many rows were refused.
pub(crate) struct Loaded {
    /// Sorted by code, no duplicate codes, every region's parent present.
    pub(crate) regions: Vec<Region>,
    /// Rows refused: wrong field count or quoting, malformed or non-canonical code, unknown
    /// level word or one that disagrees with the code, empty name, duplicate code, or a parent
    /// that is missing (or was itself refused).
    pub(crate) skipped: usize,
}

/// Reads `code,name,level` rows (RFC 4180 quoting, one record per line). The names borrow from
/// `text` unless they contain an escaped quote.
pub(crate) fn load(text: &'static str) -> Loaded {
    let mut skipped = 0;
    let mut rows = Vec::with_capacity(text.len() / 36);
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() || (number == 0 && line == HEADER) {
            continue;
        }
        match row(line) {
            Some(region) => rows.push(region),
            None => skipped += 1,
        }
    }
    // The file is sorted already, which makes this a linear pass.
    rows.sort_by(|a, b| a.code().cmp(b.code()));

    let mut regions: Vec<Region> = Vec::with_capacity(rows.len());
    // The last region kept at each level. In code order nothing but a region's own
    // descendants lies between it and its children, so a child's parent, if it was kept, is
    // the last region kept one level up.
    let mut last_kept: [Option<RegionCode>; 4] = Default::default();
    for region in rows {
        let code = region.code();
        let duplicate = regions.last().is_some_and(|last| last.code() == code);
        let parent_kept = match (code.parent(), code.level().index().checked_sub(1)) {
            (Some(parent), Some(up)) => last_kept
                .get(up)
                .is_some_and(|kept| kept.as_ref() == Some(&parent)),
            _ => true,
        };
        if duplicate || !parent_kept {
            skipped += 1;
            continue;
        }
        if let Some(slot) = last_kept.get_mut(code.level().index()) {
            *slot = Some(code.clone());
        }
        regions.push(region);
    }
    Loaded { regions, skipped }
}

/// One row as a region, or `None` if any field is wrong.
fn row(line: &'static str) -> Option<Region> {
    let (code, rest) = field(line)?;
    let (name, rest) = field(rest?)?;
    let (level, rest) = field(rest?)?;
    if rest.is_some() {
        return None;
    }
    let code = RegionCode::from_dotted(code.as_bytes())?;
    let level = Level::from_word(&level).filter(|level| *level == code.level())?;
    if name.trim().is_empty() {
        return None;
    }
    Some(Region::new(code, name, level))
}

/// Reads the first field of `line`: its text and, if a separator follows, the rest after it.
/// `None` if the quoting is broken.
fn field(line: &'static str) -> Option<(Cow<'static, str>, Option<&'static str>)> {
    match line.strip_prefix('"') {
        Some(quoted_start) => {
            let (text, after) = quoted(quoted_start)?;
            // After the closing quote comes either the end or the next separator.
            if after.is_empty() {
                Some((text, None))
            } else {
                Some((text, Some(after.strip_prefix(',')?)))
            }
        }
        None => match line.split_once(',') {
            Some((text, rest)) => Some((Cow::Borrowed(text), Some(rest))),
            None => Some((Cow::Borrowed(line), None)),
        },
    }
}

/// Reads a quoted field whose opening quote is already consumed: the field's text (with `""`
/// unescaped) and what follows the closing quote. `None` if the closing quote is missing.
fn quoted(text: &'static str) -> Option<(Cow<'static, str>, &'static str)> {
    let mut unescaped: Option<String> = None;
    let mut rest = text;
    loop {
        let (chunk, after) = rest.split_once('"')?;
        match after.strip_prefix('"') {
            Some(after_escape) => {
                let owned = unescaped.get_or_insert_with(String::new);
                owned.push_str(chunk);
                owned.push('"');
                rest = after_escape;
            }
            None => {
                let field = match unescaped {
                    Some(mut owned) => {
                        owned.push_str(chunk);
                        Cow::Owned(owned)
                    }
                    None => Cow::Borrowed(chunk),
                };
                return Some((field, after));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn names(loaded: &Loaded) -> Vec<&str> {
        loaded.regions.iter().map(Region::name).collect()
    }

    #[test]
    fn a_well_formed_table_loads_every_row_and_skips_the_header() {
        let loaded =
            load("code,name,level\n32,Jawa Barat,provinsi\n32.77,Kota Cimahi,kabupaten_kota\n");
        assert_eq!(loaded.skipped, 0);
        assert_eq!(names(&loaded), ["Jawa Barat", "Kota Cimahi"]);
    }

    #[test]
    fn quoted_names_keep_their_commas_and_unescape_their_quotes() {
        let loaded = load(
            "12,Sumatera Utara,provinsi\r\n12.07,\"Kabupaten A, B\",kabupaten_kota\r\n\
             12.07.28,\"Say \"\"hi\"\"\",kecamatan\r\n",
        );
        assert_eq!(loaded.skipped, 0);
        assert_eq!(
            names(&loaded),
            ["Sumatera Utara", "Kabupaten A, B", "Say \"hi\""]
        );
    }

    #[test]
    fn bad_rows_are_skipped_and_counted_rather_than_panicking() {
        let loaded = load(
            "32,Jawa Barat,provinsi\n\
             32.77,Kota Cimahi\n\
             3x,Nowhere,provinsi\n\
             3277,Not Canonical,kabupaten_kota\n\
             32.17,Kabupaten Bandung Barat,kecamatan\n\
             32.18,Kabupaten Pangandaran,regency\n\
             32.19,,kabupaten_kota\n\
             32.20,\"Unclosed,kabupaten_kota\n\
             32.21,\"Trailing\"junk,kabupaten_kota\n\
             32.22,Too,many,kabupaten_kota\n\
             32,Jawa Barat Again,provinsi\n\
             33.01,Orphan Kabupaten,kabupaten_kota\n",
        );
        assert_eq!(names(&loaded), ["Jawa Barat"]);
        assert_eq!(loaded.skipped, 11);
    }

    #[test]
    fn rows_are_sorted_by_code_whatever_order_the_file_has() {
        let loaded = load("32.77,Kota Cimahi,kabupaten_kota\n32,Jawa Barat,provinsi\n");
        assert_eq!(loaded.skipped, 0);
        assert_eq!(names(&loaded), ["Jawa Barat", "Kota Cimahi"]);
    }
}
