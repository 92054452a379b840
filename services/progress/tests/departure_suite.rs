//! Departures, returns and total targets in the progress model: a departed worker counts for
//! nothing from the departure's business date and for everything again from the return's,
//! now and as of any date; the target in force as of a date is the latest dated by then; and
//! a replay equals the live model. Every case runs on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kesos_progress::{AsOf, Filter, Measure, Progress, Scope, day_of, replay};
use support::{Bench, PEKSOS, Writer};
use time::Date;
use time::macros::{date, datetime};
use uuid::Uuid;

const CIMAHI: &str = "32.77.01.1001";

fn cimahi() -> Filter {
    Filter::region(Scope::KabupatenKota("32.77".to_owned()))
}

fn on(date: Date) -> AsOf {
    AsOf {
        day: Some(day_of(date)),
        recorded_us: None,
    }
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
    a_departed_worker_counts_for_nothing_from_the_departure_and_again_from_the_return,
    a_total_target_answers_for_all_categories_as_it_stood_on_each_date,
    a_departure_entered_after_a_later_certificate_never_counts_below_zero,
);

async fn a_departure_entered_after_a_later_certificate_never_counts_below_zero(bench: &Bench) {
    // Certified in 2022, recorded then; the departure of 2020 (and the return of 2021) are
    // entered afterwards, as an office catching up on its paperwork would.
    let w = Writer::new(&*bench.store);
    let worker = Uuid::now_v7();
    w.register(worker, CIMAHI, PEKSOS, datetime!(2017-02-01 09:00 UTC))
        .await;
    let other = Uuid::now_v7();
    w.register(other, CIMAHI, PEKSOS, datetime!(2017-02-01 09:00 UTC))
        .await;
    let certified_at = datetime!(2022-05-10 09:00 UTC);
    let nomination = w.nominate(other, certified_at).await;
    w.verify(other, nomination, certified_at).await;
    w.seat(other, nomination, certified_at).await;
    w.decide(other, true, CIMAHI, certified_at).await;
    w.issue(other, CIMAHI, None, certified_at).await;
    w.depart(other, datetime!(2020-06-30 09:00 UTC)).await;
    w.come_back(other, datetime!(2021-01-04 09:00 UTC)).await;
    bench.catch_up(16).await;
    let filter = cimahi();
    for (day, registered, valid) in [
        (date!(2018 - 01 - 01), 2, 0),
        (date!(2020 - 06 - 30), 1, 0),
        (date!(2020 - 12 - 31), 1, 0),
        (date!(2021 - 01 - 04), 2, 0),
        (date!(2022 - 05 - 09), 2, 0),
        (date!(2022 - 05 - 10), 2, 1),
    ] {
        let counts = (
            count(bench, &filter, on(day), Measure::Registered).await,
            count(bench, &filter, on(day), Measure::Valid).await,
        );
        assert_eq!(counts, (registered, valid), "as of {day}");
    }
    let live_rows = support::model_rows(bench).await;
    replay(&bench.model, &bench.sources(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(support::model_rows(bench).await, live_rows);
}

async fn a_departed_worker_counts_for_nothing_from_the_departure_and_again_from_the_return(
    bench: &Bench,
) {
    // Cimahi's 36 Peksos of 2017, 13 certified; two certified ones leave (one resigns in
    // 2019, one retires in 2020 and comes back in 2021), and one uncertified one dies in 2018.
    let w = Writer::new(&*bench.store);
    let mut workers = Vec::new();
    for i in 0..36 {
        let worker = Uuid::now_v7();
        if i < 13 {
            w.certify(worker, CIMAHI, PEKSOS, datetime!(2017-02-01 09:00 UTC))
                .await;
        } else {
            w.register(worker, CIMAHI, PEKSOS, datetime!(2017-02-01 09:00 UTC))
                .await;
        }
        workers.push(worker);
    }
    // Recorded now, dated in the past (17:00 UTC is the next day in WIB).
    w.depart(workers[0], datetime!(2019-03-31 17:00 UTC)).await;
    w.depart(workers[1], datetime!(2020-06-30 09:00 UTC)).await;
    w.come_back(workers[1], datetime!(2021-01-04 09:00 UTC))
        .await;
    w.depart(workers[20], datetime!(2018-08-17 09:00 UTC)).await;
    bench.catch_up(64).await;

    let expect = |as_of, registered, valid| {
        let bench = &*bench;
        async move {
            let filter = cimahi();
            let counts = (
                count(bench, &filter, as_of, Measure::Registered).await,
                count(bench, &filter, as_of, Measure::Valid).await,
                count(bench, &filter, as_of, Measure::Certified).await,
            );
            assert_eq!(counts, (registered, valid, valid), "{as_of:?}");
        }
    };
    expect(on(date!(2017 - 12 - 03)), 36, 13).await;
    expect(on(date!(2018 - 08 - 16)), 36, 13).await;
    expect(on(date!(2018 - 08 - 17)), 35, 13).await;
    expect(on(date!(2019 - 03 - 31)), 35, 13).await;
    expect(on(date!(2019 - 04 - 01)), 34, 12).await;
    expect(on(date!(2020 - 06 - 30)), 33, 11).await;
    expect(on(date!(2021 - 01 - 04)), 34, 12).await;
    expect(AsOf::default(), 34, 12).await;

    // The history keeps every step, the departure said with its date and reason.
    let progress = Progress::new(bench.model.clone(), bench.sources());
    let steps = progress.history(workers[0]).await.unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last.summary, "left the programme on 2019-04-01 (resigned)");
    assert!(
        steps
            .iter()
            .any(|s| s.event_type.ends_with("CertificateIssued"))
    );

    // A replay equals the live model, row by row.
    let live_rows = support::model_rows(bench).await;
    replay(&bench.model, &bench.sources(), |_, _| {})
        .await
        .unwrap();
    let replayed_rows = support::model_rows(bench).await;
    assert_eq!(replayed_rows, live_rows);
    expect(on(date!(2020 - 06 - 30)), 33, 11).await;
    expect(AsOf::default(), 34, 12).await;
}

async fn a_total_target_answers_for_all_categories_as_it_stood_on_each_date(bench: &Bench) {
    // The 2020 national target: the cut to 16,920 from June was entered before the original
    // 27,000 of January; Peksos has a target of its own beside the total.
    let w = Writer::new(&*bench.store);
    w.total_target(2020, "", 16_920, datetime!(2020-06-01 09:00 UTC))
        .await;
    w.total_target(2020, "", 27_000, datetime!(2020-01-02 09:00 UTC))
        .await;
    w.target(2020, "", PEKSOS, 5_000, datetime!(2020-01-02 09:00 UTC))
        .await;
    bench.catch_up(64).await;
    let progress = Progress::new(bench.model.clone(), bench.sources());
    let nation = Filter::region(Scope::Nation);
    let target = |filter: Filter, as_of| {
        let progress = &progress;
        async move {
            progress
                .region(&filter, as_of, 2020)
                .await
                .unwrap()
                .figures
                .target
                .map(|t| t.count)
        }
    };
    assert_eq!(
        target(nation.clone(), on(date!(2020 - 09 - 23))).await,
        Some(16_920)
    );
    assert_eq!(
        target(nation.clone(), on(date!(2020 - 03 - 01))).await,
        Some(27_000)
    );
    assert_eq!(
        target(nation.clone(), on(date!(2019 - 12 - 31))).await,
        None
    );
    assert_eq!(target(nation.clone(), AsOf::default()).await, Some(16_920));
    let peksos = Filter {
        category: Some(PEKSOS),
        ..nation
    };
    assert_eq!(target(peksos, on(date!(2020 - 09 - 23))).await, Some(5_000));
}
