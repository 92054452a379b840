#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_proto::kesos::enrollment::v1 as pb;
use kesos_regions::Regions;

use super::*;

#[test]
fn domain_codes_follow_the_protobuf_numbering() {
    for value in EducationLevel::ALL {
        let name = format!("EDUCATION_LEVEL_{}", value.code().to_uppercase());
        let expected = pb::EducationLevel::from_str_name(&name).unwrap() as i32;
        assert_eq!(enum_to(EducationLevel::ALL, value), expected, "{name}");
    }
    for value in Role::ALL {
        let name = format!("WORKER_ROLE_{}", value.code().to_uppercase());
        let expected = pb::WorkerRole::from_str_name(&name).unwrap() as i32;
        assert_eq!(enum_to(Role::ALL, value), expected, "{name}");
    }
    for value in EmploymentStatus::ALL {
        let name = format!("EMPLOYMENT_STATUS_{}", value.code().to_uppercase());
        let expected = pb::EmploymentStatus::from_str_name(&name).unwrap() as i32;
        assert_eq!(enum_to(EmploymentStatus::ALL, value), expected, "{name}");
    }
    for value in Category::ALL {
        let name = format!("WORKER_CATEGORY_{}", value.code().to_uppercase());
        let expected = pb::WorkerCategory::from_str_name(&name).unwrap() as i32;
        assert_eq!(enum_to(Category::ALL, value), expected, "{name}");
    }
    for value in DepartureReason::ALL {
        let name = format!("DEPARTURE_REASON_{}", value.code().to_uppercase());
        let expected = pb::DepartureReason::from_str_name(&name).unwrap() as i32;
        assert_eq!(enum_to(DepartureReason::ALL, value), expected, "{name}");
    }
    assert_eq!(enum_to(Sex::ALL, &Sex::Male), pb::Sex::Male as i32);
    assert_eq!(enum_to(Sex::ALL, &Sex::Female), pb::Sex::Female as i32);
}

fn sealed(text: &str) -> SealedField {
    SealedField {
        ciphertext: text.as_bytes().to_vec(),
        nonce: vec![7; 24],
        key_id: "key".into(),
    }
}

fn every_change() -> Vec<WorkerChange> {
    let posting = Posting::parse("32.77.01.1001", Regions::embedded()).unwrap();
    let nomination_id = NominationId(Uuid::from_u128(9));
    let scheme = SchemeCode::parse("PEKSOS-GENERALIS").unwrap();
    let qualifications = Qualifications {
        education: Education {
            level: EducationLevel::Profesi,
            in_social_work: true,
        },
        practice_months: 30,
        training_hours: 70,
        association_member: true,
    };
    vec![
        WorkerChange::WorkerRegistered(Box::new(Registration {
            worker_id: WorkerId(Uuid::from_u128(1)),
            identity: SealedIdentity {
                nik: sealed("n"),
                full_name: sealed("f"),
                birth_date: sealed("b"),
            },
            sex: Sex::Female,
            category: Category::Peksos,
            role: Role::SaktiPeksos,
            employment: EmploymentStatus::Thl,
            posting: posting.clone(),
            qualifications,
        })),
        WorkerChange::WorkerPostingMoved {
            from: posting.clone(),
            to: Posting::parse("32.17", Regions::embedded()).unwrap(),
        },
        WorkerChange::WorkerEmploymentStatusChanged {
            from: EmploymentStatus::Thl,
            to: EmploymentStatus::AsnPppk,
        },
        WorkerChange::WorkerQualificationsUpdated { qualifications },
        WorkerChange::WorkerRoleChanged {
            from: Role::SaktiPeksos,
            to: Role::Lk3,
        },
        WorkerChange::WorkerErased {
            key_id: "key".into(),
            reason: "request".into(),
            legal_basis: "UU 27/2022".into(),
        },
        WorkerChange::WorkerDeparted {
            reason: DepartureReason::Retired,
            departed_on: time::macros::date!(2021 - 06 - 30),
            note: "SK 800/123".into(),
        },
        WorkerChange::WorkerReturned {
            returned_on: time::macros::date!(2022 - 01 - 03),
        },
        WorkerChange::NominationSubmitted {
            nomination_id,
            scheme: scheme.clone(),
            period_year: 2025,
            recommending_office: RegionCode::parse("32.77").unwrap(),
            portfolio_ref: PortfolioRef::Sealed(sealed("dinsos/2025/001")),
        },
        // As nominations recorded before the reference was sealed carry it.
        WorkerChange::NominationSubmitted {
            nomination_id,
            scheme: scheme.clone(),
            period_year: 2025,
            recommending_office: RegionCode::parse("32.77").unwrap(),
            portfolio_ref: PortfolioRef::InClear("p".into()),
        },
        WorkerChange::NominationVerified {
            nomination_id,
            scheme: scheme.clone(),
            region: posting.clone(),
            rule_set_version: "2025-1".into(),
        },
        WorkerChange::NominationRejected {
            nomination_id,
            failures: vec![RuleFailure {
                rule_id: "r".into(),
                message: "m".into(),
            }],
            rule_set_version: "2025-1".into(),
        },
        WorkerChange::NominationOverridden {
            nomination_id,
            justification: "j".into(),
            overridden_rule_ids: vec!["r".into()],
            scheme,
            region: posting,
        },
        WorkerChange::NominationWithdrawn {
            nomination_id,
            reason: "w".into(),
        },
    ]
}

#[test]
fn every_worker_event_survives_a_round_trip_through_protobuf() {
    for change in every_change() {
        let event = WorkerEvent {
            worker_id: WorkerId(Uuid::from_u128(1)),
            change,
        };
        let bytes = event.encode();
        let back = WorkerEvent::decode(event.event_type(), 1, &bytes).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_registration_never_carries_the_birth_date_in_clear() {
    let event = WorkerEvent {
        worker_id: WorkerId(Uuid::from_u128(1)),
        change: every_change().remove(0),
    };
    let message = pb::WorkerRegistered::decode(event.encode().as_slice()).unwrap();
    #[allow(deprecated)]
    let clear = message.birth_date;
    assert_eq!(clear, None);
}

#[test]
fn a_target_survives_a_round_trip_and_national_is_an_empty_code() {
    for region in [
        TargetRegion::National,
        TargetRegion::Region(RegionCode::parse("32.77").unwrap()),
    ] {
        for (category, in_force_from) in [
            (TargetCategory::Category(Category::Tks), None),
            (
                TargetCategory::Total,
                Some(time::macros::date!(2020 - 09 - 23)),
            ),
        ] {
            let target = TargetSet {
                year: 2020,
                region: region.clone(),
                category,
                count: 16_920,
                in_force_from,
            };
            assert_eq!(
                TargetSet::decode(TARGET_SET, 1, &target.encode()).unwrap(),
                target
            );
        }
    }
}

#[test]
fn a_departure_without_a_real_date_is_a_decode_error() {
    let message = pb::WorkerDeparted {
        worker_id: Uuid::from_u128(1).to_string(),
        reason: pb::DepartureReason::Died as i32,
        departed_on: Some(common::Date {
            year: 2021,
            month: 2,
            day: 30,
        }),
        note: String::new(),
    };
    assert!(matches!(
        WorkerEvent::decode(WORKER_DEPARTED, 1, &message.encode_to_vec()),
        Err(DecodeError::Malformed { .. })
    ));
    let unspecified = pb::WorkerDeparted {
        reason: 0,
        departed_on: date(time::macros::date!(2021 - 02 - 28)),
        ..message
    };
    assert!(WorkerEvent::decode(WORKER_DEPARTED, 1, &unspecified.encode_to_vec()).is_err());
}

#[test]
fn garbage_and_unknown_types_are_decode_errors_not_panics() {
    assert!(matches!(
        WorkerEvent::decode(WORKER_REGISTERED, 1, &[0xff, 0xff, 0xff]),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        WorkerEvent::decode("kesos.enrollment.v1.Nope", 1, &[]),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        WorkerEvent::decode(WORKER_REGISTERED, 2, &[]),
        Err(DecodeError::UnsupportedSchemaVersion { .. })
    ));
    assert!(WorkerEvent::decode(WORKER_REGISTERED, 1, &[]).is_err());
}
