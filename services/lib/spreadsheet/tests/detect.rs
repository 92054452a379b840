//! Files that are not spreadsheets, recognised from their bytes whatever their name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use kesos_spreadsheet::{Limit, MAX_ROWS, SheetError, read_table};

fn not_a_spreadsheet(detected: &'static str) -> Result<kesos_spreadsheet::Table, SheetError> {
    Err(SheetError::NotASpreadsheet { detected })
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn an_empty_file_is_refused_as_empty() {
    assert_eq!(read_table(b""), Err(SheetError::Empty));
}

#[test]
fn a_legacy_xls_workbook_is_refused_with_advice_to_save_as_xlsx() {
    let mut ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    ole.resize(512, 0);
    let err = read_table(&ole).unwrap_err();
    assert_eq!(err, SheetError::LegacyXls);
    assert!(err.to_string().contains(".xlsx"));
    assert!(err.to_string().contains("CSV UTF-8"));
}

#[test]
fn a_pdf_is_not_a_spreadsheet() {
    assert_eq!(
        read_table(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        not_a_spreadsheet("a PDF document")
    );
}

#[test]
fn a_png_image_is_not_a_spreadsheet() {
    assert_eq!(
        read_table(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        not_a_spreadsheet("a PNG image")
    );
}

#[test]
fn a_jpeg_photo_is_not_a_spreadsheet() {
    assert_eq!(
        read_table(b"\xff\xd8\xff\xe0\0\x10JFIF"),
        not_a_spreadsheet("a JPEG image")
    );
}

#[test]
fn a_file_with_nul_bytes_is_a_binary_file() {
    assert_eq!(
        read_table(b"NIK,Nama\n1,\0\x01\x02\x03\n"),
        not_a_spreadsheet("a binary file")
    );
}

#[test]
fn a_zip_without_a_workbook_is_not_a_spreadsheet() {
    let zip = zip_of(&[("data/peserta.csv", b"NIK\n1\n")]);
    assert_eq!(
        read_table(&zip),
        not_a_spreadsheet("a ZIP archive that is not an .xlsx workbook")
    );
}

#[test]
fn a_word_document_and_an_ods_spreadsheet_are_named() {
    let docx = zip_of(&[("word/document.xml", b"<w:document/>")]);
    assert_eq!(
        read_table(&docx),
        not_a_spreadsheet("a Word document (.docx)")
    );
    let ods = zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", b"<office:document-content/>"),
    ]);
    assert_eq!(
        read_table(&ods),
        not_a_spreadsheet("an OpenDocument spreadsheet (.ods)")
    );
}

#[test]
fn a_damaged_zip_is_refused_as_an_unreadable_workbook() {
    let mut truncated = zip_of(&[("xl/workbook.xml", b"<workbook/>")]);
    truncated.truncate(40);
    assert!(matches!(
        read_table(&truncated),
        Err(SheetError::Xlsx { .. })
    ));
}

#[test]
fn a_workbook_with_broken_sheet_xml_is_refused_as_an_unreadable_workbook() {
    // A good workbook whose worksheet was cut off mid-element, inside its cells.
    let good = kesos_spreadsheet::write_xlsx(&["NIK"], &[vec!["1".to_owned()]]).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(good)).unwrap();
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let end = content
                .windows(12)
                .position(|w| w == b"</sheetData>")
                .unwrap();
            content.truncate(end - 10);
        }
        parts.push((name, content));
    }
    let parts: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let err = read_table(&zip_of(&parts)).unwrap_err();
    assert!(matches!(err, SheetError::Xlsx { .. }), "unexpected {err:?}");
}

#[test]
fn every_error_message_is_one_sentence_that_says_what_to_do() {
    let errors = [
        SheetError::Empty,
        SheetError::NoHeader,
        SheetError::LegacyXls,
        SheetError::NotASpreadsheet {
            detected: "a PDF document",
        },
        SheetError::WrongEncoding {
            line: 3,
            detail: "probably Windows-1252 or Latin-1".to_owned(),
        },
        SheetError::Csv {
            line: 3,
            reason: "a quoted cell starts here but its closing quote (\") is missing".to_owned(),
        },
        SheetError::Xlsx {
            reason: "it has no worksheet".to_owned(),
        },
        SheetError::OverLimit {
            limit: Limit::Rows,
            max: MAX_ROWS as u64,
            row: Some(5),
        },
    ]
    .into_iter()
    .chain(
        [
            Limit::Columns,
            Limit::CellChars,
            Limit::TableBytes,
            Limit::UnpackedBytes,
            Limit::XmlDepth,
            Limit::ZipEntries,
        ]
        .map(|limit| SheetError::OverLimit {
            limit,
            max: 1 << 28,
            row: Some(7),
        }),
    );
    for error in errors {
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        let (_what, advice) = message.split_once("; ").expect("what is wrong; what to do");
        assert!(
            ["save", "export", "put", "split", "correct", "open"]
                .iter()
                .any(|verb| advice.starts_with(verb)),
            "{message}"
        );
    }
    assert!(
        SheetError::OverLimit {
            limit: Limit::Rows,
            max: MAX_ROWS as u64,
            row: None
        }
        .to_string()
        .contains(&MAX_ROWS.to_string())
    );
}
