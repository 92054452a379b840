//! The wording the enrollment operations share in the OpenAPI document the process serves at
//! `/openapi.json`, and the schema of the worker form. Each route's own description sits in
//! its entry of the route table ([`super::routes`]), from which the router, the access policy
//! and the document are all built.

use kesos_http::Operation;
use serde_json::{Value, json};

/// A command on a worker or a nomination, with the refusals every such command may answer.
pub(super) fn command(summary: &str) -> Operation {
    Operation::command(summary)
        .problem(
            400,
            "a field breaks a rule: `errors` lists field, rule and detail",
        )
        .problem(404, "no such worker or nomination")
        .problem(
            409,
            "refused by the current state (duplicate NIK, nomination still open, erased \
             worker, …)",
        )
        .problem(422, "refused by a rule the command can never meet as given")
}

/// The registration form ([`crate::service::WorkerForm`]), written as JSON Schema: the form
/// is also a spreadsheet row, so its fields are read leniently (a yes/no as a boolean or a
/// word, a number as a number or text) and its required fields are checked by the service,
/// which a derived schema would not say.
pub(super) fn worker_form() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["nik", "full_name", "sex", "birth_date", "category", "role",
            "employment_status", "posting", "education_level"],
        "properties": {
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
        }
    })
}
