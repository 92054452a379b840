//! The enrollment routes in the OpenAPI 3.1 document the process serves at `/openapi.json`.

use serde_json::{Map, Value, json};

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn idempotency_key() -> Value {
    json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Repeat the key to retry a command without a second effect (a UUID, or 1-200 printable characters).",
        "schema": { "type": "string" }
    })
}

fn command(summary: &str, body: Value, ok: &str) -> Value {
    json!({ "post": {
        "summary": summary,
        "parameters": [idempotency_key()],
        "requestBody": { "required": true, "content": { "application/json": { "schema": body } } },
        "responses": {
            "200": { "description": ok },
            "400": problem("a field breaks a rule: `errors` lists field, rule and detail"),
            "404": problem("no such worker or nomination"),
            "409": problem("refused by the current state (duplicate NIK, nomination still open, erased worker, …)"),
            "422": problem("refused by a rule the command can never meet as given"),
            "503": problem("the store is unavailable; retry with the same Idempotency-Key")
        }
    }})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// The enrollment paths (`paths` object members) and schemas (`components.schemas` members).
pub fn document() -> (Map<String, Value>, Map<String, Value>) {
    let text = json!({ "type": "string" });
    let worker_form = object(
        &[
            "nik",
            "full_name",
            "sex",
            "birth_date",
            "category",
            "role",
            "employment_status",
            "posting",
            "education_level",
        ],
        json!({
            "nik": { "type": "string", "description": "16 digits; digits 1-4 a real kabupaten/kota, 7-12 the birth date DDMMYY (women +40 on the day)" },
            "full_name": text, "sex": { "type": "string", "enum": ["L", "P"] },
            "birth_date": { "type": "string", "description": "YYYY-MM-DD or DD-MM-YYYY" },
            "category": { "type": "string", "enum": ["peksos", "tks", "penyuluh_sosial", "relawan_sosial"] },
            "role": text, "employment_status": text,
            "posting": { "type": "string", "description": "Kemendagri code, at least a kabupaten/kota (e.g. 32.77 or 32.77.01.1001)" },
            "education_level": text, "education_in_social_work": { "type": ["boolean", "string"] },
            "practice_months": { "type": ["integer", "string"] }, "training_hours": { "type": ["integer", "string"] },
            "association_member": { "type": ["boolean", "string"] },
            "registered_on": { "type": "string", "description": "first registration day for imported history (YYYY-MM-DD, not in the future); empty: now" }
        }),
    );
    let mut paths = Map::new();
    let mut workers = command(
        "Register a worker (NIK, name and birth date are stored encrypted).",
        json!({ "$ref": "#/components/schemas/WorkerForm" }),
        "a retry: the worker registered before",
    );
    workers["post"]["responses"]["201"] = json!({ "description": "registered: { worker_id }" });
    let filters: Vec<Value> = ["region", "category", "role", "employment_status", "status", "after", "limit"]
        .iter()
        .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }))
        .collect();
    workers["get"] = json!({
        "summary": "List workers, paged by worker id; filter by region prefix, category, role, employment status, status.",
        "parameters": filters,
        "responses": { "200": { "description": "{ items, next, total }" }, "400": problem("a filter is malformed") }
    });
    paths.insert("/v1/workers".into(), workers);
    paths.insert("/v1/workers/{worker_id}".into(), json!({ "get": {
        "summary": "A worker, with personal data unless erased, and every nomination.",
        "responses": { "200": { "description": "the worker" }, "400": problem("not a UUID"), "404": problem("no such worker") }
    }}));
    paths.insert(
        "/v1/workers/{worker_id}/posting".into(),
        command(
            "Move the worker's posting.",
            object(&["posting"], json!({ "posting": text })),
            "the worker after the move",
        ),
    );
    paths.insert(
        "/v1/workers/{worker_id}/employment-status".into(),
        command(
            "Change the employment status (e.g. THL to ASN-PPPK).",
            object(&["employment_status"], json!({ "employment_status": text })),
            "the worker",
        ),
    );
    paths.insert(
        "/v1/workers/{worker_id}/role".into(),
        command(
            "Change the role or programme.",
            object(&["role"], json!({ "role": text })),
            "the worker",
        ),
    );
    paths.insert("/v1/workers/{worker_id}/qualifications".into(), command("Replace education and experience.", object(&["education_level"], json!({ "education_level": text, "education_in_social_work": { "type": "boolean" }, "practice_months": { "type": "integer" }, "training_hours": { "type": "integer" }, "association_member": { "type": "boolean" } })), "the worker"));
    paths.insert("/v1/workers/{worker_id}/erasure".into(), command("Erase the worker's personal data (UU PDP): the data key is destroyed, the history stays.", object(&["reason", "legal_basis"], json!({ "reason": text, "legal_basis": text })), "the erased worker"));
    let mut nominate = command(
        "Nominate the worker for a scheme.",
        object(
            &[
                "scheme_code",
                "period_year",
                "recommending_office",
                "portfolio_ref",
            ],
            json!({ "scheme_code": text, "period_year": { "type": "integer" }, "recommending_office": text, "portfolio_ref": text }),
        ),
        "unused",
    );
    nominate["post"]["responses"]["201"] = json!({ "description": "{ nomination_id }" });
    paths.insert("/v1/workers/{worker_id}/nominations".into(), nominate);
    let mut step = command(
        "verify (evaluate the scheme's rules: verified or rejected with every failed rule), reject {reason}, override {justification} (a rejected nomination), withdraw {reason}.",
        object(&[], json!({ "reason": text, "justification": text })),
        "the nomination",
    );
    if let Some(parameters) = step["post"]["parameters"].as_array_mut() {
        parameters.push(json!({ "name": "action", "in": "path", "required": true,
            "schema": { "type": "string", "enum": ["verify", "reject", "override", "withdraw"] } }));
    }
    paths.insert(
        "/v1/workers/{worker_id}/nominations/{nomination_id}/{action}".into(),
        step,
    );
    paths.insert("/v1/targets".into(), command("Set a yearly certification target for the nation (region empty), a province or a kabupaten/kota, per category.", object(&["year", "category", "target_count"], json!({ "year": { "type": "integer" }, "region": text, "category": text, "target_count": { "type": "integer" } })), "the target"));
    paths.insert("/v1/imports/workers".into(), json!({ "post": {
        "summary": "Import workers from a CSV (UTF-8) or XLSX file sent as the request body; see the README for the columns. The same file again registers nobody twice.",
        "requestBody": { "required": true, "content": { "text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {} } },
        "responses": {
            "200": { "description": "report: rows, stored, unchanged, rejected_rows, errors [{ row, column, rule, detail }]" },
            "400": problem("the file cannot be read at all (empty, not a spreadsheet, not UTF-8, missing columns)"),
            "413": problem("the upload is larger than 64 MiB (rule file.limit.upload_bytes)"),
            "422": problem("the file goes beyond a reader limit, named by its rule: file.limit.rows, .columns, .cell_chars, .table_bytes, .unpacked_bytes, .xml_depth or .zip_entries")
        }
    }}));
    paths.insert("/v1/schemes".into(), json!({ "get": { "summary": "The certification schemes and eligibility routes in force.", "responses": { "200": { "description": "catalogue" } } } }));
    paths.insert("/v1/regions/{code}".into(), json!({ "get": { "summary": "A Kemendagri region with its ancestors and children.", "responses": { "200": { "description": "region" }, "400": problem("malformed code"), "404": problem("unknown code") } } }));
    let mut schemas = Map::new();
    schemas.insert("WorkerForm".into(), worker_form);
    (paths, schemas)
}
