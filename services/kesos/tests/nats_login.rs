//! kesos logs in to NATS the ways operators configure it — a user and password in the URL, an
//! NKey seed file, TLS with the deployment's own CA — each against a nats-server of the test's
//! own that refuses anyone else. A wrong login is refused with a message that names the user,
//! never the password.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kesos::nats::{Identity, connect};
use kesos_runtime::Config;
use kesos_testkit::secured_nats::OwnNats;

/// Connects as configured and round-trips to the server, so a refused login shows here.
async fn connects(config: &Config) {
    let client = connect(config, Identity::default())
        .await
        .unwrap()
        .expect("the distributed mode has NATS");
    client.flush().await.unwrap();
}

fn distributed(nats_url: String) -> Config {
    Config {
        database_url: Some("postgres://127.0.0.1/unused".to_owned()),
        nats_url: Some(nats_url),
        ..Config::default()
    }
}

/// A password nats-server would misread as a number if it were unquoted, with characters a URL
/// must escape.
const PASSWORD: &str = "4e2@s3cret:/x";
const PASSWORD_IN_URL: &str = "4e2%40s3cret%3A%2Fx";

fn password_server() -> OwnNats {
    OwnNats::start(
        OwnNats::directory(),
        &format!("authorization {{ users: [ {{ user: \"kesos\", password: \"{PASSWORD}\" }} ] }}"),
        &[],
    )
}

#[tokio::test]
async fn a_user_and_password_in_the_url_log_in_and_a_wrong_one_is_refused_naming_only_the_user() {
    let server = password_server();
    let url = format!("nats://kesos:{PASSWORD_IN_URL}@127.0.0.1:{}", server.port);
    connects(&distributed(url)).await;

    let wrong = format!(
        "nats://kesos:wrong-{PASSWORD_IN_URL}@127.0.0.1:{}",
        server.port
    );
    let error = format!(
        "{:#}",
        connect(&distributed(wrong), Identity::default())
            .await
            .unwrap_err()
    );
    assert!(error.contains("as user kesos"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}

#[tokio::test]
async fn an_nkey_seed_file_logs_in_as_the_user_whose_public_key_the_server_knows() {
    let pair = nkeys::KeyPair::new_user();
    let dir = OwnNats::directory();
    let seed_file = dir.join("enrollment.nk");
    std::fs::write(&seed_file, pair.seed().unwrap()).unwrap();
    let server = OwnNats::start(
        dir,
        "authorization { users: [ { nkey: $NATS_NKEY_ENROLLMENT } ] }",
        &[("NATS_NKEY_ENROLLMENT", pair.public_key())],
    );
    let mut config = distributed(server.url());
    config.nats_nkey_seed_file = Some(seed_file);
    connects(&config).await;

    let stranger = server.dir.join("stranger.nk");
    std::fs::write(&stranger, nkeys::KeyPair::new_user().seed().unwrap()).unwrap();
    config.nats_nkey_seed_file = Some(stranger);
    assert!(connect(&config, Identity::default()).await.is_err());
}

/// Runs openssl (Debian's, as the deployment would) in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is needed to make the test's certificates");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A CA and a server certificate for 127.0.0.1 signed by it; returns the CA file.
fn certificates(dir: &Path) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=kesos test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
    );
    dir.join("ca.pem")
}

#[tokio::test]
async fn tls_with_the_deployments_ca_connects_and_a_server_of_an_unknown_ca_is_refused() {
    let dir = OwnNats::directory();
    let ca = certificates(&dir);
    let server = OwnNats::start(
        dir.clone(),
        &format!(
            "tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n\
             authorization {{ users: [ {{ user: \"kesos\", password: \"{PASSWORD}\" }} ] }}",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        ),
        &[],
    );
    let url = format!("tls://kesos:{PASSWORD_IN_URL}@127.0.0.1:{}", server.port);
    let mut config = distributed(url);
    config.nats_tls_ca_file = Some(ca);
    connects(&config).await;

    config.nats_tls_ca_file = None;
    let untrusted = connect(&config, Identity::default()).await;
    assert!(
        untrusted.is_err(),
        "a server signed by an unknown CA is refused"
    );
}
