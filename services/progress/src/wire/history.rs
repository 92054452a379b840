//! The protobuf side of a worker's history: which worker an event names (the projection
//! indexes it), and what each step says — who, when, and why — read back from the event logs
//! themselves ([`Step`]).

use kesos_eventstore::RecordedEvent;
use kesos_proto::kesos::certification::v1 as certification;
use kesos_proto::kesos::enrollment::v1 as enrollment;
use kesos_proto::kesos::scheduling::v1 as scheduling;
use prost::Message;
use uuid::Uuid;

use crate::domain::history::Step;

/// The worker an event is about, if it names one. Decodes only what it needs: the projection
/// asks this of every event.
pub fn worker_of(event: &RecordedEvent) -> Option<Uuid> {
    macro_rules! worker_id {
        ($($name:literal => $message:ty),* $(,)?) => {
            match event.event_type.as_str() {
                $($name => <$message>::decode(event.payload.as_slice()).ok()?.worker_id,)*
                _ => return None,
            }
        };
    }
    let worker = worker_id!(
        "kesos.enrollment.v1.WorkerRegistered" => enrollment::WorkerRegistered,
        "kesos.enrollment.v1.WorkerPostingMoved" => enrollment::WorkerPostingMoved,
        "kesos.enrollment.v1.WorkerEmploymentStatusChanged" => enrollment::WorkerEmploymentStatusChanged,
        "kesos.enrollment.v1.WorkerQualificationsUpdated" => enrollment::WorkerQualificationsUpdated,
        "kesos.enrollment.v1.WorkerRoleChanged" => enrollment::WorkerRoleChanged,
        "kesos.enrollment.v1.WorkerErased" => enrollment::WorkerErased,
        "kesos.enrollment.v1.WorkerDeparted" => enrollment::WorkerDeparted,
        "kesos.enrollment.v1.WorkerReturned" => enrollment::WorkerReturned,
        "kesos.enrollment.v1.NominationSubmitted" => enrollment::NominationSubmitted,
        "kesos.enrollment.v1.NominationVerified" => enrollment::NominationVerified,
        "kesos.enrollment.v1.NominationRejected" => enrollment::NominationRejected,
        "kesos.enrollment.v1.NominationOverridden" => enrollment::NominationOverridden,
        "kesos.enrollment.v1.NominationWithdrawn" => enrollment::NominationWithdrawn,
        "kesos.scheduling.v1.CandidateQueued" => scheduling::CandidateQueued,
        "kesos.scheduling.v1.CandidateSeated" => scheduling::CandidateSeated,
        "kesos.scheduling.v1.SeatReleased" => scheduling::SeatReleased,
        "kesos.scheduling.v1.CandidateUnseated" => scheduling::CandidateUnseated,
        "kesos.scheduling.v1.CandidateRescheduled" => scheduling::CandidateRescheduled,
        "kesos.scheduling.v1.AttendanceRecorded" => scheduling::AttendanceRecorded,
        "kesos.scheduling.v1.AssessmentDecided" => scheduling::AssessmentDecided,
        "kesos.scheduling.v1.CandidateReturnedToPool" => scheduling::CandidateReturnedToPool,
        "kesos.scheduling.v1.CandidateDeparted" => scheduling::CandidateDeparted,
        "kesos.scheduling.v1.CandidateReturnedFromDeparture" => scheduling::CandidateReturnedFromDeparture,
        "kesos.certification.v1.CertificateIssued" => certification::CertificateIssued,
        "kesos.certification.v1.CertificateSuspended" => certification::CertificateSuspended,
        "kesos.certification.v1.CertificateReinstated" => certification::CertificateReinstated,
        "kesos.certification.v1.CertificateRevoked" => certification::CertificateRevoked,
        "kesos.certification.v1.CertificateExpired" => certification::CertificateExpired,
        "kesos.certification.v1.CertificateSuperseded" => certification::CertificateSuperseded,
    );
    Uuid::parse_str(&worker).ok()
}

/// A step read from an event of the log.
pub fn step(source: &str, event: &RecordedEvent) -> Option<Step> {
    let described = described(event)?;
    Some(Step {
        source: source.to_owned(),
        position: event.position,
        event_id: event.event_id,
        event_type: event.event_type.as_str().to_owned(),
        stream: event.stream_id.as_str().to_owned(),
        stream_version: event.stream_version,
        summary: described.summary,
        reason: described.reason.filter(|r| !r.is_empty()),
        actor: event.metadata.actor.clone(),
        occurred_at: event.occurred_at,
        recorded_at: event.recorded_at,
        causation_id: event.metadata.causation_id.clone(),
        correlation_id: event.metadata.correlation_id.clone(),
    })
}

struct Described {
    summary: String,
    reason: Option<String>,
}

fn said(summary: impl Into<String>, reason: Option<String>) -> Option<Described> {
    Some(Described {
        summary: summary.into(),
        reason,
    })
}

fn code(region: Option<&kesos_proto::kesos::common::v1::RegionRef>) -> String {
    region.map(|r| r.code.clone()).unwrap_or_default()
}

/// A protobuf date as `YYYY-MM-DD` (RFC 3339's full-date), empty when absent.
fn day(date: Option<kesos_proto::kesos::common::v1::Date>) -> String {
    date.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

fn scheme(scheme: Option<&kesos_proto::kesos::common::v1::Scheme>) -> String {
    scheme.map(|s| s.code.clone()).unwrap_or_default()
}

fn described(event: &RecordedEvent) -> Option<Described> {
    let (package, name) = event.event_type.as_str().rsplit_once('.')?;
    let p = event.payload.as_slice();
    match package {
        "kesos.enrollment.v1" => enrollment_step(name, p),
        "kesos.scheduling.v1" => scheduling_step(name, p),
        "kesos.certification.v1" => certification_step(name, p),
        _ => None,
    }
}

fn enrollment_step(name: &str, p: &[u8]) -> Option<Described> {
    match name {
        "WorkerRegistered" => {
            let e = enrollment::WorkerRegistered::decode(p).ok()?;
            let summary = format!("registered, posted to {}", code(e.posting.as_ref()));
            said(summary, None)
        }
        "WorkerPostingMoved" => {
            let e = enrollment::WorkerPostingMoved::decode(p).ok()?;
            let summary = format!(
                "moved from {} to {}",
                code(e.from_posting.as_ref()),
                code(e.to_posting.as_ref())
            );
            said(summary, None)
        }
        "WorkerEmploymentStatusChanged" => {
            let _ = enrollment::WorkerEmploymentStatusChanged::decode(p).ok()?;
            said("employment status changed", None)
        }
        "WorkerQualificationsUpdated" => {
            let _ = enrollment::WorkerQualificationsUpdated::decode(p).ok()?;
            said("qualifications updated", None)
        }
        "WorkerRoleChanged" => {
            let _ = enrollment::WorkerRoleChanged::decode(p).ok()?;
            said("role changed", None)
        }
        "WorkerErased" => {
            let e = enrollment::WorkerErased::decode(p).ok()?;
            let reason = format!("{} ({})", e.reason, e.legal_basis);
            said("personal data erased", Some(reason))
        }
        "WorkerDeparted" => {
            let e = enrollment::WorkerDeparted::decode(p).ok()?;
            let reason = enrollment::DepartureReason::try_from(e.reason)
                .map(|r| {
                    r.as_str_name()
                        .trim_start_matches("DEPARTURE_REASON_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            let summary = format!("left the programme on {} ({reason})", day(e.departed_on));
            said(summary, Some(e.note))
        }
        "WorkerReturned" => {
            let e = enrollment::WorkerReturned::decode(p).ok()?;
            said(
                format!("returned to the programme on {}", day(e.returned_on)),
                None,
            )
        }
        "NominationSubmitted" => {
            let e = enrollment::NominationSubmitted::decode(p).ok()?;
            let summary = format!(
                "nominated for {} {} by {}",
                e.scheme_code,
                e.period_year,
                code(e.recommending_office.as_ref())
            );
            said(summary, None)
        }
        "NominationVerified" => {
            let e = enrollment::NominationVerified::decode(p).ok()?;
            let summary = format!("verified eligible for {}", e.scheme_code);
            let basis = format!("rule set {}", e.rule_set_version);
            said(summary, Some(basis))
        }
        "NominationRejected" => {
            let e = enrollment::NominationRejected::decode(p).ok()?;
            let reasons: Vec<String> = e
                .failures
                .iter()
                .map(|f| format!("{}: {}", f.rule_id, f.message))
                .collect();
            said("nomination rejected", Some(reasons.join("; ")))
        }
        "NominationOverridden" => {
            let e = enrollment::NominationOverridden::decode(p).ok()?;
            let summary = format!("admitted to {} by override", e.scheme_code);
            said(summary, Some(e.justification))
        }
        "NominationWithdrawn" => {
            let e = enrollment::NominationWithdrawn::decode(p).ok()?;
            said("nomination withdrawn", Some(e.reason))
        }
        _ => None,
    }
}

fn scheduling_step(name: &str, p: &[u8]) -> Option<Described> {
    match name {
        "CandidateQueued" => {
            let e = scheduling::CandidateQueued::decode(p).ok()?;
            let summary = format!("waiting for a {} test", scheme(e.scheme.as_ref()));
            said(summary, None)
        }
        "CandidateSeated" => {
            let e = scheduling::CandidateSeated::decode(p).ok()?;
            let how = if e.auto_allocated {
                " by allocation"
            } else {
                ""
            };
            let summary = format!("seated in session {}{how}", e.session_id);
            said(summary, None)
        }
        "SeatReleased" => {
            let e = scheduling::SeatReleased::decode(p).ok()?;
            let summary = format!("seat in session {} released", e.session_id);
            said(summary, None)
        }
        "CandidateUnseated" => {
            let e = scheduling::CandidateUnseated::decode(p).ok()?;
            let summary = format!("unseated from session {}", e.session_id);
            said(summary, Some(e.reason))
        }
        "CandidateRescheduled" => {
            let e = scheduling::CandidateRescheduled::decode(p).ok()?;
            let summary = format!(
                "rescheduled from session {} to {}",
                e.from_session_id, e.to_session_id
            );
            said(summary, Some(e.reason))
        }
        "AttendanceRecorded" => {
            let e = scheduling::AttendanceRecorded::decode(p).ok()?;
            let attended = if e.attendance == 1 {
                "present"
            } else {
                "did not come"
            };
            let summary = format!("{attended} at session {}", e.session_id);
            said(summary, None)
        }
        "AssessmentDecided" => {
            let e = scheduling::AssessmentDecided::decode(p).ok()?;
            let decision = if e.decision == 1 {
                "Kompeten"
            } else {
                "Belum Kompeten"
            };
            let summary = format!(
                "judged {decision} in {} (attempt {})",
                scheme(e.scheme.as_ref()),
                e.attempt
            );
            let basis = format!("session {}, assessed by {}", e.session_id, e.lsps_id);
            said(summary, Some(basis))
        }
        "CandidateReturnedToPool" => {
            let e = scheduling::CandidateReturnedToPool::decode(p).ok()?;
            let summary = format!(
                "returned to the waiting pool ({})",
                e.reason().as_str_name()
            );
            said(summary, Some(e.note))
        }
        "CandidateDeparted" => {
            let e = scheduling::CandidateDeparted::decode(p).ok()?;
            let reason = e
                .reason()
                .as_str_name()
                .trim_start_matches("DEPARTURE_REASON_")
                .to_lowercase();
            let summary = format!("left the waiting pool on {} ({reason})", day(e.departed_on));
            said(summary, Some(e.note))
        }
        "CandidateReturnedFromDeparture" => {
            let e = scheduling::CandidateReturnedFromDeparture::decode(p).ok()?;
            let summary = format!(
                "back in the waiting pool on {}, may sit from {}",
                day(e.returned_on),
                day(e.eligible_from)
            );
            said(summary, None)
        }
        _ => None,
    }
}

fn certification_step(name: &str, p: &[u8]) -> Option<Described> {
    match name {
        "CertificateIssued" => {
            let e = certification::CertificateIssued::decode(p).ok()?;
            let summary = format!(
                "certificate {} issued for {}",
                e.number,
                scheme(e.scheme.as_ref())
            );
            let basis = format!("decision {} by {}", e.basis_decision_event_id, e.lsps_id);
            said(summary, Some(basis))
        }
        "CertificateSuspended" => {
            let e = certification::CertificateSuspended::decode(p).ok()?;
            said("certificate suspended", Some(e.reason))
        }
        "CertificateReinstated" => {
            let e = certification::CertificateReinstated::decode(p).ok()?;
            said("certificate reinstated", Some(e.reason))
        }
        "CertificateRevoked" => {
            let e = certification::CertificateRevoked::decode(p).ok()?;
            let reason = format!("{}: {}", e.reason().as_str_name(), e.reason_text);
            said("certificate revoked", Some(reason))
        }
        "CertificateExpired" => {
            let _ = certification::CertificateExpired::decode(p).ok()?;
            said("certificate expired", None)
        }
        "CertificateSuperseded" => {
            let e = certification::CertificateSuperseded::decode(p).ok()?;
            let summary = format!("certificate renewed by {}", e.superseded_by_certificate_id);
            said(summary, None)
        }
        _ => None,
    }
}
