//! [`Regions`]: the table of regions that exist in one edition, with lookup and hierarchy.

use std::fmt;
use std::sync::OnceLock;

use crate::EDITION;
use crate::code::{RegionCode, RegionCodeError};
use crate::csv;
use crate::level::Level;
use crate::region::Region;

/// The embedded table: `code,name,level`, sorted by code.
const EMBEDDED_CSV: &str = include_str!("../data/wilayah.csv");

/// Why a text does not name a region of the embedded edition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// The text is not a region code at all.
    #[error(transparent)]
    Malformed(#[from] RegionCodeError),
    /// The code is well formed but names no region in this edition (it may be a typo, or a
    /// region created or renumbered by a later decree).
    #[error("region {code} does not exist in edition {edition}")]
    Unknown {
        /// The code asked for, in canonical dotted form.
        code: String,
        /// The edition that was searched, [`EDITION`].
        edition: &'static str,
    },
}

/// Every region of one edition, sorted by code, so that each region is immediately followed by
/// all of its descendants. Invariants: codes are unique, each region's level matches its code,
/// and each region's parent is in the table.
pub struct Regions {
    regions: Vec<Region>,
    /// Indexes into `regions` of the provinces, in code order.
    provinces: Vec<usize>,
    /// Number of regions per level, indexed by `Level::index`.
    counts: [usize; 4],
    /// Rows of the source text that were refused; zero for the embedded table.
    skipped: usize,
}

impl Regions {
    /// The table compiled into the binary, edition [`EDITION`]: 38 provinces, 514
    /// kabupaten/kota, 7,285 kecamatan and 83,762 desa/kelurahan.
    ///
    /// The first call parses the embedded 3.5 MB CSV and keeps the result for the life of the
    /// process (about 3.5 MB of heap, names borrowed from the binary); later calls are free.
    /// Measured once (wall clock, on a shared two-core machine): about 17 ms in a release build
    /// (up to 70 ms when the machine was busy) and about 250 ms in an unoptimised test build.
    /// A server should call it once at start-up rather than on its first request; every test
    /// process that touches it pays the cost once.
    pub fn embedded() -> &'static Regions {
        static EMBEDDED: OnceLock<Regions> = OnceLock::new();
        EMBEDDED.get_or_init(|| Regions::from_csv(EMBEDDED_CSV))
    }

    /// Builds a table from `code,name,level` CSV text, skipping (and counting) bad rows.
    pub(crate) fn from_csv(text: &'static str) -> Regions {
        let loaded = csv::load(text);
        let mut counts = [0; 4];
        let mut provinces = Vec::new();
        for (index, region) in loaded.regions.iter().enumerate() {
            if let Some(count) = counts.get_mut(region.level().index()) {
                *count += 1;
            }
            if region.level() == Level::Provinsi {
                provinces.push(index);
            }
        }
        Regions {
            regions: loaded.regions,
            provinces,
            counts,
            skipped: loaded.skipped,
        }
    }

    /// How many rows of the source data were refused while loading. Always zero for the
    /// embedded table (a test guarantees it); anything else means the data file is corrupt.
    pub fn skipped_rows(&self) -> usize {
        self.skipped
    }

    /// The region with this code, if it exists in this edition.
    pub fn get(&self, code: &RegionCode) -> Option<&Region> {
        let index = self
            .regions
            .binary_search_by(|region| region.code().cmp(code))
            .ok()?;
        self.regions.get(index)
    }

    /// Parses `text` as a code and finds its region: the one call for checking user input.
    pub fn lookup(&self, text: &str) -> Result<&Region, RegionError> {
        let code = RegionCode::parse(text)?;
        self.get(&code).ok_or_else(|| RegionError::Unknown {
            code: code.as_str().to_owned(),
            edition: EDITION,
        })
    }

    /// The region and everything inside it, in code order; empty if the code is unknown.
    fn subtree(&self, code: &RegionCode) -> &[Region] {
        let start = self.regions.partition_point(|region| region.code() < code);
        // Within the sorted table, the codes inside `code` come directly after it.
        let end = self
            .regions
            .partition_point(|region| region.code() < code || region.code().is_within(code));
        self.regions.get(start..end).unwrap_or_default()
    }

    /// The regions directly inside `code` (kecamatan of a kabupaten/kota, and so on), sorted by
    /// code; empty for a village or an unknown code. The children of the nation are
    /// [`Regions::provinces`].
    pub fn children(&self, code: &RegionCode) -> Vec<&Region> {
        let Some(child_level) = code.level().child() else {
            return Vec::new();
        };
        self.subtree(code)
            .iter()
            .filter(|region| region.level() == child_level)
            .collect()
    }

    /// Every region inside `code` at any depth, sorted by code, not including `code` itself;
    /// empty for a village or an unknown code.
    pub fn descendants(&self, code: &RegionCode) -> Vec<&Region> {
        self.subtree(code)
            .iter()
            .filter(|region| region.code() != code)
            .collect()
    }

    /// The 38 provinces, sorted by code.
    pub fn provinces(&self) -> Vec<&Region> {
        self.provinces
            .iter()
            .filter_map(|index| self.regions.get(*index))
            .collect()
    }

    /// The regions enclosing `code`, province first, not including `code` itself. Only
    /// ancestors that exist are returned, so an unknown village still yields its kecamatan's
    /// chain if that exists.
    pub fn ancestors(&self, code: &RegionCode) -> Vec<&Region> {
        let mut chain: Vec<&Region> = std::iter::successors(code.parent(), RegionCode::parent)
            .filter_map(|ancestor| self.get(&ancestor))
            .collect();
        chain.reverse();
        chain
    }

    /// How many regions of `level` this edition has.
    pub fn count(&self, level: Level) -> usize {
        self.counts.get(level.index()).copied().unwrap_or_default()
    }

    /// How many regions this edition has at all levels (91,599 for the embedded table).
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether the table is empty; never true for the embedded table.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// Every region in code order (each region directly followed by its descendants).
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter()
    }

    /// The kabupaten/kota named by the first four digits of a NIK (the national identity
    /// number): `"3277"` is Kota Cimahi. `None` unless the text is exactly four ASCII digits
    /// naming a kabupaten/kota of this edition. A NIK keeps the region of first registration,
    /// which may since have been split or renumbered.
    pub fn kabupaten_kota_of_nik(&self, nik_first_four_digits: &str) -> Option<&Region> {
        let digits = nik_first_four_digits.as_bytes();
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.get(&RegionCode::parse(nik_first_four_digits).ok()?)
    }
}

impl fmt::Debug for Regions {
    /// Summarises rather than listing 91,599 regions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Regions")
            .field("len", &self.len())
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}
