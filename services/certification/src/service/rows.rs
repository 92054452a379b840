//! Reads of the registry: one certificate (by id or number, with its holder's sealed name),
//! lists, renewals, the expiry job's due certificates, sequences and the status lists.

use kesos_vault::Sealed;
use sqlx::Row;
use uuid::Uuid;

use crate::domain::{CertificateId, Status};
use crate::service::error::CertificationError;
use crate::service::registry::{Registry, with_db};

/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

const COLUMNS: &str = "c.certificate_id, c.number, c.worker_id, c.scheme_code, c.scheme_category, \
    c.scheme_level, c.lsps_id, c.basis_event_id, c.valid_from, c.valid_until, c.status, \
    c.status_index, c.status_reason, c.revocation_category, c.supersedes, c.superseded_by, \
    c.region, h.name_ciphertext, h.name_nonce, h.name_key_id, h.erased, h.name_masked, h.posting";

/// [`Registry::by_number_at_head`]'s statement: [`COLUMNS`] and the log's head.
const BY_NUMBER_AT_HEAD: &str = "SELECT c.certificate_id, c.number, c.worker_id, c.scheme_code, \
    c.scheme_category, c.scheme_level, c.lsps_id, c.basis_event_id, c.valid_from, c.valid_until, \
    c.status, c.status_index, c.status_reason, c.revocation_category, c.supersedes, \
    c.superseded_by, c.region, h.name_ciphertext, h.name_nonce, h.name_key_id, h.erased, \
    h.name_masked, h.posting, (SELECT position FROM kesos_log_head) AS log_head \
    FROM certification_certificates c LEFT JOIN certification_holders h \
    ON h.worker_id = c.worker_id WHERE c.number = $1";

/// One certificate as the registry holds it, with its holder's sealed name when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// The certificate.
    pub certificate_id: String,
    /// Its number (canonical text).
    pub number: String,
    /// The holder.
    pub worker_id: String,
    /// Scheme code.
    pub scheme_code: String,
    /// Scheme category.
    pub scheme_category: String,
    /// Scheme level.
    pub scheme_level: String,
    /// The assessing LSPS.
    pub lsps_id: String,
    /// The decision's event id.
    pub basis_event_id: String,
    /// First valid day, ISO.
    pub valid_from: String,
    /// Last valid day, ISO.
    pub valid_until: String,
    /// Recorded status code (the expiry job may not have run yet: see the views).
    pub status: String,
    /// Bit in the status lists.
    pub status_index: u64,
    /// Reason of the last suspension, reinstatement or revocation.
    pub status_reason: Option<String>,
    /// Revocation category code.
    pub revocation_category: Option<String>,
    /// The certificate this one renews.
    pub supersedes: Option<String>,
    /// The renewal that replaced it.
    pub superseded_by: Option<String>,
    /// Region at issue.
    pub region: Option<String>,
    /// The holder's sealed name; `None` when unknown or erased.
    pub sealed_name: Option<Sealed>,
    /// The holder was erased (UU PDP).
    pub holder_erased: bool,
    /// The holder's name masked, as the consumer recorded it; `None` when not recorded (then
    /// opened from `sealed_name` when needed).
    pub masked_name: Option<String>,
    /// The holder's posting now, following moves; `None` when the registration has not
    /// reached certification.
    pub holder_posting: Option<String>,
}

impl CertificateRow {
    /// The region the certificate belongs to for lists and access: its holder's posting now,
    /// else the region it was issued in.
    pub fn scope_region(&self) -> Option<&str> {
        self.holder_posting.as_deref().or(self.region.as_deref())
    }
}

/// Workers per [`Registry::holdings`] query (parameters stay under SQLite's 999).
const HOLDINGS_PER_QUERY: usize = 500;

/// A certificate a worker holds, as batch issuance looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The certificate.
    pub certificate_id: CertificateId,
    /// Its holder.
    pub worker_id: Uuid,
    /// Its scheme.
    pub scheme_code: String,
    /// Valid or suspended (what a renewal supersedes).
    pub current: bool,
    /// Superseded by a renewal.
    pub superseded: bool,
    /// The certificate it renews, if any.
    pub supersedes: Option<CertificateId>,
}

/// Which certificates a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateFilter {
    /// Of this holder.
    pub worker_id: Option<Uuid>,
    /// In this recorded status.
    pub status: Option<Status>,
    /// Of this scheme code.
    pub scheme_code: Option<String>,
    /// Held by a worker posted in this region or within it now (a province, kabupaten/kota, …
    /// code; the region at issue when the holder's posting is not known here), so a drill-down
    /// can list the certificates behind a region's figures and a moved holder's certificates
    /// follow them.
    pub region: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePage {
    /// The rows, by certificate id.
    pub items: Vec<CertificateRow>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// How many certificates match in all.
    pub total: u64,
}

fn row_of<R: Row>(row: &R) -> Result<CertificateRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i32>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let ciphertext: Option<Vec<u8>> = row.try_get("name_ciphertext")?;
    let nonce: Option<Vec<u8>> = row.try_get("name_nonce")?;
    let key_id: Option<String> = row.try_get("name_key_id")?;
    let erased: Option<i32> = row.try_get("erased")?;
    let index: i64 = row.try_get("status_index")?;
    Ok(CertificateRow {
        certificate_id: row.try_get("certificate_id")?,
        number: row.try_get("number")?,
        worker_id: row.try_get("worker_id")?,
        scheme_code: row.try_get("scheme_code")?,
        scheme_category: row.try_get("scheme_category")?,
        scheme_level: row.try_get("scheme_level")?,
        lsps_id: row.try_get("lsps_id")?,
        basis_event_id: row.try_get("basis_event_id")?,
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        status: row.try_get("status")?,
        status_index: u64::try_from(index).unwrap_or(0),
        status_reason: row.try_get("status_reason")?,
        revocation_category: row.try_get("revocation_category")?,
        supersedes: row.try_get("supersedes")?,
        superseded_by: row.try_get("superseded_by")?,
        region: row.try_get("region")?,
        sealed_name: match (ciphertext, nonce, key_id) {
            (Some(ciphertext), Some(nonce), Some(key_id)) => Some(Sealed {
                ciphertext,
                nonce,
                key_id,
            }),
            _ => None,
        },
        holder_erased: erased.unwrap_or(0) != 0,
        masked_name: row.try_get("name_masked")?,
        holder_posting: row.try_get("posting")?,
    })
}

fn ids(rows: Vec<String>) -> Vec<CertificateId> {
    rows.iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .map(CertificateId)
        .collect()
}

impl Registry {
    async fn one(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certification_certificates c \
             LEFT JOIN certification_holders h ON h.worker_id = c.worker_id WHERE c.{column} = $1"
        );
        let row = with_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(value).fetch_optional(pool).await?;
            row.as_ref().map(row_of).transpose()?
        });
        Ok(row)
    }

    /// The certificate with this id.
    pub async fn by_id(
        &self,
        id: CertificateId,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        self.one("certificate_id", &id.to_string()).await
    }

    /// The certificate with this number (canonical text).
    pub async fn by_number(
        &self,
        number: &str,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        self.one("number", number).await
    }

    /// The certificate with this number and, read in the same statement (one snapshot, one
    /// round trip), the log's head: what public verification needs to answer read-your-writes.
    /// The registry lives in the store's database (see [`Registry::postgres`]), whose log-head
    /// row both stores keep in `kesos_log_head`. The head is `None` when no certificate has
    /// the number (ask the store then).
    pub async fn by_number_at_head(
        &self,
        number: &str,
    ) -> Result<(Option<CertificateRow>, Option<u64>), CertificationError> {
        let found = with_db!(&self.db, pool => {
            let row = sqlx::query(BY_NUMBER_AT_HEAD).bind(number).fetch_optional(pool).await?;
            match row {
                Some(row) => {
                    let head: i64 = row.try_get("log_head")?;
                    Some((row_of(&row)?, u64::try_from(head).unwrap_or(0)))
                }
                None => None,
            }
        });
        Ok(match found {
            Some((row, head)) => (Some(row), Some(head)),
            None => (None, None),
        })
    }

    /// The holder's current (valid or suspended) certificates of a scheme, newest first: what
    /// a renewal supersedes.
    pub async fn current_for(
        &self,
        worker_id: Uuid,
        scheme_code: &str,
    ) -> Result<Vec<CertificateId>, CertificationError> {
        let rows: Vec<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT certificate_id FROM certification_certificates WHERE worker_id = $1 \
                 AND scheme_code = $2 AND status IN ('valid', 'suspended') ORDER BY valid_from DESC, position DESC",
            )
            .bind(worker_id.to_string())
            .bind(scheme_code)
            .fetch_all(pool)
            .await?
        });
        Ok(ids(rows))
    }

    /// Every certificate the registry holds of these workers (any status), for issuing a batch
    /// of decisions with one read: which are issued already, which renew a current one.
    pub async fn holdings(&self, workers: &[Uuid]) -> Result<Vec<Holding>, CertificationError> {
        let mut holdings = Vec::new();
        for chunk in workers.chunks(HOLDINGS_PER_QUERY) {
            let params: Vec<String> = (1..=chunk.len()).map(|p| format!("${p}")).collect();
            let sql = format!(
                "SELECT certificate_id, worker_id, scheme_code, status, supersedes \
                 FROM certification_certificates WHERE worker_id IN ({})",
                params.join(", ")
            );
            let rows: Vec<(String, String, String, String, Option<String>)> = with_db!(&self.db, pool => {
                let mut query = sqlx::query_as(&sql);
                for worker in chunk {
                    query = query.bind(worker.to_string());
                }
                query.fetch_all(pool).await?
            });
            holdings.extend(rows.into_iter().filter_map(
                |(id, worker, scheme_code, status, supersedes)| {
                    Some(Holding {
                        certificate_id: CertificateId(Uuid::parse_str(&id).ok()?),
                        worker_id: Uuid::parse_str(&worker).ok()?,
                        scheme_code,
                        current: Status::parse(&status).is_some_and(|s| s.is_current()),
                        superseded: Status::parse(&status) == Some(Status::Superseded),
                        supersedes: supersedes
                            .and_then(|s| Uuid::parse_str(&s).ok())
                            .map(CertificateId),
                    })
                },
            ));
        }
        Ok(holdings)
    }

    /// Certificates still valid or suspended whose last valid day is before `today`.
    pub async fn due(
        &self,
        today: &str,
        limit: u32,
    ) -> Result<Vec<CertificateId>, CertificationError> {
        let rows: Vec<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT certificate_id FROM certification_certificates WHERE status IN ('valid', 'suspended') \
                 AND valid_until < $1 ORDER BY valid_until, certificate_id LIMIT $2",
            )
            .bind(today)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(ids(rows))
    }

    /// The highest sequence issued under a scheme abbreviation in a year (0 for none).
    pub async fn max_sequence(
        &self,
        abbreviation: &str,
        year: i32,
    ) -> Result<u64, CertificationError> {
        let max: Option<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT MAX(sequence) FROM certification_certificates WHERE abbreviation = $1 AND issue_year = $2",
            )
            .bind(abbreviation)
            .bind(i64::from(year))
            .fetch_one(pool)
            .await?
        });
        Ok(max.and_then(|m| u64::try_from(m).ok()).unwrap_or(0))
    }

    /// The highest status-list index given out, if any.
    pub async fn max_status_index(&self) -> Result<Option<u64>, CertificationError> {
        let max: Option<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT MAX(status_index) FROM certification_certificates")
                .fetch_one(pool)
                .await?
        });
        Ok(max.and_then(|m| u64::try_from(m).ok()))
    }

    /// How many certificates the registry holds.
    pub async fn count(&self) -> Result<u64, CertificationError> {
        let count: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM certification_certificates")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The status-list indexes of certificates in `status`.
    pub async fn indexes_in(&self, status: Status) -> Result<Vec<u64>, CertificationError> {
        let rows: Vec<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT status_index FROM certification_certificates WHERE status = $1")
                .bind(status.code())
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|i| u64::try_from(i).ok())
            .collect())
    }

    /// One page of certificates matching `filter`, after the certificate id `after`.
    pub async fn list(
        &self,
        filter: &CertificateFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<CertificatePage, CertificationError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let conditions_of = [
            ("c.worker_id", filter.worker_id.map(|w| w.to_string())),
            ("c.status", filter.status.map(|s| s.code().to_owned())),
            ("c.scheme_code", filter.scheme_code.clone()),
        ];
        for (column, value) in conditions_of {
            if let Some(value) = value {
                values.push(value);
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        if let Some(region) = &filter.region {
            values.push(region.clone());
            values.push(format!("{region}.%"));
            conditions.push(format!(
                "(COALESCE(h.posting, c.region) = ${} OR COALESCE(h.posting, c.region) LIKE ${})",
                values.len() - 1,
                values.len()
            ));
        }
        let filtered = |conditions: &[String]| {
            if conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conditions.join(" AND "))
            }
        };
        let count_sql = format!(
            "SELECT COUNT(*) FROM certification_certificates c LEFT JOIN certification_holders h \
             ON h.worker_id = c.worker_id{}",
            filtered(&conditions)
        );
        let mut page_values = values.clone();
        if let Some(after) = after {
            page_values.push(after.to_owned());
            conditions.push(format!("c.certificate_id > ${}", page_values.len()));
        }
        let page_sql = format!(
            "SELECT {COLUMNS} FROM certification_certificates c LEFT JOIN certification_holders h \
             ON h.worker_id = c.worker_id{} ORDER BY c.certificate_id LIMIT {}",
            filtered(&conditions),
            limit + 1
        );
        let (total, mut items) = with_db!(&self.db, pool => {
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            for value in &values {
                count = count.bind(value);
            }
            let total = count.fetch_one(pool).await?;
            let mut page = sqlx::query(&page_sql);
            for value in &page_values {
                page = page.bind(value);
            }
            let rows = page.fetch_all(pool).await?;
            let items = rows.iter().map(row_of).collect::<Result<Vec<_>, _>>()?;
            (total, items)
        });
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|item| item.certificate_id.clone())
        } else {
            None
        };
        Ok(CertificatePage {
            items,
            next,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}
