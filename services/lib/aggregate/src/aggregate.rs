//! The pure core every kesos service is written in: `decide` and `evolve`.

/// One consistency boundary (a worker, a test session, a certificate): the state needed to
/// decide on commands, rebuilt from its own events.
///
/// Both functions are pure and synchronous: no I/O, no clock, no randomness. The time, new ids
/// and any facts looked up elsewhere arrive inside the command, so a decision can be replayed,
/// tested without a database and retried with the same outcome. All business logic lives in
/// [`Aggregate::decide`]; [`Aggregate::evolve`] only records what an event says happened,
/// because stored events are facts that must apply even after the rules change.
pub trait Aggregate: Default + Clone + Send + Sync {
    /// What a caller asks for, in the imperative (`SeatCandidate`).
    type Command;
    /// What happened, in the past tense (`CandidateSeated`).
    type Event: Clone + Send + Sync;
    /// Which rule refused a command (`SessionFull`); the service's `DomainError`.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Decides which events a command causes in this state, or which rule refuses it.
    /// An empty list means the command changes nothing (e.g. it asks for what is already true).
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after one event. Never fails and never refuses: the event already happened.
    fn evolve(self, event: &Self::Event) -> Self;

    /// The state after a history of events, starting from [`Default`].
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}
