//! The wording the scheduling operations share in the OpenAPI document the process serves at
//! `/openapi.json`: what a command may be refused for, and what a list answers. Each route's
//! own description sits in its entry of the route table ([`super::routes`]), from which the
//! router, the access policy and the document are all built.

use kesos_http::Operation;

/// A command on sessions or candidates, with the refusals every such command may answer.
pub(super) fn command(summary: &str) -> Operation {
    Operation::command(summary)
        .problem(
            400,
            "a field breaks a rule: `errors` lists field, rule and detail",
        )
        .problem(404, "no such session or candidate")
        .problem(
            409,
            "refused by the current state (full, cut-off passed, seated elsewhere, assessor \
             booked, contradicting result, …)",
        )
        .problem(
            422,
            "refused by a rule the command can never meet as given (too few assessors, wrong \
             scheme, region not served, …)",
        )
}

/// A paged list.
pub(super) fn list(summary: &str) -> Operation {
    Operation::new(summary)
        .answers(200, "{ items, next, total }")
        .problem(400, "a filter is malformed")
}
