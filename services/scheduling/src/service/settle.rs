//! Reading one's own writes by waiting, never by applying. The projector applies the log in
//! the background; a command that decides on the read models (auto-allocation, the roster-lock
//! job, a worker's move) first waits until they show the log's head, and a command whose
//! effect its caller lists next waits for its own append's position before answering.

use std::time::Duration;

use kesos_readside::WaitError;

use super::{Scheduling, SchedulingError};
use crate::projections::{Pool, SOURCE};

/// Longest wait for the read models to reach a position. Applying a few events takes
/// milliseconds; this long only when the projection is stalled or far behind.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

impl Scheduling {
    /// The read models once they show everything logged when called (the log's head), for a
    /// command that decides on them. Waits, at most [`SETTLE_TIMEOUT`]; a
    /// [`SchedulingError::Lagging`] (transient: retry) when they do not get there.
    pub async fn pool_at_head(&self) -> Result<&Pool, SchedulingError> {
        self.projector
            .wait_for_head(&*self.store, SOURCE, SETTLE_TIMEOUT)
            .await
            .map_err(lagging)?;
        Ok(&self.pool)
    }

    /// Waits until the read models show the highest of `positions` (a command's own appends),
    /// so that the caller's next list shows the command's effect. A timeout or a failed read
    /// is logged, not returned: the write is durable, only the lists lag behind it.
    pub async fn settle(&self, positions: &[u64]) {
        self.projector
            .settle(SOURCE, positions.iter().copied(), SETTLE_TIMEOUT)
            .await;
    }
}

fn lagging(error: WaitError) -> SchedulingError {
    match error {
        WaitError::Database(error) => SchedulingError::ReadModel(error),
        WaitError::Store(error) => error.into(),
        timed_out => SchedulingError::Lagging(timed_out.to_string()),
    }
}
