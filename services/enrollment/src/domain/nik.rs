//! The NIK (Nomor Induk Kependudukan), checked at the edge so that a malformed one never
//! reaches the domain: 16 digits; digits 1–4 a real province + kabupaten/kota; digits 7–12 the
//! birth date DDMMYY (women add 40 to the day), which must be a real date and agree with the
//! stated birth date and sex; digits 13–16 a serial.
//!
//! A NIK is personal data (UU 27/2022): this type never prints its value in `Debug`, and the
//! service encrypts it before it is stored or sent.

use std::fmt;

use kesos_regions::Regions;
use time::{Date, Month};

use crate::domain::codes::Sex;

/// A NIK whose digits and region are valid. Its agreement with a person's birth date and sex
/// is checked by [`Nik::check_against`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nik(String);

/// Which NIK rule a value breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    /// Not 16 characters.
    #[error("a NIK has 16 digits; this one has {length}")]
    WrongLength {
        /// Characters given.
        length: usize,
    },
    /// Something other than a digit.
    #[error("a NIK has only digits 0-9")]
    NotDigits,
    /// Digits 1–4 name no kabupaten/kota.
    #[error("the NIK's first four digits {prefix} are not a province and kabupaten/kota code")]
    UnknownRegion {
        /// The first four digits.
        prefix: String,
    },
    /// Digits 7–12 are not a date (day 01–31 for men, 41–71 for women).
    #[error(
        "the NIK's birth-date digits {digits} are not a real date (DDMMYY, women add 40 to the day)"
    )]
    ImpossibleBirthDate {
        /// Digits 7–12.
        digits: String,
    },
    /// The date in the NIK is not the stated birth date.
    #[error("the NIK's birth-date digits {digits} do not match the stated birth date {stated}")]
    BirthDateMismatch {
        /// Digits 7–12.
        digits: String,
        /// The stated birth date.
        stated: Date,
    },
    /// The NIK's day encodes the other sex.
    #[error(
        "the NIK encodes sex {encoded} (women add 40 to the birth day) but the stated sex is {stated}"
    )]
    SexMismatch {
        /// The sex the NIK's day encodes.
        encoded: Sex,
        /// The stated sex.
        stated: Sex,
    },
}

impl Nik {
    /// Checks digits, region and date part.
    pub fn parse(text: &str, regions: &Regions) -> Result<Self, NikError> {
        let text = text.trim();
        let length = text.chars().count();
        if length != 16 {
            return Err(NikError::WrongLength { length });
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NikError::NotDigits);
        }
        let prefix = &text[..4];
        if regions.kabupaten_kota_of_nik(prefix).is_none() {
            return Err(NikError::UnknownRegion {
                prefix: prefix.to_owned(),
            });
        }
        let nik = Self(text.to_owned());
        nik.encoded()?;
        Ok(nik)
    }

    /// The 16 digits, for encryption and the blind index; never log them.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The day, month, two-digit year and sex the NIK encodes, if they form a date in the
    /// 1900s or 2000s.
    fn encoded(&self) -> Result<(u8, Month, u8, Sex), NikError> {
        let digits = &self.0[6..12];
        let impossible = || NikError::ImpossibleBirthDate {
            digits: digits.to_owned(),
        };
        let number = |range: std::ops::Range<usize>| digits[range].parse::<u8>().ok();
        let (Some(raw_day), Some(month), Some(year)) = (number(0..2), number(2..4), number(4..6))
        else {
            return Err(impossible());
        };
        let (day, sex) = if raw_day > 40 {
            (raw_day - 40, Sex::Female)
        } else {
            (raw_day, Sex::Male)
        };
        let month = Month::try_from(month).map_err(|_| impossible())?;
        let real_in =
            |century: i32| Date::from_calendar_date(century + i32::from(year), month, day).is_ok();
        if day == 0 || !(real_in(1900) || real_in(2000)) {
            return Err(impossible());
        }
        Ok((day, month, year, sex))
    }

    /// Checks that the NIK encodes this birth date (day, month and two-digit year) and sex.
    pub fn check_against(&self, birth_date: Date, sex: Sex) -> Result<(), NikError> {
        let (day, month, year, encoded_sex) = self.encoded()?;
        let stated_year = u8::try_from(birth_date.year().rem_euclid(100)).unwrap_or(u8::MAX);
        if day != birth_date.day() || month != birth_date.month() || year != stated_year {
            return Err(NikError::BirthDateMismatch {
                digits: self.0[6..12].to_owned(),
                stated: birth_date,
            });
        }
        if encoded_sex != sex {
            return Err(NikError::SexMismatch {
                encoded: encoded_sex,
                stated: sex,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nik(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn parse(text: &str) -> Result<Nik, NikError> {
        Nik::parse(text, Regions::embedded())
    }

    #[test]
    fn a_nik_of_a_man_born_in_cimahi_is_accepted() {
        let nik = parse("3277011705900001").unwrap();
        assert_eq!(nik.check_against(date!(1990 - 05 - 17), Sex::Male), Ok(()));
    }

    #[test]
    fn a_woman_s_nik_adds_forty_to_the_day() {
        let nik = parse("3277015705900002").unwrap();
        assert_eq!(
            nik.check_against(date!(1990 - 05 - 17), Sex::Female),
            Ok(())
        );
    }

    #[test]
    fn a_short_nik_is_refused_with_its_length() {
        assert_eq!(
            parse("327701170590"),
            Err(NikError::WrongLength { length: 12 })
        );
    }

    #[test]
    fn a_nik_with_letters_is_refused() {
        assert_eq!(parse("32770117059000AB"), Err(NikError::NotDigits));
    }

    #[test]
    fn a_nik_whose_first_four_digits_are_no_kabupaten_or_kota_is_refused() {
        assert_eq!(
            parse("3299011705900001"),
            Err(NikError::UnknownRegion {
                prefix: "3299".into()
            })
        );
    }

    #[test]
    fn a_nik_with_the_thirty_first_of_february_is_refused() {
        assert!(matches!(
            parse("3277013102900001"),
            Err(NikError::ImpossibleBirthDate { .. })
        ));
    }

    #[test]
    fn a_nik_with_day_zero_or_month_thirteen_is_refused() {
        assert!(parse("3277010005900001").is_err());
        assert!(parse("3277011713900001").is_err());
        assert!(parse("3277014005900001").is_err());
    }

    #[test]
    fn the_twenty_ninth_of_february_is_real_in_a_leap_year_of_either_century() {
        let nik = parse("3277012902000001").unwrap();
        assert_eq!(nik.check_against(date!(2000 - 02 - 29), Sex::Male), Ok(()));
        assert!(parse("3277012902010001").is_err());
    }

    #[test]
    fn a_nik_that_disagrees_with_the_stated_birth_date_is_refused() {
        let nik = parse("3277011705900001").unwrap();
        assert!(matches!(
            nik.check_against(date!(1990 - 05 - 18), Sex::Male),
            Err(NikError::BirthDateMismatch { .. })
        ));
    }

    #[test]
    fn a_man_s_nik_stated_for_a_woman_is_refused() {
        let nik = parse("3277011705900001").unwrap();
        assert_eq!(
            nik.check_against(date!(1990 - 05 - 17), Sex::Female),
            Err(NikError::SexMismatch {
                encoded: Sex::Male,
                stated: Sex::Female
            })
        );
    }

    #[test]
    fn a_nik_never_shows_its_digits_in_debug_output() {
        let nik = parse("3277011705900001").unwrap();
        assert!(!format!("{nik:?}").contains("3277"));
    }
}
