//! The one paging rule of every kesos list: `limit` from 1 to [`MAX_LIMIT`] (default
//! [`DEFAULT_LIMIT`]), and `after`, when given, the `next` value of the previous page — the
//! UUID of the last item, which anything else cannot be, so a malformed cursor is a 400 and
//! never a silently empty page.

use uuid::Uuid;

use crate::problem::{FieldError, Problem};

/// Most items one page holds.
pub const MAX_LIMIT: u32 = 500;

/// Items on a page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// A checked page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// The id after which the page starts, in the canonical hyphenated lower-case form the
    /// lists order by; `None` for the first page.
    pub after: Option<String>,
    /// How many items, from 1 to [`MAX_LIMIT`].
    pub limit: u32,
}

impl Paging {
    /// Checks a list's `after` and `limit` parameters (leave `after` out for the first page).
    pub fn parse(after: Option<&str>, limit: Option<u32>) -> Result<Self, Problem> {
        let after = after
            .map(|a| {
                Uuid::parse_str(a).map(|id| id.to_string()).map_err(|_| {
                    Problem::invalid(vec![FieldError::new(
                        "after",
                        "after.cursor",
                        "must be the `next` value of the previous page (a UUID)",
                    )])
                })
            })
            .transpose()?;
        Ok(Self {
            after,
            limit: limit_of(limit)?,
        })
    }
}

/// Checks a `limit` parameter alone (lists that have no cursor, such as the access log).
pub fn limit_of(limit: Option<u32>) -> Result<u32, Problem> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        _ => Err(Problem::invalid(vec![FieldError::new(
            "limit",
            "limit.range",
            format!("must be from 1 to {MAX_LIMIT}"),
        )])),
    }
}

/// The OpenAPI schema of a list's `limit` and `after` query parameters (`None` for other
/// names), so the document states the same rule [`Paging::parse`] enforces.
pub fn parameter_schema(name: &str) -> Option<utoipa::openapi::Schema> {
    use utoipa::openapi::{ObjectBuilder, SchemaFormat, Type};
    let schema = match name {
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(serde_json::json!(DEFAULT_LIMIT))),
        "after" => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".to_owned())))
            .description(Some("the `next` value of the previous page")),
        _ => return None,
    };
    Some(utoipa::openapi::Schema::Object(schema.build()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn no_parameters_ask_for_the_first_page_of_the_default_size() {
        assert_eq!(
            Paging::parse(None, None).unwrap(),
            Paging {
                after: None,
                limit: DEFAULT_LIMIT
            }
        );
    }

    #[test]
    fn a_limit_of_zero_or_above_the_maximum_is_refused_naming_limit() {
        for limit in [0, MAX_LIMIT + 1, 100_000] {
            let problem = Paging::parse(None, Some(limit)).unwrap_err();
            assert_eq!(problem.errors[0].field, "limit");
            assert_eq!(problem.errors[0].rule, "limit.range");
        }
    }

    #[test]
    fn a_cursor_that_is_no_id_is_refused_naming_after() {
        for after in ["zzz", ""] {
            let problem = Paging::parse(Some(after), None).unwrap_err();
            assert_eq!(problem.errors[0].field, "after");
        }
    }

    #[test]
    fn a_cursor_is_read_in_the_canonical_form() {
        let id = "0190F3A2-0000-7000-8000-000000000001";
        let paging = Paging::parse(Some(id), Some(MAX_LIMIT)).unwrap();
        assert_eq!(paging.after.as_deref(), Some(id.to_lowercase().as_str()));
    }
}
