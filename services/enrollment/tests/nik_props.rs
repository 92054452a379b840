//! Property tests of NIK parsing (issue 21, item 10): any text is accepted or refused without a
//! panic, and a NIK built from a real region and date is accepted with its digits kept. Longer
//! on demand: `PROPTEST_CASES=100000 cargo nextest run -p kesos-enrollment -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_enrollment::domain::nik::Nik;
    use kesos_regions::{Level, Regions};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_accepted_or_refused_without_a_panic(text in any::<String>()) {
            if let Ok(nik) = Nik::parse(&text, Regions::embedded()) {
                prop_assert_eq!(nik.digits().len(), 16);
            }
        }

        #[test]
        fn any_sixteen_digits_are_accepted_or_refused_without_a_panic(text in "[0-9]{16}") {
            if let Ok(nik) = Nik::parse(&text, Regions::embedded()) {
                prop_assert_eq!(nik.digits(), text.as_str());
            }
        }

        #[test]
        fn a_nik_of_a_real_kabupaten_and_a_real_date_is_accepted(
            index in any::<prop::sample::Index>(),
            day in 1u8..=28,
            month in 1u8..=12,
            year in 0u8..=99,
            female in any::<bool>(),
            serial in 1u16..=9999,
        ) {
            let kabupaten: Vec<_> = Regions::embedded()
                .iter()
                .filter(|r| r.level() == Level::KabupatenKota)
                .collect();
            let region = kabupaten[index.index(kabupaten.len())].code().digits();
            let day = if female { day + 40 } else { day };
            let text = format!("{region}01{day:02}{month:02}{year:02}{serial:04}");
            let nik = Nik::parse(&format!(" {text} "), Regions::embedded());
            prop_assert_eq!(nik.map(|n| n.digits().to_owned()), Ok(text));
        }
    }
}
