//! Leaky-bucket rate limiting per client IP: each request pours one unit into the client's
//! bucket, which leaks `rate` units a second and holds `burst` (at least one). A request that
//! would overflow is refused with the seconds until it would fit.

use crate::clock::now_ms;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use weir_bundle::RateLimit;

const SHARDS: usize = 16;
/// A shard prunes empty buckets once it holds this many clients.
const PRUNE_AT: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at_ms: u64,
}

/// The buckets of one site.
#[derive(Debug)]
pub struct LeakyBucket {
    config: RateLimit,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl LeakyBucket {
    /// Buckets with `config`'s rate and burst.
    pub fn new(config: RateLimit) -> Self {
        LeakyBucket {
            config,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The settings it was built with.
    pub fn config(&self) -> &RateLimit {
        &self.config
    }

    /// Admits a request from `ip` now, or says how many whole seconds until one would fit.
    pub fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        self.admit_at(ip, now_ms())
    }

    fn admit_at(&self, ip: IpAddr, now: u64) -> Result<(), u64> {
        let capacity = f64::from(self.config.burst.max(1));
        let rate_per_ms = self.config.rate / 1000.0;
        let shard = &self.shards[(self.hasher.hash_one(ip) as usize) % SHARDS];
        let mut map = shard.lock();
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| b.level - now.saturating_sub(b.at_ms) as f64 * rate_per_ms > 0.0);
        }
        let bucket = map.entry(ip).or_insert(Bucket {
            level: 0.0,
            at_ms: now,
        });
        let leaked = now.saturating_sub(bucket.at_ms) as f64 * rate_per_ms;
        let level = (bucket.level - leaked).max(0.0);
        bucket.at_ms = now;
        if level + 1.0 <= capacity + 1e-9 {
            bucket.level = level + 1.0;
            Ok(())
        } else {
            bucket.level = level;
            let wait_s = (level + 1.0 - capacity) / self.config.rate;
            Err((wait_s.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let lb = LeakyBucket::new(RateLimit {
            rate: 2.0,
            burst: 3,
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(lb.admit_at(ip, 1000), Ok(()));
        }
        assert_eq!(lb.admit_at(ip, 1000), Err(1));
        // Another client has its own bucket.
        assert_eq!(lb.admit_at([10, 0, 0, 2].into(), 1000), Ok(()));
        // 500 ms leaks one unit at 2/s.
        assert_eq!(lb.admit_at(ip, 1500), Ok(()));
        assert!(lb.admit_at(ip, 1500).is_err());
    }

    #[test]
    fn slow_rates_report_long_waits() {
        let lb = LeakyBucket::new(RateLimit {
            rate: 0.1,
            burst: 1,
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(lb.admit_at(ip, 0), Ok(()));
        assert_eq!(lb.admit_at(ip, 0), Err(10));
    }
}
