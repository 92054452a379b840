//! A worker as people read it. Personal data is opened with the worker's key while it lives;
//! after erasure the same record shows `erased: true` and no personal data, while everything
//! else (category, posting, nominations) stays, so counts and history keep their shape.

use kesos_vault::{KeyState, Sealed};
use serde::Serialize;

use crate::domain::{NominationStatus, PortfolioRef, SealedField, Worker};
use crate::service::{BIRTH_DATE_LABEL, NAME_LABEL, NIK_LABEL, PORTFOLIO_LABEL};

/// A worker, for JSON answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerView {
    /// The worker id.
    pub worker_id: String,
    /// The person's data was erased; `nik`, `full_name` and `birth_date` are null.
    pub erased: bool,
    /// `active`, `departed` (left the programme; see `departure`) or `erased`.
    pub status: &'static str,
    /// The departure in force, while the worker is departed.
    pub departure: Option<DepartureView>,
    /// The latest return's business date (YYYY-MM-DD), once the worker came back.
    pub returned_on: Option<String>,
    /// NIK, when readable.
    pub nik: Option<String>,
    /// Full name, when readable.
    pub full_name: Option<String>,
    /// Birth date (ISO), when readable.
    pub birth_date: Option<String>,
    /// `L` or `P`.
    pub sex: &'static str,
    /// Category code.
    pub category: &'static str,
    /// Role code.
    pub role: &'static str,
    /// Employment status code.
    pub employment_status: &'static str,
    /// Posting region code.
    pub posting: String,
    /// Education level code.
    pub education_level: &'static str,
    /// Education in social work.
    pub education_in_social_work: bool,
    /// Months of practice.
    pub practice_months: u32,
    /// Hours of training.
    pub training_hours: u32,
    /// Association member.
    pub association_member: bool,
    /// Nominations, oldest first.
    pub nominations: Vec<NominationView>,
}

/// A departure, for JSON answers: the worker's history and certificates stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartureView {
    /// `resigned`, `retired`, `died` or `left_programme`.
    pub reason: &'static str,
    /// The business date (YYYY-MM-DD, WIB).
    pub departed_on: String,
    /// The note given; empty when none.
    pub note: String,
}

/// A nomination, for JSON answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NominationView {
    /// Its id.
    pub nomination_id: String,
    /// Scheme code.
    pub scheme_code: String,
    /// Programme year.
    pub period_year: i32,
    /// Recommending office region.
    pub recommending_office: String,
    /// Portfolio reference; absent once the worker is erased (it is sealed with their key).
    pub portfolio_ref: Option<String>,
    /// `submitted`, `verified`, `rejected`, `overridden` or `withdrawn`.
    pub status: &'static str,
    /// For a rejection: every failed rule.
    pub failures: Vec<FailureView>,
}

/// One failed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureView {
    /// Rule id.
    pub rule_id: String,
    /// What was missing.
    pub message: String,
}

fn open(key: &KeyState, label: &str, value: &SealedField) -> Option<String> {
    let KeyState::Live(key) = key else {
        return None;
    };
    match key.open(label, &Sealed::from(value)) {
        Ok(bytes) => String::from_utf8(bytes).ok(),
        Err(error) => {
            tracing::error!(%error, "a sealed field of a live key does not open");
            None
        }
    }
}

impl WorkerView {
    /// The view of a registered worker (an unregistered state gives an empty record).
    pub fn of(worker: &Worker, key: &KeyState) -> Self {
        let erased = worker.erased || matches!(key, KeyState::Destroyed { .. });
        let record = worker.record.as_deref();
        let readable = |label: &str, pick: fn(&crate::domain::SealedIdentity) -> &SealedField| {
            if erased {
                return None;
            }
            record.and_then(|r| open(key, label, pick(&r.identity)))
        };
        let status = match (erased, &worker.departure) {
            (true, _) => "erased",
            (false, Some(_)) => "departed",
            (false, None) => "active",
        };
        Self {
            worker_id: record.map(|r| r.worker_id.to_string()).unwrap_or_default(),
            erased,
            status,
            departure: worker.departure.as_ref().map(|d| DepartureView {
                reason: d.reason.code(),
                departed_on: d.departed_on.to_string(),
                note: d.note.clone(),
            }),
            returned_on: worker.returned_on.map(|d| d.to_string()),
            nik: readable(NIK_LABEL, |i| &i.nik),
            full_name: readable(NAME_LABEL, |i| &i.full_name),
            birth_date: readable(BIRTH_DATE_LABEL, |i| &i.birth_date),
            sex: record.map_or("", |r| r.sex.code()),
            category: record.map_or("", |r| r.category.code()),
            role: record.map_or("", |r| r.role.code()),
            employment_status: record.map_or("", |r| r.employment.code()),
            posting: record.map(|r| r.posting.to_string()).unwrap_or_default(),
            education_level: record.map_or("", |r| r.qualifications.education.level.code()),
            education_in_social_work: record
                .is_some_and(|r| r.qualifications.education.in_social_work),
            practice_months: record.map_or(0, |r| r.qualifications.practice_months),
            training_hours: record.map_or(0, |r| r.qualifications.training_hours),
            association_member: record.is_some_and(|r| r.qualifications.association_member),
            nominations: worker
                .nominations
                .iter()
                .map(|n| NominationView {
                    nomination_id: n.id.to_string(),
                    scheme_code: n.scheme.to_string(),
                    period_year: n.period_year,
                    recommending_office: n.recommending_office.to_string(),
                    portfolio_ref: match &n.portfolio_ref {
                        _ if erased => None,
                        PortfolioRef::Sealed(field) => open(key, PORTFOLIO_LABEL, field),
                        PortfolioRef::InClear(text) => Some(text.clone()),
                    },
                    status: n.status.code(),
                    failures: match &n.status {
                        NominationStatus::Rejected(failures) => failures
                            .iter()
                            .map(|f| FailureView {
                                rule_id: f.rule_id.clone(),
                                message: f.message.clone(),
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                })
                .collect(),
        }
    }
}
