//! Opening the enrollment service over the process's store: its key vault (with the master
//! key), its read models (kept by the projector the service starts) and the scheme catalogue
//! in force.

use anyhow::Context;
use kesos_bus::Stalls;
use kesos_enrollment::domain::SchemeCatalog;
use kesos_enrollment::service::Enrollment;
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
    let enrollment = open_enrollment(config, mode, &store, &Stalls::new()).await?;
    let rewrapped = enrollment
        .vault()
        .rotate()
        .await
        .context("the rotation stopped; run it again, it resumes")?;
    let fingerprint = keys::load_or_create_master_key(config, mode)?.fingerprint();
    Ok((rewrapped, fingerprint))
}

/// The scheme catalogue in force, as text: `KESOS_SCHEMES_FILE`, else the shipped one. Enrollment
/// reads all of it; scheduling reads each scheme's category and level from the same text.
pub fn scheme_catalogue_text(config: &Config) -> anyhow::Result<String> {
    match &config.schemes_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scheme catalogue {}", path.display())),
        None => Ok(SchemeCatalog::SHIPPED_TOML.to_owned()),
    }
}

/// How errors name the catalogue in force.
pub fn catalogue_name(config: &Config) -> String {
    config
        .schemes_file
        .as_ref()
        .map_or_else(|| "(shipped)".to_owned(), |path| path.display().to_string())
}

/// Builds the enrollment service (migrating its tables and starting its projector, which
/// reports a stall in `stalls`).
pub async fn open_enrollment(
    config: &Config,
    mode: Mode,
    store: &OpenedStore,
    stalls: &Stalls,
) -> anyhow::Result<Enrollment> {
    let master = keys::load_or_create_master_key(config, mode)?;
    let previous = keys::previous_master_keys(config)?;
    let catalog = SchemeCatalog::from_toml(&scheme_catalogue_text(config)?)
        .with_context(|| format!("scheme catalogue {} is invalid", catalogue_name(config)))?;
    let db = store.db();
    let vault = Vault::open(db.clone(), master, previous)
        .await
        .context("cannot open the personal-data key vault")?;
    Enrollment::build(store.shared(), vault, catalog, db, stalls.clone())
        .await
        .context("cannot open the worker directory")
}
