//! The HTTP gate. The process installs one [`Gate`] (token verifier, rate limiter, access log)
//! as a request extension; every route built with [`crate::Secured`] runs [`check`] with its
//! own [`Action`] before its handler: authenticate the bearer token, ask the policy whether the
//! role may take the action at all, count public verification against the client's bucket,
//! and hand the handler a [`Caller`] for the resource-level (region, LSPS) decision.
//!
//! Answers: 401 with `WWW-Authenticate: Bearer` for a missing, malformed, expired, forged or
//! wrong-audience token on a route the public may not use; 403 for a valid token outside its
//! role or scope; 429 with `Retry-After` past the rate limit. Bodies are problem+json and say
//! nothing about the resource. A route whose gate is missing fails closed (401) except for
//! the public actions.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kesos_commands::CommandContext;
use kesos_http::Problem;
use kesos_regions::RegionCode;
use time::OffsetDateTime;

use crate::access_log::{AccessEntry, AccessLog};
use crate::legacy_keys::LegacyKeys;
use crate::policy::{Action, Denied, Scope, authorize, role_may, sees_personal_data};
use crate::principal::{Principal, Role};
use crate::rate::RateLimiter;
use crate::revocation::RevocationList;
use crate::token::TokenVerifier;

/// Everything the gate needs, shared by all requests.
#[derive(Clone)]
pub struct Gate(Arc<Inner>);

struct Inner {
    verifier: TokenVerifier,
    limiter: RateLimiter,
    log: Arc<AccessLog>,
    tokenless: Principal,
    revocations: Option<RevocationList>,
    legacy: Option<LegacyKeys>,
}

impl Gate {
    /// A gate verifying tokens with `verifier` and limiting public verification with `limiter`.
    /// No revocation list: for benchmarks and tests; a process uses [`Gate::revocable`].
    pub fn new(verifier: TokenVerifier, limiter: RateLimiter, log: AccessLog) -> Self {
        Self(Arc::new(Inner {
            verifier,
            limiter,
            log: Arc::new(log),
            tokenless: Principal::public(),
            revocations: None,
            legacy: None,
        }))
    }

    /// [`Gate::new`] that also refuses (401) every token on `revocations`, looked up on each
    /// request (when the list cannot be read the request is refused, 503, never let through),
    /// and recognises `Idempotency-Key`s recorded under the old derivation in `legacy`.
    pub fn revocable(
        verifier: TokenVerifier,
        limiter: RateLimiter,
        log: AccessLog,
        revocations: RevocationList,
        legacy: LegacyKeys,
    ) -> Self {
        Self(Arc::new(Inner {
            verifier,
            limiter,
            log: Arc::new(log),
            tokenless: Principal::public(),
            revocations: Some(revocations),
            legacy: Some(legacy),
        }))
    }

    /// A gate for tests of one service's routes: callers without a token are `principal`.
    #[cfg(feature = "testing")]
    pub fn trusting(principal: Principal) -> Self {
        Self(Arc::new(Inner {
            verifier: TokenVerifier::new([], "testing"),
            limiter: RateLimiter::new(u32::MAX, u32::MAX, 1),
            log: Arc::new(AccessLog::new(100)),
            tokenless: principal,
            revocations: None,
            legacy: None,
        }))
    }

    /// The layer that installs the gate on a router: `router.layer(gate.layer())`.
    pub fn layer(&self) -> axum::Extension<Gate> {
        axum::Extension(self.clone())
    }

    /// The access log, for its read route.
    pub fn access_log(&self) -> &AccessLog {
        &self.0.log
    }

    /// How many verification keys are trusted (for the start-up line).
    pub fn key_count(&self) -> usize {
        self.0.verifier.key_count()
    }
}

impl Gate {
    /// The principal a bearer token names, or why it names none (a reason for the access log);
    /// `Err` is an answer to send now: the revocation list could not be read.
    async fn authenticate(&self, token: &str) -> Result<Result<Principal, String>, Response> {
        let verified = match self
            .0
            .verifier
            .verify_token(token, OffsetDateTime::now_utc())
        {
            Ok(verified) => verified,
            Err(error) => return Ok(Err(error.to_string())),
        };
        let Some(revocations) = &self.0.revocations else {
            return Ok(Ok(verified.principal));
        };
        match revocations.is_revoked(&verified.jti).await {
            Ok(false) => Ok(Ok(verified.principal)),
            Ok(true) => Ok(Err(format!("token {} was revoked", verified.jti))),
            Err(error) => {
                tracing::error!(%error, "cannot read the token revocation list; refusing the request");
                Err(Problem::unavailable(
                    "the token cannot be checked right now; retry in a moment",
                )
                .into_response())
            }
        }
    }
}

impl Gate {
    /// Replaces an opaque `Idempotency-Key` by the command id the old derivation gave it when
    /// that command is recorded, so its retry is recognised (see [`crate::legacy_keys`]). A
    /// failed lookup leaves the key alone: the command then runs under the new id.
    async fn recognise_legacy_key(&self, headers: &mut HeaderMap) {
        let Some(legacy) = &self.0.legacy else {
            return;
        };
        let Some(key) = headers
            .get(kesos_http::IDEMPOTENCY_KEY)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|key| (1..=200).contains(&key.len()))
        else {
            return;
        };
        match legacy.recorded(key).await {
            Ok(Some(id)) => {
                if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
                    headers.insert(kesos_http::IDEMPOTENCY_KEY, value);
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot look up an idempotency key recorded before SHA-256");
            }
        }
    }
}

/// The caller of a route, as the gate established it, and the route's action.
#[derive(Clone)]
pub struct Caller {
    principal: Principal,
    action: Action,
    log: Option<Arc<AccessLog>>,
    method: String,
    path: String,
    client: Option<IpAddr>,
}

impl Caller {
    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// How the caller is recorded in event metadata: `<role>:<subject>`.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }

    /// Whether the caller may see workers' names and NIKs (never the auditor).
    pub fn sees_personal_data(&self) -> bool {
        sees_personal_data(&self.principal.role)
    }

    /// Whether the caller may take the route's action on a resource in `scope`; a refusal is
    /// logged and answered 403.
    pub fn authorize(&self, scope: Scope<'_>) -> Result<(), Problem> {
        self.authorize_action(self.action, scope)
    }

    /// Like [`Caller::authorize`], for a second action one route also takes.
    pub fn authorize_action(&self, action: Action, scope: Scope<'_>) -> Result<(), Problem> {
        authorize(&self.principal, action, scope).map_err(|denied| {
            let reason = match denied {
                Denied::Role => "role",
                Denied::Scope => "outside scope",
            };
            self.deny(StatusCode::FORBIDDEN, reason);
            forbidden()
        })
    }

    /// The region a list is filtered by: a Dinas without a filter gets its own region, a Dinas
    /// asking for another region is refused; other roles get what they asked for (if the
    /// policy lets them read unscoped at all).
    pub fn region_filter(
        &self,
        requested: Option<RegionCode>,
    ) -> Result<Option<RegionCode>, Problem> {
        match (&self.principal.role, requested) {
            (Role::RegionalDinas { region }, None) => Ok(Some(region.code().clone())),
            (_, Some(region)) => {
                self.authorize(Scope::region(&region))?;
                Ok(Some(region))
            }
            (_, None) => self.authorize(Scope::none()).map(|()| None),
        }
    }

    /// The command context of a request (id from `Idempotency-Key`, correlation id, time),
    /// with this caller as its actor.
    pub fn command_context(&self, headers: &HeaderMap) -> Result<CommandContext, Problem> {
        let mut context = kesos_http::command_context(headers)?;
        context.actor = self.actor();
        Ok(context)
    }

    fn deny(&self, status: StatusCode, reason: &str) {
        if let Some(log) = &self.log {
            log.denied(entry(
                &self.principal,
                &self.method,
                &self.path,
                self.action,
                status,
                reason,
                self.client,
            ));
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    /// The caller the gate stored; a handler reached without the gate answers 401.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "send a valid bearer token",
            )
        })
    }
}

fn entry(
    principal: &Principal,
    method: &str,
    path: &str,
    action: Action,
    status: StatusCode,
    reason: &str,
    client: Option<IpAddr>,
) -> AccessEntry {
    AccessEntry {
        at: OffsetDateTime::now_utc(),
        actor: principal.actor(),
        method: method.to_owned(),
        path: path.to_owned(),
        action: format!("{action:?}"),
        status: status.as_u16(),
        reason: reason.to_owned(),
        client: client.map(|c| c.to_string()),
    }
}

/// 403 that says nothing about the resource.
pub fn forbidden() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Forbidden",
        "your token's role or scope does not allow this request",
    )
}

fn unauthorized(invalid: bool) -> Response {
    let detail = if invalid {
        "the bearer token is not valid here; ask for a new one"
    } else {
        "this route needs a bearer token (Authorization: Bearer …)"
    };
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Authentication required",
        detail,
    )
    .into_response();
    let challenge = if invalid {
        "Bearer realm=\"kesos\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"kesos\""
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

fn too_many(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        format!("too many verification requests from this client; retry in {seconds} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

enum Bearer<'a> {
    None,
    Token(&'a str),
    Malformed,
}

fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Bearer::None;
    };
    let Ok(text) = value.to_str() else {
        return Bearer::Malformed;
    };
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Token(token.trim())
        }
        _ => Bearer::Malformed,
    }
}

/// The gate's check for a route taking `action` (installed by [`crate::Secured`]).
pub(crate) async fn check(action: Action, mut request: Request, next: Next) -> Response {
    let gate = request.extensions().get::<Gate>().cloned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let log = gate.as_ref().map(|g| g.0.log.clone());
    let denied = |principal: &Principal, status: StatusCode, reason: &str| {
        if let Some(log) = &log {
            log.denied(entry(
                principal, &method, &path, action, status, reason, client,
            ));
        }
    };
    let verified = match (bearer(request.headers()), &gate) {
        (Bearer::None, Some(gate)) => Ok(gate.0.tokenless.clone()),
        (Bearer::None, None) => Ok(Principal::public()),
        (Bearer::Token(token), Some(gate)) => match gate.authenticate(token).await {
            Ok(verified) => verified,
            Err(response) => return response,
        },
        (Bearer::Token(_), None) => Err("no gate installed to verify tokens".to_owned()),
        (Bearer::Malformed, _) => Err("the Authorization header is not a bearer token".to_owned()),
    };
    let principal = match verified {
        Ok(principal) => principal,
        Err(_) if action.is_public() => Principal::public(),
        Err(reason) => {
            denied(&Principal::public(), StatusCode::UNAUTHORIZED, &reason);
            return unauthorized(true);
        }
    };
    if !role_may(&principal.role, action) {
        if principal.role == Role::Public {
            denied(&principal, StatusCode::UNAUTHORIZED, "no token");
            return unauthorized(false);
        }
        denied(&principal, StatusCode::FORBIDDEN, "role");
        return forbidden().into_response();
    }
    if let (true, Some(gate), Some(ip)) = (action.is_rate_limited(), &gate, client)
        && let Err(wait) = gate.0.limiter.check(ip)
    {
        denied(&principal, StatusCode::TOO_MANY_REQUESTS, "rate limit");
        return too_many(wait);
    }
    if let (Some(log), false) = (&log, action.is_read()) {
        log.allowed(&principal.actor(), &method, &path, &format!("{action:?}"));
    }
    if let Some(gate) = &gate {
        gate.recognise_legacy_key(request.headers_mut()).await;
    }
    request.extensions_mut().insert(Caller {
        principal,
        action,
        log,
        method,
        path,
        client,
    });
    next.run(request).await
}
