//! The roster desk: when a roster is locked, send it to the session's LSPS. The roster is the
//! one message that carries names and NIKs readable; it is built at sending time (names come
//! from enrollment through [`RosterNames`]), published only on the LSPS roster subject with
//! the lock event's id as `Nats-Msg-Id` (so a redelivery is dropped by JetStream), and never
//! stored in the event log. Which workers each sent roster names, and the stream sequence
//! JetStream acknowledged for it, are recorded ([`SentRosters`]) in the desk's transaction,
//! with its processed marker, so a worker's erasure can find the message
//! ([`super::erasure`]); a roster on record is not sent again on a redelivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_nats::jetstream;
use async_trait::async_trait;
use kesos_bus::{Delivered, Handler, HandlerError};
use kesos_proto::kesos::common::v1 as common;
use kesos_proto::kesos::lsps::v1 as lsps;
use kesos_readside::Tx;
use prost::Message;

use super::LspsChannel;
use super::sent::{SentRoster, SentRosters, named_workers};
use crate::domain::{Venue, WorkerId};
use crate::service::Scheduling;
use crate::wire::{ROSTER_LOCKED, competency_units, timestamp};

/// A candidate's identity as LSPS needs it at the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Full name.
    pub full_name: String,
    /// NIK.
    pub nik: String,
}

/// Where names and NIKs come from (enrollment, which holds the keys). A worker whose data
/// was erased is simply absent.
#[async_trait]
pub trait RosterNames: Send + Sync {
    /// The identities of `workers` that can still be read.
    async fn identities(&self, workers: &[WorkerId])
    -> Result<HashMap<WorkerId, Identity>, String>;
}

/// Builds the `CandidateRoster` of a locked session (`message_id` names the lock event).
pub async fn build_roster(
    scheduling: &Scheduling,
    names: &dyn RosterNames,
    session: crate::domain::SessionId,
    message_id: String,
) -> Result<lsps::CandidateRoster, HandlerError> {
    let state = scheduling
        .session(session)
        .await
        .map_err(|e| {
            if e.is_transient() {
                HandlerError::Transient(e.to_string())
            } else {
                HandlerError::Permanent(e.to_string())
            }
        })?
        .ok_or_else(|| HandlerError::Permanent(format!("session {session} does not exist")))?;
    let plan = state
        .plan
        .as_ref()
        .ok_or_else(|| HandlerError::Permanent(format!("session {session} has no plan")))?;
    let workers: Vec<WorkerId> = state.seats.values().map(|seat| seat.worker).collect();
    let identities = names
        .identities(&workers)
        .await
        .map_err(HandlerError::Transient)?;
    let (mode, venue) = match &plan.venue {
        Venue::TestSite { name, region } => (
            common::SessionMode::AtTestSite,
            Some(common::TestSite {
                name: name.clone(),
                region: Some(common::RegionRef {
                    code: region.to_string(),
                    edition: kesos_regions::EDITION.to_owned(),
                }),
            }),
        ),
        Venue::Online { .. } => (common::SessionMode::Online, None),
    };
    let candidates = state
        .seats
        .iter()
        .map(|(candidate, seat)| {
            let identity = identities.get(&seat.worker);
            if identity.is_none() {
                tracing::warn!(%candidate, "no readable identity for a rostered candidate (erased?)");
            }
            lsps::RosterCandidate {
                candidate_id: candidate.to_string(),
                worker_id: seat.worker.to_string(),
                full_name: identity.map(|i| i.full_name.clone()).unwrap_or_default(),
                nik: identity.map(|i| i.nik.clone()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(lsps::CandidateRoster {
        message_id,
        session_id: session.to_string(),
        scheme: Some(common::Scheme {
            code: plan.scheme.code.clone(),
            category: plan.scheme.category.clone(),
            level: plan.scheme.level.clone(),
        }),
        mode: mode as i32,
        venue,
        starts_at: timestamp(plan.starts_at),
        ends_at: timestamp(plan.ends_at),
        assessor_ids: plan.assessors.iter().map(ToString::to_string).collect(),
        candidates,
        lsps_id: plan.lsps.to_string(),
        units: competency_units(&plan.units),
    })
}

/// The roster desk: a consumer of scheduling's own log.
#[derive(Clone)]
pub struct RosterDesk {
    scheduling: Scheduling,
    names: Arc<dyn RosterNames>,
    context: jetstream::Context,
    channel: LspsChannel,
    /// The roster [`Handler::act`] sent, keyed by the lock event's id, for
    /// [`Handler::handle`] to record in the transaction that follows. One slot is enough: the
    /// consumer hands over one event at a time and runs `handle` right after its `act` (a std
    /// mutex: it is never held across an await).
    sent: Arc<Mutex<Option<(uuid::Uuid, SentRoster)>>>,
}

impl RosterDesk {
    /// A desk that publishes through `context` on `channel`.
    pub fn new(
        scheduling: Scheduling,
        names: Arc<dyn RosterNames>,
        context: jetstream::Context,
        channel: LspsChannel,
    ) -> Self {
        Self {
            scheduling,
            names,
            context,
            channel,
            sent: Arc::new(Mutex::new(None)),
        }
    }

    fn hand_over(&self, sent: Option<(uuid::Uuid, SentRoster)>) {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner) = sent;
    }

    fn take_over(&self, event: uuid::Uuid) -> Option<SentRoster> {
        let mut slot = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((id, sent)) if id == event => Some(sent),
            other => {
                *slot = other;
                None
            }
        }
    }
}

#[async_trait]
impl Handler for RosterDesk {
    async fn act(&self, delivered: &Delivered) -> Result<(), HandlerError> {
        let event = &delivered.event;
        self.hand_over(None);
        if event.event_type.as_str() != ROSTER_LOCKED {
            return Ok(());
        }
        let roster_id = event.event_id.to_string();
        if self
            .scheduling
            .sent_rosters()
            .is_recorded(&roster_id)
            .await?
        {
            tracing::debug!(%roster_id, "roster on record as sent; not sent again");
            return Ok(());
        }
        let locked =
            kesos_proto::kesos::scheduling::v1::RosterLocked::decode(event.payload.as_slice())
                .map_err(|e| {
                    HandlerError::Permanent(format!("RosterLocked does not decode: {e}"))
                })?;
        let session = uuid::Uuid::parse_str(&locked.session_id)
            .map(crate::domain::SessionId)
            .map_err(|e| HandlerError::Permanent(format!("session_id: {e}")))?;
        let roster = build_roster(
            &self.scheduling,
            &*self.names,
            session,
            event.event_id.to_string(),
        )
        .await?;
        let subject = self.channel.roster_subject(&roster.lsps_id);
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(roster.encode_to_vec().into())
            .message_id(event.event_id.to_string());
        let transient = |e: String| HandlerError::Transient(format!("roster not sent: {e}"));
        let ack = self
            .context
            .send_publish(subject, message)
            .await
            .map_err(|e| transient(e.to_string()))?
            .await
            .map_err(|e| transient(e.to_string()))?;
        tracing::info!(%session, candidates = roster.candidates.len(), sequence = ack.sequence, "roster sent to LSPS");
        let sent = SentRoster {
            stream: ack.stream,
            sequence: ack.sequence,
            roster_id: roster_id.clone(),
            message_id: roster_id,
            session_id: session.to_string(),
            workers: named_workers(&roster),
        };
        self.hand_over(Some((event.event_id, sent)));
        Ok(())
    }

    async fn handle(
        &self,
        transaction: &mut Tx,
        delivered: &Delivered,
    ) -> Result<(), HandlerError> {
        if let Some(sent) = self.take_over(delivered.event.event_id) {
            SentRosters::record(transaction, &sent).await?;
        }
        Ok(())
    }
}
