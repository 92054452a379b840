//! [`Region`]: one row of the region table.

use std::borrow::Cow;

use serde::Serialize;

use crate::code::RegionCode;
use crate::level::Level;

/// A region that exists in an edition of the decree: its code, official name and level. Only a
/// [`crate::Regions`] table makes them, so the level always matches the code and the name is
/// never empty. Serialises as `{"code": "32.77", "name": "Kota Cimahi", "level":
/// "kabupaten_kota"}` for JSON answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    code: RegionCode,
    /// Borrowed from the embedded text; owned only when the CSV had to unescape a quote.
    name: Cow<'static, str>,
    level: Level,
}

impl Region {
    /// Only the table loader builds regions; it checks that `level == code.level()`.
    pub(crate) fn new(code: RegionCode, name: Cow<'static, str>, level: Level) -> Self {
        Self { code, name, level }
    }

    /// The region's code, in canonical dotted form.
    pub fn code(&self) -> &RegionCode {
        &self.code
    }

    /// The official name, e.g. `Kota Cimahi` or `Melong`. Kabupaten and kota names carry their
    /// `Kabupaten`/`Kota` prefix; kecamatan and village names do not, and are not unique.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tier of government; always the same as `code().level()`.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Whether this is a kota (city): a kabupaten/kota whose number is 71–99. Kabupaten run
    /// 01–69. A kecamatan or village inside a kota is not itself a kota.
    pub fn is_kota(&self) -> bool {
        self.level == Level::KabupatenKota && matches!(self.part_number(1), Some(71..=99))
    }

    /// Whether this is a kelurahan (urban village, run by civil servants): a desa/kelurahan
    /// whose village number starts with 1. A desa's starts with 2 (and a handful of *desa adat*
    /// in Papua use 3); neither is a kelurahan.
    pub fn is_kelurahan(&self) -> bool {
        self.level == Level::DesaKelurahan && matches!(self.part_number(3), Some(1000..=1999))
    }

    /// The number in part `index` of the dotted code (0 = province), if the code has it.
    fn part_number(&self, index: usize) -> Option<u32> {
        self.code.as_str().split('.').nth(index)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn region(code: &str, name: &'static str) -> Region {
        let code = RegionCode::parse(code).unwrap();
        let level = code.level();
        Region::new(code, Cow::Borrowed(name), level)
    }

    #[test]
    fn a_kota_code_is_recognised_as_kota() {
        assert!(region("32.77", "Kota Cimahi").is_kota());
        assert!(region("31.71", "Kota Administrasi Jakarta Pusat").is_kota());
    }

    #[test]
    fn a_kabupaten_code_is_not_a_kota() {
        assert!(!region("32.17", "Kabupaten Bandung Barat").is_kota());
        assert!(!region("32.69", "Kabupaten X").is_kota());
    }

    #[test]
    fn only_the_kabupaten_kota_itself_is_a_kota() {
        assert!(!region("32.77.01", "Cimahi Selatan").is_kota());
        assert!(!region("32", "Jawa Barat").is_kota());
    }

    #[test]
    fn a_village_numbered_from_1000_is_a_kelurahan_and_from_2000_a_desa() {
        assert!(region("32.77.01.1001", "Melong").is_kelurahan());
        assert!(!region("32.17.01.2001", "Some Desa").is_kelurahan());
        assert!(!region("91.03.01.3007", "Desa Adat Yoboi").is_kelurahan());
        assert!(!region("32.77.01", "Cimahi Selatan").is_kelurahan());
    }

    #[test]
    fn a_region_serialises_as_code_name_and_level() {
        let json = serde_json::to_value(region("32.77", "Kota Cimahi")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "32.77", "name": "Kota Cimahi", "level": "kabupaten_kota"})
        );
    }
}
