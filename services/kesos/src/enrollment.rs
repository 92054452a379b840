//! Opening the enrollment service over the process's store: its key vault (with the master
//! key), its worker directory and the scheme catalogue in force.

use anyhow::Context;
use kesos_enrollment::domain::SchemeCatalog;
use kesos_enrollment::service::{Directory, Enrollment};
use kesos_runtime::{Config, Mode};
use kesos_vault::Vault;

use crate::keys;
use crate::open::OpenedStore;

/// Builds the enrollment service (migrating its tables).
pub async fn open_enrollment(
    config: &Config,
    mode: Mode,
    store: &OpenedStore,
) -> anyhow::Result<Enrollment> {
    let master = keys::load_or_create_master_key(config, mode)?;
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
            Vault::sqlite(sqlite.pool().clone(), master, Vec::new()).await,
            Directory::sqlite(sqlite.pool().clone()).await,
        ),
        OpenedStore::Postgres(postgres) => (
            Vault::postgres(postgres.pool().clone(), master, Vec::new()).await,
            Directory::postgres(postgres.pool().clone()).await,
        ),
    };
    let vault = vault.context("cannot open the personal-data key vault")?;
    let directory = directory.context("cannot open the worker directory")?;
    Ok(Enrollment::new(store.shared(), vault, catalog, directory))
}
