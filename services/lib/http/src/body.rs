//! A JSON body extractor whose errors are problem+json naming the field, instead of axum's
//! plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
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
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Request body too large",
                    "the body is larger than this route accepts",
                )
            } else {
                Problem::invalid(vec![FieldError::new(
                    "body",
                    "body.readable",
                    e.to_string(),
                )])
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the path of the first field that does not fit (`education.level`,
/// or the field serde names for a missing or unknown one). A `null` is refused wherever it
/// stands (rule `json.null`): a field is given a value or left out, so `{"scheme": null}` is
/// never read as "no scheme".
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(field) = first_null(&value, "")
    {
        return Err(Problem::invalid(vec![FieldError::new(
            field,
            "json.null",
            "must be a value or left out; null is not accepted",
        )]));
    }
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

/// The path (`a.b[2]`, or `body` for the whole) of the first `null` in `value`.
fn first_null(value: &serde_json::Value, path: &str) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        serde_json::Value::Null => Some(here()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| first_null(item, &format!("{}[{i}]", here()))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let inner = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            first_null(item, &inner)
        }),
        _ => None,
    }
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
    fn a_null_field_is_refused_naming_it() {
        let problem = parse::<Form>(br#"{"name":null,"months":1}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "name");
        assert_eq!(problem.errors[0].rule, "json.null");
    }

    #[test]
    fn a_null_inside_a_list_is_named_by_its_place() {
        let problem = parse::<serde_json::Value>(br#"{"a":{"b":[1,null]}}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "a.b[1]");
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        let problem = parse::<Form>(b"{").unwrap_err();
        assert_eq!(problem.errors[0].rule, "json.syntax");
    }
}
