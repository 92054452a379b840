//! A real headless browser for the dashboard tests: Debian's `chromium`, driven over the W3C
//! WebDriver protocol by `chromedriver`, which this module starts on a free loopback port and
//! stops by its own process id. No browser, no test: a missing chromium fails with the command
//! that installs it (`.ci/run` and `deploy/local/test` install it).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use kesos_testkit::free_port;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let path = Path::new(dir).join(name);
            if path.exists() {
                return path;
            }
        }
    }
    panic!(
        "{} is not installed; install it with `sudo apt-get install -y chromium chromium-driver`",
        names[0]
    );
}

/// Where screenshots are kept: `KESOS_TEST_ARTEFACTS`, by default `target/test-artefacts`.
pub fn artefacts() -> PathBuf {
    let dir = std::env::var_os("KESOS_TEST_ARTEFACTS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artefacts/dashboard"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One element, by its WebDriver reference.
#[derive(Debug, Clone)]
pub struct Element(String);

/// A browser session. Dropping it ends the session and stops chromedriver.
pub struct Browser {
    driver: Child,
    /// Where the browser saves what a page downloads (removed with the browser).
    pub downloads: PathBuf,
    base: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts chromedriver and a headless chromium with a 1280×1000 window.
    pub async fn start() -> Self {
        let chromium = find_program(&["chromium", "chromium-browser"]);
        let chromedriver = find_program(&["chromedriver"]);
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{root}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let downloads = std::env::temp_dir().join(kesos_testkit::unique_name("kesos-downloads"));
        std::fs::create_dir_all(&downloads).unwrap();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--lang=id-ID", "--no-first-run"],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false
                }
            }
        }}});
        let session: Value = http
            .post(format!("{root}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {session}"))
            .to_owned();
        Self {
            driver,
            downloads,
            base: format!("{root}/session/{id}"),
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!("webdriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// The file the page has downloaded whose name ends with `suffix`, once complete (waits up
    /// to 20 s): its name and bytes.
    pub async fn downloaded(&self, suffix: &str) -> (String, Vec<u8>) {
        self.downloaded_as("", suffix).await
    }

    /// The file the page has downloaded whose name starts with `prefix` and ends with
    /// `suffix`, once complete (waits up to 20 s): its name and bytes.
    pub async fn downloaded_as(&self, prefix: &str, suffix: &str) -> (String, Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = std::fs::read_dir(&self.downloads)
                .unwrap()
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .find(|name| name.starts_with(prefix) && name.ends_with(suffix));
            if let Some(name) = found {
                return (
                    name.clone(),
                    std::fs::read(self.downloads.join(name)).unwrap(),
                );
            }
            assert!(
                Instant::now() < deadline,
                "nothing named {prefix}…{suffix} was downloaded"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Waits up to 20 s for `script` to return something other than null, false or "".
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.script(script, json!([])).await;
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            if Instant::now() > deadline {
                let status = self
                    .script(
                        "return document.getElementById('status')?.textContent",
                        json!([]),
                    )
                    .await;
                panic!("waited 20 s for {what}; the page says {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null",
            json!(css)
        );
        self.until(css, &script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let found = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        Element(found[ELEMENT].as_str().unwrap().to_owned())
    }

    /// Clicks an element, as a user would (it must be visible and not covered).
    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    /// Types into an element.
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Presses a key (a WebDriver key code such as `\u{E004}` for Tab) on whatever has focus.
    pub async fn press(&self, key: &str) {
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }
            ]}]}),
        )
        .await;
    }

    /// Prints the page to PDF (A4, as the browser's Print does, print styles applied), saves it
    /// under [`artefacts`] as `name.pdf` and returns its bytes.
    pub async fn print(&self, name: &str) -> Vec<u8> {
        let encoded = self.post("/print", json!({ "background": true })).await;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap();
        std::fs::write(artefacts().join(format!("{name}.pdf")), &pdf).unwrap();
        pdf
    }

    /// Saves a PNG of the window under [`artefacts`] as `name.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap();
        let path = artefacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.downloads);
        // End the session (chromium exits with it) with a plain blocking request, since a
        // drop cannot wait for async work; then stop chromedriver, by its own pid.
        if let Some((host, path)) = self
            .base
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
            && let Ok(mut stream) = std::net::TcpStream::connect(host)
        {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request =
                format!("DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
