//! `POST /v1/progress/workbook`: a table the dashboard holds (a kabupaten/kota's list of
//! workers, sessions, candidates or certificates, read page by page from their own services)
//! written as an Excel workbook by the one writer kesos has (`kesos_spreadsheet`, on
//! `rust_xlsxwriter`), so the browser writes no XLSX of its own. Nothing is read or stored:
//! the answer is the caller's own rows, as a file.

use axum::response::{IntoResponse, Response};
use kesos_http::{JsonBody, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::export::{Table, XLSX};
use super::question::invalid;

/// Most columns a workbook here takes (the dashboard's widest list has about fifteen).
const MAX_COLUMNS: usize = 100;
/// Most rows (a kabupaten/kota's workers are a few thousand at most).
const MAX_ROWS: usize = 100_000;
/// Longest file name, before `.xlsx`.
const MAX_NAME: usize = 100;

/// A table to write as a workbook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WorkbookBody {
    /// The file's name without `.xlsx`: 1-100 letters, digits, `-`, `_` or `.`, e.g.
    /// `workers-32-77-2026-12-07`.
    name: String,
    /// The header row, 1-100 columns.
    headers: Vec<String>,
    /// The rows, each at most as wide as the header row, every cell text (at most 100,000
    /// rows; a cell at most 32,767 characters, Excel's limit).
    rows: Vec<Vec<String>>,
}

/// Writes the body's table as `<name>.xlsx`, every column formatted as text.
pub(super) async fn workbook(JsonBody(body): JsonBody<WorkbookBody>) -> Result<Response, Problem> {
    check(&body)?;
    let headers: Vec<&str> = body.headers.iter().map(String::as_str).collect();
    let bytes = kesos_spreadsheet::write_xlsx(&headers, &body.rows)
        .map_err(|error| invalid("rows", "excel-limits", error.to_string()))?;
    Ok(Table {
        file_name: format!("{}.xlsx", body.name),
        media_type: XLSX,
        bytes,
    }
    .into_response())
}

/// The body's rules, each refusal naming its field.
fn check(body: &WorkbookBody) -> Result<(), Problem> {
    let name_ok = (1..=MAX_NAME).contains(&body.name.len())
        && body
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !body.name.starts_with('.');
    if !name_ok {
        return Err(invalid(
            "name",
            "file-name",
            "1-100 letters, digits, '-', '_' or '.', not starting with '.'",
        ));
    }
    if !(1..=MAX_COLUMNS).contains(&body.headers.len()) {
        return Err(invalid("headers", "columns", "1-100 column headers"));
    }
    if body.rows.len() > MAX_ROWS {
        return Err(invalid("rows", "rows", "at most 100,000 rows"));
    }
    if let Some(index) = body
        .rows
        .iter()
        .position(|row| row.len() > body.headers.len())
    {
        return Err(invalid(
            &format!("rows[{index}]"),
            "width",
            "a row has more cells than the header row has columns",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(name: &str, headers: &[&str], rows: &[&[&str]]) -> WorkbookBody {
        WorkbookBody {
            name: name.to_owned(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|row| row.iter().map(|c| (*c).to_owned()).collect())
                .collect(),
        }
    }

    #[tokio::test]
    async fn the_rows_come_back_as_a_workbook_that_reads_back_as_text() {
        let table = body(
            "workers-32-77-2026-12-07",
            &["nik", "name"],
            &[&["3277015705900002", "Siti Aminah"], &["", "Dewi"]],
        );
        let response = workbook(JsonBody(table)).await.unwrap();
        assert_eq!(response.headers()["content-type"], XLSX);
        assert_eq!(
            response.headers()["content-disposition"],
            "attachment; filename=\"workers-32-77-2026-12-07.xlsx\""
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let read = kesos_spreadsheet::read_table(&bytes).unwrap();
        assert_eq!(read.headers, ["nik", "name"]);
        assert_eq!(read.rows[0].cells, ["3277015705900002", "Siti Aminah"]);
    }

    #[test]
    fn a_bad_name_no_headers_or_a_row_wider_than_the_headers_is_refused_naming_the_field() {
        for (table, field) in [
            (body("../etc", &["a"], &[]), "name"),
            (body("", &["a"], &[]), "name"),
            (body("ok", &[], &[]), "headers"),
            (body("ok", &["a"], &[&["1"], &["1", "2"]]), "rows[1]"),
        ] {
            let problem = format!("{:?}", check(&table).unwrap_err());
            assert!(
                problem.contains(&format!("\"{field}\"")),
                "{field}: {problem}"
            );
        }
    }
}
