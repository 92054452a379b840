//! The route table: each enrollment route once, with its access rule and its OpenAPI
//! operation. The router, the gate's policy and the document's paths are all built from it;
//! the handlers it names are in [`super::handlers`].

use axum::Router;
use kesos_auth::{Action, ApiPart, Rule, Secured};
use kesos_http::Operation;

use super::departures::{DepartureBody, ReturnBody, come_back, depart};
use super::handlers::{
    EmploymentBody, ErasureBody, ListQuery, MAX_UPLOAD_BYTES, NominationBody, PostingBody,
    QualificationsBody, RoleBody, StepBody, TargetBody, change_employment, change_role, erase,
    import, list, move_posting, nominate, override_nomination, read, region, register,
    reject_nomination, schemes, set_target, update_qualifications, verify_nomination,
    withdraw_nomination,
};
use super::openapi::{command, worker_form};
use crate::service::Enrollment;

/// Every route once, with its access rule and its description: the router, the gate's policy
/// and the OpenAPI paths are built from this table only.
fn secured() -> Secured<Enrollment> {
    use Action as A;
    Secured::new()
        .post(
            "/v1/workers",
            A::RegisterWorker,
            register,
            command("Register a worker (NIK, name and birth date are stored encrypted).")
                .body_schema("WorkerForm", worker_form())
                .answers(201, "registered: { worker_id }")
                .answers(200, "a retry: the worker registered before"),
        )
        .get(
            "/v1/workers",
            A::ReadWorkers,
            list,
            Operation::new(
                "List workers, paged by worker id; filter by region prefix, category, role, \
                 employment status, status.",
            )
            .query::<ListQuery>()
            .answers(200, "{ items, next, total }")
            .problem(400, "a filter is malformed"),
        )
        .get(
            "/v1/workers/{worker_id}",
            A::ReadWorkers,
            read,
            Operation::new("A worker, with personal data unless erased, and every nomination.")
                .answers(200, "the worker")
                .problem(400, "not a UUID")
                .problem(404, "no such worker"),
        )
        .post(
            "/v1/workers/{worker_id}/posting",
            A::RegisterWorker,
            move_posting,
            command("Move the worker's posting.")
                .body::<PostingBody>()
                .answers(200, "the worker after the move"),
        )
        .post(
            "/v1/workers/{worker_id}/employment-status",
            A::RegisterWorker,
            change_employment,
            command("Change the employment status (e.g. THL to ASN-PPPK).")
                .body::<EmploymentBody>()
                .answers(200, "the worker"),
        )
        .post(
            "/v1/workers/{worker_id}/qualifications",
            A::RegisterWorker,
            update_qualifications,
            command("Replace education and experience.")
                .body::<QualificationsBody>()
                .answers(200, "the worker"),
        )
        .post(
            "/v1/workers/{worker_id}/role",
            A::RegisterWorker,
            change_role,
            command("Change the role or programme.")
                .body::<RoleBody>()
                .answers(200, "the worker"),
        )
        .post(
            "/v1/workers/{worker_id}/departure",
            A::RegisterWorker,
            depart,
            command(
                "Record that the worker left the programme (resigned, retired, died, \
                 left_programme) on a business date in WIB, not before the registration and \
                 not in the future. History and certificates stay; progress stops counting the \
                 worker from that date. A departed worker is not nominated.",
            )
            .body::<DepartureBody>()
            .answers(200, "the worker, with status departed and the departure"),
        )
        .post(
            "/v1/workers/{worker_id}/return",
            A::RegisterWorker,
            come_back,
            command(
                "Record that a departed worker came back on a business date in WIB, after the \
                 departure and not in the future; progress counts the worker again from it.",
            )
            .body::<ReturnBody>()
            .answers(200, "the worker, with status active"),
        )
        .post(
            "/v1/workers/{worker_id}/erasure",
            A::EraseWorker,
            erase,
            command(
                "Erase the worker's personal data (UU PDP): the data key is destroyed, the \
                 history stays.",
            )
            .body::<ErasureBody>()
            .answers(200, "the erased worker"),
        )
        .post(
            "/v1/workers/{worker_id}/nominations",
            A::Nominate,
            nominate,
            command("Nominate the worker for a scheme.")
                .body::<NominationBody>()
                .answers(201, "{ nomination_id }"),
        )
        .post(
            "/v1/workers/{worker_id}/nominations/{nomination_id}/verify",
            A::DecideNomination,
            verify_nomination,
            step(
                "Verify the nomination: the scheme's rules are evaluated, and it is verified, \
                 or rejected with every failed rule.",
            ),
        )
        .post(
            "/v1/workers/{worker_id}/nominations/{nomination_id}/reject",
            A::DecideNomination,
            reject_nomination,
            step("Reject the nomination, with a reason."),
        )
        .post(
            "/v1/workers/{worker_id}/nominations/{nomination_id}/override",
            A::DecideNomination,
            override_nomination,
            step("Override a rejected nomination, with a justification."),
        )
        .post(
            "/v1/workers/{worker_id}/nominations/{nomination_id}/withdraw",
            A::Nominate,
            withdraw_nomination,
            step("Withdraw the nomination, with a reason."),
        )
        .post(
            "/v1/targets",
            A::SetTargets,
            set_target,
            command(
                "Set a yearly certification target for the nation (region empty), a province \
                 or a kabupaten/kota, per category or as a total across categories (category \
                 `all` or absent), in force from a business date in WIB (`in_force_from`, not \
                 in the future; absent: today).",
            )
            .body::<TargetBody>()
            .answers(200, "the target"),
        )
        .post_upload(
            "/v1/imports/workers",
            A::ImportWorkers,
            MAX_UPLOAD_BYTES,
            import,
            Operation::new(
                "Import workers from a CSV (UTF-8) or XLSX file sent as the request body; see \
                 the README for the columns. The same file again registers nobody twice.",
            )
            .upload(&[
                "text/csv",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ])
            .answers(
                200,
                "report: rows, stored, unchanged, rejected_rows, errors [{ row, column, rule, \
                 detail }]",
            )
            .problem(
                400,
                "the file cannot be read at all (empty, not a spreadsheet, not UTF-8, missing \
                 columns)",
            )
            .problem(
                413,
                "the upload is larger than 64 MiB (rule file.limit.upload_bytes)",
            )
            .problem(
                422,
                "the file goes beyond a reader limit, named by its rule: file.limit.rows, \
                 .columns, .cell_chars, .table_bytes, .unpacked_bytes, .xml_depth or \
                 .zip_entries",
            ),
        )
        .get(
            "/v1/schemes",
            A::ReadReference,
            schemes,
            Operation::new("The certification schemes in force, with their eligibility routes and competency units.")
                .answers(200, "catalogue"),
        )
        .get(
            "/v1/regions/{code}",
            A::ReadReference,
            region,
            Operation::new("A Kemendagri region with its ancestors and children.")
                .answers(200, "region")
                .problem(400, "malformed code")
                .problem(404, "unknown code"),
        )
}

/// A step of a nomination's administrative selection: it answers the nomination.
fn step(summary: &str) -> Operation {
    command(summary)
        .body::<StepBody>()
        .answers(200, "the nomination")
}

/// The enrollment routes over a service; each passes the access gate with its rule.
pub fn router(enrollment: Enrollment) -> Router {
    secured().into_router().with_state(enrollment)
}

/// The access rule of every enrollment route.
pub fn access_rules() -> Vec<Rule> {
    secured().rules().to_vec()
}

/// The enrollment routes' part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
}
