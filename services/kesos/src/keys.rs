//! The Ed25519 key that signs log checkpoints, and the keys trusted when verifying.
//!
//! A key file holds the 32-byte secret as 64 hex digits (and a newline). The embedded mode
//! creates one on first start (mode 0600) so that a laptop run is tamper-evident without any
//! set-up; the distributed mode refuses to start without one, because a key generated on one
//! replica would not be trusted by another. Rotation: generate a new key, add the old public key
//! to the trusted-keys file, switch `KESOS_SIGNING_KEY_FILE`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::{SigningKey, VerifyingKey};
use kesos_runtime::{Config, Mode};
use kesos_vault::MasterKey;

/// Where the signing key lives for this configuration.
pub fn signing_key_path(config: &Config) -> PathBuf {
    config
        .signing_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("signing.key"))
}

/// Loads the signing key; in the embedded mode creates it when missing.
pub fn load_or_create_signing_key(config: &Config, mode: Mode) -> anyhow::Result<SigningKey> {
    let path = signing_key_path(config);
    if !path.exists() && mode == Mode::Embedded {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        if created(kesos_auth::keys::write_signing_key(&path, &key, false))? {
            tracing::info!(path = %path.display(), "created a checkpoint signing key");
            return Ok(key);
        }
    }
    read_signing_key(&path)
}

/// Whether a key file was created; `false` when another process created it first (read
/// theirs, so both use one key).
fn created(written: Result<(), kesos_auth::keys::KeyError>) -> anyhow::Result<bool> {
    match written {
        Ok(()) => Ok(true),
        Err(kesos_auth::keys::KeyError::Exists(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Reads a signing key file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the signing key {} (create one with `kesos key generate --out {}`)",
            path.display(),
            path.display()
        )
    })?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| format!("signing key {} is not 64 hex digits", path.display()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Writes a new signing key, readable by its owner only; refuses to overwrite unless `force`.
pub fn write_signing_key(path: &Path, key: &SigningKey, force: bool) -> anyhow::Result<()> {
    write_secret_file(path, &hex::encode(key.to_bytes()), force)
}

/// Where the personal-data master key lives for this configuration.
pub fn master_key_path(config: &Config) -> PathBuf {
    config
        .master_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("master.key"))
}

/// Loads the master key that wraps every worker's data key; in the embedded mode creates it
/// when missing. Losing it makes every worker's personal data unreadable: back it up apart
/// from the database (a backup of both together defeats erasure).
pub fn load_or_create_master_key(config: &Config, mode: Mode) -> anyhow::Result<MasterKey> {
    let path = master_key_path(config);
    if !path.exists() && mode == Mode::Embedded {
        let key = MasterKey::generate();
        if created(kesos_auth::keys::write_secret_file(
            &path,
            &key.to_hex(),
            false,
        ))? {
            tracing::info!(path = %path.display(), "created a personal-data master key");
            return Ok(key);
        }
    }
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the master key {} (create one with `kesos key generate --master --out {}`)",
            path.display(),
            path.display()
        )
    })?;
    MasterKey::from_hex(text.trim())
        .with_context(|| format!("master key {} is not 64 hex digits", path.display()))
}

/// The master key being rotated away from, when `previous_master_key_file` is set.
pub fn previous_master_keys(config: &Config) -> anyhow::Result<Vec<MasterKey>> {
    let Some(path) = &config.previous_master_key_file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the previous master key {}", path.display()))?;
    let key = MasterKey::from_hex(text.trim())
        .with_context(|| format!("master key {} is not 64 hex digits", path.display()))?;
    Ok(vec![key])
}

/// Writes a secret as one hex line, mode 0600; refuses to overwrite unless `force`, and then
/// replaces the file atomically (see [`kesos_auth::keys::write_secret_file`]: no
/// exists-then-open race, no permissions inherited from the file replaced).
pub fn write_secret_file(path: &Path, hex_text: &str, force: bool) -> anyhow::Result<()> {
    kesos_auth::keys::write_secret_file(path, hex_text, force).map_err(|error| match error {
        kesos_auth::keys::KeyError::Exists(path) => anyhow::anyhow!(
            "{} exists already; pass --force to replace it",
            path.display()
        ),
        kesos_auth::keys::KeyError::Io { path, source } => {
            anyhow::anyhow!("cannot write {}: {source}", path.display())
        }
        other => anyhow::anyhow!(other),
    })
}

/// The keys whose checkpoints `audit verify` accepts: the current key's public half plus every
/// key listed (one hex public key per line, `#` comments) in the trusted-keys file.
pub fn trusted_keys(
    config: &Config,
    current: Option<&SigningKey>,
) -> anyhow::Result<Vec<VerifyingKey>> {
    let mut keys: Vec<VerifyingKey> = current.map(SigningKey::verifying_key).into_iter().collect();
    if let Some(path) = &config.trusted_keys_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read trusted keys {}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let key = hex::decode(line)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .with_context(|| {
                    format!(
                        "{}:{}: not a hex Ed25519 public key",
                        path.display(),
                        number + 1
                    )
                })?;
            keys.push(key);
        }
    }
    if keys.is_empty() {
        bail!(
            "no trusted checkpoint keys: configure KESOS_SIGNING_KEY_FILE or KESOS_TRUSTED_KEYS_FILE"
        );
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_the_same_and_is_not_overwritten_by_accident() {
        let dir = std::env::temp_dir().join(format!("kesos-key-{}", std::process::id()));
        let path = dir.join("signing.key");
        let key = SigningKey::from_bytes(&[3; 32]);
        write_signing_key(&path, &key, false).unwrap();
        assert_eq!(read_signing_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(write_signing_key(&path, &key, false).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_file_with_garbage_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("kesos-badkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("signing.key");
        std::fs::write(&path, "not hex").unwrap();
        let error = read_signing_key(&path).unwrap_err().to_string();
        assert!(error.contains("not 64 hex digits"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
