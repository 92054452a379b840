//! The OpenAPI 3.1 document served at `/openapi.json`, built from the route tables: every
//! path and operation comes from the entry that also builds the route and its access rule
//! ([`crate::http::api`]), so the document cannot drift from what the process serves. Only
//! what no route owns is written here: the title, the bearer scheme, and the problem+json
//! schema (derived from [`kesos_http::Problem`]).

use serde_json::{Value, json};

/// The document: the operational routes and every service's.
pub fn document() -> Value {
    let api = crate::http::api();
    let mut schemas = api.schemas;
    schemas.extend(kesos_http::openapi::problem_schemas());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kesos",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Certification of Indonesia's social-welfare workforce. Every route but health, this document, the dashboard's files and public verification needs a bearer token (`kesos token issue`); public verification is rate limited per client (429 with Retry-After)."
        },
        "security": [{ (kesos_auth::secured::BEARER): [] }],
        "paths": serde_json::to_value(api.paths).unwrap_or_else(|error| {
            tracing::error!(%error, "the OpenAPI paths cannot be written as JSON");
            json!({})
        }),
        "components": {
            "securitySchemes": { (kesos_auth::secured::BEARER): { "type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)" } },
            "schemas": schemas
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn public_verification_needs_no_token_and_every_other_operation_answers_401_and_403() {
        let document = document();
        assert_eq!(document["security"], json!([{ "bearer": [] }]));
        assert_eq!(
            document["paths"]["/v1/verify/{number}"]["get"]["security"],
            json!([])
        );
        assert!(document["paths"]["/v1/verify/{number}"]["get"]["responses"]["429"].is_object());
        let register = &document["paths"]["/v1/workers"]["post"];
        assert_eq!(register["security"], json!([{ "bearer": [] }]));
        assert!(register["responses"]["401"].is_object());
        assert!(register["responses"]["403"].is_object());
        assert!(document["paths"]["/v1/access-log"]["get"].is_object());
    }

    #[test]
    fn every_schema_the_operations_refer_to_is_among_the_components() {
        let document = document();
        let text = document["paths"].to_string() + &document["components"].to_string();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "no component schema {name}");
        }
    }

    #[test]
    fn a_body_never_admits_null_since_the_parser_refuses_it() {
        let schemas = document()["components"]["schemas"].to_string();
        assert!(!schemas.contains(r#"{"type":"null"}"#));
        for (name, schema) in document()["components"]["schemas"].as_object().unwrap() {
            if schema["additionalProperties"] == json!(false) {
                assert!(
                    !schema.to_string().contains("\"null\""),
                    "{name} admits null"
                );
            }
        }
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_list_states_the_paging_rule() {
        let document = document();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let parameters = operation["parameters"].as_array();
                for name in path.split('/').filter_map(|s| s.strip_prefix('{')) {
                    let name = name.trim_end_matches('}');
                    assert!(
                        parameters
                            .into_iter()
                            .flatten()
                            .any(|p| p["name"] == json!(name)
                                && p["in"] == json!("path")
                                && p["required"] == json!(true)),
                        "{method} {path} does not declare {name}"
                    );
                    assert!(operation["responses"]["404"].is_object(), "{method} {path}");
                }
                for parameter in parameters.into_iter().flatten() {
                    if parameter["name"] == json!("limit") {
                        assert_eq!(parameter["schema"]["maximum"], json!(500), "{path}");
                    }
                }
            }
        }
        let limit = document["paths"]["/v1/sessions"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == json!("limit"));
        assert!(limit);
    }
}
