use super::*;

const CIMAHI: &str = "32.77.01.1001";
const SCHEME: &str = "PEKSOS-GENERALIS";

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn registered() -> WorkerProgress {
    let mut worker = WorkerProgress::default();
    worker.apply(&WorkerChange::Registered {
        posting: CIMAHI.to_owned(),
        category: 1,
        role: 1,
    });
    worker
}

fn all(measure: Measure) -> Flag {
    (ALL_SCHEMES.to_owned(), measure)
}

fn scheme(measure: Measure) -> Flag {
    (SCHEME.to_owned(), measure)
}

fn after(mut worker: WorkerProgress, changes: &[WorkerChange]) -> WorkerProgress {
    for change in changes {
        worker.apply(change);
    }
    worker
}

fn nominated(n: u128) -> WorkerChange {
    WorkerChange::Nominated {
        nomination: id(n),
        scheme: SCHEME.to_owned(),
    }
}

fn issued(n: u128, supersedes: Option<u128>) -> WorkerChange {
    WorkerChange::Issued {
        certificate: id(n),
        scheme: SCHEME.to_owned(),
        supersedes: supersedes.map(id),
        region: CIMAHI.to_owned(),
    }
}

fn status(n: u128, status: CertificateStatus) -> WorkerChange {
    WorkerChange::CertificateStatus {
        certificate: id(n),
        status,
    }
}

#[test]
fn a_registered_worker_counts_once_in_their_kabupaten_kota() {
    let worker = registered();
    assert_eq!(worker.key().kabkota, "32.77");
    assert_eq!(
        worker.flags(),
        [all(Measure::Registered)].into_iter().collect()
    );
}

#[test]
fn a_rejection_followed_by_a_verification_counts_as_verified_only() {
    let worker = after(
        registered(),
        &[
            nominated(1),
            WorkerChange::Rejected { nomination: id(1) },
            nominated(2),
            WorkerChange::Verified {
                nomination: id(2),
                scheme: None,
            },
        ],
    );
    let flags = worker.flags();
    assert!(flags.contains(&all(Measure::Verified)));
    assert!(!flags.contains(&all(Measure::Rejected)));
    assert!(!flags.contains(&scheme(Measure::Rejected)));
}

#[test]
fn a_later_kompeten_decision_clears_belum_kompeten() {
    let decided = |kompeten| WorkerChange::Decided {
        scheme: SCHEME.to_owned(),
        kompeten,
        region: CIMAHI.to_owned(),
    };
    let failed = after(registered(), &[decided(false)]);
    assert!(failed.flags().contains(&all(Measure::BelumKompeten)));
    let passed = after(failed, &[decided(true)]);
    let flags = passed.flags();
    assert!(flags.contains(&all(Measure::Kompeten)));
    assert!(!flags.contains(&all(Measure::BelumKompeten)));
    assert!(!flags.contains(&scheme(Measure::BelumKompeten)));
}

#[test]
fn a_renewal_keeps_one_valid_certificate_and_the_superseded_one_stops_counting() {
    let worker = after(registered(), &[issued(1, None), issued(2, Some(1))]);
    let flags = worker.flags();
    assert!(flags.contains(&all(Measure::Valid)));
    assert!(flags.contains(&all(Measure::Certified)));
    assert!(!flags.contains(&all(Measure::Expired)));
}

#[test]
fn a_revoked_certificate_is_never_reinstated_by_a_late_event() {
    let worker = after(
        registered(),
        &[
            issued(1, None),
            status(1, CertificateStatus::Revoked),
            status(1, CertificateStatus::Valid),
        ],
    );
    let flags = worker.flags();
    assert!(flags.contains(&all(Measure::Revoked)));
    assert!(!flags.contains(&all(Measure::Valid)));
}

#[test]
fn the_best_certificate_decides_the_standing_over_all_schemes() {
    let mut worker = after(
        registered(),
        &[issued(1, None), status(1, CertificateStatus::Expired)],
    );
    worker.apply(&WorkerChange::Issued {
        certificate: id(2),
        scheme: "PEKSOS-SPESIALIS".to_owned(),
        supersedes: None,
        region: CIMAHI.to_owned(),
    });
    let flags = worker.flags();
    assert!(flags.contains(&all(Measure::Valid)));
    assert!(!flags.contains(&all(Measure::Expired)));
    assert!(flags.contains(&scheme(Measure::Expired)));
}

#[test]
fn a_move_of_posting_moves_every_flag_from_the_old_key_to_the_new() {
    let before = after(registered(), &[nominated(1), issued(1, None)]);
    let moved = after(
        before.clone(),
        &[WorkerChange::Moved {
            posting: "32.17.01.2001".to_owned(),
        }],
    );
    let moves = deltas(&before, &moved);
    let flags = before.flags().len();
    assert_eq!(moves.len(), 2 * flags);
    assert!(
        moves
            .iter()
            .filter(|d| d.delta < 0)
            .all(|d| d.key.kabkota == "32.77")
    );
    assert!(
        moves
            .iter()
            .filter(|d| d.delta > 0)
            .all(|d| d.key.kabkota == "32.17")
    );
}

#[test]
fn an_event_that_changes_nothing_moves_no_count() {
    let before = after(registered(), &[nominated(1)]);
    let again = after(before.clone(), &[nominated(1)]);
    assert!(deltas(&before, &again).is_empty());
}

#[test]
fn a_decision_seen_before_the_registration_is_counted_where_the_decision_says_until_then() {
    let early = after(
        WorkerProgress::default(),
        &[WorkerChange::Decided {
            scheme: SCHEME.to_owned(),
            kompeten: true,
            region: "32.17.01.2001".to_owned(),
        }],
    );
    assert_eq!(early.key().kabkota, "32.17");
    let registered = after(
        early,
        &[WorkerChange::Registered {
            posting: CIMAHI.to_owned(),
            category: 1,
            role: 1,
        }],
    );
    assert_eq!(registered.key().kabkota, "32.77");
}

#[test]
fn a_departure_takes_every_count_away_and_a_return_brings_each_back() {
    let certified = after(registered(), &[nominated(1), issued(2, None)]);
    let flags = certified.flags();
    let departed = after(certified.clone(), &[WorkerChange::Departed]);
    assert!(departed.flags().is_empty());
    let gone = deltas(&certified, &departed);
    assert_eq!(gone.len(), flags.len());
    assert!(gone.iter().all(|d| d.delta == -1));
    // A certificate suspended while away is kept, and counts as such after the return.
    let away = after(departed.clone(), &[status(2, CertificateStatus::Suspended)]);
    assert!(
        deltas(&departed, &away).is_empty(),
        "nothing moves while away"
    );
    let back = after(away.clone(), &[WorkerChange::Returned]);
    assert!(back.flags().contains(&scheme(Measure::Suspended)));
    assert!(back.flags().contains(&all(Measure::Registered)));
    assert!(deltas(&away, &back).iter().all(|d| d.delta == 1));
}
