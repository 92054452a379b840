//! Reads of the registry: one certificate (by id or number, with what is known of its holder),
//! lists, renewals, the expiry job's due certificates, sequences and the status lists. Reads
//! only: what they see is what the projector has applied (a caller that must see its own
//! write waits for its position first, see [`crate::service::Certification::registry_at`]).

use kesos_readside::{Db, Page, PageQuery, Row, Where, to_u64};
use uuid::Uuid;

use crate::domain::{CertificateId, Status};
use crate::service::CertificationError;

/// Largest page a list returns.
pub const MAX_PAGE: u32 = 500;

/// Workers per [`Registry::holdings`] query (parameters stay under SQLite's 999).
const HOLDINGS_PER_QUERY: usize = 500;

/// The columns a [`CertificateRow`] is read from.
const COLUMNS: &str = "c.certificate_id, c.number, c.worker_id, c.scheme_code, c.scheme_category, \
    c.scheme_level, c.lsps_id, c.basis_event_id, c.valid_from, c.valid_until, c.status, \
    c.status_index, c.status_reason, c.revocation_category, c.supersedes, c.superseded_by, \
    c.region, h.erased, h.name_masked, h.posting, h.departed_on, h.departure_reason";

/// Certificates with their holders (the holder row is the intake's, and may not exist yet).
const FROM: &str =
    "certification_certificates c LEFT JOIN certification_holders h ON h.worker_id = c.worker_id";

/// A page of certificates.
pub type CertificatePage = Page<CertificateRow>;

/// One certificate as the registry holds it, with what certification knows of its holder.
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
    /// The holder was erased (UU PDP).
    pub holder_erased: bool,
    /// The holder's name masked, as the consumer recorded it; `None` when not recorded (then
    /// asked of enrollment when needed).
    pub masked_name: Option<String>,
    /// The holder's posting now, following moves; `None` when the registration has not
    /// reached certification.
    pub holder_posting: Option<String>,
    /// The business date the holder left the programme, until a return.
    pub holder_departed_on: Option<String>,
    /// Why (`resigned`, `retired`, `died`, `left_programme`).
    pub holder_departure_reason: Option<String>,
}

impl CertificateRow {
    /// The region the certificate belongs to for lists and access: its holder's posting now,
    /// else the region it was issued in.
    pub fn scope_region(&self) -> Option<&str> {
        self.holder_posting.as_deref().or(self.region.as_deref())
    }
}

/// A certificate a worker holds, as issuance looks at it.
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

impl CertificateFilter {
    /// The filter as a `WHERE` clause over [`FROM`].
    fn clause(&self) -> Where {
        let mut clause = Where::new();
        clause
            .equals("c.worker_id", self.worker_id.map(|w| w.to_string()))
            .equals("c.status", self.status.map(Status::code))
            .equals("c.scheme_code", self.scheme_code.clone())
            .within("COALESCE(h.posting, c.region)", self.region.as_deref());
        clause
    }
}

fn row_of(row: &Row) -> Result<CertificateRow, sqlx::Error> {
    let erased: Option<i32> = row.get("erased")?;
    Ok(CertificateRow {
        certificate_id: row.get("certificate_id")?,
        number: row.get("number")?,
        worker_id: row.get("worker_id")?,
        scheme_code: row.get("scheme_code")?,
        scheme_category: row.get("scheme_category")?,
        scheme_level: row.get("scheme_level")?,
        lsps_id: row.get("lsps_id")?,
        basis_event_id: row.get("basis_event_id")?,
        valid_from: row.get("valid_from")?,
        valid_until: row.get("valid_until")?,
        status: row.get("status")?,
        status_index: to_u64(row.get("status_index")?),
        status_reason: row.get("status_reason")?,
        revocation_category: row.get("revocation_category")?,
        supersedes: row.get("supersedes")?,
        superseded_by: row.get("superseded_by")?,
        region: row.get("region")?,
        holder_erased: erased.unwrap_or(0) != 0,
        masked_name: row.get("name_masked")?,
        holder_posting: row.get("posting")?,
        holder_departed_on: row.get("departed_on")?,
        holder_departure_reason: row.get("departure_reason")?,
    })
}

fn holding_of(row: &Row) -> Result<Option<Holding>, sqlx::Error> {
    let id: String = row.get("certificate_id")?;
    let worker: String = row.get("worker_id")?;
    let status = Status::parse(&row.get::<String>("status")?);
    let supersedes: Option<String> = row.get("supersedes")?;
    let (Ok(id), Ok(worker)) = (Uuid::parse_str(&id), Uuid::parse_str(&worker)) else {
        return Ok(None);
    };
    Ok(Some(Holding {
        certificate_id: CertificateId(id),
        worker_id: worker,
        scheme_code: row.get("scheme_code")?,
        current: status.is_some_and(Status::is_current),
        superseded: status == Some(Status::Superseded),
        supersedes: supersedes
            .and_then(|s| Uuid::parse_str(&s).ok())
            .map(CertificateId),
    }))
}

fn ids(rows: &[Row]) -> Result<Vec<CertificateId>, sqlx::Error> {
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        if let Ok(id) = Uuid::parse_str(&row.get_index::<String>(0)?) {
            ids.push(CertificateId(id));
        }
    }
    Ok(ids)
}

/// The registry's reads, over the service's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
}

impl Registry {
    /// The registry in `db` (migrated by [`crate::service::Certification::build`]).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database it reads.
    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn one(
        &self,
        column: &str,
        value: String,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE c.{column} = $1");
        let row = self.db.query(&sql).bind(value).fetch_optional().await?;
        Ok(row.as_ref().map(row_of).transpose()?)
    }

    /// The certificate with this id.
    pub async fn by_id(
        &self,
        id: CertificateId,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        self.one("certificate_id", id.to_string()).await
    }

    /// The certificate with this number (canonical text).
    pub async fn by_number(
        &self,
        number: &str,
    ) -> Result<Option<CertificateRow>, CertificationError> {
        self.one("number", number.to_owned()).await
    }

    /// Every certificate the registry holds of these workers (any status), for issuing
    /// decisions with one read: which are issued already, which renew a current one.
    pub async fn holdings(&self, workers: &[Uuid]) -> Result<Vec<Holding>, CertificationError> {
        let mut holdings = Vec::new();
        for chunk in workers.chunks(HOLDINGS_PER_QUERY) {
            let params: Vec<String> = (1..=chunk.len()).map(|p| format!("${p}")).collect();
            let sql = format!(
                "SELECT certificate_id, worker_id, scheme_code, status, supersedes \
                 FROM certification_certificates WHERE worker_id IN ({})",
                params.join(", ")
            );
            let statement = chunk.iter().fold(self.db.query(&sql), |statement, worker| {
                statement.bind(worker.to_string())
            });
            for row in statement.fetch_all().await? {
                holdings.extend(holding_of(&row)?);
            }
        }
        Ok(holdings)
    }

    /// Certificates still valid or suspended whose last valid day is before `today`.
    pub async fn due(
        &self,
        today: &str,
        limit: u32,
    ) -> Result<Vec<CertificateId>, CertificationError> {
        let rows = self
            .db
            .query(
                "SELECT certificate_id FROM certification_certificates \
                 WHERE status IN ('valid', 'suspended') AND valid_until < $1 \
                 ORDER BY valid_until, certificate_id LIMIT $2",
            )
            .bind(today.to_owned())
            .bind(i64::from(limit))
            .fetch_all()
            .await?;
        Ok(ids(&rows)?)
    }

    /// The highest sequence issued under a scheme abbreviation in a year (0 for none).
    pub async fn max_sequence(
        &self,
        abbreviation: &str,
        year: i32,
    ) -> Result<u64, CertificationError> {
        let max: Option<i64> = self
            .db
            .query(
                "SELECT MAX(sequence) FROM certification_certificates \
                 WHERE abbreviation = $1 AND issue_year = $2",
            )
            .bind(abbreviation.to_owned())
            .bind(i64::from(year))
            .fetch_scalar()
            .await?;
        Ok(max.map_or(0, to_u64))
    }

    /// The highest status-list index given out, if any.
    pub async fn max_status_index(&self) -> Result<Option<u64>, CertificationError> {
        let max: Option<i64> = self
            .db
            .query("SELECT MAX(status_index) FROM certification_certificates")
            .fetch_scalar()
            .await?;
        Ok(max.and_then(|max| u64::try_from(max).ok()))
    }

    /// How many certificates the registry holds.
    pub async fn count(&self) -> Result<u64, CertificationError> {
        let count: i64 = self
            .db
            .query("SELECT COUNT(*) FROM certification_certificates")
            .fetch_scalar()
            .await?;
        Ok(to_u64(count))
    }

    /// The status-list indexes of certificates in `status`.
    pub async fn indexes_in(&self, status: Status) -> Result<Vec<u64>, CertificationError> {
        let rows = self
            .db
            .query("SELECT status_index FROM certification_certificates WHERE status = $1")
            .bind(status.code())
            .fetch_all()
            .await?;
        let mut indexes = Vec::with_capacity(rows.len());
        for row in &rows {
            indexes.extend(u64::try_from(row.get_index::<i64>(0)?).ok());
        }
        Ok(indexes)
    }

    /// One page of certificates matching `filter`, by certificate id, after `after`.
    pub async fn list(
        &self,
        filter: &CertificateFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<CertificatePage, CertificationError> {
        let clause = filter.clause();
        let query = PageQuery {
            columns: COLUMNS,
            from: FROM,
            key: "c.certificate_id",
            filter: &clause,
            after,
            limit,
            max: MAX_PAGE,
        };
        Ok(self
            .db
            .page(query, row_of, |row| row.certificate_id.clone())
            .await?)
    }
}
