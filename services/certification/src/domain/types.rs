//! The certificate's value types, each valid by construction.

use std::fmt;

use uuid::Uuid;

/// Identifier of a certificate: derived from the decision it rests on (see
/// [`CertificateId::for_decision`]), so a decision names its certificate before it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateId(pub Uuid);

impl CertificateId {
    /// The certificate a Kompeten decision yields: a UUIDv8 from SHA-256 over a fixed label and
    /// the decision's event id. Every delivery, replay or concurrent handling of one decision
    /// names the same certificate, which is what makes issuance exactly-once.
    pub fn for_decision(decision_event_id: Uuid) -> Self {
        Self(derive_uuid(
            "kesos.certification.certificate",
            decision_event_id,
        ))
    }
}

/// Derived ids (see [`kesos_aggregate::derive_uuid`]).
pub use kesos_aggregate::derive_uuid;

impl fmt::Display for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifier of a worker (the enrollment service's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub Uuid);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The scheme a certificate certifies: reference data, as the decision named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeRef {
    /// Scheme code, e.g. `PEKSOS-GENERALIS`.
    pub code: String,
    /// Worker category, e.g. `PEKSOS`.
    pub category: String,
    /// Level, e.g. `GENERALIS`.
    pub level: String,
}

/// A reason people give (suspension, reinstatement, revocation).
///
/// Invariant: 1-500 characters after trimming, no control characters except line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

/// Why a text is not a reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Nothing but whitespace.
    #[error("a reason is required")]
    Empty,
    /// Longer than 500 characters.
    #[error("a reason has at most 500 characters; this one has {0}")]
    TooLong(usize),
    /// Control characters.
    #[error("a reason may not contain control characters")]
    ControlCharacters,
}

impl Reason {
    /// Checks and trims a reason.
    pub fn parse(text: &str) -> Result<Self, ReasonError> {
        let text = text.trim();
        let length = text.chars().count();
        if length == 0 {
            return Err(ReasonError::Empty);
        }
        if length > 500 {
            return Err(ReasonError::TooLong(length));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Err(ReasonError::ControlCharacters);
        }
        Ok(Self(text.to_owned()))
    }

    /// A reason read back from a stored event, which was checked when it was decided.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a certificate was revoked (the categories of the domain: ethics breach, final criminal
/// conviction, permanent incapacity), with the text in the event beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCategory {
    /// Breach of the professional code of ethics.
    EthicsBreach,
    /// Final criminal conviction.
    CriminalConviction,
    /// Permanent incapacity of the holder.
    PermanentIncapacity,
    /// Any other reason; the text says which.
    Other,
}

impl RevocationCategory {
    /// Every category, in protobuf order.
    pub const ALL: &'static [Self] = &[
        Self::EthicsBreach,
        Self::CriminalConviction,
        Self::PermanentIncapacity,
        Self::Other,
    ];

    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            Self::EthicsBreach => "ethics_breach",
            Self::CriminalConviction => "criminal_conviction",
            Self::PermanentIncapacity => "permanent_incapacity",
            Self::Other => "other",
        }
    }

    /// The category with this API code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }
}

/// Where a certificate stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Not issued yet (an empty stream).
    #[default]
    NotIssued,
    /// In force.
    Valid,
    /// Temporarily not in force; may be reinstated.
    Suspended,
    /// Withdrawn for good.
    Revoked,
    /// Its validity ended.
    Expired,
    /// Replaced by a renewal.
    Superseded,
}

impl Status {
    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotIssued => "not_issued",
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }

    /// The status with this API code.
    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::Valid,
            Self::Suspended,
            Self::Revoked,
            Self::Expired,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Whether the certificate is current: in force or only suspended (a renewal supersedes it).
    pub fn is_current(self) -> bool {
        matches!(self, Self::Valid | Self::Suspended)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
