//! The protobuf side of progress, and nothing else: what the events of enrollment, scheduling
//! and certification mean for progress ([`change`]), which worker an event names and what a
//! step of a worker's history says ([`history`]). [`prepare`] reads a batch through both, once,
//! into the pure [`Prepared`] events the plan ([`crate::domain::plan`]) works on.

pub mod change;
pub mod history;

use kesos_eventstore::model::unix_micros;
use kesos_readside::Delivered;

use crate::domain::calendar::business_day;
use crate::domain::plan::Prepared;

/// Reads a batch once: what each event changes, whose history it joins, and when.
pub fn prepare<'a>(events: impl IntoIterator<Item = &'a Delivered>) -> Vec<Prepared> {
    events
        .into_iter()
        .map(|Delivered { source, event }| Prepared {
            source: source.clone(),
            position: event.position,
            day: business_day(event.occurred_at),
            occurred_us: unix_micros(event.occurred_at),
            recorded_us: unix_micros(event.recorded_at),
            worker: history::worker_of(event),
            change: change::change_of(event),
        })
        .collect()
}
