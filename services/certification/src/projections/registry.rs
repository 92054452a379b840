//! The certificate registry as a [`Projection`]: what it handles (the six certificate events
//! of the service's own log) and how it applies a batch of them inside the transaction the
//! [`kesos_readside::Projector`] opens, which also moves its checkpoint. Reading the log,
//! checkpoints, retries and waiting for a position are the projector's.
//!
//! Applying is idempotent, so a stretch applied twice (two projectors over one database, one of
//! which lost the checkpoint's compare-and-set after a crash) changes nothing: an issued row
//! already there is left as it is, and a status change writes the same values again.

use async_trait::async_trait;
use kesos_aggregate::EventCodec;
use kesos_readside::{Delivered, Projection, ProjectionError, Tx, to_i64};

use crate::domain::{CertificateChange, CertificateEvent, Issuance};
use crate::wire::CERTIFICATE_EVENTS;

/// The name the registry's checkpoints are kept under.
pub const NAME: &str = "certification.registry";

/// Issued certificates per insert: 17 parameters each, under SQLite's 999.
const ISSUED_PER_INSERT: usize = 50;

/// The registry's columns an issuance fills (17, in bind order).
const ISSUED_COLUMNS: &str = "certificate_id, number, worker_id, scheme_code, scheme_category, \
    scheme_level, abbreviation, issue_year, sequence, lsps_id, basis_event_id, valid_from, \
    valid_until, status_index, supersedes, region, position";

const SUSPENDED: &str = "UPDATE certification_certificates SET status = 'suspended', \
    status_reason = $1, position = $2 WHERE certificate_id = $3";
const REINSTATED: &str = "UPDATE certification_certificates SET status = 'valid', \
    status_reason = $1, position = $2 WHERE certificate_id = $3";
const REVOKED: &str = "UPDATE certification_certificates SET status = 'revoked', \
    status_reason = $1, revocation_category = $2, position = $3 WHERE certificate_id = $4";
const EXPIRED: &str = "UPDATE certification_certificates SET status = 'expired', position = $1 \
    WHERE certificate_id = $2";
const SUPERSEDED: &str = "UPDATE certification_certificates SET status = 'superseded', \
    superseded_by = $1, position = $2 WHERE certificate_id = $3";

/// The registry (`certification_certificates`): one row per certificate, its status as the
/// log last said. Verification, lists, renewals, the expiry job and the status lists read it
/// through [`crate::projections::Registry`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RegistryProjection;

#[async_trait]
impl Projection for RegistryProjection {
    fn name(&self) -> &str {
        NAME
    }

    fn handles(&self, event_type: &str) -> bool {
        CERTIFICATE_EVENTS.contains(&event_type)
    }

    async fn apply(&self, tx: &mut Tx, events: &[&Delivered]) -> Result<(), ProjectionError> {
        let changes = decode(events)?;
        for step in steps(&changes) {
            match step {
                Step::Issued(run) => insert_issued(tx, &run).await?,
                Step::Other(position, event) => change_status(tx, position, event).await?,
            }
        }
        Ok(())
    }
}

fn decode(events: &[&Delivered]) -> Result<Vec<(u64, CertificateEvent)>, ProjectionError> {
    events
        .iter()
        .map(|delivered| {
            let event = &delivered.event;
            CertificateEvent::decode(
                event.event_type.as_str(),
                event.schema_version,
                &event.payload,
            )
            .map(|decoded| (event.position, decoded))
            .map_err(|error| ProjectionError::event(delivered, error))
        })
        .collect()
}

/// What applying a stretch of the log takes, in log order: runs of issuances (nearly all of a
/// busy log, inserted many rows at a time), and every other change on its own.
enum Step<'a> {
    Issued(Vec<(u64, &'a Issuance)>),
    Other(u64, &'a CertificateEvent),
}

fn steps(changes: &[(u64, CertificateEvent)]) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut run: Vec<(u64, &Issuance)> = Vec::new();
    for (position, event) in changes {
        if let CertificateChange::CertificateIssued(issued) = &event.change {
            run.push((*position, issued));
            if run.len() == ISSUED_PER_INSERT {
                steps.push(Step::Issued(std::mem::take(&mut run)));
            }
            continue;
        }
        if !run.is_empty() {
            steps.push(Step::Issued(std::mem::take(&mut run)));
        }
        steps.push(Step::Other(*position, event));
    }
    if !run.is_empty() {
        steps.push(Step::Issued(run));
    }
    steps
}

/// A multi-row insert of `rows` issued certificates (status `valid`); a row already there (a
/// stretch applied twice) is left as it is.
fn issued_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=17).map(|p| format!("${}", row * 17 + p)).collect();
            format!("({}, 'valid')", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO certification_certificates ({ISSUED_COLUMNS}, status) VALUES {} \
         ON CONFLICT DO NOTHING",
        values.join(", ")
    )
}

async fn insert_issued(tx: &mut Tx, run: &[(u64, &Issuance)]) -> Result<(), sqlx::Error> {
    let sql = issued_sql(run.len());
    let mut statement = tx.query(&sql);
    for (position, issued) in run {
        statement = statement
            .bind(issued.certificate_id.to_string())
            .bind(issued.number.to_string())
            .bind(issued.worker_id.to_string())
            .bind(issued.scheme.code.clone())
            .bind(issued.scheme.category.clone())
            .bind(issued.scheme.level.clone())
            .bind(issued.number.scheme().to_owned())
            .bind(i64::from(issued.number.year()))
            .bind(to_i64(issued.number.sequence()))
            .bind(issued.lsps_id.clone())
            .bind(issued.basis_decision_event_id.to_string())
            .bind(issued.valid_from.to_string())
            .bind(issued.valid_until.to_string())
            .bind(to_i64(issued.status_list_index))
            .bind(issued.supersedes.map(|s| s.to_string()))
            .bind(issued.region.clone())
            .bind(to_i64(*position));
    }
    statement.execute().await?;
    Ok(())
}

async fn change_status(
    tx: &mut Tx,
    position: u64,
    event: &CertificateEvent,
) -> Result<(), sqlx::Error> {
    let id = event.certificate_id.to_string();
    let position = to_i64(position);
    let statement = match &event.change {
        CertificateChange::CertificateIssued(_) => return Ok(()),
        CertificateChange::CertificateSuspended { reason } => tx
            .query(SUSPENDED)
            .bind(reason.as_str().to_owned())
            .bind(position)
            .bind(id),
        CertificateChange::CertificateReinstated { reason } => tx
            .query(REINSTATED)
            .bind(reason.as_str().to_owned())
            .bind(position)
            .bind(id),
        CertificateChange::CertificateRevoked { category, reason } => tx
            .query(REVOKED)
            .bind(reason.as_str().to_owned())
            .bind(category.code())
            .bind(position)
            .bind(id),
        CertificateChange::CertificateExpired { .. } => tx.query(EXPIRED).bind(position).bind(id),
        CertificateChange::CertificateSuperseded { by } => tx
            .query(SUPERSEDED)
            .bind(by.to_string())
            .bind(position)
            .bind(id),
    };
    statement.execute().await?;
    Ok(())
}
