//! The wording the progress operations share in the OpenAPI document the process serves at
//! `/openapi.json`: the question parameters and the schemas of the answers the handlers build
//! as JSON. Each route's own description sits in its entry of the route table (the module
//! above), from which the router, the access policy and the document are all built.

use kesos_http::Operation;
use serde_json::json;

use crate::domain::measure::Measure;

/// An operation that asks a question of the figures: the region, category, role, scheme,
/// as-of date, recorded time and target year it takes ([`super::question`]).
pub(super) fn question(summary: &str) -> Operation {
    Operation::new(summary)
        .query_text(
            "region",
            "Province `PP` or kabupaten/kota `PP.KK` (longer codes are cut to their \
             kabupaten/kota); absent: the nation.",
        )
        .query_text(
            "category",
            "peksos, tks, penyuluh_sosial or relawan_sosial.",
        )
        .query_text("role", "A worker role code, e.g. pendamping_pkh.")
        .query_text(
            "scheme",
            "A scheme code, e.g. PEKSOS-GENERALIS; absent: over all schemes (each worker once).",
        )
        .query_text(
            "as_of",
            "Business date YYYY-MM-DD: what was true by the end of that day (WIB), including \
             back-dated history.",
        )
        .query_text(
            "known_at",
            "RFC 3339 instant: only what the system had recorded by then.",
        )
        .query_text(
            "year",
            "The target year (default: the as-of year, or this year).",
        )
}

/// A 200 answer that is a region's figures and its children's.
pub(super) fn region_answer(operation: Operation) -> Operation {
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
    let region = json!({
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
    });
    operation
        .answers_json(200, "the region", "RegionProgress")
        .schema("ProgressFigures", figures)
        .schema("RegionProgress", region)
}
