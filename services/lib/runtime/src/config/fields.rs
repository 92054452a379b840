//! The one table of configuration fields, shared by the file and the environment.
//!
//! Both sources go through [`Layered::set`], so a key the file accepts is exactly a key the
//! environment accepts (as `KESOS_<KEY>`), and each value is checked by the same parser whichever
//! source it came from. Adding a field means adding it to [`FIELDS`] and to the `match` in `set`;
//! the test `every_listed_field_is_accepted` keeps the two in step.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use tracing_subscriber::EnvFilter;

use super::{Config, LogFormat};

/// Every configuration key, in the order they are documented on [`Config`].
pub(super) const FIELDS: [&str; 38] = [
    "data_dir",
    "sqlite_path",
    "database_url",
    "database_schema",
    "database_max_connections",
    "nats_url",
    "nats_stream",
    "nats_subject_prefix",
    "nats_dead_letter_stream",
    "nats_credentials_file",
    "nats_nkey_seed_file",
    "nats_tls_ca_file",
    "nats_tls_cert_file",
    "nats_tls_key_file",
    "http_listen",
    "log_format",
    "log_filter",
    "signing_key_file",
    "trusted_keys_file",
    "master_key_file",
    "previous_master_key_file",
    "schemes_file",
    "scheduling_file",
    "nats_lsps_stream",
    "certification_file",
    "public_base_url",
    "metrics_listen",
    "otlp_endpoint",
    "checkpoint_interval_secs",
    "service_name",
    "services",
    "token_key_file",
    "token_trusted_keys_file",
    "token_audience",
    "token_max_lifetime_people_secs",
    "token_max_lifetime_lsps_secs",
    "public_rate_limit_per_minute",
    "public_rate_limit_burst",
];

/// Fields whose values may carry a secret, so an error message must redact them.
pub(super) const URL_FIELDS: [&str; 2] = ["database_url", "nats_url"];

/// A value as a source supplied it, before it is checked against its field.
///
/// The environment only ever supplies text; a TOML file can also supply integers and values
/// no field accepts (booleans, tables...), which are kept only by name for the error message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Raw<'a> {
    /// A string: every environment value and TOML strings.
    Text(&'a str),
    /// A TOML integer.
    Integer(i64),
    /// Any other TOML value, described as "a boolean", "a table"...
    Other(&'static str),
}

impl<'a> Raw<'a> {
    /// Classifies a TOML value; only strings and integers can ever be valid.
    pub(super) fn from_toml(value: &'a toml::Value) -> Self {
        match value {
            toml::Value::String(text) => Raw::Text(text),
            toml::Value::Integer(number) => Raw::Integer(*number),
            toml::Value::Float(_) => Raw::Other("a float"),
            toml::Value::Boolean(_) => Raw::Other("a boolean"),
            toml::Value::Datetime(_) => Raw::Other("a date-time"),
            toml::Value::Array(_) => Raw::Other("an array"),
            toml::Value::Table(_) => Raw::Other("a table"),
        }
    }
}

/// Why [`Layered::set`] refused a value.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FieldError {
    /// No field has this name.
    Unknown,
    /// The field exists; the value is not what it expects (the text says what it does expect).
    Invalid(&'static str),
}

/// A [`Config`] being built layer by layer, remembering which derived paths were set explicitly.
#[derive(Debug, Default)]
pub(super) struct Layered {
    config: Config,
    sqlite_path_set: bool,
    signing_key_file_set: bool,
    master_key_file_set: bool,
    token_key_file_set: bool,
}

impl Layered {
    /// Overwrites one field with a value from the current layer.
    pub(super) fn set(&mut self, field: &str, raw: Raw<'_>) -> Result<(), FieldError> {
        let c = &mut self.config;
        match field {
            "data_dir" => c.data_dir = path(raw)?,
            "sqlite_path" => {
                c.sqlite_path = path(raw)?;
                self.sqlite_path_set = true;
            }
            "database_url" => c.database_url = optional(raw, database_url)?,
            "database_schema" => c.database_schema = optional(raw, schema_name)?,
            "database_max_connections" => c.database_max_connections = positive_u32(raw)?,
            "nats_url" => c.nats_url = optional(raw, nats_url)?,
            "nats_stream" => c.nats_stream = stream_name(raw)?,
            "nats_subject_prefix" => c.nats_subject_prefix = subject_prefix(raw)?,
            "nats_dead_letter_stream" => c.nats_dead_letter_stream = stream_name(raw)?,
            "nats_credentials_file" => c.nats_credentials_file = optional(raw, path)?,
            "nats_nkey_seed_file" => c.nats_nkey_seed_file = optional(raw, path)?,
            "nats_tls_ca_file" => c.nats_tls_ca_file = optional(raw, path)?,
            "nats_tls_cert_file" => c.nats_tls_cert_file = optional(raw, path)?,
            "nats_tls_key_file" => c.nats_tls_key_file = optional(raw, path)?,
            "http_listen" => c.http_listen = socket_address(raw)?,
            "log_format" => c.log_format = log_format(raw)?,
            "log_filter" => c.log_filter = log_filter(raw)?,
            "signing_key_file" => {
                c.signing_key_file = optional(raw, path)?;
                self.signing_key_file_set = true;
            }
            "trusted_keys_file" => c.trusted_keys_file = optional(raw, path)?,
            "master_key_file" => {
                c.master_key_file = optional(raw, path)?;
                self.master_key_file_set = true;
            }
            "previous_master_key_file" => c.previous_master_key_file = optional(raw, path)?,
            "schemes_file" => c.schemes_file = optional(raw, path)?,
            "scheduling_file" => c.scheduling_file = optional(raw, path)?,
            "nats_lsps_stream" => c.nats_lsps_stream = stream_name(raw)?,
            "certification_file" => c.certification_file = optional(raw, path)?,
            "public_base_url" => c.public_base_url = optional(raw, public_url)?,
            "metrics_listen" => c.metrics_listen = optional(raw, socket_address)?,
            "otlp_endpoint" => c.otlp_endpoint = optional(raw, otlp_endpoint)?,
            "checkpoint_interval_secs" => c.checkpoint_interval_secs = positive_u64(raw)?,
            "service_name" => c.service_name = service_name(raw)?,
            "services" => c.services = services(raw)?,
            "token_key_file" => {
                c.token_key_file = optional(raw, path)?;
                self.token_key_file_set = true;
            }
            "token_trusted_keys_file" => c.token_trusted_keys_file = optional(raw, path)?,
            "token_audience" => c.token_audience = service_name(raw)?,
            "token_max_lifetime_people_secs" => {
                c.token_max_lifetime_people_secs = token_lifetime(raw)?;
            }
            "token_max_lifetime_lsps_secs" => c.token_max_lifetime_lsps_secs = token_lifetime(raw)?,
            "public_rate_limit_per_minute" => c.public_rate_limit_per_minute = positive_u32(raw)?,
            "public_rate_limit_burst" => c.public_rate_limit_burst = positive_u32(raw)?,
            _ => return Err(FieldError::Unknown),
        }
        Ok(())
    }

    /// Finishes the layers: paths not set explicitly follow the final `data_dir`.
    pub(super) fn finish(self) -> Config {
        let mut config = self.config;
        if !self.sqlite_path_set {
            config.sqlite_path = Config::default_sqlite_path(&config.data_dir);
        }
        if !self.signing_key_file_set {
            config.signing_key_file = Some(Config::default_signing_key_file(&config.data_dir));
        }
        if !self.master_key_file_set {
            config.master_key_file = Some(Config::default_master_key_file(&config.data_dir));
        }
        if !self.token_key_file_set {
            config.token_key_file = Some(Config::default_token_key_file(&config.data_dir));
        }
        config
    }
}

/// The text of a value, or the given expectation when the value is not text.
fn text<'a>(raw: Raw<'a>, expected: &'static str) -> Result<&'a str, FieldError> {
    match raw {
        Raw::Text(text) => Ok(text),
        Raw::Integer(_) | Raw::Other(_) => Err(FieldError::Invalid(expected)),
    }
}

/// An optional field: an empty string unsets it (so the environment can undo a file's value).
fn optional<T>(
    raw: Raw<'_>,
    parse: fn(Raw<'_>) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match raw {
        Raw::Text("") => Ok(None),
        _ => parse(raw).map(Some),
    }
}

fn path(raw: Raw<'_>) -> Result<PathBuf, FieldError> {
    const EXPECTED: &str = "a non-empty file system path";
    match text(raw, EXPECTED)? {
        "" => Err(FieldError::Invalid(EXPECTED)),
        path => Ok(PathBuf::from(path)),
    }
}

fn database_url(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "a PostgreSQL URL starting with postgres:// or postgresql://";
    let url = text(raw, EXPECTED)?;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

/// The schema is interpolated into `SET search_path`, so only plain identifiers get through.
fn schema_name(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "a PostgreSQL schema name of at most 63 lowercase letters, digits \
                            or `_`, not starting with a digit";
    let name = text(raw, EXPECTED)?;
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

fn nats_url(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str =
        "a NATS server URL such as nats://127.0.0.1:4222 (several may be separated by commas)";
    let url = text(raw, EXPECTED)?;
    if url.split(',').all(|server| !server.trim().is_empty()) {
        Ok(url.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

fn public_url(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "an http:// or https:// URL such as https://kesos.kemensos.go.id";
    let url = text(raw, EXPECTED)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_default();
    if !rest.is_empty() && !url.chars().any(char::is_whitespace) {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

/// An OTLP/HTTP receiver: `http://host:port` with no credentials, query or fragment (spans
/// go to `<endpoint>/v1/traces`). Plain HTTP only: kesos has no TLS client for it, and a
/// collector runs as a local agent or sidecar.
fn otlp_endpoint(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "an http:// URL of an OTLP/HTTP receiver such as http://127.0.0.1:4318 (no https, no credentials)";
    let url = text(raw, EXPECTED)?;
    let rest = url.strip_prefix("http://").unwrap_or_default();
    let authority = rest.split('/').next().unwrap_or_default();
    let clean = !authority.is_empty()
        && !rest.contains(['@', '?', '#'])
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control());
    if clean {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn services(raw: Raw<'_>) -> Result<super::Services, FieldError> {
    const EXPECTED: &str =
        "`all` or a comma-separated list of enrollment, scheduling, certification, progress";
    super::Services::parse(text(raw, EXPECTED)?).ok_or(FieldError::Invalid(EXPECTED))
}

fn stream_name(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "a JetStream stream name of letters, digits, `-` or `_`";
    let name = text(raw, EXPECTED)?;
    if !name.is_empty() && name.chars().all(is_token_char) {
        Ok(name.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

fn subject_prefix(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str =
        "a NATS subject prefix of dot-separated tokens of letters, digits, `-` or `_`";
    let prefix = text(raw, EXPECTED)?;
    let valid = prefix
        .split('.')
        .all(|token| !token.is_empty() && token.chars().all(is_token_char));
    if valid {
        Ok(prefix.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

fn socket_address(raw: Raw<'_>) -> Result<SocketAddr, FieldError> {
    const EXPECTED: &str = "an IP socket address such as 127.0.0.1:8080 or [::]:8080";
    SocketAddr::from_str(text(raw, EXPECTED)?.trim()).map_err(|_| FieldError::Invalid(EXPECTED))
}

fn log_format(raw: Raw<'_>) -> Result<LogFormat, FieldError> {
    const EXPECTED: &str = "`pretty` or `json`";
    LogFormat::from_str(text(raw, EXPECTED)?).map_err(|_| FieldError::Invalid(EXPECTED))
}

/// Checked now so a bad filter fails at start-up, named, rather than inside `init_tracing`.
fn log_filter(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "a tracing filter such as `info` or `kesos=debug,sqlx=warn`";
    let filter = text(raw, EXPECTED)?;
    if filter.trim().is_empty() || EnvFilter::try_new(filter).is_err() {
        return Err(FieldError::Invalid(EXPECTED));
    }
    Ok(filter.to_owned())
}

fn positive_integer(raw: Raw<'_>, max: u64, expected: &'static str) -> Result<u64, FieldError> {
    let number = match raw {
        Raw::Text(text) => text.trim().parse::<u64>().ok(),
        Raw::Integer(number) => u64::try_from(number).ok(),
        Raw::Other(_) => None,
    };
    match number {
        Some(number) if (1..=max).contains(&number) => Ok(number),
        _ => Err(FieldError::Invalid(expected)),
    }
}

fn positive_u32(raw: Raw<'_>) -> Result<u32, FieldError> {
    const EXPECTED: &str = "a whole number from 1 to 4294967295";
    let number = positive_integer(raw, u64::from(u32::MAX), EXPECTED)?;
    u32::try_from(number).map_err(|_| FieldError::Invalid(EXPECTED))
}

fn positive_u64(raw: Raw<'_>) -> Result<u64, FieldError> {
    positive_integer(raw, u64::MAX, "a whole number of seconds, at least 1")
}

/// A token's maximum lifetime: at least a minute, at most 366 days.
fn token_lifetime(raw: Raw<'_>) -> Result<u64, FieldError> {
    const EXPECTED: &str = "a whole number of seconds from 60 to 31622400 (366 days)";
    match positive_integer(raw, 31_622_400, EXPECTED)? {
        seconds if seconds >= 60 => Ok(seconds),
        _ => Err(FieldError::Invalid(EXPECTED)),
    }
}

fn service_name(raw: Raw<'_>) -> Result<String, FieldError> {
    const EXPECTED: &str = "a non-empty name of letters, digits, `-`, `_` or `.`";
    let name = text(raw, EXPECTED)?;
    if !name.is_empty() && name.chars().all(|c| is_token_char(c) || c == '.') {
        Ok(name.to_owned())
    } else {
        Err(FieldError::Invalid(EXPECTED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(result: Result<(), FieldError>) -> bool {
        matches!(result, Err(FieldError::Invalid(_)))
    }

    #[test]
    fn every_listed_field_is_accepted() {
        for field in FIELDS {
            let result = Layered::default().set(field, Raw::Other("a boolean"));
            assert_ne!(
                result,
                Err(FieldError::Unknown),
                "{field} is listed but not settable"
            );
        }
    }

    #[test]
    fn a_name_not_listed_is_unknown() {
        let result = Layered::default().set("http_listn", Raw::Text("127.0.0.1:1"));
        assert_eq!(result, Err(FieldError::Unknown));
    }

    #[test]
    fn an_empty_string_unsets_an_optional_field() {
        let mut layered = Layered::default();
        layered
            .set("database_url", Raw::Text("postgres://db/kesos"))
            .unwrap();
        layered.set("database_url", Raw::Text("")).unwrap();
        assert_eq!(layered.finish().database_url, None);
    }

    #[test]
    fn integers_are_accepted_as_text_or_as_toml_integers_but_not_zero() {
        let mut layered = Layered::default();
        layered
            .set("database_max_connections", Raw::Text("4"))
            .unwrap();
        layered
            .set("checkpoint_interval_secs", Raw::Integer(5))
            .unwrap();
        let config = layered.finish();
        assert_eq!(config.database_max_connections, 4);
        assert_eq!(config.checkpoint_interval_secs, 5);

        let mut layered = Layered::default();
        assert!(invalid(
            layered.set("database_max_connections", Raw::Integer(0))
        ));
        assert!(invalid(
            layered.set("database_max_connections", Raw::Integer(-1))
        ));
        assert!(invalid(
            layered.set("database_max_connections", Raw::Text("4294967296"))
        ));
    }

    #[test]
    fn a_schema_name_that_could_inject_sql_is_refused() {
        let mut layered = Layered::default();
        assert!(invalid(
            layered.set("database_schema", Raw::Text("kesos; DROP TABLE x"))
        ));
        assert!(invalid(layered.set("database_schema", Raw::Text("1kesos"))));
        assert!(
            layered
                .set("database_schema", Raw::Text("kesos_test_42"))
                .is_ok()
        );
    }

    #[test]
    fn nats_names_must_be_plain_tokens() {
        let mut layered = Layered::default();
        assert!(invalid(layered.set("nats_stream", Raw::Text("KE.SOS"))));
        assert!(invalid(layered.set("nats_stream", Raw::Text(""))));
        assert!(invalid(
            layered.set("nats_subject_prefix", Raw::Text("kesos.>"))
        ));
        assert!(invalid(
            layered.set("nats_subject_prefix", Raw::Text("kesos."))
        ));
        assert!(
            layered
                .set("nats_subject_prefix", Raw::Text("acme.kesos"))
                .is_ok()
        );
    }

    #[test]
    fn log_format_is_case_insensitive_and_log_filter_is_checked() {
        let mut layered = Layered::default();
        layered.set("log_format", Raw::Text("JSON")).unwrap();
        assert_eq!(layered.finish().log_format, LogFormat::Json);

        let mut layered = Layered::default();
        assert!(invalid(layered.set("log_filter", Raw::Text("kesos=loud"))));
        assert!(
            layered
                .set("log_filter", Raw::Text("kesos=debug,sqlx=warn"))
                .is_ok()
        );
    }

    #[test]
    fn derived_paths_follow_the_final_data_dir_unless_set_explicitly() {
        let mut layered = Layered::default();
        layered
            .set("data_dir", Raw::Text("/var/lib/kesos"))
            .unwrap();
        let config = layered.finish();
        assert_eq!(config.sqlite_path, PathBuf::from("/var/lib/kesos/kesos.db"));
        assert_eq!(
            config.signing_key_file,
            Some(PathBuf::from("/var/lib/kesos/signing.key"))
        );

        let mut layered = Layered::default();
        layered.set("sqlite_path", Raw::Text("/tmp/k.db")).unwrap();
        layered.set("signing_key_file", Raw::Text("")).unwrap();
        layered
            .set("data_dir", Raw::Text("/var/lib/kesos"))
            .unwrap();
        let config = layered.finish();
        assert_eq!(config.sqlite_path, PathBuf::from("/tmp/k.db"));
        assert_eq!(config.signing_key_file, None);
    }
}
