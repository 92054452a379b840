//! Read speed, measured on demand and never asserted (timing depends on the machine):
//! `cargo test --release -p kesos-spreadsheet --test speed -- --ignored --nocapture`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::{Duration, Instant};

use kesos_spreadsheet::{read_table, write_csv, write_xlsx};

const ROWS: usize = 100_000;
const HEADERS: [&str; 13] = [
    "NIK",
    "Nama",
    "Jenis Kelamin",
    "Tempat Lahir",
    "Tanggal Lahir",
    "Alamat",
    "Kabupaten/Kota",
    "Provinsi",
    "Pendidikan",
    "Jabatan",
    "Lembaga",
    "Telepon",
    "Email",
];

fn sample_rows() -> Vec<Vec<String>> {
    (0..ROWS)
        .map(|i| {
            vec![
                format!("32770145{i:08}"),
                format!("Siti Aminah Nurhaliza {i}"),
                if i % 2 == 0 { "P" } else { "L" }.to_owned(),
                "Kota Bandung".to_owned(),
                format!("19{:02}-{:02}-{:02}", 60 + i % 40, 1 + i % 12, 1 + i % 28),
                format!("Jl. Asia Afrika No. {}, RT 02/RW 03", i % 500),
                "Kota Bandung".to_owned(),
                "Jawa Barat".to_owned(),
                "S1 Kesejahteraan Sosial".to_owned(),
                "Pekerja Sosial Masyarakat".to_owned(),
                "Dinas Sosial Kota Bandung".to_owned(),
                format!("08123{i:07}"),
                format!("peserta{i}@example.org"),
            ]
        })
        .collect()
}

fn best_of(runs: usize, bytes: &[u8]) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let table = read_table(bytes).unwrap();
            let elapsed = start.elapsed();
            assert_eq!(table.rows.len(), ROWS);
            elapsed
        })
        .min()
        .unwrap_or_default()
}

#[test]
#[ignore = "a measurement, not a check; run it in release"]
fn reading_100_000_rows_of_13_columns_is_fast() {
    let rows = sample_rows();
    let csv = write_csv(&HEADERS, &rows);
    eprintln!(
        "CSV  {} MB: best of 10 {:?}",
        csv.len() / 1_000_000,
        best_of(10, &csv)
    );
    let xlsx = write_xlsx(&HEADERS, &rows).unwrap();
    eprintln!(
        "XLSX {} MB: best of 3 {:?}",
        xlsx.len() / 1_000_000,
        best_of(3, &xlsx)
    );
}
