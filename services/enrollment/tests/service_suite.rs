//! The enrollment service against the real databases: every case runs on PostgreSQL (a fresh
//! schema) and on SQLite (a fresh file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_bus::Stalls;
use kesos_commands::CommandContext;
use kesos_enrollment::domain::{Reason, SchemeCatalog, WorkerId};
use kesos_enrollment::projections::WorkerFilter;
use kesos_enrollment::service::import::HEADERS;
use kesos_enrollment::service::{Enrollment, EnrollmentError, WorkerForm};
use kesos_enrollment::wire::WORKER_REGISTERED;
use kesos_regions::{RegionCode, Regions};
use kesos_spreadsheet::{write_csv, write_xlsx};
use kesos_vault::KeyState;
use time::OffsetDateTime;
use time::macros::date;
use uuid::Uuid;

mod support;

use support::Place;

struct Harness {
    place: Place,
    enrollment: Enrollment,
}

impl Harness {
    async fn build((place, store, vault, db): support::Opened) -> Self {
        let catalog = SchemeCatalog::shipped().unwrap();
        let enrollment = Enrollment::build(store, vault, catalog, db, Stalls::new())
            .await
            .unwrap();
        Self { place, enrollment }
    }

    async fn postgres() -> Self {
        Self::build(support::open_postgres().await).await
    }

    async fn sqlite() -> Self {
        Self::build(support::open_sqlite().await).await
    }

    async fn finish(self) {
        self.place.close().await;
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness.enrollment).await;
                    harness.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness.enrollment).await;
                    harness.finish().await;
                }
            )*
        }
    };
}

on_both!(
    a_registered_worker_reads_back_with_personal_data_open,
    one_nik_registered_by_eight_concurrent_callers_yields_one_worker,
    a_retried_registration_registers_nobody_twice,
    an_erased_worker_reads_as_erased_and_the_log_stays_intact,
    a_portfolio_reference_is_sealed_in_the_log_and_unreadable_after_erasure,
    an_import_stores_valid_rows_and_reports_every_bad_row,
    importing_the_same_file_again_creates_no_duplicates,
    an_xlsx_file_imports_like_its_csv,
    unreadable_files_are_refused_naming_the_file,
    a_file_past_a_reader_limit_is_refused_naming_the_limit,
    the_directory_filters_by_region_prefix_and_follows_a_move,
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

/// A valid NIK for a woman born on the given day of May 1990 in Kota Cimahi, serial `n`.
fn nik(day: u8, serial: u16) -> String {
    format!("327701{:02}0590{serial:04}", day + 40)
}

fn form(nik: &str, day: u8) -> WorkerForm {
    WorkerForm {
        nik: nik.into(),
        full_name: format!("Pekerja {day}"),
        sex: "P".into(),
        birth_date: format!("1990-05-{day:02}"),
        category: "peksos".into(),
        role: "kelurahan_peksos".into(),
        employment_status: "thl".into(),
        posting: "32.77.01.1001".into(),
        education_level: "s1".into(),
        education_in_social_work: "ya".into(),
        practice_months: "24".into(),
        training_hours: "60".into(),
        association_member: "tidak".into(),
        registered_on: String::new(),
    }
}

async fn register(enrollment: &Enrollment, form: &WorkerForm) -> Result<WorkerId, EnrollmentError> {
    let worker = form
        .validate(Regions::embedded(), date!(2026 - 11 - 22))
        .unwrap();
    Ok(enrollment.register(&worker, &context()).await?.worker_id)
}

async fn a_registered_worker_reads_back_with_personal_data_open(enrollment: &Enrollment) {
    let id = register(enrollment, &form(&nik(17, 1), 17)).await.unwrap();
    let view = enrollment.view(id).await.unwrap();
    assert_eq!(view.nik.as_deref(), Some(nik(17, 1).as_str()));
    assert_eq!(view.full_name.as_deref(), Some("Pekerja 17"));
    assert_eq!(view.birth_date.as_deref(), Some("1990-05-17"));
    assert!(!view.erased);
    // The stored event carries neither the NIK nor the name in clear.
    let events = enrollment
        .store()
        .read_stream(
            &kesos_enrollment::service::worker_stream(id).unwrap(),
            kesos_eventstore::AsOf::Now,
        )
        .await
        .unwrap();
    assert_eq!(events[0].event_type.as_str(), WORKER_REGISTERED);
    let payload = String::from_utf8_lossy(&events[0].payload);
    assert!(
        !payload.contains(&nik(17, 1)) && !payload.contains("Pekerja"),
        "{payload}"
    );
}

async fn one_nik_registered_by_eight_concurrent_callers_yields_one_worker(enrollment: &Enrollment) {
    let the_nik = nik(3, 7);
    let attempts = (0..8).map(|_| {
        let enrollment = enrollment.clone();
        let form = form(&the_nik, 3);
        tokio::spawn(async move { register(&enrollment, &form).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<WorkerId> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(_) => {}
            Err(EnrollmentError::DuplicateNik { existing }) => assert_eq!(*existing, winners[0]),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}

async fn a_retried_registration_registers_nobody_twice(enrollment: &Enrollment) {
    let worker = form(&nik(5, 1), 5)
        .validate(Regions::embedded(), date!(2026 - 11 - 22))
        .unwrap();
    let context = context();
    let first = enrollment.register(&worker, &context).await.unwrap();
    let again = enrollment.register(&worker, &context).await.unwrap();
    assert_eq!(first.worker_id, again.worker_id);
    assert!(!first.already && again.already);
}

async fn an_erased_worker_reads_as_erased_and_the_log_stays_intact(enrollment: &Enrollment) {
    let id = register(enrollment, &form(&nik(9, 1), 9)).await.unwrap();
    enrollment
        .erase(
            id,
            Reason::parse("data subject's request").unwrap(),
            Reason::parse("UU 27/2022").unwrap(),
            &context(),
        )
        .await
        .unwrap();
    let view = enrollment.view(id).await.unwrap();
    assert!(view.erased);
    assert_eq!(
        (view.nik, view.full_name, view.birth_date),
        (None, None, None)
    );
    assert_eq!(view.category, "peksos", "everything but the person stays");
    assert!(matches!(
        enrollment.vault().key(id.0).await.unwrap(),
        KeyState::Destroyed { .. }
    ));
    // Erasing again is harmless; the hash chains still verify.
    enrollment
        .erase(
            id,
            Reason::parse("again").unwrap(),
            Reason::parse("UU 27/2022").unwrap(),
            &context(),
        )
        .await
        .unwrap();
    let report = kesos_eventstore::verify(&**enrollment.store(), &[], |_| {})
        .await
        .unwrap();
    assert!(report.first_break.is_none(), "{report:?}");
    // The NIK's claim went with the person: the same NIK may be registered afresh.
    let again = register(enrollment, &form(&nik(9, 1), 9)).await.unwrap();
    assert_ne!(again, id);
}

async fn a_portfolio_reference_is_sealed_in_the_log_and_unreadable_after_erasure(
    enrollment: &Enrollment,
) {
    let id = register(enrollment, &form(&nik(8, 1), 8)).await.unwrap();
    // A Dinas office's document path, which names the worker as such paths often do.
    let reference = "dinsos-cimahi/2026/Pekerja 8";
    enrollment
        .nominate(
            id,
            "PEKSOS-GENERALIS",
            2026,
            "32.77",
            reference,
            None,
            &context(),
        )
        .await
        .unwrap();
    let view = enrollment.view(id).await.unwrap();
    assert_eq!(
        view.nominations[0].portfolio_ref.as_deref(),
        Some(reference)
    );
    let stream = kesos_eventstore::StreamId::parse(format!("worker-{id}")).unwrap();
    let logged = enrollment
        .store()
        .read_stream(&stream, kesos_eventstore::AsOf::Now)
        .await
        .unwrap();
    assert_eq!(logged.len(), 2, "registered and nominated");
    for event in &logged {
        let text = String::from_utf8_lossy(&event.payload);
        assert!(
            !text.contains("Pekerja 8"),
            "{} holds the name in clear",
            event.event_type
        );
    }
    enrollment
        .erase(
            id,
            Reason::parse("data subject's request").unwrap(),
            Reason::parse("UU 27/2022").unwrap(),
            &context(),
        )
        .await
        .unwrap();
    let view = enrollment.view(id).await.unwrap();
    assert_eq!(view.nominations[0].portfolio_ref, None);
    assert_eq!(view.nominations[0].scheme_code, "PEKSOS-GENERALIS");
    // An erased worker is nominated no more, and the refusal says why.
    let refused = enrollment
        .nominate(
            id,
            "PEKSOS-GENERALIS",
            2027,
            "32.77",
            "again",
            None,
            &context(),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("erased"), "{refused}");
}

fn row(nik: &str, name: &str, sex: &str, birth: &str, region: &str) -> Vec<String> {
    [
        nik,
        name,
        sex,
        birth,
        "Pekerja Sosial",
        "pendamping_pkh",
        "THL",
        region,
        "S1",
        "ya",
        "24",
        "60",
        "tidak",
    ]
    .map(str::to_owned)
    .to_vec()
}

async fn an_import_stores_valid_rows_and_reports_every_bad_row(enrollment: &Enrollment) {
    let stored = nik(20, 99);
    register(enrollment, &form(&stored, 20)).await.unwrap();
    let rows = vec![
        row(&nik(1, 1), "Ani", "P", "1990-05-01", "32.77"), // 2 ok
        row("32770141059", "Budi", "P", "1990-05-01", "32.77"), // 3 short NIK
        row("3299014105900001", "Cici", "P", "1990-05-01", "32.77"), // 4 NIK with unknown region
        row("3277017102900001", "Dedi", "P", "1990-02-31", "32.77"), // 5 impossible birth date, in the NIK too
        row(&nik(2, 1), "Euis", "P", "1990-05-03", "32.77"),         // 6 NIK / birth date mismatch
        row(&nik(1, 1), "Fajar", "P", "1990-05-01", "32.77"),        // 7 duplicate inside the file
        row(&stored, "Gita", "P", "1990-05-20", "32.77"), // 8 duplicate of a stored worker
        row(&nik(4, 1), "Hana", "P", "1990-05-04", "32.99"), // 9 unknown region code
        row(&nik(5, 1), "", "P", "1990-05-05", "32.77"),  // 10 empty required field
        row(&nik(6, 1), "Ika", "P", "06/05/1990", "32.77.01.1001"), // 11 ok, Indonesian date
    ];
    let file = write_csv(&HEADERS, &rows);
    let report = enrollment
        .import_workers(file.clone(), "test", date!(2026 - 11 - 22), |_, _| {})
        .await
        .unwrap();
    let seen: Vec<(usize, &str, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (3, "NIK", "nik.length"),
            (4, "NIK", "nik.region"),
            (5, "Tanggal Lahir", "birth_date.real"),
            (5, "NIK", "nik.birth_date_real"),
            (6, "NIK", "nik.matches_birth_date"),
            (7, "NIK", "nik.unique_in_file"),
            (8, "NIK", "nik.unique"),
            (9, "Kode Wilayah", "posting.region"),
            (10, "Nama Lengkap", "required"),
        ]
    );
    assert_eq!(
        (report.rows, report.stored, report.rejected_rows),
        (10, 2, 8)
    );
}

async fn importing_the_same_file_again_creates_no_duplicates(enrollment: &Enrollment) {
    let rows: Vec<Vec<String>> = (1..=20)
        .map(|serial| {
            row(
                &nik(7, serial),
                &format!("Worker {serial}"),
                "P",
                "1990-05-07",
                "32.77",
            )
        })
        .collect();
    let file = write_csv(&HEADERS, &rows);
    let first = enrollment
        .import_workers(file.clone(), "test", date!(2026 - 11 - 22), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (first.stored, first.unchanged, first.rejected_rows),
        (20, 0, 0)
    );
    let again = enrollment
        .import_workers(file.clone(), "test", date!(2026 - 11 - 22), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (again.stored, again.unchanged, again.rejected_rows),
        (0, 20, 0)
    );
    let head = enrollment.store().head_position().await.unwrap();
    assert_eq!(head, 20, "twenty registrations, nothing more");
}

async fn an_xlsx_file_imports_like_its_csv(enrollment: &Enrollment) {
    let rows = vec![
        row(&nik(8, 1), "Siti Nurhaliza", "P", "1990-05-08", "32.77.01"),
        row("123", "Bad", "P", "1990-05-08", "32.77"),
    ];
    let file = write_xlsx(&HEADERS, &rows).unwrap();
    let report = enrollment
        .import_workers(file.clone(), "test", date!(2026 - 11 - 22), |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.format, "xlsx");
    assert_eq!((report.stored, report.rejected_rows), (1, 1));
    assert_eq!(
        (report.errors[0].row, report.errors[0].rule.as_str()),
        (3, "nik.length")
    );
}

async fn unreadable_files_are_refused_naming_the_file(enrollment: &Enrollment) {
    let cases: [(&[u8], &str); 5] = [
        (b"", "file.empty"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "file.spreadsheet"),
        (
            b"NIK;Nama Lengkap\n3277014105900001;Jos\xe9\n",
            "file.encoding",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0", "file.legacy_xls"),
        (b"nama,kota\nAni,Cimahi\n", "file.columns"),
    ];
    for (bytes, rule) in cases {
        match enrollment
            .import_workers(bytes, "test", date!(2026 - 11 - 22), |_, _| {})
            .await
        {
            Err(EnrollmentError::Invalid(errors)) => assert_eq!(errors[0].rule, rule, "{errors:?}"),
            other => panic!("expected {rule}, got {other:?}"),
        }
    }
    assert_eq!(
        enrollment.store().head_position().await.unwrap(),
        0,
        "nothing stored"
    );
}

async fn a_file_past_a_reader_limit_is_refused_naming_the_limit(enrollment: &Enrollment) {
    // The padding bomb: a 16,384-column header above 100,000 one-cell lines.
    let header: Vec<String> = (0..16_384).map(|i| format!("k{i}")).collect();
    let mut bomb = header.join(",").into_bytes();
    bomb.extend(b"\nx".repeat(100_000));
    match enrollment
        .import_workers(bomb, "test", date!(2026 - 11 - 22), |_, _| {})
        .await
    {
        Err(EnrollmentError::OverLimit(error)) => {
            assert_eq!(
                (error.field.as_str(), error.rule.as_str()),
                ("file", "file.limit.columns")
            );
            assert!(error.detail.contains("column 1024"), "{}", error.detail);
        }
        other => panic!("expected the column limit, got {other:?}"),
    }
    assert_eq!(
        enrollment.store().head_position().await.unwrap(),
        0,
        "nothing stored"
    );
}

async fn the_directory_filters_by_region_prefix_and_follows_a_move(enrollment: &Enrollment) {
    let cimahi = register(enrollment, &form(&nik(11, 1), 11)).await.unwrap();
    let mut elsewhere = form(&nik(12, 1), 12);
    elsewhere.posting = "32.17".into();
    register(enrollment, &elsewhere).await.unwrap();
    // No catching up: each registration answered once the directory had applied it.
    let directory = enrollment.directory();
    let in_cimahi = WorkerFilter {
        region: Some(RegionCode::parse("32.77").unwrap()),
        ..WorkerFilter::default()
    };
    let page = directory.list(&in_cimahi, None, 50).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].worker_id, cimahi.to_string());
    let jawa_barat = WorkerFilter {
        region: Some(RegionCode::parse("32").unwrap()),
        ..WorkerFilter::default()
    };
    assert_eq!(
        directory.list(&jawa_barat, None, 50).await.unwrap().total,
        2
    );
    let posting = kesos_enrollment::domain::Posting::parse("32.17", Regions::embedded()).unwrap();
    enrollment
        .command(
            cimahi,
            kesos_enrollment::domain::WorkerCommand::MovePosting(posting),
            &context(),
        )
        .await
        .unwrap();
    assert_eq!(directory.list(&in_cimahi, None, 50).await.unwrap().total, 0);
    // Paging: one per page, two pages.
    let first = directory.list(&jawa_barat, None, 1).await.unwrap();
    let second = directory
        .list(&jawa_barat, first.next.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(
        (first.items.len(), second.items.len(), second.next),
        (1, 1, None)
    );
}
