//! The LSPS integration guide's worked example, run as written: the shell blocks are read from
//! `proto/kesos/lsps/v1/README.md` itself, so the page an LSPS developer follows cannot drift
//! from what kesos does. The one change a run makes is the deployment's NATS URL.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::kesos_binary;

/// The guide, as an LSPS developer reads it.
const GUIDE: &str = include_str!("../../../proto/kesos/lsps/v1/README.md");

/// The deployment's NATS URL as the guide writes it; a run puts the test server's in its place.
const EXAMPLE_URL: &str = "nats://nats.example.go.id:4222";

/// The worked example, from its heading on.
fn worked_example() -> &'static str {
    let start = GUIDE
        .find("## Worked example")
        .expect("the guide has its worked example");
    &GUIDE[start..]
}

/// The `sh` block of the worked example's step `number`, its lines unindented.
pub fn block(number: u32) -> String {
    let example = worked_example();
    let step = example
        .find(&format!("\n{number}. **"))
        .unwrap_or_else(|| panic!("the worked example has no step {number}"));
    let rest = &example[step..];
    let open = rest.find("```sh\n").expect("the step has a shell block") + "```sh\n".len();
    let close = rest[open..].find("```").expect("the shell block ends");
    rest[open..open + close]
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line the guide says the simulator prints for its first roster.
pub fn printed_line() -> String {
    let example = worked_example();
    let marker = example
        .find("It prints one line, e.g.")
        .expect("the guide shows the simulator's line");
    let rest = &example[marker..];
    let open = rest.find('`').expect("the line is quoted") + 1;
    let close = rest[open..].find('`').expect("the quote ends");
    rest[open..open + close].to_owned()
}

/// An LSPS developer's working directory, removed when dropped.
pub struct Desk {
    /// The directory the guide's commands run in.
    pub dir: PathBuf,
}

impl Desk {
    /// A fresh, empty directory.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(kesos_testkit::unique_name("kesos-lsps-desk"));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// Runs a block of the guide with `sh -e`, as the developer would: nothing of kesos' in the
    /// environment, `kesos` on the PATH, `url` for the deployment's NATS. Answers stdout;
    /// panics with stderr when a command fails.
    pub fn run(&self, block: &str, url: &str) -> String {
        let script = block.replace(EXAMPLE_URL, url);
        let binaries = kesos_binary().parent().unwrap().to_path_buf();
        let path = std::env::join_paths(std::iter::once(binaries).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let output = Command::new("sh")
            .arg("-ec")
            .arg(&script)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.dir)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the guide's commands failed:\n{script}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The path of a file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True when `path` holds an NKey user seed (`SU…`), as step 1 promises.
pub fn holds_a_user_seed(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|seed| seed.trim().starts_with("SU"))
}
