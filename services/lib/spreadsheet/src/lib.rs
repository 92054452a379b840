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
mod xlsx_guard;
mod xlsx_reader;

pub use error::SheetError;
pub use writer::{write_csv, write_xlsx};

/// The most data rows (header excluded, blank rows not counted) one file may hold under
/// [`Limits::DEFAULT`]; kept as its own constant for callers that name it.
pub const MAX_ROWS: usize = Limits::DEFAULT.rows;

/// Bounds on what one file may make the reader do, so an upload's cost is bounded whatever its
/// bytes: each is checked as the file is read, before the memory it guards is taken, and a file
/// beyond one is refused with [`SheetError::OverLimit`] naming it.
///
/// [`Limits::DEFAULT`] is far above any real list a Dinas office sends (a province-wide list is a
/// few tens of thousands of rows of a dozen short columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Data rows (header excluded, blank rows not counted).
    pub rows: usize,
    /// Columns up to the last non-empty cell of any row, the header included.
    pub columns: usize,
    /// Characters in one cell, after trimming (Excel's own limit is 32,767).
    pub cell_chars: usize,
    /// The memory the rows may take once read, counted as each cell's text plus a fixed
    /// overhead per cell and per row: what bounds a file of many almost-empty cells.
    pub table_bytes: usize,
    /// The bytes an .xlsx workbook's parts unpack to, all parts together: what bounds a ZIP bomb.
    pub unpacked_bytes: u64,
    /// How deeply the XML elements of an .xlsx part may nest (SpreadsheetML needs about eight).
    pub xml_depth: usize,
    /// Parts (ZIP entries) in an .xlsx workbook.
    pub zip_entries: usize,
}

impl Limits {
    /// The limits [`read_table`] applies.
    pub const DEFAULT: Limits = Limits {
        rows: 1_000_000,
        columns: 1_024,
        cell_chars: 32_767,
        table_bytes: 256 * 1024 * 1024,
        unpacked_bytes: 256 * 1024 * 1024,
        xml_depth: 64,
        zip_entries: 1_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which of the [`Limits`] a file went beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::rows`].
    Rows,
    /// [`Limits::columns`].
    Columns,
    /// [`Limits::cell_chars`].
    CellChars,
    /// [`Limits::table_bytes`].
    TableBytes,
    /// [`Limits::unpacked_bytes`].
    UnpackedBytes,
    /// [`Limits::xml_depth`].
    XmlDepth,
    /// [`Limits::zip_entries`].
    ZipEntries,
}

impl Limit {
    /// A stable snake_case name for the limit, for rule identifiers and logs.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Rows => "rows",
            Limit::Columns => "columns",
            Limit::CellChars => "cell_chars",
            Limit::TableBytes => "table_bytes",
            Limit::UnpackedBytes => "unpacked_bytes",
            Limit::XmlDepth => "xml_depth",
            Limit::ZipEntries => "zip_entries",
        }
    }
}

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
    /// The cells, each trimmed of surrounding white space, up to the row's last non-empty cell.
    /// Index `i` belongs to `headers[i]`; a row may be shorter than the header (the missing cells
    /// are empty: read them with [`Row::cell`]), and is longer only when it holds non-empty cells
    /// to the right of the last header, kept so the caller can report them. Short rows are not
    /// padded: padding is what let a wide header multiply a small file into gigabytes.
    pub cells: Vec<String>,
}

impl Row {
    /// The text of cell `index`: empty when the row ends before it.
    pub fn cell(&self, index: usize) -> &str {
        self.cells.get(index).map_or("", String::as_str)
    }
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
///
/// The [`Limits::DEFAULT`] bound what a file may cost; see [`read_table_within`].
pub fn read_table(bytes: &[u8]) -> Result<Table, SheetError> {
    read_table_within(bytes, &Limits::DEFAULT)
}

/// [`read_table`] under the given limits. A workbook's parts are first unpacked into nothing,
/// counting bytes and XML depth, before any of it is read into memory.
///
/// This is CPU work proportional to the file (and, for a workbook, to its unpacked size, at most
/// [`Limits::unpacked_bytes`]): async callers run it on a blocking thread.
pub fn read_table_within(bytes: &[u8], limits: &Limits) -> Result<Table, SheetError> {
    match detect::detect(bytes)? {
        detect::Kind::Xlsx => {
            xlsx_guard::check(bytes, limits)?;
            xlsx_reader::read(bytes, limits)
        }
        detect::Kind::Csv => csv_reader::read(bytes, limits),
    }
}

/// Bytes charged per stored row and per stored cell on top of its text: the `Vec` and `String`
/// headers, so that a file of many empty cells is counted for what it costs.
const ROW_OVERHEAD: usize = 32;
const CELL_OVERHEAD: usize = 24;

/// Collects rows from either reader and applies the rules both share: the first non-blank row is
/// the header, blank rows are skipped, trailing empty cells are dropped, and the [`Limits`] on
/// rows, columns and table bytes are enforced.
struct TableBuilder<'l> {
    format: Format,
    limits: &'l Limits,
    headers: Option<Vec<String>>,
    rows: Vec<Row>,
    bytes: usize,
}

impl<'l> TableBuilder<'l> {
    fn new(format: Format, limits: &'l Limits) -> Self {
        Self {
            format,
            limits,
            headers: None,
            rows: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds the row the user sees as `number`, its cells already trimmed. Callers check
    /// [`Limits::columns`] and [`Limits::cell_chars`] before building `cells`.
    fn push(&mut self, number: usize, mut cells: Vec<String>) -> Result<(), SheetError> {
        let Some(last_filled) = cells.iter().rposition(|c| !c.is_empty()) else {
            return Ok(()); // a blank row: skipped, its number stays used
        };
        cells.truncate(last_filled + 1);
        self.charge(
            ROW_OVERHEAD + cells.iter().map(|c| CELL_OVERHEAD + c.len()).sum::<usize>(),
            number,
        )?;
        if self.headers.is_none() {
            self.headers = Some(cells);
            return Ok(());
        }
        if self.rows.len() == self.limits.rows {
            return Err(over(Limit::Rows, self.limits.rows, Some(number)));
        }
        self.rows.push(Row { number, cells });
        Ok(())
    }

    /// Counts `bytes` more of table memory, refusing the file past [`Limits::table_bytes`].
    fn charge(&mut self, bytes: usize, row: usize) -> Result<(), SheetError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.limits.table_bytes {
            return Err(over(Limit::TableBytes, self.limits.table_bytes, Some(row)));
        }
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

/// The error for a file beyond `limit`, whose value is `max`, first noticed at `row`.
fn over(limit: Limit, max: impl TryInto<u64>, row: Option<usize>) -> SheetError {
    SheetError::OverLimit {
        limit,
        max: max.try_into().unwrap_or(u64::MAX),
        row,
    }
}

/// Refuses a row whose last non-empty cell is beyond [`Limits::columns`]; `width` counts up to
/// that cell.
fn check_width(limits: &Limits, width: usize, row: usize) -> Result<(), SheetError> {
    if width > limits.columns {
        return Err(over(Limit::Columns, limits.columns, Some(row)));
    }
    Ok(())
}

/// Refuses a cell longer than [`Limits::cell_chars`]; counts characters only when the byte length
/// says it might be.
fn check_cell(limits: &Limits, text: &str, row: usize) -> Result<(), SheetError> {
    if text.len() > limits.cell_chars && text.chars().count() > limits.cell_chars {
        return Err(over(Limit::CellChars, limits.cell_chars, Some(row)));
    }
    Ok(())
}
