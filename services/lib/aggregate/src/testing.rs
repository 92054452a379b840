//! A given/when/then harness for domain tests: given a history, when a command is decided,
//! then these events (or this error). Pure, so domain tests need no database.
//!
//! ```text
//! given::<Session>([opened(2), seated("a"), seated("b")])
//!     .when(SeatCandidate::new("c"))
//!     .then_error(SessionError::SessionFull { capacity: 2 });
//! ```

use std::fmt::Debug;

use crate::aggregate::Aggregate;

/// Starts a scenario from the state these events build.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let events: Vec<A::Event> = events.into_iter().collect();
    Given {
        state: A::replay(&events),
    }
}

/// A state built from a history, waiting for a command.
#[must_use = "a scenario checks nothing until `when(..).then(..)`"]
pub struct Given<A> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    /// Decides `command` on the given state.
    pub fn when(self, command: A::Command) -> When<A> {
        When {
            outcome: self.state.decide(&command),
        }
    }
}

/// The decision, waiting to be checked.
#[must_use = "a scenario checks nothing until `then` or `then_error`"]
pub struct When<A: Aggregate> {
    outcome: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> When<A>
where
    A::Event: PartialEq + Debug,
    A::Error: PartialEq + Debug,
{
    /// Panics unless the command produced exactly these events, in this order.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) if events == expected => {}
            other => panic!("expected events {expected:#?}\nbut the command gave {other:#?}"),
        }
    }

    /// Panics unless the command was refused with exactly this error.
    #[track_caller]
    pub fn then_error(self, expected: A::Error) {
        match self.outcome {
            Err(error) if error == expected => {}
            other => panic!("expected error {expected:#?}\nbut the command gave {other:#?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::*;

    #[test]
    fn a_candidate_is_seated_while_seats_remain() {
        given::<Session>([opened(2), seated("a")])
            .when(seat("b"))
            .then([seated("b")]);
    }

    #[test]
    fn a_candidate_is_not_seated_in_a_full_session() {
        given::<Session>([opened(1), seated("a")])
            .when(seat("b"))
            .then_error(SessionError::SessionFull { capacity: 1 });
    }

    #[test]
    fn seating_a_seated_candidate_again_changes_nothing() {
        given::<Session>([opened(1), seated("a")])
            .when(seat("a"))
            .then([]);
    }

    #[test]
    fn nobody_is_seated_before_the_session_opens() {
        given::<Session>([])
            .when(seat("a"))
            .then_error(SessionError::NotOpen);
    }

    #[test]
    #[should_panic(expected = "expected events")]
    fn then_fails_when_the_events_differ() {
        given::<Session>([opened(2)])
            .when(seat("b"))
            .then([seated("c")]);
    }

    #[test]
    #[should_panic(expected = "expected error")]
    fn then_error_fails_when_the_command_succeeds() {
        given::<Session>([opened(2)])
            .when(seat("b"))
            .then_error(SessionError::NotOpen);
    }
}
