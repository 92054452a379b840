//! The certificate aggregate: one stream per certificate, from issue to the end of its life.
//!
//! ```text
//!            suspend              revoke (final)
//!   Valid ───────────▶ Suspended ─────────────▶ Revoked
//!     ▲  ◀─────────── │   │
//!     │   reinstate    │   └─ expire / supersede ─▶ Expired / Superseded
//!     └─ issue         └─ (same from Valid; Expired may still be revoked)
//! ```

use time::{Date, Month};

use crate::domain::number::CertificateNumber;
use crate::domain::types::{
    CertificateId, Reason, RevocationCategory, SchemeRef, Status, WorkerId,
};

/// Longest validity a scheme may grant, in years (the domain's 3-5, with room).
pub const MAX_VALIDITY_YEARS: u32 = 10;

/// What an issuance says: everything the certificate holds, looked up before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The certificate (derived from the decision).
    pub certificate_id: CertificateId,
    /// Its unique number.
    pub number: CertificateNumber,
    /// The holder.
    pub worker_id: WorkerId,
    /// The scheme certified.
    pub scheme: SchemeRef,
    /// Event id of the Kompeten decision.
    pub basis_decision_event_id: uuid::Uuid,
    /// The LSPS that assessed.
    pub lsps_id: String,
    /// First day of validity: the decision's date.
    pub valid_from: Date,
    /// Last day of validity.
    pub valid_until: Date,
    /// The certificate this one renews.
    pub supersedes: Option<CertificateId>,
    /// The holder's region at issue (Kemendagri code), if known.
    pub region: Option<String>,
    /// The certificate's bit in the status lists.
    pub status_list_index: u64,
}

/// What may be asked of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateCommand {
    /// Issue it; `validity_years` must be 1 to [`MAX_VALIDITY_YEARS`].
    Issue(Box<Issuance>),
    /// Suspend it for a reason, on `today`.
    Suspend {
        /// Why.
        reason: Reason,
        /// The day of the command (an expired certificate cannot be suspended).
        today: Date,
    },
    /// Reinstate a suspended certificate.
    Reinstate {
        /// Why.
        reason: Reason,
        /// The day of the command (an expired certificate cannot be reinstated).
        today: Date,
    },
    /// Revoke it for good.
    Revoke {
        /// The category of the reason.
        category: RevocationCategory,
        /// The explanation.
        reason: Reason,
    },
    /// Record that its validity ended, as of `today` (the expiry job).
    Expire {
        /// The job's day; must be after `valid_until`.
        today: Date,
    },
    /// Record that a renewal replaced it.
    Supersede {
        /// The renewal.
        by: CertificateId,
    },
}

/// What happened to a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateChange {
    /// Issued.
    CertificateIssued(Box<Issuance>),
    /// Suspended.
    CertificateSuspended {
        /// Why.
        reason: Reason,
    },
    /// Reinstated.
    CertificateReinstated {
        /// Why.
        reason: Reason,
    },
    /// Revoked.
    CertificateRevoked {
        /// The category.
        category: RevocationCategory,
        /// The explanation.
        reason: Reason,
    },
    /// Expired.
    CertificateExpired {
        /// Its last valid day.
        valid_until: Date,
    },
    /// Superseded by a renewal.
    CertificateSuperseded {
        /// The renewal.
        by: CertificateId,
    },
}

/// An event of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEvent {
    /// The certificate.
    pub certificate_id: CertificateId,
    /// Its holder.
    pub worker_id: WorkerId,
    /// What happened.
    pub change: CertificateChange,
}

/// Which rule refused a command. Each message says the rule and, where one exists, the way out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The stream is empty.
    #[error("the certificate does not exist")]
    NotIssued,
    /// Issue on an issued certificate.
    #[error("certificate {0} is issued already")]
    AlreadyIssued(CertificateId),
    /// The validity period breaks the rules.
    #[error(
        "a certificate is valid for 1 to {MAX_VALIDITY_YEARS} years, from its decision date; {0}"
    )]
    InvalidValidity(String),
    /// A certificate cannot renew itself.
    #[error("a certificate cannot supersede itself")]
    SupersedesItself,
    /// Revoked certificates take no command.
    #[error("certificate {number} is revoked; a revocation is final")]
    Revoked {
        /// Its number.
        number: CertificateNumber,
    },
    /// Expired certificates cannot be suspended or reinstated.
    #[error(
        "certificate {number} expired after {valid_until}; an expired certificate cannot be {action}"
    )]
    Expired {
        /// Its number.
        number: CertificateNumber,
        /// Its last valid day.
        valid_until: Date,
        /// What was asked.
        action: &'static str,
    },
    /// Superseded certificates take no command but revocation of the renewal.
    #[error("certificate {number} was superseded by certificate {by}; act on the renewal instead")]
    Superseded {
        /// Its number.
        number: CertificateNumber,
        /// The renewal.
        by: CertificateId,
    },
    /// Suspend on a suspended certificate.
    #[error("certificate {0} is suspended already")]
    AlreadySuspended(CertificateNumber),
    /// Reinstate on a certificate in force.
    #[error("certificate {0} is not suspended; only a suspended certificate can be reinstated")]
    NotSuspended(CertificateNumber),
    /// Expire before the end of validity.
    #[error("certificate {number} is valid until {valid_until}; it expires only after that day")]
    NotYetDue {
        /// Its number.
        number: CertificateNumber,
        /// Its last valid day.
        valid_until: Date,
    },
}

/// The state of one certificate, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificate {
    /// What the issue said; `None` before it.
    pub issued: Option<Box<Issuance>>,
    /// Where it stands.
    pub status: Status,
    /// The renewal that replaced it.
    pub superseded_by: Option<CertificateId>,
}

/// The last day of a validity of `years` starting on `from`: the day before the same date
/// `years` later (29 February counts as 1 March in a year without it).
pub fn valid_until(from: Date, years: u32) -> Result<Date, CertificateError> {
    if !(1..=MAX_VALIDITY_YEARS).contains(&years) {
        return Err(CertificateError::InvalidValidity(format!(
            "{years} years was asked"
        )));
    }
    let out_of_range =
        || CertificateError::InvalidValidity(format!("{from} + {years} years is out of range"));
    let year = from.year() + i32::try_from(years).map_err(|_| out_of_range())?;
    let same_day = Date::from_calendar_date(year, from.month(), from.day())
        .or_else(|_| Date::from_calendar_date(year, Month::March, 1))
        .map_err(|_| out_of_range())?;
    same_day.previous_day().ok_or_else(out_of_range)
}

impl Certificate {
    fn issuance(&self) -> Result<&Issuance, CertificateError> {
        self.issued.as_deref().ok_or(CertificateError::NotIssued)
    }

    fn event(&self, issuance: &Issuance, change: CertificateChange) -> CertificateEvent {
        CertificateEvent {
            certificate_id: issuance.certificate_id,
            worker_id: issuance.worker_id,
            change,
        }
    }

    /// Refuses any command on a certificate whose life has ended (revoked or superseded).
    fn alive(&self, issuance: &Issuance) -> Result<(), CertificateError> {
        match (self.status, self.superseded_by) {
            (Status::Revoked, _) => Err(CertificateError::Revoked {
                number: issuance.number.clone(),
            }),
            (Status::Superseded, Some(by)) => Err(CertificateError::Superseded {
                number: issuance.number.clone(),
                by,
            }),
            _ => Ok(()),
        }
    }

    fn not_expired(
        &self,
        issuance: &Issuance,
        today: Date,
        action: &'static str,
    ) -> Result<(), CertificateError> {
        if self.status == Status::Expired || today > issuance.valid_until {
            return Err(CertificateError::Expired {
                number: issuance.number.clone(),
                valid_until: issuance.valid_until,
                action,
            });
        }
        Ok(())
    }

    fn issue(&self, issuance: &Issuance) -> Result<Vec<CertificateEvent>, CertificateError> {
        if self.issued.is_some() {
            return Err(CertificateError::AlreadyIssued(issuance.certificate_id));
        }
        if issuance.supersedes == Some(issuance.certificate_id) {
            return Err(CertificateError::SupersedesItself);
        }
        if issuance.valid_until < issuance.valid_from {
            return Err(CertificateError::InvalidValidity(format!(
                "{} is before {}",
                issuance.valid_until, issuance.valid_from
            )));
        }
        let longest = valid_until(issuance.valid_from, MAX_VALIDITY_YEARS)?;
        if issuance.valid_until > longest {
            return Err(CertificateError::InvalidValidity(format!(
                "{} is after {longest}",
                issuance.valid_until
            )));
        }
        Ok(vec![self.event(
            issuance,
            CertificateChange::CertificateIssued(Box::new(issuance.clone())),
        )])
    }
}

impl kesos_aggregate::Aggregate for Certificate {
    type Command = CertificateCommand;
    type Event = CertificateEvent;
    type Error = CertificateError;

    fn decide(
        &self,
        command: &CertificateCommand,
    ) -> Result<Vec<CertificateEvent>, CertificateError> {
        if let CertificateCommand::Issue(issuance) = command {
            return self.issue(issuance);
        }
        let issuance = self.issuance()?;
        let number = || issuance.number.clone();
        let change = match command {
            CertificateCommand::Issue(_) => {
                return Err(CertificateError::AlreadyIssued(issuance.certificate_id));
            }
            CertificateCommand::Suspend { reason, today } => {
                self.alive(issuance)?;
                self.not_expired(issuance, *today, "suspended")?;
                if self.status == Status::Suspended {
                    return Err(CertificateError::AlreadySuspended(number()));
                }
                CertificateChange::CertificateSuspended {
                    reason: reason.clone(),
                }
            }
            CertificateCommand::Reinstate { reason, today } => {
                self.alive(issuance)?;
                self.not_expired(issuance, *today, "reinstated")?;
                if self.status != Status::Suspended {
                    return Err(CertificateError::NotSuspended(number()));
                }
                CertificateChange::CertificateReinstated {
                    reason: reason.clone(),
                }
            }
            CertificateCommand::Revoke { category, reason } => {
                self.alive(issuance)?;
                CertificateChange::CertificateRevoked {
                    category: *category,
                    reason: reason.clone(),
                }
            }
            CertificateCommand::Expire { today } => {
                if self.status == Status::Expired {
                    return Ok(Vec::new());
                }
                self.alive(issuance)?;
                if *today <= issuance.valid_until {
                    return Err(CertificateError::NotYetDue {
                        number: number(),
                        valid_until: issuance.valid_until,
                    });
                }
                CertificateChange::CertificateExpired {
                    valid_until: issuance.valid_until,
                }
            }
            CertificateCommand::Supersede { by } => {
                if self.superseded_by == Some(*by) {
                    return Ok(Vec::new());
                }
                self.alive(issuance)?;
                if *by == issuance.certificate_id {
                    return Err(CertificateError::SupersedesItself);
                }
                if self.status == Status::Expired {
                    return Err(CertificateError::Expired {
                        number: number(),
                        valid_until: issuance.valid_until,
                        action: "superseded",
                    });
                }
                CertificateChange::CertificateSuperseded { by: *by }
            }
        };
        Ok(vec![self.event(issuance, change)])
    }

    fn evolve(mut self, event: &CertificateEvent) -> Self {
        match &event.change {
            CertificateChange::CertificateIssued(issuance) => {
                self.issued = Some(issuance.clone());
                self.status = Status::Valid;
            }
            CertificateChange::CertificateSuspended { .. } => self.status = Status::Suspended,
            CertificateChange::CertificateReinstated { .. } => self.status = Status::Valid,
            CertificateChange::CertificateRevoked { .. } => self.status = Status::Revoked,
            CertificateChange::CertificateExpired { .. } => self.status = Status::Expired,
            CertificateChange::CertificateSuperseded { by } => {
                self.status = Status::Superseded;
                self.superseded_by = Some(*by);
            }
        }
        self
    }
}
