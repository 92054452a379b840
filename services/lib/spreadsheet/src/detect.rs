//! Tells what a file is from its first bytes, so a PDF or a photo gets a precise refusal instead
//! of a page of CSV noise, and a workbook is read whatever its file name says.

use std::io::{Cursor, Read};

use crate::SheetError;

/// How far into a text file to look for NUL bytes. Text never contains them; binary formats
/// almost always do within the first few kilobytes.
const SNIFF_LEN: usize = 8 * 1024;

/// The readable kinds of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A ZIP holding an Office Open XML workbook.
    Xlsx,
    /// Anything else that might be text; the CSV reader decides.
    Csv,
}

/// Magic numbers of files people attach by mistake, with what to call them in the message.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable program"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
];

/// Classifies `bytes`, refusing what cannot be a spreadsheet we read.
pub(crate) fn detect(bytes: &[u8]) -> Result<Kind, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::Empty);
    }
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        return Err(utf16());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zip_kind(bytes);
    }
    if bytes.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Err(SheetError::LegacyXls);
    }
    if let Some((_, detected)) = SIGNATURES
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
    {
        return Err(SheetError::NotASpreadsheet { detected });
    }
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    if head.contains(&0) {
        if looks_like_utf16(head) {
            return Err(utf16());
        }
        return Err(SheetError::NotASpreadsheet {
            detected: "a binary file",
        });
    }
    Ok(Kind::Csv)
}

fn utf16() -> SheetError {
    SheetError::WrongEncoding {
        line: 1,
        detail: "UTF-16".to_owned(),
    }
}

/// UTF-16 text without a byte-order mark: mostly ASCII, so nearly every other byte is NUL.
fn looks_like_utf16(head: &[u8]) -> bool {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return false;
    }
    let zeros_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    // One half is almost all NUL and the other has none: BE puts them first, LE second.
    (even * 10 >= pairs * 9 && odd == 0) || (odd * 10 >= pairs * 9 && even == 0)
}

/// A ZIP is only a workbook if it holds `xl/workbook.xml`; name the usual impostors precisely.
fn zip_kind(bytes: &[u8]) -> Result<Kind, SheetError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx {
        reason: format!("its ZIP container is damaged: {e}"),
    })?;
    let has = |archive: &zip::ZipArchive<Cursor<&[u8]>>, wanted: &str| {
        archive
            .file_names_raw()
            .any(|name| name.eq_ignore_ascii_case(wanted.as_bytes()))
    };
    if has(&archive, "xl/workbook.xml") {
        return Ok(Kind::Xlsx);
    }
    let detected = if has(&archive, "xl/workbook.bin") {
        "an Excel binary workbook (.xlsb)"
    } else if has(&archive, "word/document.xml") {
        "a Word document (.docx)"
    } else if has(&archive, "ppt/presentation.xml") {
        "a PowerPoint presentation (.pptx)"
    } else if is_ods(&mut archive) {
        "an OpenDocument spreadsheet (.ods)"
    } else {
        "a ZIP archive that is not an .xlsx workbook"
    };
    Err(SheetError::NotASpreadsheet { detected })
}

/// OpenDocument files name their type in a small stored `mimetype` entry.
fn is_ods(archive: &mut zip::ZipArchive<Cursor<&[u8]>>) -> bool {
    let Ok(entry) = archive.by_name("mimetype") else {
        return false;
    };
    let mut mimetype = Vec::new();
    entry.take(100).read_to_end(&mut mimetype).is_ok()
        && mimetype == b"application/vnd.oasis.opendocument.spreadsheet"
}
