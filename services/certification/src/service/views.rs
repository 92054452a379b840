//! Certificates as people read them: central operations (the holder's name in full, unless
//! erased), the auditor (the same, the name masked: [`Sight`]) and the public (status, scheme,
//! validity, issuing body, the name masked).
//!
//! Every read here answers from the registry as its projector has applied it, and writes
//! nothing: a read never catches the registry up (a command that reads its own write waits for
//! its position before it answers, see [`Certification::registry_at`]).

use std::collections::HashMap;

use serde::Serialize;
use time::Date;
use uuid::Uuid;

use crate::domain::{CertificateId, CertificateNumber, Status, names};
use crate::projections::{CertificateFilter, CertificatePage, CertificateRow};
use crate::service::codes;
use crate::service::{Certification, CertificationError, today};

/// What is shown for the name of an erased holder.
pub const ERASED_NAME: &str = "(data erased)";

/// How much of a holder's name a reader may see: the HTTP layer decides it from the caller's
/// role (`kesos_auth::policy::sees_personal_data`), so every read path masks by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// The name in full: central operations, a Dinas in its own region.
    Full,
    /// The name masked (`S**** A****`), as the public sees it: the auditor.
    Masked,
}

/// A holder's name as enrollment lets it be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderName {
    /// The name, opened.
    Known(String),
    /// The holder was erased (UU PDP): the name is gone for good.
    Erased,
    /// Not known (enrollment has no readable name for the worker: its erasure has not
    /// reached certification yet, or the worker is not enrollment's).
    Unknown,
}

impl HolderName {
    /// The name in full, or what stands for it.
    pub fn full(&self) -> Option<String> {
        match self {
            Self::Known(name) => Some(name.clone()),
            Self::Erased => Some(ERASED_NAME.to_owned()),
            Self::Unknown => None,
        }
    }

    /// The masked name, or what stands for it.
    pub fn masked(&self) -> Option<String> {
        match self {
            Self::Known(name) => Some(names::mask(name)),
            Self::Erased => Some(ERASED_NAME.to_owned()),
            Self::Unknown => None,
        }
    }

    /// The name as a reader with `sight` may see it.
    pub fn seen(&self, sight: Sight) -> Option<String> {
        match sight {
            Sight::Full => self.full(),
            Sight::Masked => self.masked(),
        }
    }
}

/// A certificate for central operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    /// The certificate.
    pub certificate_id: String,
    /// Its number.
    pub number: String,
    /// The holder.
    pub worker_id: String,
    /// The holder's name, in full or masked as the reader may see it; `(data erased)` after
    /// erasure; absent when unknown here.
    pub holder_name: Option<String>,
    /// Scheme code.
    pub scheme_code: String,
    /// Scheme name from the reference data.
    pub scheme_name: Option<String>,
    /// Category.
    pub category: String,
    /// Level.
    pub level: String,
    /// The assessing LSPS's id.
    pub lsps_id: String,
    /// Its name.
    pub issuing_body: String,
    /// The decision's event id.
    pub basis_decision_event_id: String,
    /// First valid day.
    pub valid_from: String,
    /// Last valid day.
    pub valid_until: String,
    /// Status today: `expired` once the last valid day has passed, even before the expiry
    /// job recorded it.
    pub status: String,
    /// Reason of the last suspension, reinstatement or revocation.
    pub status_reason: Option<String>,
    /// Revocation category.
    pub revocation_category: Option<String>,
    /// The certificate this renews.
    pub supersedes: Option<String>,
    /// The renewal that replaced it.
    pub superseded_by: Option<String>,
    /// Its bit in the status lists.
    pub status_list_index: u64,
    /// Region at issue.
    pub region: Option<String>,
    /// The business date the holder left the programme (until a return): the certificate
    /// keeps its status, and readers see that its holder is no longer in the programme.
    pub holder_departed_on: Option<String>,
    /// Why the holder left: `resigned`, `retired`, `died` or `left_programme`.
    pub holder_departure_reason: Option<String>,
    /// The verification code printed beside the number (`7KQ2-M9XD`): public verification
    /// shows details only with it.
    pub verification_code: String,
}

/// What anyone may learn from a certificate number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicVerification {
    /// The number.
    pub number: String,
    /// Status today (`valid`, `suspended`, `revoked`, `expired`, `superseded`).
    pub status: String,
    /// Scheme code.
    pub scheme_code: String,
    /// Scheme name.
    pub scheme_name: Option<String>,
    /// Category.
    pub category: String,
    /// Level.
    pub level: String,
    /// First valid day.
    pub valid_from: String,
    /// Last valid day.
    pub valid_until: String,
    /// The certification body (LSPS) that issued it.
    pub issuing_body: String,
    /// The issuer (the ministry).
    pub issuer: String,
    /// The holder's name, masked (`S**** A****`), or `(data erased)`.
    pub holder: Option<String>,
}

/// What anyone may learn from a number without its verification code: whether the
/// certificate is valid today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicValidity {
    /// The number.
    pub number: String,
    /// Valid today (not suspended, revoked, expired or superseded).
    pub valid: bool,
}

/// A public verification's answer: the details with the right code, else validity only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PublicAnswer {
    /// Asked with the certificate's verification code.
    Details(Box<PublicVerification>),
    /// Asked with the number alone.
    Validity(PublicValidity),
}

/// The status a certificate has on `day`: its recorded status, except that one still valid or
/// suspended after its last valid day reads as expired.
pub fn status_on(recorded: &str, valid_until: &str, day: Date) -> String {
    let passed = valid_until < day.to_string().as_str();
    match Status::parse(recorded) {
        Some(status) if status.is_current() && passed => Status::Expired.code().to_owned(),
        _ => recorded.to_owned(),
    }
}

impl Certification {
    /// The names of `rows`' holders, asked of enrollment in one lookup (erased holders are not
    /// asked: certification knows them erased).
    async fn holder_names(
        &self,
        rows: &[CertificateRow],
    ) -> Result<HashMap<String, HolderName>, CertificationError> {
        let asked: Vec<Uuid> = rows
            .iter()
            .filter(|row| !row.holder_erased)
            .filter_map(|row| Uuid::parse_str(&row.worker_id).ok())
            .collect();
        let known = match asked.is_empty() {
            true => HashMap::new(),
            false => self
                .identities()
                .identities(&asked)
                .await
                .map_err(CertificationError::Identities)?,
        };
        Ok(rows
            .iter()
            .map(|row| {
                let name = match Uuid::parse_str(&row.worker_id) {
                    _ if row.holder_erased => HolderName::Erased,
                    // A page may hold several certificates of one holder (renewals).
                    Ok(worker) => known.get(&worker).map_or(HolderName::Unknown, |identity| {
                        HolderName::Known(identity.full_name.clone())
                    }),
                    Err(_) => HolderName::Unknown,
                };
                (row.worker_id.clone(), name)
            })
            .collect())
    }

    /// A holder's name, asked of enrollment.
    pub(crate) async fn holder_name(
        &self,
        row: &CertificateRow,
    ) -> Result<HolderName, CertificationError> {
        let mut names = self.holder_names(std::slice::from_ref(row)).await?;
        Ok(names.remove(&row.worker_id).unwrap_or(HolderName::Unknown))
    }

    /// A certificate's row, as the registry holds it.
    pub async fn row(&self, id: CertificateId) -> Result<CertificateRow, CertificationError> {
        self.registry()
            .by_id(id)
            .await?
            .ok_or(CertificationError::NotFound(id))
    }

    /// A certificate for central operations (the name in full).
    pub async fn view(&self, id: CertificateId) -> Result<CertificateView, CertificationError> {
        let row = self.row(id).await?;
        self.view_of_row(row, Sight::Full).await
    }

    /// A certificate's row (see [`Certification::row`]) as a reader with `sight` sees it.
    pub async fn view_of_row(
        &self,
        row: CertificateRow,
        sight: Sight,
    ) -> Result<CertificateView, CertificationError> {
        let name = self.holder_name(&row).await?;
        Ok(self.view_of(row, &name, sight))
    }

    pub(crate) fn view_of(
        &self,
        row: CertificateRow,
        name: &HolderName,
        sight: Sight,
    ) -> CertificateView {
        let reference = self.reference();
        CertificateView {
            verification_code: codes::printed(&self.verification_code(&row.number)),
            status: status_on(&row.status, &row.valid_until, today()),
            holder_name: name.seen(sight),
            scheme_name: reference.scheme(&row.scheme_code).map(|s| s.name.clone()),
            issuing_body: reference.lsps_name(&row.lsps_id).to_owned(),
            certificate_id: row.certificate_id,
            number: row.number,
            worker_id: row.worker_id,
            scheme_code: row.scheme_code,
            category: row.scheme_category,
            level: row.scheme_level,
            lsps_id: row.lsps_id,
            basis_decision_event_id: row.basis_event_id,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            status_reason: row.status_reason,
            revocation_category: row.revocation_category,
            supersedes: row.supersedes,
            superseded_by: row.superseded_by,
            status_list_index: row.status_index,
            region: row.region,
            holder_departed_on: row.holder_departed_on,
            holder_departure_reason: row.holder_departure_reason,
        }
    }

    /// One page of certificates, with the holders' names in full (one lookup for the page).
    pub async fn list(
        &self,
        filter: &CertificateFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<CertificateView>, CertificatePage), CertificationError> {
        self.list_as(filter, after, limit, Sight::Full).await
    }

    /// [`Certification::list`] as a reader with `sight` sees it.
    pub async fn list_as(
        &self,
        filter: &CertificateFilter,
        after: Option<&str>,
        limit: u32,
        sight: Sight,
    ) -> Result<(Vec<CertificateView>, CertificatePage), CertificationError> {
        let page = self.registry().list(filter, after, limit).await?;
        let names = self.holder_names(&page.items).await?;
        let views = page
            .items
            .iter()
            .map(|row| {
                let name = names.get(&row.worker_id).unwrap_or(&HolderName::Unknown);
                self.view_of(row.clone(), name, sight)
            })
            .collect();
        Ok((views, page))
    }

    /// The row of the certificate with this number: [`CertificationError::InvalidNumber`] for
    /// a mistyped one, [`CertificationError::NumberNotFound`] for one no certificate carries.
    /// One read, with the holder's mask the intake recorded (see [`crate::service::Intake`]),
    /// so public verification asks enrollment only for a holder recorded without one.
    async fn by_number(&self, text: &str) -> Result<CertificateRow, CertificationError> {
        let number = CertificateNumber::parse(text)?.to_string();
        self.registry()
            .by_number(&number)
            .await?
            .ok_or(CertificationError::NumberNotFound(number))
    }

    /// Public verification by number: with the certificate's verification `code`, its details
    /// (the holder masked); without one, whether it is valid, nothing more (numbers follow a
    /// sequence: walking them must not collect every certificate). A mistyped number is
    /// [`CertificationError::InvalidNumber`], a valid one no certificate carries
    /// [`CertificationError::NumberNotFound`], a code that is not the certificate's
    /// [`CertificationError::WrongCode`].
    pub async fn verify_number(
        &self,
        text: &str,
        code: Option<&str>,
    ) -> Result<PublicAnswer, CertificationError> {
        let Some(code) = code else {
            let found = self.by_number(text).await?;
            let status = status_on(&found.status, &found.valid_until, today());
            return Ok(PublicAnswer::Validity(PublicValidity {
                valid: status == Status::Valid.code(),
                number: found.number,
            }));
        };
        let found = self.by_number(text).await?;
        if !self.code_matches(&found.number, code) {
            return Err(CertificationError::WrongCode(found.number));
        }
        let details = self.details(found).await?;
        Ok(PublicAnswer::Details(Box::new(details)))
    }

    async fn details(&self, row: CertificateRow) -> Result<PublicVerification, CertificationError> {
        let holder = match (&row.masked_name, row.holder_erased) {
            (_, true) => Some(ERASED_NAME.to_owned()),
            (Some(masked), false) => Some(masked.clone()),
            (None, false) => self.holder_name(&row).await?.masked(),
        };
        let reference = self.reference();
        Ok(PublicVerification {
            status: status_on(&row.status, &row.valid_until, today()),
            scheme_name: reference.scheme(&row.scheme_code).map(|s| s.name.clone()),
            issuing_body: reference.lsps_name(&row.lsps_id).to_owned(),
            issuer: reference.issuer_name.clone(),
            holder,
            number: row.number,
            scheme_code: row.scheme_code,
            category: row.scheme_category,
            level: row.scheme_level,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
        })
    }

    /// Whether `full_name` is the name of the holder of the certificate with this number
    /// (case and spacing aside), asked with the certificate's verification `code` (else
    /// [`CertificationError::WrongCode`]: a name could otherwise be tried against every
    /// number). An erased or unknown holder never matches.
    pub async fn verify_name(
        &self,
        text: &str,
        code: &str,
        full_name: &str,
    ) -> Result<bool, CertificationError> {
        let row = self.by_number(text).await?;
        if !self.code_matches(&row.number, code) {
            return Err(CertificationError::WrongCode(row.number));
        }
        Ok(match self.holder_name(&row).await? {
            HolderName::Known(name) => names::same_name(&name, full_name),
            HolderName::Erased | HolderName::Unknown => false,
        })
    }
}
