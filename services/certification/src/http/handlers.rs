//! The handlers: each reads and checks its input, calls the service, and answers.
//!
//! Every read of certificates receives the caller: a scoped role reads only certificates whose
//! holder is posted in its region now ([`readable`]), and the holder's name is shown in full
//! only to roles that see personal data, masked to the others ([`sight`]).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kesos_auth::{Caller, Scope};
use kesos_http::openapi::one_of;
use kesos_http::{FieldError, JsonBody, Paging, Path, Problem, Query};
use kesos_regions::RegionCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::credential::status_list::Purpose;
use crate::domain::{CertificateId, Reason, RevocationCategory, Status};
use crate::http::errors::problem;
use crate::http::page::{self, Lang, Outcome};
use crate::projections::{CertificateFilter, CertificateRow};
use crate::service::{Certification, CertificationError, PublicAnswer, Sight};

type Answer = Result<Response, Problem>;

fn invalid(field: &str, rule: &str, detail: impl Into<String>) -> Problem {
    Problem::invalid(vec![FieldError::new(field, rule, detail)])
}

fn certificate_id(text: &str) -> Result<CertificateId, Problem> {
    Uuid::parse_str(text)
        .map(CertificateId)
        .map_err(|_| invalid("certificate_id", "certificate_id.uuid", "must be a UUID"))
}

fn reason(field: &str, text: &str) -> Result<Reason, Problem> {
    Reason::parse(text).map_err(|e| invalid(field, &format!("{field}.text"), e.to_string()))
}

/// Why a certificate is suspended or reinstated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReasonBody {
    #[schema(max_length = 500)]
    reason: String,
}

/// Why a certificate is revoked: a category and a reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    #[schema(schema_with = revocation_categories)]
    category: String,
    #[schema(max_length = 500)]
    reason: String,
}

fn revocation_categories() -> Object {
    one_of(&[
        "ethics_breach",
        "criminal_conviction",
        "permanent_incapacity",
        "other",
    ])
}

pub(super) async fn suspend(
    State(certification): State<Certification>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let (id, reason) = (certificate_id(&id)?, reason("reason", &body.reason)?);
    let view = certification
        .suspend(id, reason, &context)
        .await
        .map_err(problem)?;
    Ok(Json(view).into_response())
}

pub(super) async fn reinstate(
    State(certification): State<Certification>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let (id, reason) = (certificate_id(&id)?, reason("reason", &body.reason)?);
    let view = certification
        .reinstate(id, reason, &context)
        .await
        .map_err(problem)?;
    Ok(Json(view).into_response())
}

pub(super) async fn revoke(
    State(certification): State<Certification>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RevokeBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let id = certificate_id(&id)?;
    let category = RevocationCategory::parse(&body.category).ok_or_else(|| {
        invalid(
            "category",
            "category.known",
            "must be ethics_breach, criminal_conviction, permanent_incapacity or other",
        )
    })?;
    let reason = reason("reason", &body.reason)?;
    let view = certification
        .revoke(id, category, reason, &context)
        .await
        .map_err(problem)?;
    Ok(Json(view).into_response())
}

/// How much of holders' names the caller may see.
fn sight(caller: &Caller) -> Sight {
    if caller.sees_personal_data() {
        Sight::Full
    } else {
        Sight::Masked
    }
}

/// The certificate `id`, if the caller may read it: for a scoped role, its holder must be
/// posted in the role's region now (the region at issue when the posting is not known here).
/// An unknown certificate is 404 to roles that read every certificate, 403 to a scoped role,
/// which so learns nothing of what exists outside its region.
async fn readable(
    certification: &Certification,
    caller: &Caller,
    id: &str,
) -> Result<CertificateRow, Problem> {
    match certification.row(certificate_id(id)?).await {
        Ok(row) => {
            match row.scope_region().and_then(|r| RegionCode::parse(r).ok()) {
                Some(region) => caller.authorize(Scope::region(&region))?,
                None => caller.authorize(Scope::none())?,
            }
            Ok(row)
        }
        Err(error @ CertificationError::NotFound(_)) => {
            caller.authorize(Scope::none())?;
            Err(problem(error))
        }
        Err(error) => Err(problem(error)),
    }
}

pub(super) async fn read(
    State(certification): State<Certification>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let row = readable(&certification, &caller, &id).await?;
    let view = certification
        .view_of_row(row, sight(&caller))
        .await
        .map_err(problem)?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// The holder.
    worker_id: Option<String>,
    /// valid, suspended, revoked, expired or superseded.
    status: Option<String>,
    /// A scheme code.
    scheme: Option<String>,
    /// A region code: the holder posted in it or any region within it.
    region: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(certification): State<Certification>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Answer {
    let paging = Paging::parse(query.after.as_deref(), query.limit)?;
    let worker_id = query
        .worker_id
        .filter(|w| !w.trim().is_empty())
        .map(|w| {
            Uuid::parse_str(&w)
                .map_err(|_| invalid("worker_id", "worker_id.uuid", "must be a UUID"))
        })
        .transpose()?;
    let status = query
        .status
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Status::parse(&s).ok_or_else(|| {
                invalid(
                    "status",
                    "status.known",
                    "must be valid, suspended, revoked, expired or superseded",
                )
            })
        })
        .transpose()?;
    let region = query
        .region
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            RegionCode::parse(&r).map_err(|e| invalid("region", "region.format", e.to_string()))
        })
        .transpose()?;
    // A scoped role lists its own region unless it names one inside it.
    let region = caller.region_filter(region)?;
    let filter = CertificateFilter {
        worker_id,
        status,
        scheme_code: query.scheme.filter(|s| !s.trim().is_empty()),
        region: region.map(|code| code.as_str().to_owned()),
    };
    let (items, page) = certification
        .list_as(
            &filter,
            paging.after.as_deref(),
            paging.limit,
            sight(&caller),
        )
        .await
        .map_err(problem)?;
    Ok(Json(json!({ "items": items, "next": page.next, "total": page.total })).into_response())
}

pub(super) async fn credential(
    State(certification): State<Certification>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let row = readable(&certification, &caller, &id).await?;
    let credential = certification
        .credential_of(row, sight(&caller))
        .await
        .map_err(problem)?;
    let mut response = Json(credential).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vc+json"),
    );
    Ok(response)
}

pub(super) async fn printable(
    State(certification): State<Certification>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let row = readable(&certification, &caller, &id).await?;
    let page = certification
        .certificate_html_of(row, sight(&caller))
        .await
        .map_err(problem)?;
    Ok(Html(page).into_response())
}

/// `?code=`: the verification code printed beside the number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CodeQuery {
    code: Option<String>,
}

pub(super) async fn verify_number(
    State(certification): State<Certification>,
    Path(number): Path<String>,
    Query(query): Query<CodeQuery>,
) -> Answer {
    let code = query.code.filter(|c| !c.trim().is_empty());
    let answer = certification
        .verify_number(&number, code.as_deref())
        .await
        .map_err(problem)?;
    Ok(Json(answer).into_response())
}

/// A full name to check against a certificate's holder, with the certificate's number and
/// verification code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NameCheck {
    number: String,
    code: String,
    full_name: String,
}

pub(super) async fn verify_name(
    State(certification): State<Certification>,
    JsonBody(body): JsonBody<NameCheck>,
) -> Answer {
    if body.full_name.trim().is_empty() || body.full_name.chars().count() > 200 {
        return Err(invalid(
            "full_name",
            "full_name.text",
            "give the full name, 1-200 characters",
        ));
    }
    let matches = certification
        .verify_name(&body.number, &body.code, &body.full_name)
        .await
        .map_err(problem)?;
    Ok(Json(json!({ "matches": matches })).into_response())
}

async fn status_list(certification: &Certification, purpose: Purpose) -> Answer {
    let list = certification.status_list(purpose).await.map_err(problem)?;
    let mut response = Json(list).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vc+json"),
    );
    Ok(response)
}

pub(super) async fn revocation_list(State(certification): State<Certification>) -> Answer {
    status_list(&certification, Purpose::Revocation).await
}

pub(super) async fn suspension_list(State(certification): State<Certification>) -> Answer {
    status_list(&certification, Purpose::Suspension).await
}

/// The page a certificate's QR code opens: the public verification, in Indonesian.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    number: Option<String>,
    code: Option<String>,
    lang: Option<String>,
}

/// The verification page for a number in the path (the QR code's link).
pub(super) async fn verify_page(
    State(certification): State<Certification>,
    Path(number): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    verification_page(
        &certification,
        Some(number),
        query.code,
        query.lang.as_deref(),
    )
    .await
}

/// The verification page with its form; `?number=` checks a number.
pub(super) async fn verify_form(
    State(certification): State<Certification>,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = query.number.filter(|n| !n.trim().is_empty());
    verification_page(&certification, number, query.code, query.lang.as_deref()).await
}

async fn verification_page(
    certification: &Certification,
    number: Option<String>,
    code: Option<String>,
    lang: Option<&str>,
) -> Response {
    if let Some(other) = lang.filter(|l| !matches!(*l, "id" | "en")) {
        return invalid(
            "lang",
            "lang.known",
            format!("must be id or en, not {other:?}"),
        )
        .into_response();
    }
    let lang = Lang::from_query(lang);
    let code = code.filter(|c| !c.trim().is_empty());
    let typed_code = code.as_deref().unwrap_or_default();
    let Some(number) = number else {
        return Html(page::render(&Outcome::Blank, "", typed_code, lang)).into_response();
    };
    let render = |outcome: Outcome<'_>| page::render(&outcome, &number, typed_code, lang);
    let (status, html) = match certification.verify_number(&number, code.as_deref()).await {
        Ok(PublicAnswer::Details(found)) => (StatusCode::OK, render(Outcome::Found(&found))),
        Ok(PublicAnswer::Validity(validity)) => {
            (StatusCode::OK, render(Outcome::Validity(&validity)))
        }
        Err(CertificationError::WrongCode(_)) => {
            (StatusCode::NOT_FOUND, render(Outcome::WrongCode))
        }
        Err(CertificationError::InvalidNumber(_)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, render(Outcome::Malformed))
        }
        Err(CertificationError::NumberNotFound(_)) => {
            (StatusCode::NOT_FOUND, render(Outcome::NotFound))
        }
        Err(error) => return problem(error).into_response(),
    };
    (status, Html(html)).into_response()
}
