//! The four tiers of Indonesian regional government.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The tier of a region, coarsest first, so that `Provinsi < KabupatenKota < Kecamatan <
/// DesaKelurahan`. A code's tier follows from its number of parts, and serialises as the word
/// used in the data file (`provinsi`, `kabupaten_kota`, `kecamatan`, `desa_kelurahan`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A province, code `PP`.
    Provinsi,
    /// A kabupaten (regency, 01–69) or kota (city, 71–99), code `PP.KK`.
    KabupatenKota,
    /// A kecamatan (district), code `PP.KK.CC`.
    Kecamatan,
    /// A desa (village, number starting with 2) or kelurahan (urban village, starting with 1),
    /// code `PP.KK.CC.DDDD`.
    DesaKelurahan,
}

impl Level {
    /// Every level, coarsest first; the order in which search results are ranked.
    pub const ALL: [Level; 4] = [
        Level::Provinsi,
        Level::KabupatenKota,
        Level::Kecamatan,
        Level::DesaKelurahan,
    ];

    /// The word the data file uses for this level: `provinsi`, `kabupaten_kota`, `kecamatan` or
    /// `desa_kelurahan`. It is also the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Provinsi => "provinsi",
            Level::KabupatenKota => "kabupaten_kota",
            Level::Kecamatan => "kecamatan",
            Level::DesaKelurahan => "desa_kelurahan",
        }
    }

    /// The level named by a data-file word, or `None` for any other word.
    pub(crate) fn from_word(word: &str) -> Option<Level> {
        match word {
            "provinsi" => Some(Level::Provinsi),
            "kabupaten_kota" => Some(Level::KabupatenKota),
            "kecamatan" => Some(Level::Kecamatan),
            "desa_kelurahan" => Some(Level::DesaKelurahan),
            _ => None,
        }
    }

    /// Position in [`Level::ALL`], for per-level tables.
    pub(crate) fn index(self) -> usize {
        match self {
            Level::Provinsi => 0,
            Level::KabupatenKota => 1,
            Level::Kecamatan => 2,
            Level::DesaKelurahan => 3,
        }
    }

    /// The next finer level, `None` below a desa/kelurahan.
    pub(crate) fn child(self) -> Option<Level> {
        match self {
            Level::Provinsi => Some(Level::KabupatenKota),
            Level::KabupatenKota => Some(Level::Kecamatan),
            Level::Kecamatan => Some(Level::DesaKelurahan),
            Level::DesaKelurahan => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_coarsest_first() {
        assert!(Level::Provinsi < Level::KabupatenKota);
        assert!(Level::KabupatenKota < Level::Kecamatan);
        assert!(Level::Kecamatan < Level::DesaKelurahan);
    }

    #[test]
    fn a_level_round_trips_through_its_data_file_word() {
        for level in Level::ALL {
            assert_eq!(Level::from_word(level.as_str()), Some(level));
            assert_eq!(level.to_string(), level.as_str());
            assert_eq!(Level::ALL.get(level.index()), Some(&level));
        }
        assert_eq!(Level::from_word("kota"), None);
    }
}
