//! The certification routes in the OpenAPI 3.1 document the process serves at `/openapi.json`.

use serde_json::{Map, Value, json};

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn command(summary: &str, body: &str) -> Value {
    json!({ "post": {
        "summary": summary,
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Repeat the key to retry a command without a second effect (a UUID, or 1-200 printable characters).",
            "schema": { "type": "string" }
        }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } } },
        "responses": {
            "200": { "description": "the certificate after the command", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Certificate" } } } },
            "400": problem("a field breaks a rule: `errors` lists field, rule and detail"),
            "404": problem("no such certificate"),
            "409": problem("refused by the certificate's state (revoked, expired, superseded, already suspended, not suspended)"),
            "503": problem("the store is unavailable; retry with the same Idempotency-Key")
        }
    }})
}

/// The certification paths (`paths` object members) and schemas (`components.schemas`
/// members).
pub fn document() -> (Map<String, Value>, Map<String, Value>) {
    let text = json!({ "type": "string" });
    let nullable = json!({ "type": ["string", "null"] });
    let number_param = json!({ "name": "number", "in": "path", "required": true, "schema": text, "description": "e.g. KSS-PSG-2026-000123-K; case, spaces and hyphens do not matter" });
    let code_param = json!({ "name": "code", "in": "query", "required": false, "schema": text, "description": "the verification code printed beside the number, e.g. 7KQ2-M9XD; case, spaces and hyphens do not matter" });
    let mut paths = Map::new();
    let filters: Vec<Value> = ["worker_id", "status", "scheme", "region", "after", "limit"]
        .iter()
        .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }))
        .collect();
    paths.insert("/v1/certificates".into(), json!({ "get": {
        "summary": "List certificates, paged by certificate id; filter by holder, status, scheme, region (the region or any within it).",
        "parameters": filters,
        "responses": { "200": { "description": "{ items: [Certificate], next, total }" }, "400": problem("a filter is malformed") }
    }}));
    paths.insert("/v1/certificates/{certificate_id}".into(), json!({ "get": {
        "summary": "A certificate, with the holder's name unless erased.",
        "responses": { "200": { "description": "the certificate", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Certificate" } } } }, "400": problem("not a UUID"), "404": problem("no such certificate") }
    }}));
    paths.insert(
        "/v1/certificates/{certificate_id}/suspend".into(),
        command("Suspend a certificate in force, with a reason.", "Reason"),
    );
    paths.insert(
        "/v1/certificates/{certificate_id}/reinstate".into(),
        command(
            "Reinstate a suspended certificate, with a reason.",
            "Reason",
        ),
    );
    paths.insert(
        "/v1/certificates/{certificate_id}/revoke".into(),
        command(
            "Revoke a certificate for good, with a category and a reason.",
            "Revocation",
        ),
    );
    paths.insert("/v1/certificates/{certificate_id}/credential.json".into(), json!({ "get": {
        "summary": "The certificate as a W3C Verifiable Credential 2.0 signed with eddsa-jcs-2022; `kesos cert verify FILE` checks it offline.",
        "responses": { "200": { "description": "application/vc+json" }, "404": problem("no such certificate") }
    }}));
    paths.insert("/v1/certificates/{certificate_id}/certificate.html".into(), json!({ "get": {
        "summary": "The printable certificate (Bahasa Indonesia) with a QR code of its verification page.",
        "responses": { "200": { "description": "text/html" }, "404": problem("no such certificate") }
    }}));
    paths.insert("/v1/verify/{number}".into(), json!({ "get": {
        "summary": "Public verification by number. With `?code=` (the verification code printed beside the number, also in the QR link): status, scheme, level, validity, issuing body, the holder's name masked. Without it: whether the certificate is valid, nothing more.",
        "parameters": [number_param.clone(), code_param.clone()],
        "responses": {
            "200": { "description": "the details with the code, else validity only", "content": { "application/json": { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/Verification" },
                { "$ref": "#/components/schemas/Validity" }
            ] } } } },
            "404": problem("a valid number that no certificate carries, or a code that is not the certificate's"),
            "422": problem("not a valid certificate number (malformed, or a mistyped or swapped character)")
        }
    }}));
    paths.insert("/v1/verify".into(), json!({ "post": {
        "summary": "Public check whether a full name is the holder's (case and spacing aside), with the certificate's verification code.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NameCheck" } } } },
        "responses": { "200": { "description": "{ matches: boolean }" }, "400": problem("missing name"), "404": problem("no certificate has this number, or the code is not its code"), "422": problem("not a valid certificate number") }
    }}));
    for (path, purpose) in [
        ("/v1/status-list", "revocation"),
        ("/v1/status-list/suspension", "suspension"),
    ] {
        paths.insert(path.into(), json!({ "get": {
            "summary": format!("The signed W3C BitstringStatusListCredential ({purpose}); bit `statusListIndex` of a certificate is set while it is {purpose}-listed."),
            "responses": { "200": { "description": "application/vc+json" } }
        }}));
    }
    let lang_param = json!({ "name": "lang", "in": "query", "required": false, "schema": { "type": "string", "enum": ["id", "en"] }, "description": "the page's language: Bahasa Indonesia (default) or English" });
    paths.insert("/verify".into(), json!({ "get": {
        "summary": "The public verification page with a form; `?number=` checks a number (HTML).",
        "parameters": [
            { "name": "number", "in": "query", "required": false, "schema": text },
            code_param.clone(),
            lang_param.clone()
        ],
        "responses": { "200": { "description": "text/html" }, "404": { "description": "not found (HTML)" }, "422": { "description": "not a valid number (HTML)" } }
    }}));
    paths.insert("/verify/{number}".into(), json!({ "get": {
        "summary": "The verification page a certificate's QR code opens (HTML, Bahasa Indonesia; English with `?lang=en`).",
        "parameters": [number_param, code_param, lang_param],
        "responses": { "200": { "description": "text/html" }, "404": { "description": "not found (HTML)" }, "422": { "description": "not a valid number (HTML)" } }
    }}));
    let mut schemas = Map::new();
    schemas.insert("Reason".into(), json!({ "type": "object", "additionalProperties": false, "required": ["reason"], "properties": { "reason": { "type": "string", "maxLength": 500 } } }));
    schemas.insert("Revocation".into(), json!({ "type": "object", "additionalProperties": false, "required": ["category", "reason"], "properties": {
        "category": { "type": "string", "enum": ["ethics_breach", "criminal_conviction", "permanent_incapacity", "other"] },
        "reason": { "type": "string", "maxLength": 500 } } }));
    schemas.insert("NameCheck".into(), json!({ "type": "object", "additionalProperties": false, "required": ["number", "code", "full_name"], "properties": { "number": text, "code": text, "full_name": text } }));
    schemas.insert("Validity".into(), json!({ "type": "object", "required": ["number", "valid"], "properties": { "number": text, "valid": { "type": "boolean" } } }));
    let status = json!({ "type": "string", "enum": ["valid", "suspended", "revoked", "expired", "superseded"] });
    schemas.insert("Verification".into(), json!({ "type": "object", "properties": {
        "number": text, "status": status, "scheme_code": text, "scheme_name": nullable, "category": text, "level": text,
        "valid_from": { "type": "string", "format": "date" }, "valid_until": { "type": "string", "format": "date" },
        "issuing_body": text, "issuer": text, "holder": { "type": ["string", "null"], "description": "masked, e.g. S**** A****, or (data erased)" } } }));
    schemas.insert("Certificate".into(), json!({ "type": "object", "properties": {
        "certificate_id": text, "number": text, "worker_id": text, "holder_name": nullable, "scheme_code": text, "scheme_name": nullable,
        "category": text, "level": text, "lsps_id": text, "issuing_body": text, "basis_decision_event_id": text,
        "valid_from": { "type": "string", "format": "date" }, "valid_until": { "type": "string", "format": "date" }, "status": status,
        "status_reason": nullable, "revocation_category": nullable, "supersedes": nullable, "superseded_by": nullable,
        "status_list_index": { "type": "integer" }, "region": nullable,
        "verification_code": { "type": "string", "description": "printed beside the number, e.g. 7KQ2-M9XD" } } }));
    (paths, schemas)
}
