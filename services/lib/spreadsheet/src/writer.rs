//! Writes the files [`crate::read_table`] reads: a one-sheet .xlsx workbook (by
//! `rust_xlsxwriter`) and UTF-8 CSV (by `csv`), for templates sent to Dinas offices, report
//! tables, samples, tests and benchmarks.

use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet, XlsxError};

use crate::SheetError;

/// Excel's own limits; a file beyond them is "repaired" (truncated) when opened. Checked before
/// anything is written, so a table too long is refused at once rather than after a million rows.
const EXCEL_MAX_ROWS: usize = 1_048_576;
const EXCEL_MAX_COLUMNS: usize = 16_384;

/// The width of every column, in Excel's character units: a 16-digit NIK and a name fit.
const COLUMN_WIDTH: u8 = 24;

/// Writes a one-sheet .xlsx workbook: `headers` in row 1, then `rows`, every cell a string.
///
/// Every column is formatted as Text (number format "@"), and so is every cell, so a 16-digit
/// NIK stays exact when the file is opened, and a NIK typed later into the same column of the
/// template stays text too instead of losing its last digit. Empty strings leave the cell
/// empty. Control characters that XML cannot carry are written as Excel's `_xHHHH_` escapes
/// (and a literal `_xHHHH_` has its underscore escaped), so text survives a round trip.
///
/// # Errors
/// [`SheetError::Xlsx`] if the data exceeds Excel's limits (1,048,576 rows, 16,384 columns,
/// 32,767 characters in a cell, counted as Excel counts them: in UTF-16 units), which Excel
/// would otherwise silently truncate, or in the unreachable case that writing the workbook into
/// memory fails.
pub fn write_xlsx(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, SheetError> {
    let width = rows.iter().map(Vec::len).fold(headers.len(), usize::max);
    if rows.len() + 1 > EXCEL_MAX_ROWS || width > EXCEL_MAX_COLUMNS {
        return Err(too_big("more rows or columns than Excel allows"));
    }
    let text = Format::new().set_num_format("@");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    if let Some(last) = width.checked_sub(1) {
        // Text for whole columns is what keeps later typing as text.
        let last = column(last)?;
        sheet
            .set_column_range_format(0, last, &text)
            .map_err(refused)?;
        sheet
            .set_column_range_width(0, last, COLUMN_WIDTH)
            .map_err(refused)?;
    }
    put_row(sheet, 0, headers.iter().copied(), &text)?;
    for (i, row) in rows.iter().enumerate() {
        put_row(sheet, i + 1, row.iter().map(String::as_str), &text)?;
    }
    workbook.save_to_buffer().map_err(refused)
}

/// Writes UTF-8 CSV (no BOM): comma-separated, `\n`-terminated, fields quoted only when needed.
/// Rows may differ in length; each is written as given.
///
/// The reader picks the delimiter from the header line, so a header holding ';' or a tab
/// outside quotes would be split on it: such a header line is written with every name quoted
/// (found by the round-trip property test).
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let quote_header = headers.iter().any(|h| h.contains([';', '\t']));
    let mut out = Vec::with_capacity(16 * headers.len() * (rows.len() + 1));
    // With `flexible` on and a Vec as the sink, the csv crate has no error left to report (its
    // errors are the sink's I/O errors and unequal row lengths), so ignoring them loses nothing.
    if quote_header {
        let mut writer = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(out);
        let _ = writer.write_record(headers);
        out = writer.into_inner().unwrap_or_default();
    }
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    if !quote_header {
        let _ = writer.write_record(headers);
    }
    for row in rows {
        let _ = writer.write_record(row);
    }
    writer.into_inner().unwrap_or_default()
}

fn too_big(what: &str) -> SheetError {
    SheetError::Xlsx {
        reason: format!("the data has {what}"),
    }
}

/// Why the workbook could not be written, in the words the old limits used.
fn refused(error: XlsxError) -> SheetError {
    match error {
        XlsxError::RowColumnLimitError => too_big("more rows or columns than Excel allows"),
        XlsxError::MaxStringLengthExceeded => {
            too_big("a cell longer than Excel's 32,767 characters")
        }
        other => SheetError::Xlsx {
            reason: format!("writing it failed: {other}"),
        },
    }
}

fn column(index: usize) -> Result<ColNum, SheetError> {
    ColNum::try_from(index).map_err(|_| too_big("more columns than Excel allows"))
}

/// Writes `cells` into row `index` (0-based) as Text; empty cells are left out.
fn put_row<'a>(
    sheet: &mut Worksheet,
    index: usize,
    cells: impl Iterator<Item = &'a str>,
    text: &Format,
) -> Result<(), SheetError> {
    let row = RowNum::try_from(index).map_err(|_| too_big("more rows than Excel allows"))?;
    for (i, cell) in cells.enumerate() {
        if !cell.is_empty() {
            sheet
                .write_string_with_format(row, column(i)?, cell, text)
                .map_err(refused)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_beyond_excel_limits_is_refused() {
        let long = "x".repeat(32_768);
        assert!(matches!(
            write_xlsx(&["Catatan"], &[vec![long]]),
            Err(SheetError::Xlsx { .. })
        ));
    }

    #[test]
    fn more_columns_than_excel_allows_are_refused_before_anything_is_written() {
        let row = vec!["x".to_owned(); EXCEL_MAX_COLUMNS + 1];
        assert_eq!(
            write_xlsx(&["NIK"], &[row]),
            Err(too_big("more rows or columns than Excel allows"))
        );
    }
}
