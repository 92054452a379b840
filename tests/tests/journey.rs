//! The whole journey, end to end, with the real `kesos` binary: workers are imported, nominated
//! and verified; scheduling seats them by auto-allocation; LSPS answers; certificates issue; and
//! the regional progress counts come out exactly as expected — also after each service process
//! was killed without warning and started again, and after `kesos replay` rebuilt the model.
//!
//! Distributed: enrollment, scheduling, certification and progress each run as their own
//! process (`KESOS_SERVICES`) on PostgreSQL and NATS JetStream, with the LSPS simulator as a
//! fifth, once on the open loopback server and once on a server with the shipped accounts where
//! each process logs in as its own NATS user and the LSPS follows the integration guide's worked
//! example as written (`proto/kesos/lsps/v1/README.md`). Each distributed process exports its
//! spans to a collector the test runs, and one registration is followed by its trace from the
//! HTTP request to the progress model in another process. At the end of the journey on the open
//! server a certified worker is erased, and every table, stream message and service log is
//! searched for her NIK and name. Embedded: one process on SQLite, results recorded by hand, killed and restarted once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kesos_testkit::secured_nats::SecuredNats;
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url, unique_name};
use serde_json::{Value, json};
use support::journey::{
    embedded, enroll, lock, record_kompeten_results, seat_everyone, token, var,
};
use support::otlp::Collector;
use support::{Client, Process, eventually, family, guide, kesos};

/// The counts the journey must produce, per region and measure.
fn expected() -> Vec<(&'static str, &'static str, i64)> {
    vec![
        ("", "registered", 10),
        ("32", "registered", 8),
        ("32.77", "registered", 5),
        ("32.77", "nominated", 5),
        ("32.77", "verified", 5),
        ("32.77", "seated", 5),
        ("32.77", "assessed", 5),
        ("32.77", "kompeten", 5),
        ("32.77", "certified", 5),
        ("32.77", "valid", 5),
        ("32.77", "rejected", 0),
        ("32.17", "registered", 3),
        ("32.17", "nominated", 1),
        ("32.17", "rejected", 1),
        ("32.17", "verified", 0),
        ("18", "registered", 2),
        ("", "valid", 5),
    ]
}

/// Every expected count, read from the progress API; `None` until all match.
async fn counts_match(progress: &Client, base: &str) -> Option<()> {
    for (region, measure, count) in expected() {
        let (status, body) = progress
            .get(&format!("{base}/v1/progress?region={region}"))
            .await;
        if status != 200 {
            return None;
        }
        let seen = body["figures"]["counts"][measure].as_i64().unwrap_or(0);
        if seen != count {
            return None;
        }
    }
    Some(())
}

async fn figures(progress: &Client, base: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for region in ["", "32", "32.77", "32.17"] {
        let (_, body) = progress
            .get(&format!("{base}/v1/progress?region={region}"))
            .await;
        all.push(body["figures"].clone());
        all.push(body["children"].clone());
        let (_, past) = progress
            .get(&format!(
                "{base}/v1/progress?region={region}&as_of=2020-01-01"
            ))
            .await;
        all.push(past["figures"].clone());
    }
    all
}

/// West Java's table, as a Dinas office takes it away: CSV and XLSX hold the same rows, Kota
/// Cimahi's with its five certified Peksos, and every row says what it answers.
async fn the_table_downloads_as_csv_and_xlsx(api: &Client, base: &str) {
    let mut tables = Vec::new();
    for (format, media_type) in [
        ("csv", "text/csv"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ] {
        let (status, served, bytes) = api
            .download(&format!(
                "{base}/v1/progress/table?region=32&category=peksos&as_of=2030-01-01&format={format}"
            ))
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert!(served.starts_with(media_type), "{served}");
        tables.push(kesos_spreadsheet::read_table(&bytes).unwrap());
    }
    let (csv, xlsx) = (&tables[0], &tables[1]);
    assert_eq!(csv.headers, xlsx.headers);
    let cells = |table: &kesos_spreadsheet::Table| -> Vec<Vec<String>> {
        table
            .rows
            .iter()
            .map(|row| {
                (0..table.headers.len())
                    .map(|i| row.cell(i).to_owned())
                    .collect()
            })
            .collect()
    };
    assert_eq!(cells(csv), cells(xlsx));
    let column = |name: &str| csv.column(name).unwrap();
    let rows = cells(csv);
    assert_eq!(rows[0][column("region_code")], "32");
    assert_eq!(rows[0][column("row")], "region");
    let cimahi = rows
        .iter()
        .find(|row| row[column("region_code")] == "32.77")
        .unwrap();
    assert_eq!(cimahi[column("region_name")], "Kota Cimahi");
    assert_eq!(cimahi[column("certified")], "5");
    assert_eq!(cimahi[column("as_of")], "2030-01-01");
    assert_eq!(cimahi[column("category")], "peksos");
    let (status, problem) = api
        .get(&format!("{base}/v1/progress/table?region=32&format=pdf"))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], json!("format"), "{problem}");
}

/// The variables that log a process in to NATS, by the process's role.
type Login = Box<dyn Fn(&str) -> Vec<(String, String)> + Send + Sync>;

/// How the journey plays the LSPS.
enum Lsps {
    /// `kesos lsps-sim` with the test's flags, every result sent twice: eleven reports.
    Simulator,
    /// The integration guide's worked example, its commands run as written from the desk where
    /// its step 1 made the LSPS's key: six reports, and the line the guide shows.
    Guide(guide::Desk),
}

/// The NATS server a distributed journey runs on, and how each of its processes logs in.
struct Nats {
    url: String,
    /// Subject prefix and the events, dead-letter and LSPS streams: unique names on the shared
    /// server (removed afterwards), or `None` for the defaults that `accounts.conf` names.
    names: Option<[String; 4]>,
    /// The variables that log a process (`cli`, `enrollment`, …, `lsps-sim`) in.
    login: Login,
    /// The LSPS the simulator plays.
    lsps: &'static str,
    /// How it is played.
    answering: Lsps,
}

/// Every family of `deploy/observability/README.md` is served by the journey's processes: each
/// counter and histogram above zero (dead letters only where the LSPS sent wrong reports), each
/// gauge present. Counters start again with a process, so the families are summed over all four.
async fn metrics_cover_the_journey(processes: &[&Process], dead_letters: bool) {
    let mut scrapes = Vec::new();
    for process in processes {
        scrapes.push(process.metrics().await);
    }
    let total = |name: &str| {
        scrapes
            .iter()
            .filter_map(|scrape| family(scrape, name))
            .reduce(|sum, value| sum + value)
    };
    let mut counted = vec![
        "kesos_build_info",
        "kesos_ready",
        "kesos_http_requests_total",
        "kesos_http_request_duration_seconds_count",
        "kesos_store_appends_total",
        "kesos_store_append_events_count",
        "kesos_store_append_duration_seconds_count",
        "kesos_relay_published_total",
        "kesos_import_rows_total",
    ];
    if dead_letters {
        counted.push("kesos_dead_letters_total");
    }
    for name in counted {
        assert!(
            total(name).is_some_and(|value| value > 0.0),
            "{name} is missing or zero: {scrapes:#?}"
        );
    }
    for name in [
        "kesos_relay_lag_events",
        "kesos_consumer_pending_messages",
        "kesos_consumer_redeliveries_total",
    ] {
        assert!(total(name).is_some(), "{name} is missing: {scrapes:#?}");
    }
}

/// Imports, nominates, seats, answers as LSPS and certifies, with enrollment, scheduling,
/// certification and progress each in its own process, each killed once and restarted; then
/// checks the counts, a worker's history, a replay and the audit chain.
/// One registration sent with a W3C `traceparent` is followed through the collector: the
/// enrollment process's request span is the caller's child, and the progress process's span
/// of projecting that registration (reached over NATS) is in the same trace; the enrollment
/// process's JSON log line for the request carries the trace id.
async fn a_registration_is_traced_from_the_request_to_the_progress_model(
    api: &Client,
    enrollment: &Process,
    collector: &Collector,
) {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let caller_span = "00f067aa0ba902b7";
    let worker = json!({
        "nik": "3217015705900003", "full_name": "Rina Traced", "sex": "P",
        "birth_date": "1990-05-17", "category": "peksos", "role": "kelurahan_peksos",
        "employment_status": "thl", "posting": "32.17", "education_level": "s1",
        "education_in_social_work": true, "practice_months": 24, "training_hours": 60
    });
    let (status, answer) = api
        .post_traced(
            &format!("{}/v1/workers", enrollment.base),
            &worker,
            "traced-registration",
            &format!("00-{trace_id}-{caller_span}-01"),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (request, projected) = eventually(30, "the registration's trace in progress", || async {
        let spans = collector.trace(&trace_id);
        let request = spans
            .iter()
            .find(|span| span.name == "POST /v1/workers")?
            .clone();
        let projected = spans
            .iter()
            .find(|span| span.name == "progress WorkerRegistered")?
            .clone();
        Some((request, projected))
    })
    .await;
    assert_eq!(request.parent_span_id, caller_span, "{request:?}");
    assert_eq!(request.services, "enrollment", "{request:?}");
    assert_eq!(projected.services, "progress", "{projected:?}");
    let log = enrollment.log();
    assert!(
        log.lines()
            .any(|line| line.starts_with('{') && line.contains(&trace_id)),
        "no JSON log line of the enrollment process carries {trace_id}"
    );
}

/// Siti Aminah's NIK, as the sample file registers her.
const SITI_NIK: &str = "3277015705900002";

/// Erases Siti Aminah (certified, on the LSPS roster) and then searches everything the
/// deployment keeps — every table of its schema, every message of its three streams, every
/// service's log — for her NIK and name: nothing may be left. The search is first shown to
/// find her, in the roster LSPS received.
async fn an_erasure_leaves_the_worker_nowhere(
    api: &Client,
    processes: [&Process; 4],
    siti: &str,
    url: &str,
    streams: [&str; 3],
    schema: &str,
) {
    let [enrollment, _, certification, _] = processes;
    let needles = [SITI_NIK, "Siti Aminah"];
    let before = support::erasure::in_streams(url, &streams, &needles).await;
    assert!(
        before.iter().any(|hit| hit.contains(SITI_NIK)),
        "the search does not find her in the roster LSPS received: {before:?}"
    );
    let (status, erased) = api
        .post(
            &format!("{}/v1/workers/{siti}/erasure", enrollment.base),
            &json!({"reason": "request of the data subject", "legal_basis": "UU 27/2022 Pasal 8"}),
            "journey-erasure",
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    eventually(
        60,
        "the erasure in certification and the LSPS stream",
        || async {
            let (_, page) = api
                .get(&format!(
                    "{}/v1/certificates?worker_id={siti}",
                    certification.base
                ))
                .await;
            let shown = page["items"][0]["holder_name"] == json!("(data erased)");
            let rosters = support::erasure::in_streams(url, &streams[2..], &needles).await;
            (shown && rosters.is_empty()).then_some(())
        },
    )
    .await;
    let mut found = support::erasure::in_schema(schema, &needles).await;
    found.extend(support::erasure::in_streams(url, &streams, &needles).await);
    for process in processes {
        for needle in support::erasure::in_bytes(process.log().as_bytes(), &needles) {
            found.push(format!("log of {}: {needle}", process.name));
        }
    }
    assert!(found.is_empty(), "left after the erasure: {found:#?}");
}

async fn distributed_journey(nats: Nats) {
    let schema = PgSchema::create().await;
    let place = SqliteFile::create();
    let dir = place.path.parent().unwrap().to_path_buf();
    let mut env = vec![
        var("KESOS_DATABASE_URL", database_url()),
        var("KESOS_DATABASE_SCHEMA", schema.name.clone()),
        var("KESOS_NATS_URL", nats.url.clone()),
        var("KESOS_DATA_DIR", dir.display().to_string()),
        var(
            "KESOS_SIGNING_KEY_FILE",
            dir.join("signing.key").display().to_string(),
        ),
        var(
            "KESOS_MASTER_KEY_FILE",
            dir.join("master.key").display().to_string(),
        ),
        var(
            "KESOS_TOKEN_KEY_FILE",
            dir.join("token.key").display().to_string(),
        ),
        var("KESOS_CHECKPOINT_INTERVAL_SECS", "2"),
    ];
    if let Some([prefix, events, dead_letters, lsps]) = &nats.names {
        env.push(var("KESOS_NATS_SUBJECT_PREFIX", prefix.clone()));
        env.push(var("KESOS_NATS_STREAM", events.clone()));
        env.push(var("KESOS_NATS_DEAD_LETTER_STREAM", dead_letters.clone()));
        env.push(var("KESOS_NATS_LSPS_STREAM", lsps.clone()));
    }
    // Every process exports its spans here and writes JSON log lines (with each request's
    // access line), so the journey can follow one trace across them.
    let collector = Collector::start().await;
    env.push(var("KESOS_OTLP_ENDPOINT", collector.endpoint.clone()));
    env.push(var("KESOS_LOG_FORMAT", "json"));
    env.push(var("KESOS_LOG_FILTER", "info,kesos_http::trace=debug"));
    let cli_env = [env.clone(), (nats.login)("cli")].concat();
    kesos(
        &cli_env,
        &[
            "key",
            "generate",
            "--out",
            dir.join("signing.key").to_str().unwrap(),
        ],
        &dir,
    );
    kesos(
        &cli_env,
        &[
            "key",
            "generate",
            "--master",
            "--out",
            dir.join("master.key").to_str().unwrap(),
        ],
        &dir,
    );
    kesos(
        &cli_env,
        &[
            "key",
            "generate",
            "--out",
            dir.join("token.key").to_str().unwrap(),
        ],
        &dir,
    );
    kesos(&cli_env, &["migrate"], &dir);
    let api = Client::new(&token(&cli_env, &dir));
    let service = |name: &str| {
        let mut own = [env.clone(), (nats.login)(name)].concat();
        own.push(var("KESOS_SERVICES", name));
        own
    };
    let mut enrollment = Process::start("enrollment", &service("enrollment"), &dir).await;
    let mut scheduling = Process::start("scheduling", &service("scheduling"), &dir).await;
    let mut certification = Process::start("certification", &service("certification"), &dir).await;
    let mut progress = Process::start("progress", &service("progress"), &dir).await;

    let workers = enroll(&cli_env, &dir, &api, &enrollment.base).await;
    enrollment.crash_and_restart().await;
    let session_id = seat_everyone(&api, &scheduling.base, nats.lsps).await;
    scheduling.crash_and_restart().await;
    lock(&api, &scheduling.base, &session_id).await;
    progress.crash_and_restart().await;
    let reports = match &nats.answering {
        Lsps::Simulator => {
            let answered = kesos(
                // As an LSPS runs it: NATS settings only, no kesos database.
                &env.iter()
                    .filter(|(name, _)| name.starts_with("KESOS_NATS_"))
                    .cloned()
                    .chain((nats.login)("lsps-sim"))
                    .collect::<Vec<_>>(),
                &[
                    "lsps-sim",
                    "--lsps",
                    nats.lsps,
                    "--pass-rate",
                    "1",
                    "--no-show-rate",
                    "0",
                    "--duplicates",
                    "--wrong",
                    "1",
                    "--rosters",
                    "1",
                ],
                &dir,
            );
            assert!(
                answered.contains("kompeten 5 "),
                "the simulator judged all five: {answered}"
            );
            // Thirteen reports (attendance, five results, each result twice, and two wrong
            // ones: a session that does not exist, a candidate not on the roster), each answered.
            assert!(
                answered.contains("accepted 6 · already recorded 5 · rejected 2 · unanswered 0"),
                "kesos answered every report: {answered}"
            );
            13
        }
        Lsps::Guide(desk) => {
            // Step 3, as written; steps 4 and 5 say what it prints.
            let answered = desk.run(&guide::block(3), &nats.url);
            assert!(
                answered.contains(&guide::printed_line()),
                "the simulator printed what the guide shows ({}): {answered}",
                guide::printed_line()
            );
            // Step 5: a token for the LSPS reads each seat present and kompeten.
            let lsps_token = kesos(
                &cli_env,
                &["token", "issue", "--role", "lsps", "--lsps", nats.lsps],
                &dir,
            );
            let (status, session) = Client::new(lsps_token.lines().next().unwrap().trim())
                .get(&format!("{}/v1/sessions/{session_id}", scheduling.base))
                .await;
            assert_eq!(status, 200, "{session}");
            for seat in session["seats"].as_array().unwrap() {
                assert_eq!(seat["attendance"], json!("present"), "{session}");
                assert_eq!(seat["decision"], json!("kompeten"), "{session}");
            }
            6
        }
    };
    // The same answers read over HTTP, in report order.
    let (status, answers) = api
        .get(&format!(
            "{}/v1/lsps/{}/outcomes?limit=500",
            scheduling.base, nats.lsps
        ))
        .await;
    assert_eq!(status, 200, "{answers}");
    assert_eq!(answers["total"], json!(reports), "{answers}");
    let statuses: Vec<&str> = answers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "accepted").count(),
        6,
        "{answers}"
    );
    certification.crash_and_restart().await;
    eventually(90, "five certificates", || async {
        let (_, page) = api
            .get(&format!("{}/v1/certificates", certification.base))
            .await;
        (page["total"] == json!(5)).then_some(())
    })
    .await;
    eventually(90, "the expected regional counts", || {
        counts_match(&api, &progress.base)
    })
    .await;

    let (status, cimahi) = api
        .get(&format!(
            "{}/v1/progress?region=32.77&category=peksos",
            progress.base
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(cimahi["region"]["name"], json!("Kota Cimahi"));
    assert_eq!(cimahi["figures"]["target"]["count"], json!(10), "{cimahi}");
    assert_eq!(cimahi["figures"]["target_progress"], json!(0.5), "{cimahi}");
    assert_eq!(
        cimahi["figures"]["certification_rate"],
        json!(1.0),
        "{cimahi}"
    );

    let siti = &workers
        .iter()
        .find(|(name, _)| name == "Siti Aminah")
        .unwrap()
        .1;
    let (status, history) = api
        .get(&format!(
            "{}/v1/audit/workers/{siti}/history",
            progress.base
        ))
        .await;
    assert_eq!(status, 200, "{history}");
    let kinds: Vec<&str> = history["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["event_type"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
        })
        .collect();
    for kind in [
        "WorkerRegistered",
        "NominationVerified",
        "CandidateSeated",
        "AssessmentDecided",
        "CertificateIssued",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    let before = figures(&api, &progress.base).await;
    let replayed = kesos(&cli_env, &["replay"], &dir);
    assert!(replayed.contains("replayed"), "{replayed}");
    assert_eq!(
        figures(&api, &progress.base).await,
        before,
        "replay gives the same model"
    );
    let verified = kesos(&cli_env, &["audit", "verify"], &dir);
    assert!(verified.starts_with("intact"), "{verified}");

    // The same file over HTTP registers nobody twice, and counts its rows.
    let (status, report) = api
        .upload(
            &format!("{}/v1/imports/workers", enrollment.base),
            std::fs::read(support::journey::sample()).unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["unchanged"], json!(10), "{report}");
    metrics_cover_the_journey(
        &[&enrollment, &scheduling, &certification, &progress],
        matches!(nats.answering, Lsps::Simulator),
    )
    .await;
    a_registration_is_traced_from_the_request_to_the_progress_model(&api, &enrollment, &collector)
        .await;
    // On the open server, whose streams the test may read (the secured one's users may not).
    if let Some([_, events, dead_letters, lsps]) = &nats.names {
        an_erasure_leaves_the_worker_nowhere(
            &api,
            [&enrollment, &scheduling, &certification, &progress],
            siti,
            &nats.url,
            [events, dead_letters, lsps],
            &schema.name,
        )
        .await;
    }

    for process in [
        &mut enrollment,
        &mut scheduling,
        &mut certification,
        &mut progress,
    ] {
        let log = process.log();
        assert!(
            !log.contains("Permissions Violation"),
            "{} was refused something: {log}",
            process.name
        );
        process.stop();
    }
    if let Some([_, events, dead_letters, lsps]) = &nats.names {
        let context = async_nats::jetstream::new(async_nats::connect(&nats.url).await.unwrap());
        for stream in [events, dead_letters, lsps] {
            let _ = context.delete_stream(stream).await;
        }
    }
    env.clear();
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_distributed_journey_counts_exactly_also_after_each_service_crashed_once() {
    distributed_journey(Nats {
        url: nats_url(),
        names: Some([
            unique_name("j"),
            unique_name("J"),
            unique_name("JD"),
            unique_name("JL"),
        ]),
        login: Box::new(|_| Vec::new()),
        lsps: "LSPS-SIM",
        answering: Lsps::Simulator,
    })
    .await;
}

/// The secured setup as shipped: a nats-server of the test's own with
/// `deploy/nats/accounts.conf`, every process logged in with its own NKey: each service as
/// itself (each relays only its own events, and scheduling asks enrollment for the roster's
/// names over NATS), the CLI as `kesos`, the all-in-one user. The LSPS follows the integration guide's worked example as written: its
/// step 1 makes the key pair, the operators start the server with the public key it printed,
/// and its step 3 runs the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_runs_on_the_shipped_secured_nats_with_each_process_as_its_own_user_and_the_lsps_as_the_guide_says()
 {
    let desk = guide::Desk::new();
    let printed = desk.run(&guide::block(1), "");
    let public_key = printed
        .lines()
        .find(|line| line.starts_with('U'))
        .unwrap_or_default()
        .trim();
    assert!(
        public_key.starts_with('U') && guide::holds_a_user_seed(&desk.file("lsps-peksos.nk")),
        "step 1 prints a public user key and keeps the seed: {printed}"
    );
    let server = std::sync::Arc::new(SecuredNats::start_with_public_keys(&[(
        "LSPS-PEKSOS",
        public_key,
    )]));
    let seeds = server.clone();
    distributed_journey(Nats {
        url: server.url(),
        names: None,
        login: Box::new(move |process| {
            // Each service as its own user (each relays only its own events); the CLI, which
            // migrates and declares every stream, as the all-in-one user.
            let user = match process {
                "cli" => "kesos",
                service => service,
            };
            vec![var(
                "KESOS_NATS_NKEY_SEED_FILE",
                seeds.seed_file(user).display().to_string(),
            )]
        }),
        lsps: "LSPS-PEKSOS",
        answering: Lsps::Guide(desk),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_journey_counts_exactly_also_after_a_crash() {
    let (_place, dir, env) = embedded();
    let mut kesos_process = Process::start("kesos", &env, &dir).await;
    let api = Client::new(&token(&env, &dir));
    let base = kesos_process.base.clone();
    enroll(&env, &dir, &api, &base).await;
    let session_id = seat_everyone(&api, &base, "LSPS-PEKSOS").await;
    kesos_process.crash_and_restart().await;
    let base = kesos_process.base.clone();
    lock(&api, &base, &session_id).await;
    record_kompeten_results(&api, &base, &session_id).await;
    eventually(60, "the expected regional counts", || {
        counts_match(&api, &base)
    })
    .await;
    the_table_downloads_as_csv_and_xlsx(&api, &base).await;
    let before = figures(&api, &base).await;
    kesos_process.stop();
    let replayed = kesos(&env, &["replay"], &dir);
    assert!(replayed.contains("replayed"), "{replayed}");
    let mut restarted = Process::start("kesos-again", &env, &dir).await;
    assert_eq!(
        figures(&api, &restarted.base).await,
        before,
        "replay gives the same model"
    );
    restarted.stop();
}
