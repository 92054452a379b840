//! The certification service against the real databases: every case runs on PostgreSQL (a
//! fresh schema) and on SQLite (a fresh file); the HTTP cases over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use kesos_certification::credential::status_list::{self, Purpose};
use kesos_certification::credential::{CredentialError, verify_credential};
use kesos_certification::domain::{
    CertificateError, CertificateId, CertificateNumber, Reason, RevocationCategory,
};
use kesos_certification::projections::CertificateFilter;
use kesos_certification::service::{
    Certification, CertificationError, PublicAnswer, PublicVerification,
};
use kesos_certification::wire::{CERTIFICATE_EXPIRED, CERTIFICATE_ISSUED, CERTIFICATE_SUPERSEDED};
use kesos_commands::CommandContext;
use serde_json::{Value, json};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use common::{Harness, count, decision, http, serve};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
    };
}

on_both!(
    a_kompeten_decision_issues_a_certificate_with_number_validity_and_basis,
    a_belum_kompeten_decision_issues_nothing,
    certificates_are_listed_by_the_region_they_were_issued_in_and_its_ancestors,
    a_redelivered_or_replayed_decision_issues_nothing_new,
    one_decision_delivered_by_eight_concurrent_tasks_issues_one_certificate,
    a_batch_of_decisions_issues_each_certificate_once_and_renews_as_one_at_a_time_would,
    one_batch_delivered_by_four_concurrent_tasks_issues_each_certificate_once,
    two_first_decisions_of_one_worker_in_concurrent_batches_leave_one_current_certificate,
    concurrent_decisions_get_distinct_numbers_and_status_indexes,
    a_new_kompeten_decision_renews_and_supersedes_the_current_certificate,
    suspension_reinstatement_and_revocation_follow_the_rules,
    expiry_after_downtime_emits_each_expiry_once,
    verification_answers_for_valid_suspended_revoked_expired_mistyped_and_unknown_numbers,
    the_name_is_masked_matched_and_gone_after_erasure,
    an_exported_credential_verifies_offline_and_any_tampering_fails,
    the_status_lists_follow_revocation_and_suspension,
    the_http_api_answers_over_a_real_socket,
    concurrent_renewals_of_one_worker_and_scheme_leave_exactly_one_current_certificate,
    concurrent_renewal_batches_leave_exactly_one_current_certificate,
    a_holder_who_moved_is_listed_under_the_new_region_and_no_longer_under_the_old,
    status_list_indexes_are_spread_at_random_over_the_list,
    a_move_delivered_before_the_registration_keeps_both_the_new_posting_and_the_name,
    public_verification_without_the_printed_code_says_only_whether_the_number_is_valid,
    a_revocation_is_visible_to_the_very_next_verification_even_in_another_process,
    a_read_answers_from_the_registry_as_it_stands_and_writes_nothing,
    while_enrollment_is_away_certificates_are_issued_and_names_wait_for_its_return,
    a_departed_holder_keeps_a_valid_certificate_shown_as_departed_until_the_return,
);

fn context() -> CommandContext {
    let command_id = Uuid::now_v7();
    CommandContext {
        command_id,
        actor: "test".into(),
        correlation_id: command_id.to_string(),
        causation_id: None,
        occurred_at: OffsetDateTime::now_utc(),
    }
}

fn recently() -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::days(10)
}

/// The verification code printed on the certificate with this number (as typed).
fn code_of(c: &Certification, number: &str) -> String {
    let canonical = CertificateNumber::parse(number)
        .map(|n| n.to_string())
        .unwrap_or_default();
    c.verification_code(&canonical)
}

/// Public verification with the certificate's printed code: its details.
async fn details(
    c: &Certification,
    number: &str,
) -> Result<PublicVerification, CertificationError> {
    match c.verify_number(number, Some(&code_of(c, number))).await? {
        PublicAnswer::Details(details) => Ok(*details),
        PublicAnswer::Validity(validity) => panic!("details expected: {validity:?}"),
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

/// Issues a certificate for a new worker (named `name` when given); returns its id and number.
async fn issued(
    h: &Harness,
    name: Option<&str>,
    decided_at: OffsetDateTime,
) -> (Uuid, CertificateId, String) {
    let worker = Uuid::now_v7();
    if let Some(name) = name {
        h.register_holder(worker, name).await;
    }
    let delivered = decision(worker, "PEKSOS-GENERALIS", true, decided_at);
    h.deliver(&delivered).await;
    let id = CertificateId::for_decision(delivered.event.event_id);
    let view = h.certification.view(id).await.unwrap();
    (worker, id, view.number)
}

async fn a_kompeten_decision_issues_a_certificate_with_number_validity_and_basis(h: &Harness) {
    let worker = Uuid::now_v7();
    let delivered = decision(
        worker,
        "PEKSOS-GENERALIS",
        true,
        datetime!(2026-03-01 09:00 +07:00),
    );
    h.deliver(&delivered).await;
    let id = CertificateId::for_decision(delivered.event.event_id);
    let view = h.certification.view(id).await.unwrap();
    let number = CertificateNumber::parse(&view.number).unwrap();
    assert_eq!((number.scheme(), number.year()), ("PSG", 2026));
    assert_eq!(view.worker_id, worker.to_string());
    assert_eq!(view.valid_from, "2026-03-01");
    assert_eq!(view.valid_until, "2029-02-28");
    assert_eq!(
        view.basis_decision_event_id,
        delivered.event.event_id.to_string()
    );
    assert_eq!(view.issuing_body, "LSPS Pekerjaan Sosial");
    assert_eq!(
        (view.category.as_str(), view.level.as_str()),
        ("PEKSOS", "GENERALIS")
    );
}

async fn certificates_are_listed_by_the_region_they_were_issued_in_and_its_ancestors(h: &Harness) {
    let delivered = decision(Uuid::now_v7(), "PEKSOS-GENERALIS", true, recently());
    h.deliver(&delivered).await;
    // The decision was made in Kota Cimahi (32.77); 32.7 is a prefix of it but no ancestor.
    for (region, listed) in [
        ("32", 1u64),
        ("32.77", 1),
        ("33", 0),
        ("32.73", 0),
        ("32.7", 0),
    ] {
        let filter = CertificateFilter {
            region: Some(region.into()),
            ..CertificateFilter::default()
        };
        let (views, page) = h.certification.list(&filter, None, 10).await.unwrap();
        assert_eq!(
            (views.len() as u64, page.total),
            (listed, listed),
            "{region}"
        );
    }
}

async fn a_belum_kompeten_decision_issues_nothing(h: &Harness) {
    h.deliver(&decision(
        Uuid::now_v7(),
        "PEKSOS-GENERALIS",
        false,
        recently(),
    ))
    .await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 0);
}

async fn a_redelivered_or_replayed_decision_issues_nothing_new(h: &Harness) {
    let delivered = decision(Uuid::now_v7(), "TKS-ASISTEN", true, recently());
    for _ in 0..3 {
        h.deliver(&delivered).await;
    }
    // A replay: the same decision much later, after other certificates were issued.
    issued(h, None, recently()).await;
    h.deliver(&delivered).await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 2);
}

async fn one_decision_delivered_by_eight_concurrent_tasks_issues_one_certificate(h: &Harness) {
    let delivered = decision(Uuid::now_v7(), "PEKSOS-GENERALIS", true, recently());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let intake = h.certification.intake();
            let delivered = delivered.clone();
            tokio::spawn(async move { intake.issue_from(&delivered).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 1);
    let (views, _) = h
        .certification
        .list(&CertificateFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
}

async fn a_batch_of_decisions_issues_each_certificate_once_and_renews_as_one_at_a_time_would(
    h: &Harness,
) {
    let c = &h.certification;
    // Issued before the batch: one to be renewed by it, one it delivers again.
    let renewed_worker = Uuid::now_v7();
    let old = decision(
        renewed_worker,
        "PEKSOS-GENERALIS",
        true,
        recently() - Duration::days(700),
    );
    h.deliver(&old).await;
    let earlier = decision(Uuid::now_v7(), "TKS-ASISTEN", true, recently());
    h.deliver(&earlier).await;
    // Two decisions of one new worker and scheme in the batch: the later renews the earlier.
    let twice_worker = Uuid::now_v7();
    let first_of_two = decision(
        twice_worker,
        "TKS-GENERALIS",
        true,
        recently() - Duration::days(30),
    );
    let second_of_two = decision(twice_worker, "TKS-GENERALIS", true, recently());
    let renewal = decision(renewed_worker, "PEKSOS-GENERALIS", true, recently());
    let plain: Vec<_> = (0..12)
        .map(|_| decision(Uuid::now_v7(), "PEKSOS-ASISTEN", true, recently()))
        .collect();
    let mut batch = plain.clone();
    batch.extend([
        earlier.clone(),
        plain[3].clone(),
        decision(Uuid::now_v7(), "PEKSOS-ASISTEN", false, recently()),
        first_of_two.clone(),
        renewal.clone(),
        second_of_two.clone(),
    ]);
    h.deliver_batch(&batch).await;
    // 2 before, 12 plain, 2 of one worker, 1 renewal.
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 17);
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 2);
    let view = |delivered: &kesos_bus::Delivered| {
        c.view(CertificateId::for_decision(delivered.event.event_id))
    };
    let (old, renewal) = (view(&old).await.unwrap(), view(&renewal).await.unwrap());
    assert_eq!(old.status, "superseded");
    assert_eq!(
        renewal.supersedes.as_deref(),
        Some(old.certificate_id.as_str())
    );
    let (first, second) = (
        view(&first_of_two).await.unwrap(),
        view(&second_of_two).await.unwrap(),
    );
    assert_eq!(first.status, "superseded");
    assert_eq!(
        second.supersedes.as_deref(),
        Some(first.certificate_id.as_str())
    );
    // Redelivered whole: nothing new.
    h.deliver_batch(&batch).await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 17);
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 2);
    let (views, _) = c
        .list(&CertificateFilter::default(), None, 100)
        .await
        .unwrap();
    let numbers: HashSet<_> = views.iter().map(|v| v.number.clone()).collect();
    let indexes: HashSet<_> = views.iter().map(|v| v.status_list_index).collect();
    assert_eq!((views.len(), numbers.len(), indexes.len()), (17, 17, 17));
}

async fn one_batch_delivered_by_four_concurrent_tasks_issues_each_certificate_once(h: &Harness) {
    let batch: Vec<_> = (0..30)
        .map(|i| {
            let scheme = if i % 2 == 0 {
                "PEKSOS-GENERALIS"
            } else {
                "TKS-ASISTEN"
            };
            decision(Uuid::now_v7(), scheme, true, recently())
        })
        .collect();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let intake = h.certification.intake();
            let batch = batch.clone();
            tokio::spawn(async move {
                let batch: Vec<&kesos_bus::Delivered> = batch.iter().collect();
                intake.issue_batch_from(&batch).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 30);
    for delivered in &batch {
        let id = CertificateId::for_decision(delivered.event.event_id);
        assert!(h.certification.view(id).await.is_ok());
    }
}

async fn two_first_decisions_of_one_worker_in_concurrent_batches_leave_one_current_certificate(
    h: &Harness,
) {
    // Neither batch sees the other's certificate in the registry; the holder claim makes the
    // loser issue as a renewal of the winner.
    let worker = Uuid::now_v7();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let intake = h.certification.intake();
            let mut batch: Vec<_> = (0..5)
                .map(|_| decision(Uuid::now_v7(), "TKS-ASISTEN", true, recently()))
                .collect();
            batch.push(decision(worker, "PEKSOS-GENERALIS", true, recently()));
            tokio::spawn(async move {
                let batch: Vec<&kesos_bus::Delivered> = batch.iter().collect();
                intake.issue_batch_from(&batch).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 12);
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 1);
    let filter = CertificateFilter {
        worker_id: Some(worker),
        ..CertificateFilter::default()
    };
    let (views, _) = h.certification.list(&filter, None, 10).await.unwrap();
    let statuses: HashSet<_> = views.iter().map(|v| v.status.as_str()).collect();
    assert_eq!(statuses, HashSet::from(["valid", "superseded"]));
}

async fn concurrent_decisions_get_distinct_numbers_and_status_indexes(h: &Harness) {
    // Two services over one store stand for two processes: each allocates numbers on its own,
    // so they collide, and the store's claims make the loser pick again.
    let c = &h.certification;
    let other = h.another_process().await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let intake = if i % 2 == 0 {
                c.intake()
            } else {
                other.intake()
            };
            let scheme = if i % 4 < 2 {
                "PEKSOS-GENERALIS"
            } else {
                "TKS-ASISTEN"
            };
            let delivered = decision(Uuid::now_v7(), scheme, true, recently());
            tokio::spawn(async move { intake.issue_from(&delivered).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    let (views, _) = c
        .list(&CertificateFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(views.len(), 24);
    let numbers: HashSet<_> = views.iter().map(|v| v.number.clone()).collect();
    let indexes: HashSet<_> = views.iter().map(|v| v.status_list_index).collect();
    assert_eq!((numbers.len(), indexes.len()), (24, 24));
}

async fn a_new_kompeten_decision_renews_and_supersedes_the_current_certificate(h: &Harness) {
    let worker = Uuid::now_v7();
    h.register_holder(worker, "Dewi Lestari").await;
    let first = decision(
        worker,
        "PEKSOS-GENERALIS",
        true,
        recently() - Duration::days(700),
    );
    h.deliver(&first).await;
    let renewal = decision(worker, "PEKSOS-GENERALIS", true, recently());
    h.deliver(&renewal).await;
    h.deliver(&renewal).await;
    let old = h
        .certification
        .view(CertificateId::for_decision(first.event.event_id))
        .await
        .unwrap();
    let new = h
        .certification
        .view(CertificateId::for_decision(renewal.event.event_id))
        .await
        .unwrap();
    assert_eq!(old.status, "superseded");
    assert_eq!(
        old.superseded_by.as_deref(),
        Some(new.certificate_id.as_str())
    );
    assert_eq!(new.supersedes.as_deref(), Some(old.certificate_id.as_str()));
    assert_eq!(new.status, "valid");
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 1);
    // One page holds both of the holder's certificates, each with the name.
    let mine = CertificateFilter {
        worker_id: Some(worker),
        ..CertificateFilter::default()
    };
    let (views, _) = h.certification.list(&mine, None, 50).await.unwrap();
    let names: Vec<Option<&str>> = views.iter().map(|v| v.holder_name.as_deref()).collect();
    assert_eq!(names, vec![Some("Dewi Lestari"); 2]);
    // Another scheme is another certificate, not a renewal.
    h.deliver(&decision(worker, "TKS-ASISTEN", true, recently()))
        .await;
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 1);
}

async fn suspension_reinstatement_and_revocation_follow_the_rules(h: &Harness) {
    let c = &h.certification;
    let (_, id, _) = issued(h, None, recently()).await;
    let view = c
        .suspend(id, reason("under investigation"), &context())
        .await
        .unwrap();
    assert_eq!(
        (view.status.as_str(), view.status_reason.as_deref()),
        ("suspended", Some("under investigation"))
    );
    let again = c
        .suspend(id, reason("again"), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            CertificationError::Certificate(CertificateError::AlreadySuspended(_))
        ),
        "{again}"
    );
    assert_eq!(
        c.reinstate(id, reason("cleared"), &context())
            .await
            .unwrap()
            .status,
        "valid"
    );
    let view = c
        .revoke(
            id,
            RevocationCategory::EthicsBreach,
            reason("ruling 1/2026"),
            &context(),
        )
        .await
        .unwrap();
    assert_eq!(
        (view.status.as_str(), view.revocation_category.as_deref()),
        ("revoked", Some("ethics_breach"))
    );
    let error = c
        .reinstate(id, reason("appeal"), &context())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("revocation is final"), "{error}");
    let missing = c
        .suspend(CertificateId(Uuid::now_v7()), reason("x"), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, CertificationError::NotFound(_)),
        "{missing}"
    );
    // A retried command (same Idempotency-Key) has no second effect.
    let (_, other, _) = issued(h, None, recently()).await;
    let once = context();
    c.suspend(other, reason("x"), &once).await.unwrap();
    c.suspend(other, reason("x"), &once).await.unwrap();
}

async fn expiry_after_downtime_emits_each_expiry_once(h: &Harness) {
    let c = &h.certification;
    // Three certificates from 2019-2020 (expired by 2023) and one from now: the job "was down"
    // for years.
    let mut old = Vec::new();
    for day in [
        datetime!(2019-05-01 10:00 UTC),
        datetime!(2020-01-15 10:00 UTC),
        datetime!(2020-02-29 10:00 UTC),
    ] {
        old.push(issued(h, None, day).await.1);
    }
    c.suspend(old[1], reason("investigation"), &context())
        .await
        .unwrap_err(); // past validity
    let (_, current, _) = issued(h, None, recently()).await;
    assert_eq!(c.expire_due(date!(2022 - 01 - 01)).await.unwrap(), 0);
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.expire_due(time::OffsetDateTime::now_utc().date()).await })
        })
        .collect();
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap().unwrap();
    }
    assert_eq!(total, 3);
    assert_eq!(
        c.expire_due(OffsetDateTime::now_utc().date())
            .await
            .unwrap(),
        0
    );
    assert_eq!(count(&*h.store(), CERTIFICATE_EXPIRED).await, 3);
    for id in old {
        assert_eq!(c.view(id).await.unwrap().status, "expired");
    }
    assert_eq!(c.view(current).await.unwrap().status, "valid");
}

async fn verification_answers_for_valid_suspended_revoked_expired_mistyped_and_unknown_numbers(
    h: &Harness,
) {
    let c = &h.certification;
    let (_, valid, valid_number) = issued(h, Some("Siti Aminah"), recently()).await;
    let answer = details(c, &valid_number).await.unwrap();
    assert_eq!(
        (answer.status.as_str(), answer.level.as_str()),
        ("valid", "GENERALIS")
    );
    assert_eq!(answer.issuing_body, "LSPS Pekerjaan Sosial");
    assert_eq!(answer.issuer, "Kementerian Sosial Republik Indonesia");
    assert_eq!(answer.holder.as_deref(), Some("S**** A****"));
    assert_eq!(
        details(c, &valid_number.to_lowercase().replace('-', ""))
            .await
            .unwrap()
            .number,
        valid_number
    );

    let (_, suspended, suspended_number) = issued(h, None, recently()).await;
    c.suspend(suspended, reason("x"), &context()).await.unwrap();
    assert_eq!(
        details(c, &suspended_number).await.unwrap().status,
        "suspended"
    );
    let (_, revoked, revoked_number) = issued(h, None, recently()).await;
    c.revoke(revoked, RevocationCategory::Other, reason("x"), &context())
        .await
        .unwrap();
    assert_eq!(details(c, &revoked_number).await.unwrap().status, "revoked");
    // Past validity reads as expired even before the job; and after it.
    let (_, _, expired_number) = issued(h, None, datetime!(2019-01-02 10:00 UTC)).await;
    assert_eq!(details(c, &expired_number).await.unwrap().status, "expired");
    c.expire_due(OffsetDateTime::now_utc().date())
        .await
        .unwrap();
    assert_eq!(details(c, &expired_number).await.unwrap().status, "expired");

    // One character mistyped: not a valid number, never "not found".
    let mut typo: Vec<char> = valid_number.chars().collect();
    typo[9] = if typo[9] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    assert!(matches!(
        details(c, &typo).await,
        Err(CertificationError::InvalidNumber(_))
    ));
    let unknown = CertificateNumber::new("PSG", 2026, 999_998)
        .or_else(|_| CertificateNumber::new("PSG", 2026, 999_997))
        .unwrap();
    assert!(matches!(
        details(c, &unknown.to_string()).await,
        Err(CertificationError::NumberNotFound(_))
    ));
    assert!(matches!(
        details(c, "hello").await,
        Err(CertificationError::InvalidNumber(_))
    ));
    let _ = valid;
}

async fn the_name_is_masked_matched_and_gone_after_erasure(h: &Harness) {
    let c = &h.certification;
    let (worker, id, number) = issued(h, Some("Budi Santoso"), recently()).await;
    assert_eq!(
        details(c, &number).await.unwrap().holder.as_deref(),
        Some("B**** S****")
    );
    assert!(
        c.verify_name(&number, &code_of(c, &number), "  budi   SANTOSO ")
            .await
            .unwrap()
    );
    assert!(
        !c.verify_name(&number, &code_of(c, &number), "Budi Santosa")
            .await
            .unwrap()
    );
    assert_eq!(
        c.view(id).await.unwrap().holder_name.as_deref(),
        Some("Budi Santoso")
    );
    h.erase_holder(worker).await;
    assert_eq!(
        details(c, &number).await.unwrap().holder.as_deref(),
        Some("(data erased)")
    );
    assert!(
        !c.verify_name(&number, &code_of(c, &number), "Budi Santoso")
            .await
            .unwrap()
    );
    assert_eq!(
        c.view(id).await.unwrap().holder_name.as_deref(),
        Some("(data erased)")
    );
    // A holder whose registration never reached certification: no name, no match.
    let (_, _, anonymous) = issued(h, None, recently()).await;
    assert_eq!(details(c, &anonymous).await.unwrap().holder, None);
    assert!(
        !c.verify_name(&anonymous, &code_of(c, &anonymous), "Anyone")
            .await
            .unwrap()
    );
}

async fn while_enrollment_is_away_certificates_are_issued_and_names_wait_for_its_return(
    h: &Harness,
) {
    let c = &h.certification;
    // Recorded while enrollment answers: the mask is kept, so public verification needs it
    // no more, but a full name is asked of it each time.
    let (_, known_id, known) = issued(h, Some("Budi Santoso"), recently()).await;
    h.directory.set_away(true);
    assert_eq!(
        details(c, &known).await.unwrap().holder.as_deref(),
        Some("B**** S****")
    );
    let away = c.view(known_id).await.unwrap_err();
    assert!(
        matches!(away, CertificationError::Identities(_)) && away.is_transient(),
        "{away:?}"
    );
    // Registered and certified while enrollment is away: issuance does not wait for it, and
    // the holder is recorded without a mask.
    let (_, id, number) = issued_while_away(h, "Siti Aminah").await;
    assert!(c.view(id).await.is_err());
    h.directory.set_away(false);
    assert_eq!(
        c.view(id).await.unwrap().holder_name.as_deref(),
        Some("Siti Aminah")
    );
    assert_eq!(
        details(c, &number).await.unwrap().holder.as_deref(),
        Some("S**** A****")
    );
}

async fn a_departed_holder_keeps_a_valid_certificate_shown_as_departed_until_the_return(
    h: &Harness,
) {
    use kesos_proto::kesos::common::v1 as proto_common;
    use kesos_proto::kesos::enrollment::v1 as enrollment;
    use prost::Message;

    let c = &h.certification;
    let (worker, id, number) = issued(h, Some("Ujang Rahmat"), recently()).await;
    let departed = enrollment::WorkerDeparted {
        worker_id: worker.to_string(),
        reason: enrollment::DepartureReason::Retired.into(),
        departed_on: Some(proto_common::Date {
            year: 2026,
            month: 6,
            day: 30,
        }),
        note: String::new(),
    }
    .encode_to_vec();
    h.deliver(&common::delivered(
        "kesos.enrollment.v1.WorkerDeparted",
        Uuid::now_v7(),
        departed,
    ))
    .await;
    let view = c.view(id).await.unwrap();
    assert_eq!(
        (
            view.status.as_str(),
            view.holder_departed_on.as_deref(),
            view.holder_departure_reason.as_deref()
        ),
        ("valid", Some("2026-06-30"), Some("retired"))
    );
    assert_eq!(
        details(c, &number).await.unwrap().status,
        "valid",
        "the public sees the certificate as it is"
    );
    let returned = enrollment::WorkerReturned {
        worker_id: worker.to_string(),
        returned_on: Some(proto_common::Date {
            year: 2026,
            month: 9,
            day: 1,
        }),
    }
    .encode_to_vec();
    h.deliver(&common::delivered(
        "kesos.enrollment.v1.WorkerReturned",
        Uuid::now_v7(),
        returned,
    ))
    .await;
    let view = c.view(id).await.unwrap();
    assert_eq!(
        (view.holder_departed_on, view.holder_departure_reason),
        (None, None)
    );
}

/// A certificate for a holder enrollment names, registered and decided while enrollment does
/// not answer lookups: `issued` without reading the view (which would ask enrollment).
async fn issued_while_away(h: &Harness, name: &str) -> (Uuid, CertificateId, String) {
    let worker = Uuid::now_v7();
    h.directory.register(worker, name);
    h.deliver(&common::registration(worker)).await;
    let delivered = decision(worker, "PEKSOS-GENERALIS", true, recently());
    h.deliver(&delivered).await;
    let id = CertificateId::for_decision(delivered.event.event_id);
    let row = h.certification.row(id).await.unwrap();
    assert_eq!(row.masked_name, None);
    (worker, id, row.number)
}

async fn an_exported_credential_verifies_offline_and_any_tampering_fails(h: &Harness) {
    let c = &h.certification;
    let (_, id, number) = issued(h, Some("Siti Aminah"), recently()).await;
    let credential = c.credential(id).await.unwrap();
    let bytes = serde_json::to_vec_pretty(&credential).unwrap();
    let trusted = [h.key.verifying_key()];
    let verified = verify_credential(&bytes, &trusted).unwrap();
    assert_eq!(
        (verified.number.as_str(), verified.holder_name.as_str()),
        (number.as_str(), "Siti Aminah")
    );
    assert_eq!(
        verified.status_list.as_deref(),
        Some("https://kesos.example/v1/status-list")
    );
    assert_eq!(
        credential["credentialStatus"][0]["type"],
        "BitstringStatusListEntry"
    );
    assert!(
        credential["validUntil"]
            .as_str()
            .unwrap()
            .ends_with("T23:59:59+07:00")
    );

    let tamper = |path: &[&str], value: Value| {
        let mut altered = credential.clone();
        let mut target = &mut altered;
        for name in &path[..path.len() - 1] {
            target = &mut target[*name];
        }
        target[path[path.len() - 1]] = value;
        verify_credential(&serde_json::to_vec(&altered).unwrap(), &trusted)
    };
    assert_eq!(
        tamper(&["validUntil"], json!("2099-12-31T23:59:59+07:00")),
        Err(CredentialError::BadSignature)
    );
    assert_eq!(
        tamper(&["credentialSubject", "name"], json!("Someone Else")),
        Err(CredentialError::BadSignature)
    );
    assert_eq!(
        tamper(&["proof", "created"], json!("2020-01-01T00:00:00Z")),
        Err(CredentialError::BadSignature)
    );
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    assert!(matches!(
        verify_credential(&bytes, &[other]),
        Err(CredentialError::UntrustedKey(_))
    ));
    assert!(matches!(
        verify_credential(b"{not json", &trusted),
        Err(CredentialError::Malformed(_))
    ));
    let mut unsigned = credential.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    assert_eq!(
        verify_credential(&serde_json::to_vec(&unsigned).unwrap(), &trusted),
        Err(CredentialError::Unsigned)
    );

    let page = c.certificate_html(id).await.unwrap();
    assert!(page.contains(&number) && page.contains("Siti Aminah") && page.contains("<svg"));
    assert!(page.contains(&format!("https://kesos.example/verify/{number}")));
}

async fn the_status_lists_follow_revocation_and_suspension(h: &Harness) {
    let c = &h.certification;
    let (_, revoked, _) = issued(h, None, recently()).await;
    let (_, suspended, _) = issued(h, None, recently()).await;
    let (_, untouched, _) = issued(h, None, recently()).await;
    c.revoke(
        revoked,
        RevocationCategory::CriminalConviction,
        reason("x"),
        &context(),
    )
    .await
    .unwrap();
    c.suspend(suspended, reason("x"), &context()).await.unwrap();
    let index = |id| async move { c.view(id).await.unwrap().status_list_index };
    let bits = |list: Value| {
        let encoded = list["credentialSubject"]["encodedList"]
            .as_str()
            .unwrap()
            .to_owned();
        status_list::decode(&encoded).unwrap()
    };
    let revocation = c.status_list(Purpose::Revocation).await.unwrap();
    assert_eq!(revocation["type"][1], "BitstringStatusListCredential");
    assert!(
        revocation["proof"]["proofValue"]
            .as_str()
            .unwrap()
            .starts_with('z')
    );
    let revocation = bits(revocation);
    assert_eq!(revocation.len() * 8, 131_072);
    assert!(status_list::is_set(&revocation, index(revoked).await));
    assert!(!status_list::is_set(&revocation, index(suspended).await));
    assert!(!status_list::is_set(&revocation, index(untouched).await));
    let suspension = bits(c.status_list(Purpose::Suspension).await.unwrap());
    assert!(status_list::is_set(&suspension, index(suspended).await));
    c.reinstate(suspended, reason("cleared"), &context())
        .await
        .unwrap();
    let suspension = bits(c.status_list(Purpose::Suspension).await.unwrap());
    assert!(!status_list::is_set(&suspension, index(suspended).await));
}

async fn the_http_api_answers_over_a_real_socket(h: &Harness) {
    let c: &Certification = &h.certification;
    let (addr, server) = serve(
        kesos_certification::http::router(c.clone()).layer(
            kesos_auth::Gate::trusting(kesos_auth::Principal {
                subject: "test".to_owned(),
                role: kesos_auth::Role::CentralOperations,
            })
            .layer(),
        ),
    )
    .await;
    let (worker, id, number) = issued(h, Some("Siti Aminah"), recently()).await;
    let json_of = |body: &str| serde_json::from_str::<Value>(body).unwrap();

    let code = c.verification_code(&number);
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/v1/verify/{number}?code={code}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["holder"], "S**** A****");
    let mut typo: Vec<char> = number.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let (status, content_type, body) = http(addr, "GET", &format!("/v1/verify/{typo}"), None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (422, "application/problem+json"),
        "{body}"
    );
    assert!(body.contains("not a valid certificate number"), "{body}");
    let unknown = CertificateNumber::new("TKA", 2030, 4242)
        .or_else(|_| CertificateNumber::new("TKA", 2030, 4243))
        .unwrap();
    assert_eq!(
        http(addr, "GET", &format!("/v1/verify/{unknown}"), None)
            .await
            .0,
        404
    );
    let (status, _, body) = http(
        addr,
        "POST",
        "/v1/verify",
        Some(&json!({ "number": number, "code": code, "full_name": "siti aminah" })),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["matches"].clone()),
        (200, json!(true))
    );

    let path = format!("/v1/certificates/{id}");
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("{path}/suspend"),
        Some(&json!({ "reason": "under investigation" })),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["status"].clone()),
        (200, json!("suspended")),
        "{body}"
    );
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("{path}/suspend"),
        Some(&json!({ "reason": "again" })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("{path}/revoke"),
        Some(&json!({ "category": "ethics_breach", "reason": "ruling" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("{path}/reinstate"),
        Some(&json!({ "reason": "appeal" })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        json_of(&body)["detail"].as_str().unwrap().contains("final"),
        "{body}"
    );
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("{path}/revoke"),
        Some(&json!({ "category": "whim", "reason": "x" })),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["errors"][0]["field"].clone()),
        (400, json!("category")),
        "{body}"
    );
    let (status, _, body) = http(addr, "POST", &format!("{path}/suspend"), Some(&json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        http(
            addr,
            "GET",
            &format!("/v1/certificates/{}", Uuid::now_v7()),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        http(addr, "GET", "/v1/certificates/not-a-uuid", None)
            .await
            .0,
        400
    );

    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/v1/certificates?worker_id={worker}"),
        None,
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["total"].clone()),
        (200, json!(1)),
        "{body}"
    );
    assert_eq!(json_of(&body)["items"][0]["status"], "revoked");
    let (status, content_type, body) =
        http(addr, "GET", &format!("{path}/credential.json"), None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/vc+json")
    );
    assert!(verify_credential(body.as_bytes(), &[h.key.verifying_key()]).is_ok());
    let (status, content_type, body) =
        http(addr, "GET", &format!("{path}/certificate.html"), None).await;
    assert!(
        status == 200
            && content_type.starts_with("text/html")
            && body.contains("SERTIFIKAT KOMPETENSI")
    );
    let (status, _, body) = http(addr, "GET", "/v1/status-list", None).await;
    assert_eq!(
        (
            status,
            json_of(&body)["credentialSubject"]["statusPurpose"].clone()
        ),
        (200, json!("revocation"))
    );
    let (status, _, body) = http(addr, "GET", &format!("/verify/{number}"), None).await;
    assert!(status == 200 && body.contains("Tidak berlaku"), "{body}");
    let (status, _, body) = http(addr, "GET", &format!("/verify/{number}?code={code}"), None).await;
    assert!(status == 200 && body.contains("Dicabut"), "{body}");
    assert_eq!(
        http(addr, "GET", &format!("/verify/{typo}"), None).await.0,
        422
    );
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/verify/{number}?lang=en&code={code}"),
        None,
    )
    .await;
    assert!(status == 200 && body.contains("Revoked"), "{body}");
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/verify?number={number}&code={code}"),
        None,
    )
    .await;
    assert!(status == 200 && body.contains("Dicabut"), "{body}");
    let (status, _, body) = http(addr, "GET", "/verify", None).await;
    assert!(status == 200 && body.contains("<form"), "{body}");
    server.abort();
}

/// The statuses of `worker`'s certificates, with how many of each.
async fn statuses_of(h: &Harness, worker: Uuid) -> std::collections::BTreeMap<String, usize> {
    let filter = CertificateFilter {
        worker_id: Some(worker),
        ..CertificateFilter::default()
    };
    let (views, _) = h.certification.list(&filter, None, 100).await.unwrap();
    let mut statuses = std::collections::BTreeMap::new();
    for view in views {
        *statuses.entry(view.status).or_insert(0) += 1;
    }
    statuses
}

async fn concurrent_renewals_of_one_worker_and_scheme_leave_exactly_one_current_certificate(
    h: &Harness,
) {
    let worker = Uuid::now_v7();
    let first = decision(
        worker,
        "PEKSOS-GENERALIS",
        true,
        recently() - Duration::days(700),
    );
    h.deliver(&first).await;
    let other = h.another_process().await;
    // Six renewals at the same instant, from two processes; each must issue (no effect lost)
    // and no error may be swallowed.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let intake = if i % 2 == 0 {
                h.certification.intake()
            } else {
                other.intake()
            };
            let renewal = decision(worker, "PEKSOS-GENERALIS", true, recently());
            tokio::spawn(async move { intake.issue_from(&renewal).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 7);
    assert_eq!(
        statuses_of(h, worker).await,
        [("superseded".to_owned(), 6), ("valid".to_owned(), 1)].into()
    );
    assert_eq!(count(&*h.store(), CERTIFICATE_SUPERSEDED).await, 6);
}

async fn concurrent_renewal_batches_leave_exactly_one_current_certificate(h: &Harness) {
    let worker = Uuid::now_v7();
    h.deliver(&decision(
        worker,
        "TKS-ASISTEN",
        true,
        recently() - Duration::days(700),
    ))
    .await;
    let other = h.another_process().await;
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let intake = if i % 2 == 0 {
                h.certification.intake()
            } else {
                other.intake()
            };
            let mut batch: Vec<_> = (0..3)
                .map(|_| decision(Uuid::now_v7(), "PEKSOS-GENERALIS", true, recently()))
                .collect();
            batch.push(decision(worker, "TKS-ASISTEN", true, recently()));
            tokio::spawn(async move {
                let batch: Vec<&kesos_bus::Delivered> = batch.iter().collect();
                intake.issue_batch_from(&batch).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    h.settled().await;
    assert_eq!(count(&*h.store(), CERTIFICATE_ISSUED).await, 17);
    assert_eq!(
        statuses_of(h, worker).await,
        [("superseded".to_owned(), 4), ("valid".to_owned(), 1)].into()
    );
}

async fn a_holder_who_moved_is_listed_under_the_new_region_and_no_longer_under_the_old(
    h: &Harness,
) {
    use kesos_proto::kesos::common::v1 as proto_common;
    use kesos_proto::kesos::enrollment::v1 as enrollment;
    use prost::Message;

    // Registered in 32.77 (Cimahi) and certified there.
    let (worker, id, _) = issued(h, Some("Siti Aminah"), recently()).await;
    let region = |code: &str| {
        Some(proto_common::RegionRef {
            code: code.to_owned(),
            edition: "2024".to_owned(),
        })
    };
    let moved = enrollment::WorkerPostingMoved {
        worker_id: worker.to_string(),
        from_posting: region("32.77"),
        to_posting: region("32.17.01.2001"),
    }
    .encode_to_vec();
    h.deliver(&common::delivered(
        "kesos.enrollment.v1.WorkerPostingMoved",
        Uuid::now_v7(),
        moved,
    ))
    .await;
    let listed = |region: &str| CertificateFilter {
        region: Some(region.to_owned()),
        worker_id: Some(worker),
        ..CertificateFilter::default()
    };
    let ids = |views: Vec<kesos_certification::service::CertificateView>| {
        views
            .into_iter()
            .map(|v| v.certificate_id)
            .collect::<Vec<_>>()
    };
    let (bandung_barat, _) = h
        .certification
        .list(&listed("32.17"), None, 10)
        .await
        .unwrap();
    let (cimahi, _) = h
        .certification
        .list(&listed("32.77"), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(bandung_barat), vec![id.to_string()]);
    assert!(ids(cimahi).is_empty());
}

async fn status_list_indexes_are_spread_at_random_over_the_list(h: &Harness) {
    let batch: Vec<_> = (0..16)
        .map(|_| decision(Uuid::now_v7(), "PEKSOS-GENERALIS", true, recently()))
        .collect();
    h.deliver_batch(&batch).await;
    for _ in 0..4 {
        issued(h, None, recently()).await;
    }
    let (views, _) = h
        .certification
        .list(&CertificateFilter::default(), None, 100)
        .await
        .unwrap();
    let indexes: HashSet<u64> = views.iter().map(|v| v.status_list_index).collect();
    assert_eq!(indexes.len(), 20, "every index is distinct");
    assert!(
        indexes.iter().all(|i| *i < status_list::MIN_BITS),
        "a small registry keeps the smallest list: {indexes:?}"
    );
    // In order, the twenty would be 0..20; at random over 131,072 bits, the chance that all
    // twenty fall below 1,000 is about 1e-42.
    assert!(
        indexes.iter().any(|i| *i >= 1_000),
        "indexes handed out in order: {indexes:?}"
    );
}

async fn public_verification_without_the_printed_code_says_only_whether_the_number_is_valid(
    h: &Harness,
) {
    let (addr, server) = serve(
        kesos_certification::http::router(h.certification.clone())
            .layer(kesos_auth::Gate::trusting(kesos_auth::Principal::public()).layer()),
    )
    .await;
    let (_, id, number) = issued(h, Some("Siti Aminah"), recently()).await;
    let (status, _, body) = http(addr, "GET", &format!("/v1/verify/{number}"), None).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer, json!({ "number": number, "valid": true }), "{body}");
    let (status, _, page) = http(addr, "GET", &format!("/verify/{number}"), None).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("S**** A****"), "{page}");
    // The code printed on the certificate opens the full public answer.
    let code = h.certification.view(id).await.unwrap().verification_code;
    let printed = h.certification.certificate_html(id).await.unwrap();
    assert!(printed.contains(&code), "the printed page carries the code");
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/v1/verify/{number}?code={code}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["holder"], "S**** A****", "{body}");
    assert_eq!(answer["scheme_code"], "PEKSOS-GENERALIS", "{body}");
    // A code for another number does not open it.
    let wrong = if code.starts_with('A') { "B" } else { "A" };
    let wrong = format!("{wrong}{}", &code[1..]);
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/v1/verify/{number}?code={wrong}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("S****"), "{body}");
    server.abort();
}

async fn a_move_delivered_before_the_registration_keeps_both_the_new_posting_and_the_name(
    h: &Harness,
) {
    use kesos_proto::kesos::common::v1 as proto_common;
    use kesos_proto::kesos::enrollment::v1 as enrollment;
    use prost::Message;

    let worker = Uuid::now_v7();
    let moved = enrollment::WorkerPostingMoved {
        worker_id: worker.to_string(),
        from_posting: None,
        to_posting: Some(proto_common::RegionRef {
            code: "32.17".to_owned(),
            edition: "2024".to_owned(),
        }),
    }
    .encode_to_vec();
    h.deliver(&common::delivered(
        "kesos.enrollment.v1.WorkerPostingMoved",
        Uuid::now_v7(),
        moved,
    ))
    .await;
    // The registration (posted in 32.77) arrives after the move.
    h.register_holder(worker, "Siti Aminah").await;
    let delivered = decision(worker, "PEKSOS-GENERALIS", true, recently());
    h.deliver(&delivered).await;
    let filter = CertificateFilter {
        region: Some("32.17".to_owned()),
        worker_id: Some(worker),
        ..CertificateFilter::default()
    };
    let (views, _) = h.certification.list(&filter, None, 10).await.unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].holder_name.as_deref(), Some("Siti Aminah"));
}

async fn a_revocation_is_visible_to_the_very_next_verification_even_in_another_process(
    h: &Harness,
) {
    let c = &h.certification;
    let other = h.another_process().await;
    let (_, id, number) = issued(h, Some("Siti Aminah"), recently()).await;
    let index = c.view(id).await.unwrap().status_list_index;
    let revoked = c
        .revoke(
            id,
            RevocationCategory::EthicsBreach,
            reason("ruling"),
            &context(),
        )
        .await
        .unwrap();
    assert_eq!(revoked.status, "revoked");
    // No poll, no sleep: the command answered once the registry showed its event, so the
    // next read anywhere (another process over the same database) sees it.
    assert_eq!(details(&other, &number).await.unwrap().status, "revoked");
    let validity = other.verify_number(&number, None).await.unwrap();
    assert!(
        matches!(&validity, PublicAnswer::Validity(v) if !v.valid),
        "{validity:?}"
    );
    let list = other.status_list(Purpose::Revocation).await.unwrap();
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    assert!(status_list::is_set(
        &status_list::decode(encoded).unwrap(),
        index
    ));

    // The same over HTTP: the suspension's answer, then at once the public page.
    let (addr, server) = serve(
        kesos_certification::http::router(c.clone()).layer(
            kesos_auth::Gate::trusting(kesos_auth::Principal {
                subject: "test".to_owned(),
                role: kesos_auth::Role::CentralOperations,
            })
            .layer(),
        ),
    )
    .await;
    let (_, suspended, suspended_number) = issued(h, None, recently()).await;
    let (status, _, body) = http(
        addr,
        "POST",
        &format!("/v1/certificates/{suspended}/suspend"),
        Some(&json!({ "reason": "under investigation" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = code_of(c, &suspended_number);
    let (status, _, body) = http(
        addr,
        "GET",
        &format!("/v1/verify/{suspended_number}?code={code}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "suspended"
    );
    server.abort();
}

/// The registry's rows as stored: id, status and the position that last changed each.
async fn registry_rows(h: &Harness) -> Vec<(String, String, i64)> {
    let rows = h
        .certification
        .registry()
        .db()
        .query(
            "SELECT certificate_id, status, position FROM certification_certificates \
             ORDER BY certificate_id",
        )
        .fetch_all()
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.get("certificate_id").unwrap(),
                row.get("status").unwrap(),
                row.get("position").unwrap(),
            )
        })
        .collect()
}

async fn a_read_answers_from_the_registry_as_it_stands_and_writes_nothing(h: &Harness) {
    use kesos_certification::domain::{Certificate, CertificateCommand};
    use kesos_certification::service::certificate_stream;
    use kesos_certification::wire::CERTIFICATE_SUSPENDED;
    use kesos_eventstore::{EventType, ExpectedVersion, Metadata, NewEvent, StreamId};

    let c = &h.certification;
    let (addr, server) = serve(
        kesos_certification::http::router(c.clone()).layer(
            kesos_auth::Gate::trusting(kesos_auth::Principal {
                subject: "test".to_owned(),
                role: kesos_auth::Role::CentralOperations,
            })
            .layer(),
        ),
    )
    .await;
    let (worker, id, number) = issued(h, Some("Siti Aminah"), recently()).await;
    // The registry falls behind the log for good: an event it handles but cannot read stalls
    // its projector (retried, never skipped), and a suspension is appended after it.
    let unreadable = NewEvent::new(
        Uuid::now_v7(),
        EventType::parse(CERTIFICATE_SUSPENDED).unwrap(),
        1,
        vec![0xff, 0xff, 0xff],
        Metadata::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let stream = StreamId::parse(format!("unreadable-{}", Uuid::now_v7())).unwrap();
    h.store()
        .append(&stream, ExpectedVersion::NoStream, vec![unreadable])
        .await
        .unwrap();
    let today = OffsetDateTime::now_utc().date();
    kesos_commands::execute::<Certificate>(
        &*h.store(),
        &certificate_stream(id).unwrap(),
        CertificateCommand::Suspend {
            reason: reason("under investigation"),
            today,
        },
        &context(),
    )
    .await
    .unwrap();
    let head = h.store().head_position().await.unwrap();
    let (checkpoint, rows) = (h.checkpoint().await, registry_rows(h).await);
    assert!(
        checkpoint < head,
        "the registry is behind: {checkpoint} < {head}"
    );

    // Every read, over HTTP and as the service's own calls: each answers at once from the
    // registry as it stands (the certificate still valid), none catches it up.
    let code = code_of(c, &number);
    for path in [
        format!("/v1/certificates/{id}"),
        format!("/v1/certificates?worker_id={worker}"),
        format!("/v1/certificates/{id}/credential.json"),
        format!("/v1/certificates/{id}/certificate.html"),
        format!("/v1/verify/{number}"),
        format!("/v1/verify/{number}?code={code}"),
        "/v1/status-list".to_owned(),
        "/v1/status-list/suspension".to_owned(),
        format!("/verify/{number}?code={code}"),
        format!("/verify?number={number}"),
    ] {
        let (status, _, body) = http(addr, "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _, body) = http(
        addr,
        "POST",
        "/v1/verify",
        Some(&json!({ "number": number, "code": code, "full_name": "Siti Aminah" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(c.view(id).await.unwrap().status, "valid");
    assert_eq!(details(c, &number).await.unwrap().status, "valid");
    let (views, _) = c
        .list(&CertificateFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(
        (h.checkpoint().await, registry_rows(h).await),
        (checkpoint, rows),
        "a read moved the registry"
    );
    server.abort();
}
