//! Departures and returns in the shell: the dates become the events' business time (the
//! start of the date in WIB, or the command's instant when the date is today), and the
//! registration's business date, which the aggregate does not see, is looked up and put in
//! the command.

use kesos_commands::CommandContext;
use kesos_eventstore::{AsOf, StoreError};
use kesos_regions::RegionCode;
use time::Date;

use crate::domain::calendar::{business_date, occurred_at};
use crate::domain::{DepartureReason, Reason, Worker, WorkerCommand, WorkerId};
use crate::service::{Enrollment, EnrollmentError, worker_stream};

/// A command limited to `within` (a regional office's region) when given.
fn scoped(within: Option<&RegionCode>, command: WorkerCommand) -> WorkerCommand {
    match within {
        Some(region) => WorkerCommand::WithinRegion {
            region: region.clone(),
            command: Box::new(command),
        },
        None => command,
    }
}

/// The context of a fact dated `on`: the same command, its events dated on that day.
fn dated(context: &CommandContext, on: Date) -> CommandContext {
    CommandContext {
        occurred_at: occurred_at(on, context.occurred_at),
        ..context.clone()
    }
}

impl Enrollment {
    /// Records that a worker left the programme on `departed_on` (not before the registration,
    /// not in the future). The worker stays registered, with its history; progress stops
    /// counting the worker from that date.
    pub async fn depart(
        &self,
        worker_id: WorkerId,
        reason: DepartureReason,
        departed_on: Date,
        note: Option<Reason>,
        within: Option<&RegionCode>,
        context: &CommandContext,
    ) -> Result<Worker, EnrollmentError> {
        let registered_on = self.registered_on(worker_id).await?;
        let command = WorkerCommand::Depart {
            reason,
            departed_on,
            note,
            registered_on,
            now: context.occurred_at,
        };
        self.command(
            worker_id,
            scoped(within, command),
            &dated(context, departed_on),
        )
        .await
    }

    /// Records that a departed worker came back on `returned_on` (after the departure, not in
    /// the future); progress counts the worker again from that date.
    pub async fn come_back(
        &self,
        worker_id: WorkerId,
        returned_on: Date,
        within: Option<&RegionCode>,
        context: &CommandContext,
    ) -> Result<Worker, EnrollmentError> {
        let command = WorkerCommand::Return {
            returned_on,
            now: context.occurred_at,
        };
        self.command(
            worker_id,
            scoped(within, command),
            &dated(context, returned_on),
        )
        .await
    }

    /// The business date (WIB) of a worker's registration: its first event's business time.
    pub async fn registered_on(&self, worker_id: WorkerId) -> Result<Date, EnrollmentError> {
        let stream = worker_stream(worker_id)?;
        match self.store.read_stream(&stream, AsOf::Now).await {
            Ok(events) => events
                .first()
                .map(|first| business_date(first.occurred_at))
                .ok_or(EnrollmentError::WorkerNotFound(worker_id)),
            Err(StoreError::StreamNotFound(_)) => Err(EnrollmentError::WorkerNotFound(worker_id)),
            Err(error) => Err(error.into()),
        }
    }
}
