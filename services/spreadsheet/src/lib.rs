//! Reads the spreadsheets Dinas offices send (CSV in UTF-8 and XLSX) into rows of text, with clear
//! errors for files that are not.
//!
//! Bulk import is the normal way workers enter the system, and the files come from many offices
//! and many spreadsheet programs. This crate's one job is to turn the bytes of such a file into a
//! [`Table`] of trimmed text, or to refuse it with a [`SheetError`] whose message tells the sender
//! exactly what to do (save as "CSV UTF-8", save as .xlsx, split the file, ...). It knows nothing
//! about workers: validating a NIK or a date is the importer's job.
//!
//! The format is detected from the content, never from the file name: see [`read_table`].
//! [`write_xlsx`] and [`write_csv`] produce files this crate reads back, for templates, samples,
//! tests and benchmarks.

mod csv_reader;
mod detect;
mod error;
mod writer;
mod xlsx_reader;

pub use error::SheetError;
pub use writer::{write_csv, write_xlsx};

/// The most data rows (header excluded, blank rows not counted) one file may hold.
///
/// A bound on the memory and time a single upload can take; a province-wide list is far smaller.
/// Larger files are refused with [`SheetError::TooManyRows`] as soon as the limit is passed.
pub const MAX_ROWS: usize = 1_000_000;

/// Which kind of file a [`Table`] was read from, as detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UTF-8 delimited text. `delimiter` is the one sniffed from the header line: `b','`, `b';'`
    /// (what Excel writes in the Indonesian locale) or `b'\t'`.
    Csv {
        /// The field separator the file uses.
        delimiter: u8,
    },
    /// An Office Open XML workbook; the first worksheet in workbook order was read.
    Xlsx,
}

/// One non-blank data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number the user sees in their spreadsheet program, so an error report can say
    /// "row 17" and the sender finds it. The header row of a file that starts with it is row 1.
    /// For CSV it counts records, not text lines: a quoted field containing a line break does not
    /// shift later numbers, while a blank line does (spreadsheet programs show it as an empty
    /// row). For XLSX it is the worksheet's own row number.
    pub number: usize,
    /// The cells, each trimmed of surrounding white space. Index `i` belongs to `headers[i]`;
    /// there are always at least `headers.len()` cells (a short row is padded with empty cells).
    /// A row has more only when it holds non-empty cells to the right of the last header: those
    /// are kept so the caller can report them.
    pub cells: Vec<String>,
}

/// The contents of a spreadsheet: a header row naming the columns and the data rows below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The kind of file this was read from.
    pub format: Format,
    /// The first non-blank row, trimmed, with empty cells after the last name dropped. It is never
    /// all empty. Names are kept as written; look them up with [`Table::column`].
    pub headers: Vec<String>,
    /// The data rows in file order; fully blank rows are left out (their numbers are skipped).
    pub rows: Vec<Row>,
}

impl Table {
    /// The index of the first header named `name`, comparing loosely the way people type column
    /// names: case-insensitive, ignoring surrounding white space, and treating ' ', '-' and '_'
    /// alike (a run of them counts as one). So "Tanggal Lahir", "tanggal_lahir" and
    /// " TANGGAL-LAHIR " are the same column.
    pub fn column(&self, name: &str) -> Option<usize> {
        let wanted = loose_name(name);
        self.headers.iter().position(|h| loose_name(h) == wanted)
    }
}

/// `name` folded for [`Table::column`]: trimmed, lower-cased, separators unified and collapsed.
fn loose_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_separator = false;
    for c in name.trim().chars() {
        if matches!(c, ' ' | '-' | '_') || c.is_whitespace() {
            pending_separator = true;
            continue;
        }
        if pending_separator {
            out.push(' ');
            pending_separator = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Reads a spreadsheet file into a [`Table`], or says precisely why it cannot.
///
/// The format is detected from the bytes, never from a file name: a ZIP holding
/// `xl/workbook.xml` is read as XLSX (the first worksheet), an Excel 97–2003 file is refused with
/// [`SheetError::LegacyXls`], PDFs, images, archives and other binary files with
/// [`SheetError::NotASpreadsheet`], and everything else is read as UTF-8 CSV with a sniffed
/// delimiter. See [`SheetError`] for every way a file is refused.
///
/// Every cell comes back as trimmed text. XLSX cells are rendered the way the importer needs
/// them: integral numbers without ".0" or exponent (a NIK typed as a number reads as its digits),
/// dates as `YYYY-MM-DD`, booleans as `TRUE`/`FALSE`, error cells as their code (`#N/A`). Note
/// that Excel itself keeps only 15 significant digits of a number, so a 16-digit NIK typed into a
/// number-formatted cell is already mangled inside the file (its last digit becomes 0); this
/// crate cannot restore it, and the importer's NIK validation is what catches it.
pub fn read_table(bytes: &[u8]) -> Result<Table, SheetError> {
    match detect::detect(bytes)? {
        detect::Kind::Xlsx => xlsx_reader::read(bytes),
        detect::Kind::Csv => csv_reader::read(bytes),
    }
}

/// Collects rows from either reader and applies the rules both share: the first non-blank row is
/// the header, blank rows are skipped, short rows are padded, and [`MAX_ROWS`] is enforced.
struct TableBuilder {
    format: Format,
    headers: Option<Vec<String>>,
    rows: Vec<Row>,
}

impl TableBuilder {
    fn new(format: Format) -> Self {
        Self {
            format,
            headers: None,
            rows: Vec::new(),
        }
    }

    /// Adds the row the user sees as `number`, its cells already trimmed.
    fn push(&mut self, number: usize, mut cells: Vec<String>) -> Result<(), SheetError> {
        let Some(last_filled) = cells.iter().rposition(|c| !c.is_empty()) else {
            return Ok(()); // a blank row: skipped, its number stays used
        };
        let Some(headers) = &self.headers else {
            cells.truncate(last_filled + 1);
            self.headers = Some(cells);
            return Ok(());
        };
        if self.rows.len() == MAX_ROWS {
            return Err(SheetError::TooManyRows);
        }
        cells.truncate(headers.len().max(last_filled + 1));
        cells.resize(headers.len().max(cells.len()), String::new());
        self.rows.push(Row { number, cells });
        Ok(())
    }

    fn finish(self) -> Result<Table, SheetError> {
        let headers = self.headers.ok_or(SheetError::NoHeader)?;
        Ok(Table {
            format: self.format,
            headers,
            rows: self.rows,
        })
    }
}
