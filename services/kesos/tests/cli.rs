//! The `kesos` binary as a user runs it: exit codes, one-line errors, graceful stop on SIGTERM,
//! and `audit verify` catching a log altered behind its back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kesos_eventstore::{EventStore, EventType, ExpectedVersion, Metadata, NewEvent, StreamId};
use kesos_testkit::SqliteFile;
use sqlx::Executor;
use time::OffsetDateTime;

/// Runs kesos in `dir` with only the given KESOS_* variables (the test's own are removed).
fn kesos(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kesos"));
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KESOS_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    kesos(dir, args, env).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_misspelt_variable_is_one_line_on_stderr_and_a_failing_exit() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let output = run(dir, &["migrate"], &[("KESOS_DATABSE_URL", "postgres://x")]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("kesos: unknown environment variable KESOS_DATABSE_URL"),
        "{stderr}"
    );
}

#[test]
fn half_a_distributed_configuration_is_refused_with_what_is_missing() {
    let file = SqliteFile::create();
    let output = run(
        file.path.parent().unwrap(),
        &["migrate"],
        &[("KESOS_NATS_URL", "nats://127.0.0.1:4222")],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("KESOS_DATABASE_URL"), "{stderr}");
}

#[test]
fn serve_prints_where_it_listens_and_stops_cleanly_on_sigterm() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let mut child = kesos(dir, &[], &[("KESOS_HTTP_LISTEN", "127.0.0.1:0")])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let address = loop {
        assert!(Instant::now() < deadline, "no banner");
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            assert!(line.contains("embedded mode"), "{line}");
            assert!(line.contains("/healthz"), "{line}");
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "kesos did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(dir.join(".kesos/signing.key").exists());
}

#[tokio::test]
async fn audit_verify_passes_an_intact_log_and_names_the_event_someone_altered() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap().to_path_buf();
    let db = dir.join(".kesos/kesos.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let store = kesos_eventstore::SqliteStore::open(&db).await.unwrap();
    let stream = StreamId::parse("worker-9").unwrap();
    let events = (0..3)
        .map(|i| {
            NewEvent::new(
                uuid::Uuid::now_v7(),
                EventType::parse("kesos.enrollment.v1.WorkerRegistered").unwrap(),
                1,
                vec![i],
                Metadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        })
        .collect();
    store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .unwrap();

    let signed = run(&dir, &["audit", "checkpoint"], &[]);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    assert!(text(&signed.stdout).contains("signed checkpoint 1 up to position 3"));
    let intact = run(&dir, &["audit", "verify"], &[]);
    assert!(intact.status.success(), "{}", text(&intact.stderr));
    assert!(
        text(&intact.stdout).starts_with("intact: 3 events in 1 streams, 1 signed checkpoints")
    );

    store
        .pool()
        .execute("UPDATE kesos_events SET payload = x'2a' WHERE position = 2")
        .await
        .unwrap();
    let altered = run(&dir, &["audit", "verify"], &[]);
    assert!(!altered.status.success());
    let stderr = text(&altered.stderr);
    assert!(stderr.contains("the log was altered"), "{stderr}");
    assert!(
        stderr.contains("stream worker-9 version 2, position 2"),
        "{stderr}"
    );
}

#[test]
fn a_generated_key_prints_the_same_public_key_as_key_public() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let generated = run(dir, &["key", "generate", "--out", "k/signing.key"], &[]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let public = run(dir, &["key", "public", "--key", "k/signing.key"], &[]);
    assert_eq!(text(&generated.stdout), text(&public.stdout));
    assert_eq!(text(&public.stdout).trim().len(), 64);
    let again = run(dir, &["key", "generate", "--out", "k/signing.key"], &[]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"));
}

#[test]
fn a_generated_nats_user_key_is_a_private_user_seed_whose_public_key_is_printed() {
    use std::os::unix::fs::PermissionsExt;
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let generated = run(
        dir,
        &["key", "generate", "--nats-user", "--out", "lsps.nk"],
        &[],
    );
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let seed = std::fs::read_to_string(dir.join("lsps.nk")).unwrap();
    let pair = nkeys::KeyPair::from_seed(seed.trim()).unwrap();
    assert!(seed.starts_with("SU"), "a user seed");
    assert_eq!(text(&generated.stdout).trim(), pair.public_key());
    let mode = std::fs::metadata(dir.join("lsps.nk"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let both = run(
        dir,
        &[
            "key",
            "generate",
            "--nats-user",
            "--master",
            "--out",
            "x.key",
        ],
        &[],
    );
    assert!(!both.status.success());
}

#[test]
fn importing_the_sample_file_registers_everyone_and_importing_it_again_nobody() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enrollment/samples/workers.csv");
    let sample = sample.to_str().unwrap();
    let env = [("KESOS_DATA_DIR", dir.to_str().unwrap())];
    let first = run(dir, &["import", "workers", sample], &env);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("10 rows, 10 registered, 0 unchanged"),
        "{}",
        text(&first.stdout)
    );
    let again = run(dir, &["import", "workers", sample], &env);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("0 registered, 10 unchanged"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn a_progress_report_is_written_as_csv_or_xlsx_and_a_bad_parameter_is_one_line() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enrollment/samples/workers.csv");
    let env = [("KESOS_DATA_DIR", dir.to_str().unwrap())];
    let imported = run(dir, &["import", "workers", sample.to_str().unwrap()], &env);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let replayed = run(dir, &["replay"], &env);
    assert!(replayed.status.success(), "{}", text(&replayed.stderr));
    let mut tables = Vec::new();
    for format in ["csv", "xlsx"] {
        let written = run(
            dir,
            &["report", "progress", "--region", "32", "--format", format],
            &env,
        );
        assert!(written.status.success(), "{}", text(&written.stderr));
        let name = format!("progress-32-now.{format}");
        assert!(text(&written.stdout).starts_with(&format!("wrote {name}")));
        tables
            .push(kesos_spreadsheet::read_table(&std::fs::read(dir.join(name)).unwrap()).unwrap());
    }
    let (csv, xlsx) = (&tables[0], &tables[1]);
    assert_eq!(csv.headers, xlsx.headers);
    let code = csv.column("region_code").unwrap();
    let registered = csv.column("registered").unwrap();
    let cimahi = csv
        .rows
        .iter()
        .find(|row| row.cell(code) == "32.77")
        .unwrap();
    assert_eq!(cimahi.cell(registered), "5");
    assert_eq!(csv.rows[0].cell(registered), "8", "West Java's own row");
    for (args, expected) in [
        (
            vec!["--format", "pdf"],
            "format: must be csv or xlsx (format.enum)",
        ),
        (
            vec!["--format", "csv", "--as-of", "7 June"],
            "as_of: must be a business date YYYY-MM-DD (as_of.date)",
        ),
    ] {
        let refused = run(dir, &[&["report", "progress"][..], &args].concat(), &env);
        assert!(!refused.status.success());
        let stderr = text(&refused.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn an_import_with_bad_rows_lists_them_and_exits_non_zero() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let csv = dir.join("workers.csv");
    std::fs::write(
        &csv,
        "NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Kategori;Peran;Status Kepegawaian;Kode Wilayah;Pendidikan\n\
         3277011705900001;Budi;L;17-05-1990;peksos;psm;thl;32.77;sma\n\
         3277011705900;Ani;P;17-05-1990;peksos;psm;thl;32.77;sma\n",
    )
    .unwrap();
    let env = [("KESOS_DATA_DIR", dir.to_str().unwrap())];
    let output = run(dir, &["import", "workers", csv.to_str().unwrap()], &env);
    assert!(!output.status.success());
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("row 3, column NIK: a NIK has 16 digits; this one has 13 [nik.length]"),
        "{stdout}"
    );
    assert!(stdout.contains("1 registered"), "{stdout}");
    assert_eq!(
        text(&output.stderr)
            .lines()
            .filter(|l| l.starts_with("kesos:"))
            .count(),
        1
    );
}

#[test]
fn an_empty_file_is_refused_in_one_line() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let env = [("KESOS_DATA_DIR", dir.to_str().unwrap())];
    let output = run(dir, &["import", "workers", empty.to_str().unwrap()], &env);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("the file is empty"), "{stderr}");
}

#[test]
fn after_rotate_master_the_new_master_key_alone_opens_every_workers_key() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enrollment/samples/workers.csv");
    let sample = sample.to_str().unwrap();
    let old = dir.join("master.key");
    let new = dir.join("new-master.key");
    let data = [("KESOS_DATA_DIR", dir.to_str().unwrap())];
    let first = run(dir, &["import", "workers", sample], &data);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let generated = run(
        dir,
        &[
            "key",
            "generate",
            "--master",
            "--out",
            new.to_str().unwrap(),
        ],
        &data,
    );
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let only_new = [
        ("KESOS_DATA_DIR", dir.to_str().unwrap()),
        ("KESOS_MASTER_KEY_FILE", new.to_str().unwrap()),
    ];
    let refused = run(dir, &["import", "workers", sample], &only_new);
    assert!(
        !refused.status.success(),
        "the new key alone opens nothing yet"
    );

    let rotating = [
        ("KESOS_DATA_DIR", dir.to_str().unwrap()),
        ("KESOS_MASTER_KEY_FILE", new.to_str().unwrap()),
        ("KESOS_PREVIOUS_MASTER_KEY_FILE", old.to_str().unwrap()),
    ];
    let rotated = run(dir, &["key", "rotate-master"], &rotating);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(
        text(&rotated.stdout).starts_with("re-wrapped 11 keys"),
        "ten workers and the blind-index key: {}",
        text(&rotated.stdout)
    );
    let again = run(dir, &["key", "rotate-master"], &rotating);
    assert!(
        text(&again.stdout).starts_with("re-wrapped 0 keys"),
        "{}",
        text(&again.stdout)
    );

    let after = run(dir, &["import", "workers", sample], &only_new);
    assert!(after.status.success(), "{}", text(&after.stderr));
    assert!(
        text(&after.stdout).contains("0 registered, 10 unchanged"),
        "{}",
        text(&after.stdout)
    );
    let without_previous = run(dir, &["key", "rotate-master"], &only_new);
    assert!(!without_previous.status.success());
    assert!(text(&without_previous.stderr).contains("KESOS_PREVIOUS_MASTER_KEY_FILE"));
}
