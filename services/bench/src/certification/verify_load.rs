//! An open-loop GET load for public verification: requests are *scheduled* at a fixed rate
//! and each latency is measured from its scheduled time (no coordinated omission), over
//! keep-alive connections with a minimal HTTP/1.1 client (the enrollment bench's POST client,
//! for GET).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// What the load saw.
pub(crate) struct Load {
    /// Latency of every 2xx answer, sorted, in milliseconds.
    pub(crate) latencies_ms: Vec<f64>,
    /// Requests answered otherwise, or not at all.
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

    async fn get(&mut self, path: &str) -> anyhow::Result<u16> {
        let head = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.writer.write_all(head.as_bytes()).await?;
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

/// Sends `total` GETs of `path(i)`, `rate` per second, over up to `connections` keep-alive
/// connections; bounded by the count and by `total / rate` plus a grace period.
pub(crate) async fn get_at_fixed_rate(
    address: SocketAddr,
    rate: u32,
    total: usize,
    connections: usize,
    path: impl Fn(usize) -> String,
) -> anyhow::Result<Load> {
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
        let path = path(index);
        let pool = pool.clone();
        tasks.spawn(async move {
            let taken = pool.lock().await.pop();
            let mut connection = match taken {
                Some(connection) => connection,
                None => Connection::open(address).await?,
            };
            let status = connection.get(&path).await?;
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
                tracing::warn!(status, "a verification was not answered 2xx");
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
