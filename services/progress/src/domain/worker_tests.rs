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

/// The count changes from `before` to `after` as a change dated `TODAY` moves them, undated.
fn moved(before: &WorkerProgress, after: &WorkerProgress) -> Vec<Delta> {
    dated(before, after, TODAY)
        .into_iter()
        .map(|d| d.delta)
        .collect()
}

/// The count changes from `before` to `after` by a change of business day `day`.
fn dated(before: &WorkerProgress, after: &WorkerProgress, day: i64) -> Vec<Dated> {
    deltas(before, &mut after.clone(), day)
}

/// Applies `changes` each dated `day`, keeping the first days of the flags as the projection
/// does; answers the standing and every dated count change.
fn dated_after(
    mut worker: WorkerProgress,
    changes: &[(WorkerChange, i64)],
) -> (WorkerProgress, Vec<Dated>) {
    let mut all = Vec::new();
    for (change, day) in changes {
        let before = worker.clone();
        worker.apply(change);
        all.extend(deltas(&before, &mut worker, *day));
    }
    (worker, all)
}

/// A business day in the test's present.
const TODAY: i64 = 20_000;

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
    let moved_to = after(
        before.clone(),
        &[WorkerChange::Moved {
            posting: "32.17.01.2001".to_owned(),
        }],
    );
    let moves = moved(&before, &moved_to);
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
    assert!(moved(&before, &again).is_empty());
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
    let gone = moved(&certified, &departed);
    assert_eq!(gone.len(), flags.len());
    assert!(gone.iter().all(|d| d.delta == -1));
    // A certificate suspended while away is kept, and counts as such after the return.
    let away = after(departed.clone(), &[status(2, CertificateStatus::Suspended)]);
    assert!(
        moved(&departed, &away).is_empty(),
        "nothing moves while away"
    );
    let back = after(away.clone(), &[WorkerChange::Returned]);
    assert!(back.flags().contains(&scheme(Measure::Suspended)));
    assert!(back.flags().contains(&all(Measure::Registered)));
    assert!(moved(&away, &back).iter().all(|d| d.delta == 1));
}

/// The sum of the dated changes of `flag` up to and including `day`.
fn count_on(changes: &[Dated], flag: &Flag, day: i64) -> i32 {
    changes
        .iter()
        .filter(|d| (d.delta.scheme.as_str(), d.delta.measure) == (flag.0.as_str(), flag.1))
        .filter(|d| d.day <= day)
        .map(|d| d.delta.delta)
        .sum()
}

#[test]
fn a_departure_dated_before_a_certificate_recorded_earlier_never_counts_below_zero() {
    // Registered in 2017 (day 17_400), certified in 2022 (19_000); then a departure dated 2020
    // (18_300) is entered, and a return dated 2021 (18_700).
    let registration = WorkerChange::Registered {
        posting: CIMAHI.to_owned(),
        category: 1,
        role: 1,
    };
    let (_, changes) = dated_after(
        WorkerProgress::default(),
        &[
            (registration, 17_400),
            (nominated(1), 18_900),
            (issued(2, None), 19_000),
            (WorkerChange::Departed, 18_300),
            (WorkerChange::Returned, 18_700),
        ],
    );
    let valid = all(Measure::Valid);
    let registered = all(Measure::Registered);
    for day in [
        17_000, 17_400, 18_299, 18_300, 18_699, 18_700, 18_999, 19_000, 20_000,
    ] {
        let counted = count_on(&changes, &valid, day);
        assert!((0..=1).contains(&counted), "valid on day {day}: {counted}");
    }
    assert_eq!(count_on(&changes, &valid, 18_999), 0, "not yet certified");
    assert_eq!(count_on(&changes, &valid, 19_000), 1, "certified, and back");
    assert_eq!(count_on(&changes, &registered, 18_000), 1);
    assert_eq!(count_on(&changes, &registered, 18_500), 0, "away");
    assert_eq!(count_on(&changes, &registered, 18_800), 1, "back");
}

#[test]
fn a_fact_recorded_while_away_counts_from_the_later_of_its_day_and_the_return() {
    let registration = WorkerChange::Registered {
        posting: CIMAHI.to_owned(),
        category: 1,
        role: 1,
    };
    let (_, changes) = dated_after(
        WorkerProgress::default(),
        &[
            (registration, 17_400),
            (WorkerChange::Departed, 18_000),
            (nominated(1), 18_500),
            (WorkerChange::Returned, 18_200),
        ],
    );
    let nominated_flag = all(Measure::Nominated);
    assert_eq!(count_on(&changes, &nominated_flag, 18_499), 0);
    assert_eq!(count_on(&changes, &nominated_flag, 18_500), 1);
}
