//! The progress model against the real databases: every case runs on PostgreSQL (a fresh
//! schema) and on SQLite (a fresh file), fed from a real event store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kesos_eventstore::model::unix_micros;
use kesos_progress::projections::live;
use kesos_progress::{AsOf, Filter, Measure, Progress, ProgressModel, Scope, day_of, replay};
use kesos_readside::Delivered;
use support::{Bench, PEKSOS, SCHEME, TKS, Writer};
use time::OffsetDateTime;
use time::macros::{date, datetime};
use uuid::Uuid;

const CIMAHI: &str = "32.77.01.1001";
const BANDUNG_BARAT: &str = "32.17.01.2001";

fn cimahi() -> Filter {
    Filter::region(Scope::KabupatenKota("32.77".to_owned()))
}

async fn count(bench: &Bench, filter: &Filter, as_of: AsOf, measure: Measure) -> i64 {
    bench
        .model
        .counts(filter, as_of)
        .await
        .unwrap()
        .total
        .get(measure)
}

/// The sourced events of the bench's log, as a live batch carries them.
async fn logged_events(bench: &Bench) -> Vec<Delivered> {
    bench
        .store
        .read_batch(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|event| Delivered {
            source: support::SOURCE.to_owned(),
            event,
        })
        .collect()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let bench = super::Bench::postgres().await;
                    super::$name(&bench).await;
                    bench.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let bench = super::Bench::sqlite().await;
                    super::$name(&bench).await;
                    bench.finish().await;
                }
            )*
        }
    };
}

on_both!(
    counts_follow_each_worker_through_the_funnel,
    redelivered_batches_change_nothing,
    a_move_of_posting_moves_every_count_and_an_erased_worker_still_counts,
    as_of_a_business_date_counts_backdated_history_as_it_stood_then,
    as_of_a_recorded_time_counts_only_what_the_system_knew_then,
    renewal_suspension_revocation_and_expiry_move_the_standing_counts,
    targets_and_rates_are_reported_with_drill_down,
    a_replay_rebuilds_a_model_identical_to_the_live_one,
    the_monthly_roll_up_answers_as_the_facts_do_and_is_summed_once_after_an_upgrade,
    a_workers_history_lists_every_step_with_who_when_and_why,
    the_live_projection_follows_the_log_from_its_checkpoint,
    the_time_applies_spend_outside_planning_is_kept_across_clones,
    a_replay_swapped_in_beside_the_live_projector_applies_nothing_twice,
);

async fn the_time_applies_spend_outside_planning_is_kept_across_clones(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    w.certify(
        Uuid::now_v7(),
        CIMAHI,
        PEKSOS,
        datetime!(2026-03-02 09:00 UTC),
    )
    .await;
    let events = logged_events(bench).await;
    assert_eq!(
        bench.model.time_in_database(),
        Duration::ZERO,
        "nothing applied yet"
    );
    let clone = bench.model.clone();
    let applied = clone.apply(&events).await.unwrap();
    assert_eq!(applied.events, events.len());
    let first = bench.model.time_in_database();
    assert!(first > Duration::ZERO, "the clone's apply is counted");
    clone.apply(&events).await.unwrap();
    assert!(
        bench.model.time_in_database() > first,
        "a redelivery still reads the checkpoints"
    );
}

async fn counts_follow_each_worker_through_the_funnel(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-03-02 09:00 UTC);
    let (a, b, c, d) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    w.certify(a, CIMAHI, PEKSOS, at).await;
    w.register(b, CIMAHI, PEKSOS, at).await;
    let nb = w.nominate(b, at).await;
    w.verify(b, nb, at).await;
    w.seat(b, nb, at).await;
    w.decide(b, false, CIMAHI, at).await;
    w.register(c, CIMAHI, TKS, at).await;
    let nc = w.nominate(c, at).await;
    w.reject(c, nc, at).await;
    w.register(d, BANDUNG_BARAT, PEKSOS, at).await;
    bench.catch_up(7).await;

    let now = AsOf::default();
    let expect = [
        (Measure::Registered, 3),
        (Measure::Nominated, 3),
        (Measure::Verified, 2),
        (Measure::Rejected, 1),
        (Measure::Seated, 2),
        (Measure::Assessed, 2),
        (Measure::Kompeten, 1),
        (Measure::BelumKompeten, 1),
        (Measure::Certified, 1),
        (Measure::Valid, 1),
        (Measure::Suspended, 0),
    ];
    for (measure, expected) in expect {
        assert_eq!(
            count(bench, &cimahi(), now, measure).await,
            expected,
            "{measure:?}"
        );
    }
    let peksos = Filter {
        category: Some(PEKSOS),
        ..cimahi()
    };
    assert_eq!(count(bench, &peksos, now, Measure::Registered).await, 2);
    let by_scheme = Filter {
        scheme: SCHEME.to_owned(),
        ..cimahi()
    };
    assert_eq!(count(bench, &by_scheme, now, Measure::Verified).await, 2);
    assert_eq!(count(bench, &by_scheme, now, Measure::Registered).await, 0);
    let province = bench
        .model
        .counts(&Filter::region(Scope::Province("32".to_owned())), now)
        .await
        .unwrap();
    assert_eq!(province.total.get(Measure::Registered), 4);
    assert_eq!(province.children["32.77"].get(Measure::Registered), 3);
    assert_eq!(province.children["32.17"].get(Measure::Registered), 1);
    let nation = bench
        .model
        .counts(&Filter::region(Scope::Nation), now)
        .await
        .unwrap();
    assert_eq!(nation.children["32"].get(Measure::Registered), 4);
}

async fn redelivered_batches_change_nothing(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-03-02 09:00 UTC);
    for _ in 0..3 {
        w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    }
    let events = logged_events(bench).await;
    let first = bench.model.apply(&events[..10]).await.unwrap();
    assert_eq!(first.events, 10);
    let again = bench.model.apply(&events).await.unwrap();
    assert_eq!(
        again.events,
        events.len() - 10,
        "the first ten were skipped"
    );
    let third = bench.model.apply(&events).await.unwrap();
    assert_eq!(third.events, 0);
    assert_eq!(
        count(bench, &cimahi(), AsOf::default(), Measure::Valid).await,
        3
    );
    assert_eq!(
        count(bench, &cimahi(), AsOf::default(), Measure::Registered).await,
        3
    );
}

async fn a_move_of_posting_moves_every_count_and_an_erased_worker_still_counts(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    w.certify(a, CIMAHI, PEKSOS, datetime!(2026-01-05 09:00 UTC))
        .await;
    w.certify(b, CIMAHI, PEKSOS, datetime!(2026-01-05 09:00 UTC))
        .await;
    w.move_to(a, CIMAHI, BANDUNG_BARAT, datetime!(2026-06-01 09:00 UTC))
        .await;
    w.erase(b, datetime!(2026-07-01 09:00 UTC)).await;
    bench.catch_up(500).await;
    let bandung_barat = Filter::region(Scope::KabupatenKota("32.17".to_owned()));
    for measure in [
        Measure::Registered,
        Measure::Certified,
        Measure::Valid,
        Measure::Kompeten,
    ] {
        assert_eq!(
            count(bench, &cimahi(), AsOf::default(), measure).await,
            1,
            "{measure:?}"
        );
        assert_eq!(
            count(bench, &bandung_barat, AsOf::default(), measure).await,
            1,
            "{measure:?}"
        );
    }
    let before_move = AsOf {
        day: Some(day_of(date!(2026 - 05 - 31))),
        recorded_us: None,
    };
    assert_eq!(
        count(bench, &cimahi(), before_move, Measure::Valid).await,
        2
    );
    assert_eq!(
        count(bench, &bandung_barat, before_move, Measure::Valid).await,
        0
    );
}

async fn as_of_a_business_date_counts_backdated_history_as_it_stood_then(bench: &Bench) {
    // Kota Cimahi, Peksos, as of 3 December 2017: 36 workers, 13 certified (imported history).
    let w = Writer::new(&*bench.store);
    let mut certified = Vec::new();
    for i in 0..36 {
        let worker = Uuid::now_v7();
        w.register(worker, CIMAHI, PEKSOS, datetime!(2017-02-01 09:00 UTC))
            .await;
        if i < 18 {
            certified.push(worker);
        }
    }
    for (i, worker) in certified.iter().enumerate() {
        let at = if i < 13 {
            datetime!(2017-11-20 09:00 UTC)
        } else {
            datetime!(2018-03-01 09:00 UTC)
        };
        let nomination = w.nominate(*worker, at).await;
        w.verify(*worker, nomination, at).await;
        w.decide(*worker, true, CIMAHI, at).await;
        w.issue(*worker, CIMAHI, None, at).await;
    }
    bench.catch_up(64).await;
    let peksos = Filter {
        category: Some(PEKSOS),
        ..cimahi()
    };
    let then = AsOf {
        day: Some(day_of(date!(2017 - 12 - 03))),
        recorded_us: None,
    };
    assert_eq!(count(bench, &peksos, then, Measure::Registered).await, 36);
    assert_eq!(count(bench, &peksos, then, Measure::Certified).await, 13);
    assert_eq!(count(bench, &peksos, then, Measure::Valid).await, 13);
    assert_eq!(
        count(bench, &peksos, AsOf::default(), Measure::Valid).await,
        18
    );
    let before = AsOf {
        day: Some(day_of(date!(2017 - 01 - 31))),
        recorded_us: None,
    };
    assert_eq!(count(bench, &peksos, before, Measure::Registered).await, 0);
}

async fn as_of_a_recorded_time_counts_only_what_the_system_knew_then(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-02-01 09:00 UTC);
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let known = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Learned later, but about the same business day.
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    bench.catch_up(500).await;
    let then = AsOf {
        day: None,
        recorded_us: Some(unix_micros(known)),
    };
    assert_eq!(count(bench, &cimahi(), then, Measure::Valid).await, 1);
    assert_eq!(
        count(bench, &cimahi(), AsOf::default(), Measure::Valid).await,
        2
    );
    let both = AsOf {
        day: Some(day_of(date!(2026 - 01 - 31))),
        recorded_us: Some(unix_micros(known)),
    };
    assert_eq!(count(bench, &cimahi(), both, Measure::Registered).await, 0);
}

async fn renewal_suspension_revocation_and_expiry_move_the_standing_counts(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2023-02-01 09:00 UTC);
    let (renewed, suspended, revoked, expired) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let old = w.certify(renewed, CIMAHI, PEKSOS, at).await;
    w.issue(renewed, CIMAHI, Some(old), datetime!(2026-01-10 09:00 UTC))
        .await;
    let s = w.certify(suspended, CIMAHI, PEKSOS, at).await;
    w.suspend(suspended, s, datetime!(2024-01-10 09:00 UTC))
        .await;
    let r = w.certify(revoked, CIMAHI, PEKSOS, at).await;
    w.suspend(revoked, r, datetime!(2024-01-10 09:00 UTC)).await;
    w.revoke(revoked, r, datetime!(2024-05-10 09:00 UTC)).await;
    let e = w.certify(expired, CIMAHI, PEKSOS, at).await;
    w.expire(expired, e, datetime!(2026-02-01 09:00 UTC)).await;
    bench.catch_up(500).await;
    let now = AsOf::default();
    assert_eq!(count(bench, &cimahi(), now, Measure::Certified).await, 4);
    assert_eq!(count(bench, &cimahi(), now, Measure::Valid).await, 1);
    assert_eq!(count(bench, &cimahi(), now, Measure::Suspended).await, 1);
    assert_eq!(count(bench, &cimahi(), now, Measure::Revoked).await, 1);
    assert_eq!(count(bench, &cimahi(), now, Measure::Expired).await, 1);
    let early_2024 = AsOf {
        day: Some(day_of(date!(2024 - 03 - 01))),
        recorded_us: None,
    };
    assert_eq!(count(bench, &cimahi(), early_2024, Measure::Valid).await, 2);
    assert_eq!(
        count(bench, &cimahi(), early_2024, Measure::Suspended).await,
        2
    );
    assert_eq!(
        count(bench, &cimahi(), early_2024, Measure::Revoked).await,
        0
    );
}

async fn targets_and_rates_are_reported_with_drill_down(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-03-02 09:00 UTC);
    for _ in 0..3 {
        w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    }
    w.register(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    w.register(Uuid::now_v7(), BANDUNG_BARAT, PEKSOS, at).await;
    w.target(2026, "32.77", PEKSOS, 10, datetime!(2026-01-02 09:00 UTC))
        .await;
    w.target(2026, "32.77", PEKSOS, 6, datetime!(2026-04-02 09:00 UTC))
        .await;
    w.target(2026, "32", PEKSOS, 100, datetime!(2026-01-02 09:00 UTC))
        .await;
    bench.catch_up(500).await;
    let progress = Progress::new(bench.model.clone(), bench.sources());
    let report = progress
        .region(
            &Filter::region(Scope::Province("32".to_owned())),
            AsOf::default(),
            2026,
        )
        .await
        .unwrap();
    assert_eq!(report.figures.target.unwrap().count, 100);
    let cimahi = &report.children["32.77"];
    assert_eq!(cimahi.counts.get(Measure::Registered), 4);
    assert_eq!(cimahi.certification_rate, Some(0.75));
    assert_eq!(
        cimahi.target.unwrap().count,
        6,
        "the latest setting is in force"
    );
    assert_eq!(cimahi.target_progress, Some(0.5));
    assert_eq!(report.children["32.17"].certification_rate, Some(0.0));
    let in_march = AsOf {
        day: Some(day_of(date!(2026 - 03 - 31))),
        recorded_us: None,
    };
    let then = progress
        .region(
            &Filter::region(Scope::KabupatenKota("32.77".to_owned())),
            in_march,
            2026,
        )
        .await
        .unwrap();
    assert_eq!(
        then.figures.target.unwrap().count,
        10,
        "the April setting was not yet made"
    );
    let series = progress
        .series(
            &Filter::region(Scope::KabupatenKota("32.77".to_owned())),
            AsOf::default(),
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].month, "2026-03");
    assert_eq!(series[0].end.get(Measure::Valid), 3);
}

async fn a_replay_rebuilds_a_model_identical_to_the_live_one(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    for i in 0..12 {
        let worker = Uuid::now_v7();
        let at = datetime!(2025-01-01 09:00 UTC) + time::Duration::days(i * 20);
        let c = w
            .certify(
                worker,
                if i % 2 == 0 { CIMAHI } else { BANDUNG_BARAT },
                PEKSOS,
                at,
            )
            .await;
        if i % 3 == 0 {
            w.suspend(worker, c, at + time::Duration::days(5)).await;
        }
        if i % 4 == 0 {
            w.move_to(worker, CIMAHI, BANDUNG_BARAT, at + time::Duration::days(9))
                .await;
        }
    }
    w.target(2026, "32.77", PEKSOS, 10, datetime!(2026-01-02 09:00 UTC))
        .await;
    bench.catch_up(9).await;
    let snapshot = |bench: &Bench| {
        let model = bench.model.clone();
        async move {
            let mut seen = Vec::new();
            for scope in [
                Scope::Nation,
                Scope::Province("32".to_owned()),
                Scope::KabupatenKota("32.77".to_owned()),
            ] {
                let filter = Filter::region(scope);
                seen.push(format!(
                    "{:?}",
                    model.counts(&filter, AsOf::default()).await.unwrap()
                ));
                let past = AsOf {
                    day: Some(day_of(date!(2025 - 06 - 30))),
                    recorded_us: None,
                };
                seen.push(format!("{:?}", model.counts(&filter, past).await.unwrap()));
                seen.push(format!(
                    "{:?}",
                    model.monthly(&filter, AsOf::default()).await.unwrap()
                ));
            }
            seen.push(format!("{:?}", model.checkpoints().await.unwrap()));
            seen
        }
    };
    let live = snapshot(bench).await;
    let live_rows = support::model_rows(bench).await;
    assert!(live_rows.len() > 100, "{live_rows:?}");
    let mut calls = 0;
    let report = replay(&bench.model, &bench.sources(), |_, _| calls += 1)
        .await
        .unwrap();
    assert!(calls > 0, "progress is reported");
    assert_eq!(report.events, bench.store.head_position().await.unwrap());
    assert_eq!(snapshot(bench).await, live);
    // Not only the answers: every table holds the same rows.
    let replayed_rows = support::model_rows(bench).await;
    let differences: Vec<_> = live_rows
        .iter()
        .filter(|row| !replayed_rows.contains(row))
        .chain(replayed_rows.iter().filter(|row| !live_rows.contains(row)))
        .collect();
    assert!(differences.is_empty(), "{differences:?}");
    assert_eq!(replayed_rows.len(), live_rows.len());
    // The live model keeps working on the swapped-in tables, and a second replay works too.
    w.certify(
        Uuid::now_v7(),
        CIMAHI,
        PEKSOS,
        datetime!(2026-05-01 09:00 UTC),
    )
    .await;
    bench.catch_up(500).await;
    replay(&bench.model, &bench.sources(), |_, _| {})
        .await
        .unwrap();
    let after = bench
        .model
        .counts(&cimahi(), AsOf::default())
        .await
        .unwrap();
    assert_eq!(after.total.get(Measure::Registered), 4);
    // Opening the model again (a restart) keeps the replayed set's two indexes on the facts.
    bench.reopen().await;
    assert_eq!(support::facts_indexes(bench).await, 2);
}

/// Every answer the roll-up gives for a region, now and as of some dates, beside the same
/// answer summed from the facts alone (asking also as of a recorded time far ahead, which the
/// roll-up does not keep, sends a question to the facts).
async fn roll_up_and_facts_answers(model: &ProgressModel) -> (Vec<String>, Vec<String>) {
    let (mut rolled, mut summed) = (Vec::new(), Vec::new());
    let dates = [
        None,
        Some(date!(2024 - 12 - 31)),
        Some(date!(2025 - 01 - 01)),
        Some(date!(2025 - 03 - 15)),
        Some(date!(2025 - 06 - 30)),
        Some(date!(2025 - 07 - 01)),
        Some(date!(2026 - 12 - 31)),
    ];
    for scope in [
        Scope::Nation,
        Scope::Province("32".to_owned()),
        Scope::KabupatenKota("32.77".to_owned()),
        Scope::KabupatenKota("32.17".to_owned()),
    ] {
        for category in [None, Some(PEKSOS), Some(TKS)] {
            let filter = Filter {
                category,
                ..Filter::region(scope.clone())
            };
            for date in dates {
                let day = date.map(day_of);
                let by_roll_up = AsOf {
                    day,
                    recorded_us: None,
                };
                let by_facts = AsOf {
                    day,
                    recorded_us: Some(i64::MAX),
                };
                for (as_of, answers) in [(by_roll_up, &mut rolled), (by_facts, &mut summed)] {
                    answers.push(format!("{:?}", model.counts(&filter, as_of).await.unwrap()));
                    answers.push(format!(
                        "{:?}",
                        model.monthly(&filter, as_of).await.unwrap()
                    ));
                }
            }
        }
    }
    (rolled, summed)
}

async fn the_monthly_roll_up_answers_as_the_facts_do_and_is_summed_once_after_an_upgrade(
    bench: &Bench,
) {
    let w = Writer::new(&*bench.store);
    for i in 0..16 {
        let worker = Uuid::now_v7();
        let at = datetime!(2025-01-01 09:00 UTC) + time::Duration::days(i * 17);
        let (place, category) = if i % 2 == 0 {
            (CIMAHI, PEKSOS)
        } else {
            (BANDUNG_BARAT, TKS)
        };
        let c = w.certify(worker, place, category, at).await;
        if i % 3 == 0 {
            w.suspend(worker, c, at + time::Duration::days(5)).await;
        }
        if i % 4 == 0 {
            w.move_to(worker, CIMAHI, BANDUNG_BARAT, at + time::Duration::days(9))
                .await;
        }
    }
    // Registered at the end of a month and moved away at the start of the next, live.
    let late = Uuid::now_v7();
    w.register(late, CIMAHI, PEKSOS, datetime!(2025-06-30 16:00 UTC))
        .await;
    bench.catch_up(7).await;
    w.move_to(late, CIMAHI, BANDUNG_BARAT, datetime!(2025-07-01 03:00 UTC))
        .await;
    bench.catch_up(7).await;

    let (rolled, summed) = roll_up_and_facts_answers(&bench.model).await;
    assert_eq!(rolled, summed);
    let peksos_cimahi = Filter {
        category: Some(PEKSOS),
        ..cimahi()
    };
    let mid_march = AsOf {
        day: Some(day_of(date!(2025 - 03 - 15))),
        recorded_us: None,
    };
    assert!(count(bench, &peksos_cimahi, mid_march, Measure::Registered).await > 0);

    // A database from before the roll-up: no roll-up table, one index on the facts.
    bench.execute("DROP TABLE progress_months").await;
    for name in bench.facts_index_names().await {
        if name.ends_with("_day") {
            bench.execute(&format!("DROP INDEX {name}")).await;
        }
    }
    assert_eq!(support::facts_indexes(bench).await, 1);
    let upgraded = bench.reopen().await;
    assert_eq!(support::facts_indexes(bench).await, 2);
    assert_eq!(
        roll_up_and_facts_answers(&upgraded).await,
        (rolled.clone(), summed)
    );
    // Summed once: opening again neither sums it twice nor adds an index.
    let again = bench.reopen().await;
    assert_eq!(roll_up_and_facts_answers(&again).await.0, rolled);
    assert_eq!(support::facts_indexes(bench).await, 2);
}

async fn a_workers_history_lists_every_step_with_who_when_and_why(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let worker = Uuid::now_v7();
    let certificate = w
        .certify(worker, CIMAHI, PEKSOS, datetime!(2026-01-05 09:00 UTC))
        .await;
    w.suspend(worker, certificate, datetime!(2026-02-05 09:00 UTC))
        .await;
    w.register(
        Uuid::now_v7(),
        CIMAHI,
        PEKSOS,
        datetime!(2026-01-05 09:00 UTC),
    )
    .await;
    bench.catch_up(500).await;
    let progress = Progress::new(bench.model.clone(), bench.sources());
    let steps = progress.history(worker).await.unwrap();
    let types: Vec<_> = steps
        .iter()
        .map(|s| s.event_type.rsplit('.').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "WorkerRegistered",
            "NominationSubmitted",
            "NominationVerified",
            "CandidateSeated",
            "AssessmentDecided",
            "CertificateIssued",
            "CertificateSuspended"
        ]
    );
    let suspension = steps.last().unwrap();
    assert_eq!(
        suspension.reason.as_deref(),
        Some("under criminal investigation")
    );
    assert_eq!(suspension.actor, "test:operator");
    assert_eq!(suspension.correlation_id, format!("corr-{worker}"));
    assert_eq!(suspension.occurred_at, datetime!(2026-02-05 09:00 UTC));
    assert!(suspension.recorded_at > suspension.occurred_at);
    assert!(progress.history(Uuid::now_v7()).await.unwrap().is_empty());
}

async fn the_live_projection_follows_the_log_from_its_checkpoint(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-03-02 09:00 UTC);
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    for round in 1..=2_i64 {
        let start = bench
            .model
            .checkpoints()
            .await
            .unwrap()
            .get(support::SOURCE)
            .copied()
            .unwrap_or(0);
        let feed =
            kesos_bus::EmbeddedFeed::from_position(bench.store.clone(), support::SOURCE, start);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let projector = live::projector(&bench.model).await.unwrap();
        let task = tokio::spawn(async move {
            let mut stopped = stopped;
            projector
                .run(feed, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
        let expected = round + 1;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while count(bench, &cimahi(), AsOf::default(), Measure::Valid).await != expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the projection did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        count(bench, &cimahi(), AsOf::default(), Measure::Registered).await,
        3
    );
}

/// Runs the live projector on the bench's log from `from` until the returned sender says stop.
fn run_projector(
    bench: &Bench,
    projector: &kesos_readside::Projector,
    from: u64,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), kesos_bus::BusError>>,
) {
    let feed = kesos_bus::EmbeddedFeed::from_position(bench.store.clone(), support::SOURCE, from);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let projector = projector.clone();
    let task = tokio::spawn(async move {
        projector
            .run(feed, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    (stop, task)
}

/// Waits until the live model counts `expected` valid certificates in Kota Cimahi.
async fn until_valid(bench: &Bench, expected: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count(bench, &cimahi(), AsOf::default(), Measure::Valid).await != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projection did not reach {expected} valid certificates"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The replay swaps in tables whose own checkpoints may be ahead of the projector's (it read
/// events the projector had not): the projector re-delivers those, the plan skips them, and
/// every count stays exact — whether the projector was stopped during the replay or running.
async fn a_replay_swapped_in_beside_the_live_projector_applies_nothing_twice(bench: &Bench) {
    let w = Writer::new(&*bench.store);
    let at = datetime!(2026-03-02 09:00 UTC);
    let projector = live::projector(&bench.model).await.unwrap();
    let (stop, task) = run_projector(bench, &projector, 0);
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    until_valid(bench, 1).await;
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();

    // Stopped: the replay reads two workers the projector has not seen.
    for _ in 0..2 {
        w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    }
    let behind = projector.position(support::SOURCE);
    replay(&bench.model, &bench.sources(), |_, _| {})
        .await
        .unwrap();
    let head = bench.store.head_position().await.unwrap();
    assert!(behind < head, "the projector is behind the replayed model");
    assert_eq!(
        bench.model.checkpoints().await.unwrap()[support::SOURCE],
        head
    );

    // Running again from its own checkpoint: the replayed events come again and are skipped.
    let (stop, task) = run_projector(bench, &projector, behind);
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    until_valid(bench, 4).await;
    // Running: a replay swapped in while batches arrive.
    replay(&bench.model, &bench.sources(), |_, _| {})
        .await
        .unwrap();
    w.certify(Uuid::now_v7(), CIMAHI, PEKSOS, at).await;
    until_valid(bench, 5).await;
    let head = bench.store.head_position().await.unwrap();
    projector
        .wait_for(support::SOURCE, head, Duration::from_secs(10))
        .await
        .unwrap();
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    for measure in [Measure::Registered, Measure::Certified, Measure::Valid] {
        assert_eq!(
            count(bench, &cimahi(), AsOf::default(), measure).await,
            5,
            "{measure:?}"
        );
    }
    assert_eq!(
        projector.checkpoints().await.unwrap()[support::SOURCE],
        head
    );
    assert_eq!(
        bench.model.checkpoints().await.unwrap()[support::SOURCE],
        head
    );
}

/// On SQLite a live apply takes the file's write lock before it reads: a transaction that read
/// first could not write after another connection committed meanwhile (its snapshot would be
/// stale, `SQLITE_BUSY_SNAPSHOT`, at once and whatever the busy timeout), so every batch that
/// met a commit of the store's writer or a consumer would fail and back off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_live_batch_waits_for_another_writer_and_then_applies() {
    use sqlx::Connection;
    let bench = Bench::sqlite().await;
    let support::Place::Lite(file, _) = &bench.place else {
        panic!("a SQLite bench");
    };
    let w = Writer::new(&*bench.store);
    w.certify(
        Uuid::now_v7(),
        CIMAHI,
        PEKSOS,
        datetime!(2026-03-02 09:00 UTC),
    )
    .await;
    let events = logged_events(&bench).await;
    let options = kesos_eventstore::sqlite::sqlite_options(&file.path);
    let mut other = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE another_writers_table (x INTEGER)")
        .execute(&mut other)
        .await
        .unwrap();
    let model = bench.model.clone();
    let apply = tokio::spawn(async move { model.apply(&events).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!apply.is_finished(), "the apply waits for the write lock");
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let applied = apply.await.unwrap().unwrap();
    assert!(applied.events > 0);
    assert_eq!(
        count(&bench, &cimahi(), AsOf::default(), Measure::Valid).await,
        1
    );
    other.close().await.unwrap();
    bench.finish().await;
}
