//! Running the certification service inside the kesos process: opening it over the store
//! with where holders' names are asked for (enrollment, here or over NATS) and the issuer key (which starts its
//! registry's projector on the process's log), its intake of Kompeten decisions and holder
//! names, and the hourly expiry job.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use kesos_bus::{Consumer, EmbeddedFeed, Handler, JetStreamFeed, PullSettings, Stalls};
use kesos_certification::credential::verify_credential;
use kesos_certification::reference::Reference;
use kesos_certification::service::{Certification, Intake, Parts, today};
use kesos_runtime::{Config, Shutdown};
use tokio::task::JoinSet;

use crate::keys;
use crate::open::OpenedStore;
use crate::scheduling::{Distributed, consume};

/// How often the expiry job looks for certificates past their validity.
const EXPIRE_EVERY: Duration = Duration::from_secs(3_600);

/// Builds the certification service (migrating its tables and starting its registry's
/// projector, which reports a stall in `stalls`, as readiness reads them). Certificates are
/// signed with the process's signing key, so one trusted-keys file serves checkpoints and
/// certificates alike.
pub async fn open_certification(
    config: &Config,
    store: &OpenedStore,
    identities: Arc<dyn kesos_bus::Identities>,
    issuer: SigningKey,
    base_url: String,
    stalls: &Stalls,
) -> anyhow::Result<Certification> {
    let reference = match &config.certification_file {
        Some(path) => Reference::from_path(path)
            .with_context(|| format!("certification reference {} is invalid", path.display()))?,
        None => Reference::shipped().context("the shipped certification reference is invalid")?,
    };
    // The registry lives beside the store, in the database the intake writes holders to.
    let db = store.db();
    Certification::build(Parts {
        store: store.shared(),
        db,
        identities,
        reference,
        signing_key: issuer,
        base_url,
        stalls: stalls.clone(),
    })
    .await
    .context("cannot open the certificate registry")
}

/// Starts certification's background work on `background`: the intake consumer (on the
/// embedded log or JetStream) and the expiry job.
pub fn start_background(
    background: &mut JoinSet<()>,
    certification: &Certification,
    store: &OpenedStore,
    nats: Option<&Distributed>,
    stalls: &Stalls,
    shutdown: &Shutdown,
) {
    let db = store.db();
    let intake: Arc<dyn Handler> = Arc::new(certification.intake());
    let consumer =
        Consumer::new("certification-intake", db.clone(), intake).with_stalls(stalls.clone());
    let stop = shutdown.clone();
    match nats {
        None => {
            let store = certification.store().clone();
            background.spawn(async move {
                let bind = || {
                    EmbeddedFeed::resume(
                        store.clone(),
                        "certification",
                        "certification-intake",
                        &db,
                    )
                };
                consume(consumer, bind, stop).await;
            });
        }
        Some(nats) => {
            let (context, names) = (nats.context.clone(), nats.names.clone());
            background.spawn(async move {
                let bind = || {
                    // Pull as many as the intake takes in one batch (see `Intake::BATCH`).
                    let settings = PullSettings {
                        batch: Intake::BATCH,
                        ..PullSettings::default()
                    };
                    JetStreamFeed::subscribe(
                        context.clone(),
                        &names,
                        "certification-intake",
                        settings,
                    )
                };
                consume(consumer, bind, stop).await;
            });
        }
    }
    let expiring = certification.clone();
    let stop = shutdown.clone();
    background.spawn(async move {
        loop {
            match expiring.expire_due(today()).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "certificates expired"),
                Err(error) => tracing::warn!(%error, "the expiry job failed; trying again later"),
            }
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(EXPIRE_EVERY) => {}
            }
        }
    });
}

/// `kesos cert verify FILE`: checks an exported certificate offline against this
/// deployment's signing key and its trusted keys; one line, non-zero exit when it fails.
pub fn verify_command(config: &Config, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let key_path = keys::signing_key_path(config);
    let own = key_path
        .exists()
        .then(|| keys::read_signing_key(&key_path))
        .transpose()?;
    let trusted = keys::trusted_keys(config, own.as_ref())?;
    if trusted.is_empty() {
        bail!(
            "no issuer key to check against: set KESOS_SIGNING_KEY_FILE or KESOS_TRUSTED_KEYS_FILE"
        );
    }
    match verify_credential(&bytes, &trusted) {
        Ok(v) => {
            writeln!(
                out,
                "valid: {} · {} ({} {}) · {} · valid {} to {} · issued by {}{}",
                v.number,
                v.holder_name,
                v.scheme_name,
                v.level,
                v.certified_by,
                v.valid_from,
                v.valid_until,
                v.issuer_name,
                v.status_list
                    .map(|url| format!(" · check revocation at {url}"))
                    .unwrap_or_default()
            )?;
            Ok(())
        }
        Err(error) => bail!(
            "{} is not a valid kesos certificate: {error}",
            file.display()
        ),
    }
}
