//! The scheduling routes in the OpenAPI 3.1 document the process serves at `/openapi.json`.

use serde_json::{Map, Value, json};

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn command(summary: &str, body: Value, ok: &str) -> Value {
    json!({ "post": {
        "summary": summary,
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Repeat the key to retry a command without a second effect.",
            "schema": { "type": "string" }
        }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": body } } },
        "responses": {
            "200": { "description": ok },
            "400": problem("a field breaks a rule: `errors` lists field, rule and detail"),
            "404": problem("no such session or candidate"),
            "409": problem("refused by the current state (full, cut-off passed, seated elsewhere, assessor booked, contradicting result, …)"),
            "422": problem("refused by a rule the command can never meet as given (too few assessors, wrong scheme, region not served, …)"),
            "503": problem("the store is unavailable; retry with the same Idempotency-Key")
        }
    }})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

fn list(summary: &str, filters: &[&str]) -> Value {
    let parameters: Vec<Value> = filters
        .iter()
        .chain(["after", "limit"].iter())
        .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }))
        .collect();
    json!({
        "summary": summary,
        "parameters": parameters,
        "responses": { "200": { "description": "{ items, next, total }" }, "400": problem("a filter is malformed") }
    })
}

/// The scheduling paths (`paths` object members) and schemas (`components.schemas` members).
pub fn document() -> (Map<String, Value>, Map<String, Value>) {
    let text = json!({ "type": "string" });
    let instant = json!({ "type": "string", "format": "date-time" });
    let ids = json!({ "type": "array", "items": { "type": "string" } });
    let schedule = object(
        &[
            "scheme",
            "mode",
            "starts_at",
            "ends_at",
            "capacity",
            "assessor_ids",
            "lsps_id",
        ],
        json!({
            "session_id": { "type": "string", "format": "uuid" },
            "scheme": text, "mode": { "type": "string", "enum": ["test_site", "online"] },
            "test_site": object(&["name", "region"], json!({ "name": text, "region": text })),
            "organiser_region": text,
            "starts_at": instant, "ends_at": instant,
            "capacity": { "type": "integer", "minimum": 1 },
            "assessor_ids": ids, "served_regions": ids,
            "reschedule_cutoff": { "type": "string", "format": "date-time", "description": "default: roster_lock_days before the start" },
            "lsps_id": text
        }),
    );
    let mut paths = Map::new();
    let mut sessions = command(
        "Schedule a competency-test session; its assessors are booked in half-hour slots.",
        json!({ "$ref": "#/components/schemas/ScheduleForm" }),
        "unused",
    );
    sessions["post"]["responses"]["201"] = json!({ "description": "the session" });
    sessions["get"] = list(
        "List sessions by session id; filter by scheme, status (open, locked, cancelled), region prefix, start range. A Dinas sees its region's sessions, an LSPS its own.",
        &["scheme", "status", "region", "from", "until"],
    );
    paths.insert("/v1/sessions".into(), sessions);
    paths.insert("/v1/sessions/{session_id}".into(), json!({ "get": {
        "summary": "A session with its plan, status and seats.",
        "responses": { "200": { "description": "the session" }, "400": problem("not a UUID"), "404": problem("no such session") }
    }}));
    paths.insert("/v1/sessions/{session_id}/change".into(), command(
        "Change time, capacity, assessors or cut-off (bookings follow).",
        object(&["starts_at", "ends_at", "capacity", "assessor_ids", "reschedule_cutoff", "reason"], json!({ "starts_at": instant, "ends_at": instant, "capacity": { "type": "integer" }, "assessor_ids": ids, "reschedule_cutoff": instant, "reason": text })),
        "the session"));
    paths.insert(
        "/v1/sessions/{session_id}/cancel".into(),
        command(
            "Cancel the session; every candidate goes back to the pool.",
            object(&["reason"], json!({ "reason": text })),
            "the session",
        ),
    );
    paths.insert(
        "/v1/sessions/{session_id}/lock".into(),
        command(
            "Lock the roster (after the cut-off) and send it to LSPS.",
            json!({ "type": "object" }),
            "the session",
        ),
    );
    paths.insert(
        "/v1/sessions/{session_id}/seats".into(),
        command(
            "Seat a waiting candidate by hand.",
            object(&["candidate_id"], json!({ "candidate_id": text })),
            "the session",
        ),
    );
    paths.insert(
        "/v1/sessions/{session_id}/seats/{candidate_id}/unseat".into(),
        command(
            "Give up a seat before the cut-off.",
            object(&["reason"], json!({ "reason": text })),
            "the session",
        ),
    );
    paths.insert(
        "/v1/sessions/{session_id}/seats/{candidate_id}/reschedule".into(),
        command(
            "Move a candidate to another session before the cut-off.",
            object(
                &["to_session_id", "reason"],
                json!({ "to_session_id": text, "reason": text }),
            ),
            "the session joined",
        ),
    );
    paths.insert("/v1/sessions/{session_id}/results".into(), command(
        "Record a result by hand (for an LSPS without the integration).",
        object(&["candidate_id", "attendance", "lsps_id"], json!({
            "candidate_id": text, "attendance": { "type": "string", "enum": ["present", "no_show"] },
            "decision": { "type": "string", "enum": ["kompeten", "belum_kompeten"] },
            "units": { "type": "array", "items": object(&["unit", "judgement"], json!({ "unit": text, "judgement": { "type": "string", "enum": ["K", "BK"] } })) },
            "assessor_ids": ids, "decided_at": instant, "lsps_id": text
        })), "the session"));
    paths.insert("/v1/sessions/{session_id}/roster".into(), json!({ "get": {
        "summary": "The locked roster with names and NIKs readable (what LSPS receives).",
        "responses": { "200": { "description": "roster" }, "404": problem("no such session"), "409": problem("not locked yet") }
    }}));
    paths.insert("/v1/allocations".into(), command(
        "Auto-allocate waiting candidates to open sessions: same kabupaten/kota first, then province, then online anywhere; oldest verification first.",
        object(&[], json!({ "scheme": text })), "{ seated, sessions, planned, waiting }"));
    paths.insert("/v1/candidates".into(), json!({ "get": list(
        "List candidates by candidate id; filter by scheme, status (waiting, seated, no_show, belum_kompeten, kompeten), region prefix, session, worker.",
        &["scheme", "status", "region", "session_id", "worker_id"]) }));
    paths.insert("/v1/candidates/{candidate_id}".into(), json!({ "get": {
        "summary": "A candidate: scheme, region, queue time, waiting period and failed attempts.",
        "responses": { "200": { "description": "the candidate" }, "404": problem("no such candidate") }
    }}));
    let mut schemas = Map::new();
    schemas.insert("ScheduleForm".into(), schedule);
    (paths, schemas)
}
