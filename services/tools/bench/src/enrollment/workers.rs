//! Generated workers: valid, distinct NIKs spread over every kabupaten/kota, as a CSV file a
//! Dinas office could send, and as JSON bodies for the HTTP registration.

use kesos_enrollment::service::import::HEADERS;
use kesos_regions::{Level, Regions};
use kesos_spreadsheet::write_csv;
use serde_json::{Value, json};
use time::{Date, Duration, Month};

/// One generated worker: NIK, sex code, birth date, posting.
pub(crate) struct Generated {
    pub(crate) nik: String,
    pub(crate) sex: &'static str,
    pub(crate) birth_date: Date,
    pub(crate) posting: String,
    pub(crate) name: String,
}

/// Makes workers; holds the kabupaten/kota list so each worker costs microseconds.
pub(crate) struct Generator {
    regencies: Vec<&'static kesos_regions::Region>,
}

impl Generator {
    /// Over every kabupaten/kota of the embedded edition.
    pub(crate) fn new() -> Self {
        Self {
            regencies: Regions::embedded()
                .iter()
                .filter(|r| r.level() == Level::KabupatenKota)
                .collect(),
        }
    }

    /// The `index`-th worker of a `serial` family: distinct (index, serial) pairs give
    /// distinct NIKs. Regions cycle through every kabupaten/kota; birth dates from 1960 on.
    pub(crate) fn worker(&self, index: usize, serial: u16) -> Generated {
        generated(&self.regencies, index, serial)
    }
}

fn generated(regencies: &[&'static kesos_regions::Region], index: usize, serial: u16) -> Generated {
    let region = regencies[index % regencies.len().max(1)];
    let round = index / regencies.len().max(1);
    let start = Date::from_calendar_date(1960, Month::January, 1).unwrap_or(Date::MIN);
    let birth_date = start + Duration::days(i64::try_from(round % 16_000).unwrap_or(0));
    let female = index % 2 == 1;
    let day = birth_date.day() + if female { 40 } else { 0 };
    let nik = format!(
        "{}01{day:02}{:02}{:02}{serial:04}",
        region.code().digits(),
        u8::from(birth_date.month()),
        birth_date.year() % 100
    );
    Generated {
        nik,
        sex: if female { "P" } else { "L" },
        birth_date,
        posting: region.code().to_string(),
        name: format!("Pekerja Uji {index}"),
    }
}

/// A CSV of `count` workers.
pub(crate) fn csv(generator: &Generator, count: usize) -> Vec<u8> {
    let rows: Vec<Vec<String>> = (0..count)
        .map(|index| {
            let worker = generator.worker(index, 1);
            vec![
                worker.nik,
                worker.name,
                worker.sex.to_owned(),
                worker.birth_date.to_string(),
                "peksos".to_owned(),
                "pendamping_pkh".to_owned(),
                "thl".to_owned(),
                worker.posting,
                "s1".to_owned(),
                "ya".to_owned(),
                "24".to_owned(),
                "60".to_owned(),
                "tidak".to_owned(),
            ]
        })
        .collect();
    write_csv(&HEADERS, &rows)
}

/// The JSON registration body of the `index`-th worker of the HTTP phase (serial 2, so no
/// NIK clashes with the import's).
pub(crate) fn body(generator: &Generator, index: usize) -> Value {
    let worker = generator.worker(index, 2);
    json!({
        "nik": worker.nik,
        "full_name": worker.name,
        "sex": worker.sex,
        "birth_date": worker.birth_date.to_string(),
        "category": "peksos",
        "role": "kelurahan_peksos",
        "employment_status": "thl",
        "posting": worker.posting,
        "education_level": "s1",
        "education_in_social_work": true,
        "practice_months": 24,
        "training_hours": 60
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_niks_are_distinct_and_agree_with_their_birth_dates() {
        let mut seen = HashSet::new();
        let generator = Generator::new();
        for index in 0..3_000 {
            let worker = generator.worker(index, 1);
            let nik =
                kesos_enrollment::domain::Nik::parse(&worker.nik, Regions::embedded()).unwrap();
            let sex = kesos_enrollment::domain::Sex::parse(worker.sex).unwrap();
            nik.check_against(worker.birth_date, sex).unwrap();
            assert!(seen.insert(worker.nik));
        }
    }
}
