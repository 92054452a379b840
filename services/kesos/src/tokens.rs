//! `kesos token revoke`: withdraws a token before it expires. The revocation goes to the
//! store's database, which every serving process reads on every request, so the token is
//! refused from the next request on, across restarts and replicas.

use std::io::Write;

use anyhow::Context;
use kesos_runtime::Config;

use crate::{http, open};

/// Revokes the token named by `token` (its `jti`, or the whole token, whose `jti` is read
/// without checking its signature: revoking is harmless) for `reason`, recorded with `by`.
pub async fn revoke_command(
    config: &Config,
    token: &str,
    reason: &str,
    by: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let jti = if token.contains('.') {
        kesos_auth::token::unverified_jti(token)
            .context("that is not a kesos token; pass its jti or the whole token")?
    } else {
        token.trim().to_owned()
    };
    let mode = config.mode()?;
    let store = open::open_store(config, mode).await?;
    let list = http::revocation_list(&store).await?;
    let now = time::OffsetDateTime::now_utc();
    if list.revoke(&jti, reason, by, now).await? {
        writeln!(out, "revoked token {jti}: refused from the next request on")
    } else {
        writeln!(out, "token {jti} was revoked already")
    }
    .context("cannot print the result")
}
