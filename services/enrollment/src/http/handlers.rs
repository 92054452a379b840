//! The handlers: each reads and checks its input, calls the service, and answers JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kesos_auth::{Action, Caller, Scope};
use kesos_http::{FieldError, JsonBody, Paging, Path, Problem, Query};
use kesos_regions::{Level, RegionCode};
use kesos_vault::KeyState;
use serde::Deserialize;
use serde_json::{Value, json};
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::{
    Category, EducationLevel, EmploymentStatus, NominationId, Posting, Qualifications, Reason,
    Role, SetTarget, TargetCategory, TargetRegion, Worker, WorkerCommand, WorkerError, WorkerId,
    business_date,
};
use crate::http::errors::problem;
use crate::projections::WorkerFilter;
use crate::service::{Enrollment, EnrollmentError, WorkerForm, WorkerView};

/// Largest upload an import accepts (a 1,000,000-row CSV is about 150 MB; offices send far
/// less).
pub(super) const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

pub(super) type Answer = Result<Response, Problem>;

/// Loads a worker and checks the caller may take its route's action on it (a Dinas only in
/// its region); a worker that does not exist is 404 for everyone.
pub(super) async fn authorize_worker(
    enrollment: &Enrollment,
    caller: &Caller,
    id: WorkerId,
) -> Result<(), Problem> {
    let worker = enrollment.load(id).await.map_err(problem)?;
    let posting = worker.record.as_ref().map(|r| r.posting.code().clone());
    match &posting {
        Some(region) => caller.authorize(Scope::region(region)),
        None => caller.authorize(Scope::none()),
    }
}

/// The command limited to the caller's region when the caller is a regional office, so the
/// region is judged on the state the command is decided on (in the same load, decide and
/// append): a worker moved out of the region after [`authorize_worker`] is refused, not
/// changed.
fn within_scope(caller: &Caller, command: WorkerCommand) -> WorkerCommand {
    match caller.principal().role.region() {
        Some(scope) => WorkerCommand::WithinRegion {
            region: scope.code().clone(),
            command: Box::new(command),
        },
        None => command,
    }
}

/// The problem for a command's error: a worker found outside the caller's region when the
/// command was decided is refused as the gate refuses (403, recorded in the access log).
pub(super) fn refused(caller: &Caller, error: EnrollmentError) -> Problem {
    match error {
        EnrollmentError::Worker(WorkerError::OutsideRegion { posting, .. }) => caller
            .authorize(Scope::region(&posting))
            .err()
            .unwrap_or_else(kesos_auth::forbidden),
        other => problem(other),
    }
}

/// The problem for a refused registration: a duplicate NIK names the worker holding it only
/// to a caller who may read workers nationwide; any other caller (a regional office) learns
/// that the NIK is registered, and nothing about who holds it or where.
fn registration_refused(caller: &Caller, error: EnrollmentError) -> Problem {
    let national = kesos_auth::authorize(caller.principal(), Action::ReadWorkers, Scope::none());
    match error {
        EnrollmentError::DuplicateNik { .. } if national.is_err() => Problem::rule(
            StatusCode::CONFLICT,
            "duplicate-nik",
            "this NIK is already registered",
        ),
        other => problem(other),
    }
}

pub(super) fn invalid(field: &str, rule: &str, detail: impl Into<String>) -> Problem {
    Problem::invalid(vec![FieldError::new(field, rule, detail)])
}

pub(super) fn worker_id(text: &str) -> Result<WorkerId, Problem> {
    Uuid::parse_str(text)
        .map(WorkerId)
        .map_err(|_| invalid("worker_id", "worker_id.uuid", "must be a UUID"))
}

fn nomination_id(text: &str) -> Result<NominationId, Problem> {
    Uuid::parse_str(text)
        .map(NominationId)
        .map_err(|_| invalid("nomination_id", "nomination_id.uuid", "must be a UUID"))
}

pub(super) fn reason(field: &str, text: &str) -> Result<Reason, Problem> {
    Reason::parse(text).map_err(|e| invalid(field, &format!("{field}.text"), e.to_string()))
}

pub(super) async fn register(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(form): JsonBody<WorkerForm>,
) -> Answer {
    // The office's region is checked before the form, so a refusal says nothing about it.
    if let Ok(region) = RegionCode::parse(&form.posting) {
        caller.authorize(Scope::region(&region))?;
    }
    let context = caller.command_context(&headers)?;
    let today = business_date(context.occurred_at);
    let worker = form
        .validate(enrollment.regions(), today)
        .map_err(Problem::invalid)?;
    caller.authorize(Scope::region(worker.posting.code()))?;
    let registered = enrollment
        .register(&worker, &context)
        .await
        .map_err(|e| registration_refused(&caller, e))?;
    let status = if registered.already {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({ "worker_id": registered.worker_id.to_string(), "already_registered": registered.already })),
    )
        .into_response())
}

pub(super) async fn read(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let id = worker_id(&id)?;
    authorize_worker(&enrollment, &caller, id).await?;
    let mut view = enrollment.view(id).await.map_err(problem)?;
    if !caller.sees_personal_data() {
        view.nik = None;
        view.full_name = None;
        view.birth_date = None;
    }
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// A region code prefix: workers posted within it.
    region: Option<String>,
    /// peksos, tks, penyuluh_sosial or relawan_sosial.
    category: Option<String>,
    /// A role code.
    role: Option<String>,
    /// An employment status code.
    employment_status: Option<String>,
    /// active, departed or erased.
    status: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

fn known<T>(
    field: &str,
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, crate::domain::UnknownCode>,
    code: impl Fn(T) -> &'static str,
) -> Result<Option<String>, Problem> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            parse(&v)
                .map(|parsed| code(parsed).to_owned())
                .map_err(|e| invalid(field, &format!("{field}.known"), e.to_string()))
        })
        .transpose()
}

pub(super) async fn list(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Answer {
    let paging = Paging::parse(query.after.as_deref(), query.limit)?;
    let region = query
        .region
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            RegionCode::parse(&r).map_err(|e| invalid("region", "region.format", e.to_string()))
        })
        .transpose()?;
    let region = caller.region_filter(region)?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("active" | "departed" | "erased")) => Some(s.to_owned()),
        Some(_) => {
            return Err(invalid(
                "status",
                "status.known",
                "must be active, departed or erased",
            ));
        }
    };
    let filter = WorkerFilter {
        region,
        category: known("category", query.category, Category::parse, Category::code)?,
        role: known("role", query.role, Role::parse, Role::code)?,
        employment_status: known(
            "employment_status",
            query.employment_status,
            EmploymentStatus::parse,
            EmploymentStatus::code,
        )?,
        status,
    };
    let page = enrollment
        .directory()
        .list(&filter, paging.after.as_deref(), paging.limit)
        .await
        .map_err(problem)?;
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .filter_map(|item| Uuid::parse_str(&item.worker_id).ok())
        .collect();
    let keys = enrollment
        .vault()
        .keys(&ids)
        .await
        .map_err(|e| problem(EnrollmentError::Vault(e)))?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|item| {
            let name = Uuid::parse_str(&item.worker_id)
                .ok()
                .and_then(|id| keys.get(&id))
                .zip(item.sealed_name.as_ref())
                .and_then(|(key, sealed)| match key {
                    KeyState::Live(key) => key.open(crate::service::NAME_LABEL, sealed).ok(),
                    _ => None,
                })
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|_| caller.sees_personal_data());
            json!({
                "worker_id": item.worker_id,
                "full_name": name,
                "category": item.category,
                "role": item.role,
                "employment_status": item.employment_status,
                "posting": item.posting,
                "status": item.status,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": page.next, "total": page.total })).into_response())
}

async fn run(
    enrollment: &Enrollment,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
    command: WorkerCommand,
) -> Answer {
    let context = caller.command_context(headers)?;
    let worker_id = worker_id(id)?;
    let state = enrollment
        .command(worker_id, within_scope(caller, command), &context)
        .await
        .map_err(|e| refused(caller, e))?;
    let key = enrollment
        .vault()
        .key(worker_id.0)
        .await
        .map_err(|e| problem(EnrollmentError::Vault(e)))?;
    Ok(Json(WorkerView::of(&state, &key)).into_response())
}

/// The worker's new posting: a Kemendagri code, at least a kabupaten/kota.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PostingBody {
    posting: String,
}

pub(super) async fn move_posting(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PostingBody>,
) -> Answer {
    authorize_worker(&enrollment, &caller, worker_id(&id)?).await?;
    let posting = Posting::parse(&body.posting, enrollment.regions())
        .map_err(|e| invalid("posting", "posting.region", e.to_string()))?;
    caller.authorize(Scope::region(posting.code()))?;
    run(
        &enrollment,
        &caller,
        &headers,
        &id,
        WorkerCommand::MovePosting(posting),
    )
    .await
}

/// The worker's new employment status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EmploymentBody {
    employment_status: String,
}

pub(super) async fn change_employment(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EmploymentBody>,
) -> Answer {
    authorize_worker(&enrollment, &caller, worker_id(&id)?).await?;
    let status = EmploymentStatus::parse(&body.employment_status).map_err(|e| {
        invalid(
            "employment_status",
            "employment_status.known",
            e.to_string(),
        )
    })?;
    run(
        &enrollment,
        &caller,
        &headers,
        &id,
        WorkerCommand::ChangeEmploymentStatus(status),
    )
    .await
}

/// The worker's new role or programme.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleBody {
    role: String,
}

pub(super) async fn change_role(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Answer {
    authorize_worker(&enrollment, &caller, worker_id(&id)?).await?;
    let role = Role::parse(&body.role).map_err(|e| invalid("role", "role.known", e.to_string()))?;
    run(
        &enrollment,
        &caller,
        &headers,
        &id,
        WorkerCommand::ChangeRole(role),
    )
    .await
}

/// The worker's education and experience, replacing what was recorded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct QualificationsBody {
    education_level: String,
    #[serde(default)]
    education_in_social_work: bool,
    #[serde(default)]
    practice_months: u32,
    #[serde(default)]
    training_hours: u32,
    #[serde(default)]
    association_member: bool,
}

pub(super) async fn update_qualifications(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QualificationsBody>,
) -> Answer {
    authorize_worker(&enrollment, &caller, worker_id(&id)?).await?;
    let level = EducationLevel::parse(&body.education_level)
        .map_err(|e| invalid("education_level", "education_level.known", e.to_string()))?;
    let qualifications = Qualifications {
        education: crate::domain::Education {
            level,
            in_social_work: body.education_in_social_work,
        },
        practice_months: body.practice_months,
        training_hours: body.training_hours,
        association_member: body.association_member,
    };
    run(
        &enrollment,
        &caller,
        &headers,
        &id,
        WorkerCommand::UpdateQualifications(qualifications),
    )
    .await
}

/// Why the worker's personal data is erased, and on what legal basis.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ErasureBody {
    reason: String,
    legal_basis: String,
}

pub(super) async fn erase(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ErasureBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let worker_id = worker_id(&id)?;
    let why = reason("reason", &body.reason)?;
    let legal_basis = reason("legal_basis", &body.legal_basis)?;
    enrollment
        .erase(worker_id, why, legal_basis, &context)
        .await
        .map_err(problem)?;
    read(State(enrollment), caller, Path(id)).await
}

/// The scheme a worker is nominated for, the period and who recommends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NominationBody {
    scheme_code: String,
    period_year: i32,
    recommending_office: String,
    portfolio_ref: String,
}

pub(super) async fn nominate(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NominationBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let id = worker_id(&id)?;
    authorize_worker(&enrollment, &caller, id).await?;
    let nomination = enrollment
        .nominate(
            id,
            &body.scheme_code,
            body.period_year,
            &body.recommending_office,
            &body.portfolio_ref,
            caller.principal().role.region().map(|scope| scope.code()),
            &context,
        )
        .await
        .map_err(|e| refused(&caller, e))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "nomination_id": nomination.to_string() })),
    )
        .into_response())
}

type StepPath = Path<(String, String)>;

pub(super) async fn verify_nomination(
    s: State<Enrollment>,
    c: Caller,
    h: HeaderMap,
    p: StepPath,
    b: Bytes,
) -> Answer {
    nomination_step(s, c, h, p, b, "verify").await
}

pub(super) async fn reject_nomination(
    s: State<Enrollment>,
    c: Caller,
    h: HeaderMap,
    p: StepPath,
    b: Bytes,
) -> Answer {
    nomination_step(s, c, h, p, b, "reject").await
}

pub(super) async fn override_nomination(
    s: State<Enrollment>,
    c: Caller,
    h: HeaderMap,
    p: StepPath,
    b: Bytes,
) -> Answer {
    nomination_step(s, c, h, p, b, "override").await
}

pub(super) async fn withdraw_nomination(
    s: State<Enrollment>,
    c: Caller,
    h: HeaderMap,
    p: StepPath,
    b: Bytes,
) -> Answer {
    nomination_step(s, c, h, p, b, "withdraw").await
}

/// A step's reason (reject, withdraw) or justification (override); verify needs neither.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StepBody {
    reason: Option<String>,
    justification: Option<String>,
}

async fn nomination_step(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, nomination)): Path<(String, String)>,
    body: Bytes,
    action: &'static str,
) -> Answer {
    let worker = worker_id(&id)?;
    authorize_worker(&enrollment, &caller, worker).await?;
    let body: StepBody = if body.is_empty() {
        StepBody::default()
    } else {
        kesos_http::body::parse(&body)?
    };
    let nomination = nomination_id(&nomination)?;
    let command = match action {
        "verify" => {
            let context = caller.command_context(&headers)?;
            let state = enrollment
                .verify(worker, nomination, &context)
                .await
                .map_err(problem)?;
            return nomination_answer(&state, nomination);
        }
        "reject" => WorkerCommand::Reject {
            nomination_id: nomination,
            reason: reason("reason", body.reason.as_deref().unwrap_or_default())?,
        },
        "override" => WorkerCommand::Override {
            nomination_id: nomination,
            justification: reason(
                "justification",
                body.justification.as_deref().unwrap_or_default(),
            )?,
        },
        "withdraw" => WorkerCommand::Withdraw {
            nomination_id: nomination,
            reason: reason("reason", body.reason.as_deref().unwrap_or_default())?,
        },
        _ => {
            return Err(Problem::not_found(
                "no such nomination step; use verify, reject, override or withdraw",
            ));
        }
    };
    let context = caller.command_context(&headers)?;
    let state = enrollment
        .command(worker, within_scope(&caller, command), &context)
        .await
        .map_err(|e| refused(&caller, e))?;
    nomination_answer(&state, nomination)
}

/// The nomination as the command left it (no personal data, so no key is needed).
fn nomination_answer(state: &Worker, nomination: NominationId) -> Answer {
    let view = WorkerView::of(state, &KeyState::Missing);
    let found = view
        .nominations
        .into_iter()
        .find(|n| n.nomination_id == nomination.to_string())
        .ok_or_else(|| Problem::not_found(format!("nomination {nomination} does not exist")))?;
    Ok(Json(found).into_response())
}

/// A yearly target: the year, the region (empty: the nation), the category (`all`, or
/// absent, for a total across categories), the count, and the business date it is in force
/// from (YYYY-MM-DD in WIB, not in the future; absent: today).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetBody {
    year: i32,
    #[serde(default)]
    region: String,
    #[serde(default)]
    category: String,
    target_count: u32,
    #[serde(default)]
    in_force_from: String,
}

pub(super) async fn set_target(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TargetBody>,
) -> Answer {
    let context = caller.command_context(&headers)?;
    let region = TargetRegion::parse(&body.region, enrollment.regions())
        .map_err(|e| invalid("region", "region.target_level", e.to_string()))?;
    let category = match body.category.trim() {
        "" | "all" => TargetCategory::Total,
        text => TargetCategory::Category(
            Category::parse(text)
                .map_err(|e| invalid("category", "category.known", e.to_string()))?,
        ),
    };
    let in_force_from = match body.in_force_from.trim() {
        "" => business_date(context.occurred_at),
        text => Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
            invalid(
                "in_force_from",
                "in_force_from.date",
                format!("{text:?} is not a real business date YYYY-MM-DD"),
            )
        })?,
    };
    let target = SetTarget {
        year: body.year,
        region: region.clone(),
        category,
        count: body.target_count,
        in_force_from,
        now: context.occurred_at,
    };
    enrollment
        .set_target(target, &context)
        .await
        .map_err(problem)?;
    Ok(Json(json!({
        "year": body.year,
        "region": region.code(),
        "category": category.code(),
        "target_count": body.target_count,
        "in_force_from": in_force_from.to_string(),
    }))
    .into_response())
}

pub(super) async fn import(
    State(enrollment): State<Enrollment>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body = body.map_err(upload_rejected)?;
    let today = business_date(OffsetDateTime::now_utc());
    let report = enrollment
        .import_workers(body, &caller.actor(), today, |_, _| {})
        .await
        .map_err(problem)?;
    Ok(Json(report).into_response())
}

/// An upload body that could not be read: past [`MAX_UPLOAD_BYTES`] a 413 naming the limit,
/// otherwise a 400 on the `file` field.
fn upload_rejected(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let mut problem = Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload-too-large",
            "Upload too large",
            format!(
                "file: the upload is larger than {} MiB, the most one import may be; split it into smaller files and upload them one at a time",
                MAX_UPLOAD_BYTES >> 20
            ),
        );
        problem.errors = vec![FieldError::new(
            "file",
            "file.limit.upload_bytes",
            format!("at most {MAX_UPLOAD_BYTES} bytes"),
        )];
        return problem;
    }
    invalid("file", "file.read", rejection.body_text())
}

pub(super) async fn schemes(State(enrollment): State<Enrollment>) -> Json<Value> {
    let catalog = enrollment.catalog();
    Json(json!({
        "version": catalog.version,
        "schemes": catalog.schemes.iter().map(|s| json!({
            "code": s.code.as_str(),
            "name": s.name,
            "category": s.category.code(),
            "level": s.level,
            "validity_years": s.validity_years,
            "routes": s.routes.iter().map(|r| json!({ "id": r.id, "description": r.description })).collect::<Vec<_>>(),
            "units": s.units.iter().map(|u| json!({ "code": u.code, "title": u.title })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

pub(super) async fn region(
    State(enrollment): State<Enrollment>,
    Path(code): Path<String>,
) -> Answer {
    let regions = enrollment.regions();
    let region = regions.lookup(&code).map_err(|e| match e {
        kesos_regions::RegionError::Malformed(e) => invalid("code", "region.format", e.to_string()),
        other => Problem::not_found(other.to_string()),
    })?;
    let summary = |r: &kesos_regions::Region| json!({ "code": r.code().as_str(), "name": r.name(), "level": r.level().as_str() });
    let children: Vec<Value> = if region.level() == Level::DesaKelurahan {
        Vec::new()
    } else {
        regions
            .children(region.code())
            .into_iter()
            .map(summary)
            .collect()
    };
    Ok(Json(json!({
        "region": summary(region),
        "edition": kesos_regions::EDITION,
        "ancestors": regions.ancestors(region.code()).into_iter().map(summary).collect::<Vec<_>>(),
        "children": children,
    }))
    .into_response())
}
