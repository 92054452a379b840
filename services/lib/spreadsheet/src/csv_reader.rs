//! Reads UTF-8 delimited text with the `csv` crate, adding what that crate leaves to its caller:
//! encoding checks, delimiter sniffing, spreadsheet row numbers and unclosed-quote detection.

use crate::{Format, Limits, SheetError, Table, TableBuilder, check_cell, check_width};

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads `bytes` (already known not to be a binary format) as CSV.
pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Table, SheetError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    // Validating the whole file up front is cheap and lets the error name the exact text line,
    // which the csv crate cannot (it reports the line where the record starts).
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(SheetError::WrongEncoding {
            line: line_at(bytes, e.valid_up_to()),
            detail: "probably Windows-1252 or Latin-1".to_owned(),
        });
    }
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut builder = TableBuilder::new(Format::Csv { delimiter }, limits);
    let mut record = csv::ByteRecord::new();
    let mut number = 0;
    let mut last_start = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(parse_error(&e)),
        }
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(bytes.len());
        // The csv crate silently skips empty lines; a spreadsheet program shows each as a row.
        number += 1 + blank_lines_at(bytes, start);
        last_start = start;
        // Only the cells up to the last non-empty one are built, after the limits are checked:
        // a line of a million delimiters costs nothing.
        let width = record
            .iter()
            .rposition(|field| !is_blank(field))
            .map_or(0, |last| last + 1);
        check_width(limits, width, number)?;
        let mut cells = Vec::with_capacity(width);
        for field in record.iter().take(width) {
            let text = cell_text(field);
            check_cell(limits, &text, number)?;
            cells.push(text);
        }
        builder.push(number, cells)?;
    }
    check_last_quote_closed(bytes, last_start, delimiter)?;
    builder.finish()
}

/// A field as trimmed text. Fields of a valid UTF-8 file split at ASCII delimiters are valid
/// UTF-8, so the lossy branch never runs; it only avoids an unreachable error path.
fn cell_text(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(text) => text.trim().to_owned(),
        Err(_) => String::from_utf8_lossy(field).trim().to_owned(),
    }
}

/// Whether a field is empty once trimmed, without building its text.
fn is_blank(field: &[u8]) -> bool {
    match std::str::from_utf8(field) {
        Ok(text) => text.trim().is_empty(),
        Err(_) => String::from_utf8_lossy(field).trim().is_empty(),
    }
}

/// The 1-based text line holding byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Picks ',', ';' or '\t', whichever occurs most often outside quotes in the first non-blank
/// line (ties go in that order; a single-column file gets ','). Excel in the Indonesian locale
/// writes ';', because ',' is the decimal separator there.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut blank = true;
    for &b in bytes {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                blank = false;
            }
            b'\n' if !in_quotes => {
                if !blank {
                    break;
                }
                counts = [0; 3];
            }
            _ if in_quotes => {}
            _ => {
                if let Some(i) = CANDIDATES.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
                blank &= b.is_ascii_whitespace() || CANDIDATES.contains(&b);
            }
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// How many empty lines precede the record that the reader started parsing at `start`.
fn blank_lines_at(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    // The reader may stop between the '\r' and the '\n' of the previous record's terminator.
    if i > 0 && bytes.get(i - 1) == Some(&b'\r') && bytes.get(i) == Some(&b'\n') {
        i += 1;
    }
    let mut lines = 0;
    loop {
        match bytes.get(i) {
            Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            Some(b'\r' | b'\n') => i += 1,
            _ => return lines,
        }
        lines += 1;
    }
}

/// Where a field may be while scanning CSV, mirroring the csv crate's (RFC 4180) reading.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// The csv crate reads an unclosed quote to the end of the file without complaint, silently
/// swallowing every row after it into one cell. Such a quote necessarily opens in the last
/// record, so only that record (from `start`) needs scanning.
fn check_last_quote_closed(bytes: &[u8], start: usize, delimiter: u8) -> Result<(), SheetError> {
    let mut state = Scan::FieldStart;
    let mut opened_at = start;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        state = match (state, b) {
            (Scan::FieldStart, b'"') => {
                opened_at = i;
                Scan::Quoted
            }
            (Scan::Quoted, b'"') => Scan::QuoteInQuoted,
            (Scan::Quoted, _) => Scan::Quoted,
            (Scan::QuoteInQuoted, b'"') => Scan::Quoted,
            (_, b'\r' | b'\n') => Scan::FieldStart,
            (_, b) if b == delimiter => Scan::FieldStart,
            _ => Scan::Unquoted,
        };
    }
    if state == Scan::Quoted {
        return Err(SheetError::Csv {
            line: line_at(bytes, opened_at),
            reason: "a quoted cell starts here but its closing quote (\") is missing".to_owned(),
        });
    }
    Ok(())
}

/// The csv crate reports only I/O and UTF-8 errors in flexible mode, and neither can happen on
/// validated bytes in memory; mapped anyway rather than unwrapped.
fn parse_error(e: &csv::Error) -> SheetError {
    let line = e
        .position()
        .and_then(|p| usize::try_from(p.line()).ok())
        .unwrap_or(1);
    SheetError::Csv {
        line,
        reason: e.to_string(),
    }
}
