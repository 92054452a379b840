//! Departures: a worker who leaves the programme (enrollment's `WorkerDeparted`) takes every
//! one of their candidates out of the pool, and the worker's return (`WorkerReturned`) brings
//! back those the departure took out, eligible from the return's date.
//!
//! A departed candidate is not offered by auto-allocation and is refused a seat by hand
//! ([`crate::domain::SessionError::Departed`]). A seat it holds in a session still open before
//! its cut-off is given up (a `CandidateUnseated` saying why); a seat past the cut-off or on a
//! locked roster stays as it is: LSPS has the roster, and its report decides.
//!
//! Every append's command id derives from the enrollment event's id and the candidate, so a
//! redelivered departure or return finds its events stored and changes nothing.

use kesos_aggregate::derive_uuid;
use kesos_bus::{Delivered, HandlerError};
use kesos_commands::{CommandContext, Executed};
use kesos_eventstore::Claims;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use prost::Message;
use time::Date;
use uuid::Uuid;

use super::intake::{WORKER_DEPARTED, WORKER_RETURNED, failed, permanent};
use super::{MAX_ATTEMPTS, Scheduling, SchedulingError, candidate_stream, system_context};
use crate::domain::{
    Candidate, CandidateCommand, CandidateId, DepartureReason, SessionError, SessionId, WorkerId,
};
use crate::wire::date_of;

impl Scheduling {
    /// Takes a candidate out of the pool because its worker left the programme on `on`
    /// (idempotent: a departed candidate changes nothing).
    pub async fn depart(
        &self,
        context: &CommandContext,
        candidate: CandidateId,
        reason: DepartureReason,
        note: String,
        on: Date,
    ) -> Result<Executed<Candidate>, SchedulingError> {
        let command = CandidateCommand::Depart { reason, note, on };
        self.on_candidate(context, candidate, &command).await
    }

    /// Brings a departed candidate back to the pool because its worker returned on `on`
    /// (idempotent: a candidate that is not departed changes nothing).
    pub async fn return_from_departure(
        &self,
        context: &CommandContext,
        candidate: CandidateId,
        on: Date,
    ) -> Result<Executed<Candidate>, SchedulingError> {
        let command = CandidateCommand::ReturnFromDeparture { on };
        self.on_candidate(context, candidate, &command).await
    }

    async fn on_candidate(
        &self,
        context: &CommandContext,
        candidate: CandidateId,
        command: &CandidateCommand,
    ) -> Result<Executed<Candidate>, SchedulingError> {
        let stream = candidate_stream(candidate)?;
        kesos_commands::execute_deriving_claims::<Candidate>(
            &*self.store,
            &stream,
            command,
            context,
            MAX_ATTEMPTS,
            |_, _| Ok(Claims::default()),
        )
        .await
        .map_err(Into::into)
    }

    /// Gives up a departed candidate's seat in `session` if the session is still open before
    /// its cut-off; returns whether the seat is gone. A seat past the cut-off or on a locked
    /// roster stays (LSPS's report decides it); a seat already given up is gone.
    async fn vacate_departed_seat(
        &self,
        context: &CommandContext,
        session: SessionId,
        candidate: CandidateId,
        reason: String,
    ) -> Result<bool, SchedulingError> {
        match self.unseat(context, session, candidate, reason).await {
            Ok(_) | Err(SchedulingError::Session(SessionError::NotSeated)) => Ok(true),
            Err(SchedulingError::Session(
                SessionError::NotOpen(_) | SessionError::CutoffPassed { .. },
            )) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// A command context for the departure step `label` of `candidate`, derived from the
/// enrollment event (so a redelivery repeats the same command).
fn context_for(delivered: &Delivered, label: &str, candidate: CandidateId) -> CommandContext {
    let event = &delivered.event;
    let mut context = system_context(
        derive_uuid(
            &format!("kesos.scheduling.{label}.{candidate}"),
            event.event_id,
        ),
        "system:scheduling-intake",
        event.occurred_at,
    );
    context.correlation_id = event.metadata.correlation_id.clone();
    context.causation_id = Some(event.event_id.to_string());
    context
}

fn worker_of(worker_id: &str) -> Result<WorkerId, HandlerError> {
    Uuid::parse_str(worker_id)
        .map(WorkerId)
        .map_err(|e| permanent(format!("worker_id: {e}")))
}

/// Enrollment's departure reason as scheduling records it; an unset or unknown reason is
/// refused (a dead letter), never guessed.
fn reason_of(raw: i32) -> Result<DepartureReason, HandlerError> {
    use enrollment::DepartureReason as R;
    match R::try_from(raw) {
        Ok(R::Resigned) => Ok(DepartureReason::Resigned),
        Ok(R::Retired) => Ok(DepartureReason::Retired),
        Ok(R::Died) => Ok(DepartureReason::Died),
        Ok(R::LeftProgramme) => Ok(DepartureReason::LeftProgramme),
        _ => Err(permanent(format!("reason has no valid value ({raw})"))),
    }
}

/// Takes every candidate of the departed worker out of the pool, and gives up the seats they
/// hold in sessions still open before the cut-off.
pub(super) async fn follow_departure(
    scheduling: &Scheduling,
    delivered: &Delivered,
) -> Result<(), HandlerError> {
    let departed = enrollment::WorkerDeparted::decode(delivered.event.payload.as_slice())
        .map_err(|e| permanent(format!("{WORKER_DEPARTED} does not decode: {e}")))?;
    let worker = worker_of(&departed.worker_id)?;
    let reason = reason_of(departed.reason)?;
    let on = date_of("departed_on", departed.departed_on).map_err(permanent)?;
    let rows = scheduling.candidate_rows_of(worker).await.map_err(failed)?;
    for row in rows {
        let Ok(id) = Uuid::parse_str(&row.candidate_id) else {
            continue;
        };
        let candidate = CandidateId(id);
        let context = context_for(delivered, "departure", candidate);
        scheduling
            .depart(&context, candidate, reason, departed.note.clone(), on)
            .await
            .map_err(failed)?;
        let seat = match (row.status.as_str(), row.session_id.as_deref()) {
            ("seated", Some(session)) => Uuid::parse_str(session).ok().map(SessionId),
            _ => None,
        };
        if let Some(session) = seat {
            let context = context_for(delivered, "departure-seat", candidate);
            let why = format!("departed: {} on {on}", reason.code());
            let gone = scheduling
                .vacate_departed_seat(&context, session, candidate, why)
                .await
                .map_err(failed)?;
            if !gone {
                tracing::info!(%candidate, %session, "a departed candidate keeps a seat past the cut-off; LSPS's report decides it");
            }
        }
    }
    Ok(())
}

/// Brings back every candidate of the returned worker that a departure took out of the pool.
pub(super) async fn follow_return(
    scheduling: &Scheduling,
    delivered: &Delivered,
) -> Result<(), HandlerError> {
    let returned = enrollment::WorkerReturned::decode(delivered.event.payload.as_slice())
        .map_err(|e| permanent(format!("{WORKER_RETURNED} does not decode: {e}")))?;
    let worker = worker_of(&returned.worker_id)?;
    let on = date_of("returned_on", returned.returned_on).map_err(permanent)?;
    let candidates = scheduling.candidates_of(worker).await.map_err(failed)?;
    for candidate in candidates {
        let context = context_for(delivered, "return-from-departure", candidate);
        scheduling
            .return_from_departure(&context, candidate, on)
            .await
            .map_err(failed)?;
    }
    Ok(())
}
