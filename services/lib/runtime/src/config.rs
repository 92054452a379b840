//! Configuration of a kesos process: defaults, then a TOML file, then `KESOS_*` variables.
//!
//! The defaults alone give a working embedded mode (SQLite under `./.kesos`, the in-process
//! event feed, HTTP on 127.0.0.1:8080), so `kesos serve` needs no configuration at all. Setting
//! both `database_url` and `nats_url` switches to the distributed mode.
//!
//! Every key in the file has an environment twin, `KESOS_` followed by the key in upper case
//! (`http_listen` / `KESOS_HTTP_LISTEN`). Unknown keys and unknown `KESOS_*` variables are errors,
//! so a typo cannot silently leave a default in place. For optional settings an empty string
//! means "not set", which lets the environment undo a value from the file.

mod fields;
mod nats_login;
mod redact;
mod services;

pub use nats_login::{NatsConnection, NatsLogin, NatsTls};
pub use services::{Service, Services};

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fields::{FIELDS, FieldError, Layered, Raw, URL_FIELDS};
use redact::redact_urls;

/// The environment variable the binary reads to find the configuration file.
///
/// It names the file rather than a setting, so [`Config::load`] skips it.
pub const CONFIG_FILE_VAR: &str = "KESOS_CONFIG";

/// Prefix of every configuration variable.
const ENV_PREFIX: &str = "KESOS_";

/// `KESOS_*` names owned by test and deploy tooling, which [`Config::load`] must not reject.
const IGNORED_VARS: [&str; 5] = [
    "KESOS_TEST_DATABASE_URL",
    "KESOS_TEST_NATS_URL",
    "KESOS_REQUIRE_SERVERS",
    CONFIG_FILE_VAR,
    "KESOS_TOOLS",
];

/// Prefixes of `KESOS_*` names owned by test and deploy tooling.
const IGNORED_PREFIXES: [&str; 2] = ["KESOS_LOCAL_", "KESOS_TEST_"];

/// Everything a kesos process needs to start, already checked field by field.
///
/// A value from [`Config::load`] is also known to be in a valid [`Mode`]; one built by hand
/// (in tests) should be checked with [`Config::mode`] before use.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Directory for local state: the SQLite database and the signing key by default.
    pub data_dir: PathBuf,
    /// The embedded mode's event store; defaults to `<data_dir>/kesos.db`.
    pub sqlite_path: PathBuf,
    /// PostgreSQL URL; set together with `nats_url` for the distributed mode.
    pub database_url: Option<String>,
    /// PostgreSQL schema for kesos's tables; `None` uses the server's `search_path`.
    pub database_schema: Option<String>,
    /// Upper bound of the PostgreSQL connection pool, at least 1.
    pub database_max_connections: u32,
    /// NATS server URL(s); set together with `database_url` for the distributed mode.
    pub nats_url: Option<String>,
    /// JetStream stream that carries the events.
    pub nats_stream: String,
    /// First tokens of every event subject, so several deployments can share a NATS account.
    pub nats_subject_prefix: String,
    /// JetStream stream where messages that repeatedly fail to process are parked.
    pub nats_dead_letter_stream: String,
    /// NATS `.creds` file (user JWT and NKey seed, for servers in operator mode).
    pub nats_credentials_file: Option<PathBuf>,
    /// File holding this process's NATS user NKey seed (`SU…`), the login the shipped
    /// `deploy/nats/accounts.conf` expects; at most one of it, a `.creds` file and a
    /// `user:password@` in `nats_url` may be set.
    pub nats_nkey_seed_file: Option<PathBuf>,
    /// PEM file of the CA that signs the NATS servers' certificates; setting it requires TLS.
    pub nats_tls_ca_file: Option<PathBuf>,
    /// PEM client certificate presented to NATS (mutual TLS), with `nats_tls_key_file`.
    pub nats_tls_cert_file: Option<PathBuf>,
    /// PEM private key of `nats_tls_cert_file`.
    pub nats_tls_key_file: Option<PathBuf>,
    /// Address the HTTP API binds; port 0 asks the OS for a free port.
    pub http_listen: SocketAddr,
    /// Address that serves `/metrics` in the Prometheus text format, without a token
    /// (`KESOS_METRICS_LISTEN`): bind it to the network Prometheus scrapes from. Unset, no
    /// metrics listener.
    pub metrics_listen: Option<SocketAddr>,
    /// OTLP/HTTP receiver the serving process exports its spans to (`KESOS_OTLP_ENDPOINT`,
    /// e.g. `http://127.0.0.1:4318`; spans go to `/v1/traces`). Unset, spans are exported
    /// nowhere (log lines still carry trace ids).
    pub otlp_endpoint: Option<String>,
    /// Shape of the log lines on stderr.
    pub log_format: LogFormat,
    /// Tracing filter directives; `RUST_LOG` overrides it when set.
    pub log_filter: String,
    /// Ed25519 key that signs audit checkpoints; defaults to `<data_dir>/signing.key`.
    pub signing_key_file: Option<PathBuf>,
    /// Public keys whose checkpoints `audit verify` accepts; `None` trusts only our own key.
    pub trusted_keys_file: Option<PathBuf>,
    /// Hex file of the master key that wraps every worker's personal-data key
    /// (`KESOS_MASTER_KEY_FILE`); the embedded mode creates `<data_dir>/master.key` when it is
    /// missing, the distributed mode refuses to start without it.
    pub master_key_file: Option<PathBuf>,
    /// The master key being rotated away from (`KESOS_PREVIOUS_MASTER_KEY_FILE`): while set,
    /// keys still wrapped under it open too, until `kesos key rotate-master` re-wrapped them.
    pub previous_master_key_file: Option<PathBuf>,
    /// TOML catalogue of certification schemes and eligibility rules
    /// (`KESOS_SCHEMES_FILE`); unset, the catalogue shipped in the binary.
    pub schemes_file: Option<PathBuf>,
    /// TOML file of the scheduling rules (assessor ratio, roster lock, re-test waiting period
    /// and attempts) (`KESOS_SCHEDULING_FILE`); unset, the rules shipped in the binary.
    pub scheduling_file: Option<PathBuf>,
    /// JetStream stream of the LSPS contract: rosters out, attendance and results in
    /// (`KESOS_NATS_LSPS_STREAM`).
    pub nats_lsps_stream: String,
    /// TOML file of certification reference data (validity per scheme, issuers)
    /// (`KESOS_CERTIFICATION_FILE`); unset, the data shipped in the binary.
    pub certification_file: Option<PathBuf>,
    /// The address the public reaches kesos at (`KESOS_PUBLIC_BASE_URL`), printed in
    /// certificates' QR codes and credential links; unset, `http://<http_listen>`.
    pub public_base_url: Option<String>,
    /// Seconds between audit checkpoints, at least 1.
    pub checkpoint_interval_secs: u64,
    /// Name reported in logs and metrics, telling the processes of a deployment apart; also
    /// the source name of the embedded log, and the cursor name of the process-wide relay
    /// that each service's relay takes over from (on JetStream an event's source is its
    /// service's name).
    pub service_name: String,
    /// The services this process runs (`KESOS_SERVICES`, e.g. `scheduling`; default all).
    pub services: Services,
    /// Ed25519 key that signs access tokens (`kesos token issue`); its public half is trusted
    /// by the server. Defaults to `<data_dir>/token.key`, created by the embedded mode; the
    /// distributed mode reads it only if it exists (servers need only the public keys).
    pub token_key_file: Option<PathBuf>,
    /// Public keys whose tokens are accepted besides the token key's own, one hex key per line
    /// (`KESOS_TOKEN_TRUSTED_KEYS_FILE`): several at once, so keys rotate without downtime.
    pub token_trusted_keys_file: Option<PathBuf>,
    /// The audience tokens must name (`KESOS_TOKEN_AUDIENCE`), so a token for one deployment
    /// is refused by another.
    pub token_audience: String,
    /// Longest lifetime of a person's token (central operations, Dinas, auditor), in seconds
    /// (`KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS`, default one day, at most 366 days): longer
    /// ones are neither issued nor accepted.
    pub token_max_lifetime_people_secs: u64,
    /// Longest lifetime of a machine client's (LSPS) token, in seconds
    /// (`KESOS_TOKEN_MAX_LIFETIME_LSPS_SECS`, default 90 days, at most 366 days).
    pub token_max_lifetime_lsps_secs: u64,
    /// Sustained public verification requests per minute per client address.
    pub public_rate_limit_per_minute: u32,
    /// Public verification requests a client may send at once before the rate applies.
    pub public_rate_limit_burst: u32,
}

/// Where the events and the state live, derived from which servers are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One process, SQLite and the in-process feed: no servers to run.
    Embedded,
    /// PostgreSQL for the store and NATS JetStream for the feed, shared by many processes.
    Distributed,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Embedded => "embedded",
            Mode::Distributed => "distributed",
        })
    }
}

/// Shape of the log output: for people at a terminal or for a log collector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Compact human-readable lines, coloured when stderr is a terminal.
    #[default]
    Pretty,
    /// One JSON object per event, with the current span and the span list.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        })
    }
}

/// A log format name other than `pretty` or `json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected log format `pretty` or `json`, found {0:?}")]
pub struct ParseLogFormatError(pub String);

impl FromStr for LogFormat {
    type Err = ParseLogFormatError;

    /// Case-insensitive, so `KESOS_LOG_FORMAT=JSON` works too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(ParseLogFormatError(s.to_owned())),
        }
    }
}

/// Which source supplied a bad value, so the message points at the line or variable to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key in the configuration file.
    File {
        /// The file as it was given to [`Config::load`].
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
    },
    /// A `KESOS_*` environment variable.
    Env {
        /// The variable's full name.
        name: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => {
                write!(f, "config file {} line {line}", path.display())
            }
            Origin::Env { name } => write!(f, "environment variable {name}"),
        }
    }
}

/// Why a configuration could not be loaded; every message is one line naming its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given to [`Config::load`] could not be read.
    #[error("cannot read config file {}: {source}", .path.display())]
    ReadFile {
        /// The file as given.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {} line {line} column {column} is not valid TOML: {message}", .path.display())]
    FileSyntax {
        /// The file as given.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's explanation, on one line.
        message: String,
    },
    /// The file has a key that is not a configuration field (a typo, or a nested table).
    #[error("config file {} line {line}: unknown key `{key}`; known keys: {}", .path.display(), FIELDS.join(", "))]
    UnknownFileKey {
        /// The file as given.
        path: PathBuf,
        /// 1-based line of the key's value.
        line: usize,
        /// The key as written.
        key: String,
    },
    /// A `KESOS_*` variable matches no configuration field.
    #[error(
        "unknown environment variable {name}: no config field is named that; known: {}",
        known_env_vars()
    )]
    UnknownEnvVar {
        /// The variable's full name.
        name: String,
    },
    /// A known field got a value it does not accept.
    #[error("{origin}: invalid {field}: expected {expected}, found {found}")]
    Invalid {
        /// Where the value came from.
        origin: Origin,
        /// The field's name in the file (lower snake case).
        field: String,
        /// What the field accepts.
        expected: &'static str,
        /// The value received, with any credential hidden.
        found: String,
    },
    /// Exactly one of the two servers of the distributed mode is configured.
    #[error(
        "{set} is set but {missing} is not: the distributed mode needs both \
         (KESOS_DATABASE_URL and KESOS_NATS_URL), the embedded mode neither"
    )]
    HalfDistributed {
        /// The field that is set.
        set: &'static str,
        /// The field that is missing.
        missing: &'static str,
    },
    /// The NATS login or transport security is contradictory or malformed.
    #[error("invalid {field}: {rule}")]
    NatsLogin {
        /// The field to fix.
        field: &'static str,
        /// The rule it breaks.
        rule: String,
    },
}

fn known_env_vars() -> String {
    FIELDS
        .iter()
        .map(|field| format!("{ENV_PREFIX}{}", field.to_ascii_uppercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Default for Config {
    /// The embedded mode under `./.kesos`, listening on 127.0.0.1:8080.
    fn default() -> Self {
        let data_dir = PathBuf::from("./.kesos");
        Config {
            sqlite_path: Self::default_sqlite_path(&data_dir),
            signing_key_file: Some(Self::default_signing_key_file(&data_dir)),
            master_key_file: Some(Self::default_master_key_file(&data_dir)),
            previous_master_key_file: None,
            token_key_file: Some(Self::default_token_key_file(&data_dir)),
            schemes_file: None,
            scheduling_file: None,
            nats_lsps_stream: "KESOS_LSPS".to_owned(),
            certification_file: None,
            public_base_url: None,
            metrics_listen: None,
            otlp_endpoint: None,
            services: Services::default(),
            data_dir,
            database_url: None,
            database_schema: None,
            database_max_connections: 16,
            nats_url: None,
            nats_stream: "KESOS".to_owned(),
            nats_subject_prefix: "kesos".to_owned(),
            nats_dead_letter_stream: "KESOS_DLQ".to_owned(),
            nats_credentials_file: None,
            nats_nkey_seed_file: None,
            nats_tls_ca_file: None,
            nats_tls_cert_file: None,
            nats_tls_key_file: None,
            http_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            log_format: LogFormat::Pretty,
            log_filter: "info".to_owned(),
            trusted_keys_file: None,
            checkpoint_interval_secs: 60,
            service_name: "kesos".to_owned(),
            token_trusted_keys_file: None,
            token_audience: "kesos".to_owned(),
            token_max_lifetime_people_secs: 24 * 3600,
            token_max_lifetime_lsps_secs: 90 * 24 * 3600,
            public_rate_limit_per_minute: 120,
            public_rate_limit_burst: 30,
        }
    }
}

impl Config {
    /// Builds the configuration from the defaults, then `file` (if any), then `env`.
    ///
    /// `env` is passed in rather than read, so tests never touch the process environment; the
    /// binary passes `std::env::vars()`. Variables not starting with `KESOS_` are ignored, as are
    /// [`CONFIG_FILE_VAR`] and the names test and deploy tooling use (`KESOS_TEST_*`,
    /// `KESOS_LOCAL_*`, `KESOS_REQUIRE_SERVERS`, `KESOS_TOOLS`). The result is in a valid mode.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let config = Self::layers(file, env)?;
        config.mode()?;
        config.nats_connection()?;
        Ok(config)
    }

    /// Like [`Config::load`], for a command that is only a NATS client and stores nothing
    /// (`kesos lsps-sim`, run by an LSPS that has no kesos database): `nats_url` without
    /// `database_url` is accepted; the NATS login is checked as for a service.
    pub fn load_nats_client(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let config = Self::layers(file, env)?;
        config.nats_connection()?;
        Ok(config)
    }

    /// The defaults, the file and the environment, each value checked; no cross-field check.
    fn layers(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut layered = Layered::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.to_owned(),
                source,
            })?;
            apply_file(&mut layered, path, &text)?;
        }
        apply_env(&mut layered, env)?;
        Ok(layered.finish())
    }

    /// The mode these settings select; an error when only one of the two servers is set.
    pub fn mode(&self) -> Result<Mode, ConfigError> {
        match (&self.database_url, &self.nats_url) {
            (None, None) => Ok(Mode::Embedded),
            (Some(_), Some(_)) => Ok(Mode::Distributed),
            (Some(_), None) => Err(ConfigError::HalfDistributed {
                set: "database_url",
                missing: "nats_url",
            }),
            (None, Some(_)) => Err(ConfigError::HalfDistributed {
                set: "nats_url",
                missing: "database_url",
            }),
        }
    }

    /// One `key=value` line for the start-up log, with passwords and tokens replaced by `***`.
    pub fn redacted_summary(&self) -> String {
        let mode = self
            .mode()
            .map_or_else(|_| "invalid".to_owned(), |mode| mode.to_string());
        let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
        let path = |value: &Option<PathBuf>| {
            value
                .as_ref()
                .map_or_else(|| "-".to_owned(), |path| path.display().to_string())
        };
        let pairs = [
            ("mode", mode),
            ("service", self.service_name.clone()),
            ("listen", self.http_listen.to_string()),
            ("database_url", text(&self.redacted_database_url())),
            ("database_schema", text(&self.database_schema)),
            ("nats_url", text(&self.redacted_nats_url())),
            ("nats_stream", self.nats_stream.clone()),
            ("nats_login", self.nats_login_summary()),
            ("data_dir", self.data_dir.display().to_string()),
            ("sqlite_path", self.sqlite_path.display().to_string()),
            ("signing_key_file", path(&self.signing_key_file)),
            ("trusted_keys_file", path(&self.trusted_keys_file)),
            ("master_key_file", path(&self.master_key_file)),
            (
                "previous_master_key_file",
                path(&self.previous_master_key_file),
            ),
            ("schemes_file", path(&self.schemes_file)),
            ("scheduling_file", path(&self.scheduling_file)),
            ("nats_lsps_stream", self.nats_lsps_stream.clone()),
            ("certification_file", path(&self.certification_file)),
            ("public_base_url", text(&self.public_base_url)),
            (
                "metrics_listen",
                self.metrics_listen
                    .map_or_else(|| "-".to_owned(), |address| address.to_string()),
            ),
            ("otlp_endpoint", text(&self.otlp_endpoint)),
            ("services", self.services.to_string()),
            ("log_format", self.log_format.to_string()),
            ("token_key_file", path(&self.token_key_file)),
            (
                "token_trusted_keys_file",
                path(&self.token_trusted_keys_file),
            ),
            ("token_audience", self.token_audience.clone()),
            (
                "token_max_lifetime_people_secs",
                self.token_max_lifetime_people_secs.to_string(),
            ),
            (
                "token_max_lifetime_lsps_secs",
                self.token_max_lifetime_lsps_secs.to_string(),
            ),
        ];
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How this process logs in to NATS, for the start-up line: a kind and a file, no secret.
    fn nats_login_summary(&self) -> String {
        match self.nats_connection() {
            Ok(Some(connection)) => {
                let tls = if connection.tls.required { "+tls" } else { "" };
                let login = match connection.login {
                    NatsLogin::Anonymous => "anonymous".to_owned(),
                    NatsLogin::UserPassword { user, .. } => format!("user:{user}"),
                    NatsLogin::Token(_) => "token".to_owned(),
                    NatsLogin::NKeySeedFile(file) => format!("nkey:{}", file.display()),
                    NatsLogin::CredentialsFile(file) => format!("creds:{}", file.display()),
                };
                format!("{login}{tls}")
            }
            Ok(None) => "-".to_owned(),
            Err(_) => "invalid".to_owned(),
        }
    }

    fn redacted_database_url(&self) -> Option<String> {
        self.database_url
            .as_deref()
            .map(|url| redact_urls(url, false))
    }

    fn redacted_nats_url(&self) -> Option<String> {
        self.nats_url.as_deref().map(|url| redact_urls(url, true))
    }

    fn default_sqlite_path(data_dir: &Path) -> PathBuf {
        data_dir.join("kesos.db")
    }

    fn default_signing_key_file(data_dir: &Path) -> PathBuf {
        data_dir.join("signing.key")
    }

    fn default_master_key_file(data_dir: &Path) -> PathBuf {
        data_dir.join("master.key")
    }

    fn default_token_key_file(data_dir: &Path) -> PathBuf {
        data_dir.join("token.key")
    }
}

/// Hand-written so that `{:?}` of a config can never print a password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("sqlite_path", &self.sqlite_path)
            .field("database_url", &self.redacted_database_url())
            .field("database_schema", &self.database_schema)
            .field("database_max_connections", &self.database_max_connections)
            .field("nats_url", &self.redacted_nats_url())
            .field("nats_stream", &self.nats_stream)
            .field("nats_subject_prefix", &self.nats_subject_prefix)
            .field("nats_dead_letter_stream", &self.nats_dead_letter_stream)
            .field("nats_credentials_file", &self.nats_credentials_file)
            .field("nats_nkey_seed_file", &self.nats_nkey_seed_file)
            .field("nats_tls_ca_file", &self.nats_tls_ca_file)
            .field("nats_tls_cert_file", &self.nats_tls_cert_file)
            .field("nats_tls_key_file", &self.nats_tls_key_file)
            .field("http_listen", &self.http_listen)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("signing_key_file", &self.signing_key_file)
            .field("trusted_keys_file", &self.trusted_keys_file)
            .field("master_key_file", &self.master_key_file)
            .field("previous_master_key_file", &self.previous_master_key_file)
            .field("schemes_file", &self.schemes_file)
            .field("scheduling_file", &self.scheduling_file)
            .field("nats_lsps_stream", &self.nats_lsps_stream)
            .field("certification_file", &self.certification_file)
            .field("public_base_url", &self.public_base_url)
            .field("metrics_listen", &self.metrics_listen)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("checkpoint_interval_secs", &self.checkpoint_interval_secs)
            .field("service_name", &self.service_name)
            .field("services", &self.services)
            .field("token_key_file", &self.token_key_file)
            .field("token_trusted_keys_file", &self.token_trusted_keys_file)
            .field("token_audience", &self.token_audience)
            .field(
                "token_max_lifetime_people_secs",
                &self.token_max_lifetime_people_secs,
            )
            .field(
                "token_max_lifetime_lsps_secs",
                &self.token_max_lifetime_lsps_secs,
            )
            .field(
                "public_rate_limit_per_minute",
                &self.public_rate_limit_per_minute,
            )
            .field("public_rate_limit_burst", &self.public_rate_limit_burst)
            .finish()
    }
}

fn apply_file(layered: &mut Layered, path: &Path, text: &str) -> Result<(), ConfigError> {
    let table: BTreeMap<String, toml::Spanned<toml::Value>> =
        toml::from_str(text).map_err(|error| {
            let (line, column) = line_and_column(text, error.span().map_or(0, |span| span.start));
            ConfigError::FileSyntax {
                path: path.to_owned(),
                line,
                column,
                message: error.message().lines().collect::<Vec<_>>().join("; "),
            }
        })?;
    // Report problems in file order, not in the map's alphabetical order.
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(_, value)| value.span().start);
    for (key, value) in entries {
        let (line, _) = line_and_column(text, value.span().start);
        let raw = Raw::from_toml(value.get_ref());
        layered.set(key, raw).map_err(|error| match error {
            FieldError::Unknown => ConfigError::UnknownFileKey {
                path: path.to_owned(),
                line,
                key: key.clone(),
            },
            FieldError::Invalid(expected) => ConfigError::Invalid {
                origin: Origin::File {
                    path: path.to_owned(),
                    line,
                },
                field: key.clone(),
                expected,
                found: describe(key, raw),
            },
        })?;
    }
    Ok(())
}

fn apply_env(
    layered: &mut Layered,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !is_ignored(name))
        .collect();
    // The process environment has no order; sorting makes the first error reported stable.
    vars.sort();
    for (name, value) in &vars {
        let suffix = &name[ENV_PREFIX.len()..];
        let field = suffix.to_ascii_lowercase();
        // `KESOS_http_listen` is not `KESOS_HTTP_LISTEN`: only the exact spelling is a field.
        let result = if field.to_ascii_uppercase() == suffix {
            layered.set(&field, Raw::Text(value))
        } else {
            Err(FieldError::Unknown)
        };
        result.map_err(|error| match error {
            FieldError::Unknown => ConfigError::UnknownEnvVar { name: name.clone() },
            FieldError::Invalid(expected) => ConfigError::Invalid {
                origin: Origin::Env { name: name.clone() },
                expected,
                found: describe(&field, Raw::Text(value)),
                field,
            },
        })?;
    }
    Ok(())
}

fn is_ignored(name: &str) -> bool {
    IGNORED_VARS.contains(&name) || IGNORED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The received value for an error message: quoted and escaped so it stays on one line, and
/// never a credential.
fn describe(field: &str, raw: Raw<'_>) -> String {
    match raw {
        Raw::Text(text) if URL_FIELDS.contains(&field) => {
            if text.contains("://") {
                format!("{:?}", redact_urls(text, field == "nats_url"))
            } else {
                "a value that is not a URL (not shown: it may hold a credential)".to_owned()
            }
        }
        Raw::Text(text) => format!("{text:?}"),
        Raw::Integer(number) => number.to_string(),
        Raw::Other(kind) => kind.to_owned(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn from_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut layered = Layered::default();
        apply_file(&mut layered, Path::new("kesos.toml"), text)?;
        apply_env(&mut layered, env(vars))?;
        let config = layered.finish();
        config.mode()?;
        config.nats_connection()?;
        Ok(config)
    }

    /// A file unique to this process and test, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("kesos-runtime-{}-{name}.toml", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn no_file_and_no_variables_give_the_embedded_mode_with_the_documented_defaults() {
        let config = Config::load(None, env(&[("PATH", "/bin")])).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.mode().unwrap(), Mode::Embedded);
        assert_eq!(config.data_dir, PathBuf::from("./.kesos"));
        assert_eq!(config.sqlite_path, PathBuf::from("./.kesos/kesos.db"));
        assert_eq!(
            config.signing_key_file,
            Some(PathBuf::from("./.kesos/signing.key"))
        );
        assert_eq!(config.database_max_connections, 16);
        assert_eq!(config.nats_stream, "KESOS");
        assert_eq!(config.nats_subject_prefix, "kesos");
        assert_eq!(config.nats_dead_letter_stream, "KESOS_DLQ");
        assert_eq!(config.http_listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.log_filter, "info");
        assert_eq!(config.checkpoint_interval_secs, 60);
        assert_eq!(config.service_name, "kesos");
    }

    #[test]
    fn the_file_overrides_the_defaults_and_the_environment_overrides_the_file() {
        let file = TempFile::new(
            "layers",
            "http_listen = \"0.0.0.0:9000\"\nlog_filter = \"debug\"\ndata_dir = \"/srv/kesos\"\n\
             database_max_connections = 4\n",
        );
        let config = Config::load(
            Some(&file.0),
            env(&[
                ("KESOS_HTTP_LISTEN", "[::1]:9100"),
                ("KESOS_LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(config.http_listen.to_string(), "[::1]:9100");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.log_filter, "debug");
        assert_eq!(config.database_max_connections, 4);
        assert_eq!(config.sqlite_path, PathBuf::from("/srv/kesos/kesos.db"));
    }

    #[test]
    fn both_servers_give_the_distributed_mode() {
        let config = Config::load(
            None,
            env(&[
                ("KESOS_DATABASE_URL", "postgres://kesos:pw@db/kesos"),
                ("KESOS_NATS_URL", "nats://nats:4222"),
            ]),
        )
        .unwrap();
        assert_eq!(config.mode().unwrap(), Mode::Distributed);
    }

    #[test]
    fn a_database_without_nats_is_an_error_saying_both_are_needed() {
        let error =
            Config::load(None, env(&[("KESOS_DATABASE_URL", "postgres://db/k")])).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::HalfDistributed {
                set: "database_url",
                missing: "nats_url"
            }
        ));
        assert!(error.to_string().contains("needs both"), "{error}");
    }

    #[test]
    fn a_nats_client_needs_no_database_but_its_login_is_still_checked() {
        let client =
            Config::load_nats_client(None, env(&[("KESOS_NATS_URL", "nats://lsps:pw@n:4222")]))
                .unwrap();
        assert!(client.database_url.is_none());
        let error = Config::load_nats_client(
            None,
            env(&[
                ("KESOS_NATS_URL", "nats://lsps:pw@n:4222"),
                ("KESOS_NATS_NKEY_SEED_FILE", "/run/secrets/lsps.nk"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(error, ConfigError::NatsLogin { .. }), "{error}");
    }

    #[test]
    fn nats_without_a_database_is_an_error_too() {
        let error = from_text("nats_url = \"nats://n:4222\"", &[]).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::HalfDistributed {
                set: "nats_url",
                missing: "database_url"
            }
        ));
    }

    #[test]
    fn an_empty_variable_can_undo_a_server_set_in_the_file() {
        let config = from_text(
            "database_url = \"postgres://db/k\"\nnats_url = \"nats://n:4222\"",
            &[("KESOS_DATABASE_URL", ""), ("KESOS_NATS_URL", "")],
        )
        .unwrap();
        assert_eq!(config.mode().unwrap(), Mode::Embedded);
    }

    #[test]
    fn an_unknown_file_key_is_an_error_naming_it_and_its_line() {
        let error =
            from_text("log_filter = \"info\"\nhttp_listn = \"0.0.0.0:1\"\n", &[]).unwrap_err();
        match &error {
            ConfigError::UnknownFileKey { key, line, .. } => {
                assert_eq!(key, "http_listn");
                assert_eq!(*line, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains("kesos.toml line 2: unknown key `http_listn`"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }

    #[test]
    fn a_nested_table_is_an_unknown_key() {
        let error = from_text("[nats]\nurl = \"nats://n\"\n", &[]).unwrap_err();
        assert!(matches!(error, ConfigError::UnknownFileKey { ref key, .. } if key == "nats"));
    }

    #[test]
    fn an_unknown_kesos_variable_is_an_error_naming_it() {
        let error = Config::load(None, env(&[("KESOS_HTTP_LISTN", "0.0.0.0:1")])).unwrap_err();
        assert!(
            matches!(error, ConfigError::UnknownEnvVar { ref name } if name == "KESOS_HTTP_LISTN")
        );
        assert!(
            error
                .to_string()
                .starts_with("unknown environment variable KESOS_HTTP_LISTN:")
        );
    }

    #[test]
    fn a_variable_in_the_wrong_case_is_unknown() {
        let error = Config::load(None, env(&[("KESOS_http_listen", "0.0.0.0:1")])).unwrap_err();
        assert!(matches!(error, ConfigError::UnknownEnvVar { .. }));
    }

    #[test]
    fn variables_owned_by_test_and_deploy_tooling_are_ignored() {
        let config = Config::load(
            None,
            env(&[
                ("KESOS_TEST_DATABASE_URL", "postgres://test/k"),
                ("KESOS_TEST_NATS_URL", "nats://test"),
                ("KESOS_TEST_ANYTHING", "x"),
                ("KESOS_LOCAL_PORT", "5"),
                ("KESOS_REQUIRE_SERVERS", "1"),
                ("KESOS_CONFIG", "/etc/kesos.toml"),
                ("KESOS_TOOLS", "/opt/tools"),
                ("KESOSX", "not ours"),
            ]),
        )
        .unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn token_lifetimes_are_set_in_seconds_and_bounded_to_366_days() {
        let config = Config::load(
            None,
            env(&[
                ("KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS", "28800"),
                ("KESOS_TOKEN_MAX_LIFETIME_LSPS_SECS", "2592000"),
            ]),
        )
        .unwrap();
        assert_eq!(config.token_max_lifetime_people_secs, 8 * 3600);
        assert_eq!(config.token_max_lifetime_lsps_secs, 30 * 86400);
        for bad in ["0", "59", "31622401", "7d"] {
            let error = Config::load(None, env(&[("KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS", bad)]))
                .unwrap_err();
            assert!(error.to_string().contains("366 days"), "{error}");
        }
    }

    #[test]
    fn a_bad_socket_address_names_the_variable_the_field_and_what_was_expected() {
        let error = Config::load(None, env(&[("KESOS_HTTP_LISTEN", "localhost:80")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable KESOS_HTTP_LISTEN: invalid http_listen: expected an IP socket \
             address such as 127.0.0.1:8080 or [::]:8080, found \"localhost:80\""
        );
    }

    #[test]
    fn the_metrics_listener_is_off_unless_set_and_a_bad_address_is_named() {
        assert_eq!(Config::load(None, env(&[])).unwrap().metrics_listen, None);
        let config =
            Config::load(None, env(&[("KESOS_METRICS_LISTEN", "127.0.0.1:9464")])).unwrap();
        assert_eq!(
            config.metrics_listen.map(|address| address.to_string()),
            Some("127.0.0.1:9464".to_owned())
        );
        let error = Config::load(None, env(&[("KESOS_METRICS_LISTEN", "metrics")])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("environment variable KESOS_METRICS_LISTEN: invalid metrics_listen"),
            "{error}"
        );
    }

    #[test]
    fn the_otlp_exporter_is_off_unless_set_and_only_plain_http_without_credentials_is_taken() {
        assert_eq!(Config::load(None, env(&[])).unwrap().otlp_endpoint, None);
        let config = Config::load(
            None,
            env(&[("KESOS_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]),
        )
        .unwrap();
        assert_eq!(
            config.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        for bad in [
            "https://collector:4318",
            "http://user:secret@collector:4318",
            "http://",
            "collector:4318",
            "http://collector:4318/?x=1",
        ] {
            let error = Config::load(None, env(&[("KESOS_OTLP_ENDPOINT", bad)])).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with("environment variable KESOS_OTLP_ENDPOINT: invalid otlp_endpoint"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_in_the_file_names_the_file_line_and_field() {
        let error = from_text("\n\ncheckpoint_interval_secs = true\n", &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "config file kesos.toml line 3: invalid checkpoint_interval_secs: expected a whole \
             number of seconds, at least 1, found a boolean"
        );
    }

    #[test]
    fn a_file_that_is_not_toml_is_reported_on_one_line_with_its_position() {
        let error = from_text("log_filter = \"info\"\nhttp_listen = \n", &[]).unwrap_err();
        assert!(
            matches!(error, ConfigError::FileSyntax { line: 2, .. }),
            "{error:?}"
        );
        assert!(!error.to_string().contains('\n'), "{error}");
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let path = Path::new("/nonexistent/kesos.toml");
        let error = Config::load(Some(path), env(&[])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read config file /nonexistent/kesos.toml")
        );
    }

    #[test]
    fn an_invalid_database_url_is_reported_without_its_password() {
        let error = Config::load(
            None,
            env(&[("KESOS_DATABASE_URL", "mysql://u:hunter2@db/k")]),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("mysql://u:***@db/k"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");

        let error = Config::load(
            None,
            env(&[("KESOS_DATABASE_URL", "host=db password=hunter2")]),
        )
        .unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn the_summary_replaces_the_password_and_names_the_mode_and_paths() {
        let config = Config {
            database_url: Some("postgres://kesos:hunter2@db:5432/kesos".to_owned()),
            nats_url: Some("nats://user:natspass@nats:4222".to_owned()),
            ..Config::default()
        };
        let summary = config.redacted_summary();
        assert!(
            !summary.contains("hunter2") && !summary.contains("natspass"),
            "{summary}"
        );
        assert!(summary.contains("mode=distributed"), "{summary}");
        assert!(summary.contains("listen=127.0.0.1:8080"), "{summary}");
        assert!(
            summary.contains("database_url=postgres://kesos:***@db:5432/kesos"),
            "{summary}"
        );
        assert!(
            summary.contains("nats_url=nats://user:***@nats:4222"),
            "{summary}"
        );
        assert!(
            summary.contains("sqlite_path=./.kesos/kesos.db"),
            "{summary}"
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
