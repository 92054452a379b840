//! The operations dashboard in a real headless browser (Debian's chromium through
//! chromedriver), against the real `kesos` binary serving seeded data: imported history from
//! 2016–2018 (registration dates in the past) plus today's journey in Kota Cimahi (five Peksos
//! certified). The national table shows the expected figures and sorts, drill-down reaches a
//! kabupaten/kota and the sessions, candidates, workers and certificates behind it, every table
//! downloads (the children's and the months' from the API, the lists whole, written in the
//! page) and opens with the question on every row, the map covers the 38 provinces and says
//! which share an outline, dates read the Indonesian way (3 Desember 2017, times in WIB) and
//! the as-of field takes 03/12/2017 whatever the browser's language, refusing a day that does
//! not exist, the language switch changes words, numbers and dates, a Dinas office sees only
//! its region and no names it may not read, the public verification page answers, and every
//! page passes basic accessibility checks (labels, names, contrast, keyboard). A screenshot of
//! each page is kept in `target/test-artefacts/dashboard/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::browser::Browser;
use support::journey::{embedded, enroll, lock, record_kompeten_results, seat_everyone, token};
use support::{Client, Process, eventually, kesos};

/// Historic registrations: (posting, how many, registration day, NIK region digits).
const HISTORY: [(&str, usize, &str, &str); 3] = [
    ("32.77", 36, "2017-03-01", "327701"),
    ("51.71", 12, "2016-06-01", "517101"),
    ("32.77", 4, "2018-06-01", "327702"),
];

/// A CSV of workers registered in the past (`Tanggal Registrasi`), with valid NIKs: region
/// digits, birth date DDMMYY (men), serial.
fn history_csv(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from(
        "NIK,Nama Lengkap,Jenis Kelamin,Tanggal Lahir,Kategori,Peran,Status Kepegawaian,\
         Kode Wilayah,Pendidikan,Tanggal Registrasi\n",
    );
    let mut serial = 0;
    for (posting, count, day, nik_region) in HISTORY {
        for _ in 0..count {
            serial += 1;
            let (birth_day, birth_month) = (1 + serial % 28, 1 + serial / 28);
            csv.push_str(&format!(
                "{nik_region}{birth_day:02}{birth_month:02}85{serial:04},Pekerja Lama {serial},L,\
                 1985-{birth_month:02}-{birth_day:02},peksos,pendamping_pkh,thl,{posting},s1,{day}\n"
            ));
        }
    }
    let path = dir.join("history.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// Basic accessibility of the page as it stands: a language, labelled form fields, named
/// buttons and links, titled charts, and text contrast of at least 4.5:1 (3:1 when large).
/// Returns the problems found.
const ACCESSIBILITY: &str = r#"
const problems = [];
if (!document.documentElement.lang) problems.push('html has no lang');
for (const field of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const labelled = (field.id && document.querySelector(`label[for="${field.id}"]`))
    || field.getAttribute('aria-label') || field.getAttribute('aria-labelledby') || field.closest('label');
  if (!labelled) problems.push(`unlabelled field ${field.outerHTML.slice(0, 80)}`);
}
for (const control of document.querySelectorAll('button, a[href]')) {
  const name = (control.textContent || '').trim() || control.getAttribute('aria-label') || control.getAttribute('title');
  if (!name) problems.push(`nameless control ${control.outerHTML.slice(0, 80)}`);
}
for (const svg of document.querySelectorAll('svg')) {
  const titled = svg.querySelector('title') || svg.getAttribute('aria-label') || svg.getAttribute('aria-labelledby');
  if (!titled || !svg.getAttribute('role')) problems.push(`svg without role or title`);
}
const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
const luminance = ([r, g, b]) => {
  const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const background = (element) => {
  for (let e = element; e; e = e.parentElement) {
    const colour = rgb(getComputedStyle(e).backgroundColor);
    if (colour.length === 3 || (colour.length === 4 && colour[3] > 0.9)) return colour.slice(0, 3);
  }
  return [255, 255, 255];
};
for (const element of document.querySelectorAll('body *')) {
  if (element.closest('svg') || element.offsetParent === null) continue;
  const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const style = getComputedStyle(element);
  const fore = luminance(rgb(style.color).slice(0, 3));
  const back = luminance(background(element));
  const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} of "${element.textContent.trim().slice(0, 30)}"`);
}
return problems;
"#;

async fn accessible(browser: &Browser, page: &str) {
    let problems = browser.script(ACCESSIBILITY, json!([])).await;
    assert_eq!(problems, json!([]), "accessibility of {page}");
}

/// The text of a cell of the row of region `code` in the drill-down table.
async fn cell(browser: &Browser, code: &str, class: &str) -> String {
    browser
        .text(&format!("#children tr[data-code=\"{code}\"] .{class}"))
        .await
}

async fn summary(browser: &Browser, measure: &str) -> String {
    browser
        .text(&format!("#summary [data-measure=\"{measure}\"] .value"))
        .await
}

/// Waits until the page shows `title` and has finished loading it.
async fn page_of(browser: &Browser, title: &str) {
    browser
        .until(
            title,
            &format!(
                "const loaded = ['Data dimuat.', 'Data loaded.']\
                   .includes(document.getElementById('status').textContent); \
                 return loaded && document.getElementById('region-title')?.textContent === {}",
                json!(title)
            ),
        )
        .await;
}

async fn click(browser: &Browser, css: &str) {
    let element = browser.find(css).await;
    browser.click(&element).await;
}

/// Kemendagri's 38 provinces (Permendagri 2022 onwards).
const PROVINCES: [&str; 38] = [
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36",
    "51", "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82",
    "91", "92", "93", "94", "95", "96",
];

/// The map covers each of the 38 provinces exactly once, and the note under it names every
/// province that shares an outline with another.
async fn the_map_covers_every_province_and_names_the_merged_ones(
    browser: &Browser,
    api: &Client,
    base: &str,
) {
    let (status, map) = api.get(&format!("{base}/assets/map.json")).await;
    assert_eq!(status, 200);
    let outlines: Vec<Vec<String>> = map["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outline| {
            outline["codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|code| code.as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    let mut covered: Vec<&str> = outlines.iter().flatten().map(String::as_str).collect();
    covered.sort_unstable();
    assert_eq!(covered, PROVINCES, "each province on the map once");
    let note = browser.text("#map-note").await;
    for shared in outlines.iter().filter(|codes| codes.len() > 1) {
        for code in shared {
            let (_, region) = api.get(&format!("{base}/v1/regions/{code}")).await;
            let name = region["region"]["name"].as_str().unwrap();
            assert!(note.contains(name), "the note names {name}: {note}");
        }
    }
}

/// The cells of column `name`, row by row.
fn column(table: &kesos_spreadsheet::Table, name: &str) -> Vec<String> {
    let index = table
        .column(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", table.headers));
    table
        .rows
        .iter()
        .map(|row| row.cell(index).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_drills_down_goes_back_in_time_and_speaks_two_languages() {
    let (_place, dir, env) = embedded();
    let mut server = Process::start("kesos", &env, &dir).await;
    let central = token(&env, &dir);
    let api = Client::new(&central);
    let base = server.base.clone();
    enroll(&env, &dir, &api, &base).await;
    let session_id = seat_everyone(&api, &base, "LSPS-PEKSOS").await;
    lock(&api, &base, &session_id).await;
    record_kompeten_results(&api, &base, &session_id).await;
    // History from an earlier register, imported after today's journey (an import's catch-up
    // must not race the allocation above).
    let imported = kesos(
        &env,
        &["import", "workers", history_csv(&dir).to_str().unwrap()],
        &dir,
    );
    assert!(imported.contains("52"), "{imported}");
    eventually(60, "62 workers and five certificates counted", || async {
        let (_, nation) = api.get(&format!("{base}/v1/progress")).await;
        let counts = &nation["figures"]["counts"];
        (counts["registered"] == json!(62) && counts["valid"] == json!(5)).then_some(())
    })
    .await;
    let (_, certificates) = api
        .get(&format!("{base}/v1/certificates?region=32.77"))
        .await;
    let number = certificates["items"][0]["number"]
        .as_str()
        .unwrap()
        .to_owned();

    let browser = Browser::start().await;
    browser.open(&format!("{base}/#token={central}")).await;

    // The nation: 36 + 4 + 12 imported, 10 from today's sample; five certified, all in Cimahi.
    page_of(&browser, "Indonesia").await;
    assert_eq!(summary(&browser, "registered").await, "62");
    assert_eq!(summary(&browser, "valid").await, "5");
    assert_eq!(summary(&browser, "rate").await, "8,1%");
    assert_eq!(cell(&browser, "32", "registered").await, "48");
    assert_eq!(cell(&browser, "32", "certified").await, "5");
    assert_eq!(cell(&browser, "51", "registered").await, "12");
    assert_eq!(cell(&browser, "18", "registered").await, "2");
    let order =
        "return [...document.querySelectorAll('#children tbody tr')].map(r => r.dataset.code)";
    assert_eq!(
        browser.script(order, json!([])).await,
        json!(["32", "51", "18"])
    );
    let shaded = browser
        .script(
            "return document.querySelector('.map path[data-codes=\"32\"]').getAttribute('fill')",
            json!([]),
        )
        .await;
    assert_eq!(
        shaded,
        json!("#c6dbef"),
        "Jawa Barat (10.4%) is shaded on the map"
    );
    accessible(&browser, "the national page").await;
    browser.screenshot("1-nasional").await;
    let styles = "return [number(16920), percent(0.3611), longDate('2017-12-03'), \
                  dateTime('2017-12-03T02:00:00Z'), longDate('2017-12-02T18:30:00Z'), shortMonth('2017-12')]";
    assert_eq!(
        browser.script(styles, json!([])).await,
        json!([
            "16.920",
            "36,1%",
            "3 Desember 2017",
            "3 Desember 2017, 09.00 WIB",
            "3 Desember 2017",
            "Des 2017"
        ]),
        "Indonesian dates, and times in WIB (an instant's day is its day in WIB)"
    );
    the_map_covers_every_province_and_names_the_merged_ones(&browser, &api, &base).await;
    // The monthly trend taken away as a workbook: each month's change and its end value.
    click(&browser, "#trend-xlsx").await;
    let (name, bytes) = browser.downloaded_as("progress-months-", ".xlsx").await;
    assert_eq!(name, "progress-months-nasional-now.xlsx");
    let months = kesos_spreadsheet::read_table(&bytes).unwrap();
    let month = column(&months, "month");
    let change = column(&months, "registered_change");
    let end = column(&months, "registered_end");
    assert_eq!((month[0].as_str(), change[0].as_str()), ("2016-06", "12"));
    let march = month.iter().position(|m| m == "2017-03").unwrap();
    assert_eq!((change[march].as_str(), end[march].as_str()), ("36", "48"));
    assert_eq!(end.last().map(String::as_str), Some("62"));
    assert!(column(&months, "as_of").iter().all(String::is_empty), "now");

    // Sorting by region name, then by certification rate.
    click(&browser, "#children th[data-key=\"name\"] button").await;
    assert_eq!(
        browser.script(order, json!([])).await,
        json!(["51", "32", "18"])
    );
    let sorted = "return document.querySelector('#children th[data-key=\"name\"]').getAttribute('aria-sort')";
    assert_eq!(browser.script(sorted, json!([])).await, json!("ascending"));
    click(&browser, "#children th[data-key=\"rate\"] button").await;
    assert_eq!(
        browser
            .script(order, json!([]))
            .await
            .as_array()
            .unwrap()
            .first(),
        Some(&json!("32"))
    );

    // The keyboard, on a freshly opened page (the token stays with the tab): the skip link
    // comes first, and a region link is reached with Tab and followed with Enter.
    browser.open("about:blank").await;
    browser.open(&format!("{base}/#/")).await;
    page_of(&browser, "Indonesia").await;
    browser.press("\u{E004}").await;
    let focused = "return document.activeElement.textContent.trim()";
    assert_eq!(
        browser.script(focused, json!([])).await,
        json!("Lewati ke isi")
    );
    let mut reached = false;
    for _ in 0..60 {
        browser.press("\u{E004}").await;
        let text = browser.script(focused, json!([])).await;
        if text == json!("Jawa Barat") {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the Jawa Barat link");
    browser.press("\u{E007}").await;

    // Drill-down: Jawa Barat, then Kota Cimahi and what lies behind its numbers.
    page_of(&browser, "Jawa Barat").await;
    assert_eq!(cell(&browser, "32.77", "registered").await, "45");
    assert_eq!(cell(&browser, "32.17", "registered").await, "3");
    accessible(&browser, "the province page").await;
    browser.screenshot("2-provinsi").await;
    // The table taken away as a workbook, opened: West Java's row, then Kota Cimahi's.
    click(&browser, "#download-xlsx").await;
    let (name, bytes) = browser.downloaded_as("progress-32-", ".xlsx").await;
    assert_eq!(name, "progress-32-now.xlsx");
    let table = kesos_spreadsheet::read_table(&bytes).unwrap();
    let code = table.column("region_code").unwrap();
    let registered = table.column("registered").unwrap();
    assert_eq!(table.rows[0].cell(code), "32");
    let cimahi = table
        .rows
        .iter()
        .find(|row| row.cell(code) == "32.77")
        .unwrap();
    assert_eq!(cimahi.cell(registered), "45");
    // The province printed as a report, as the browser's Print makes it.
    let pdf = browser.print("2-provinsi").await;
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert!(pdf.len() > 10_000, "{} bytes", pdf.len());
    click(&browser, "#children tr[data-code=\"32.77\"] a").await;
    page_of(&browser, "Kota Cimahi").await;
    assert_eq!(summary(&browser, "registered").await, "45");
    assert_eq!(summary(&browser, "certified").await, "5");
    assert_eq!(summary(&browser, "rate").await, "11,1%");
    let rows = |id: &str| format!("return document.querySelectorAll('#{id} tbody tr').length");
    assert_eq!(browser.script(&rows("sessions"), json!([])).await, json!(1));
    assert_eq!(
        browser.script(&rows("candidates"), json!([])).await,
        json!(5)
    );
    assert_eq!(
        browser.script(&rows("certificates"), json!([])).await,
        json!(5)
    );
    // 40 imported and 5 from today's sample; the first page of 20, with names.
    assert_eq!(
        browser.text("#workers .hint").await,
        "20 dari 45 ditampilkan"
    );
    let name = browser.text("#workers tbody tr td").await;
    assert!(
        name.starts_with("Pekerja Lama") || name.contains(' '),
        "{name}"
    );
    let starts = browser.text("#sessions tbody td").await;
    assert!(
        starts.ends_with(" WIB"),
        "a session's start in WIB: {starts}"
    );
    // Each list taken away whole (all 45 workers, not the 20 shown), the question on every row.
    click(&browser, "#workers-xlsx").await;
    let (_, bytes) = browser.downloaded_as("workers-32-77-", ".xlsx").await;
    let workers = kesos_spreadsheet::read_table(&bytes).unwrap();
    assert_eq!(workers.rows.len(), 45);
    assert!(
        column(&workers, "filter_region")
            .iter()
            .all(|r| r == "32.77")
    );
    assert!(
        column(&workers, "posting")
            .iter()
            .all(|p| p.starts_with("32.77"))
    );
    assert!(column(&workers, "full_name").iter().all(|n| !n.is_empty()));
    let known = column(&workers, "known_at");
    assert!(
        known[0].ends_with("+07:00"),
        "read at, in WIB: {}",
        known[0]
    );
    assert_eq!(column(&workers, "as_of")[0], known[0][..10]);
    click(&browser, "#certificates-csv").await;
    let (_, bytes) = browser.downloaded_as("certificates-32-77-", ".csv").await;
    let taken = kesos_spreadsheet::read_table(&bytes).unwrap();
    assert_eq!(taken.rows.len(), 5);
    assert!(column(&taken, "number").contains(&number));
    click(&browser, "#sessions-csv").await;
    let (_, bytes) = browser.downloaded_as("sessions-32-77-", ".csv").await;
    let sessions = kesos_spreadsheet::read_table(&bytes).unwrap();
    assert_eq!(column(&sessions, "session_id"), vec![session_id.clone()]);
    assert!(column(&sessions, "starts_at")[0].ends_with("+07:00"));
    accessible(&browser, "the kabupaten/kota page").await;
    browser.screenshot("3-kabkota").await;

    // The as-of field takes the day the Indonesian way: 31/02/2017 is refused, saying how to
    // write one, and the page stays; 03/12/2017 is 3 December 2017 (the link says 2017-12-03).
    let field = browser.find("#asof").await;
    browser.type_into(&field, "31/02/2017").await;
    click(&browser, "#asof-apply").await;
    assert_eq!(
        browser.text("#status.error").await,
        "Tanggal tidak sah: tulis hari/bulan/tahun, misalnya 03/12/2017."
    );
    let invalid = "return document.getElementById('asof').getAttribute('aria-invalid')";
    assert_eq!(browser.script(invalid, json!([])).await, json!("true"));
    assert_eq!(browser.text("#as-of-line").await, "keadaan terkini");
    browser
        .script("document.getElementById('asof').value = ''", json!([]))
        .await;
    // As of 3 December 2017: 36 registered in Cimahi, nobody certified yet.
    browser.type_into(&field, "03/12/2017").await;
    click(&browser, "#asof-apply").await;
    browser
        .until(
            "the as-of line",
            "return document.getElementById('as-of-line').textContent === 'keadaan per 3 Desember 2017' \
             && document.querySelector('#summary [data-measure=\"registered\"] .value').textContent === '36'",
        )
        .await;
    assert_eq!(summary(&browser, "certified").await, "0");
    assert_eq!(
        browser
            .script(
                "return [location.hash, document.getElementById('asof').value, \
                        document.getElementById('asof').getAttribute('aria-invalid')]",
                json!([])
            )
            .await,
        json!(["#/r/32.77?as_of=2017-12-03", "03/12/2017", null])
    );
    click(&browser, "#crumbs a[href^=\"#/?\"]").await;
    page_of(&browser, "Indonesia").await;
    assert_eq!(cell(&browser, "32", "registered").await, "36");
    assert_eq!(cell(&browser, "51", "registered").await, "12");
    assert_eq!(
        browser
            .script(
                "return document.querySelector('#children tr[data-code=\"18\"]') === null",
                json!([])
            )
            .await,
        json!(true),
        "Lampung had nobody registered in 2017"
    );
    browser.screenshot("4-nasional-3-desember-2017").await;

    // English: words, dates and numbers change; the figures stay.
    click(&browser, "#lang-switch").await;
    browser
        .until(
            "English",
            "return document.documentElement.lang === 'en' \
             && document.getElementById('as-of-line').textContent === 'as it stood on 3 December 2017'",
        )
        .await;
    assert_eq!(
        browser.text(".brand").await,
        "Ministry of Social Affairs · SDM Kesos dashboard"
    );
    assert_eq!(
        browser.script(styles, json!([])).await,
        json!([
            "16,920",
            "36.1%",
            "3 December 2017",
            "3 December 2017, 09:00 WIB (UTC+7)",
            "3 December 2017",
            "Dec 2017"
        ])
    );
    assert_eq!(browser.text("label[for=asof]").await, "As of (dd/mm/yyyy)");
    let shown = "return document.getElementById('asof').value";
    assert_eq!(browser.script(shown, json!([])).await, json!("03/12/2017"));
    click(&browser, "#asof-clear").await;
    browser
        .until(
            "today's figures in English",
            "return document.getElementById('as-of-line')?.textContent === 'as it stands now' \
             && document.querySelector('#summary [data-measure=\"rate\"] .value')?.textContent === '8.1%'",
        )
        .await;
    accessible(&browser, "the national page in English").await;
    browser.screenshot("5-national-english").await;
    click(&browser, "#lang-switch").await;
    browser
        .until(
            "Bahasa Indonesia again",
            "return document.documentElement.lang === 'id'",
        )
        .await;

    // The public verification page a certificate's QR code opens.
    browser.open(&format!("{base}/verify/{number}")).await;
    assert_eq!(browser.text("#verdict").await, "Berlaku");
    accessible(&browser, "the verification page").await;
    browser.screenshot("6-verifikasi").await;
    click(&browser, "a.lang").await;
    assert_eq!(browser.text("#verdict").await, "Valid");

    // A Dinas office in Kota Cimahi: its own region only, and no candidates or certificates.
    let dinas = kesos(
        &env,
        &[
            "token",
            "issue",
            "--role",
            "regional-dinas",
            "--region",
            "32.77",
            "--ttl",
            "1h",
        ],
        &dir,
    )
    .trim()
    .to_owned();
    browser
        .script("sessionStorage.clear(); localStorage.clear()", json!([]))
        .await;
    browser.open(&format!("{base}/#token={dinas}")).await;
    page_of(&browser, "Kota Cimahi").await;
    let denied = |id: &str| format!("return document.querySelector('#{id} .denied')?.textContent");
    assert_eq!(
        browser.script(&denied("candidates"), json!([])).await,
        json!("Peran Anda tidak berwenang melihat data ini.")
    );
    assert_eq!(
        browser.script(&denied("certificates"), json!([])).await,
        json!("Peran Anda tidak berwenang melihat data ini.")
    );
    assert_eq!(browser.script(&rows("workers"), json!([])).await, json!(20));
    browser.screenshot("7-dinas-kota-cimahi").await;

    // Signed out: the sign-in form, labelled, and nothing else.
    click(&browser, "#sign-out").await;
    browser
        .until(
            "the sign-in form",
            "return document.getElementById('signin') !== null",
        )
        .await;
    accessible(&browser, "the sign-in page").await;
    let figures: Value = browser
        .script("return document.getElementById('summary')", json!([]))
        .await;
    assert!(figures.is_null(), "no figures without a token");
    browser.screenshot("8-masuk").await;
    drop(browser);
    server.stop();
}
