//! A worker's erasure reaches the rosters NATS still keeps. The roster is the one message that
//! carries names and NIKs readable, and the LSPS stream keeps it sixty days
//! ([`super::LspsChannel::RETENTION`]); when enrollment erases a worker (`WorkerErased`),
//! scheduling's intake erases every roster message that names them, found through
//! [`SentRosters`].
//!
//! **What happens to the rest of the roster.** Kesos cannot know whether LSPS has read the
//! roster yet (its consumer's acknowledgements are its own), and erasing the message alone
//! would leave the session's other candidates without their roster. So, before the original
//! is erased, the roster is published again as it was sent, except that the erased worker's
//! candidates carry no name and no NIK — exactly what a roster built after the erasure carries
//! (the candidate stays on it with their ids, so LSPS's reports for the seat are still
//! accepted). The copy keeps the roster's `message_id` (the lock event's id), so an LSPS that
//! stored the roster already takes it for the copy it is (the contract asks LSPS to
//! de-duplicate by `message_id`); only its `Nats-Msg-Id` header differs, derived from the
//! original's and the erasure event's ids, so the copy published again on a redelivery is
//! dropped by JetStream. The copy is recorded at once, under the workers it still names, so
//! a later erasure of one of them finds it.
//!
//! **Order and idempotence.** Copy first, then erase (JetStream's message delete without
//! `no_erase`, which overwrites the stored bytes, not only the index); a crash in between
//! leaves the original to be erased again on the redelivery. A message already gone (the
//! retention, an earlier delivery, a stream removed) is not an error. NATS away is transient:
//! the consumer retries. The rows of the erased copies go in the consumer's transaction
//! ([`RosterErasure::forget`]).
//!
//! **What it cannot reach.** A roster published again after a database outage longer than
//! JetStream's two-minute duplicate window is a second message, and only the one whose
//! acknowledgement committed is recorded; the other leaves with the retention. The embedded
//! mode has no LSPS stream: there the intake has no [`RosterErasure`] and `WorkerErased`
//! changes nothing.

use async_nats::jetstream::{self, message::PublishMessage, stream};
use kesos_aggregate::derive_uuid;
use kesos_bus::HandlerError;
use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::Tx;
use prost::Message;
use uuid::Uuid;

use super::sent::{SentRoster, SentRosters, named_workers};

/// The `Nats-Msg-Id` of the copy of message `original` published for erasure `erasure`: the
/// same on every delivery of the erasure, so JetStream drops a second copy.
pub fn copy_id(original: &str, erasure: Uuid) -> String {
    derive_uuid(
        &format!("kesos.scheduling.roster-erasure.{original}"),
        erasure,
    )
    .to_string()
}

/// `roster` as it is published again once `worker` is erased: their candidates keep their ids
/// and lose name and NIK; everything else, `message_id` included, is as sent.
pub fn without_worker(mut roster: lsps::CandidateRoster, worker: &str) -> lsps::CandidateRoster {
    for candidate in &mut roster.candidates {
        if candidate.worker_id == worker {
            candidate.full_name.clear();
            candidate.nik.clear();
        }
    }
    roster
}

/// Erases a worker's roster messages from the LSPS stream (the distributed mode's part of
/// the intake).
#[derive(Clone)]
pub struct RosterErasure {
    context: jetstream::Context,
    sent: SentRosters,
}

fn transient(what: &str, error: impl std::fmt::Display) -> HandlerError {
    HandlerError::Transient(format!("roster erasure: {what}: {error}"))
}

/// Whether a failed read of a stream message says it is gone for good.
fn gone(error: &stream::RawMessageError) -> bool {
    match error.kind() {
        stream::RawMessageErrorKind::NoMessageFound => true,
        stream::RawMessageErrorKind::JetStream(error) => {
            error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
        }
        _ => false,
    }
}

impl RosterErasure {
    /// An erasure through `context`, finding the copies in `sent`.
    pub fn new(context: jetstream::Context, sent: SentRosters) -> Self {
        Self { context, sent }
    }

    /// Erases every recorded roster message naming `worker` from its stream, each published
    /// again first without the worker's name and NIK (see the module docs); `erasure` is the
    /// `WorkerErased` event's id. Answers how many messages were erased now.
    pub async fn erase(&self, worker: &str, erasure: Uuid) -> Result<usize, HandlerError> {
        let copies = self.sent.naming(worker).await.map_err(HandlerError::from)?;
        let mut erased = 0;
        for copy in copies {
            if self.erase_copy(&copy, worker, erasure).await? {
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Forgets, in the consumer's transaction, the copies [`RosterErasure::erase`] erased (every
    /// copy still naming `worker`).
    pub async fn forget(transaction: &mut Tx, worker: &str) -> Result<(), HandlerError> {
        SentRosters::forget_naming(transaction, worker).await?;
        Ok(())
    }

    /// One copy: published again without `worker`, recorded, then erased. False when it was
    /// gone already.
    async fn erase_copy(
        &self,
        copy: &SentRoster,
        worker: &str,
        erasure: Uuid,
    ) -> Result<bool, HandlerError> {
        let stream = self
            .context
            .get_stream_no_info(&copy.stream)
            .await
            .map_err(|e| transient("stream", e))?;
        let original = match stream.get_raw_message(copy.sequence).await {
            Ok(message) => message,
            Err(error) if gone(&error) => return Ok(false),
            Err(error) => return Err(transient("reading the roster", error)),
        };
        match lsps::CandidateRoster::decode(original.payload.as_ref()) {
            Ok(roster) => {
                let id = copy_id(&copy.message_id, erasure);
                let again = without_worker(roster, worker);
                let ack = self
                    .context
                    .send_publish(
                        original.subject.clone(),
                        PublishMessage::build()
                            .payload(again.encode_to_vec().into())
                            .message_id(id.clone()),
                    )
                    .await
                    .map_err(|e| transient("publishing the roster again", e))?
                    .await
                    .map_err(|e| transient("publishing the roster again", e))?;
                let recorded = SentRoster {
                    stream: ack.stream,
                    sequence: ack.sequence,
                    roster_id: copy.roster_id.clone(),
                    message_id: id,
                    session_id: copy.session_id.clone(),
                    workers: named_workers(&again),
                };
                self.sent
                    .record_now(&recorded)
                    .await
                    .map_err(HandlerError::from)?;
            }
            // Not a roster kesos could have sent: nothing to carry forward, erase it all the same.
            Err(error) => {
                tracing::warn!(stream = %copy.stream, sequence = copy.sequence, %error, "a recorded roster does not decode; erased without a copy")
            }
        }
        if let Err(error) = stream.delete_message(copy.sequence).await {
            match stream.get_raw_message(copy.sequence).await {
                Err(again) if gone(&again) => return Ok(false),
                _ => return Err(transient("erasing the roster", error)),
            }
        }
        tracing::info!(stream = %copy.stream, sequence = copy.sequence, session = %copy.session_id, "a roster naming an erased worker was erased from the LSPS stream");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(worker: &str, name: &str, nik: &str) -> lsps::RosterCandidate {
        lsps::RosterCandidate {
            candidate_id: format!("c-{worker}"),
            worker_id: worker.to_owned(),
            full_name: name.to_owned(),
            nik: nik.to_owned(),
        }
    }

    fn roster() -> lsps::CandidateRoster {
        lsps::CandidateRoster {
            message_id: "lock-1".into(),
            session_id: "s-1".into(),
            candidates: vec![
                candidate("w-1", "Siti Aminah", "3277014107900001"),
                candidate("w-2", "Budi Santoso", "3277014107900002"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_roster_without_an_erased_worker_keeps_their_seat_and_its_message_id_but_not_their_name_or_nik()
     {
        let again = without_worker(roster(), "w-1");

        assert_eq!(again.message_id, "lock-1");
        assert_eq!(again.candidates.len(), 2);
        assert_eq!(again.candidates[0], candidate("w-1", "", ""));
        assert_eq!(again.candidates[1], roster().candidates[1]);
        assert_eq!(again.session_id, "s-1");
    }

    #[test]
    fn a_roster_is_recorded_under_the_workers_whose_name_or_nik_it_carries() {
        let again = without_worker(roster(), "w-1");

        assert_eq!(named_workers(&roster()), vec!["w-1", "w-2"]);
        assert_eq!(named_workers(&again), vec!["w-2"]);
    }

    #[test]
    fn the_copy_of_a_message_has_the_same_id_on_every_delivery_of_one_erasure_and_another_for_the_next()
     {
        let erasure = Uuid::now_v7();

        assert_eq!(copy_id("lock-1", erasure), copy_id("lock-1", erasure));
        assert_ne!(
            copy_id("lock-1", erasure),
            copy_id("lock-1", Uuid::now_v7())
        );
        assert_ne!(copy_id("lock-1", erasure), copy_id("lock-2", erasure));
    }
}
