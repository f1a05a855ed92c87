//! What a node reports to the portal: heartbeats carrying per-site, per-minute metric rollups.
//!
//! A node keeps one [`SiteMinute`] per (site, UTC minute) and sends the whole of each one it
//! has not yet delivered in every heartbeat: the current minute grows between heartbeats and is
//! sent again, a closed minute is sent until the portal has taken it. The portal stores each
//! (node, site, minute) by replacing, so a repeated heartbeat never counts twice.
//! Latency is a fixed-bucket histogram ([`LATENCY_BOUNDS_US`]) so minutes and nodes add up
//! exactly and percentiles come from the sum.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Upper bounds (inclusive, microseconds) of the latency buckets: a factor of about √2 apart
/// from 100 µs to ~52 s; one more bucket after the last holds everything slower.
pub const LATENCY_BOUNDS_US: [u64; 39] = [
    100, 141, 200, 283, 400, 566, 800, 1_131, 1_600, 2_263, 3_200, 4_525, 6_400, 9_051, 12_800,
    18_102, 25_600, 36_204, 51_200, 72_408, 102_400, 144_815, 204_800, 289_631, 409_600, 579_262,
    819_200, 1_158_524, 1_638_400, 2_317_047, 3_276_800, 4_634_095, 6_553_600, 9_268_190,
    13_107_200, 18_536_380, 26_214_400, 37_072_760, 52_428_800,
];

/// Number of latency buckets (the bounds plus the overflow bucket).
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_US.len() + 1;

/// At most this many countries and slow paths are kept per site-minute.
pub const TOP_N: usize = 10;

/// The portal refuses (422) a heartbeat with more minutes than this; a node with a larger
/// backlog sends its oldest minutes first and the rest in later heartbeats.
pub const MAX_MINUTES: usize = 500;

/// The portal refuses a minute further than this from its own clock (8 days, in minutes).
pub const MAX_MINUTE_SKEW: i64 = 8 * 24 * 60;

/// The portal refuses a heartbeat with a string (site, path, key, version…) longer than
/// this many bytes.
pub const MAX_TEXT: usize = 512;

/// The portal refuses a heartbeat with a map or list (WAF categories, countries, slow
/// paths) of more entries than this.
pub const MAX_ENTRIES: usize = 50;

/// The bucket a latency falls in.
pub fn latency_bucket(us: u64) -> usize {
    LATENCY_BOUNDS_US.partition_point(|&bound| bound < us)
}

/// The `q`-quantile (0..=1) of a bucket histogram in microseconds, interpolated inside the
/// bucket; `None` when the histogram is empty.
pub fn latency_quantile(buckets: &[u64], q: f64) -> Option<u64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, &n) in buckets.iter().enumerate() {
        if n == 0 {
            continue;
        }
        if seen + n >= rank {
            let low = if i == 0 { 0 } else { LATENCY_BOUNDS_US[i - 1] };
            let high = LATENCY_BOUNDS_US.get(i).copied().unwrap_or(low * 2);
            let within = (rank - seen) as f64 / n as f64;
            return Some(low + ((high - low) as f64 * within) as u64);
        }
        seen += n;
    }
    None
}

/// The `n` entries with the largest `rank`, largest first (ties: the smaller key first): a
/// minute's top countries and paths on the node, a range's on the portal.
pub fn top_n<K: Ord, V, R: Ord>(
    entries: impl IntoIterator<Item = (K, V)>,
    n: usize,
    rank: impl Fn(&V) -> R,
) -> Vec<(K, V)> {
    let mut all: Vec<(K, V)> = entries.into_iter().collect();
    all.sort_by(|a, b| rank(&b.1).cmp(&rank(&a.1)).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

/// A node's periodic report (`POST /api/node/v1/heartbeat`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The bundle version the node serves (0: none yet).
    pub bundle_version: i64,
    /// SHA-256 hex of the bundle JSON the node serves.
    #[serde(default)]
    pub bundle_hash: String,
    /// The node's `weir` version.
    #[serde(default)]
    pub weir_version: String,
    /// Seconds since the node started.
    #[serde(default)]
    pub uptime_s: u64,
    /// Requests in flight now.
    #[serde(default)]
    pub in_flight: u64,
    /// Why the newest bundle the node received was not applied, if it was not.
    #[serde(default)]
    pub apply_error: Option<String>,
    /// Rollups not yet delivered, oldest first.
    #[serde(default)]
    pub minutes: Vec<SiteMinute>,
}

/// One site's traffic on one node in one UTC minute.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteMinute {
    /// The site id.
    pub site: String,
    /// Unix time of the minute's start, divided by 60.
    pub minute: i64,
    /// Requests by status class: 1xx, 2xx, 3xx, 4xx, 5xx (no response counts as 5xx).
    pub requests: [u64; 5],
    /// Request body bytes received from clients.
    #[serde(default)]
    pub bytes_in: u64,
    /// Response body bytes sent to clients.
    #[serde(default)]
    pub bytes_out: u64,
    /// Latency histogram over [`LATENCY_BOUNDS_US`] (trailing empty buckets may be left out).
    #[serde(default)]
    pub latency: Vec<u64>,
    /// Plugin failures (traps, deadlines, limits, bad output).
    #[serde(default)]
    pub plugin_failures: u64,
    /// WAF blocks by category (`sqli`, `xss`, …).
    #[serde(default)]
    pub waf_blocks: BTreeMap<String, u64>,
    /// Requests by client country (ISO code; `--` unknown), the [`TOP_N`] largest.
    #[serde(default)]
    pub countries: BTreeMap<String, u64>,
    /// The [`TOP_N`] paths with the most total time.
    #[serde(default)]
    pub slow_paths: Vec<SlowPath>,
}

/// A path and the time spent on it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowPath {
    /// The request path (no query).
    pub path: String,
    /// Requests.
    pub count: u64,
    /// Total latency, microseconds.
    pub total_us: u64,
    /// The slowest one, microseconds.
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(100), 0);
        assert_eq!(latency_bucket(101), 1);
        assert_eq!(latency_bucket(52_428_800), LATENCY_BOUNDS_US.len() - 1);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
    }

    #[test]
    fn quantiles_come_from_the_buckets() {
        let mut h = vec![0u64; LATENCY_BUCKETS];
        assert_eq!(latency_quantile(&h, 0.5), None);
        // 90 requests at ~1 ms, 10 at ~100 ms.
        h[latency_bucket(1_000)] += 90;
        h[latency_bucket(100_000)] += 10;
        let p50 = latency_quantile(&h, 0.5).expect("p50");
        assert!((800..=1_131).contains(&p50), "{p50}");
        let p99 = latency_quantile(&h, 0.99).expect("p99");
        assert!((72_408..=102_400).contains(&p99), "{p99}");
    }
}
