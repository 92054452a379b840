//! Writes the files [`crate::read_table`] reads: a minimal .xlsx workbook and UTF-8 CSV, for
//! templates sent to Dinas offices, samples, tests and benchmarks.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::SheetError;

/// Excel's own limits; a file beyond them is "repaired" (truncated) when opened.
const EXCEL_MAX_ROWS: usize = 1_048_576;
const EXCEL_MAX_COLUMNS: usize = 16_384;
const EXCEL_MAX_CELL_CHARS: usize = 32_767;

/// Writes a one-sheet .xlsx workbook: `headers` in row 1, then `rows`, every cell a string.
///
/// Cells are inline strings and every column is formatted as Text (number format "@"), so a
/// 16-digit NIK stays exact when the file is opened, and a NIK typed later into the same column
/// of the template stays text too instead of losing its last digit. Empty strings leave the cell
/// empty. Text is XML-escaped; control characters that XML cannot carry are written as Excel's
/// `_xHHHH_` escapes, so they survive a round trip. The workbook holds the parts Excel,
/// LibreOffice and calamine need and nothing else.
///
/// # Errors
/// [`SheetError::Xlsx`] if the data exceeds Excel's limits (1,048,576 rows, 16,384 columns,
/// 32,767 characters in a cell), which Excel would otherwise silently truncate, or in the
/// unreachable case that writing the ZIP into memory fails.
pub fn write_xlsx(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, SheetError> {
    let width = rows.iter().map(Vec::len).fold(headers.len(), usize::max);
    if rows.len() + 1 > EXCEL_MAX_ROWS || width > EXCEL_MAX_COLUMNS {
        return Err(too_big("more rows or columns than Excel allows"));
    }
    let mut sheet = String::with_capacity(64 * width * (rows.len() + 1) + 512);
    sheet.push_str(XML_DECLARATION);
    sheet.push_str(
        r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    );
    if width > 0 {
        // Style 1 (Text) for whole columns is what keeps later typing as text.
        let _ = write!(
            sheet,
            r#"<cols><col min="1" max="{width}" width="24" style="1" customWidth="1"/></cols>"#
        );
    }
    sheet.push_str("<sheetData>");
    let header_cells = headers.iter().copied();
    push_row(&mut sheet, 1, header_cells)?;
    for (i, row) in rows.iter().enumerate() {
        push_row(&mut sheet, i + 2, row.iter().map(String::as_str))?;
    }
    sheet.push_str("</sheetData></worksheet>");

    let parts: [(&str, &str); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/styles.xml", STYLES),
        ("xl/worksheets/sheet1.xml", &sheet),
    ];
    zip_parts(&parts).map_err(|e| SheetError::Xlsx {
        reason: format!("writing it failed: {e}"),
    })
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

fn zip_parts(parts: &[(&str, &str)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in parts {
        zip.start_file(*name, options)?;
        zip.write_all(content.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Appends `<row>` number `number` (1-based) holding `cells` as inline strings in style 1.
fn push_row<'a>(
    sheet: &mut String,
    number: usize,
    cells: impl Iterator<Item = &'a str>,
) -> Result<(), SheetError> {
    let _ = write!(sheet, r#"<row r="{number}">"#);
    for (column, text) in cells.enumerate() {
        if text.is_empty() {
            continue;
        }
        if text.len() > EXCEL_MAX_CELL_CHARS && text.chars().count() > EXCEL_MAX_CELL_CHARS {
            return Err(too_big("a cell longer than Excel's 32,767 characters"));
        }
        sheet.push_str(r#"<c r=""#);
        push_column_name(sheet, column);
        let _ = write!(
            sheet,
            r#"{number}" s="1" t="inlineStr"><is><t xml:space="preserve">"#
        );
        push_escaped(sheet, text);
        sheet.push_str("</t></is></c>");
    }
    sheet.push_str("</row>");
    Ok(())
}

/// Column `index` (0-based) in Excel's letters: 0 → A, 25 → Z, 26 → AA.
fn push_column_name(out: &mut String, index: usize) {
    let mut letters = [0u8; 4];
    let mut len = 0;
    let mut n = index + 1;
    while n > 0 && len < letters.len() {
        let rem = (n - 1) % 26;
        letters[len] = b'A' + rem as u8;
        len += 1;
        n = (n - 1) / 26;
    }
    out.extend(letters[..len].iter().rev().map(|b| char::from(*b)));
}

/// Appends `text` as XML character data in the form SpreadsheetML readers unescape exactly.
fn push_escaped(out: &mut String, text: &str) {
    for (i, c) in text.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A raw carriage return would be normalised to a line feed by the XML parser.
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            // Not allowed in XML 1.0 at all; Excel writes these as _xHHHH_.
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "_x{:04X}_", u32::from(c));
            }
            // A literal "_x0041_" would itself be read as an escape; escape its underscore.
            '_' if is_ooxml_escape(&text[i..]) => out.push_str("_x005F_"),
            c => out.push(c),
        }
    }
}

/// Whether `s` starts with `_xHHHH_`.
fn is_ooxml_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7
        && b.starts_with(b"_x")
        && b[2..6].iter().all(u8::is_ascii_hexdigit)
        && b[6] == b'_'
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

const CONTENT_TYPES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/xml"/>"#,
    r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    r#"<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#,
    r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    "</Types>"
);

const ROOT_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    "</Relationships>"
);

const WORKBOOK: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    r#"<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>"#,
    "</workbook>"
);

const WORKBOOK_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
    "</Relationships>"
);

/// The smallest stylesheet Excel accepts, plus style 1: number format 49, "@" (Text).
const STYLES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>"#,
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>"#,
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    "</styleSheet>"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn column_name(index: usize) -> String {
        let mut out = String::new();
        push_column_name(&mut out, index);
        out
    }

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    #[test]
    fn columns_are_named_in_excel_letters() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
        assert_eq!(column_name(EXCEL_MAX_COLUMNS - 1), "XFD");
    }

    #[test]
    fn text_is_escaped_for_xml_and_for_excel_escapes() {
        assert_eq!(escaped("A&B <c> \"d\""), "A&amp;B &lt;c&gt; &quot;d&quot;");
        assert_eq!(escaped("a\u{1}b"), "a_x0001_b");
        assert_eq!(escaped("_x0041_ and _x41_"), "_x005F_x0041_ and _x41_");
    }

    #[test]
    fn a_row_beyond_excel_limits_is_refused() {
        let long = "x".repeat(EXCEL_MAX_CELL_CHARS + 1);
        assert!(matches!(
            write_xlsx(&["Catatan"], &[vec![long]]),
            Err(SheetError::Xlsx { .. })
        ));
    }
}
