//! Hostile uploads are refused with a clear error, cheaply: the process's peak memory grows by
//! less than 64 MB while reading them.
//!
//! This file is its own test binary and holds one test, so nothing else runs in the process while
//! the peak (VmHWM in /proc/self/status) is measured. `cargo nextest` gives every test its own
//! process anyway; under `cargo test` this file is still its own process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use kesos_spreadsheet::{SheetError, Table, read_table};

const BUDGET: u64 = 64 * 1024 * 1024;

/// A CSV whose header has 16,384 columns above 100,000 one-cell lines (about 310 KB). A reader
/// that pads each row to the header's width would build 1.6 billion empty cells (~39 GB).
fn csv_padding_bomb() -> Vec<u8> {
    let header: Vec<String> = (0..16_384).map(|i| format!("k{i}")).collect();
    let mut bytes = header.join(",").into_bytes();
    bytes.push(b'\n');
    bytes.extend(b"x\n".repeat(100_000));
    bytes
}

/// A well-formed workbook of a few hundred kilobytes whose one worksheet unpacks to 1 GiB: a
/// single inline-string cell of one repeated letter. Written in chunks, so building it stays small.
fn xlsx_zip_bomb() -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const PKG: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let small = [
        (
            "[Content_Types].xml",
            r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#
                .to_owned(),
        ),
        (
            "_rels/.rels",
            format!(
                r#"<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
            ),
        ),
    ];
    for (name, content) in small {
        zip.start_file(name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write!(
        zip,
        r#"<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>"#
    )
    .unwrap();
    let chunk = vec![b'A'; 1024 * 1024];
    for _ in 0..1024 {
        zip.write_all(&chunk).unwrap();
    }
    zip.write_all(b"</t></is></c></row></sheetData></worksheet>")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

/// Peak resident memory of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// Resets the peak to the current resident size (Linux 4.0+); harmless where refused, since the
/// bombs are built small and the measured growth is then only larger.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[test]
fn a_csv_padding_bomb_and_an_xlsx_zip_bomb_are_refused_within_64_mb() {
    let csv = csv_padding_bomb();
    let xlsx = xlsx_zip_bomb();
    assert!(
        csv.len() < 400_000 && xlsx.len() < 4_000_000,
        "small files: {} and {} bytes",
        csv.len(),
        xlsx.len()
    );

    reset_peak();
    let before = peak_rss();
    let csv_read = refusal(read_table(&csv));
    let after_csv = peak_rss();
    let xlsx_read = refusal(read_table(&xlsx));
    let after_xlsx = peak_rss();

    let grown = |after: u64| (after - before) >> 20;
    // The figures beside their limit, for the log of a run (`--no-capture`).
    eprintln!(
        "peak memory growth: CSV bomb {} MB, XLSX bomb {} MB (limit {} MB; files {} and {} bytes)",
        grown(after_csv),
        grown(after_xlsx),
        BUDGET >> 20,
        csv.len(),
        xlsx.len()
    );
    assert!(
        csv_read.contains("column 1024"),
        "CSV: {csv_read}, peak grew {} MB",
        grown(after_csv)
    );
    assert!(
        xlsx_read.contains("unpacks to more than 256 MiB"),
        "XLSX: {xlsx_read}, peak grew {} MB",
        grown(after_xlsx)
    );
    assert!(
        after_csv - before < BUDGET,
        "the CSV bomb grew the peak by {} MB",
        grown(after_csv)
    );
    assert!(
        after_xlsx - before < BUDGET,
        "the XLSX bomb grew the peak by {} MB",
        grown(after_xlsx)
    );
}

/// The error's message, or a short description of a table that should not have been read (never
/// the table itself: a bomb's cells can be gigabytes).
fn refusal(read: Result<Table, SheetError>) -> String {
    match read {
        Err(error) => error.to_string(),
        Ok(table) => format!(
            "read, not refused: {} rows of {} columns",
            table.rows.len(),
            table.headers.len()
        ),
    }
}
