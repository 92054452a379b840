//! Reads the first worksheet of an .xlsx workbook with calamine, rendering every cell as the text
//! the importer expects.
//!
//! Cells are streamed rather than loaded as calamine's dense `Range`: a single stray value at
//! cell XFD1048576 would otherwise allocate seventeen billion cells.

use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, Xlsx};

use crate::{
    CELL_OVERHEAD, Format, Limit, Limits, ROW_OVERHEAD, SheetError, Table, TableBuilder,
    check_cell, check_width, over,
};

/// Reads `bytes`, already known to be a ZIP holding `xl/workbook.xml` and checked by
/// [`crate::xlsx_guard`].
pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Table, SheetError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
    let name = workbook
        .sheets_metadata()
        .iter()
        .find(|sheet| sheet.typ == SheetType::WorkSheet)
        .map(|sheet| sheet.name.clone())
        .ok_or_else(|| SheetError::Xlsx {
            reason: "it has no worksheet".to_owned(),
        })?;
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(xlsx_error)?;

    // Rows holding at least one non-empty cell, as (0-based row, [(0-based column, text)]).
    let mut rows: Vec<(u32, Vec<(u32, String)>)> = Vec::new();
    let mut in_order = true;
    // The memory these sparse rows take, bounded like the table they become.
    let mut bytes_held: usize = 0;
    while let Some(cell) = cells.next_cell().map_err(xlsx_error)? {
        let (row, column) = cell.get_position();
        let number = row as usize + 1;
        let text = cell_text(cell.get_value(), limits, number)?;
        if text.is_empty() {
            continue;
        }
        check_width(limits, column as usize + 1, number)?;
        bytes_held = bytes_held.saturating_add(CELL_OVERHEAD + 8 + text.len());
        match rows.last_mut() {
            Some((last, row_cells)) if *last == row => row_cells.push((column, text)),
            last => {
                in_order &= last.is_none_or(|(last, _)| *last < row);
                // The header row plus the most data rows; one more is already too many.
                if rows.len() > limits.rows {
                    return Err(over(Limit::Rows, limits.rows, Some(number)));
                }
                bytes_held = bytes_held.saturating_add(ROW_OVERHEAD);
                rows.push((row, vec![(column, text)]));
            }
        }
        if bytes_held > limits.table_bytes {
            return Err(over(Limit::TableBytes, limits.table_bytes, Some(number)));
        }
    }
    if !in_order {
        // The format requires rows in ascending order, but not every writer obeys.
        rows.sort_by_key(|(row, _)| *row);
        rows.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1.append(&mut later.1);
            }
            same
        });
    }

    let mut builder = TableBuilder::new(Format::Xlsx, limits);
    for (row, row_cells) in rows {
        let width = row_cells
            .iter()
            .map(|(column, _)| *column as usize + 1)
            .max();
        let mut dense = vec![String::new(); width.unwrap_or(0)];
        for (column, text) in row_cells {
            dense[column as usize] = text;
        }
        builder.push(row as usize + 1, dense)?;
    }
    builder.finish()
}

fn xlsx_error(e: calamine::XlsxError) -> SheetError {
    SheetError::Xlsx {
        reason: e.to_string(),
    }
}

/// The text of one cell in the row the user sees as `number`, trimmed (empty for an empty cell),
/// refused past [`Limits::cell_chars`] before it is copied.
fn cell_text(value: &DataRef<'_>, limits: &Limits, number: usize) -> Result<String, SheetError> {
    let text = match value {
        DataRef::String(s) | DataRef::DurationIso(s) | DataRef::DateTimeIso(s) => s.trim(),
        DataRef::SharedString(s) => s.trim(),
        other => return Ok(rendered(other)),
    };
    check_cell(limits, text, number)?;
    Ok(rendered(value))
}

/// The text of a cell: numbers, dates, booleans and error codes rendered, strings trimmed.
fn rendered(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(true) => "TRUE".to_owned(),
        DataRef::Bool(false) => "FALSE".to_owned(),
        DataRef::DateTime(dt) => datetime_text(dt),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DurationIso(s) => s.trim().to_owned(),
        DataRef::SharedString(s) => s.trim().to_owned(),
        DataRef::DateTimeIso(s) => iso_datetime_text(s.trim()),
    }
}

/// A number as a person would type it: integral values exactly, without ".0" or an exponent
/// (3277014508900001.0 → "3277014508900001"), others in their shortest round-tripping decimal
/// form (0.1 → "0.1"). Rust's `Display` for `f64` does both and never uses an exponent.
fn number_text(f: f64) -> String {
    if f == 0.0 {
        "0".to_owned() // not "-0"
    } else {
        f.to_string()
    }
}

/// A date-formatted cell: "YYYY-MM-DD" when it has no time of day (a birth date), "HH:MM:SS" for
/// a bare time, both otherwise; durations as hours, minutes and seconds ("37:30:00").
fn datetime_text(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        let seconds = (dt.as_f64() * 86_400.0).round().max(0.0) as u64;
        return format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    let (year, month, day, hour, minute, second, milli) = dt.to_ymd_hms_milli();
    let date = format!("{year:04}-{month:02}-{day:02}");
    let time = format!("{hour:02}:{minute:02}:{second:02}");
    match (hour, minute, second, milli) {
        (0, 0, 0, _) => date,
        _ if dt.as_f64() < 1.0 => time,
        _ => format!("{date} {time}"),
    }
}

/// An ISO 8601 date-time as stored by some writers ("1990-05-17T00:00:00"), rendered like
/// [`datetime_text`]: the date alone at midnight, else date and time separated by a space.
fn iso_datetime_text(s: &str) -> String {
    match s.split_once('T') {
        Some((date, "00:00:00" | "00:00:00.000" | "00:00" | "00:00:00Z")) => date.to_owned(),
        Some((date, time)) => format!("{date} {time}"),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::*;

    fn datetime(serial: f64) -> String {
        datetime_text(&ExcelDateTime::new(
            serial,
            ExcelDateTimeType::DateTime,
            false,
        ))
    }

    #[test]
    fn integral_numbers_are_written_exactly_without_fraction_or_exponent() {
        assert_eq!(number_text(3_277_014_508_900_001.0), "3277014508900001");
        assert_eq!(number_text(1e21), "1000000000000000000000");
        assert_eq!(number_text(-0.0), "0");
        assert_eq!(number_text(-12.0), "-12");
    }

    #[test]
    fn fractional_numbers_are_written_in_their_shortest_form() {
        assert_eq!(number_text(0.1), "0.1");
        assert_eq!(number_text(7.25), "7.25");
        assert_eq!(number_text(1.5e-7), "0.00000015");
    }

    #[test]
    fn dates_times_and_date_times_are_written_in_iso_order() {
        assert_eq!(datetime(33010.0), "1990-05-17");
        assert_eq!(datetime(33010.5), "1990-05-17 12:00:00");
        assert_eq!(datetime(0.75), "18:00:00");
        assert_eq!(iso_datetime_text("1990-05-17T00:00:00"), "1990-05-17");
        assert_eq!(
            iso_datetime_text("1990-05-17T08:30:00"),
            "1990-05-17 08:30:00"
        );
        assert_eq!(iso_datetime_text("1990-05-17"), "1990-05-17");
    }

    #[test]
    fn durations_are_written_in_hours_minutes_and_seconds() {
        let duration = ExcelDateTime::new(1.5625, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&duration), "37:30:00");
    }
}
