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
        kesos_enrollment::openapi::document(),
        kesos_scheduling::openapi::document(),
        kesos_certification::openapi::document(),
        kesos_progress::openapi::document(),
    ] {
        if let Some(all) = document["paths"].as_object_mut() {
            all.extend(paths);
        }
        if let Some(all) = document["components"]["schemas"].as_object_mut() {
            all.extend(schemas);
        }
    }
    document
}

fn operational() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kesos",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Certification of Indonesia's social-welfare workforce: operational routes."
        },
        "paths": {
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
            "/v1/audit/verify": { "post": {
                "summary": "Walk every hash chain and signed checkpoint; name the first broken event.",
                "responses": {
                    "200": { "description": "the log is intact" },
                    "409": { "description": "the log was altered; first_break names where" },
                    "500": problem_response("store failure")
                }
            }}
        },
        "components": { "schemas": { "Problem": {
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
