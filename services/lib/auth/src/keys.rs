//! Token keys on disk. A signing key file holds the 32-byte Ed25519 secret as 64 hex digits
//! (mode 0600, the same format as the checkpoint key, so `kesos key generate` makes one); a
//! trusted-keys file lists public keys, one 64-hex key per line, `#` comments allowed.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Why a key file could not be used; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("cannot use the token key file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not 64 hex digits (or not an Ed25519 public key).
    #[error("token key file {} line {line} is not a 64-hex-digit Ed25519 key", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The file exists already.
    #[error("{} exists already; pass --force to replace it", .0.display())]
    Exists(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

/// Reads a token signing key.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    hex32(&text)
        .map(|bytes| SigningKey::from_bytes(&bytes))
        .ok_or_else(|| KeyError::Format {
            path: path.to_owned(),
            line: 1,
        })
}

/// Writes a new signing key readable by its owner only; refuses to replace one unless `force`.
pub fn write_signing_key(path: &Path, key: &SigningKey, force: bool) -> Result<(), KeyError> {
    write_secret_file(path, &hex::encode(key.to_bytes()), force)
}

/// Writes `text` and a newline as a secret file of mode 0600, whatever the umask or a file
/// it replaces had.
///
/// Without `force` the file is created with `O_CREAT | O_EXCL` (`create_new`), so an existing
/// file is refused ([`KeyError::Exists`]) even when another process creates it between a check
/// and the open: there is no check. With `force` the secret goes to a fresh temporary file in
/// the same directory (0600, `create_new`), is flushed to disk, and is renamed over `path`:
/// readers see the old key or the new one, never half a file, and the replaced file's mode does
/// not carry over because the new file is a new inode.
pub fn write_secret_file(path: &Path, text: &str, force: bool) -> Result<(), KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if !force {
        return create_secret(path, text).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists(path.to_owned())
            } else {
                KeyError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = create_secret(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(io(path));
    if written.is_err() {
        // Best effort: the temporary file holds the new secret and must not be left behind.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Creates `path` (never opening an existing file), mode 0600, and writes `text` to disk.
fn create_secret(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // The umask can only narrow the mode asked for at creation; set it exactly.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    writeln!(file, "{text}")?;
    file.sync_all()
}

/// Reads the signing key at `path`, creating it first when it is missing: the embedded mode's
/// out-of-the-box key under the data directory. Two processes starting at once agree on one
/// key: the one whose creation loses the race reads the winner's.
pub fn load_or_create_signing_key(path: &Path) -> Result<(SigningKey, bool), KeyError> {
    if path.exists() {
        return read_signing_key(path).map(|key| (key, false));
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    match write_signing_key(path, &key, false) {
        Ok(()) => Ok((key, true)),
        Err(KeyError::Exists(_)) => read_signing_key(path).map(|key| (key, false)),
        Err(error) => Err(error),
    }
}

/// Reads a trusted-keys file: one public key per line, blank lines and `#` comments skipped.
pub fn read_trusted_keys(path: &Path) -> Result<Vec<VerifyingKey>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let key = hex32(line)
            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
            .ok_or_else(|| KeyError::Format {
                path: path.to_owned(),
                line: index + 1,
            })?;
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kesos-auth-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_created_key_is_read_back_and_not_replaced() {
        let path = temp("token.key");
        let (created, fresh) = load_or_create_signing_key(&path).unwrap();
        assert!(fresh);
        let (again, fresh) = load_or_create_signing_key(&path).unwrap();
        assert!(!fresh);
        assert_eq!(created.to_bytes(), again.to_bytes());
        assert!(matches!(
            write_signing_key(&path, &created, false),
            Err(KeyError::Exists(_))
        ));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_trusted_keys_file_names_the_line_that_is_wrong() {
        let path = temp("trusted");
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        std::fs::write(
            &path,
            format!("# old key\n{}\n\nnot-a-key\n", hex::encode(key.as_bytes())),
        )
        .unwrap();
        let error = read_trusted_keys(&path).unwrap_err();
        assert!(matches!(error, KeyError::Format { line: 4, .. }), "{error}");
        std::fs::write(
            &path,
            format!("{}  # current\n", hex::encode(key.as_bytes())),
        )
        .unwrap();
        assert_eq!(read_trusted_keys(&path).unwrap(), vec![key]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
