//! Departures and returns: a worker resigns, retires, dies or leaves the programme on a
//! business date, and may come back on a later one. The worker's record, nominations, history
//! and certificates stay; progress stops counting the worker from the departure's date and
//! counts them again from the return's. Both dates are business dates in WIB
//! ([`crate::domain::calendar`]) and never lie in the future.

use time::{Date, OffsetDateTime};

use crate::domain::calendar::{Rfc3339Instant, business_date};
use crate::domain::codes::DepartureReason;
use crate::domain::events::WorkerChange;
use crate::domain::types::Reason;
use crate::domain::worker::{Worker, WorkerError};

/// A departure in force: the worker is out of the programme since `departed_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// Why.
    pub reason: DepartureReason,
    /// The business date of the departure.
    pub departed_on: Date,
    /// The note given (e.g. the decree's number); empty when none.
    pub note: String,
}

/// Decides a departure. `registered_on` is the business date of the worker's registration
/// (looked up by the shell: the aggregate sees events, not their dates) and `now` the
/// command's time, which bounds the date from above.
pub(crate) fn depart(
    worker: &Worker,
    reason: DepartureReason,
    departed_on: Date,
    note: Option<&Reason>,
    registered_on: Date,
    now: OffsetDateTime,
) -> Result<Vec<WorkerChange>, WorkerError> {
    if let Some(departure) = &worker.departure {
        return Err(WorkerError::AlreadyDeparted {
            departed_on: departure.departed_on,
        });
    }
    not_in_future("departed_on", departed_on, now)?;
    if departed_on < registered_on {
        return Err(WorkerError::DepartureBeforeRegistration {
            departed_on,
            registered_on,
        });
    }
    if let Some(returned_on) = worker.returned_on.filter(|r| departed_on < *r) {
        return Err(WorkerError::DepartureBeforeReturn {
            departed_on,
            returned_on,
        });
    }
    Ok(vec![WorkerChange::WorkerDeparted {
        reason,
        departed_on,
        note: note.map(|n| n.as_str().to_owned()).unwrap_or_default(),
    }])
}

/// Decides a return: only a departed worker returns, after the departure's date and not in
/// the future.
pub(crate) fn come_back(
    worker: &Worker,
    returned_on: Date,
    now: OffsetDateTime,
) -> Result<Vec<WorkerChange>, WorkerError> {
    let departure = worker.departure.as_ref().ok_or(WorkerError::NotDeparted)?;
    not_in_future("returned_on", returned_on, now)?;
    if returned_on <= departure.departed_on {
        return Err(WorkerError::ReturnNotAfterDeparture {
            returned_on,
            departed_on: departure.departed_on,
        });
    }
    Ok(vec![WorkerChange::WorkerReturned { returned_on }])
}

/// Refuses a command that needs the worker in the programme (a nomination, a verification,
/// an override) while the worker is departed.
pub(crate) fn present(worker: &Worker) -> Result<(), WorkerError> {
    match &worker.departure {
        Some(departure) => Err(WorkerError::Departed {
            departed_on: departure.departed_on,
        }),
        None => Ok(()),
    }
}

fn not_in_future(field: &'static str, date: Date, now: OffsetDateTime) -> Result<(), WorkerError> {
    if date > business_date(now) {
        return Err(WorkerError::DateInFuture {
            field,
            date,
            now: Rfc3339Instant(now),
        });
    }
    Ok(())
}
