//! The OpenAPI 3.1 document of the operational routes, served at `/openapi.json`.

use serde_json::{Value, json};

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// The document: the operational routes and every service's.
pub fn document() -> Value {
    let mut document = operational();
    for (paths, schemas) in [
        kesos_enrollment::http::openapi::document(),
        kesos_scheduling::http::openapi::document(),
        kesos_certification::http::openapi::document(),
        kesos_progress::http::openapi::document(),
    ] {
        if let Some(all) = document["paths"].as_object_mut() {
            all.extend(paths);
        }
        if let Some(all) = document["components"]["schemas"].as_object_mut() {
            all.extend(schemas);
        }
    }
    open_to_the_public(&mut document);
    describe_what_every_route_answers(&mut document);
    document
}

/// The answers every route shares, stated once here rather than in every service's document:
/// each path parameter is declared (ids are UUIDs), `limit` and `after` follow the one paging
/// rule, an operation that reads input may answer 400, one with path parameters 404, and
/// public verification 429 past the rate limit — all as problem+json.
fn describe_what_every_route_answers(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let names: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            declare_path_parameters(operation, &names);
            let mut reads_input = operation.get("requestBody").is_some();
            let parameters = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut);
            for parameter in parameters.into_iter().flatten() {
                reads_input |= parameter["in"] != json!("header");
                let name = parameter["name"].as_str().unwrap_or_default();
                if parameter["in"] == json!("query")
                    && let Some(schema) = kesos_http::paging::parameter_schema(name)
                {
                    parameter["schema"] = schema;
                }
            }
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            if reads_input && !responses.contains_key("400") {
                responses.insert(
                    "400".into(),
                    problem_response("a field breaks a rule: `errors` names it and the rule"),
                );
            }
            if !names.is_empty() && !responses.contains_key("404") {
                responses.insert("404".into(), problem_response("no such resource"));
            }
            if RATE_LIMITED.iter().any(|p| path.starts_with(p)) {
                responses.entry("429").or_insert_with(|| {
                    problem_response("too many requests from this client; see Retry-After")
                });
            }
        }
    }
}

/// The public verification paths, rate limited per client.
const RATE_LIMITED: [&str; 3] = ["/v1/verify", "/v1/status-list", "/verify"];

/// Declares every `{name}` of the path the operation does not declare yet: a string, a UUID
/// for names ending in `_id`.
fn declare_path_parameters(operation: &mut Value, names: &[&str]) {
    if names.is_empty() {
        return;
    }
    if !operation["parameters"].is_array() {
        operation["parameters"] = json!([]);
    }
    let Some(parameters) = operation["parameters"].as_array_mut() else {
        return;
    };
    for name in names {
        let declared = parameters
            .iter()
            .any(|p| p["in"] == json!("path") && p["name"] == json!(name));
        if !declared {
            let schema = if name.ends_with("_id") {
                json!({ "type": "string", "format": "uuid" })
            } else {
                json!({ "type": "string" })
            };
            parameters
                .push(json!({ "name": name, "in": "path", "required": true, "schema": schema }));
        }
    }
}

/// The routes anyone may call without a token: every operation of these paths says so
/// (`security: []` overrides the document's bearer requirement).
const PUBLIC_PATHS: [&str; 11] = [
    "/",
    "/assets/{name}",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/v1/verify/{number}",
    "/v1/verify",
    "/v1/status-list",
    "/v1/status-list/suspension",
    "/verify",
    "/verify/{number}",
];

fn open_to_the_public(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let public = PUBLIC_PATHS.contains(&path.as_str());
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            if public {
                operation["security"] = json!([]);
            } else if let Some(responses) = operation["responses"].as_object_mut() {
                responses
                    .entry("401")
                    .or_insert_with(|| problem_response("no valid bearer token"));
                responses.entry("403").or_insert_with(|| {
                    problem_response("the token's role or region does not cover this")
                });
            }
        }
    }
}

fn operational() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kesos",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Certification of Indonesia's social-welfare workforce. Every route but health, this document and public verification needs a bearer token (`kesos token issue`); public verification is rate limited per client (429 with Retry-After)."
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/": { "get": {
                "summary": "The operations dashboard (HTML; it reads the API with the bearer token the user signs in with).",
                "responses": { "200": { "description": "text/html" } }
            }},
            "/assets/{name}": { "get": {
                "summary": "The dashboard's built-in files (script, style sheet, province map, notices), with entity tags.",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "the file" }, "304": { "description": "not modified" }, "404": problem_response("no such asset") }
            }},
            "/healthz": { "get": {
                "summary": "Liveness: the process answers.",
                "responses": { "200": { "description": "alive" } }
            }},
            "/readyz": { "get": {
                "summary": "Readiness: the event store (and NATS, when distributed) answer.",
                "responses": { "200": { "description": "ready" }, "503": problem_response("a dependency is away") }
            }},
            "/v1/log": { "get": {
                "summary": "Head position of the event log and its last signed checkpoint.",
                "responses": { "200": { "description": "log status" }, "500": problem_response("store failure") }
            }},
            "/v1/access-log": { "get": {
                "summary": "The most recent denied requests (who, what, when, why), newest first; for auditors and central operations.",
                "parameters": [{ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer" } }],
                "responses": { "200": { "description": "{ denials: [AccessEntry] }" } }
            }},
            "/v1/audit/verify": { "post": {
                "summary": "Walk every hash chain and signed checkpoint; name the first broken event.",
                "responses": {
                    "200": { "description": "the log is intact" },
                    "409": { "description": "the log was altered; first_break names where" },
                    "500": problem_response("store failure")
                }
            }}
        },
        "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)" } },
        "schemas": { "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": { "type": "string", "format": "uri" },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string" },
                "errors": {
                    "type": "array",
                    "description": "For bad input: every field that breaks a rule.",
                    "items": { "type": "object", "properties": {
                        "field": { "type": "string" }, "rule": { "type": "string" }, "detail": { "type": "string" }
                    }}
                }
            }
        }}}
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
        let register = &document["paths"]["/v1/workers"]["post"];
        assert!(register["security"].is_null());
        assert!(register["responses"]["401"].is_object());
        assert!(register["responses"]["403"].is_object());
        assert!(document["paths"]["/v1/access-log"]["get"].is_object());
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
