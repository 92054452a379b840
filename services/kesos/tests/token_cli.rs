//! `kesos token …` and `kesos key generate` as an operator runs them: bad lifetimes and
//! existing key files are one line on stderr and a failing exit, never a panic; key files are
//! 0600 whatever they replace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use kesos_testkit::SqliteFile;

/// Runs kesos in `dir` with only the given KESOS_* variables (the test's own are removed).
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kesos"));
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KESOS_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a failing exit with exactly one line on stderr, starting `kesos: `, and no panic.
fn one_line_failure(output: &Output) -> String {
    let text = stderr(output);
    assert!(!output.status.success(), "{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(text.starts_with("kesos: "), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn generate_with_force_over_a_world_readable_file_leaves_a_0600_file() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    for master in [false, true] {
        let key = dir.join(format!("replaced-{master}.key"));
        std::fs::write(&key, "old secret\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut args = vec!["key", "generate", "--out", key.to_str().unwrap(), "--force"];
        if master {
            args.push("--master");
        }
        let output = run(dir, &args, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(mode(&key), 0o600, "master: {master}");
        let text = std::fs::read_to_string(&key).unwrap();
        assert_eq!(text.trim().len(), 64, "{text}");
        // Nothing is left beside it (the temporary file was renamed over it).
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn generate_without_force_refuses_an_existing_file_in_one_line_and_leaves_it_alone() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    for master in [false, true] {
        let key = dir.join(format!("kept-{master}.key"));
        std::fs::write(&key, "old secret\n").unwrap();
        let mut args = vec!["key", "generate", "--out", key.to_str().unwrap()];
        if master {
            args.push("--master");
        }
        let text = one_line_failure(&run(dir, &args, &[]));
        assert!(
            text.contains("exists already; pass --force to replace it"),
            "{text}"
        );
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "old secret\n");
    }
}

#[test]
fn a_lifetime_that_is_not_a_duration_is_one_line_and_a_failing_exit() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    for ttl in ["7ä", "99999999999999d", "ä", "0s", "8", "-1h"] {
        let ttl_arg = format!("--ttl={ttl}");
        let output = run(dir, &["token", "issue", "--role", "auditor", &ttl_arg], &[]);
        let text = one_line_failure(&output);
        assert!(text.contains("--ttl"), "{ttl}: {text}");
        assert!(output.stdout.is_empty(), "{ttl}");
    }
}

#[test]
fn a_lifetime_beyond_the_roles_maximum_is_refused_and_the_maximum_is_configurable() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let issue = |role: &[&str], ttl: &str, env: &[(&str, &str)]| {
        let mut args = vec!["token", "issue", "--ttl", ttl, "--role"];
        args.extend_from_slice(role);
        run(dir, &args, env)
    };
    let central = ["central-operations"];
    let text = one_line_failure(&issue(&central, "366d", &[]));
    assert!(
        text.contains("a central-operations token may live 1day at most"),
        "{text}"
    );
    assert!(issue(&central, "24h", &[]).status.success());
    let lsps = ["lsps", "--lsps", "LSPS-PEKSOS"];
    assert!(issue(&lsps, "90d", &[]).status.success());
    one_line_failure(&issue(&lsps, "91d", &[]));
    // An operator who wants shorter shifts lowers the maximum.
    let shifts = [("KESOS_TOKEN_MAX_LIFETIME_PEOPLE_SECS", "28800")];
    one_line_failure(&issue(&central, "9h", &shifts));
    assert!(issue(&central, "8h", &shifts).status.success());
}

#[test]
fn an_issued_tokens_id_is_printed_and_revoking_it_twice_is_harmless() {
    let file = SqliteFile::create();
    let dir = file.path.parent().unwrap();
    let issued = run(dir, &["token", "issue", "--role", "auditor"], &[]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    let token = String::from_utf8(issued.stdout.clone()).unwrap();
    let jti = kesos_auth::token::unverified_jti(token.trim()).unwrap();
    assert!(stderr(&issued).contains(&format!("token id {jti}")));

    let revoke = |what: &str, reason: &str| {
        run(
            dir,
            &["token", "revoke", what, &format!("--reason={reason}")],
            &[],
        )
    };
    let first = revoke(&jti, "laptop stolen");
    assert!(first.status.success(), "{}", stderr(&first));
    let said = String::from_utf8(first.stdout).unwrap();
    assert!(said.starts_with(&format!("revoked token {jti}")), "{said}");
    // The whole token names the same id.
    let again = revoke(token.trim(), "laptop stolen");
    assert!(again.status.success(), "{}", stderr(&again));
    let said = String::from_utf8(again.stdout).unwrap();
    assert_eq!(said.trim(), format!("token {jti} was revoked already"));

    let text = one_line_failure(&revoke(&jti, " "));
    assert!(text.contains("--reason"), "{text}");
}
