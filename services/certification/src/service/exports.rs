//! The service's exports: a certificate as a signed Verifiable Credential and as a printable
//! page, and the signed status lists (see [`crate::credential`] for the formats).

use serde_json::{Value, json};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime};

use crate::credential::html::{Printable, render};
use crate::credential::status_list::{self, Purpose};
use crate::credential::{CERTIFICATE_TYPE, VC_CONTEXT, did_key, proof};
use crate::domain::{CertificateId, Status};
use crate::projections::CertificateRow;
use crate::service::codes;
use crate::service::views::{ERASED_NAME, Sight, status_on};
use crate::service::{Certification, CertificationError, today};

/// Where the revocation list is published, under the base URL.
pub const STATUS_LIST_PATH: &str = "/v1/status-list";
/// Where the suspension list is published, under the base URL.
pub const SUSPENSION_LIST_PATH: &str = "/v1/status-list/suspension";

fn date(text: &str) -> Result<Date, CertificationError> {
    Date::parse(text, &Iso8601::DATE)
        .map_err(|e| CertificationError::Export(format!("stored date {text:?}: {e}")))
}

fn now() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Certification {
    /// The public verification page of a number, with its verification code (the QR code's
    /// link: scanning it shows the details).
    pub fn verify_url(&self, number: &str) -> String {
        format!(
            "{}/verify/{number}?code={}",
            self.base_url(),
            self.verification_code(number)
        )
    }

    async fn export_name(
        &self,
        row: &CertificateRow,
        sight: Sight,
    ) -> Result<String, CertificationError> {
        let name = self.holder_name(row).await?;
        Ok(name.seen(sight).unwrap_or_else(|| ERASED_NAME.to_owned()))
    }

    /// The certificate as a W3C Verifiable Credential 2.0, signed by the issuer's key
    /// (`eddsa-jcs-2022`), with `credentialStatus` entries pointing at the status lists; the
    /// holder's name in full.
    pub async fn credential(&self, id: CertificateId) -> Result<Value, CertificationError> {
        let row = self.row(id).await?;
        self.credential_of(row, Sight::Full).await
    }

    /// [`Certification::credential`] of a certificate's row, the holder's name as a reader
    /// with `sight` may see it (an auditor's copy names the holder masked).
    pub async fn credential_of(
        &self,
        row: CertificateRow,
        sight: Sight,
    ) -> Result<Value, CertificationError> {
        let name = self.export_name(&row, sight).await?;
        let reference = self.reference();
        let base = self.base_url();
        let index = row.status_index.to_string();
        let scheme_name = reference
            .scheme(&row.scheme_code)
            .map_or_else(|| row.scheme_code.clone(), |s| s.name.clone());
        let entry = |path: &str, purpose: Purpose| {
            json!({
                "id": format!("{base}{path}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose.code(),
                "statusListIndex": index,
                "statusListCredential": format!("{base}{path}"),
            })
        };
        let key = self.signing_key();
        let document = json!({
            "@context": [VC_CONTEXT],
            "id": format!("{base}/v1/certificates/{}", row.certificate_id),
            "type": ["VerifiableCredential", CERTIFICATE_TYPE],
            "name": "Sertifikat Kompetensi",
            "issuer": { "id": did_key(&key.verifying_key()), "name": reference.issuer_name },
            "validFrom": format!("{}T00:00:00+07:00", row.valid_from),
            "validUntil": format!("{}T23:59:59+07:00", row.valid_until),
            "credentialSubject": {
                "id": format!("urn:uuid:{}", row.worker_id),
                "name": name,
                "certificateNumber": row.number,
                "scheme": {
                    "code": row.scheme_code,
                    "name": scheme_name,
                    "category": row.scheme_category,
                    "level": row.scheme_level,
                },
                "certifiedBy": { "id": row.lsps_id, "name": reference.lsps_name(&row.lsps_id) },
                "basis": { "decisionEventId": row.basis_event_id },
                "verificationUrl": self.verify_url(&row.number),
            },
            "credentialStatus": [
                entry(STATUS_LIST_PATH, Purpose::Revocation),
                entry(SUSPENSION_LIST_PATH, Purpose::Suspension),
            ],
        });
        match document {
            Value::Object(document) => Ok(proof::sign(document, key, &now())),
            _ => Err(CertificationError::Export(
                "the credential is not an object".into(),
            )),
        }
    }

    /// The certificate as a printable HTML page with a QR code of its verification page, the
    /// holder's name in full.
    pub async fn certificate_html(&self, id: CertificateId) -> Result<String, CertificationError> {
        let row = self.row(id).await?;
        self.certificate_html_of(row, Sight::Full).await
    }

    /// [`Certification::certificate_html`] of a certificate's row, the holder's name as a
    /// reader with `sight` may see it.
    pub async fn certificate_html_of(
        &self,
        row: CertificateRow,
        sight: Sight,
    ) -> Result<String, CertificationError> {
        let name = self.export_name(&row, sight).await?;
        let reference = self.reference();
        let page = Printable {
            holder_name: name,
            scheme_name: reference
                .scheme(&row.scheme_code)
                .map_or_else(|| row.scheme_code.clone(), |s| s.name.clone()),
            level: row.scheme_level.clone(),
            valid_from: date(&row.valid_from)?,
            valid_until: date(&row.valid_until)?,
            status: status_on(&row.status, &row.valid_until, today()),
            issuing_body: reference.lsps_name(&row.lsps_id).to_owned(),
            issuer_name: reference.issuer_name.clone(),
            verify_url: self.verify_url(&row.number),
            verification_code: codes::printed(&self.verification_code(&row.number)),
            number: row.number,
        };
        render(&page).map_err(|e| CertificationError::Export(e.to_string()))
    }

    /// The signed status list credential for `purpose`, as the registry holds the statuses
    /// (a status change shows as soon as its command has answered).
    pub async fn status_list(&self, purpose: Purpose) -> Result<Value, CertificationError> {
        let (status, path) = match purpose {
            Purpose::Revocation => (Status::Revoked, STATUS_LIST_PATH),
            Purpose::Suspension => (Status::Suspended, SUSPENSION_LIST_PATH),
        };
        let set = self.registry().indexes_in(status).await?;
        let covering = self.registry().max_status_index().await?.unwrap_or(0);
        Ok(status_list::credential(
            &format!("{}{path}", self.base_url()),
            purpose,
            &set,
            covering,
            &self.reference().issuer_name,
            self.signing_key(),
            &now(),
        ))
    }
}
