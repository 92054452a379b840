//! A tiny aggregate for this crate's tests: a test session with a capacity, and a
//! hand-rolled byte codec (no prost) for its events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::aggregate::Aggregate;
use crate::codec::{DecodeError, EventCodec};

pub const OPENED: &str = "kesos.test.v1.SessionOpened";
pub const SEATED: &str = "kesos.test.v1.CandidateSeated";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub capacity: Option<u32>,
    pub seated: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    OpenSession { capacity: u32 },
    SeatCandidate { candidate: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    SessionOpened { capacity: u32 },
    CandidateSeated { candidate: String },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("the session is open already")]
    AlreadyOpen,
    #[error("the session is not open")]
    NotOpen,
    #[error("the session is full: all {capacity} seats are taken")]
    SessionFull { capacity: u32 },
}

impl Aggregate for Session {
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;

    fn decide(&self, command: &SessionCommand) -> Result<Vec<SessionEvent>, SessionError> {
        match command {
            SessionCommand::OpenSession { capacity } => match self.capacity {
                Some(_) => Err(SessionError::AlreadyOpen),
                None => Ok(vec![SessionEvent::SessionOpened {
                    capacity: *capacity,
                }]),
            },
            SessionCommand::SeatCandidate { candidate } => {
                let capacity = self.capacity.ok_or(SessionError::NotOpen)?;
                if self.seated.contains(candidate) {
                    return Ok(Vec::new());
                }
                if self.seated.len() >= capacity as usize {
                    return Err(SessionError::SessionFull { capacity });
                }
                Ok(vec![SessionEvent::CandidateSeated {
                    candidate: candidate.clone(),
                }])
            }
        }
    }

    fn evolve(mut self, event: &SessionEvent) -> Self {
        match event {
            SessionEvent::SessionOpened { capacity } => self.capacity = Some(*capacity),
            SessionEvent::CandidateSeated { candidate } => self.seated.push(candidate.clone()),
        }
        self
    }
}

impl EventCodec for SessionEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::SessionOpened { .. } => OPENED,
            Self::CandidateSeated { .. } => SEATED,
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::SessionOpened { capacity } => capacity.to_be_bytes().to_vec(),
            Self::CandidateSeated { candidate } => candidate.as_bytes().to_vec(),
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if event_type != OPENED && event_type != SEATED {
            return Err(DecodeError::unknown_type(event_type));
        }
        if schema_version != 1 {
            return Err(DecodeError::unsupported_schema_version(
                event_type,
                schema_version,
            ));
        }
        if event_type == OPENED {
            let bytes: [u8; 4] = payload
                .try_into()
                .map_err(|_| DecodeError::malformed(event_type, "capacity is not 4 bytes"))?;
            return Ok(Self::SessionOpened {
                capacity: u32::from_be_bytes(bytes),
            });
        }
        let candidate = String::from_utf8(payload.to_vec())
            .map_err(|error| DecodeError::malformed(event_type, error))?;
        Ok(Self::CandidateSeated { candidate })
    }
}

pub fn open(capacity: u32) -> SessionCommand {
    SessionCommand::OpenSession { capacity }
}

pub fn seat(candidate: &str) -> SessionCommand {
    SessionCommand::SeatCandidate {
        candidate: candidate.to_owned(),
    }
}

pub fn opened(capacity: u32) -> SessionEvent {
    SessionEvent::SessionOpened { capacity }
}

pub fn seated(candidate: &str) -> SessionEvent {
    SessionEvent::CandidateSeated {
        candidate: candidate.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_survives_an_encode_decode_round_trip() {
        for event in [opened(7), seated("worker-1")] {
            let decoded =
                SessionEvent::decode(event.event_type(), event.schema_version(), &event.encode());
            assert_eq!(decoded, Ok(event));
        }
    }

    #[test]
    fn decoding_names_the_type_and_what_failed() {
        assert_eq!(
            SessionEvent::decode("kesos.test.v1.SessionClosed", 1, &[]),
            Err(DecodeError::unknown_type("kesos.test.v1.SessionClosed"))
        );
        assert_eq!(
            SessionEvent::decode(OPENED, 2, &[0, 0, 0, 1]),
            Err(DecodeError::unsupported_schema_version(OPENED, 2))
        );
        let error = SessionEvent::decode(OPENED, 1, &[1]).unwrap_err();
        assert!(error.to_string().contains(OPENED), "{error}");
        assert!(matches!(error, DecodeError::Malformed { .. }));
    }
}
