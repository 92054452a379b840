//! How a process logs in to NATS, read from the configuration once and checked before any
//! connection is tried.
//!
//! NATS clients differ in what they take from a URL: async-nats ignores a `user:password@`
//! in the URL it is given, so kesos takes the login out of the URL itself and hands it to the
//! client explicitly (a defect found when kesos could not log in to the secured server that
//! `deploy/nats/accounts.conf` sets up). Exactly one way of logging in may be configured, so a
//! forgotten variable never silently wins over another.

use std::fmt;
use std::path::PathBuf;

use super::{Config, ConfigError};

/// The proof of identity a process presents to NATS.
#[derive(Clone, PartialEq, Eq)]
pub enum NatsLogin {
    /// No credentials: a server without authorisation (local development, the test suite).
    Anonymous,
    /// `nats://user:password@host` (percent-encoded in the URL, decoded here).
    UserPassword {
        /// The NATS user.
        user: String,
        /// Its password.
        password: String,
    },
    /// `nats://token@host`: a server-wide authorisation token.
    Token(String),
    /// A file holding a user NKey seed (`SU…`, `KESOS_NATS_NKEY_SEED_FILE`): the server's
    /// configuration holds only the public key, so no secret lives on the server.
    NKeySeedFile(PathBuf),
    /// A `.creds` file (user JWT and NKey seed) for servers in operator (decentralised JWT)
    /// mode (`KESOS_NATS_CREDENTIALS_FILE`).
    CredentialsFile(PathBuf),
}

/// Who the login is, for a log line or an error message: never a password, token or seed.
impl fmt::Display for NatsLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsLogin::Anonymous => f.write_str("no user"),
            NatsLogin::UserPassword { user, .. } => write!(f, "user {user}"),
            NatsLogin::Token(_) => f.write_str("a token"),
            NatsLogin::NKeySeedFile(path) => write!(f, "the NKey in {}", path.display()),
            NatsLogin::CredentialsFile(path) => write!(f, "the credentials in {}", path.display()),
        }
    }
}

/// Hand-written so that no password, token or seed reaches a log line: the same words as
/// [`fmt::Display`].
impl fmt::Debug for NatsLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Transport security towards NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// TLS is required: a `tls://` server URL, a CA file or a client certificate was given.
    pub required: bool,
    /// PEM file of the CA(s) that sign the servers' certificates; `None` trusts the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate and key this client presents (mutual TLS).
    pub client_certificate: Option<(PathBuf, PathBuf)>,
}

/// Everything needed to open a NATS connection: where, as whom, and how securely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConnection {
    /// The server URLs, without any credentials in them.
    pub servers: Vec<String>,
    /// How this process logs in.
    pub login: NatsLogin,
    /// Transport security.
    pub tls: NatsTls,
}

impl Config {
    /// The NATS connection these settings describe; `None` in the embedded mode.
    ///
    /// Refused: credentials that differ between the URLs, a malformed percent-escape, more
    /// than one way of logging in, and a client certificate without its key (or the reverse).
    pub fn nats_connection(&self) -> Result<Option<NatsConnection>, ConfigError> {
        let Some(urls) = &self.nats_url else {
            return Ok(None);
        };
        let mut servers = Vec::new();
        let mut in_url: Option<NatsLogin> = None;
        let mut tls_scheme = false;
        for url in urls.split(',').map(str::trim) {
            let (server, login) = split_login(url)?;
            tls_scheme |= server.starts_with("tls://");
            servers.push(server);
            if let Some(login) = login {
                match &in_url {
                    Some(first) if *first != login => {
                        return Err(nats_login_error(
                            "nats_url",
                            "every server URL must carry the same credentials, or none",
                        ));
                    }
                    _ => in_url = Some(login),
                }
            }
        }
        let mut logins: Vec<(&'static str, NatsLogin)> = Vec::new();
        if let Some(login) = in_url {
            logins.push(("nats_url", login));
        }
        if let Some(file) = &self.nats_nkey_seed_file {
            logins.push(("nats_nkey_seed_file", NatsLogin::NKeySeedFile(file.clone())));
        }
        if let Some(file) = &self.nats_credentials_file {
            logins.push((
                "nats_credentials_file",
                NatsLogin::CredentialsFile(file.clone()),
            ));
        }
        if logins.len() > 1 {
            let fields: Vec<&str> = logins.iter().map(|(field, _)| *field).collect();
            return Err(nats_login_error(
                "nats_url",
                &format!(
                    "only one way of logging in to NATS may be configured, found {}",
                    fields.join(" and ")
                ),
            ));
        }
        let login = logins
            .pop()
            .map_or(NatsLogin::Anonymous, |(_, login)| login);
        let client_certificate = match (&self.nats_tls_cert_file, &self.nats_tls_key_file) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(nats_login_error(
                    "nats_tls_key_file",
                    "a client certificate (nats_tls_cert_file) needs its key",
                ));
            }
            (None, Some(_)) => {
                return Err(nats_login_error(
                    "nats_tls_cert_file",
                    "a client key (nats_tls_key_file) needs its certificate",
                ));
            }
        };
        let tls = NatsTls {
            required: tls_scheme || self.nats_tls_ca_file.is_some() || client_certificate.is_some(),
            ca_file: self.nats_tls_ca_file.clone(),
            client_certificate,
        };
        Ok(Some(NatsConnection {
            servers,
            login,
            tls,
        }))
    }
}

fn nats_login_error(field: &'static str, rule: &str) -> ConfigError {
    ConfigError::NatsLogin {
        field,
        rule: rule.to_owned(),
    }
}

/// Splits `scheme://[userinfo@]host…` into the URL without its userinfo and the login it held.
fn split_login(url: &str) -> Result<(String, Option<NatsLogin>), ConfigError> {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return Ok((url.to_owned(), None));
    };
    let (user_info, host) = (&authority[..at], &authority[at + 1..]);
    let login = match user_info.split_once(':') {
        Some((user, password)) => NatsLogin::UserPassword {
            user: percent_decode(user)?,
            password: percent_decode(password)?,
        },
        None => NatsLogin::Token(percent_decode(user_info)?),
    };
    Ok((format!("{scheme}{host}{tail}"), Some(login)))
}

/// Decodes `%XX` escapes (a password with `@`, `:` or `/` must be escaped in a URL).
fn percent_decode(text: &str) -> Result<String, ConfigError> {
    let malformed = || {
        nats_login_error(
            "nats_url",
            "a `%` in the URL's user or password must start an escape of two hex digits",
        )
    };
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = text.get(index + 1..index + 3).ok_or_else(malformed)?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| malformed())?);
            index += 3;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(url: &str) -> Config {
        Config {
            database_url: Some("postgres://localhost/kesos".to_owned()),
            nats_url: Some(url.to_owned()),
            ..Config::default()
        }
    }

    #[test]
    fn a_user_and_password_in_the_url_become_the_login_and_leave_the_url() {
        let connection = config("nats://enrollment:p%40ss%3Aword@nats-1:4222,nats://enrollment:p%40ss%3Aword@nats-2:4222")
            .nats_connection()
            .unwrap()
            .unwrap();
        assert_eq!(
            connection.servers,
            ["nats://nats-1:4222", "nats://nats-2:4222"]
        );
        assert_eq!(
            connection.login,
            NatsLogin::UserPassword {
                user: "enrollment".to_owned(),
                password: "p@ss:word".to_owned()
            }
        );
        assert!(!connection.tls.required);
    }

    #[test]
    fn a_bare_name_in_the_url_is_a_token() {
        let connection = config("nats://s3cret@nats:4222")
            .nats_connection()
            .unwrap()
            .unwrap();
        assert_eq!(connection.login, NatsLogin::Token("s3cret".to_owned()));
        assert_eq!(connection.servers, ["nats://nats:4222"]);
    }

    #[test]
    fn two_ways_of_logging_in_are_refused_naming_both() {
        let mut both = config("nats://u:p@nats:4222");
        both.nats_nkey_seed_file = Some(PathBuf::from("/run/secrets/seed"));
        let error = both.nats_connection().unwrap_err().to_string();
        assert!(
            error.contains("nats_url and nats_nkey_seed_file"),
            "{error}"
        );
    }

    #[test]
    fn urls_with_different_credentials_are_refused() {
        let error = config("nats://a:p@n1:4222,nats://b:p@n2:4222")
            .nats_connection()
            .unwrap_err()
            .to_string();
        assert!(error.contains("same credentials"), "{error}");
    }

    #[test]
    fn a_broken_escape_is_refused() {
        let error = config("nats://u:50%zz@nats:4222")
            .nats_connection()
            .unwrap_err()
            .to_string();
        assert!(error.contains("two hex digits"), "{error}");
    }

    #[test]
    fn tls_is_required_by_the_scheme_or_a_ca_file() {
        let by_scheme = config("tls://nats:4222")
            .nats_connection()
            .unwrap()
            .unwrap();
        assert!(by_scheme.tls.required);
        let mut with_ca = config("nats://nats:4222");
        with_ca.nats_tls_ca_file = Some(PathBuf::from("/etc/kesos/nats-ca.pem"));
        assert!(with_ca.nats_connection().unwrap().unwrap().tls.required);
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let mut half = config("tls://nats:4222");
        half.nats_tls_cert_file = Some(PathBuf::from("/etc/kesos/client.pem"));
        let error = half.nats_connection().unwrap_err().to_string();
        assert!(error.contains("nats_tls_key_file"), "{error}");
    }

    #[test]
    fn the_debug_form_hides_the_password() {
        let login = NatsLogin::UserPassword {
            user: "kesos".to_owned(),
            password: "hunter2".to_owned(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
    }
}
