//! Every limit of the reader refuses a file past it with the limit named, and a file within it
//! reads as before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use kesos_spreadsheet::{
    Limit, Limits, SheetError, read_table, read_table_within, write_csv, write_xlsx,
};

fn over(limit: Limit, max: u64, row: Option<usize>) -> Result<usize, SheetError> {
    Err(SheetError::OverLimit { limit, max, row })
}

fn rows(read: Result<kesos_spreadsheet::Table, SheetError>) -> Result<usize, SheetError> {
    read.map(|table| table.rows.len())
}

#[test]
fn a_header_wider_than_the_column_limit_is_refused_at_row_one() {
    let header: Vec<String> = (0..1_025).map(|i| format!("k{i}")).collect();
    let file = format!("{}\n1\n", header.join(","));
    assert_eq!(
        rows(read_table(file.as_bytes())),
        over(Limit::Columns, 1_024, Some(1))
    );
}

#[test]
fn a_line_of_a_million_empty_cells_costs_nothing_and_reads_as_its_filled_cells() {
    let mut file = b"NIK,Nama\n1,Ani".to_vec();
    file.extend(std::iter::repeat_n(b',', 1_000_000));
    file.push(b'\n');
    let table = read_table(&file).unwrap();
    assert_eq!(table.rows[0].cells, ["1", "Ani"]);
}

#[test]
fn a_cell_longer_than_the_cell_limit_is_refused_naming_its_row() {
    let long = "é".repeat(32_768);
    let csv = write_csv(&["Catatan"], &[vec!["ok".to_owned()], vec![long.clone()]]);
    assert_eq!(
        rows(read_table(&csv)),
        over(Limit::CellChars, 32_767, Some(3))
    );
    // The same text in a workbook (written past Excel's limit by hand: the writer refuses it).
    let small = Limits {
        cell_chars: 10,
        ..Limits::DEFAULT
    };
    let xlsx = write_xlsx(&["Catatan"], &[vec!["ditulis panjang".to_owned()]]).unwrap();
    assert_eq!(
        rows(read_table_within(&xlsx, &small)),
        over(Limit::CellChars, 10, Some(2))
    );
    // Exactly at the limit is fine.
    let at = "é".repeat(32_767);
    assert_eq!(
        rows(read_table(&write_csv(&["Catatan"], &[vec![at]]))),
        Ok(1)
    );
}

#[test]
fn many_small_cells_are_refused_past_the_table_byte_limit() {
    let small = Limits {
        table_bytes: 10_000,
        ..Limits::DEFAULT
    };
    let data: Vec<Vec<String>> = (0..1_000).map(|i| vec![format!("{i}")]).collect();
    let csv = write_csv(&["NIK"], &data);
    let xlsx = write_xlsx(&["NIK"], &data).unwrap();
    for file in [csv, xlsx] {
        match read_table_within(&file, &small) {
            Err(SheetError::OverLimit {
                limit: Limit::TableBytes,
                max: 10_000,
                row: Some(row),
            }) => assert!(row > 100 && row < 1_000, "row {row}"),
            other => panic!("expected the table-byte limit, got {:?}", rows(other)),
        }
        assert_eq!(rows(read_table(&file)), Ok(1_000));
    }
}

#[test]
fn a_workbook_past_the_unpacked_byte_limit_is_refused_before_it_is_read() {
    let data: Vec<Vec<String>> = (0..200).map(|i| vec![format!("baris {i}")]).collect();
    let xlsx = write_xlsx(&["Nama"], &data).unwrap();
    let small = Limits {
        unpacked_bytes: 4_096,
        ..Limits::DEFAULT
    };
    assert_eq!(
        rows(read_table_within(&xlsx, &small)),
        over(Limit::UnpackedBytes, 4_096, None)
    );
    assert_eq!(rows(read_table(&xlsx)), Ok(200));
}

/// A workbook whose only worksheet is `sheet`, with the given extra parts.
fn workbook(sheet: &str, extra: usize) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const PKG: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    let mut parts = vec![
        (
            "_rels/.rels".to_owned(),
            format!(
                r#"<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml".to_owned(),
            format!(
                r#"<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels".to_owned(),
            format!(
                r#"<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/worksheets/sheet1.xml".to_owned(),
            format!(r#"<worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData></worksheet>"#),
        ),
    ];
    parts.extend((0..extra).map(|i| (format!("docProps/extra{i}.txt"), String::new())));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in parts {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn xml_nested_past_the_depth_limit_is_refused() {
    let cell = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>NIK</t></is></c></row>"#;
    assert_eq!(rows(read_table(&workbook(cell, 0))), Ok(0));
    let deep = format!("{}{}", "<x>".repeat(100), "</x>".repeat(100));
    assert_eq!(
        rows(read_table(&workbook(&format!("{cell}{deep}"), 0))),
        over(Limit::XmlDepth, 64, None)
    );
}

#[test]
fn a_workbook_of_too_many_parts_is_refused() {
    let cell = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>NIK</t></is></c></row>"#;
    assert_eq!(
        rows(read_table(&workbook(cell, 1_000))),
        over(Limit::ZipEntries, 1_000, None)
    );
}
