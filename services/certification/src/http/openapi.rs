//! The wording the certification operations share in the OpenAPI document the process serves
//! at `/openapi.json`, and the schemas of the answers the handlers build as JSON. Each route's
//! own description sits in its entry of the route table ([`super::routes`]), from which the
//! router, the access policy and the document are all built.

use kesos_http::Operation;
use serde_json::{Value, json};

/// What a certificate number path or query parameter holds.
pub(super) const NUMBER: &str =
    "e.g. KSS-PSG-2026-000123-K; case, spaces and hyphens do not matter";

/// What the `code` query parameter holds.
pub(super) const CODE: &str = "the verification code printed beside the number, e.g. \
     7KQ2-M9XD; case, spaces and hyphens do not matter";

/// A command on one certificate: it answers the certificate after the command.
pub(super) fn command(summary: &str) -> Operation {
    certificate_answer(
        Operation::command(summary),
        "the certificate after the command",
    )
    .problem(
        400,
        "a field breaks a rule: `errors` lists field, rule and detail",
    )
    .problem(404, "no such certificate")
    .problem(
        409,
        "refused by the certificate's state (revoked, expired, superseded, already \
         suspended, not suspended)",
    )
}

/// A 200 answer that is one certificate.
pub(super) fn certificate_answer(operation: Operation, description: &str) -> Operation {
    operation
        .answers_json(200, description, "Certificate")
        .schema("Certificate", certificate())
}

/// Public verification's 200 answer: the details with the code, validity only without it.
pub(super) fn verification_answer(operation: Operation) -> Operation {
    operation
        .answers_one_of(
            200,
            "the details with the code, else validity only",
            &["Verification", "Validity"],
        )
        .schema("Verification", verification())
        .schema(
            "Validity",
            json!({ "type": "object", "required": ["number", "valid"], "properties": {
                "number": { "type": "string" }, "valid": { "type": "boolean" } } }),
        )
}

/// A signed status list of `purpose` (revocation or suspension).
pub(super) fn status_list_operation(purpose: &str) -> Operation {
    Operation::new(&format!(
        "The signed W3C BitstringStatusListCredential ({purpose}); bit `statusListIndex` of a \
         certificate is set while it is {purpose}-listed."
    ))
    .answers(200, "application/vc+json")
}

/// A public verification page (HTML, also for its refusals), in the language asked for.
pub(super) fn page_operation(summary: &str) -> Operation {
    Operation::new(summary)
        .query_text("code", CODE)
        .query_one_of(
            "lang",
            "the page's language: Bahasa Indonesia (default) or English",
            &["id", "en"],
        )
        .answers(200, "text/html")
        .answers(404, "not found (HTML)")
        .answers(422, "not a valid number (HTML)")
}

fn status() -> Value {
    json!({ "type": "string", "enum": ["valid", "suspended", "revoked", "expired", "superseded"] })
}

fn verification() -> Value {
    let text = json!({ "type": "string" });
    let nullable = json!({ "type": ["string", "null"] });
    let date = json!({ "type": "string", "format": "date" });
    json!({ "type": "object", "properties": {
        "number": text, "status": status(), "scheme_code": text, "scheme_name": nullable,
        "category": text, "level": text, "valid_from": date, "valid_until": date,
        "issuing_body": text, "issuer": text,
        "holder": { "type": ["string", "null"], "description": "masked, e.g. S**** A****, or (data erased)" } } })
}

fn certificate() -> Value {
    let text = json!({ "type": "string" });
    let nullable = json!({ "type": ["string", "null"] });
    let date = json!({ "type": "string", "format": "date" });
    json!({ "type": "object", "properties": {
        "certificate_id": text, "number": text, "worker_id": text, "holder_name": nullable,
        "scheme_code": text, "scheme_name": nullable, "category": text, "level": text,
        "lsps_id": text, "issuing_body": text, "basis_decision_event_id": text,
        "valid_from": date, "valid_until": date, "status": status(),
        "status_reason": nullable, "revocation_category": nullable, "supersedes": nullable,
        "superseded_by": nullable, "status_list_index": { "type": "integer" }, "region": nullable,
        "holder_departed_on": { "type": ["string", "null"], "format": "date" },
        "holder_departure_reason": { "type": ["string", "null"],
            "enum": ["resigned", "retired", "died", "left_programme", null] },
        "verification_code": { "type": "string", "description": "printed beside the number, e.g. 7KQ2-M9XD" } } })
}
