//! A per-client rate limit for the public verification routes, in bounded memory: `governor`'s
//! keyed GCRA limiter (the token bucket's exact equivalent) on a `DashMap` of clients.
//!
//! Each client gets `burst` requests at once and `per_minute` a minute after that. The table
//! holds at most `max_clients` clients; when a new client finds it full, clients whose bucket
//! has refilled (idle clients, who lose nothing by being forgotten) go first, and if every
//! client is active one of them is forgotten (it starts again with a full burst). IPv6 clients
//! are counted per /64, the block one host usually holds; IPv4 clients arriving as IPv4-mapped
//! IPv6 addresses (a dual-stack listener) per address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{Quota, RateLimiter as Governor};

/// Default size of the client table (well under a megabyte of state).
pub const DEFAULT_MAX_CLIENTS: usize = 16_384;

/// The limiter: a quota per client and a bound on the clients it tracks.
///
/// The clock is a parameter so tests can move time by hand (`governor`'s `FakeRelativeClock`);
/// the service uses the monotonic clock.
#[derive(Debug)]
pub struct RateLimiter<C: Clock = MonotonicClock> {
    limiter: Governor<IpAddr, Clients, C, NoOpMiddleware<C::Instant>>,
    clients: Clients,
    max_clients: usize,
}

impl RateLimiter {
    /// `per_minute` sustained and `burst` at once per client, at most `max_clients` tracked
    /// (zeros are taken as one).
    pub fn new(per_minute: u32, burst: u32, max_clients: usize) -> Self {
        Self::with_clock(per_minute, burst, max_clients, MonotonicClock)
    }
}

impl<C: Clock> RateLimiter<C> {
    /// [`RateLimiter::new`] reading the time from `clock`.
    pub fn with_clock(per_minute: u32, burst: u32, max_clients: usize, clock: C) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
        let clients = Clients::default();
        Self {
            limiter: Governor::new(quota, clients.clone(), clock),
            clients,
            max_clients: max_clients.max(1),
        }
    }

    /// Takes one request from `client`'s allowance now; `Err` carries how long until the next
    /// one is allowed (the `Retry-After`).
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let client = block(client);
        if !self.clients.0.contains_key(&client) && self.clients.0.len() >= self.max_clients {
            self.make_room();
        }
        self.limiter
            .check_key(&client)
            .map_err(|refused| refused.wait_time_from(self.limiter.clock().now()))
    }

    /// How many clients are tracked now.
    pub fn tracked(&self) -> usize {
        self.clients.0.len()
    }

    /// Forgets the idle clients, and if that frees nothing, one active client. Concurrent new
    /// clients may each pass the bound by one before the next of them makes room. The table
    /// keeps its capacity (a bounded one): shrinking it only to grow it again costs more.
    fn make_room(&self) {
        self.limiter.retain_recent();
        if self.clients.0.len() >= self.max_clients {
            // The entry's guard is released at the end of this statement, before the removal
            // takes the shard's write lock.
            let active = self.clients.0.iter().next().map(|entry| *entry.key());
            if let Some(active) = active {
                self.clients.0.remove(&active);
            }
        }
    }
}

/// The table of clients, shared between the `governor` limiter (which measures through it) and
/// [`RateLimiter`] (which bounds it): `governor` keeps its store to itself and can only forget
/// idle keys, not make room among active ones.
#[derive(Debug, Clone, Default)]
struct Clients(Arc<DashMapStateStore<IpAddr>>);

impl StateStore for Clients {
    type Key = IpAddr;

    fn measure_and_replace<T, F, E>(&self, key: &IpAddr, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<IpAddr> for Clients {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&*self.0, drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
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
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn limiter(
        burst: u32,
        max_clients: usize,
    ) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (
            RateLimiter::with_clock(60, burst, max_clients, clock.clone()),
            clock,
        )
    }

    #[test]
    fn a_client_gets_its_burst_then_waits() {
        let (limiter, clock) = limiter(3, 10);
        for _ in 0..3 {
            assert!(limiter.check(ip("10.0.0.1")).is_ok());
        }
        let wait = limiter.check(ip("10.0.0.1")).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(limiter.check(ip("10.0.0.1")).is_err());
        clock.advance(wait);
        assert!(limiter.check(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn one_client_exhausting_its_bucket_leaves_others_alone() {
        let (limiter, _) = limiter(1, 10);
        assert!(limiter.check(ip("10.0.0.1")).is_ok());
        assert!(limiter.check(ip("10.0.0.1")).is_err());
        assert!(limiter.check(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn the_table_never_grows_past_its_bound() {
        let (limiter, _) = limiter(2, 100);
        for i in 0..10_000u32 {
            let _ = limiter.check(IpAddr::V4(i.into()));
        }
        assert!(limiter.tracked() <= 100);
    }

    #[test]
    fn idle_clients_are_forgotten_before_active_ones() {
        let (limiter, clock) = limiter(1, 2);
        assert!(limiter.check(ip("10.0.0.1")).is_ok());
        clock.advance(Duration::from_secs(5));
        assert!(limiter.check(ip("10.0.0.2")).is_ok());
        // 10.0.0.1 has refilled, 10.0.0.2 has not: the newcomer takes 10.0.0.1's place.
        assert!(limiter.check(ip("10.0.0.3")).is_ok());
        assert_eq!(limiter.tracked(), 2);
        assert!(limiter.check(ip("10.0.0.2")).is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_block() {
        let (limiter, _) = limiter(1, 10);
        assert!(limiter.check(ip("2001:db8::1")).is_ok());
        assert!(limiter.check(ip("2001:db8::2")).is_err());
        assert!(limiter.check(ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn ipv4_clients_on_a_dual_stack_listener_each_get_their_own_bucket() {
        // A listener on `[::]` sees IPv4 clients as IPv4-mapped IPv6 addresses.
        let (limiter, _) = limiter(1, 10);
        assert!(limiter.check(ip("::ffff:198.51.100.7")).is_ok());
        assert!(limiter.check(ip("::ffff:203.0.113.9")).is_ok());
        assert!(limiter.check(ip("::ffff:198.51.100.7")).is_err());
    }

    #[test]
    fn an_ipv4_client_is_one_client_whether_it_arrives_mapped_or_not() {
        let (limiter, _) = limiter(1, 10);
        assert!(limiter.check(ip("198.51.100.7")).is_ok());
        assert!(limiter.check(ip("::ffff:198.51.100.7")).is_err());
    }

    #[test]
    fn an_unlimited_gate_lets_every_request_through() {
        // What `Gate::new` for tests and the benchmark use.
        let limiter = RateLimiter::new(u32::MAX, u32::MAX, 1);
        for _ in 0..10_000 {
            assert!(limiter.check(ip("127.0.0.1")).is_ok());
        }
    }
}
