//! A region's table as a file to take away (CSV or XLSX): the region and each child region,
//! every measure, the target and the rates — with the question (as-of date, recorded time,
//! category, role, scheme, target year) on every row, so a file that travels on its own still
//! says what it answers.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use kesos_http::Problem;
use kesos_proto::kesos::enrollment::v1::{WorkerCategory, WorkerRole};
use time::format_description::well_known::Rfc3339;

use super::question::{Question, invalid};
use super::region_name;
use crate::domain::measure::{ALL_SCHEMES, Measure};
use crate::service::{Figures, RegionReport};

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

/// The region's table in `format`.
pub(super) fn table(
    format: Format,
    report: &RegionReport,
    question: &Question,
) -> Result<Table, Problem> {
    let headers = headers();
    let rows = rows(report, question);
    let (media_type, bytes) = match format {
        Format::Csv => (
            "text/csv; charset=utf-8",
            kesos_spreadsheet::write_csv(&headers, &rows),
        ),
        Format::Xlsx => (
            XLSX,
            kesos_spreadsheet::write_xlsx(&headers, &rows).map_err(|e| Problem::internal(&e))?,
        ),
    };
    let region = match report.code.as_str() {
        "" => "nasional".to_owned(),
        code => code.replace('.', "-"),
    };
    let date = question
        .as_of_date
        .map_or_else(|| "now".to_owned(), |date| date.to_string());
    Ok(Table {
        file_name: format!("progress-{region}-{date}.{}", format.extension()),
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
    fn every_measure_has_a_column_after_the_question() {
        let headers = headers();
        assert_eq!(headers[..3], ["region_code", "region_name", "row"]);
        for measure in Measure::ALL {
            assert!(headers.contains(&measure.name()), "{}", measure.name());
        }
        assert_eq!(headers.last(), Some(&"certification_rate"));
    }
}
