//! Fixed-window, in-memory limits on login and sign-up attempts: per client address (IPv6 keyed
//! by its /64, the block one subscriber gets) and per account (the normalised email), so that
//! neither one address guessing many passwords nor many addresses guessing one password get far.
//!
//! In memory on purpose: it slows password guessing against one replica without a shared store.
//! With N replicas a client gets at most N times the budget, which is still a hard ceiling.
//!
//! Memory is bounded and every attempt costs O(1): the table has a fixed capacity
//! ([`DEFAULT_CAPACITY`] entries, allocated up front), split into shards with a lock each so
//! concurrent requests rarely meet. A full shard makes room with CLOCK (second-chance) eviction:
//! the hand looks at no more than [`MAX_PROBES`] slots, reusing the first whose window has ended or
//! that has not been seen since the hand last passed, else the one it stops at. A flood of
//! distinct addresses therefore recycles slots instead of growing the table, and a client that
//! keeps trying keeps its slot (each attempt marks it as seen). What a flood can do is push out
//! quiet entries early, which only ever gives those clients a fresh budget: the bound on memory
//! wins over exactness under attack.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Entries a limiter keeps at most (about 1.6 MiB of memory, allocated at start).
pub const DEFAULT_CAPACITY: usize = 16_384;

/// Shards, each with its own lock and an equal part of the capacity.
const SHARDS: usize = 16;

/// Slots the eviction hand inspects per insertion into a full shard: the O(1) bound.
pub const MAX_PROBES: usize = 8;

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A client address: IPv4 as is (IPv4-mapped IPv6 included), IPv6 by its /64 prefix.
    Addr(u128),
    /// An account, by a keyed hash of its normalised email (no address kept in memory).
    Account(u64),
}

impl Key {
    /// The key for a client address. Every address in one IPv6 /64 shares it: a single host is
    /// routinely given a whole /64 and may pick any address in it for each request.
    pub fn addr(ip: IpAddr) -> Key {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Key::Addr(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => Key::Addr((u128::from(v6) >> 64) << 64 | 1 << 32),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The key's keyed 64-bit hash: a collision needs the process's random seed, and would only
    /// make two clients share a budget.
    digest: u64,
    window_start: Instant,
    count: u32,
    /// Set by each repeated attempt, cleared as the eviction hand passes: the CLOCK "second
    /// chance".
    seen: bool,
}

#[derive(Debug)]
struct Shard {
    index: HashMap<u64, u32>,
    slots: Vec<Slot>,
    capacity: usize,
    hand: usize,
}

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

impl RateLimiter {
    /// `limit` attempts per key per `window`, with [`DEFAULT_CAPACITY`] entries.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::with_capacity(limit, window, DEFAULT_CAPACITY)
    }

    /// Like [`RateLimiter::new`], keeping at most `capacity` entries (rounded up to a multiple
    /// of the shard count).
    pub fn with_capacity(limit: u32, window: Duration, capacity: usize) -> Self {
        // Slot numbers are u32 (half the index's memory): cap far below that.
        let per_shard = capacity.min(1 << 24).div_ceil(SHARDS).max(1);
        let hasher = RandomState::new();
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    // Twice the entries: churn leaves tombstones, and hashbrown clears them in
                    // place (no reallocation) only while it is at most half full.
                    index: HashMap::with_capacity_and_hasher(2 * per_shard, RandomState::new()),
                    slots: Vec::with_capacity(per_shard),
                    capacity: per_shard,
                    hand: 0,
                })
            })
            .collect();
        RateLimiter {
            limit,
            window,
            hasher,
            shards,
        }
    }

    /// The key for an account, hashed with this limiter's secret seed.
    pub fn account_key(&self, normalised_email: &str) -> Key {
        Key::Account(self.hasher.hash_one(normalised_email))
    }

    /// Counts one attempt; `Err(seconds until the window resets)` when over the limit.
    pub fn check(&self, key: Key) -> Result<(), u64> {
        let now = Instant::now();
        let digest = self.hasher.hash_one(key);
        let mut shard = self.lock(digest as usize % SHARDS);
        // A new entry starts unseen: a one-off key (a flood's) is the first to go, a key that
        // comes back earns its second chance.
        let (i, seen) = match shard.index.get(&digest) {
            Some(&i) => (i as usize, true),
            None => (shard.insert(digest, now, self.window), false),
        };
        let slot = &mut shard.slots[i];
        slot.seen |= seen;
        if now.duration_since(slot.window_start) >= self.window {
            slot.window_start = now;
            slot.count = 0;
        }
        if slot.count >= self.limit {
            let left = self
                .window
                .saturating_sub(now.duration_since(slot.window_start));
            return Err(left.as_secs().max(1));
        }
        slot.count += 1;
        Ok(())
    }

    /// Entries held now (never more than the capacity).
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock(i).slots.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots plus index entries the limiter has room for without allocating: it never grows
    /// past its value at start (it dips while removed index entries await reuse).
    pub fn allocated(&self) -> usize {
        (0..SHARDS)
            .map(|i| {
                let shard = self.lock(i);
                shard.slots.capacity() + shard.index.capacity()
            })
            .sum()
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // A poisoned lock only means another request panicked mid-update; the table still works.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shard {
    /// A slot for `key` (not yet present): a fresh one while there is room, else one taken by
    /// the CLOCK hand in at most [`MAX_PROBES`] steps.
    fn insert(&mut self, digest: u64, now: Instant, window: Duration) -> usize {
        let fresh = Slot {
            digest,
            window_start: now,
            count: 0,
            seen: false,
        };
        if self.slots.len() < self.capacity {
            self.slots.push(fresh);
            let i = self.slots.len() - 1;
            self.index.insert(digest, i as u32);
            return i;
        }
        let mut victim = self.hand;
        for _ in 0..MAX_PROBES {
            let i = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            victim = i;
            let slot = &mut self.slots[i];
            if !slot.seen || now.duration_since(slot.window_start) >= window {
                break;
            }
            slot.seen = false;
        }
        let old = std::mem::replace(&mut self.slots[victim], fresh);
        self.index.remove(&old.digest);
        self.index.insert(digest, victim as u32);
        victim
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v4(last: u8) -> Key {
        Key::addr([10, 0, 0, last].into())
    }

    #[test]
    fn limits_per_client() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.check(v4(1)).is_ok());
        assert!(limiter.check(v4(1)).is_ok());
        assert!(limiter.check(v4(1)).is_err());
        assert!(limiter.check(v4(2)).is_ok());
    }

    #[test]
    fn window_resets() {
        let limiter = RateLimiter::new(1, Duration::from_millis(1));
        assert!(limiter.check(v4(1)).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.check(v4(1)).is_ok());
    }

    #[test]
    fn ipv6_addresses_share_their_64_and_mapped_ipv4_is_ipv4() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().expect("v6");
        let b: Ipv6Addr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().expect("v6");
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(Key::addr(a.into()), Key::addr(b.into()));
        assert_ne!(Key::addr(a.into()), Key::addr(other.into()));
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().expect("mapped");
        assert_eq!(Key::addr(mapped.into()), v4(1));
        // An IPv4 address never collides with an IPv6 prefix.
        assert_ne!(Key::addr("::10.0.0.1".parse().expect("v6")), v4(1));

        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        assert!(limiter.check(Key::addr(a.into())).is_ok());
        assert!(limiter.check(Key::addr(b.into())).is_err());
        assert!(limiter.check(Key::addr(other.into())).is_ok());
    }

    #[test]
    fn accounts_are_keyed_by_their_email() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let ann = limiter.account_key("ann@example.com");
        assert_eq!(ann, limiter.account_key("ann@example.com"));
        assert!(limiter.check(ann).is_ok());
        assert!(limiter.check(ann).is_err());
        assert!(limiter
            .check(limiter.account_key("bob@example.com"))
            .is_ok());
    }

    #[test]
    fn a_million_distinct_addresses_cannot_grow_the_table() {
        let capacity = 4096;
        let limiter = RateLimiter::with_capacity(5, Duration::from_secs(60), capacity);
        let allocated = limiter.allocated();
        assert!(allocated >= capacity, "{allocated}");
        let attacker = v4(7);
        for _ in 0..5 {
            assert!(limiter.check(attacker).is_ok());
        }
        for n in 0..1_000_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n));
            assert!(limiter.check(Key::addr(ip)).is_ok());
            // A client that keeps trying keeps its slot through the flood, and stays limited.
            if n % 500 == 0 {
                assert!(limiter.check(attacker).is_err(), "evicted after {n}");
                assert!(limiter.allocated() <= allocated, "the table grew after {n}");
            }
        }
        assert!(limiter.len() <= capacity, "{}", limiter.len());
        assert!(limiter.allocated() <= allocated, "the table grew");
    }
}
