//! The route table: each certification route once, with its access rule and its OpenAPI
//! operation. The router, the gate's policy and the document's paths are all built from it;
//! the handlers it names are in [`super::handlers`].

use axum::Router;
use kesos_auth::{Action, ApiPart, Rule, Secured};
use kesos_http::Operation;

use super::handlers::{
    ListQuery, NameCheck, ReasonBody, RevokeBody, credential, list, printable, read, reinstate,
    revocation_list, revoke, suspend, suspension_list, verify_form, verify_name, verify_number,
    verify_page,
};
use super::openapi::{
    CODE, NUMBER, certificate_answer, command, page_operation, status_list_operation,
    verification_answer,
};
use crate::service::Certification;

/// Every route once, with its access rule and its description: the router, the gate's policy
/// and the OpenAPI paths are built from this table only.
fn secured() -> Secured<Certification> {
    use Action as A;
    Secured::new()
        .get(
            "/v1/certificates",
            A::ReadCertificates,
            list,
            Operation::new(
                "List certificates, paged by certificate id; filter by holder, status, scheme, \
                 region (the region or any within it).",
            )
            .query::<ListQuery>()
            .answers(200, "{ items: [Certificate], next, total }")
            .problem(400, "a filter is malformed"),
        )
        .get(
            "/v1/certificates/{certificate_id}",
            A::ReadCertificates,
            read,
            certificate_answer(
                Operation::new("A certificate, with the holder's name unless erased."),
                "the certificate",
            )
            .problem(400, "not a UUID")
            .problem(404, "no such certificate"),
        )
        .post(
            "/v1/certificates/{certificate_id}/suspend",
            A::ChangeCertificate,
            suspend,
            command("Suspend a certificate in force, with a reason.").body::<ReasonBody>(),
        )
        .post(
            "/v1/certificates/{certificate_id}/reinstate",
            A::ChangeCertificate,
            reinstate,
            command("Reinstate a suspended certificate, with a reason.").body::<ReasonBody>(),
        )
        .post(
            "/v1/certificates/{certificate_id}/revoke",
            A::ChangeCertificate,
            revoke,
            command("Revoke a certificate for good, with a category and a reason.")
                .body::<RevokeBody>(),
        )
        .get(
            "/v1/certificates/{certificate_id}/credential.json",
            A::ReadCertificates,
            credential,
            Operation::new(
                "The certificate as a W3C Verifiable Credential 2.0 signed with eddsa-jcs-2022; \
                 `kesos cert verify FILE` checks it offline.",
            )
            .answers(200, "application/vc+json")
            .problem(404, "no such certificate"),
        )
        .get(
            "/v1/certificates/{certificate_id}/certificate.html",
            A::ReadCertificates,
            printable,
            Operation::new(
                "The printable certificate (Bahasa Indonesia) with a QR code of its \
                 verification page.",
            )
            .answers(200, "text/html")
            .problem(404, "no such certificate"),
        )
        .get(
            "/v1/verify/{number}",
            A::PublicVerify,
            verify_number,
            verification_answer(Operation::new(
                "Public verification by number. With `?code=` (the verification code printed \
                 beside the number, also in the QR link): status, scheme, level, validity, \
                 issuing body, the holder's name masked. Without it: whether the certificate \
                 is valid, nothing more.",
            ))
            .path_text("number", NUMBER)
            .query_text("code", CODE)
            .problem(
                404,
                "a valid number that no certificate carries, or a code that is not the \
                 certificate's",
            )
            .problem(
                422,
                "not a valid certificate number (malformed, or a mistyped or swapped character)",
            ),
        )
        .post(
            "/v1/verify",
            A::PublicVerify,
            verify_name,
            Operation::new(
                "Public check whether a full name is the holder's (case and spacing aside), \
                 with the certificate's verification code.",
            )
            .body::<NameCheck>()
            .answers(200, "{ matches: boolean }")
            .problem(400, "missing name")
            .problem(
                404,
                "no certificate has this number, or the code is not its code",
            )
            .problem(422, "not a valid certificate number"),
        )
        .get(
            "/v1/status-list",
            A::PublicVerify,
            revocation_list,
            status_list_operation("revocation"),
        )
        .get(
            "/v1/status-list/suspension",
            A::PublicVerify,
            suspension_list,
            status_list_operation("suspension"),
        )
        .get(
            "/verify",
            A::PublicVerify,
            verify_form,
            page_operation(
                "The public verification page with a form; `?number=` checks a number (HTML).",
            )
            .query_text("number", NUMBER),
        )
        .get(
            "/verify/{number}",
            A::PublicVerify,
            verify_page,
            page_operation(
                "The verification page a certificate's QR code opens (HTML, Bahasa Indonesia; \
                 English with `?lang=en`).",
            )
            .path_text("number", NUMBER),
        )
}

/// The certification routes over a service; each passes the access gate with its rule.
pub fn router(certification: Certification) -> Router {
    secured().into_router().with_state(certification)
}

/// The certification routes' part of the OpenAPI document.
pub fn openapi() -> ApiPart {
    secured().api()
}

/// The access rule of every certification route.
pub fn access_rules() -> Vec<Rule> {
    secured().rules().to_vec()
}
