//! The one error type of this crate: why a file could not be read, worded for the person who sent it.

use crate::Limit;

/// Why a file could not be read as a table.
///
/// Every `Display` message is one English sentence (lower-case, no final period, so a caller can
/// embed it) that says what is wrong with the file and what the sender should do about it. Line
/// numbers are 1-based lines of the file as a text editor counts them. Reasons are `String`s so the
/// type stays `PartialEq` and free of the parsers' own error types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// The file has no bytes at all; usually an interrupted export or upload.
    #[error("the file is empty; export the list again and upload the new file")]
    Empty,

    /// The file holds nothing but blank rows, so there is no header row naming the columns.
    #[error(
        "the file has no header row (it holds only blank rows); put the column names in the first row and upload it again"
    )]
    NoHeader,

    /// An Excel 97–2003 workbook (OLE2 container). Deliberately not read: its binary format is a
    /// large attack and bug surface, and every office program can save the same data as .xlsx.
    #[error(
        "legacy .xls workbooks are not read; save it as .xlsx or as CSV UTF-8 and upload it again"
    )]
    LegacyXls,

    /// The bytes are recognisably some other kind of file (a PDF, a photo, an archive, ...).
    #[error(
        "the file is {detected}, not an .xlsx workbook or a CSV file; save the list as .xlsx or as CSV UTF-8 and upload it again"
    )]
    NotASpreadsheet {
        /// What the file looks like, with its article, e.g. "a PDF document".
        detected: &'static str,
    },

    /// A text file that is not UTF-8: a UTF-16 "Unicode text" export, or (most often) a CSV saved
    /// by Excel in the Windows code page, where "José" arrives as the byte sequence `Jos\xE9`.
    #[error(
        "the file is not UTF-8 text (line {line}: {detail}); save it as \"CSV UTF-8\" or as .xlsx in your spreadsheet program and upload it again"
    )]
    WrongEncoding {
        /// The first line (1-based, as a text editor counts) that is not valid UTF-8.
        line: usize,
        /// What the encoding probably is, e.g. "UTF-16" or "probably Windows-1252 or Latin-1".
        detail: String,
    },

    /// The CSV text cannot be split into rows reliably, e.g. a quote that is never closed.
    #[error(
        "the CSV file is malformed at line {line}: {reason}; correct it in your spreadsheet program, save it as CSV UTF-8 and upload it again"
    )]
    Csv {
        /// The line (1-based, as a text editor counts) where the problem starts.
        line: usize,
        /// What is wrong there.
        reason: String,
    },

    /// The file is a ZIP with an .xlsx workbook inside, but the workbook is damaged or cannot be
    /// read (or, when writing, could not be produced).
    #[error(
        "the .xlsx workbook cannot be read ({reason}); open it in your spreadsheet program, save it again as .xlsx and upload it again"
    )]
    Xlsx {
        /// What the workbook reader reported.
        reason: String,
    },

    /// The file goes beyond one of the [`crate::Limits`]: a bound on the memory and time one
    /// upload may take. The message names the limit and its value.
    #[error("{}", over_limit(*.limit, *.max, *.row))]
    OverLimit {
        /// Which limit.
        limit: Limit,
        /// Its value (rows, columns, characters, bytes, levels or parts).
        max: u64,
        /// The row (as the user sees it) where it was passed, when there is one.
        row: Option<usize>,
    },
}

/// The message of [`SheetError::OverLimit`]: what is too large, then what to do.
fn over_limit(limit: Limit, max: u64, row: Option<usize>) -> String {
    let at = row.map(|r| format!("row {r} ")).unwrap_or_default();
    let mib = max >> 20;
    match limit {
        Limit::Rows => format!(
            "the file has more than {max} data rows; split it into smaller files and upload them one at a time"
        ),
        Limit::Columns => format!(
            "{at}reaches past column {max}, the most a file may have; save it again with only the columns of the list and upload it again"
        ),
        Limit::CellChars => format!(
            "a cell in {at}holds more than {max} characters, the most a cell may hold; correct it, save the file and upload it again"
        ),
        Limit::TableBytes => format!(
            "the file's cells take more than {mib} MiB once read, the most one file may take; split it into smaller files and upload them one at a time"
        ),
        Limit::UnpackedBytes => format!(
            "the .xlsx workbook unpacks to more than {mib} MiB, the most one file may; split it into smaller files and upload them one at a time"
        ),
        Limit::XmlDepth => format!(
            "the .xlsx workbook nests its XML more than {max} levels deep, which no spreadsheet program writes; save it again as .xlsx and upload it again"
        ),
        Limit::ZipEntries => format!(
            "the .xlsx workbook holds more than {max} parts, the most one file may; save it again as .xlsx with one sheet and upload it again"
        ),
    }
}
