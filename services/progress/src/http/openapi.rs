//! The progress routes in the OpenAPI 3.1 document the process serves at `/openapi.json`.

use serde_json::{Map, Value, json};

use crate::domain::measure::Measure;

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn parameters() -> Vec<Value> {
    let text = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description });
    vec![
        text(
            "region",
            "Province `PP` or kabupaten/kota `PP.KK` (longer codes are cut to their kabupaten/kota); absent: the nation.",
        ),
        text(
            "category",
            "peksos, tks, penyuluh_sosial or relawan_sosial.",
        ),
        text("role", "A worker role code, e.g. pendamping_pkh."),
        text(
            "scheme",
            "A scheme code, e.g. PEKSOS-GENERALIS; absent: over all schemes (each worker once).",
        ),
        text(
            "as_of",
            "Business date YYYY-MM-DD: what was true by the end of that day (WIB), including back-dated history.",
        ),
        text(
            "known_at",
            "RFC 3339 instant: only what the system had recorded by then.",
        ),
        text(
            "year",
            "The target year (default: the as-of year, or this year).",
        ),
    ]
}

/// The progress paths and schemas.
pub fn document() -> (Map<String, Value>, Map<String, Value>) {
    let mut paths = Map::new();
    paths.insert("/v1/progress".into(), json!({ "get": {
        "summary": "A region's figures and each child region's (provinces of the nation, kabupaten/kota of a province), now or as of a business date and/or a recorded time, with the certification rate and progress against the year's target.",
        "parameters": parameters(),
        "responses": {
            "200": { "description": "the region", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RegionProgress" } } } },
            "400": problem("a parameter is malformed or unknown: `errors` names it and the rule")
        }
    }}));
    paths.insert("/v1/progress/series".into(), json!({ "get": {
        "summary": "A region's monthly series: each count's net change during the month and its value at the month's end.",
        "parameters": parameters(),
        "responses": { "200": { "description": "{ region, as_of, months: [{ month, change, end }] }" }, "400": problem("a parameter is malformed") }
    }}));
    paths.insert("/v1/progress/status".into(), json!({ "get": {
        "summary": "How far the live projection has applied each event log (head, applied, behind).",
        "responses": { "200": { "description": "per source" } }
    }}));
    paths.insert("/v1/audit/workers/{worker_id}/history".into(), json!({ "get": {
        "summary": "A worker's full history across enrollment, scheduling and certification, in business-time order: each step with actor, business and recorded time, reason or basis, causation and correlation ids.",
        "responses": { "200": { "description": "{ worker_id, steps: [Step] }" }, "400": problem("not a UUID"), "404": problem("no history for this worker") }
    }}));
    let measures: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
    let figures = json!({
        "type": "object",
        "properties": {
            "counts": { "type": "object", "description": "Workers per measure (keys from the list below; absent means 0).", "propertyNames": { "enum": measures } },
            "certification_rate": { "type": ["number", "null"], "description": "valid / registered" },
            "target": { "type": ["object", "null"], "properties": { "year": { "type": "integer" }, "count": { "type": "integer" } } },
            "target_progress": { "type": ["number", "null"], "description": "valid / target" }
        }
    });
    let mut schemas = Map::new();
    schemas.insert("ProgressFigures".into(), figures);
    schemas.insert("RegionProgress".into(), json!({
        "type": "object",
        "properties": {
            "region": { "type": "object", "properties": { "code": { "type": "string" }, "name": { "type": ["string", "null"] } } },
            "as_of": { "type": "object", "properties": { "date": { "type": ["string", "null"] }, "known_at": { "type": ["string", "null"] } } },
            "year": { "type": "integer" },
            "figures": { "$ref": "#/components/schemas/ProgressFigures" },
            "children": { "type": "array", "items": { "type": "object", "properties": {
                "code": { "type": "string" }, "name": { "type": ["string", "null"] }, "figures": { "$ref": "#/components/schemas/ProgressFigures" }
            }}}
        }
    }));
    (paths, schemas)
}
