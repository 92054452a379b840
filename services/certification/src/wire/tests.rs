//! Every certificate event survives the round trip; bad bytes are errors, not panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use time::macros::{date, datetime};

use super::*;

fn issuance() -> Issuance {
    Issuance {
        certificate_id: CertificateId(Uuid::from_u128(1)),
        number: CertificateNumber::new("PSG", 2026, 7).unwrap(),
        worker_id: WorkerId(Uuid::from_u128(2)),
        scheme: SchemeRef {
            code: "PEKSOS-GENERALIS".into(),
            category: "PEKSOS".into(),
            level: "GENERALIS".into(),
        },
        basis_decision_event_id: Uuid::from_u128(3),
        lsps_id: "LSPS-PEKSOS".into(),
        valid_from: date!(2026 - 03 - 01),
        valid_until: date!(2029 - 02 - 28),
        supersedes: Some(CertificateId(Uuid::from_u128(4))),
        region: Some("32.77".into()),
        status_list_index: 12,
    }
}

fn event(change: CertificateChange) -> CertificateEvent {
    CertificateEvent {
        certificate_id: CertificateId(Uuid::from_u128(1)),
        worker_id: WorkerId(Uuid::from_u128(2)),
        change,
    }
}

#[test]
fn every_certificate_event_survives_the_round_trip() {
    let reason = Reason::parse("checked").unwrap();
    for change in [
        CertificateChange::CertificateIssued(Box::new(issuance())),
        CertificateChange::CertificateSuspended {
            reason: reason.clone(),
        },
        CertificateChange::CertificateReinstated {
            reason: reason.clone(),
        },
        CertificateChange::CertificateRevoked {
            category: RevocationCategory::CriminalConviction,
            reason,
        },
        CertificateChange::CertificateExpired {
            valid_until: date!(2029 - 02 - 28),
        },
        CertificateChange::CertificateSuperseded {
            by: CertificateId(Uuid::from_u128(9)),
        },
    ] {
        let original = event(change);
        let decoded = CertificateEvent::decode(
            original.event_type(),
            original.schema_version(),
            &original.encode(),
        );
        assert_eq!(decoded, Ok(original));
    }
}

#[test]
fn garbage_is_a_malformed_event_not_a_panic() {
    let error = CertificateEvent::decode(CERTIFICATE_ISSUED, 1, &[0xff, 0xff]).unwrap_err();
    assert!(matches!(error, DecodeError::Malformed { .. }));
    let error = CertificateEvent::decode(CERTIFICATE_ISSUED, 1, &[]).unwrap_err();
    assert!(matches!(error, DecodeError::Malformed { .. }), "{error}");
    assert_eq!(
        CertificateEvent::decode("kesos.enrollment.v1.WorkerRegistered", 1, &[]),
        Err(DecodeError::unknown_type(
            "kesos.enrollment.v1.WorkerRegistered"
        ))
    );
}

#[test]
fn a_decision_reads_back_from_its_payload() {
    let scheme = issuance().scheme;
    let at = datetime!(2026-03-01 09:00 UTC);
    let payload = assessment_decided(
        Uuid::from_u128(2),
        &scheme,
        true,
        at,
        "LSPS-PEKSOS",
        Some("32.77"),
    );
    let read = decision(Uuid::from_u128(5), datetime!(2030-01-01 0:00 UTC), &payload).unwrap();
    assert!(read.kompeten);
    assert_eq!(read.decided_at, at);
    assert_eq!(read.scheme, scheme);
    assert_eq!(read.region.as_deref(), Some("32.77"));
}

#[test]
fn a_decision_without_an_outcome_is_malformed() {
    let error = decision(Uuid::from_u128(5), datetime!(2030-01-01 0:00 UTC), &[]).unwrap_err();
    assert!(error.to_string().contains("decision"), "{error}");
}
