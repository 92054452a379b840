//! A region's tables as files to take away (CSV or XLSX): its children (the region and each
//! child region, every measure, the target and the rates) or its months (each count's change
//! during the month and its value at the month's end) — with the question (as-of date, recorded
//! time, category, role, scheme, and the target year where targets are shown) on every row, so
//! a file that travels on its own still says what it answers.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use kesos_http::Problem;
use kesos_proto::kesos::enrollment::v1::{WorkerCategory, WorkerRole};
use time::format_description::well_known::Rfc3339;

use super::question::{Question, invalid};
use super::region_name;
use crate::domain::measure::{ALL_SCHEMES, Measure};
use crate::service::{Figures, Month, RegionReport};

/// The media type of a workbook.
pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The file formats a table is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UTF-8 CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl Format {
    /// The `format` parameter: `csv` or `xlsx`.
    pub fn parse(text: Option<&str>) -> Result<Self, Problem> {
        match text {
            Some("csv") => Ok(Self::Csv),
            Some("xlsx") => Ok(Self::Xlsx),
            None => Err(invalid(
                "format",
                "format.missing",
                "csv or xlsx is required",
            )),
            Some(_) => Err(invalid("format", "format.enum", "must be csv or xlsx")),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// Which of a region's tables a file holds: the `table` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// The region and each child region, as the dashboard's table of children (the default).
    Children,
    /// A row per month, as the dashboard's monthly trend.
    Months,
}

impl Contents {
    /// The `table` parameter: `children` (also when absent) or `months`.
    pub fn parse(text: Option<&str>) -> Result<Self, Problem> {
        match text {
            None | Some("children") => Ok(Self::Children),
            Some("months") => Ok(Self::Months),
            Some(_) => Err(invalid("table", "table.enum", "must be children or months")),
        }
    }
}

/// The columns: the row's region, the question, then the figures.
pub(super) fn headers() -> Vec<&'static str> {
    let mut headers = vec![
        "region_code",
        "region_name",
        "row",
        "as_of",
        "known_at",
        "category",
        "role",
        "scheme",
        "target_year",
    ];
    headers.extend(Measure::ALL.iter().map(|measure| measure.name()));
    headers.extend(["target", "target_progress", "certification_rate"]);
    headers
}

/// The region's row, then a row per child region, in code order.
pub(super) fn rows(report: &RegionReport, question: &Question) -> Vec<Vec<String>> {
    let asked = asked(question);
    let mut rows = vec![row(&report.code, "region", &report.figures, &asked)];
    rows.extend(
        report
            .children
            .iter()
            .map(|(code, figures)| row(code, "child", figures, &asked)),
    );
    rows
}

/// The question's columns, the same on every row.
fn asked(question: &Question) -> [String; 6] {
    let name = |text: &str, prefix: &str| text.trim_start_matches(prefix).to_ascii_lowercase();
    [
        question
            .as_of_date
            .map(|date| date.to_string())
            .unwrap_or_default(),
        question
            .known_at
            .and_then(|at| at.format(&Rfc3339).ok())
            .unwrap_or_default(),
        question
            .filter
            .category
            .and_then(|c| WorkerCategory::try_from(c).ok())
            .map(|c| name(c.as_str_name(), "WORKER_CATEGORY_"))
            .unwrap_or_default(),
        question
            .filter
            .role
            .and_then(|r| WorkerRole::try_from(r).ok())
            .map(|r| name(r.as_str_name(), "WORKER_ROLE_"))
            .unwrap_or_default(),
        match question.filter.scheme.as_str() {
            ALL_SCHEMES => String::new(),
            scheme => scheme.to_owned(),
        },
        question.year.to_string(),
    ]
}

fn row(code: &str, kind: &str, figures: &Figures, asked: &[String; 6]) -> Vec<String> {
    let rate = |value: Option<f64>| value.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut row = vec![
        code.to_owned(),
        region_name(code).unwrap_or_default(),
        kind.to_owned(),
    ];
    row.extend(asked.iter().cloned());
    row.extend(
        Measure::ALL
            .iter()
            .map(|measure| figures.counts.get(*measure).to_string()),
    );
    row.push(
        figures
            .target
            .as_ref()
            .map(|target| target.count.to_string())
            .unwrap_or_default(),
    );
    row.push(rate(figures.target_progress));
    row.push(rate(figures.certification_rate));
    row
}

/// The columns of the monthly table: the region, the month, the question (no target year:
/// the months show no target), then each measure's change during the month and each one's
/// value at the month's end.
pub(super) fn month_headers() -> Vec<String> {
    let mut headers: Vec<String> = [
        "region_code",
        "region_name",
        "month",
        "as_of",
        "known_at",
        "category",
        "role",
        "scheme",
    ]
    .map(str::to_owned)
    .to_vec();
    headers.extend(
        Measure::ALL
            .iter()
            .map(|measure| format!("{}_change", measure.name())),
    );
    headers.extend(
        Measure::ALL
            .iter()
            .map(|measure| format!("{}_end", measure.name())),
    );
    headers
}

/// A row per month the series holds, oldest first.
pub(super) fn month_rows(code: &str, months: &[Month], question: &Question) -> Vec<Vec<String>> {
    let asked = asked(question);
    let name = region_name(code).unwrap_or_default();
    months
        .iter()
        .map(|month| {
            let mut row = vec![code.to_owned(), name.clone(), month.month.clone()];
            row.extend(asked[..5].iter().cloned());
            row.extend(
                Measure::ALL
                    .iter()
                    .map(|measure| month.change.get(*measure).to_string()),
            );
            row.extend(
                Measure::ALL
                    .iter()
                    .map(|measure| month.end.get(*measure).to_string()),
            );
            row
        })
        .collect()
}

/// A table written as a file, with its media type and a name that says the region and the
/// as-of date (`progress-32-77-2021-06-30.xlsx`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The file's name.
    pub file_name: String,
    /// Its media type.
    pub media_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl IntoResponse for Table {
    fn into_response(self) -> Response {
        let disposition = format!("attachment; filename=\"{}\"", self.file_name);
        (
            [
                (header::CONTENT_TYPE, self.media_type.to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            self.bytes,
        )
            .into_response()
    }
}

/// The region's table of children in `format`, named `progress-<region>-<date>`.
pub(super) fn table(
    format: Format,
    report: &RegionReport,
    question: &Question,
) -> Result<Table, Problem> {
    let headers = headers();
    let rows = rows(report, question);
    write(format, &headers, &rows, "progress", &report.code, question)
}

/// The region's monthly table in `format`, named `progress-months-<region>-<date>`.
pub(super) fn months_table(
    format: Format,
    code: &str,
    months: &[Month],
    question: &Question,
) -> Result<Table, Problem> {
    let headers = month_headers();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows = month_rows(code, months, question);
    write(format, &headers, &rows, "progress-months", code, question)
}

/// `headers` and `rows` in `format`, under a name that says what, where and as of when.
fn write(
    format: Format,
    headers: &[&str],
    rows: &[Vec<String>],
    what: &str,
    code: &str,
    question: &Question,
) -> Result<Table, Problem> {
    let (media_type, bytes) = match format {
        Format::Csv => (
            "text/csv; charset=utf-8",
            kesos_spreadsheet::write_csv(headers, rows),
        ),
        Format::Xlsx => (
            XLSX,
            kesos_spreadsheet::write_xlsx(headers, rows).map_err(|e| Problem::internal(&e))?,
        ),
    };
    let region = match code {
        "" => "nasional".to_owned(),
        code => code.replace('.', "-"),
    };
    let date = question
        .as_of_date
        .map_or_else(|| "now".to_owned(), |date| date.to_string());
    Ok(Table {
        file_name: format!("{what}-{region}-{date}.{}", format.extension()),
        media_type,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_format_is_csv_or_xlsx_and_nothing_else() {
        assert_eq!(Format::parse(Some("csv")).unwrap(), Format::Csv);
        assert_eq!(Format::parse(Some("xlsx")).unwrap(), Format::Xlsx);
        for bad in [None, Some("pdf"), Some("CSV")] {
            let problem = Format::parse(bad).unwrap_err();
            assert_eq!(problem.errors[0].field, "format");
        }
    }

    #[test]
    fn the_table_is_children_unless_months_is_asked_for() {
        assert_eq!(Contents::parse(None).unwrap(), Contents::Children);
        assert_eq!(
            Contents::parse(Some("children")).unwrap(),
            Contents::Children
        );
        assert_eq!(Contents::parse(Some("months")).unwrap(), Contents::Months);
        let problem = Contents::parse(Some("targets")).unwrap_err();
        assert_eq!(problem.errors[0].field, "table");
    }

    #[test]
    fn the_monthly_table_has_a_change_and_an_end_column_for_every_measure() {
        let headers = month_headers();
        assert_eq!(headers[..3], ["region_code", "region_name", "month"]);
        assert!(!headers.iter().any(|h| h == "target_year"));
        for measure in Measure::ALL {
            assert!(headers.contains(&format!("{}_change", measure.name())));
            assert!(headers.contains(&format!("{}_end", measure.name())));
        }
        assert_eq!(headers.len(), 8 + 2 * Measure::ALL.len());
    }

    #[test]
    fn every_measure_has_a_column_after_the_question() {
        let headers = headers();
        assert_eq!(headers[..3], ["region_code", "region_name", "row"]);
        for measure in Measure::ALL {
            assert!(headers.contains(&measure.name()), "{}", measure.name());
        }
        assert_eq!(headers.last(), Some(&"certification_rate"));
    }
}
