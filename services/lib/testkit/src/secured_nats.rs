//! A nats-server of the test's own on a free loopback port, for what the shared server cannot
//! show: logins and permissions. [`SecuredNats`] runs the shipped `deploy/nats/accounts.conf`
//! with JetStream, exactly as an operator deploys it, with an NKey pair made for each of its
//! users; [`OwnNats`] runs any configuration. Dropping one stops exactly that process (by its
//! handle, also when the test panicked) and removes its directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// Where Debian's package (and `deploy/local/up`) puts nats-server.
const NATS_SERVER: &str = "/usr/sbin/nats-server";

/// The users of `accounts.conf` and the nats-server variables holding their public keys.
pub const USERS: [(&str, &str); 7] = [
    ("kesos", "NATS_NKEY_KESOS"),
    ("enrollment", "NATS_NKEY_ENROLLMENT"),
    ("scheduling", "NATS_NKEY_SCHEDULING"),
    ("certification", "NATS_NKEY_CERTIFICATION"),
    ("progress", "NATS_NKEY_PROGRESS"),
    ("LSPS-PEKSOS", "NATS_NKEY_LSPS_PEKSOS"),
    ("LSPS-KESOS", "NATS_NKEY_LSPS_KESOS"),
];

/// A nats-server this test started, with its own directory.
pub struct OwnNats {
    child: Child,
    /// Its directory: configuration, JetStream store and any file the test puts there.
    pub dir: PathBuf,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

impl OwnNats {
    /// A fresh directory for a server's files, before it starts.
    pub fn directory() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kesos-nats-own-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Starts nats-server in `dir` with `listen` on a free port followed by `config`, with
    /// `env` in its environment, and waits until it accepts connections.
    pub fn start(dir: PathBuf, config: &str, env: &[(&str, String)]) -> Self {
        assert!(
            Path::new(NATS_SERVER).exists(),
            "{NATS_SERVER} is missing: run deploy/local/up, which installs nats-server"
        );
        let port = free_port();
        std::fs::write(
            dir.join("server.conf"),
            format!("listen: 127.0.0.1:{port}\n{config}\n"),
        )
        .unwrap();
        let child = Command::new(NATS_SERVER)
            .arg("-c")
            .arg(dir.join("server.conf"))
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not start on port {port}");
    }

    /// The server's URL, without credentials.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running nats-server with the shipped accounts.
pub struct SecuredNats {
    server: OwnNats,
    seeds: Vec<(&'static str, String)>,
}

impl SecuredNats {
    /// Starts the server and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with_public_keys(&[])
    }

    /// Starts the server with the public keys of some users made elsewhere (as an LSPS makes
    /// its own key pair and sends the operators only the public key): `(user, public key)`.
    /// The other users get a pair made here; the seeds of the given ones stay with their makers.
    pub fn start_with_public_keys(given: &[(&str, &str)]) -> Self {
        let dir = OwnNats::directory();
        let accounts =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../deploy/nats/accounts.conf");
        std::fs::copy(&accounts, dir.join("accounts.conf")).unwrap();
        let mut env = Vec::new();
        let mut seeds = Vec::new();
        for (user, variable) in USERS {
            if let Some((_, public_key)) = given.iter().find(|(name, _)| *name == user) {
                env.push((variable, (*public_key).to_owned()));
                continue;
            }
            let pair = nkeys::KeyPair::new_user();
            env.push((variable, pair.public_key()));
            let seed = pair.seed().unwrap();
            std::fs::write(dir.join(format!("{user}.nk")), &seed).unwrap();
            seeds.push((user, seed));
        }
        let config = format!(
            "jetstream {{ store_dir: \"{}\", max_memory_store: 64MB, max_file_store: 512MB }}\n\
             include ./accounts.conf",
            dir.join("js").display()
        );
        let server = OwnNats::start(dir, &config, &env);
        Self { server, seeds }
    }

    /// The server's URL, without credentials.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The NKey seed of `user` (one of [`USERS`]).
    pub fn seed(&self, user: &str) -> String {
        self.seeds
            .iter()
            .find(|(name, _)| *name == user)
            .map(|(_, seed)| seed.clone())
            .unwrap_or_else(|| {
                panic!("{user} is not a user of accounts.conf, or its key was made elsewhere")
            })
    }

    /// A file holding the NKey seed of `user`, for `KESOS_NATS_NKEY_SEED_FILE`.
    pub fn seed_file(&self, user: &str) -> PathBuf {
        self.seed(user);
        self.server.dir.join(format!("{user}.nk"))
    }
}
