//! A JSON body extractor whose errors are problem+json naming the field, instead of axum's
//! plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::problem::{FieldError, Problem};

/// A JSON request body of type `T`. Malformed JSON, a wrong type or a missing field answers
/// 400 problem+json with the field's path and the rule `json.<kind>`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            Problem::invalid(vec![FieldError::new(
                "body",
                "body.readable",
                e.to_string(),
            )])
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the path of the first field that does not fit (`education.level`,
/// or the field serde names for a missing or unknown one).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| (error.path().to_string(), error.into_inner()))
        .and_then(|value| {
            deserializer
                .end()
                .map(|()| value)
                .map_err(|e| (String::new(), e))
        });
    parsed.map_err(|(path, inner)| {
        let rule = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "json.syntax",
            serde_json::error::Category::Data => "json.type",
            serde_json::error::Category::Io => "json.readable",
        };
        let text = inner.to_string();
        let named = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"));
        // serde names a missing field in its message only; an unknown one is in the path too.
        let field = match (named, path.as_str()) {
            (Some(name), "." | "") => name.to_owned(),
            (Some(name), parent) if !parent.ends_with(name) => format!("{parent}.{name}"),
            (None, "." | "") => "body".to_owned(),
            (_, path) => path.to_owned(),
        };
        Problem::invalid(vec![FieldError::new(field, rule, text)])
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        name: String,
        months: u32,
    }

    #[test]
    fn a_missing_field_is_named() {
        let problem = parse::<Form>(br#"{"name":"a"}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "months");
        assert_eq!(problem.status, 400);
    }

    #[test]
    fn an_unknown_field_is_named() {
        let problem = parse::<Form>(br#"{"name":"a","months":1,"x":2}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "x");
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        let problem = parse::<Form>(b"{").unwrap_err();
        assert_eq!(problem.errors[0].rule, "json.syntax");
    }
}
