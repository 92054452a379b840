//! The command context of a request, built the same way by every service's routes.

use axum::http::HeaderMap;
use kesos_commands::CommandContext;
use time::OffsetDateTime;

use crate::idempotency::command_id;
use crate::problem::Problem;

/// Header a caller may set to tie its requests together in the log (1-100 characters).
pub const CORRELATION_ID: &str = "x-correlation-id";

/// The context of a command sent over HTTP: its id from `Idempotency-Key` (so a retry is a
/// no-op), the correlation id from `X-Correlation-Id` (else the command id), the time now.
/// The actor is `http:anonymous` here; routes behind the access gate take their context from
/// `kesos_auth::Caller::command_context`, which sets the token's `<role>:<subject>`.
pub fn command_context(headers: &HeaderMap) -> Result<CommandContext, Problem> {
    let command_id = command_id(headers)?;
    Ok(CommandContext {
        command_id,
        actor: "http:anonymous".to_owned(),
        correlation_id: headers
            .get(CORRELATION_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| (1..=100).contains(&v.len()))
            .map_or_else(|| command_id.to_string(), str::to_owned),
        causation_id: None,
        occurred_at: OffsetDateTime::now_utc(),
    })
}
