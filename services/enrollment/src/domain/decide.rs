//! The worker's rules: every command either yields events or names the rule that refuses it.

use crate::domain::codes::Category;
use crate::domain::departure::{come_back, depart, present};
use crate::domain::events::{Registration, WorkerChange};
use crate::domain::types::{NominationId, PortfolioRef};
use crate::domain::worker::{Nomination, NominationStatus, Worker, WorkerCommand, WorkerError};

/// Decides a command on a worker's state (see [`WorkerCommand`] for each rule's reason).
pub fn decide(worker: &Worker, command: &WorkerCommand) -> Result<Vec<WorkerChange>, WorkerError> {
    if let WorkerCommand::RegisterWorker(registration) = command {
        return register(worker, registration);
    }
    if let WorkerCommand::WithinRegion { region, command } = command {
        if let Some(record) = &worker.record
            && !record.posting.code().is_within(region)
        {
            return Err(WorkerError::OutsideRegion {
                posting: record.posting.code().clone(),
                region: region.clone(),
            });
        }
        return decide(worker, command);
    }
    let record = worker.record.as_ref().ok_or(WorkerError::NotRegistered)?;
    if worker.erased {
        // Erasing again changes nothing; anything else on an erased worker is refused.
        return match command {
            WorkerCommand::EraseWorker { .. } => Ok(Vec::new()),
            _ => Err(WorkerError::Erased),
        };
    }
    let events = match command {
        WorkerCommand::RegisterWorker(_) | WorkerCommand::WithinRegion { .. } => Vec::new(),
        WorkerCommand::MovePosting(to) if *to == record.posting => Vec::new(),
        WorkerCommand::MovePosting(to) => vec![WorkerChange::WorkerPostingMoved {
            from: record.posting.clone(),
            to: to.clone(),
        }],
        WorkerCommand::ChangeEmploymentStatus(to) if *to == record.employment => Vec::new(),
        WorkerCommand::ChangeEmploymentStatus(to) => {
            if record.category == Category::PenyuluhSosial && !to.is_asn() {
                return Err(WorkerError::PenyuluhMustBeAsn(*to));
            }
            vec![WorkerChange::WorkerEmploymentStatusChanged {
                from: record.employment,
                to: *to,
            }]
        }
        WorkerCommand::UpdateQualifications(to) if *to == record.qualifications => Vec::new(),
        WorkerCommand::UpdateQualifications(to) => {
            vec![WorkerChange::WorkerQualificationsUpdated {
                qualifications: *to,
            }]
        }
        WorkerCommand::ChangeRole(to) if *to == record.role => Vec::new(),
        WorkerCommand::ChangeRole(to) => vec![WorkerChange::WorkerRoleChanged {
            from: record.role,
            to: *to,
        }],
        WorkerCommand::EraseWorker {
            key_id,
            reason,
            legal_basis,
        } => vec![WorkerChange::WorkerErased {
            key_id: key_id.clone(),
            reason: reason.as_str().to_owned(),
            legal_basis: legal_basis.as_str().to_owned(),
        }],
        WorkerCommand::Depart {
            reason,
            departed_on,
            note,
            registered_on,
            now,
        } => depart(
            worker,
            *reason,
            *departed_on,
            note.as_ref(),
            *registered_on,
            *now,
        )?,
        WorkerCommand::Return { returned_on, now } => come_back(worker, *returned_on, *now)?,
        WorkerCommand::Nominate {
            nomination_id,
            scheme,
            period_year,
            recommending_office,
            portfolio_ref,
        } => {
            if worker.nomination(*nomination_id).is_some() {
                // The same id again: a replay of this very nomination changes nothing.
                return match worker.nomination(*nomination_id) {
                    Some(n) if n.scheme == scheme.code => Ok(Vec::new()),
                    _ => Err(WorkerError::NominationIdTaken(*nomination_id)),
                };
            }
            present(worker)?;
            if scheme.category != record.category {
                return Err(WorkerError::SchemeCategoryMismatch {
                    scheme: scheme.code.clone(),
                    scheme_category: scheme.category,
                    worker_category: record.category,
                });
            }
            if !(2000..=2100).contains(period_year) {
                return Err(WorkerError::PeriodOutOfRange(*period_year));
            }
            if let Some(open) = worker
                .nominations
                .iter()
                .find(|n| n.scheme == scheme.code && n.status.is_open())
            {
                return Err(WorkerError::NominationAlreadyOpen {
                    scheme: scheme.code.clone(),
                    open: open.id,
                });
            }
            vec![WorkerChange::NominationSubmitted {
                nomination_id: *nomination_id,
                scheme: scheme.code.clone(),
                period_year: *period_year,
                recommending_office: recommending_office.clone(),
                portfolio_ref: PortfolioRef::Sealed(portfolio_ref.clone()),
            }]
        }
        WorkerCommand::Verify {
            nomination_id,
            scheme,
            rule_set_version,
        } => {
            let nomination = submitted(worker, *nomination_id, "verification")?;
            present(worker)?;
            match scheme.evaluate(&record.qualifications) {
                Ok(()) => vec![WorkerChange::NominationVerified {
                    nomination_id: nomination.id,
                    scheme: nomination.scheme.clone(),
                    region: record.posting.clone(),
                    rule_set_version: rule_set_version.clone(),
                }],
                Err(failures) => vec![WorkerChange::NominationRejected {
                    nomination_id: nomination.id,
                    failures,
                    rule_set_version: rule_set_version.clone(),
                }],
            }
        }
        WorkerCommand::Reject {
            nomination_id,
            reason,
        } => {
            let nomination = submitted(worker, *nomination_id, "rejection")?;
            vec![WorkerChange::NominationRejected {
                nomination_id: nomination.id,
                failures: vec![crate::domain::eligibility::RuleFailure {
                    rule_id: "manual".to_owned(),
                    message: reason.as_str().to_owned(),
                }],
                rule_set_version: "manual".to_owned(),
            }]
        }
        WorkerCommand::Override {
            nomination_id,
            justification,
        } => {
            let nomination = find(worker, *nomination_id)?;
            let NominationStatus::Rejected(failures) = &nomination.status else {
                return Err(wrong_status(nomination, "an override", "rejected"));
            };
            present(worker)?;
            if let Some(open) = worker
                .nominations
                .iter()
                .find(|n| n.scheme == nomination.scheme && n.status.is_open())
            {
                return Err(WorkerError::NominationAlreadyOpen {
                    scheme: nomination.scheme.clone(),
                    open: open.id,
                });
            }
            vec![WorkerChange::NominationOverridden {
                nomination_id: nomination.id,
                justification: justification.as_str().to_owned(),
                overridden_rule_ids: failures.iter().map(|f| f.rule_id.clone()).collect(),
                scheme: nomination.scheme.clone(),
                region: record.posting.clone(),
            }]
        }
        WorkerCommand::Withdraw {
            nomination_id,
            reason,
        } => {
            let nomination = find(worker, *nomination_id)?;
            if nomination.status == NominationStatus::Withdrawn {
                return Ok(Vec::new());
            }
            vec![WorkerChange::NominationWithdrawn {
                nomination_id: nomination.id,
                reason: reason.as_str().to_owned(),
            }]
        }
    };
    Ok(events)
}

fn register(
    worker: &Worker,
    registration: &Registration,
) -> Result<Vec<WorkerChange>, WorkerError> {
    if let Some(record) = &worker.record {
        return Err(WorkerError::AlreadyRegistered(record.worker_id));
    }
    if registration.category == Category::PenyuluhSosial && !registration.employment.is_asn() {
        return Err(WorkerError::PenyuluhMustBeAsn(registration.employment));
    }
    Ok(vec![WorkerChange::WorkerRegistered(Box::new(
        registration.clone(),
    ))])
}

fn find(worker: &Worker, id: NominationId) -> Result<&Nomination, WorkerError> {
    worker
        .nomination(id)
        .ok_or(WorkerError::UnknownNomination(id))
}

fn submitted<'a>(
    worker: &'a Worker,
    id: NominationId,
    action: &'static str,
) -> Result<&'a Nomination, WorkerError> {
    let nomination = find(worker, id)?;
    if nomination.status != NominationStatus::Submitted {
        return Err(wrong_status(nomination, action, "submitted"));
    }
    Ok(nomination)
}

fn wrong_status(
    nomination: &Nomination,
    action: &'static str,
    needed: &'static str,
) -> WorkerError {
    WorkerError::WrongNominationStatus {
        nomination_id: nomination.id,
        status: nomination.status.code(),
        action,
        needed,
    }
}
