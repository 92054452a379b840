//! Property tests of region-code parsing (issue 21, item 10): any text is parsed or refused
//! without a panic, a refusal echoes a bounded excerpt, and a code reads back from both of its
//! written forms. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-regions -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_regions::{RegionCode, Regions};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_with_a_bounded_echo(text in any::<String>()) {
            match RegionCode::parse(&text) {
                Ok(code) => prop_assert!(code.as_str().len() <= 13),
                Err(error) => prop_assert!(error.input().chars().count() <= 41),
            }
            let _ = Regions::embedded().lookup(&text);
        }

        #[test]
        fn digit_and_dot_text_is_parsed_or_refused_without_a_panic(text in "[0-9. ]{0,16}") {
            if let Ok(code) = RegionCode::parse(&text) {
                prop_assert_eq!(RegionCode::parse(code.as_str()).unwrap(), code.clone());
                prop_assert_eq!(RegionCode::parse(&code.digits()).unwrap(), code);
            }
        }

        #[test]
        fn every_known_region_reads_back_from_its_dotted_and_bare_forms(
            index in any::<prop::sample::Index>(),
        ) {
            let regions: Vec<_> = Regions::embedded().iter().collect();
            let region = regions[index.index(regions.len())];
            let code = region.code();
            prop_assert_eq!(&RegionCode::parse(code.as_str()).unwrap(), code);
            prop_assert_eq!(&RegionCode::parse(&code.digits()).unwrap(), code);
            prop_assert_eq!(&RegionCode::parse(&format!("  {code}\t")).unwrap(), code);
        }
    }
}
