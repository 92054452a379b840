//! Connecting to NATS as the configuration says — which servers, as whom, how securely — for
//! the services and for `kesos lsps-sim` alike, so both log in the same way.

use std::path::Path;

use anyhow::{Context, bail};
use async_nats::ConnectOptions;
use kesos_runtime::{Config, NatsConnection, NatsLogin};

/// How a connection presents itself beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The connection's name in the server's monitoring; `None` uses `service_name`.
    pub name: Option<String>,
    /// Prefix of the reply subjects, for a user that may read only its own (an LSPS reads
    /// `_INBOX_<id>.>` under `deploy/nats/accounts.conf`).
    pub inbox_prefix: Option<String>,
}

/// Opens the configured NATS connection; `None` in the embedded mode.
pub async fn connect(
    config: &Config,
    identity: Identity,
) -> anyhow::Result<Option<async_nats::Client>> {
    let Some(connection) = config.nats_connection()? else {
        return Ok(None);
    };
    let name = identity.name.unwrap_or_else(|| config.service_name.clone());
    let mut options = login(&connection.login).await?.name(name);
    if let Some(prefix) = identity.inbox_prefix {
        options = options.custom_inbox_prefix(prefix);
    }
    options = with_tls(options, &connection)?;
    let client = options
        .connect(connection.servers.as_slice())
        .await
        .with_context(|| {
            format!(
                "cannot connect to NATS at {} (KESOS_NATS_URL) as {}",
                connection.servers.join(","),
                connection.login
            )
        })?;
    Ok(Some(client))
}

/// The client options carrying the configured login.
async fn login(login: &NatsLogin) -> anyhow::Result<ConnectOptions> {
    Ok(match login {
        NatsLogin::Anonymous => ConnectOptions::new(),
        NatsLogin::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        NatsLogin::Token(token) => ConnectOptions::with_token(token.clone()),
        NatsLogin::NKeySeedFile(file) => ConnectOptions::with_nkey(read_user_seed(file)?),
        NatsLogin::CredentialsFile(file) => ConnectOptions::with_credentials_file(file)
            .await
            .with_context(|| {
                format!(
                    "cannot read the NATS credentials file {} (KESOS_NATS_CREDENTIALS_FILE)",
                    file.display()
                )
            })?,
    })
}

/// Reads a user NKey seed (`SU…`, as `nk -gen user` or `kesos key generate --nats-user`
/// writes it), checked here so that a wrong file is named before the server says only
/// "authorization violation".
pub fn read_user_seed(file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read the NATS NKey seed file {} (KESOS_NATS_NKEY_SEED_FILE)",
            file.display()
        )
    })?;
    let seed = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let valid = seed.starts_with("SU") && nkeys::KeyPair::from_seed(seed).is_ok();
    if !valid {
        bail!(
            "the NATS NKey seed file {} (KESOS_NATS_NKEY_SEED_FILE) holds no user seed: its \
             first line must be a seed starting with SU",
            file.display()
        );
    }
    Ok(seed.to_owned())
}

/// TLS as configured: required, with the given CA and client certificate.
fn with_tls(
    mut options: ConnectOptions,
    connection: &NatsConnection,
) -> anyhow::Result<ConnectOptions> {
    let tls = &connection.tls;
    if !tls.required {
        return Ok(options);
    }
    options = options.require_tls(true);
    if let Some(ca) = &tls.ca_file {
        readable(ca, "KESOS_NATS_TLS_CA_FILE")?;
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((certificate, key)) = &tls.client_certificate {
        readable(certificate, "KESOS_NATS_TLS_CERT_FILE")?;
        readable(key, "KESOS_NATS_TLS_KEY_FILE")?;
        options = options.add_client_certificate(certificate.clone(), key.clone());
    }
    Ok(options)
}

/// The client reads TLS files only when it connects, with an error that does not name them.
fn readable(file: &Path, variable: &str) -> anyhow::Result<()> {
    std::fs::metadata(file)
        .map(|_| ())
        .with_context(|| format!("cannot read {} ({variable})", file.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_seed_file_with_a_user_seed_is_read_and_anything_else_is_named() {
        let dir = std::env::temp_dir().join(format!("kesos-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("user.nk");
        let seed = nkeys::KeyPair::new_user().seed().unwrap();
        std::fs::write(&good, format!("\n{seed}\n")).unwrap();
        assert_eq!(read_user_seed(&good).unwrap(), seed);

        let account = dir.join("account.nk");
        std::fs::write(&account, nkeys::KeyPair::new_account().seed().unwrap()).unwrap();
        let error = read_user_seed(&account).unwrap_err().to_string();
        assert!(error.contains("holds no user seed"), "{error}");
        assert!(error.contains("account.nk"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
