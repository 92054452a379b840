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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use kesos_eventstore::{EventType, Metadata, RecordedEvent, StreamId};
    use kesos_proto::kesos::common::v1 as common;
    use kesos_proto::kesos::scheduling::v1 as scheduling;
    use prost::Message;
    use time::macros::datetime;
    use uuid::Uuid;

    fn recorded(event_type: &str, payload: Vec<u8>) -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream_id: StreamId::parse("candidate-x").unwrap(),
            stream_version: 2,
            event_id: Uuid::now_v7(),
            event_type: EventType::parse(event_type).unwrap(),
            schema_version: 1,
            payload,
            metadata: Metadata {
                correlation_id: "c".into(),
                causation_id: "c".into(),
                actor: "system:scheduling-intake".into(),
                trace_parent: String::new(),
            },
            occurred_at: datetime!(2026-11-02 09:00 UTC),
            recorded_at: datetime!(2026-11-02 09:00 UTC),
            hash: [0; 32],
        }
    }

    fn day(year: i32, month: i32, day: i32) -> Option<common::Date> {
        Some(common::Date { year, month, day })
    }

    #[test]
    fn a_candidates_departure_and_return_count_nothing_and_join_the_workers_history() {
        let worker = Uuid::now_v7();
        let departed = recorded(
            "kesos.scheduling.v1.CandidateDeparted",
            scheduling::CandidateDeparted {
                candidate_id: Uuid::now_v7().to_string(),
                worker_id: worker.to_string(),
                reason: scheduling::DepartureReason::Retired as i32,
                departed_on: day(2026, 11, 2),
                note: "SK 12".into(),
            }
            .encode_to_vec(),
        );
        let returned = recorded(
            "kesos.scheduling.v1.CandidateReturnedFromDeparture",
            scheduling::CandidateReturnedFromDeparture {
                candidate_id: Uuid::now_v7().to_string(),
                worker_id: worker.to_string(),
                returned_on: day(2027, 1, 4),
                eligible_from: day(2027, 1, 4),
            }
            .encode_to_vec(),
        );
        // The worker's own WorkerDeparted/WorkerReturned move the counts; the candidate's
        // echo of them must not count twice, nor fail.
        for event in [&departed, &returned] {
            assert!(matches!(super::change::change_of(event), Ok(None)));
            assert_eq!(super::history::worker_of(event), Some(worker));
        }
        let step = super::history::step("scheduling", &departed).unwrap();
        assert_eq!(
            step.summary,
            "left the waiting pool on 2026-11-02 (retired)"
        );
        assert_eq!(step.reason.as_deref(), Some("SK 12"));
        let step = super::history::step("scheduling", &returned).unwrap();
        assert_eq!(
            step.summary,
            "back in the waiting pool on 2027-01-04, may sit from 2027-01-04"
        );
    }
}
