//! An open-loop HTTP load: requests are *scheduled* at a fixed rate and each latency is
//! measured from its scheduled time, so a slow server cannot hide its queueing by slowing the
//! client down (coordinated omission). A minimal HTTP/1.1 client over keep-alive connections
//! keeps the dependency tree as it is. The enrollment bench POSTs registrations with it, the
//! certification bench GETs verifications.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::report::{Figure, LimitKind};

/// What the load saw.
pub(crate) struct Load {
    /// Latency of every 2xx answer, sorted, in milliseconds.
    pub(crate) latencies_ms: Vec<f64>,
    /// Requests answered with a status other than 2xx, or not at all.
    pub(crate) failures: usize,
    /// Requests sent.
    pub(crate) sent: usize,
    /// Wall time from the first scheduled request to the last answer.
    pub(crate) elapsed: Duration,
}

impl Load {
    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::INFINITY;
        }
        let last = self.latencies_ms.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        self.latencies_ms[index.min(last)]
    }

    /// The three figures of a fixed-rate load: the rate answered 2xx (named `answered`, with
    /// the sent and failed counts; at least 95% of `rate`), and p50 and p99 (named `latency,
    /// p50` and `latency, p99`) held to `p99_goal_ms`.
    pub(crate) fn figures(
        &self,
        answered: &str,
        latency: &str,
        rate: u32,
        p99_goal_ms: f64,
    ) -> Vec<Figure> {
        let achieved = self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64();
        let answered = format!("{answered} ({} sent, {} failed)", self.sent, self.failures);
        let quantile = |name: &str, q: f64| {
            Figure::absolute(
                &format!("{latency}, {name}"),
                self.quantile(q),
                "ms",
                LimitKind::AtMostValue,
                p99_goal_ms,
            )
        };
        vec![
            Figure::absolute(
                &answered,
                achieved,
                "requests/s",
                LimitKind::AtLeastValue,
                f64::from(rate) * 0.95,
            ),
            quantile("p50", 0.50),
            quantile("p99", 0.99),
        ]
    }
}

/// The benchmarked routes served on a loopback port of their own, until [`Server::stop`].
pub(crate) struct Server {
    /// Where they are served.
    pub(crate) address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Serves `router` (with the caller's address, which the access gate's rate limit keys on)
    /// on a free loopback port.
    pub(crate) async fn start(router: axum::Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            address,
            stop,
            task,
        })
    }

    /// Stops serving, letting requests in flight finish.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A real access gate for the benchmarked routes, and a central-operations token it accepts
/// (valid for an hour): the routes are measured as kesos serves them, token check included.
pub(crate) fn bench_gate() -> (kesos_auth::Gate, String) {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let audience = "kesos-bench";
    let gate = kesos_auth::Gate::new(
        kesos_auth::TokenVerifier::new([key.verifying_key()], audience),
        kesos_auth::RateLimiter::new(u32::MAX, u32::MAX, 1),
        kesos_auth::AccessLog::new(1_000),
    );
    let principal = kesos_auth::Principal {
        subject: "bench".to_owned(),
        role: kesos_auth::Role::CentralOperations,
    };
    let token = kesos_auth::TokenIssuer::new(key).issue(
        &principal,
        audience,
        time::OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    );
    (gate, token)
}

/// Pages loaded as a browser loads them: a page's requests sent at once, each on its own
/// keep-alive connection, and timed from the first request to the last answer (closed loop:
/// one page after another).
pub(crate) struct PageLoader {
    connections: Vec<Connection>,
    authorization: String,
}

impl PageLoader {
    /// Opens `parallel` connections to `address`; every request carries `token`.
    pub(crate) async fn open(
        address: SocketAddr,
        token: &str,
        parallel: usize,
    ) -> anyhow::Result<Self> {
        let mut connections = Vec::with_capacity(parallel);
        for _ in 0..parallel {
            connections.push(Connection::open(address).await?);
        }
        Ok(Self {
            connections,
            authorization: format!("Authorization: Bearer {token}\r\n"),
        })
    }

    /// GETs `paths` at once (at most as many as connections) and answers the page's time; an
    /// answer other than 2xx is an error.
    pub(crate) async fn load(&mut self, paths: &[String]) -> anyhow::Result<Duration> {
        if paths.len() > self.connections.len() {
            bail!(
                "a page of {} requests needs as many connections",
                paths.len()
            );
        }
        let started = Instant::now();
        let authorization = self.authorization.as_str();
        let sent = self
            .connections
            .iter_mut()
            .zip(paths)
            .map(|(connection, path)| async move {
                let request = Request {
                    path: path.clone(),
                    body: None,
                };
                let status = connection.send(&request, authorization).await?;
                if !(200..300).contains(&status) {
                    bail!("GET {path} answered {status}");
                }
                anyhow::Ok(())
            });
        futures::future::try_join_all(sent).await?;
        Ok(started.elapsed())
    }
}

/// One request of the load: a GET, or a POST of a JSON body.
pub(crate) struct Request {
    /// The path, e.g. `/v1/workers`.
    pub(crate) path: String,
    /// The JSON body of a POST; `None` for a GET.
    pub(crate) body: Option<Vec<u8>>,
}

struct Connection {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Self {
            reader: BufReader::new(reader),
            writer,
        })
    }

    /// Sends the request (with `authorization`, a header line or empty) and answers the status
    /// code (the body is read and dropped).
    async fn send(&mut self, request: &Request, authorization: &str) -> anyhow::Result<u16> {
        let path = &request.path;
        match &request.body {
            Some(body) => {
                let head = format!(
                    "POST {path} HTTP/1.1\r\nHost: bench\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                self.writer.write_all(head.as_bytes()).await?;
                self.writer.write_all(body).await?;
            }
            None => {
                let head = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{authorization}\r\n");
                self.writer.write_all(head.as_bytes()).await?;
            }
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut length = 0_usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                bail!("the connection closed mid-response");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer).await?;
        Ok(status)
    }
}

/// Sends `total` requests `request(i)`, `rate` per second, over up to `connections` keep-alive
/// connections; bounded by the count and by `total / rate` plus a grace period.
pub(crate) async fn at_fixed_rate(
    address: SocketAddr,
    rate: u32,
    total: usize,
    connections: usize,
    request: impl Fn(usize) -> Request,
) -> anyhow::Result<Load> {
    at_fixed_rate_as(address, None, rate, total, connections, request).await
}

/// [`at_fixed_rate`] with every request carrying `Authorization: Bearer <token>`.
pub(crate) async fn at_fixed_rate_as(
    address: SocketAddr,
    token: Option<&str>,
    rate: u32,
    total: usize,
    connections: usize,
    request: impl Fn(usize) -> Request,
) -> anyhow::Result<Load> {
    let authorization: Arc<str> = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default()
        .into();
    let mut pool = Vec::with_capacity(connections);
    for _ in 0..connections {
        pool.push(Connection::open(address).await?);
    }
    let pool = Arc::new(Mutex::new(pool));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..total {
        let scheduled = start + interval.mul_f64(index as f64);
        tokio::time::sleep_until(scheduled).await;
        let request = request(index);
        let pool = pool.clone();
        let authorization = authorization.clone();
        tasks.spawn(async move {
            let taken = pool.lock().await.pop();
            let mut connection = match taken {
                Some(connection) => connection,
                None => Connection::open(address).await?,
            };
            let status = connection.send(&request, &authorization).await?;
            let latency = scheduled.elapsed();
            pool.lock().await.push(connection);
            anyhow::Ok((status, latency))
        });
    }
    let mut latencies_ms = Vec::with_capacity(total);
    let mut failures = 0;
    let grace = Duration::from_secs(30);
    while let Ok(Some(joined)) = tokio::time::timeout(grace, tasks.join_next()).await {
        match joined {
            Ok(Ok((status, latency))) if (200..300).contains(&status) => {
                latencies_ms.push(latency.as_secs_f64() * 1_000.0);
            }
            Ok(Ok((status, _))) => {
                tracing::warn!(status, "a request was not answered 2xx");
                failures += 1;
            }
            Ok(Err(error)) => {
                tracing::warn!("{error:#}");
                failures += 1;
            }
            Err(error) => {
                tracing::warn!(%error, "a request task failed");
                failures += 1;
            }
        }
    }
    failures += tasks.len();
    tasks.abort_all();
    latencies_ms.sort_by(f64::total_cmp);
    Ok(Load {
        latencies_ms,
        failures,
        sent: total,
        elapsed: start.elapsed(),
    })
}
