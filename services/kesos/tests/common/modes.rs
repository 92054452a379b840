//! The two modes a kesos process runs in, configured for tests that restart it or break its
//! store: the embedded mode with a fixed token key, and the distributed mode in a schema.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use kesos_runtime::Config;
use kesos_testkit::{PgSchema, SqliteFile, database_url, nats_url, unique_name};

use super::embedded_config;

/// The embedded mode's configuration with its token key fixed, so a restart trusts the same
/// tokens.
pub fn embedded(file: &SqliteFile) -> Config {
    let config = embedded_config(file);
    Config {
        token_key_file: Some(config.data_dir.join("token.key")),
        ..config
    }
}

/// The distributed mode in `schema`, with its keys in `dir`.
pub fn distributed(schema: &PgSchema, dir: &SqliteFile) -> Config {
    let data_dir = dir.path.parent().unwrap().to_path_buf();
    let key_file = data_dir.join("signing.key");
    let master_file = data_dir.join("master.key");
    if !key_file.exists() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
        kesos::keys::write_signing_key(&key_file, &key, false).unwrap();
        let master = kesos_vault::MasterKey::generate().to_hex();
        kesos::keys::write_secret_file(&master_file, &master, false).unwrap();
    }
    Config {
        master_key_file: Some(master_file),
        database_url: Some(database_url()),
        database_schema: Some(schema.name.clone()),
        nats_url: Some(nats_url()),
        nats_subject_prefix: unique_name("t"),
        nats_stream: unique_name("T"),
        nats_dead_letter_stream: unique_name("D"),
        nats_lsps_stream: unique_name("L"),
        signing_key_file: Some(key_file),
        token_key_file: Some(data_dir.join("token.key")),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        ..Config::default()
    }
}

pub async fn delete_streams(config: &Config) {
    let context = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    for stream in [
        &config.nats_stream,
        &config.nats_dead_letter_stream,
        &config.nats_lsps_stream,
    ] {
        let _ = context.delete_stream(stream).await;
    }
}
