//! A kesos process over a real socket on port 0, for the HTTP tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod certificates;
pub mod modes;

use kesos::Application;
use kesos_runtime::{Config, Shutdown};
use kesos_testkit::SqliteFile;
use serde_json::Value;

pub struct Running {
    pub base: String,
    /// A central-operations bearer token every helper sends.
    pub token: String,
    /// The token signing key, to mint tokens of other roles.
    pub token_key: std::path::PathBuf,
    pub shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub store: std::sync::Arc<dyn kesos_eventstore::EventStore>,
}

pub async fn start(mut config: Config) -> Running {
    let defaults = Config::default();
    if config.token_key_file == defaults.token_key_file {
        let dir = std::env::temp_dir().join(format!("kesos-token-{}", uuid::Uuid::now_v7()));
        config.token_key_file = Some(dir.join("token.key"));
    }
    if config.public_rate_limit_per_minute == defaults.public_rate_limit_per_minute {
        config.public_rate_limit_per_minute = 1_000_000;
        config.public_rate_limit_burst = 1_000_000;
    }
    let token_key = config.token_key_file.clone().unwrap();
    kesos_auth::keys::load_or_create_signing_key(&token_key).unwrap();
    let application = Application::build(&config).await.unwrap();
    let base = format!("http://{}", application.address());
    let store = application.store();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    let token = mint(
        &token_key,
        &config.token_audience,
        "central-operations",
        None,
        None,
    );
    Running {
        base,
        token,
        token_key,
        shutdown,
        task,
        store,
    }
}

/// A token for `role` signed with the key at `key`, valid for an hour.
pub fn mint(
    key: &std::path::Path,
    audience: &str,
    role: &str,
    region: Option<&str>,
    lsps: Option<&str>,
) -> String {
    let request = kesos_auth::issue::IssueRequest {
        role,
        region,
        lsps,
        subject: "test",
        ttl: "1h",
        audience,
        lifetimes: kesos_auth::Lifetimes::default(),
    };
    kesos_auth::issue::issue(&request, key, false, time::OffsetDateTime::now_utc()).unwrap()
}

impl Running {
    pub async fn get(&self, path: &str) -> (u16, String, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        answer(response).await
    }
    /// A GET as the holder of `token` (not the process's own token): status and JSON body
    /// (`null` when the body is not JSON).
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
    /// The raw bytes of a GET (exports), with the token.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        response.bytes().await.unwrap().to_vec()
    }
    pub async fn post(&self, path: &str) -> (u16, String, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        answer(response).await
    }
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> (u16, String, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        answer(request.send().await.unwrap()).await
    }
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (u16, String, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap().unwrap();
    }
}

async fn answer(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.json().await.unwrap())
}

pub fn embedded_config(file: &SqliteFile) -> Config {
    let data_dir = file.path.parent().unwrap().to_path_buf();
    Config {
        signing_key_file: Some(data_dir.join("signing.key")),
        sqlite_path: file.path.clone(),
        data_dir,
        http_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}
