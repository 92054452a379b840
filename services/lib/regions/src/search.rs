//! Finding regions by name.

use crate::level::Level;
use crate::region::Region;
use crate::registry::Regions;

impl Regions {
    /// Regions whose name contains `query` (trimmed, case-insensitive), at most `limit` of
    /// them: provinces first, then kabupaten/kota, kecamatan and villages, each level in code
    /// order. An empty query matches nothing. This is a scan of the whole table (a few
    /// milliseconds), meant for a search box, not for a hot path.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Region> {
        let needle = query.trim().to_lowercase();
        let mut found = Vec::new();
        if needle.is_empty() || limit == 0 {
            return found;
        }
        for level in Level::ALL {
            let matches = self
                .iter()
                .filter(|region| region.level() == level)
                .filter(|region| contains_ignoring_case(region.name(), &needle));
            for region in matches {
                found.push(region);
                if found.len() == limit {
                    return found;
                }
            }
        }
        found
    }
}

/// Whether `haystack` contains `needle_lower` (already lower-cased), ignoring case. ASCII
/// needles — nearly every real query — are matched without allocating.
fn contains_ignoring_case(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        true
    } else if needle_lower.is_ascii() {
        haystack
            .as_bytes()
            .windows(needle_lower.len())
            .any(|window| window.eq_ignore_ascii_case(needle_lower.as_bytes()))
    } else {
        haystack.to_lowercase().contains(needle_lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_in_both_directions() {
        assert!(contains_ignoring_case("Kota Cimahi", "cimahi"));
        assert!(contains_ignoring_case("KOTA CIMAHI", "kota ci"));
        assert!(!contains_ignoring_case("Kota Cimahi", "bandung"));
        assert!(!contains_ignoring_case("Ci", "cimahi"));
    }

    #[test]
    fn a_non_ascii_query_still_matches() {
        assert!(contains_ignoring_case("Bu Nuapu’u", "nuapu’u"));
    }
}
