//! kesos processes for the end-to-end journeys: the real binary, started with an environment,
//! killed by its own process id, started again.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kesos_testkit::free_port;
use serde_json::Value;

pub mod browser;
pub mod erasure;
pub mod guide;
pub mod journey;
pub mod otlp;

/// The kesos binary of this workspace, built once per test run if needed.
pub fn kesos_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "kesos", "--bin", "kesos"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cannot build the kesos binary");
            let exe = std::env::current_exe().unwrap();
            // target/<profile>/deps/<test> -> target/<profile>/kesos
            let binary = exe.parent().unwrap().parent().unwrap().join("kesos");
            assert!(binary.exists(), "no kesos binary at {}", binary.display());
            binary
        })
        .clone()
}

/// Longest a `kesos` command may run in a test: one that waits for something that never comes
/// (the simulator for a roster a stalled desk never sends) fails the test instead of hanging
/// the whole run.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `kesos ARGS` to completion with `env`; returns stdout, panicking with stderr on failure
/// or when it runs past [`COMMAND_DEADLINE`] (it is then killed, by its own process id).
pub fn kesos(env: &[(String, String)], args: &[&str], dir: &Path) -> String {
    let child = Command::new(kesos_binary())
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (finished, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = finished.send(child.wait_with_output());
    });
    let output = match outcome.recv_timeout(COMMAND_DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("kesos {args:?} ran past {COMMAND_DEADLINE:?} and was killed (pid {pid})");
        }
    };
    assert!(
        output.status.success(),
        "kesos {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A running `kesos serve`. Dropping it kills the process (and only it).
pub struct Process {
    pub name: String,
    pub base: String,
    env: Vec<(String, String)>,
    dir: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// Starts `kesos serve` with `env` plus its own HTTP and metrics ports, and waits for
    /// `/healthz`.
    pub async fn start(name: &str, env: &[(String, String)], dir: &Path) -> Self {
        let port = free_port();
        let mut env = env.to_vec();
        env.push(("KESOS_HTTP_LISTEN".into(), format!("127.0.0.1:{port}")));
        env.push((
            "KESOS_METRICS_LISTEN".into(),
            format!("127.0.0.1:{}", free_port()),
        ));
        let mut process = Self {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            env,
            dir: dir.to_owned(),
            child: None,
        };
        process.spawn().await;
        process
    }

    /// The process's `/metrics`, in the Prometheus text format.
    pub async fn metrics(&self) -> String {
        let address = self
            .env
            .iter()
            .find(|(name, _)| name == "KESOS_METRICS_LISTEN")
            .map(|(_, address)| address.clone())
            .unwrap();
        let response = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.text().await.unwrap()
    }

    async fn spawn(&mut self) {
        // Appended to, so the log of a restarted process still shows its first life.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", self.name)))
            .unwrap();
        let child = Command::new(kesos_binary())
            .arg("serve")
            .envs(self.env.iter().cloned())
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{}/healthz", self.base)).await
                && response.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{} exited with {status}: {}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} never became healthy",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", self.name))).unwrap_or_default()
    }

    /// Kills the process without warning (SIGKILL), as a crash would, then starts it again.
    pub async fn crash_and_restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process gracefully (SIGTERM), waiting for it to finish.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client that presents a bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    token: String,
}

impl Client {
    pub fn new(token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            token: token.trim().to_owned(),
        }
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// Downloads a file: the status, its media type and its bytes.
    pub async fn download(&self, url: &str) -> (u16, String, Vec<u8>) {
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, media_type, response.bytes().await.unwrap().to_vec())
    }

    /// Posts a file's bytes as the request body (an import's upload).
    pub async fn upload(&self, url: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// [`Client::post`] continuing the caller's trace: `traceparent` sent as the W3C header.
    pub async fn post_traced(
        &self,
        url: &str,
        body: &Value,
        key: &str,
        traceparent: &str,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .header("traceparent", traceparent)
            .json(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    pub async fn post(&self, url: &str, body: &Value, key: &str) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }
}

/// The sum of a family's samples in a Prometheus text scrape (`name` exactly, so a histogram is
/// read through its `_count`), and whether any sample of it was there at all.
pub fn family(scrape: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in scrape.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let sample_name = series.split('{').next().unwrap_or_default();
        if sample_name == name {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    found
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls `probe` until it returns `Some`, for at most `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
