//! kesos' answer to each LSPS report: a `ReportOutcome` on the reporting LSPS's own outcome
//! subject, so an LSPS learns more than that JetStream stored its message — whether kesos
//! recorded it, had it already, or refused it, and for a refusal the field and the rule, in the
//! words of the HTTP API's problem details for the same rule.

use kesos_proto::kesos::lsps::v1 as lsps;

use crate::domain::SessionError;
use crate::service::SchedulingError;
use crate::service::reports::Recorded;

/// One rule a report broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The report's field (`decided_at`, `attendances[2].candidate_id`); empty for the whole
    /// message.
    pub field: String,
    /// The rule: `<field>.<check>` for a malformed field, the problem type for a session rule.
    pub rule: String,
    /// A sentence for people.
    pub detail: String,
}

impl Refusal {
    /// A malformed field: the rule is `<leaf>.<check>`, the leaf being the field's last name
    /// (`candidate_id` of `attendances[2].candidate_id`), so the rule does not vary with an index.
    pub fn field(field: &str, check: &str, detail: impl Into<String>) -> Self {
        let leaf = field.rsplit('.').next().unwrap_or(field);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        Self {
            field: field.to_owned(),
            rule: format!("{leaf}.{check}"),
            detail: detail.into(),
        }
    }

    /// A payload that is not the expected message at all.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self {
            field: String::new(),
            rule: "malformed".to_owned(),
            detail: detail.into(),
        }
    }

    /// What a rule of the session refused, as the HTTP API words it; `entry` prefixes the field
    /// for one entry of an attendance report (`attendances[2].`).
    pub fn of_error(error: SchedulingError, entry: &str) -> Vec<Self> {
        let field = format!("{entry}{}", report_field(&error));
        let problem = crate::http::errors::problem(error);
        if problem.errors.is_empty() {
            let rule = problem
                .kind
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            return vec![Self {
                field,
                rule,
                detail: problem.detail,
            }];
        }
        problem
            .errors
            .into_iter()
            .map(|error| Self {
                field: format!("{entry}{}", error.field),
                rule: error.rule,
                detail: error.detail,
            })
            .collect()
    }

    /// `field: detail`, for the dead-letter reason.
    pub fn reason(&self) -> String {
        match self.field.as_str() {
            "" => self.detail.clone(),
            field => format!("{field}: {}", self.detail),
        }
    }
}

/// The field of a report that a refusal of the session's rules is about.
fn report_field(error: &SchedulingError) -> &'static str {
    use SessionError as E;
    match error {
        SchedulingError::SessionNotFound(_) => "session_id",
        SchedulingError::CandidateNotFound(_) => "candidate_id",
        SchedulingError::Session(session) => match session {
            E::NotScheduled | E::SessionCancelled | E::RosterNotLocked | E::AlreadyHeld => {
                "session_id"
            }
            E::NotOnRoster | E::NotSeated | E::DecisionForNoShow => "candidate_id",
            E::WrongLsps { .. } => "lsps_id",
            E::ContradictingAttendance { .. } => "attendance",
            E::ContradictingDecision { .. } | E::InconsistentDecision => "decision",
            E::NoUnits | E::RepeatedUnit(_) | E::UnknownUnit(_) | E::MissingUnit(_) => {
                "unit_results"
            }
            E::UnknownAssessor(_) | E::NoAssessors => "assessor_ids",
            E::DecidedBeforeStart { .. } => "decided_at",
            _ => "",
        },
        _ => "",
    }
}

/// The verdict on one report from what recording each of its entries gave.
pub fn verdict(recorded: &[Recorded]) -> lsps::ReportStatus {
    let refused = recorded.iter().any(|r| matches!(r, Recorded::Refused(_)));
    let accepted = recorded.iter().any(|r| matches!(r, Recorded::Accepted));
    let known = recorded.iter().any(|r| matches!(r, Recorded::AlreadyKnown));
    match (refused, accepted, known) {
        (false, true, _) => lsps::ReportStatus::Accepted,
        (false, false, _) => lsps::ReportStatus::AlreadyRecorded,
        (true, false, false) => lsps::ReportStatus::Rejected,
        (true, _, _) => lsps::ReportStatus::PartlyAccepted,
    }
}

/// The outcome message.
pub fn outcome(
    report: &Identified,
    status: lsps::ReportStatus,
    refusals: &[Refusal],
) -> lsps::ReportOutcome {
    lsps::ReportOutcome {
        message_id: report.message_id.clone(),
        report_sequence: report.sequence,
        report_subject: report.subject.clone(),
        status: status as i32,
        refusals: refusals
            .iter()
            .map(|refusal| lsps::ReportRefusal {
                field: refusal.field.clone(),
                rule: refusal.rule.clone(),
                detail: refusal.detail.clone(),
            })
            .collect(),
        session_id: report.session_id.clone(),
    }
}

/// What identifies a report in its outcome.
#[derive(Debug, Clone, Default)]
pub struct Identified {
    /// Its `message_id`, when it decoded.
    pub message_id: String,
    /// Its stream sequence.
    pub sequence: u64,
    /// The subject it came on.
    pub subject: String,
    /// The session it names, when that could be read.
    pub session_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_rule_names_the_leaf_so_it_does_not_vary_with_the_index() {
        let refusal = Refusal::field("attendances[2].candidate_id", "uuid", "must be a UUID");
        assert_eq!(refusal.field, "attendances[2].candidate_id");
        assert_eq!(refusal.rule, "candidate_id.uuid");
        assert_eq!(
            Refusal::field("assessor_ids[0]", "format", "x").rule,
            "assessor_ids.format"
        );
    }

    #[test]
    fn a_session_rule_is_worded_as_the_http_problem_type_and_names_the_field() {
        let refusals = Refusal::of_error(
            SchedulingError::Session(SessionError::NotOnRoster),
            "attendances[1].",
        );
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].field, "attendances[1].candidate_id");
        assert_eq!(refusals[0].rule, "not-on-roster");
    }

    #[test]
    fn mixed_entries_are_partly_accepted_and_only_refusals_are_rejected() {
        let refused = || Recorded::Refused(SchedulingError::Session(SessionError::NotOnRoster));
        assert_eq!(
            verdict(&[Recorded::Accepted, refused()]),
            lsps::ReportStatus::PartlyAccepted
        );
        assert_eq!(verdict(&[refused()]), lsps::ReportStatus::Rejected);
        assert_eq!(
            verdict(&[Recorded::AlreadyKnown]),
            lsps::ReportStatus::AlreadyRecorded
        );
        assert_eq!(
            verdict(&[Recorded::AlreadyKnown, Recorded::Accepted]),
            lsps::ReportStatus::Accepted
        );
    }
}
