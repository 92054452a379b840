//! A token bucket per client address for the public verification routes, in bounded memory.
//!
//! Each client gets `burst` requests at once and `per_minute` a minute after that. The table
//! holds at most `max_clients` buckets; when it is full, buckets that have refilled (idle
//! clients, who lose nothing by being forgotten) go first, and if every client is active the
//! fullest bucket goes. IPv6 clients are counted per /64, the block one host usually holds;
//! IPv4 clients arriving as IPv4-mapped IPv6 addresses (a dual-stack listener) per address.
//! A std mutex, not a tokio one: it is never held across an await and only for microseconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default size of the client table (about 40 bytes a bucket: well under a megabyte).
pub const DEFAULT_MAX_CLIENTS: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` sustained and `burst` at once per client, at most `max_clients` tracked.
    pub fn new(per_minute: u32, burst: u32, max_clients: usize) -> Self {
        Self {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket at `now`; `Err` carries how long until the
    /// next one is allowed (the `Retry-After`).
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = block(client);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&client) && buckets.len() >= self.max_clients {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// How many clients are tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let refilled = |b: &Bucket| {
            b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_second
        };
        buckets.retain(|_, b| refilled(b) < self.burst);
        if buckets.len() >= self.max_clients {
            let fullest = buckets
                .iter()
                .max_by(|a, b| refilled(a.1).total_cmp(&refilled(b.1)))
                .map(|(ip, _)| *ip);
            if let Some(ip) = fullest {
                buckets.remove(&ip);
            }
        }
    }
}

/// The address a client is counted by: IPv4 as is, IPv6 by its /64. An IPv4-mapped IPv6
/// address (`::ffff:a.b.c.d`, how a dual-stack listener on `[::]` sees IPv4 clients) is the
/// IPv4 client it stands for: its /64 would put every IPv4 client in one bucket.
fn block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_gets_its_burst_then_waits() {
        let limiter = RateLimiter::new(60, 3, 10);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip("10.0.0.1"), now).is_ok());
        }
        let wait = limiter.check(ip("10.0.0.1"), now).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(limiter.check(ip("10.0.0.1"), now + wait).is_ok());
    }

    #[test]
    fn one_client_exhausting_its_bucket_leaves_others_alone() {
        let limiter = RateLimiter::new(60, 1, 10);
        let now = Instant::now();
        assert!(limiter.check(ip("10.0.0.1"), now).is_ok());
        assert!(limiter.check(ip("10.0.0.1"), now).is_err());
        assert!(limiter.check(ip("10.0.0.2"), now).is_ok());
    }

    #[test]
    fn the_table_never_grows_past_its_bound() {
        let limiter = RateLimiter::new(60, 2, 100);
        let now = Instant::now();
        for i in 0..10_000u32 {
            let _ = limiter.check(IpAddr::V4(i.into()), now);
        }
        assert!(limiter.tracked() <= 100);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_block() {
        let limiter = RateLimiter::new(60, 1, 10);
        let now = Instant::now();
        assert!(limiter.check(ip("2001:db8::1"), now).is_ok());
        assert!(limiter.check(ip("2001:db8::2"), now).is_err());
        assert!(limiter.check(ip("2001:db8:0:1::1"), now).is_ok());
    }

    #[test]
    fn ipv4_clients_on_a_dual_stack_listener_each_get_their_own_bucket() {
        // A listener on `[::]` sees IPv4 clients as IPv4-mapped IPv6 addresses.
        let limiter = RateLimiter::new(60, 1, 10);
        let now = Instant::now();
        assert!(limiter.check(ip("::ffff:198.51.100.7"), now).is_ok());
        assert!(limiter.check(ip("::ffff:203.0.113.9"), now).is_ok());
        assert!(limiter.check(ip("::ffff:198.51.100.7"), now).is_err());
    }

    #[test]
    fn an_ipv4_client_is_one_client_whether_it_arrives_mapped_or_not() {
        let limiter = RateLimiter::new(60, 1, 10);
        let now = Instant::now();
        assert!(limiter.check(ip("198.51.100.7"), now).is_ok());
        assert!(limiter.check(ip("::ffff:198.51.100.7"), now).is_err());
    }
}
