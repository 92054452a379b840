//! Reading and writing .xlsx workbooks: cell rendering, sheet choice and the write/read round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use kesos_spreadsheet::{
    Format, Limit, Limits, Row, SheetError, read_table, read_table_within, write_xlsx,
};

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// A workbook as a spreadsheet program would save it, with the given sheets (name, sheetData
/// content) in workbook order and a stylesheet whose style 1 is the date format 14 (m/d/yyyy).
fn workbook(sheets: &[(&str, &str)]) -> Vec<u8> {
    let mut sheet_list = String::new();
    let mut rels = String::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for (i, (name, data)) in sheets.iter().enumerate() {
        // Stored in reverse file order, so "first sheet" must mean workbook order.
        let file = format!("sheet{}.xml", sheets.len() - i);
        sheet_list.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{}" r:id="rId{}"/>"#,
            i + 1,
            i + 1
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{}" Type="{REL_NS}/worksheet" Target="worksheets/{file}"/>"#,
            i + 1
        ));
        files.push((
            format!("xl/worksheets/{file}"),
            format!(r#"<worksheet xmlns="{MAIN_NS}"><sheetData>{data}</sheetData></worksheet>"#),
        ));
    }
    rels.push_str(&format!(
        r#"<Relationship Id="rIdS" Type="{REL_NS}/styles" Target="styles.xml"/>"#
    ));
    files.push((
        "xl/workbook.xml".to_owned(),
        format!(
            r#"<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>{sheet_list}</sheets></workbook>"#
        ),
    ));
    files.push((
        "xl/_rels/workbook.xml.rels".to_owned(),
        format!(
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
        ),
    ));
    files.push((
        "xl/styles.xml".to_owned(),
        format!(
            r#"<styleSheet xmlns="{MAIN_NS}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#
        ),
    ));
    files.push((
        "_rels/.rels".to_owned(),
        format!(
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    ));
    files.push((
        "[Content_Types].xml".to_owned(),
        r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#
            .to_owned(),
    ));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn inline(reference: &str, text: &str) -> String {
    format!(r#"<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

#[test]
fn a_numeric_nik_and_a_date_formatted_cell_read_as_digits_and_an_iso_date() {
    let data = [
        format!(
            r#"<row r="1">{}{}{}{}{}{}</row>"#,
            inline("A1", "NIK"),
            inline("B1", "Tanggal Lahir"),
            inline("C1", "Nilai"),
            inline("D1", "Aktif"),
            inline("E1", "Cek"),
            inline("F1", "NIK ilmiah"),
        ),
        concat!(
            r#"<row r="2"><c r="A2"><v>3277014508900001</v></c><c r="B2" s="1"><v>33010</v></c>"#,
            r#"<c r="C2"><v>7.25</v></c><c r="D2" t="b"><v>1</v></c><c r="E2" t="e"><v>#N/A</v></c>"#,
            r#"<c r="F2"><v>3.277014508900002E+15</v></c></row>"#,
        )
        .to_owned(),
    ]
    .concat();
    let table = read_table(&workbook(&[("Peserta", &data)])).unwrap();
    assert_eq!(table.format, Format::Xlsx);
    assert_eq!(
        table.headers,
        [
            "NIK",
            "Tanggal Lahir",
            "Nilai",
            "Aktif",
            "Cek",
            "NIK ilmiah"
        ]
    );
    assert_eq!(
        table.rows[0].cells,
        [
            "3277014508900001",
            "1990-05-17",
            "7.25",
            "TRUE",
            "#N/A",
            "3277014508900002"
        ]
    );
}

#[test]
fn the_first_sheet_in_workbook_order_is_read() {
    let peserta = format!(
        r#"<row r="1">{}</row><row r="2">{}</row>"#,
        inline("A1", "NIK"),
        inline("A2", "3277014508900001")
    );
    let catatan = format!(r#"<row r="1">{}</row>"#, inline("A1", "Catatan"));
    let table = read_table(&workbook(&[("Peserta", &peserta), ("Catatan", &catatan)])).unwrap();
    assert_eq!(table.headers, ["NIK"]);
}

#[test]
fn rows_keep_their_worksheet_numbers_and_blank_rows_are_skipped() {
    let data = format!(
        r#"<row r="3">{}{}</row><row r="4"><c r="B4" t="inlineStr"><is><t>  </t></is></c></row><row r="7">{}</row>"#,
        inline("B3", " NIK "),
        inline("C3", "Nama"),
        inline("C7", " Ani "),
    );
    let table = read_table(&workbook(&[("Peserta", &data)])).unwrap();
    // Column A is empty but still column A: indices match the letters the user sees.
    assert_eq!(table.headers, ["", "NIK", "Nama"]);
    assert_eq!(
        table.rows,
        [Row {
            number: 7,
            cells: vec![String::new(), String::new(), "Ani".to_owned()]
        }]
    );
}

#[test]
fn a_stray_value_in_the_last_cell_of_the_sheet_costs_no_dense_grid() {
    let data = format!(
        r#"<row r="1">{}</row><row r="1048576">{}</row>"#,
        inline("A1", "NIK"),
        inline("XFD1048576", "x"),
    );
    let file = workbook(&[("Peserta", &data)]);
    let wide = Limits {
        columns: 16_384,
        ..Limits::DEFAULT
    };
    let table = read_table_within(&file, &wide).unwrap();
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].number, 1_048_576);
    assert_eq!(table.rows[0].cells.len(), 16_384);
    // Under the default limits the same cell is past the last column a file may use.
    assert_eq!(
        read_table(&file),
        Err(SheetError::OverLimit {
            limit: Limit::Columns,
            max: 1_024,
            row: Some(1_048_576)
        })
    );
}

#[test]
fn a_workbook_of_empty_rows_has_no_header() {
    let data = r#"<row r="1"><c r="A1" s="1"/></row>"#;
    assert_eq!(
        read_table(&workbook(&[("Peserta", data)])),
        Err(SheetError::NoHeader)
    );
}

#[test]
fn a_written_workbook_reads_back_exactly() {
    let headers = ["NIK", "Nama", "Catatan"];
    let rows = vec![
        vec![
            "3277014508900001".to_owned(),
            "Ni Luh Putu Ayu Kadek Ñoño".to_owned(),
            "A&B <kader> \"PKH\" 'ok'".to_owned(),
        ],
        vec![
            "0012014508900009".to_owned(),
            "Dédé Sutisna".to_owned(),
            "baris\r\nkedua _x0041_ \u{b}tab\tend".to_owned(),
        ],
        vec!["3277014508900003".to_owned()],
    ];
    let bytes = write_xlsx(&headers, &rows).unwrap();
    let table = read_table(&bytes).unwrap();
    assert_eq!(table.format, Format::Xlsx);
    assert_eq!(table.headers, headers);
    assert_eq!(table.rows[0].cells, rows[0]);
    assert_eq!(table.rows[1].cells, rows[1]);
    assert_eq!(table.rows[2].cells, ["3277014508900003"]);
    assert_eq!(table.rows[2].cell(2), "");
    assert_eq!(
        table.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        [2, 3, 4]
    );
}

#[test]
fn a_written_workbook_holds_the_parts_office_programs_require() {
    let bytes = write_xlsx(&["NIK"], &[vec!["1".to_owned()]]).unwrap();
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    for part in [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
        "xl/styles.xml",
    ] {
        assert!(
            names.iter().any(|n| n == part),
            "{part} missing from {names:?}"
        );
    }
}

#[test]
fn an_empty_written_workbook_reads_back_as_having_no_header() {
    let bytes = write_xlsx(&[], &[]).unwrap();
    assert_eq!(read_table(&bytes), Err(SheetError::NoHeader));
}
