//! `application/problem+json` (RFC 9457): the one shape every kesos HTTP error takes, so that
//! clients can rely on `status`, `title` and `detail`, and on a specific `type` per rule.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One input field that breaks a rule: which field, which rule, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as the client named it (a JSON pointer-like path or a column name).
    pub field: String,
    /// A stable rule identifier, e.g. `nik.length`.
    pub rule: String,
    /// The rule, said for a person.
    pub detail: String,
}

impl FieldError {
    /// A field error.
    pub fn new(
        field: impl Into<String>,
        rule: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
            detail: detail.into(),
        }
    }
}

/// A problem report (its schema, derived from this type, is the document's `Problem`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// Short, stable summary of the kind.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What happened this time, for a person.
    pub detail: String,
    /// The fields that break rules, when the problem is bad input (an RFC 9457 extension
    /// member).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem with the given status.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://kesos.kemensos.go.id/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400 for input that breaks field rules: the detail names the first, `errors` lists all.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.first() {
            Some(first) if errors.len() == 1 => format!("{}: {}", first.field, first.detail),
            Some(first) => format!(
                "{}: {} (and {} more field errors)",
                first.field,
                first.detail,
                errors.len() - 1
            ),
            None => "the request is invalid".to_owned(),
        };
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "Invalid input",
            detail,
        );
        problem.errors = errors;
        problem
    }

    /// 409 or 422 for a business rule that refuses the command; `kind` names the rule.
    pub fn rule(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self::new(status, kind, "Refused by a business rule", detail)
    }

    /// 404 for a route or resource that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 500 that leaks nothing; the cause is logged, not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed; the cause is in its log",
        )
    }

    /// 503 while a dependency is away.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
