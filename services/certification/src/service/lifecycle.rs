//! The lifecycle commands: suspend, reinstate and revoke (each answers with the certificate
//! as the registry shows it after the command), and the expiry job.

use kesos_commands::{CommandContext, execute, execute_cached};
use time::{Date, OffsetDateTime};

use crate::domain::{
    Certificate, CertificateCommand, CertificateError, CertificateId, Reason, RevocationCategory,
    derive_uuid,
};
use crate::service::views::CertificateView;
use crate::service::{Certification, CertificationError, WIB, certificate_stream, system_context};

/// Most certificates one [`Certification::expire_due`] round looks at per query.
const EXPIRY_PAGE: u32 = 500;

impl Certification {
    /// Runs a command on one certificate; once the registry shows its events (see
    /// [`Certification::settle`]), answers with the certificate.
    async fn command(
        &self,
        id: CertificateId,
        command: CertificateCommand,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let stream = certificate_stream(id)?;
        match execute_cached::<Certificate>(
            &*self.inner.store,
            &self.inner.cache,
            &stream,
            command,
            context,
        )
        .await
        {
            Ok(done) => {
                self.settle(&done.positions).await;
                self.view(id).await
            }
            Err(kesos_commands::AppError::Domain(CertificateError::NotIssued)) => {
                Err(CertificationError::NotFound(id))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Suspends a certificate in force (e.g. its holder is under criminal investigation).
    pub async fn suspend(
        &self,
        id: CertificateId,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let today = context.occurred_at.to_offset(WIB).date();
        self.command(id, CertificateCommand::Suspend { reason, today }, context)
            .await
    }

    /// Reinstates a suspended certificate.
    pub async fn reinstate(
        &self,
        id: CertificateId,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        let today = context.occurred_at.to_offset(WIB).date();
        self.command(id, CertificateCommand::Reinstate { reason, today }, context)
            .await
    }

    /// Revokes a certificate for good.
    pub async fn revoke(
        &self,
        id: CertificateId,
        category: RevocationCategory,
        reason: Reason,
        context: &CommandContext,
    ) -> Result<CertificateView, CertificationError> {
        self.command(id, CertificateCommand::Revoke { category, reason }, context)
            .await
    }

    /// The expiry job: appends `CertificateExpired` to every certificate still valid or
    /// suspended whose last valid day is before `today`; returns how many it expired now.
    ///
    /// Exactly once, also after downtime or with several runners: each expiry's command id
    /// (hence its event id) is derived from the certificate id, so a second run, a concurrent
    /// run or a retry after a crash finds the expiry stored and appends nothing. A job that did
    /// not run for months expires everything that fell due meanwhile in its next run. Each
    /// round first waits for the registry to reach the log's head, so it sees every
    /// certificate issued and every expiry of the round before; when the registry is behind
    /// for longer than [`crate::service::REGISTRY_WAIT`], the job stops with
    /// [`CertificationError::Behind`] and expires the rest in its next run.
    pub async fn expire_due(&self, today: Date) -> Result<usize, CertificationError> {
        let mut expired = 0;
        let mut skipped = std::collections::HashSet::new();
        loop {
            self.registry_at_head().await?;
            let due = self
                .inner
                .registry
                .due(&today.to_string(), EXPIRY_PAGE)
                .await?;
            let fresh: Vec<CertificateId> =
                due.into_iter().filter(|id| !skipped.contains(id)).collect();
            if fresh.is_empty() {
                return Ok(expired);
            }
            for id in fresh {
                let command_id = derive_uuid("kesos.certification.expire", id.0);
                let context = system_context(command_id, OffsetDateTime::now_utc(), None);
                let stream = certificate_stream(id)?;
                match execute::<Certificate>(
                    &*self.inner.store,
                    &stream,
                    CertificateCommand::Expire { today },
                    &context,
                )
                .await
                {
                    Ok(done) if !done.already_applied && !done.events.is_empty() => expired += 1,
                    Ok(_) => {}
                    // Revoked or superseded meanwhile: nothing to expire.
                    Err(kesos_commands::AppError::Domain(error)) => {
                        tracing::debug!(%id, %error, "not expired");
                    }
                    Err(error) => return Err(error.into()),
                }
                skipped.insert(id);
            }
        }
    }
}
