//! Opening the enrollment service over the process's store: its key vault (with the master
//! key), its worker directory and the scheme catalogue in force.

use anyhow::Context;
use kesos_enrollment::domain::SchemeCatalog;
use kesos_enrollment::service::{Directory, Enrollment};
use kesos_runtime::{Config, Mode};
use kesos_vault::Vault;

use crate::keys;
use crate::open::OpenedStore;

/// Re-wraps every personal-data key still under the previous master key with the current one
/// (`kesos key rotate-master`); answers how many were re-wrapped and the current master's
/// fingerprint.
pub async fn rotate_master(config: &Config) -> anyhow::Result<(u64, String)> {
    let mode = config.mode()?;
    if config.previous_master_key_file.is_none() {
        anyhow::bail!(
            "set KESOS_PREVIOUS_MASTER_KEY_FILE to the old master key and KESOS_MASTER_KEY_FILE \
             to the new one"
        );
    }
    let store = crate::open::open_store(config, mode).await?;
    let enrollment = open_enrollment(config, mode, &store).await?;
    let rewrapped = enrollment
        .vault()
        .rotate()
        .await
        .context("the rotation stopped; run it again, it resumes")?;
    let fingerprint = keys::load_or_create_master_key(config, mode)?.fingerprint();
    Ok((rewrapped, fingerprint))
}

/// Builds the enrollment service (migrating its tables).
pub async fn open_enrollment(
    config: &Config,
    mode: Mode,
    store: &OpenedStore,
) -> anyhow::Result<Enrollment> {
    let master = keys::load_or_create_master_key(config, mode)?;
    let previous = keys::previous_master_keys(config)?;
    let catalog = match &config.schemes_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the scheme catalogue {}", path.display()))?;
            SchemeCatalog::from_toml(&text)
                .with_context(|| format!("scheme catalogue {} is invalid", path.display()))?
        }
        None => SchemeCatalog::shipped().context("the shipped scheme catalogue is invalid")?,
    };
    let (vault, directory) = match store {
        OpenedStore::Sqlite(sqlite) => (
            Vault::sqlite(sqlite.pool().clone(), master, previous).await,
            Directory::sqlite(sqlite.pool().clone()).await,
        ),
        OpenedStore::Postgres(postgres) => (
            Vault::postgres(postgres.pool().clone(), master, previous).await,
            Directory::postgres(postgres.pool().clone()).await,
        ),
    };
    let vault = vault.context("cannot open the personal-data key vault")?;
    let directory = directory.context("cannot open the worker directory")?;
    Ok(Enrollment::new(store.shared(), vault, catalog, directory))
}
