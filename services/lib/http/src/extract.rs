//! Query-string and path extractors whose every rejection is problem+json naming the field and
//! the rule, instead of axum's `400 text/plain`. Routes import these in place of axum's
//! `Query` and `Path`, so no malformed URL can reach a client as plain text.

use axum::extract::FromRequestParts;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{FieldError, Problem};

/// A query string read into `T`. A value that does not parse, a parameter given twice, a
/// missing one or (with `deny_unknown_fields`) an unknown one answers 400 problem+json with
/// the parameter's name and the rule `query.<kind>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// Reads a query string (without its `?`) into `T`, naming the parameter that does not fit.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let text = error.into_inner().to_string();
        let (field, kind) = match named(&text) {
            Some((kind, name)) => (name.to_owned(), kind),
            None if path == "." || path.is_empty() => ("query".to_owned(), "format"),
            None => (path, "type"),
        };
        let detail = match kind {
            "unknown" => "is not a parameter of this route".to_owned(),
            "duplicate" => "is given more than once; give it once".to_owned(),
            "missing" => "is required".to_owned(),
            _ => text,
        };
        Problem::invalid(vec![FieldError::new(
            field,
            format!("query.{kind}"),
            detail,
        )])
    })
}

/// The kind and name serde gives in messages like ``missing field `x` ``.
fn named(text: &str) -> Option<(&'static str, &str)> {
    let kind = [
        ("missing field", "missing"),
        ("unknown field", "unknown"),
        ("duplicate field", "duplicate"),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| text.starts_with(prefix).then_some(kind))?;
    text.split('`').nth(1).map(|name| (kind, name))
}

/// Path parameters read into `T` (a `String`, a tuple of them, or a struct). A segment that
/// does not decode or parse answers 400 problem+json naming the parameter, rule `path.format`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let field = match error.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                Err(Problem::invalid(vec![FieldError::new(
                    field,
                    "path.format",
                    error.body_text(),
                )]))
            }
            // The route has no parameters to give: a programming error, not bad input.
            Err(other) => Err(Problem::internal(&other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct List {
        limit: Option<u32>,
        lang: Option<String>,
    }

    fn rejected(query: &str) -> FieldError {
        let problem = parse_query::<List>(query).unwrap_err();
        assert_eq!(problem.status, 400);
        problem.errors[0].clone()
    }

    #[test]
    fn an_empty_number_is_named_with_its_rule() {
        let error = rejected("limit=");
        assert_eq!(
            (error.field.as_str(), error.rule.as_str()),
            ("limit", "query.type")
        );
    }

    #[test]
    fn a_word_where_a_number_belongs_is_named() {
        assert_eq!(rejected("limit=abc").field, "limit");
    }

    #[test]
    fn a_parameter_given_twice_is_named() {
        let error = rejected("lang=a&lang=b");
        assert_eq!(
            (error.field.as_str(), error.rule.as_str()),
            ("lang", "query.duplicate")
        );
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let error = rejected("x=1");
        assert_eq!(
            (error.field.as_str(), error.rule.as_str()),
            ("x", "query.unknown")
        );
    }

    #[test]
    fn a_well_formed_query_is_read() {
        let list = parse_query::<List>("limit=5&lang=en").unwrap();
        assert_eq!(list.limit, Some(5));
    }
}
