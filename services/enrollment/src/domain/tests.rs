//! The worker's rules, one given/when/then scenario per rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_aggregate::Aggregate;
use kesos_aggregate::testing::given;
use kesos_regions::{RegionCode, Regions};
use uuid::Uuid;

use super::*;

fn sealed(label: &str) -> SealedField {
    SealedField {
        ciphertext: label.as_bytes().to_vec(),
        nonce: vec![0; 24],
        key_id: "k".into(),
    }
}

fn posting(code: &str) -> Posting {
    Posting::parse(code, Regions::embedded()).unwrap()
}

fn qualifications(level: EducationLevel, months: u32, hours: u32) -> Qualifications {
    Qualifications {
        education: Education {
            level,
            in_social_work: true,
        },
        practice_months: months,
        training_hours: hours,
        association_member: false,
    }
}

fn registration(category: Category, employment: EmploymentStatus) -> Registration {
    Registration {
        worker_id: WorkerId(Uuid::from_u128(1)),
        identity: SealedIdentity {
            nik: sealed("nik"),
            full_name: sealed("name"),
            birth_date: sealed("date"),
        },
        sex: Sex::Female,
        category,
        role: Role::KelurahanPeksos,
        employment,
        posting: posting("32.77"),
        qualifications: qualifications(EducationLevel::S1, 24, 60),
    }
}

fn at(change: WorkerChange) -> WorkerEvent {
    WorkerEvent {
        worker_id: WorkerId(Uuid::from_u128(1)),
        change,
    }
}

fn registered() -> WorkerEvent {
    at(WorkerChange::WorkerRegistered(Box::new(registration(
        Category::Peksos,
        EmploymentStatus::Thl,
    ))))
}

fn scheme(code: &str) -> Box<Scheme> {
    let catalog = SchemeCatalog::shipped().unwrap();
    Box::new(
        catalog
            .scheme(&SchemeCode::parse(code).unwrap())
            .unwrap()
            .clone(),
    )
}

fn nomination(n: u128) -> NominationId {
    NominationId(Uuid::from_u128(100 + n))
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn nominate(n: u128, code: &str) -> WorkerCommand {
    WorkerCommand::Nominate {
        nomination_id: nomination(n),
        scheme: scheme(code),
        period_year: 2025,
        recommending_office: RegionCode::parse("32.77").unwrap(),
        portfolio_ref: sealed("portfolio_ref"),
    }
}

fn submitted(n: u128) -> WorkerEvent {
    at(WorkerChange::NominationSubmitted {
        nomination_id: nomination(n),
        scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
        period_year: 2025,
        recommending_office: RegionCode::parse("32.77").unwrap(),
        portfolio_ref: PortfolioRef::Sealed(sealed("portfolio_ref")),
    })
}

fn verify(n: u128) -> WorkerCommand {
    WorkerCommand::Verify {
        nomination_id: nomination(n),
        scheme: scheme("PEKSOS-GENERALIS"),
        rule_set_version: "2025-1".into(),
    }
}

fn rejected(n: u128) -> WorkerEvent {
    at(WorkerChange::NominationRejected {
        nomination_id: nomination(n),
        failures: vec![RuleFailure {
            rule_id: "PEKSOS-GENERALIS.utama.min_practice_months".into(),
            message: "x".into(),
        }],
        rule_set_version: "2025-1".into(),
    })
}

#[test]
fn a_worker_is_registered_once() {
    given::<Worker>([])
        .when(WorkerCommand::RegisterWorker(Box::new(registration(
            Category::Peksos,
            EmploymentStatus::Thl,
        ))))
        .then([registered()]);
}

#[test]
fn a_worker_cannot_be_registered_twice() {
    given::<Worker>([registered()])
        .when(WorkerCommand::RegisterWorker(Box::new(registration(
            Category::Peksos,
            EmploymentStatus::Thl,
        ))))
        .then_error(WorkerError::AlreadyRegistered(WorkerId(Uuid::from_u128(1))));
}

#[test]
fn a_penyuluh_sosial_who_is_not_asn_is_refused() {
    given::<Worker>([])
        .when(WorkerCommand::RegisterWorker(Box::new(registration(
            Category::PenyuluhSosial,
            EmploymentStatus::Volunteer,
        ))))
        .then_error(WorkerError::PenyuluhMustBeAsn(EmploymentStatus::Volunteer));
}

#[test]
fn a_worker_moves_from_cimahi_to_bandung_barat_by_an_event() {
    given::<Worker>([registered()])
        .when(WorkerCommand::MovePosting(posting("32.17")))
        .then([at(WorkerChange::WorkerPostingMoved {
            from: posting("32.77"),
            to: posting("32.17"),
        })]);
}

#[test]
fn a_command_limited_to_cimahi_is_refused_on_a_worker_posted_in_bandung_barat() {
    let moved = at(WorkerChange::WorkerPostingMoved {
        from: posting("32.77"),
        to: posting("32.17"),
    });
    given::<Worker>([registered(), moved])
        .when(WorkerCommand::WithinRegion {
            region: RegionCode::parse("32.77").unwrap(),
            command: Box::new(WorkerCommand::ChangeRole(Role::SaktiPeksos)),
        })
        .then_error(WorkerError::OutsideRegion {
            posting: RegionCode::parse("32.17").unwrap(),
            region: RegionCode::parse("32.77").unwrap(),
        });
}

#[test]
fn a_command_limited_to_jawa_barat_is_decided_on_a_worker_posted_in_cimahi() {
    given::<Worker>([registered()])
        .when(WorkerCommand::WithinRegion {
            region: RegionCode::parse("32").unwrap(),
            command: Box::new(WorkerCommand::ChangeRole(Role::SaktiPeksos)),
        })
        .then([at(WorkerChange::WorkerRoleChanged {
            from: Role::KelurahanPeksos,
            to: Role::SaktiPeksos,
        })]);
}

#[test]
fn moving_to_the_same_posting_changes_nothing() {
    given::<Worker>([registered()])
        .when(WorkerCommand::MovePosting(posting("32.77")))
        .then([]);
}

#[test]
fn a_thl_worker_becomes_pppk_by_an_event() {
    given::<Worker>([registered()])
        .when(WorkerCommand::ChangeEmploymentStatus(
            EmploymentStatus::AsnPppk,
        ))
        .then([at(WorkerChange::WorkerEmploymentStatusChanged {
            from: EmploymentStatus::Thl,
            to: EmploymentStatus::AsnPppk,
        })]);
}

#[test]
fn qualifications_and_role_change_by_events() {
    let better = qualifications(EducationLevel::S2, 36, 120);
    given::<Worker>([registered()])
        .when(WorkerCommand::UpdateQualifications(better))
        .then([at(WorkerChange::WorkerQualificationsUpdated {
            qualifications: better,
        })]);
    given::<Worker>([registered()])
        .when(WorkerCommand::ChangeRole(Role::PendampingPkh))
        .then([at(WorkerChange::WorkerRoleChanged {
            from: Role::KelurahanPeksos,
            to: Role::PendampingPkh,
        })]);
}

#[test]
fn an_unregistered_worker_accepts_no_change() {
    given::<Worker>([])
        .when(WorkerCommand::ChangeRole(Role::Lk3))
        .then_error(WorkerError::NotRegistered);
}

#[test]
fn an_erased_worker_accepts_no_change_but_erasing_again_is_harmless() {
    let erased = at(WorkerChange::WorkerErased {
        key_id: "k".into(),
        reason: "request".into(),
        legal_basis: "UU 27/2022".into(),
    });
    given::<Worker>([registered(), erased.clone()])
        .when(WorkerCommand::ChangeRole(Role::Lk3))
        .then_error(WorkerError::Erased);
    given::<Worker>([registered(), erased])
        .when(WorkerCommand::EraseWorker {
            key_id: "k".into(),
            reason: reason("again"),
            legal_basis: reason("UU 27/2022"),
        })
        .then([]);
}

#[test]
fn a_worker_is_nominated_for_a_scheme_of_their_category() {
    given::<Worker>([registered()])
        .when(nominate(1, "PEKSOS-GENERALIS"))
        .then([submitted(1)]);
}

#[test]
fn a_peksos_is_not_nominated_for_a_tks_scheme() {
    given::<Worker>([registered()])
        .when(nominate(1, "TKS-GENERALIS"))
        .then_error(WorkerError::SchemeCategoryMismatch {
            scheme: SchemeCode::parse("TKS-GENERALIS").unwrap(),
            scheme_category: Category::Tks,
            worker_category: Category::Peksos,
        });
}

#[test]
fn only_one_nomination_per_worker_and_scheme_is_open() {
    given::<Worker>([registered(), submitted(1)])
        .when(nominate(2, "PEKSOS-GENERALIS"))
        .then_error(WorkerError::NominationAlreadyOpen {
            scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
            open: nomination(1),
        });
}

#[test]
fn a_worker_may_be_nominated_again_after_a_withdrawal() {
    let withdrawn = at(WorkerChange::NominationWithdrawn {
        nomination_id: nomination(1),
        reason: "moved".into(),
    });
    given::<Worker>([registered(), submitted(1), withdrawn])
        .when(nominate(2, "PEKSOS-GENERALIS"))
        .then([at(WorkerChange::NominationSubmitted {
            nomination_id: nomination(2),
            scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
            period_year: 2025,
            recommending_office: RegionCode::parse("32.77").unwrap(),
            portfolio_ref: PortfolioRef::Sealed(sealed("portfolio_ref")),
        })]);
}

#[test]
fn an_eligible_nomination_is_verified_with_the_posting_and_rule_set() {
    given::<Worker>([registered(), submitted(1)])
        .when(verify(1))
        .then([at(WorkerChange::NominationVerified {
            nomination_id: nomination(1),
            scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
            region: posting("32.77"),
            rule_set_version: "2025-1".into(),
        })]);
}

#[test]
fn an_ineligible_nomination_is_rejected_with_every_failed_rule() {
    let weak = at(WorkerChange::WorkerQualificationsUpdated {
        qualifications: qualifications(EducationLevel::S1, 6, 10),
    });
    let decided = Worker::replay(&[registered(), weak, submitted(1)])
        .decide(&verify(1))
        .unwrap();
    let [
        WorkerEvent {
            change: WorkerChange::NominationRejected { failures, .. },
            ..
        },
    ] = decided.as_slice()
    else {
        panic!("expected a rejection, got {decided:?}");
    };
    let ids: Vec<&str> = failures.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "PEKSOS-GENERALIS.utama.min_practice_months",
            "PEKSOS-GENERALIS.utama.min_training_hours",
            "PEKSOS-GENERALIS.asosiasi.association_member",
            "PEKSOS-GENERALIS.asosiasi.min_practice_months",
        ]
    );
}

#[test]
fn a_nomination_is_verified_only_once() {
    let verified = at(WorkerChange::NominationVerified {
        nomination_id: nomination(1),
        scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
        region: posting("32.77"),
        rule_set_version: "2025-1".into(),
    });
    given::<Worker>([registered(), submitted(1), verified])
        .when(verify(1))
        .then_error(WorkerError::WrongNominationStatus {
            nomination_id: nomination(1),
            status: "verified",
            action: "verification",
            needed: "submitted",
        });
}

#[test]
fn central_operations_may_override_a_rejection_with_a_justification() {
    given::<Worker>([registered(), submitted(1), rejected(1)])
        .when(WorkerCommand::Override {
            nomination_id: nomination(1),
            justification: reason("practice hours evidenced by the LK3 logbook"),
        })
        .then([at(WorkerChange::NominationOverridden {
            nomination_id: nomination(1),
            justification: "practice hours evidenced by the LK3 logbook".into(),
            overridden_rule_ids: vec!["PEKSOS-GENERALIS.utama.min_practice_months".into()],
            scheme: SchemeCode::parse("PEKSOS-GENERALIS").unwrap(),
            region: posting("32.77"),
        })]);
}

#[test]
fn only_a_rejected_nomination_can_be_overridden() {
    given::<Worker>([registered(), submitted(1)])
        .when(WorkerCommand::Override {
            nomination_id: nomination(1),
            justification: reason("because"),
        })
        .then_error(WorkerError::WrongNominationStatus {
            nomination_id: nomination(1),
            status: "submitted",
            action: "an override",
            needed: "rejected",
        });
}

#[test]
fn an_officer_may_reject_a_submitted_nomination_with_a_reason() {
    given::<Worker>([registered(), submitted(1)])
        .when(WorkerCommand::Reject {
            nomination_id: nomination(1),
            reason: reason("portfolio incomplete"),
        })
        .then([at(WorkerChange::NominationRejected {
            nomination_id: nomination(1),
            failures: vec![RuleFailure {
                rule_id: "manual".into(),
                message: "portfolio incomplete".into(),
            }],
            rule_set_version: "manual".into(),
        })]);
}

#[test]
fn a_nomination_can_be_withdrawn_and_withdrawing_twice_is_harmless() {
    let withdrawn = at(WorkerChange::NominationWithdrawn {
        nomination_id: nomination(1),
        reason: "moved abroad".into(),
    });
    given::<Worker>([registered(), submitted(1)])
        .when(WorkerCommand::Withdraw {
            nomination_id: nomination(1),
            reason: reason("moved abroad"),
        })
        .then([withdrawn.clone()]);
    given::<Worker>([registered(), submitted(1), withdrawn])
        .when(WorkerCommand::Withdraw {
            nomination_id: nomination(1),
            reason: reason("again"),
        })
        .then([]);
}

#[test]
fn an_unknown_nomination_is_named() {
    given::<Worker>([registered()])
        .when(verify(9))
        .then_error(WorkerError::UnknownNomination(nomination(9)));
}

// Departures and returns.

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-22 10:00 UTC);

fn depart_on(departed_on: time::Date) -> WorkerCommand {
    WorkerCommand::Depart {
        reason: DepartureReason::Retired,
        departed_on,
        note: Some(reason("SK 800/17")),
        registered_on: time::macros::date!(2017 - 03 - 01),
        now: NOW,
    }
}

fn departed_on(departed_on: time::Date) -> WorkerEvent {
    at(WorkerChange::WorkerDeparted {
        reason: DepartureReason::Retired,
        departed_on,
        note: "SK 800/17".into(),
    })
}

fn returned_on(returned_on: time::Date) -> WorkerEvent {
    at(WorkerChange::WorkerReturned { returned_on })
}

#[test]
fn a_worker_retires_on_a_past_date_with_a_note() {
    given::<Worker>([registered()])
        .when(depart_on(time::macros::date!(2021 - 06 - 30)))
        .then([departed_on(time::macros::date!(2021 - 06 - 30))]);
}

#[test]
fn a_departure_is_not_dated_before_the_registration() {
    given::<Worker>([registered()])
        .when(depart_on(time::macros::date!(2017 - 02 - 28)))
        .then_error(WorkerError::DepartureBeforeRegistration {
            departed_on: time::macros::date!(2017 - 02 - 28),
            registered_on: time::macros::date!(2017 - 03 - 01),
        });
}

#[test]
fn a_departure_is_not_dated_in_the_future_of_wib() {
    // 10:00 UTC is 17:00 WIB on 22 November: the 22nd is today, the 23rd tomorrow.
    given::<Worker>([registered()])
        .when(depart_on(time::macros::date!(2026 - 11 - 22)))
        .then([departed_on(time::macros::date!(2026 - 11 - 22))]);
    let error = Worker::replay(&[registered()])
        .decide(&depart_on(time::macros::date!(2026 - 11 - 23)))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "departed_on 2026-11-23 is in the future: today is 2026-11-22 in WIB \
         (now 2026-11-22T17:00:00+07:00)"
    );
}

#[test]
fn a_departed_worker_cannot_depart_again() {
    given::<Worker>([
        registered(),
        departed_on(time::macros::date!(2021 - 06 - 30)),
    ])
    .when(depart_on(time::macros::date!(2022 - 01 - 01)))
    .then_error(WorkerError::AlreadyDeparted {
        departed_on: time::macros::date!(2021 - 06 - 30),
    });
}

#[test]
fn a_departed_worker_is_not_nominated_verified_or_admitted() {
    let departed = departed_on(time::macros::date!(2021 - 06 - 30));
    let refused = WorkerError::Departed {
        departed_on: time::macros::date!(2021 - 06 - 30),
    };
    given::<Worker>([registered(), departed.clone()])
        .when(nominate(1, "PEKSOS-GENERALIS"))
        .then_error(refused.clone());
    given::<Worker>([registered(), submitted(1), departed.clone()])
        .when(verify(1))
        .then_error(refused.clone());
    given::<Worker>([registered(), submitted(1), rejected(1), departed])
        .when(WorkerCommand::Override {
            nomination_id: nomination(1),
            justification: reason("set aside"),
        })
        .then_error(refused);
}

#[test]
fn a_departed_worker_returns_after_the_departure_and_may_be_nominated_again() {
    let departed = departed_on(time::macros::date!(2021 - 06 - 30));
    given::<Worker>([registered(), departed.clone()])
        .when(WorkerCommand::Return {
            returned_on: time::macros::date!(2022 - 01 - 03),
            now: NOW,
        })
        .then([returned_on(time::macros::date!(2022 - 01 - 03))]);
    let back = returned_on(time::macros::date!(2022 - 01 - 03));
    given::<Worker>([registered(), departed, back])
        .when(nominate(1, "PEKSOS-GENERALIS"))
        .then([submitted(1)]);
}

#[test]
fn a_return_is_after_the_departure_and_not_in_the_future() {
    let departed = departed_on(time::macros::date!(2021 - 06 - 30));
    given::<Worker>([registered(), departed.clone()])
        .when(WorkerCommand::Return {
            returned_on: time::macros::date!(2021 - 06 - 30),
            now: NOW,
        })
        .then_error(WorkerError::ReturnNotAfterDeparture {
            returned_on: time::macros::date!(2021 - 06 - 30),
            departed_on: time::macros::date!(2021 - 06 - 30),
        });
    given::<Worker>([registered(), departed])
        .when(WorkerCommand::Return {
            returned_on: time::macros::date!(2027 - 01 - 01),
            now: NOW,
        })
        .then_error(WorkerError::DateInFuture {
            field: "returned_on",
            date: time::macros::date!(2027 - 01 - 01),
            now: Rfc3339Instant(NOW),
        });
}

#[test]
fn only_a_departed_worker_returns() {
    given::<Worker>([registered()])
        .when(WorkerCommand::Return {
            returned_on: time::macros::date!(2022 - 01 - 03),
            now: NOW,
        })
        .then_error(WorkerError::NotDeparted);
}

#[test]
fn a_second_departure_is_not_dated_before_the_return() {
    given::<Worker>([
        registered(),
        departed_on(time::macros::date!(2021 - 06 - 30)),
        returned_on(time::macros::date!(2022 - 01 - 03)),
    ])
    .when(depart_on(time::macros::date!(2021 - 12 - 31)))
    .then_error(WorkerError::DepartureBeforeReturn {
        departed_on: time::macros::date!(2021 - 12 - 31),
        returned_on: time::macros::date!(2022 - 01 - 03),
    });
}
