//! The edge where text from a form, a JSON body or a spreadsheet row becomes a valid worker:
//! every field is checked, every broken rule is reported at once with the field and the
//! rule, and nothing invalid passes on.

use kesos_http::FieldError;
use kesos_regions::Regions;
use time::{Date, Month, OffsetDateTime};

use crate::domain::{
    Category, Education, EducationLevel, EmploymentStatus, Nik, NikError, Posting, Qualifications,
    Role, Sex,
};

/// A worker as typed: every field text, as a spreadsheet cell or JSON value gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerForm {
    /// 16-digit NIK.
    #[serde(default)]
    pub nik: String,
    /// Full name.
    #[serde(default)]
    pub full_name: String,
    /// `L` / `P` (or male / female, laki-laki / perempuan).
    #[serde(default)]
    pub sex: String,
    /// `YYYY-MM-DD`, or `DD-MM-YYYY` / `DD/MM/YYYY`.
    #[serde(default)]
    pub birth_date: String,
    /// A category code.
    #[serde(default)]
    pub category: String,
    /// A role code.
    #[serde(default)]
    pub role: String,
    /// An employment status code.
    #[serde(default)]
    pub employment_status: String,
    /// Region code of the posting (at least a kabupaten/kota).
    #[serde(default)]
    pub posting: String,
    /// An education level code.
    #[serde(default)]
    pub education_level: String,
    /// `ya`/`tidak`, `yes`/`no`, `true`/`false`, `1`/`0`.
    #[serde(default, deserialize_with = "text")]
    pub education_in_social_work: String,
    /// Whole months.
    #[serde(default, deserialize_with = "text")]
    pub practice_months: String,
    /// Whole hours.
    #[serde(default, deserialize_with = "text")]
    pub training_hours: String,
    /// `ya`/`tidak`, `yes`/`no`, `true`/`false`, `1`/`0`.
    #[serde(default, deserialize_with = "text")]
    pub association_member: String,
    /// When the worker was first registered, for history imported from an earlier register
    /// (`YYYY-MM-DD`, or `DD-MM-YYYY` / `DD/MM/YYYY`); empty means now. Progress counts the
    /// worker from that business day on, so reports as of a past date include them.
    #[serde(default)]
    pub registered_on: String,
}

/// Accepts a JSON string, number or boolean as text, so a client may send `24` or `"24"`.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::Deserialize;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "expected text, a number or a boolean, got {other}"
        ))),
    }
}

/// A worker whose every field is valid: what registration needs before sealing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidWorker {
    /// The NIK, checked against birth date and sex.
    pub nik: Nik,
    /// Full name, trimmed, inner whitespace collapsed.
    pub full_name: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: Date,
    /// Category.
    pub category: Category,
    /// Role.
    pub role: Role,
    /// Employment status.
    pub employment: EmploymentStatus,
    /// Posting.
    pub posting: Posting,
    /// Qualifications.
    pub qualifications: Qualifications,
    /// The business day of the first registration, when it lies in the past (imported
    /// history); `None` means the registration happens now.
    pub registered_on: Option<Date>,
}

fn required<'a>(errors: &mut Vec<FieldError>, field: &str, value: &'a str) -> Option<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
        None
    } else {
        Some(value)
    }
}

fn code<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, crate::domain::UnknownCode>,
) -> Option<T> {
    let value = required(errors, field, value)?;
    parse(value)
        .map_err(|e| {
            errors.push(FieldError::new(
                field,
                format!("{field}.known"),
                e.to_string(),
            ))
        })
        .ok()
}

/// Reads a yes/no answer in Indonesian or English; empty is "no".
pub fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "" | "tidak" | "no" | "n" | "false" | "0" | "t" => Some(false),
        "ya" | "yes" | "y" | "true" | "1" => Some(true),
        _ => None,
    }
}

fn flag(errors: &mut Vec<FieldError>, field: &str, value: &str) -> bool {
    parse_flag(value).unwrap_or_else(|| {
        errors.push(FieldError::new(
            field,
            format!("{field}.flag"),
            "must be ya/tidak, yes/no, true/false or 1/0",
        ));
        false
    })
}

fn count(errors: &mut Vec<FieldError>, field: &str, value: &str, max: u32) -> u32 {
    let value = value.trim();
    if value.is_empty() {
        return 0;
    }
    match value.parse::<u32>() {
        Ok(n) if n <= max => n,
        _ => {
            errors.push(FieldError::new(
                field,
                format!("{field}.range"),
                format!("must be a whole number from 0 to {max}"),
            ));
            0
        }
    }
}

/// Reads `YYYY-MM-DD`, `DD-MM-YYYY` or `DD/MM/YYYY`.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (year, month, day) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    let year: i32 = year.parse().ok().filter(|_| year.len() == 4)?;
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, day.parse().ok()?).ok()
}

fn nik_rule(error: &NikError) -> &'static str {
    match error {
        NikError::WrongLength { .. } => "nik.length",
        NikError::NotDigits => "nik.digits",
        NikError::UnknownRegion { .. } => "nik.region",
        NikError::ImpossibleBirthDate { .. } => "nik.birth_date_real",
        NikError::BirthDateMismatch { .. } => "nik.matches_birth_date",
        NikError::SexMismatch { .. } => "nik.matches_sex",
    }
}

impl WorkerForm {
    /// Checks every field; all broken rules come back together. `today` bounds the birth
    /// date (no one is registered before birth or over 100).
    pub fn validate(&self, regions: &Regions, today: Date) -> Result<ValidWorker, Vec<FieldError>> {
        let mut errors = Vec::new();
        let full_name = required(&mut errors, "full_name", &self.full_name).and_then(|name| {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            if name.chars().count() > 200 || name.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    "full_name",
                    "full_name.text",
                    "must be at most 200 printable characters",
                ));
                None
            } else {
                Some(name)
            }
        });
        let sex = code(&mut errors, "sex", &self.sex, Sex::parse);
        let birth_date =
            required(&mut errors, "birth_date", &self.birth_date).and_then(
                |text| match parse_date(text) {
                    Some(date) if date <= today && today.year() - date.year() <= 100 => Some(date),
                    Some(_) => {
                        errors.push(FieldError::new(
                            "birth_date",
                            "birth_date.plausible",
                            "must be in the past and at most 100 years ago",
                        ));
                        None
                    }
                    None => {
                        errors.push(FieldError::new(
                            "birth_date",
                            "birth_date.real",
                            format!("{text:?} is not a real date (YYYY-MM-DD or DD-MM-YYYY)"),
                        ));
                        None
                    }
                },
            );
        let nik = required(&mut errors, "nik", &self.nik).and_then(|text| {
            Nik::parse(text, regions)
                .map_err(|e| errors.push(FieldError::new("nik", nik_rule(&e), e.to_string())))
                .ok()
        });
        if let (Some(nik), Some(date), Some(sex)) = (&nik, birth_date, sex)
            && let Err(e) = nik.check_against(date, sex)
        {
            errors.push(FieldError::new("nik", nik_rule(&e), e.to_string()));
        }
        let category = code(&mut errors, "category", &self.category, Category::parse);
        let role = code(&mut errors, "role", &self.role, Role::parse);
        let employment = code(
            &mut errors,
            "employment_status",
            &self.employment_status,
            EmploymentStatus::parse,
        );
        let posting = required(&mut errors, "posting", &self.posting).and_then(|text| {
            Posting::parse(text, regions)
                .map_err(|e| {
                    errors.push(FieldError::new("posting", "posting.region", e.to_string()))
                })
                .ok()
        });
        let level = code(
            &mut errors,
            "education_level",
            &self.education_level,
            EducationLevel::parse,
        );
        let in_social_work = flag(
            &mut errors,
            "education_in_social_work",
            &self.education_in_social_work,
        );
        let practice_months = count(&mut errors, "practice_months", &self.practice_months, 900);
        let training_hours = count(&mut errors, "training_hours", &self.training_hours, 100_000);
        let association_member = flag(&mut errors, "association_member", &self.association_member);
        let registered_on = registered_on(&mut errors, &self.registered_on, birth_date, today);
        match (
            nik, full_name, sex, birth_date, category, role, employment, posting, level,
        ) {
            (
                Some(nik),
                Some(full_name),
                Some(sex),
                Some(birth_date),
                Some(category),
                Some(role),
                Some(employment),
                Some(posting),
                Some(level),
            ) if errors.is_empty() => Ok(ValidWorker {
                nik,
                full_name,
                sex,
                birth_date,
                category,
                role,
                employment,
                posting,
                qualifications: Qualifications {
                    education: Education {
                        level,
                        in_social_work,
                    },
                    practice_months,
                    training_hours,
                    association_member,
                },
                registered_on,
            }),
            _ => Err(errors),
        }
    }
}

impl ValidWorker {
    /// When the registration happened in business time: the start of its registration day in
    /// WIB for imported history, otherwise `now`.
    pub fn registered_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        self.registered_on
            .map_or(now, crate::domain::calendar::start_of)
    }
}

/// The optional registration date: a real date, not after today, not before the worker's
/// birth nor before 1945.
fn registered_on(
    errors: &mut Vec<FieldError>,
    text: &str,
    birth_date: Option<Date>,
    today: Date,
) -> Option<Date> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let Some(date) = parse_date(text) else {
        errors.push(FieldError::new(
            "registered_on",
            "registered_on.real",
            format!("{text:?} is not a real date (YYYY-MM-DD or DD-MM-YYYY)"),
        ));
        return None;
    };
    let after_birth = birth_date.is_none_or(|birth| date > birth);
    if date > today || date.year() < 1945 || !after_birth {
        errors.push(FieldError::new(
            "registered_on",
            "registered_on.plausible",
            "must not be in the future, nor before 1945 or the worker's birth",
        ));
        return None;
    }
    (date < today).then_some(date)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use time::macros::date;

    pub(crate) fn good() -> WorkerForm {
        WorkerForm {
            nik: "3277015705900002".into(),
            full_name: "  Siti   Aminah ".into(),
            sex: "P".into(),
            birth_date: "17-05-1990".into(),
            category: "Pekerja Sosial".into(),
            role: "kelurahan_peksos".into(),
            employment_status: "THL".into(),
            posting: "32.77.01.1001".into(),
            education_level: "S1".into(),
            education_in_social_work: "ya".into(),
            practice_months: "24".into(),
            training_hours: "60".into(),
            association_member: "tidak".into(),
            registered_on: String::new(),
        }
    }

    fn rules(form: &WorkerForm) -> Vec<String> {
        form.validate(Regions::embedded(), date!(2026 - 11 - 22))
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{}:{}", e.field, e.rule))
            .collect()
    }

    #[test]
    fn a_complete_form_is_a_valid_worker_with_a_tidied_name() {
        let worker = good()
            .validate(Regions::embedded(), date!(2026 - 11 - 22))
            .unwrap();
        assert_eq!(worker.full_name, "Siti Aminah");
        assert_eq!(worker.birth_date, date!(1990 - 05 - 17));
    }

    #[test]
    fn a_past_registration_date_is_kept_and_today_or_none_means_now() {
        let today = date!(2026 - 11 - 22);
        let dated = |text: &str| {
            WorkerForm {
                registered_on: text.into(),
                ..good()
            }
            .validate(Regions::embedded(), today)
        };
        assert_eq!(
            dated("01-03-2017").unwrap().registered_on,
            Some(date!(2017 - 03 - 01))
        );
        assert_eq!(dated("2026-11-22").unwrap().registered_on, None);
        assert_eq!(dated("").unwrap().registered_on, None);
        for (text, rule) in [
            ("2026-11-23", "registered_on.plausible"),
            ("1990-05-16", "registered_on.plausible"),
            ("2017-02-30", "registered_on.real"),
        ] {
            let errors = dated(text).unwrap_err();
            assert_eq!(errors.len(), 1, "{text}");
            assert_eq!(errors[0].rule, rule, "{text}");
        }
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let form = WorkerForm {
            nik: "123".into(),
            full_name: String::new(),
            category: "astronaut".into(),
            practice_months: "many".into(),
            ..good()
        };
        assert_eq!(
            rules(&form),
            [
                "full_name:required",
                "nik:nik.length",
                "category:category.known",
                "practice_months:practice_months.range"
            ]
        );
    }

    #[test]
    fn a_nik_that_disagrees_with_the_birth_date_is_named() {
        let form = WorkerForm {
            birth_date: "1990-05-18".into(),
            ..good()
        };
        assert_eq!(rules(&form), ["nik:nik.matches_birth_date"]);
    }

    #[test]
    fn an_impossible_birth_date_is_named() {
        let form = WorkerForm {
            birth_date: "31-02-1990".into(),
            ..good()
        };
        assert_eq!(rules(&form), ["birth_date:birth_date.real"]);
    }

    #[test]
    fn an_unknown_posting_region_is_named() {
        let form = WorkerForm {
            posting: "32.77.09".into(),
            ..good()
        };
        assert_eq!(rules(&form), ["posting:posting.region"]);
    }
}
