//! A kesos process over a real socket on port 0, for the HTTP tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use kesos::Application;
use kesos_runtime::{Config, Shutdown};
use kesos_testkit::SqliteFile;
use serde_json::Value;

pub struct Running {
    pub base: String,
    pub shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub store: std::sync::Arc<dyn kesos_eventstore::EventStore>,
}

pub async fn start(config: Config) -> Running {
    let application = Application::build(&config).await.unwrap();
    let base = format!("http://{}", application.address());
    let store = application.store();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    Running {
        base,
        shutdown,
        task,
        store,
    }
}

impl Running {
    pub async fn get(&self, path: &str) -> (u16, String, Value) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        answer(response).await
    }
    pub async fn post(&self, path: &str) -> (u16, String, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
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
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        answer(request.send().await.unwrap()).await
    }
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (u16, String, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
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
