//! Recording many LSPS reports for one session in one append: the session is loaded once,
//! each report is decided in arrival order on the evolving state (each with its own command
//! id, so a redelivered report is recognised by its event ids), and the accepted ones are
//! appended together. A report the rules refuse does not hold back the others.

use std::collections::HashSet;

use kesos_aggregate::{Aggregate, EventCodec, event_id};
use kesos_commands::{CommandContext, to_new_events};
use kesos_eventstore::{AsOf, Claims, ExpectedVersion, StoreError};

use super::{ReportedDecision, Scheduling, SchedulingError, session_stream};
use crate::domain::{
    Attendance, CandidateId, DecisionReport, LspsId, Session, SessionCommand, SessionEvent,
    SessionId,
};
use crate::projections::CandidateFacts;

/// One report about one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Present or no-show.
    Attendance {
        /// The candidate.
        candidate: CandidateId,
        /// What LSPS saw.
        attendance: Attendance,
        /// The reporting LSPS.
        lsps: LspsId,
    },
    /// A decision.
    Decision(ReportedDecision),
}

impl Report {
    fn candidate(&self) -> CandidateId {
        match self {
            Self::Attendance { candidate, .. } => *candidate,
            Self::Decision(decision) => decision.candidate,
        }
    }
}

/// What became of one report.
#[derive(Debug)]
pub enum Recorded {
    /// Recorded now.
    Accepted,
    /// Recorded before (a duplicate), or it asked for what is already on record.
    AlreadyKnown,
    /// Refused by a rule; the reason is for the dead-letter stream.
    Refused(SchedulingError),
}

const MAX_ATTEMPTS: u32 = 8;

impl Scheduling {
    /// The facts of each report's candidate, in order (`None`: not a candidate of ours): from
    /// the read model in one query, from the stream for those it does not have yet.
    async fn facts_of(
        &self,
        reports: &[(CommandContext, Report)],
    ) -> Result<Vec<Option<CandidateFacts>>, SchedulingError> {
        let ids: Vec<CandidateId> = reports.iter().map(|(_, r)| r.candidate()).collect();
        let known = self.pool.candidate_facts(&ids).await?;
        let mut facts = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(fact) = known.get(&id) {
                facts.push(Some(fact.clone()));
                continue;
            }
            let fact = match self.candidate(id).await {
                Ok(state) => state.and_then(|s| {
                    let region = s.queued.as_ref()?.region.clone();
                    Some(CandidateFacts {
                        region,
                        next_attempt: s.next_attempt(),
                    })
                }),
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => {
                    tracing::error!(%error, "a candidate's stream cannot be read");
                    None
                }
            };
            facts.push(fact);
        }
        Ok(facts)
    }

    /// Records `reports` (each with its own context) about candidates of `session`. An `Err`
    /// means nothing was recorded and the whole group may be retried (store away, contention).
    pub async fn record_reports(
        &self,
        session: SessionId,
        reports: &[(CommandContext, Report)],
    ) -> Result<Vec<Recorded>, SchedulingError> {
        let stream = session_stream(session)?;
        let facts = self.facts_of(reports).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let recorded = match self.store().read_stream(&stream, AsOf::Now).await {
                Ok(recorded) => recorded,
                Err(StoreError::StreamNotFound(_)) => {
                    return Ok(reports
                        .iter()
                        .map(|_| Recorded::Refused(SchedulingError::SessionNotFound(session)))
                        .collect());
                }
                Err(error) => return Err(error.into()),
            };
            let mut known: HashSet<uuid::Uuid> = recorded.iter().map(|r| r.event_id).collect();
            let mut state = Session::default();
            for record in &recorded {
                let event = SessionEvent::decode(
                    record.event_type.as_str(),
                    record.schema_version,
                    &record.payload,
                )?;
                state = state.evolve(&event);
            }
            let version = recorded.last().map_or(0, |r| r.stream_version);
            let mut outcomes = Vec::with_capacity(reports.len());
            let mut new_events = Vec::new();
            for ((context, report), fact) in reports.iter().zip(&facts) {
                if known.contains(&event_id(context.command_id, 0)) {
                    outcomes.push(Recorded::AlreadyKnown);
                    continue;
                }
                let Some(fact) = fact else {
                    outcomes.push(Recorded::Refused(SchedulingError::Session(
                        crate::domain::SessionError::NotOnRoster,
                    )));
                    continue;
                };
                let command = match report {
                    Report::Attendance {
                        candidate,
                        attendance,
                        lsps,
                    } => SessionCommand::RecordAttendance {
                        candidate: *candidate,
                        attendance: *attendance,
                        attempt: fact.next_attempt,
                        lsps: lsps.clone(),
                    },
                    Report::Decision(d) => {
                        SessionCommand::RecordDecision(Box::new(DecisionReport {
                            candidate: d.candidate,
                            units: d.units.clone(),
                            decision: d.decision,
                            assessors: d.assessors.clone(),
                            decided_at: d.decided_at,
                            lsps: d.lsps.clone(),
                            attempt: fact.next_attempt,
                            region: fact.region.clone(),
                            message_id: d.message_id.clone(),
                        }))
                    }
                };
                match state.decide(&command) {
                    Ok(events) if events.is_empty() => outcomes.push(Recorded::AlreadyKnown),
                    Ok(events) => {
                        let stored = to_new_events(&events, context)?;
                        known.extend(stored.iter().map(|e| e.event_id()));
                        new_events.extend(stored);
                        state = events.iter().fold(state, Session::evolve);
                        outcomes.push(Recorded::Accepted);
                    }
                    Err(error) => outcomes.push(Recorded::Refused(SchedulingError::Session(error))),
                }
            }
            if new_events.is_empty() {
                return Ok(outcomes);
            }
            match self
                .store()
                .append_claiming(
                    &stream,
                    ExpectedVersion::after(version),
                    new_events,
                    Claims::default(),
                )
                .await
            {
                Ok(_) => return Ok(outcomes),
                Err(StoreError::Conflict { .. } | StoreError::IdempotencyMismatch { .. })
                    if attempt < MAX_ATTEMPTS => {}
                Err(StoreError::Conflict { .. }) => return Err(SchedulingError::Contended),
                Err(error) => return Err(error.into()),
            }
        }
    }
}
